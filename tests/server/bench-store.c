/* A micro-benchmark of the history store (not a test: it asserts nothing
 * about speed). Keeps W appends in flight (W concurrent senders) until N
 * messages are acknowledged, then prints appends/s, transactions and the
 * mean acknowledgement latency.
 *
 *   bench-store [--kind sqlite|memory] [--count N] [--window W]
 *               [--batch B] [--sync full|normal] [--dir DIR]
 *
 * --batch 1 means one transaction per message (no group commit). */
#include "server/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  dx_store *store;
  dx_loop *loop;
  uint64_t target, issued, acked, failed;
} bench;

static void on_ack (void *arg, int status, const dx_stored_msg *msg, bool dup);

static void
issue (bench *b)
{
  static const char text[] = "the quick brown fox jumps over the lazy dog, a benchmark line";
  if (b->issued >= b->target)
    return;
  b->issued++;
  if (dx_store_append (b->store, "bench", "bencher", NULL, text, sizeof text - 1, NULL, on_ack, b)
      != 0) {
    b->failed++;
    b->acked++;
  }
}

static void
on_ack (void *arg, int status, const dx_stored_msg *msg, bool dup)
{
  bench *b = arg;
  b->acked++;
  if (status != 0)
    b->failed++;
  if (b->acked >= b->target)
    dx_loop_stop (b->loop);
  else
    issue (b);
}

static void
usage (void)
{
  fprintf (stderr, "usage: bench-store [--kind sqlite|memory] [--count N] [--window W] "
                   "[--batch B] [--sync full|normal] [--dir DIR]\n");
  exit (2);
}

int
main (int argc, char **argv)
{
  dx_store_config cfg;
  dx_store_config_init (&cfg);
  cfg.kind = dx_store_sqlite_available () ? DX_STORE_SQLITE : DX_STORE_MEMORY;
  cfg.data_dir = "bench-store-data";
  uint64_t count = 100000, window = 100;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v)
      usage ();
    if (strcmp (argv[i], "--kind") == 0 && dx_store_kind_parse (v, &cfg.kind))
      i++;
    else if (strcmp (argv[i], "--count") == 0)
      count = strtoull (argv[++i], NULL, 10);
    else if (strcmp (argv[i], "--window") == 0)
      window = strtoull (argv[++i], NULL, 10);
    else if (strcmp (argv[i], "--batch") == 0)
      cfg.max_batch = (size_t) strtoull (argv[++i], NULL, 10);
    else if (strcmp (argv[i], "--sync") == 0
             && (strcmp (v, "full") == 0 || strcmp (v, "normal") == 0))
      cfg.sync = strcmp (argv[++i], "full") == 0 ? DX_STORE_SYNC_FULL : DX_STORE_SYNC_NORMAL;
    else if (strcmp (argv[i], "--dir") == 0)
      cfg.data_dir = argv[++i];
    else
      usage ();
  }
  if (count == 0 || window == 0)
    usage ();
  int err = 0;
  dx_loop *loop = dx_loop_new (&err);
  if (!loop) {
    fprintf (stderr, "bench-store: %s\n", dx_strerror (err));
    return 1;
  }
  char reason[256];
  bench b = { 0 };
  b.loop = loop;
  b.target = count;
  b.store = dx_store_open (loop, &cfg, reason, sizeof reason);
  if (!b.store) {
    fprintf (stderr, "bench-store: %s\n", reason);
    return 1;
  }
  uint64_t t0 = dx_monotonic_us ();
  for (uint64_t i = 0; i < window; i++)
    issue (&b);
  dx_loop_run (loop);
  uint64_t t1 = dx_monotonic_us ();
  dx_store_stats st;
  dx_store_get_stats (b.store, &st);
  double secs = (double) (t1 - t0) / 1e6;
  printf ("kind=%s sync=%s batch=%zu window=%" PRIu64 " count=%" PRIu64 " failed=%" PRIu64
          " seconds=%.3f appends/s=%.0f transactions=%" PRIu64
          " msgs/txn=%.1f mean_latency_us=%.0f\n",
          dx_store_kind_name (cfg.kind), cfg.sync == DX_STORE_SYNC_FULL ? "full" : "normal",
          cfg.max_batch ? cfg.max_batch : (size_t) 4096, window, count, b.failed, secs,
          (double) count / secs, st.transactions,
          st.transactions ? (double) st.appends / (double) st.transactions : 0.0,
          st.latency_count ? (double) st.latency_sum_us / (double) st.latency_count : 0.0);
  dx_store_close (b.store);
  dx_loop_run (loop);
  dx_loop_free (loop);
  return b.failed ? 1 : 0;
}
