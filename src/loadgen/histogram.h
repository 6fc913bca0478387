/* duplex-bench: a latency histogram of fixed size with bounded relative
 * error, so that recording a delivery costs a few instructions and the
 * histograms of several worker processes merge exactly (bucket by bucket:
 * a merged percentile is the percentile of every sample, not an average
 * of the workers' percentiles). */
#ifndef DX_BENCH_HISTOGRAM_H
#define DX_BENCH_HISTOGRAM_H

#include <stdint.h>

/* Values below 128 µs have a bucket each; above, each power of two is cut
 * into 64 buckets, so a bucket is at most 1/64 (1.6 %) of its value wide.
 * Values are capped at 2^32 - 1 µs (71 minutes). */
#define BENCH_HIST_SUB_BITS 6
#define BENCH_HIST_BUCKETS ((33 - BENCH_HIST_SUB_BITS) * (1 << BENCH_HIST_SUB_BITS))

typedef struct {
  uint64_t count;
  uint64_t max_us;
  uint64_t sum_us;
  uint64_t buckets[BENCH_HIST_BUCKETS];
} bench_hist;

void bench_hist_init (bench_hist *h);
void bench_hist_add (bench_hist *h, uint64_t us);
/* Adds every sample of src to dst. */
void bench_hist_merge (bench_hist *dst, const bench_hist *src);
/* p in [0,100]: the value (µs) of the sample at rank p% (nearest rank;
 * the middle of its bucket, never above the largest sample); 0 if empty. */
double bench_hist_percentile (const bench_hist *h, double p);
/* Bucket of a value, and the smallest value of a bucket (for tests). */
unsigned bench_hist_bucket (uint64_t us);
uint64_t bench_hist_bucket_low (unsigned idx);

#endif
