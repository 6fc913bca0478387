/* Echo: 200 concurrent connections x 100 messages each, every reply checked
 * byte for byte; the server echoes whatever it reads. */
#include "dxtest.h"

#ifdef _WIN32
/* Under Wine every socket call is a wineserver round trip: ~0.5 ms per
 * echo, 2 ms on a loaded 2-core machine, so 20,000 of them would not fit
 * the watchdog. Same concurrency, fewer messages. */
enum { CONNS = 200, MSGS = 10, MSG_LEN = 32 };
#else
enum { CONNS = 200, MSGS = 100, MSG_LEN = 32 };
#endif

typedef struct {
  int id;
  int sent, received;
  char expect[MSG_LEN];
  char got[MSG_LEN];
  size_t got_len;
  char rbuf[256];
} client;

static client clients[CONNS];
static dx_listener *listener;
static dx_timer *watchdog;
static int clients_done, clients_failed, server_eofs, accepted;
static int bad_reads, write_errors;

/* ---- server: echo ---------------------------------------------------------- */

static void
server_alloc (dx_stream *s, size_t suggested, dx_buf *buf)
{
  (void) s;
  buf->base = malloc (suggested);
  buf->len = buf->base ? suggested : 0;
}

static void
server_write_done (dx_stream *s, int status, void *arg)
{
  (void) s;
  if (status != 0)
    write_errors++;
  free (arg);
}

static void
server_read (dx_stream *s, ptrdiff_t n, const dx_buf *buf)
{
  if (n > 0) {
    dx_buf out = dx_buf_init (buf->base, (size_t) n);
    if (dx_write (s, &out, 1, server_write_done, buf->base) != 0) {
      write_errors++;
      free (buf->base);
    }
    return; /* ownership of buf->base went to the write */
  }
  free (buf->base);
  if (n == 0)
    return;
  if (n == DX_EOF)
    server_eofs++;
  else
    bad_reads++;
  dx_close (DX_HANDLE (s), NULL);
}

static void
on_accept (dx_listener *l, dx_stream *s, int status)
{
  (void) l;
  if (status != 0) {
    bad_reads++;
    return;
  }
  accepted++;
  dx_tcp_nodelay (s, true);
  dx_read_start (s, server_alloc, server_read);
}

/* ---- clients --------------------------------------------------------------- */

static void client_send (dx_stream *s, client *c);

static void
client_finish (dx_stream *s, client *c, bool ok)
{
  if (ok)
    clients_done++;
  else
    clients_failed++;
  dx_close (DX_HANDLE (s), NULL);
  if (clients_done + clients_failed == CONNS) {
    dx_close (DX_HANDLE (listener), NULL);
    dx_close (DX_HANDLE (watchdog), NULL);
  }
  (void) c;
}

static void
client_alloc (dx_stream *s, size_t suggested, dx_buf *buf)
{
  client *c = dx_handle_data (DX_HANDLE (s));
  (void) suggested;
  *buf = dx_buf_init (c->rbuf, sizeof c->rbuf);
}

static void
client_read (dx_stream *s, ptrdiff_t n, const dx_buf *buf)
{
  client *c = dx_handle_data (DX_HANDLE (s));
  if (n == 0)
    return;
  if (n < 0 || c->got_len + (size_t) n > MSG_LEN) {
    client_finish (s, c, false);
    return;
  }
  memcpy (c->got + c->got_len, buf->base, (size_t) n);
  c->got_len += (size_t) n;
  if (c->got_len < MSG_LEN)
    return;
  if (memcmp (c->got, c->expect, MSG_LEN) != 0) {
    client_finish (s, c, false);
    return;
  }
  c->received++;
  c->got_len = 0;
  if (c->received == MSGS)
    client_finish (s, c, true);
  else
    client_send (s, c);
}

static void
client_write_done (dx_stream *s, int status, void *arg)
{
  (void) s;
  (void) arg;
  if (status != 0)
    write_errors++;
}

static void
client_send (dx_stream *s, client *c)
{
  snprintf (c->expect, sizeof c->expect, "conn %03d msg %03d .............", c->id, c->sent);
  c->expect[MSG_LEN - 1] = '\n';
  dx_buf b = dx_buf_init (c->expect, MSG_LEN);
  c->sent++;
  if (dx_write (s, &b, 1, client_write_done, c) != 0)
    client_finish (s, c, false);
}

static void
on_connect (dx_stream *s, int status, void *arg)
{
  client *c = arg;
  if (status != 0) {
    printf ("# connect %d: %s\n", c->id, dx_strerror (status));
    client_finish (s, c, false);
    return;
  }
  dx_tcp_nodelay (s, true);
  dx_read_start (s, client_alloc, client_read);
  client_send (s, c);
}

static void
test_echo (void)
{
  dx_loop *loop = test_loop_new ();
  watchdog = watchdog_start (loop, 30000);
  int rc = dx_tcp_listen (loop, "127.0.0.1:0", 256, on_accept, &listener);
  IS (rc, 0, "listen on 127.0.0.1:0");
  int port = dx_listener_port (listener);
  OK (port > 0, "port 0 became a real port (%d)", port);
  char addr[64];
  snprintf (addr, sizeof addr, "127.0.0.1:%d", port);
  int started = 0;
  for (int i = 0; i < CONNS; i++) {
    dx_stream *s;
    clients[i].id = i;
    if (dx_tcp_connect (loop, addr, on_connect, &clients[i], &s) == 0) {
      dx_handle_set_data (DX_HANDLE (s), &clients[i]);
      started++;
    }
  }
  IS (started, CONNS, "every connect started");
  uint64_t t0 = dx_monotonic_us ();
  rc = dx_loop_run (loop);
  uint64_t t1 = dx_monotonic_us ();
  IS (rc, 0, "loop ran to completion");
  OK (!watchdog_fired, "finished before the watchdog");
  IS (clients_done, CONNS, "every client got 100 exact echoes");
  IS (clients_failed, 0, "no client failed");
  IS (accepted, CONNS, "every connection accepted");
  IS (server_eofs, CONNS, "server saw one EOF per connection");
  IS (bad_reads, 0, "no read errors");
  IS (write_errors, 0, "no write errors");
  printf ("# %d round trips in %.1f ms\n", CONNS * MSGS, (double) (t1 - t0) / 1000.0);
  test_loop_free (loop, "echo");
}

int
main (int argc, char **argv)
{
  static const dxtest_case cases[] = {
    { "echo", test_echo },
  };
  return dxtest_main (argc, argv, cases, DXTEST_COUNT (cases));
}
