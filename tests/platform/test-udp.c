/* UDP handles (loop.h "UDP") on every backend: echo, the sender's address
 * (IPv4 and IPv6), a datagram longer than the receive buffer, closing
 * with sends and a receive pending, and dx_addr. */
#include "dxtest.h"

enum { ECHO_MSGS = 200 };

static dx_timer *watchdog;

/* ---- echo ------------------------------------------------------------------ */

typedef struct {
  dx_udp *server, *client;
  dx_addr server_addr, client_addr;
  int sent, echoed, received, bad, send_errors, send_cbs;
  bool from_ok;
  char out[ECHO_MSGS][32];
} echo_state;

static echo_state es;

static void
count_send (dx_udp *u, int status, void *arg)
{
  (void) u;
  free (arg); /* the server's copy of what it echoed; NULL for the client */
  es.send_cbs++;
  if (status != 0)
    es.send_errors++;
}

static void
echo_server_recv (dx_udp *u, ptrdiff_t n, const char *data, const dx_addr *from, unsigned flags)
{
  if (n < 0 || flags != 0) {
    es.bad++;
    return;
  }
  /* The bytes are only valid during this call: copy them for the send. */
  char *copy = malloc ((size_t) n + 1);
  memcpy (copy, data, (size_t) n);
  dx_buf b = dx_buf_init (copy, (size_t) n);
  if (!dx_addr_equal (from, &es.client_addr))
    es.from_ok = false;
  if (dx_udp_send (u, &b, 1, from, count_send, copy) != 0) {
    free (copy);
    es.bad++;
  }
  es.echoed++;
}

static void
echo_client_recv (dx_udp *u, ptrdiff_t n, const char *data, const dx_addr *from, unsigned flags)
{
  (void) u;
  if (n < 0 || flags != 0 || !dx_addr_equal (from, &es.server_addr)) {
    es.bad++;
    return;
  }
  bool found = false;
  for (int i = 0; i < ECHO_MSGS && !found; i++)
    found = strlen (es.out[i]) == (size_t) n && memcmp (es.out[i], data, (size_t) n) == 0;
  if (!found)
    es.bad++;
  if (++es.received == ECHO_MSGS) {
    dx_close (DX_HANDLE (es.server), NULL);
    dx_close (DX_HANDLE (es.client), NULL);
    dx_close (DX_HANDLE (watchdog), NULL);
  }
}

static void
echo_send_next (dx_timer *t)
{
  /* A few at a time: loopback does not lose what the reader keeps up with. */
  for (int k = 0; k < 10 && es.sent < ECHO_MSGS; k++) {
    int i = es.sent++;
    snprintf (es.out[i], sizeof es.out[i], "datagram %d", i);
    dx_buf b = dx_buf_init (es.out[i], strlen (es.out[i]));
    if (dx_udp_send (es.client, &b, 1, &es.server_addr, count_send, NULL) != 0)
      es.bad++;
  }
  if (es.sent == ECHO_MSGS)
    dx_close (DX_HANDLE (t), NULL);
}

static void
bind_pair (dx_loop *loop, const char *addr, dx_udp **a, dx_addr *a_addr, dx_udp **b,
           dx_addr *b_addr)
{
  char name[64];
  OK (dx_udp_bind (loop, addr, a) == 0, "bind %s", addr);
  OK (dx_udp_bind (loop, addr, b) == 0, "bind a second socket on %s", addr);
  OK (dx_udp_port (*a) > 0 && dx_udp_port (*a) != dx_udp_port (*b), "port 0 gave two real ports");
  OK (dx_udp_name (*a, name, sizeof name) == 0 && dx_addr_parse (name, a_addr) == 0,
      "name %s parses", name);
  OK (dx_udp_name (*b, name, sizeof name) == 0 && dx_addr_parse (name, b_addr) == 0,
      "name %s parses", name);
}

