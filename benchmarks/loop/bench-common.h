/* Shared command line and reporting for the loop micro-benchmark. Both
 * implementations (ours and libuv) run the same workload with the same
 * buffer strategy, so the ratio measures the event loops.
 *
 *   loop-bench-X server                   listens on 127.0.0.1:0, prints the port
 *   loop-bench-X pingpong PORT SECS CONNS SIZE
 *   loop-bench-X throughput PORT SECS CONNS CHUNK
 *
 * pingpong: each connection sends SIZE bytes, waits for the echo, repeats;
 *   prints "pingpong <round trips per second>".
 * throughput: each connection keeps up to WINDOW bytes in flight in CHUNK
 *   writes; the server echoes; prints "throughput <MB/s echoed back>".
 * The first WARMUP_MS are not measured for the rate. Clients also print the
 * total count (warm-up included) and their CPU time; the server prints its
 * CPU time when SIGTERM stops it. CPU per operation is much less sensitive
 * to other load on the machine than the rate. */
#ifndef DX_BENCH_COMMON_H
#define DX_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum {
  BENCH_WARMUP_MS = 500,
  BENCH_READ_SIZE = 64 * 1024,
  BENCH_WINDOW = 1024 * 1024,
  BENCH_MAX_CONNS = 1000,
};

typedef struct {
  enum { MODE_SERVER, MODE_PINGPONG, MODE_THROUGHPUT } mode;
  int port;
  int seconds;
  int conns;
  size_t size;
} bench_args;

static inline int
bench_parse (int argc, char **argv, bench_args *a)
{
  memset (a, 0, sizeof *a);
  if (argc >= 2 && strcmp (argv[1], "server") == 0) {
    a->mode = MODE_SERVER;
    return 0;
  }
  if (argc != 6)
    goto usage;
  if (strcmp (argv[1], "pingpong") == 0)
    a->mode = MODE_PINGPONG;
  else if (strcmp (argv[1], "throughput") == 0)
    a->mode = MODE_THROUGHPUT;
  else
    goto usage;
  a->port = atoi (argv[2]);
  a->seconds = atoi (argv[3]);
  a->conns = atoi (argv[4]);
  a->size = (size_t) strtoul (argv[5], NULL, 10);
  if (a->port <= 0 || a->port > 65535 || a->seconds <= 0 || a->conns <= 0
      || a->conns > BENCH_MAX_CONNS || a->size == 0 || a->size > BENCH_WINDOW)
    goto usage;
  return 0;
usage:
  fprintf (stderr,
           "usage: %s server\n"
           "       %s pingpong PORT SECONDS CONNS SIZE\n"
           "       %s throughput PORT SECONDS CONNS CHUNK\n",
           argv[0], argv[0], argv[0]);
  return -1;
}

/* User + system CPU time of this process, in microseconds. */
static inline unsigned long long
bench_cpu_us (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (unsigned long long) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ull
         + (unsigned long long) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* "<mode> <rate> <total count> <cpu us>" */
static inline void
bench_report (const bench_args *a, unsigned long long count, double secs, unsigned long long total)
{
  if (a->mode == MODE_PINGPONG)
    printf ("pingpong %.0f %llu %llu\n", (double) count / secs, total, bench_cpu_us ());
  else
    printf ("throughput %.1f %llu %llu\n", (double) count / secs / 1e6, total, bench_cpu_us ());
  fflush (stdout);
}

static inline void
bench_server_report (void)
{
  printf ("cpu %llu\n", bench_cpu_us ());
  fflush (stdout);
}

#endif
