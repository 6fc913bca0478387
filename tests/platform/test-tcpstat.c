/* tcpstat.h: TIME_WAIT lands on the side that closes first. Loopback
 * connections through the loop, closed by the server first (its listening
 * port gains one TIME_WAIT per connection) or by the client first (the
 * listening port gains none; each client port holds one). Counts are
 * compared, never timed: a TIME_WAIT lasts a minute on Linux and Windows.
 * Other programs' sockets on this host can only add to a count, so the
 * checks are "at least" except where no other socket can have the port. */
#include "dxtest.h"
#include "platform/tcpstat.h"
#ifdef __linux__
#include "platform/tcpstat-private.h"
#endif

enum { CONNS = 12 }; /* <= DX_TCPSTAT_MAX_PORTS: the client ports fit one call */

static dx_loop *loop;
static dx_listener *listener;
static dx_timer *watchdog;
static bool server_first;
static int connected, server_closed, client_closed;
static uint16_t client_ports[CONNS];
static size_t n_client_ports;

static const uint32_t TW = DX_TCP_STATE_BIT (DX_TCP_TIME_WAIT);

static void
alloc_static (dx_stream *s, size_t suggested, dx_buf *buf)
{
  static char mem[4096];
  (void) s;
  (void) suggested;
  *buf = dx_buf_init (mem, sizeof mem);
}

static void
maybe_done (void)
{
  if (server_closed == CONNS && client_closed == CONNS) {
    dx_close (DX_HANDLE (listener), NULL);
    dx_close (DX_HANDLE (watchdog), NULL);
  }
}

static void
on_server_closed (dx_handle *h)
{
  (void) h;
  server_closed++;
  maybe_done ();
}

static void
on_client_closed (dx_handle *h)
{
  (void) h;
  client_closed++;
  maybe_done ();
}

/* Both sides read until the peer's FIN, then close: whichever shut its
 * write side first (dx_shutdown) closed first. */
static void
server_read (dx_stream *s, ptrdiff_t n, const dx_buf *buf)
{
  (void) buf;
  if (n < 0)
    dx_close (DX_HANDLE (s), on_server_closed);
}

static void
client_read (dx_stream *s, ptrdiff_t n, const dx_buf *buf)
{
  (void) buf;
  if (n < 0)
    dx_close (DX_HANDLE (s), on_client_closed);
}

static void
on_accept (dx_listener *l, dx_stream *s, int status)
{
  (void) l;
  if (status < 0)
    return;
  char peer[80];
  if (dx_stream_peer_name (s, peer, sizeof peer) == 0 && n_client_ports < CONNS) {
    const char *colon = strrchr (peer, ':');
    client_ports[n_client_ports++] = (uint16_t) atoi (colon ? colon + 1 : "0");
  }
  dx_read_start (s, alloc_static, server_read);
  if (server_first)
    dx_shutdown (s, NULL, NULL);
}

static void
on_connect (dx_stream *s, int status, void *arg)
{
  (void) arg;
  if (status < 0) {
    dx_close (DX_HANDLE (s), on_client_closed);
    return;
  }
  connected++;
  dx_read_start (s, alloc_static, client_read);
  if (!server_first)
    dx_shutdown (s, NULL, NULL);
}

/* CONNS connections to a fresh listener, closed by one side first; returns
 * the listener's port once every socket of both sides is closed. */
static uint16_t
run_connections (bool server_closes_first, uint32_t *tw_before)
{
  loop = test_loop_new ();
  server_first = server_closes_first;
  connected = server_closed = client_closed = 0;
  n_client_ports = 0;
  watchdog = watchdog_start (loop, 20000);
  if (dx_tcp_listen (loop, "127.0.0.1:0", 64, on_accept, &listener) != 0) {
    printf ("Bail out! listen failed\n");
    exit (1);
  }
  uint16_t port = (uint16_t) dx_listener_port (listener);
  dx_tcp_state_counts c;
  IS (dx_tcp_count_states (&port, 1, TW, &c), 0, "count before the connections");
  *tw_before = c.n[DX_TCP_TIME_WAIT];
  char addr[64];
  snprintf (addr, sizeof addr, "127.0.0.1:%u", (unsigned) port);
  for (int i = 0; i < CONNS; i++) {
    dx_stream *s;
    dx_tcp_connect (loop, addr, on_connect, NULL, &s);
  }
  dx_loop_run (loop);
  OK (!watchdog_fired, "every connection closed on both sides");
  IS (connected, CONNS, "every client connected");
  IS (n_client_ports, CONNS, "every client port known from the server side");
  test_loop_free (loop, server_first ? "server-first" : "client-first");
  return port;
}

/* Whether this system can count at all; the test is skipped if not. */
static bool
supported (void)
{
  uint16_t port = 1;
  dx_tcp_state_counts c;
  int rc = dx_tcp_count_states (&port, 1, TW, &c);
  if (rc == DX_ENOTSUP) {
    tap_skip ("dx_tcp_count_states: this system offers no way to count (DX_ENOTSUP)");
    return false;
  }
  IS (rc, 0, "dx_tcp_count_states works here");
  return rc == 0;
}