static void
echo (void)
{
  dx_loop *loop = test_loop_new ();
  memset (&es, 0, sizeof es);
  es.from_ok = true;
  bind_pair (loop, "127.0.0.1:0", &es.server, &es.server_addr, &es.client, &es.client_addr);
  OK (dx_udp_recv_start (es.server, 1500, echo_server_recv) == 0, "server receives");
  OK (dx_udp_recv_start (es.client, 1500, echo_client_recv) == 0, "client receives");
  dx_timer *pace = dx_timer_new (loop);
  dx_timer_start (pace, 1, 1, echo_send_next);
  watchdog = watchdog_start (loop, 20000);
  dx_loop_run (loop);
  OK (!watchdog_fired, "no watchdog");
  IS (es.received, ECHO_MSGS, "every echo came back");
  IS (es.echoed, ECHO_MSGS, "the server echoed each datagram");
  IS (es.bad, 0, "no bad datagram");
  IS (es.send_errors, 0, "no send failed");
  IS (es.send_cbs, 2 * ECHO_MSGS, "one callback per send");
  OK (es.from_ok, "the server saw the client's bound address as the sender");
  test_loop_free (loop, "echo");
}

/* ---- sender address, IPv6 ---------------------------------------------------- */

typedef struct {
  dx_udp *a, *b;
  dx_addr a_addr, b_addr;
  int got;
  bool from_ok;
  char data[16];
} addr_state;

static addr_state as;

static void
addr_recv (dx_udp *u, ptrdiff_t n, const char *data, const dx_addr *from, unsigned flags)
{
  (void) u;
  as.got++;
  as.from_ok = n == 4 && memcmp (data, "ping", 4) == 0 && flags == 0
               && dx_addr_equal (from, &as.a_addr) && !dx_addr_equal (from, &as.b_addr);
  char name[64];
  if (from && dx_addr_format (from, name, sizeof name) == 0)
    printf ("#   from %s\n", name);
  dx_close (DX_HANDLE (as.a), NULL);
  dx_close (DX_HANDLE (as.b), NULL);
  dx_close (DX_HANDLE (watchdog), NULL);
}

static void
sender_address_on (const char *addr)
{
  dx_loop *loop = test_loop_new ();
  memset (&as, 0, sizeof as);
  dx_udp *probe = NULL;
  if (dx_udp_bind (loop, addr, &probe) != 0) {
    printf ("ok - # SKIP %s not available here\n", addr);
    test_loop_free (loop, "no socket");
    return;
  }
  dx_close (DX_HANDLE (probe), NULL);
  dx_loop_run (loop);
  bind_pair (loop, addr, &as.a, &as.a_addr, &as.b, &as.b_addr);
  OK (dx_udp_recv_start (as.b, 64, addr_recv) == 0, "b receives");
  memcpy (as.data, "ping", 4);
  dx_buf buf = dx_buf_init (as.data, 4);
  OK (dx_udp_send (as.a, &buf, 1, &as.b_addr, NULL, NULL) == 0, "a sends to b");
  watchdog = watchdog_start (loop, 10000);
  dx_loop_run (loop);
  OK (!watchdog_fired, "%s: no watchdog", addr);
  IS (as.got, 1, "one datagram arrived");
  OK (as.from_ok, "%s: the datagram names a's address as its sender", addr);
  test_loop_free (loop, addr);
}

static void
sender_address (void)
{
  sender_address_on ("127.0.0.1:0");
  sender_address_on ("[::1]:0");
}

/* ---- truncation --------------------------------------------------------------- */

typedef struct {
  dx_udp *server, *client;
  dx_addr server_addr, client_addr;
  int got;
  ptrdiff_t n[2];
  unsigned flags[2];
  bool content_ok[2];
  char big[300], small[50];
} trunc_state;

static trunc_state ts;

static void
trunc_recv (dx_udp *u, ptrdiff_t n, const char *data, const dx_addr *from, unsigned flags)
{
  (void) u;
  (void) from;
  if (n < 0 || ts.got >= 2)
    return;
  int i = ts.got++;
  ts.n[i] = n;
  ts.flags[i] = flags;
  const char *want = i == 0 ? ts.big : ts.small;
  ts.content_ok[i] = n > 0 && memcmp (data, want, (size_t) n) == 0;
  if (ts.got == 2) {
    dx_close (DX_HANDLE (ts.server), NULL);
    dx_close (DX_HANDLE (ts.client), NULL);
    dx_close (DX_HANDLE (watchdog), NULL);
  }
}

