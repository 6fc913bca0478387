/* The loop micro-benchmark on Duplex's platform layer (see bench-common.h). */
#include "bench-common.h"
#include "platform/loop.h"

static dx_loop *loop;
static bench_args args;
static unsigned long long count, count_at_start;
static uint64_t t_start;
static bool measuring;

/* ---- server: echo --------------------------------------------------------- */

static void
srv_alloc (dx_stream *s, size_t suggested, dx_buf *buf)
{
  (void) s;
  (void) suggested;
  buf->base = malloc (BENCH_READ_SIZE);
  buf->len = buf->base ? BENCH_READ_SIZE : 0;
}

static void
srv_written (dx_stream *s, int status, void *arg)
{
  (void) s;
  (void) status;
  free (arg);
}

static void
srv_read (dx_stream *s, ptrdiff_t n, const dx_buf *buf)
{
  if (n > 0) {
    dx_buf out = dx_buf_init (buf->base, (size_t) n);
    if (dx_write (s, &out, 1, srv_written, buf->base) != 0) {
      free (buf->base);
      dx_close (DX_HANDLE (s), NULL);
    }
    return;
  }
  free (buf->base);
  if (n < 0)
    dx_close (DX_HANDLE (s), NULL);
}

static void
on_accept (dx_listener *l, dx_stream *s, int status)
{
  (void) l;
  if (status != 0)
    return;
  dx_tcp_nodelay (s, true);
  dx_read_start (s, srv_alloc, srv_read);
}

/* ---- client ----------------------------------------------------------------- */

typedef struct {
  dx_stream *s;
  char *msg;
  size_t got;      /* pingpong: bytes of the current echo */
  size_t inflight; /* throughput: bytes sent, not yet echoed */
  char rbuf[BENCH_READ_SIZE];
} conn;

static conn *conns;

static void
cli_alloc (dx_stream *s, size_t suggested, dx_buf *buf)
{
  conn *c = dx_handle_data (DX_HANDLE (s));
  (void) suggested;
  *buf = dx_buf_init (c->rbuf, sizeof c->rbuf);
}

static void
pump (conn *c)
{
  while (c->inflight + args.size <= BENCH_WINDOW) {
    dx_buf b = dx_buf_init (c->msg, args.size);
    if (dx_write (c->s, &b, 1, NULL, NULL) != 0)
      return;
    c->inflight += args.size;
  }
}

static void
cli_read (dx_stream *s, ptrdiff_t n, const dx_buf *buf)
{
  conn *c = dx_handle_data (DX_HANDLE (s));
  (void) buf;
  if (n == 0)
    return;
  if (n < 0) {
    fprintf (stderr, "client read: %s\n", dx_strerror ((int) n));
    exit (1);
  }
  if (args.mode == MODE_PINGPONG) {
    c->got += (size_t) n;
    if (c->got < args.size)
      return;
    c->got = 0;
    count++;
    dx_buf b = dx_buf_init (c->msg, args.size);
    dx_write (s, &b, 1, NULL, NULL);
  } else {
    count += (unsigned long long) n;
    c->inflight -= (size_t) n;
    pump (c);
  }
}

static void
on_connect (dx_stream *s, int status, void *arg)
{
  conn *c = arg;
  if (status != 0) {
    fprintf (stderr, "connect: %s\n", dx_strerror (status));
    exit (1);
  }
  dx_tcp_nodelay (s, true);
  dx_read_start (s, cli_alloc, cli_read);
  if (args.mode == MODE_PINGPONG) {
    dx_buf b = dx_buf_init (c->msg, args.size);
    dx_write (s, &b, 1, NULL, NULL);
  } else {
    pump (c);
  }
}

static void
on_tick (dx_timer *t)
{
  if (!measuring) {
    measuring = true;
    count_at_start = count;
    t_start = dx_monotonic_us ();
    dx_timer_start (t, (uint64_t) args.seconds * 1000, 0, on_tick);
    return;
  }
  double secs = (double) (dx_monotonic_us () - t_start) / 1e6;
  bench_report (&args, count - count_at_start, secs, count);
  exit (0); /* the server side sees the resets; nothing to clean up */
}

int
main (int argc, char **argv)
{
  if (bench_parse (argc, argv, &args) < 0)
    return 2;
  int err;
  loop = dx_loop_new (&err);
  if (!loop) {
    fprintf (stderr, "loop: %s\n", dx_strerror (err));
    return 1;
  }
  if (args.mode == MODE_SERVER) {
    dx_listener *l;
    err = dx_tcp_listen (loop, "127.0.0.1:0", 1024, on_accept, &l);
    if (err) {
      fprintf (stderr, "listen: %s\n", dx_strerror (err));
      return 1;
    }
    dx_signal_stop_on_interrupt (loop, NULL);
    printf ("%d\n", dx_listener_port (l));
    fflush (stdout);
    dx_loop_run (loop);
    bench_server_report ();
    return 0;
  }
  char addr[64];
  snprintf (addr, sizeof addr, "127.0.0.1:%d", args.port);
  conns = calloc ((size_t) args.conns, sizeof *conns);
  char *msg = malloc (args.size);
  memset (msg, 'x', args.size);
  for (int i = 0; i < args.conns; i++) {
    conns[i].msg = msg;
    err = dx_tcp_connect (loop, addr, on_connect, &conns[i], &conns[i].s);
    if (err) {
      fprintf (stderr, "connect: %s\n", dx_strerror (err));
      return 1;
    }
    dx_handle_set_data (DX_HANDLE (conns[i].s), &conns[i]);
  }
  dx_timer *t = dx_timer_new (loop);
  dx_timer_start (t, BENCH_WARMUP_MS, 0, on_tick);
  dx_loop_run (loop);
  return 1;
}