static void
test_server_first (void)
{
  if (!supported ())
    return;
  uint32_t before;
  uint16_t port = run_connections (true, &before);
  dx_tcp_state_counts c;
  IS (dx_tcp_count_states (&port, 1, TW | DX_TCP_STATE_BIT (DX_TCP_LISTEN), &c), 0, "count after");
  uint32_t after = c.n[DX_TCP_TIME_WAIT];
  printf ("# listener port %u: TIME_WAIT %u before, %u after %d server-first closes\n",
          (unsigned) port, before, after, CONNS);
  OK (after >= CONNS && after > before, "the server's port holds a TIME_WAIT per connection");
  IS (c.n[DX_TCP_LISTEN], 0, "the closed listener is gone");
  IS (c.n[DX_TCP_ESTABLISHED], 0, "states outside the mask read 0");
#ifdef __linux__
  /* Both of Linux's ways see the same sockets. */
  dx_tcp_state_counts d, p;
  IS (dx__tcpstat_sock_diag (&port, 1, TW, &d), 0, "sock_diag answers");
  IS (dx__tcpstat_proc (&port, 1, TW, &p), 0, "/proc/net/tcp answers");
  printf ("# sock_diag %u, /proc %u\n", d.n[DX_TCP_TIME_WAIT], p.n[DX_TCP_TIME_WAIT]);
  OK (d.n[DX_TCP_TIME_WAIT] >= CONNS, "sock_diag sees them");
  OK (p.n[DX_TCP_TIME_WAIT] >= CONNS, "/proc/net/tcp sees them");
#endif
}

static void
test_client_first (void)
{
  if (!supported ())
    return;
  uint32_t before;
  uint16_t port = run_connections (false, &before);
  dx_tcp_state_counts c, cl[CONNS];
  IS (dx_tcp_count_states (&port, 1, TW, &c), 0, "count after");
  printf ("# listener port %u: TIME_WAIT %u before, %u after %d client-first closes\n",
          (unsigned) port, before, c.n[DX_TCP_TIME_WAIT], CONNS);
  /* Only sockets of this listener can have its port while it is bound,
   * and earlier ones can only have expired meanwhile. */
  OK (c.n[DX_TCP_TIME_WAIT] <= before, "no TIME_WAIT on the server's port");
  IS (dx_tcp_count_states (client_ports, n_client_ports, TW, cl), 0, "count the client ports");
  size_t with_tw = 0;
  for (size_t i = 0; i < n_client_ports; i++)
    with_tw += cl[i].n[DX_TCP_TIME_WAIT] >= 1;
  IS (with_tw, n_client_ports, "each client port holds a TIME_WAIT");
#ifdef __linux__
  /* sock_diag's in-kernel filter over many ports (dx_tcp_count_states
   * would fall back to /proc silently if the kernel refused it). */
  IS (dx__tcpstat_sock_diag (client_ports, n_client_ports, TW, cl), 0, "sock_diag, many ports");
  with_tw = 0;
  for (size_t i = 0; i < n_client_ports; i++)
    with_tw += cl[i].n[DX_TCP_TIME_WAIT] >= 1;
  IS (with_tw, n_client_ports, "sock_diag: each client port holds a TIME_WAIT");
#endif
}

static void
test_args (void)
{
  uint16_t ports[DX_TCPSTAT_MAX_PORTS + 1] = { 80, 0 };
  dx_tcp_state_counts c[DX_TCPSTAT_MAX_PORTS + 1];
  IS (dx_tcp_count_states (NULL, 1, TW, c), DX_EINVAL, "no ports");
  IS (dx_tcp_count_states (ports, 1, TW, NULL), DX_EINVAL, "no counts");
  IS (dx_tcp_count_states (ports, 0, TW, c), DX_EINVAL, "zero ports");
  IS (dx_tcp_count_states (ports, 2, TW, c), DX_EINVAL, "port 0");
  for (size_t i = 0; i < DX_TCPSTAT_MAX_PORTS + 1; i++)
    ports[i] = (uint16_t) (1000 + i);
  IS (dx_tcp_count_states (ports, DX_TCPSTAT_MAX_PORTS + 1, TW, c), DX_EINVAL, "too many ports");
  c[0].n[DX_TCP_TIME_WAIT] = 7;
  IS (dx_tcp_count_states (ports, 1, 0, c), 0, "an empty mask is an empty answer");
  IS (c[0].n[DX_TCP_TIME_WAIT], 0, "... and zeroes the counts");
  STR_IS (dx_tcp_state_name (DX_TCP_TIME_WAIT), "time_wait", "state name");
  STR_IS (dx_tcp_state_name (DX_TCP_CLOSE_WAIT), "close_wait", "state name");
  STR_IS (dx_tcp_state_name (DX_TCP_STATE_COUNT), "unknown", "out of range");
  for (int s = 0; s < DX_TCP_STATE_COUNT; s++)
    OK (strcmp (dx_tcp_state_name ((dx_tcp_state) s), "unknown") != 0, "state %d has a name", s);
}

int
main (int argc, char **argv)
{
  raw_init ();
  static const dxtest_case cases[] = {
    { "server-first", test_server_first },
    { "client-first", test_client_first },
    { "args", test_args },
  };
  return dxtest_main (argc, argv, cases, DXTEST_COUNT (cases));
}