static void
truncation (void)
{
  dx_loop *loop = test_loop_new ();
  memset (&ts, 0, sizeof ts);
  bind_pair (loop, "127.0.0.1:0", &ts.server, &ts.server_addr, &ts.client, &ts.client_addr);
  OK (dx_udp_recv_start (ts.server, 100, trunc_recv) == 0, "receive with a 100-byte buffer");
  for (size_t i = 0; i < sizeof ts.big; i++)
    ts.big[i] = (char) ('a' + i % 26);
  memset (ts.small, 'z', sizeof ts.small);
  dx_buf big = dx_buf_init (ts.big, sizeof ts.big);
  dx_buf small = dx_buf_init (ts.small, sizeof ts.small);
  OK (dx_udp_send (ts.client, &big, 1, &ts.server_addr, NULL, NULL) == 0, "send 300 bytes");
  OK (dx_udp_send (ts.client, &small, 1, &ts.server_addr, NULL, NULL) == 0, "then 50 bytes");
  watchdog = watchdog_start (loop, 10000);
  dx_loop_run (loop);
  OK (!watchdog_fired, "no watchdog");
  IS (ts.got, 2, "both datagrams arrived");
  IS (ts.n[0], 100, "the long one is cut to the buffer");
  OK (ts.flags[0] == DX_UDP_TRUNCATED, "the long datagram is flagged truncated");
  OK (ts.content_ok[0], "its first 100 bytes arrived");
  IS (ts.n[1], 50, "the short one is whole");
  IS (ts.flags[1], 0, "and not flagged");
  OK (ts.content_ok[1], "the next datagram arrived whole");
  test_loop_free (loop, "truncation");
}

/* ---- close with operations pending ---------------------------------------- */

enum { PENDING_SENDS = 50 };

typedef struct {
  int cbs, ok, canceled, other, order_errors, last_index;
  int recv_calls;
  bool closed, cb_after_close;
  char payload[PENDING_SENDS][8];
} pend_state;

static pend_state ps;

static void
pend_send_cb (dx_udp *u, int status, void *arg)
{
  (void) u;
  int index = (int) (intptr_t) arg;
  if (ps.closed)
    ps.cb_after_close = true;
  if (index != ps.last_index + 1)
    ps.order_errors++;
  ps.last_index = index;
  ps.cbs++;
  if (status == 0)
    ps.ok++;
  else if (status == DX_ECANCELED)
    ps.canceled++;
  else
    ps.other++;
}

static void
pend_recv (dx_udp *u, ptrdiff_t n, const char *data, const dx_addr *from, unsigned flags)
{
  (void) u;
  (void) n;
  (void) data;
  (void) from;
  (void) flags;
  ps.recv_calls++;
}

static void
pend_closed (dx_handle *h)
{
  (void) h;
  ps.closed = true;
}

static void
close_pending (void)
{
  dx_loop *loop = test_loop_new ();
  memset (&ps, 0, sizeof ps);
  ps.last_index = -1;
  dx_udp *a, *b;
  dx_addr a_addr, b_addr;
  bind_pair (loop, "127.0.0.1:0", &a, &a_addr, &b, &b_addr);
  OK (dx_udp_recv_start (a, 1500, pend_recv) == 0, "a receives (a receive is pending)");
  for (int i = 0; i < PENDING_SENDS; i++) {
    snprintf (ps.payload[i], sizeof ps.payload[i], "p%d", i);
    dx_buf buf = dx_buf_init (ps.payload[i], strlen (ps.payload[i]));
    OK (dx_udp_send (a, &buf, 1, &b_addr, pend_send_cb, (void *) (intptr_t) i) == 0, "send %d", i);
  }
  IS (ps.cbs, 0, "no callback inside dx_udp_send");
  dx_close (DX_HANDLE (a), pend_closed);
  dx_buf buf = dx_buf_init (ps.payload[0], 2);
  IS (dx_udp_send (a, &buf, 1, &b_addr, pend_send_cb, NULL), DX_ECANCELED, "dx_udp_send (a");
  dx_close (DX_HANDLE (b), NULL);
  watchdog = watchdog_start (loop, 10000);
  dx_close (DX_HANDLE (watchdog), NULL);
  dx_loop_run (loop);
  IS (ps.cbs, PENDING_SENDS, "every send called back once");
  IS (ps.ok + ps.canceled, PENDING_SENDS, "each sent or cancelled");
  IS (ps.other, 0, "no other status");
  IS (ps.order_errors, 0, "callbacks in send order");
  OK (ps.closed && !ps.cb_after_close, "close_cb ran last");
  IS (ps.recv_calls, 0, "no receive callback after close");
  test_loop_free (loop, "close-pending");
}

