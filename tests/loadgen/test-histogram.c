/* duplex-bench's latency histogram: bounded error, and merging that is
 * exact (the merge of two histograms is the histogram of both sample
 * sets, so percentiles of workers merged are those of every sample). */
#include "loadgen/histogram.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf (stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                                  \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

static int
cmp_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return x < y ? -1 : x > y;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t
next (void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Every bucket boundary maps back to its bucket, buckets are contiguous
 * and at most 1/64 of their value wide. */
static void
test_buckets (void)
{
  CHECK (bench_hist_bucket (0) == 0);
  CHECK (bench_hist_bucket (127) == 127);
  CHECK (bench_hist_bucket_low (128) == 128);
  CHECK (bench_hist_bucket (UINT64_MAX) == BENCH_HIST_BUCKETS - 1);
  for (unsigned i = 1; i < BENCH_HIST_BUCKETS; i++) {
    uint64_t low = bench_hist_bucket_low (i), prev = bench_hist_bucket_low (i - 1);
    CHECK (low > prev);
    CHECK (bench_hist_bucket (low) == i);
    CHECK (bench_hist_bucket (low - 1) == i - 1);
    CHECK ((low - prev) * 64 <= prev || prev < 128);
  }
}

/* Percentiles of a histogram are those of the sorted samples within a
 * bucket's width; p100 is the exact maximum. */
static void
test_percentiles (void)
{
  enum { N = 100000 };
  uint64_t *v = malloc (N * sizeof *v);
  bench_hist *h = malloc (sizeof *h);
  bench_hist_init (h);
  for (int i = 0; i < N; i++) {
    /* 10 µs to ~10 s, log-spread like latencies */
    v[i] = (uint64_t) (10.0 * pow (10.0, (double) (next () % 6000) / 1000.0));
    bench_hist_add (h, v[i]);
  }
  qsort (v, N, sizeof *v, cmp_u64);
  CHECK (h->count == N);
  CHECK (bench_hist_percentile (h, 100) == (double) v[N - 1]);
  static const double ps[] = { 0, 1, 50, 90, 99, 99.9 };
  for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
    double exact = (double) v[(size_t) (ps[k] / 100.0 * (N - 1) + 0.5)];
    double got = bench_hist_percentile (h, ps[k]);
    CHECK (fabs (got - exact) <= exact / 64.0 + 1);
  }
  free (v);
  free (h);
}

/* Split one sample set over three histograms (as over three workers):
 * their merge is bucket for bucket the histogram of the whole set. */
static void
test_merge_is_exact (void)
{
  bench_hist *all = malloc (sizeof *all), *part = malloc (3 * sizeof *part);
  bench_hist_init (all);
  for (int w = 0; w < 3; w++)
    bench_hist_init (&part[w]);
  for (int i = 0; i < 30000; i++) {
    /* each worker sees a different distribution: averaging their
     * percentiles would be far off */
    int w = i % 3;
    uint64_t us = (uint64_t) (w + 1) * 1000 * (w == 2 ? 100 : 1) + next () % 500;
    bench_hist_add (all, us);
    bench_hist_add (&part[w], us);
  }
  bench_hist merged;
  bench_hist_init (&merged);
  for (int w = 0; w < 3; w++)
    bench_hist_merge (&merged, &part[w]);
  CHECK (memcmp (&merged, all, sizeof merged) == 0);
  CHECK (bench_hist_percentile (&merged, 50) == bench_hist_percentile (all, 50));
  CHECK (bench_hist_percentile (&merged, 99) == bench_hist_percentile (all, 99));
  /* p50 of the union is in the middle worker's range (2000..2499 µs) */
  CHECK (bench_hist_percentile (&merged, 50) >= 1990
         && bench_hist_percentile (&merged, 50) <= 2510);
  free (all);
  free (part);
}

int
main (void)
{
  test_buckets ();
  test_percentiles ();
  test_merge_is_exact ();
  if (failures)
    fprintf (stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
