/* The loop micro-benchmark on libuv (see bench-common.h): the same workload
 * and buffer strategy as loop-bench-dx.c, for a fair ratio. */
#include "bench-common.h"

#include <uv.h>

static uv_loop_t *loop;
static bench_args args;
static unsigned long long count, count_at_start;
static uint64_t t_start;
static int measuring;

typedef struct {
  uv_write_t req;
  char *base;
} srv_write;

/* ---- server: echo --------------------------------------------------------- */

static void
srv_alloc (uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void) h;
  (void) suggested;
  buf->base = malloc (BENCH_READ_SIZE);
  buf->len = buf->base ? BENCH_READ_SIZE : 0;
}

static void
free_handle (uv_handle_t *h)
{
  free (h);
}

static void
srv_written (uv_write_t *req, int status)
{
  srv_write *w = (srv_write *) req;
  (void) status;
  free (w->base);
  free (w);
}

static void
srv_read (uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
  if (n > 0) {
    srv_write *w = malloc (sizeof *w);
    w->base = buf->base;
    uv_buf_t out = uv_buf_init (buf->base, (unsigned) n);
    if (uv_write (&w->req, s, &out, 1, srv_written) != 0) {
      free (buf->base);
      free (w);
      uv_close ((uv_handle_t *) s, free_handle);
    }
    return;
  }
  free (buf->base);
  if (n < 0)
    uv_close ((uv_handle_t *) s, free_handle);
}

static void
on_connection (uv_stream_t *server, int status)
{
  if (status != 0)
    return;
  uv_tcp_t *c = malloc (sizeof *c);
  uv_tcp_init (loop, c);
  if (uv_accept (server, (uv_stream_t *) c) != 0) {
    uv_close ((uv_handle_t *) c, free_handle);
    return;
  }
  uv_tcp_nodelay (c, 1);
  uv_read_start ((uv_stream_t *) c, srv_alloc, srv_read);
}

/* ---- client ----------------------------------------------------------------- */

typedef struct {
  uv_tcp_t tcp;
  uv_connect_t creq;
  char *msg;
  size_t got;
  size_t inflight;
  char rbuf[BENCH_READ_SIZE];
} conn;

static void
cli_alloc (uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  conn *c = h->data;
  (void) suggested;
  *buf = uv_buf_init (c->rbuf, sizeof c->rbuf);
}

static void
cli_written (uv_write_t *req, int status)
{
  (void) status;
  free (req);
}

static int
send_msg (conn *c)
{
  uv_write_t *req = malloc (sizeof *req);
  uv_buf_t b = uv_buf_init (c->msg, (unsigned) args.size);
  int rc = uv_write (req, (uv_stream_t *) &c->tcp, &b, 1, cli_written);
  if (rc != 0)
    free (req);
  return rc;
}

static void
pump (conn *c)
{
  while (c->inflight + args.size <= BENCH_WINDOW) {
    if (send_msg (c) != 0)
      return;
    c->inflight += args.size;
  }
}

static void
cli_read (uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
  conn *c = s->data;
  (void) buf;
  if (n == 0)
    return;
  if (n < 0) {
    fprintf (stderr, "client read: %s\n", uv_strerror ((int) n));
    exit (1);
  }
  if (args.mode == MODE_PINGPONG) {
    c->got += (size_t) n;
    if (c->got < args.size)
      return;
    c->got = 0;
    count++;
    send_msg (c);
  } else {
    count += (unsigned long long) n;
    c->inflight -= (size_t) n;
    pump (c);
  }
}

static void
on_connect (uv_connect_t *req, int status)
{
  conn *c = req->data;
  if (status != 0) {
    fprintf (stderr, "connect: %s\n", uv_strerror (status));
    exit (1);
  }
  uv_tcp_nodelay (&c->tcp, 1);
  uv_read_start ((uv_stream_t *) &c->tcp, cli_alloc, cli_read);
  if (args.mode == MODE_PINGPONG)
    send_msg (c);
  else
    pump (c);
}

static void
on_tick (uv_timer_t *t)
{
  if (!measuring) {
    measuring = 1;
    count_at_start = count;
    t_start = uv_hrtime ();
    uv_timer_start (t, on_tick, (uint64_t) args.seconds * 1000, 0);
    return;
  }
  double secs = (double) (uv_hrtime () - t_start) / 1e9;
  bench_report (&args, count - count_at_start, secs, count);
  exit (0);
}

static void
on_signal (uv_signal_t *s, int signum)
{
  (void) signum;
  uv_stop (s->loop);
}

int
main (int argc, char **argv)
{
  if (bench_parse (argc, argv, &args) < 0)
    return 2;
  loop = uv_default_loop ();
  /* libuv leaves SIGPIPE alone: a write to a client that just went away
   * would kill the server. (Ours sends with MSG_NOSIGNAL.) */
  signal (SIGPIPE, SIG_IGN);
  if (args.mode == MODE_SERVER) {
    static uv_tcp_t server;
    static uv_signal_t sig_int, sig_term;
    struct sockaddr_in sin;
    uv_ip4_addr ("127.0.0.1", 0, &sin);
    uv_tcp_init (loop, &server);
    int rc = uv_tcp_bind (&server, (const struct sockaddr *) &sin, 0);
    if (rc == 0)
      rc = uv_listen ((uv_stream_t *) &server, 1024, on_connection);
    if (rc != 0) {
      fprintf (stderr, "listen: %s\n", uv_strerror (rc));
      return 1;
    }
    uv_signal_init (loop, &sig_int);
    uv_signal_start (&sig_int, on_signal, SIGINT);
    uv_signal_init (loop, &sig_term);
    uv_signal_start (&sig_term, on_signal, SIGTERM);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_tcp_getsockname (&server, (struct sockaddr *) &ss, &len);
    printf ("%d\n", ntohs (((struct sockaddr_in *) &ss)->sin_port));
    fflush (stdout);
    uv_run (loop, UV_RUN_DEFAULT);
    bench_server_report ();
    return 0;
  }
  struct sockaddr_in sin;
  uv_ip4_addr ("127.0.0.1", args.port, &sin);
  conn *conns = calloc ((size_t) args.conns, sizeof *conns);
  char *msg = malloc (args.size);
  memset (msg, 'x', args.size);
  for (int i = 0; i < args.conns; i++) {
    conn *c = &conns[i];
    c->msg = msg;
    uv_tcp_init (loop, &c->tcp);
    c->tcp.data = c;
    c->creq.data = c;
    int rc = uv_tcp_connect (&c->creq, &c->tcp, (const struct sockaddr *) &sin, on_connect);
    if (rc != 0) {
      fprintf (stderr, "connect: %s\n", uv_strerror (rc));
      return 1;
    }
  }
  static uv_timer_t t;
  uv_timer_init (loop, &t);
  uv_timer_start (&t, on_tick, BENCH_WARMUP_MS, 0);
  uv_run (loop, UV_RUN_DEFAULT);
  return 1;
}