/* ---- the send queue ----------------------------------------------------------- */

/* Flood a socket nobody reads: every send is accepted or refused with
 * DX_ENOBUFS (the bound), each accepted one is called back once, and
 * nothing is queued beyond DX_UDP_SEND_QUEUE_BYTES. */
enum { FLOOD = 4000, FLOOD_LEN = 1200 };

static int flood_cbs, flood_bad;
static char flood_buf[FLOOD_LEN];

static void
flood_cb (dx_udp *u, int status, void *arg)
{
  (void) u;
  (void) arg;
  flood_cbs++;
  if (status != 0 && status != DX_ECANCELED)
    flood_bad++;
}

static void
send_queue (void)
{
  dx_loop *loop = test_loop_new ();
  flood_cbs = flood_bad = 0;
  dx_udp *a, *b;
  dx_addr a_addr, b_addr;
  bind_pair (loop, "127.0.0.1:0", &a, &a_addr, &b, &b_addr);
  int accepted = 0, refused = 0, other = 0;
  size_t max_queued = 0;
  dx_buf buf = dx_buf_init (flood_buf, sizeof flood_buf);
  for (int i = 0; i < FLOOD; i++) {
    int rc = dx_udp_send (a, &buf, 1, &b_addr, flood_cb, NULL);
    if (rc == 0)
      accepted++;
    else if (rc == DX_ENOBUFS)
      refused++;
    else
      other++;
    if (dx_udp_send_queue_size (a) > max_queued)
      max_queued = dx_udp_send_queue_size (a);
  }
  printf ("#   %d accepted, %d refused, at most %zu bytes queued\n", accepted, refused, max_queued);
  IS (other, 0, "only 0 or DX_ENOBUFS");
  OK (max_queued <= DX_UDP_SEND_QUEUE_BYTES, "the queue stays within its bound");
  IS (dx_udp_send (a, &buf, 1, NULL, flood_cb, NULL), DX_EINVAL, "dx_udp_send (a");
  dx_close (DX_HANDLE (a), NULL);
  dx_close (DX_HANDLE (b), NULL);
  dx_loop_run (loop);
  IS (flood_cbs, accepted, "each accepted send called back");
  IS (flood_bad, 0, "sent or cancelled, nothing else");
  test_loop_free (loop, "send-queue");
}

/* ---- dx_addr ------------------------------------------------------------------ */

static void
addr (void)
{
  dx_addr a, b, c;
  char s[64];
  OK (dx_addr_parse ("127.0.0.1:4000", &a) == 0, "parse IPv4");
  OK (dx_addr_format (&a, s, sizeof s) == 0 && strcmp (s, "127.0.0.1:4000") == 0, "format %s", s);
  IS (dx_addr_port (&a), 4000, "port");
  OK (dx_addr_parse ("127.0.0.1:4000", &b) == 0 && dx_addr_equal (&a, &b), "equal to itself");
  OK (dx_addr_hash (&a) == dx_addr_hash (&b), "same hash");
  OK (dx_addr_parse ("127.0.0.1:4001", &c) == 0 && !dx_addr_equal (&a, &c), "port differs");
  OK (dx_addr_parse ("[::1]:4000", &c) == 0 && !dx_addr_equal (&a, &c), "family differs");
  OK (dx_addr_format (&c, s, sizeof s) == 0 && strcmp (s, "[::1]:4000") == 0, "format %s", s);
  OK (dx_addr_parse ("nonsense", &c) < 0, "no port: refused");
  OK (dx_addr_format (&a, s, 5) == DX_ENOMEM, "short buffer: DX_ENOMEM");
  memset (&c, 0, sizeof c);
  OK (!dx_addr_equal (&c, &c), "an empty address equals nothing");
  OK (strcmp (dx_err_name (DX_ENOBUFS), "DX_ENOBUFS") == 0, "DX_ENOBUFS has a name");
}

int
main (int argc, char **argv)
{
  raw_init ();
  static const dxtest_case cases[] = {
    { "echo", echo },
    { "sender-address", sender_address },
    { "truncation", truncation },
    { "close-pending", close_pending },
    { "send-queue", send_queue },
    { "addr", addr },
  };
  return dxtest_main (argc, argv, cases, DXTEST_COUNT (cases));
}
