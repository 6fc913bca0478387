/* duplex-bench: CPU accounting — the server's and its own CPU time, the
 * time it waited for a core, the cores it may use, and whether it (rather
 * than the server) was the limit of a run. */
#include "loadgen/bench.h"

#include <stdio.h>
#include <string.h>

#ifndef _WIN32
#include <sys/resource.h>
#endif
#ifdef __linux__
#include <dirent.h>
#include <sched.h>
#endif

#ifdef __linux__
/* The run time of every thread of pid, from /proc/PID/task/TID/schedstat
 * (nanoseconds), in ms; -1 if unavailable. /proc/PID/stat counts in 10 ms
 * ticks, too coarse for a light-load run's few hundred ms. */
static double
threads_run_ms (int pid)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir (path);
  if (!d)
    return -1;
  double total = 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir (d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    char stat[96];
    snprintf (stat, sizeof stat, "/proc/%d/task/%.20s/schedstat", pid, e->d_name);
    FILE *f = fopen (stat, "r");
    unsigned long long run = 0;
    if (f && fscanf (f, "%llu", &run) == 1) {
      total += (double) run / 1e6;
      n++;
    }
    if (f)
      fclose (f);
  }
  closedir (d);
  return n ? total : -1;
}
#endif

double
bench_process_cpu_ms (int pid)
{
#ifdef __linux__
  double precise = pid ? threads_run_ms (pid) : -1;
  if (precise >= 0)
    return precise;
  char path[64], line[2048];
  if (pid)
    snprintf (path, sizeof path, "/proc/%d/stat", pid);
  else
    snprintf (path, sizeof path, "/proc/self/stat");
  FILE *f = fopen (path, "r");
  if (!f)
    return -1;
  size_t n = fread (line, 1, sizeof line - 1, f);
  fclose (f);
  line[n] = '\0';
  /* Fields after the ")" that closes comm: state is field 3; utime and
   * stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux). */
  char *p = strrchr (line, ')');
  if (!p)
    return -1;
  unsigned long long ut = 0, st = 0;
  if (sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  return (double) (ut + st) * 10.0;
#else
  (void) pid;
  return -1;
#endif
}

double
bench_self_cpu_ms (void)
{
#ifndef _WIN32
  /* getrusage, not /proc/self/stat: microseconds instead of 10 ms ticks,
   * which matters for the short spans of light-load runs. */
  struct rusage ru;
  if (getrusage (RUSAGE_SELF, &ru) != 0)
    return -1;
  return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0
         + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
#else
  return -1;
#endif
}

double
bench_self_wait_ms (void)
{
#ifdef __linux__
  /* "run time, run-queue wait, timeslices", both times in ns. Each
   * process of duplex-bench is one thread, so its main thread is all of
   * it. */
  FILE *f = fopen ("/proc/self/schedstat", "r");
  if (!f)
    return -1;
  unsigned long long run = 0, wait = 0;
  int n = fscanf (f, "%llu %llu", &run, &wait);
  fclose (f);
  return n == 2 ? (double) wait / 1e6 : -1;
#else
  return -1;
#endif
}

#ifdef __linux__
static bool
affinity_of (int pid, cpu_set_t *set)
{
  CPU_ZERO (set);
  return sched_getaffinity (pid, sizeof *set, set) == 0;
}
#endif

unsigned
bench_cpus_available (void)
{
#ifdef __linux__
  cpu_set_t set;
  if (affinity_of (0, &set) && CPU_COUNT (&set) > 0)
    return (unsigned) CPU_COUNT (&set);
#endif
  return 1;
}

unsigned
bench_take_cpus (int server_pid)
{
#ifdef __linux__
  cpu_set_t mine, server, free_cpus;
  if (!affinity_of (0, &mine) || CPU_COUNT (&mine) == 0)
    return 1;
  /* A server pinned to some of our CPUs gets them to itself: a worker
   * there would take cycles from what it measures. */
  if (server_pid && affinity_of (server_pid, &server)) {
    CPU_XOR (&free_cpus, &mine, &server);
    CPU_AND (&free_cpus, &free_cpus, &mine);
    if (CPU_COUNT (&free_cpus) > 0 && CPU_COUNT (&free_cpus) < CPU_COUNT (&mine)
        && sched_setaffinity (0, sizeof free_cpus, &free_cpus) == 0)
      return (unsigned) CPU_COUNT (&free_cpus);
  }
  return (unsigned) CPU_COUNT (&mine);
#else
  (void) server_pid;
  return 1;
#endif
}

void
bench_judge_saturation (bench_result *r)
{
  r->bench_saturated = false;
  if (r->bench_cpu_ms < 0 || r->bench_span_s <= 0)
    return;
  double avail = r->bench_span_s * 1000.0 * (r->bench_cores ? r->bench_cores : 1);
  r->bench_saturated =
      r->bench_busiest >= BENCH_SATURATED || r->bench_cpu_ms >= BENCH_SATURATED * avail;
}
