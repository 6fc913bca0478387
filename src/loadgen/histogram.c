/* duplex-bench: the latency histogram (see histogram.h). */
#include "loadgen/histogram.h"

#include <string.h>

#define SUB (1u << BENCH_HIST_SUB_BITS)

void
bench_hist_init (bench_hist *h)
{
  memset (h, 0, sizeof *h);
}

static unsigned
msb64 (uint64_t v)
{
  unsigned n = 0;
  while (v >>= 1)
    n++;
  return n;
}

unsigned
bench_hist_bucket (uint64_t us)
{
  if (us > UINT32_MAX)
    us = UINT32_MAX;
  if (us < 2 * SUB)
    return (unsigned) us;
  /* shift >= 1: (us >> shift) is in [SUB, 2 SUB) */
  unsigned shift = msb64 (us) - BENCH_HIST_SUB_BITS;
  return shift * SUB + (unsigned) (us >> shift);
}

uint64_t
bench_hist_bucket_low (unsigned idx)
{
  if (idx < 2 * SUB)
    return idx;
  unsigned shift = idx / SUB - 1;
  return (uint64_t) (idx - shift * SUB) << shift;
}

void
bench_hist_add (bench_hist *h, uint64_t us)
{
  h->buckets[bench_hist_bucket (us)]++;
  h->count++;
  h->sum_us += us;
  if (us > h->max_us)
    h->max_us = us;
}

void
bench_hist_merge (bench_hist *dst, const bench_hist *src)
{
  for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
    dst->buckets[i] += src->buckets[i];
  dst->count += src->count;
  dst->sum_us += src->sum_us;
  if (src->max_us > dst->max_us)
    dst->max_us = src->max_us;
}

double
bench_hist_percentile (const bench_hist *h, double p)
{
  if (h->count == 0)
    return 0;
  if (p >= 100)
    return (double) h->max_us;
  /* The nearest rank, as a sorted array of the samples would give it. */
  uint64_t rank = (uint64_t) (p / 100.0 * (double) (h->count - 1) + 0.5);
  uint64_t seen = 0;
  for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
    seen += h->buckets[i];
    if (seen > rank) {
      uint64_t low = bench_hist_bucket_low (i);
      uint64_t width = i + 1 < BENCH_HIST_BUCKETS ? bench_hist_bucket_low (i + 1) - low : 1;
      double v = (double) low + (double) (width - 1) / 2.0;
      return v > (double) h->max_us ? (double) h->max_us : v;
    }
  }
  return (double) h->max_us;
}
