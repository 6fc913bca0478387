/* duplex-bench results: latency samples, percentiles, reports. */
#include "loadgen/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
bench_result_init (bench_result *r)
{
  memset (r, 0, sizeof *r);
  r->server_cpu_ms = -1;
  r->bench_cpu_ms = -1;
}

void
bench_result_free (bench_result *r)
{
  free (r->lat_us);
  r->lat_us = NULL;
  r->n_lat = r->cap_lat = 0;
}

void
bench_result_add_latency (bench_result *r, uint64_t us)
{
  if (r->n_lat == r->cap_lat) {
    size_t cap = r->cap_lat ? r->cap_lat * 2 : 4096;
    uint32_t *p = realloc (r->lat_us, cap * sizeof *p);
    if (!p)
      return; /* a lost sample only thins the distribution */
    r->lat_us = p;
    r->cap_lat = cap;
  }
  r->lat_us[r->n_lat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t) us;
  r->lat_sorted = false;
}

static int
cmp_u32 (const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
  return x < y ? -1 : x > y;
}

double
bench_result_percentile (bench_result *r, double p)
{
  if (r->n_lat == 0)
    return 0;
  /* Sorting in place is fine: reports run after the measurement. */
  if (!r->lat_sorted) {
    qsort (r->lat_us, r->n_lat, sizeof *r->lat_us, cmp_u32);
    r->lat_sorted = true;
  }
  size_t i = (size_t) (p / 100.0 * (double) (r->n_lat - 1) + 0.5);
  if (i >= r->n_lat)
    i = r->n_lat - 1;
  return r->lat_us[i] / 1000.0;
}

static double
per_s (uint64_t n, double s)
{
  return s > 0 ? (double) n / s : 0;
}

static double
per_msg (double v, uint64_t delivered)
{
  return delivered ? v / (double) delivered : 0;
}

/* s as a JSON string (error texts may quote what a server said). */
static void
print_json_string (const char *s)
{
  putchar ('"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char) *s;
    if (ch == '"' || ch == '\\')
      printf ("\\%c", ch);
    else if (ch < 0x20)
      printf ("\\u%04x", ch);
    else
      putchar (ch);
  }
  putchar ('"');
}

void
bench_report_json (bench_result *r, const bench_opts *o)
{
  printf ("{\"target\":\"%s\",\"transport\":\"%s\",\"subscribers\":%u,\"ready\":%u,"
          "\"rate\":%g,\"duration_s\":%g,\"size\":%zu,"
          "\"sent\":%llu,\"delivered\":%llu,\"expected\":%llu,\"duplicates\":%llu,\"gaps\":%llu,"
          "\"reordered\":%llu,\"lost\":%llu,"
          "\"delivered_per_s\":%.1f,\"publish_s\":%.3f,\"deliver_s\":%.3f,\"total_s\":%.3f,"
          "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
          "\"http_requests\":%llu,\"empty_polls\":%llu,\"connections\":%llu,"
          "\"bytes_in\":%llu,\"bytes_out\":%llu,\"bytes_per_delivered\":%.1f,"
          "\"errors\":%llu",
          bench_target_name (r->target), bench_transport_name (r->transport), r->subscribers,
          r->ready, o->rate, o->duration, o->size, (unsigned long long) r->sent,
          (unsigned long long) r->delivered, (unsigned long long) (r->sent * r->subscribers),
          (unsigned long long) r->duplicates, (unsigned long long) r->gaps,
          (unsigned long long) r->reordered, (unsigned long long) r->lost,
          per_s (r->delivered, r->deliver_seconds), r->publish_seconds, r->deliver_seconds,
          r->total_seconds, bench_result_percentile (r, 50), bench_result_percentile (r, 90),
          bench_result_percentile (r, 99), bench_result_percentile (r, 100),
          (unsigned long long) r->http_requests, (unsigned long long) r->empty_polls,
          (unsigned long long) r->connections, (unsigned long long) r->bytes_in,
          (unsigned long long) r->bytes_out,
          per_msg ((double) (r->bytes_in + r->bytes_out), r->delivered),
          (unsigned long long) r->errors);
  if (r->server_cpu_ms >= 0)
    printf (",\"server_cpu_ms\":%.1f,\"server_cpu_us_per_delivered\":%.3f", r->server_cpu_ms,
            per_msg (r->server_cpu_ms * 1000.0, r->delivered));
  if (r->bench_cpu_ms >= 0)
    printf (",\"bench_cpu_ms\":%.1f,\"bench_cpu_us_per_delivered\":%.3f", r->bench_cpu_ms,
            per_msg (r->bench_cpu_ms * 1000.0, r->delivered));
  if (r->error[0]) {
    printf (",\"error\":");
    print_json_string (r->error);
  }
  printf ("}\n");
  fflush (stdout);
}

void
bench_report_table (bench_result *r, const bench_opts *o)
{
  printf ("duplex-bench: %s over %s, %u subscribers (%u ready), %g msg/s for %g s, %zu bytes\n",
          bench_target_name (r->target), bench_transport_name (r->transport), r->subscribers,
          r->ready, o->rate, o->duration, o->size);
  printf ("  sent          %llu\n", (unsigned long long) r->sent);
  printf ("  delivered     %llu of %llu (%llu duplicates, %llu gaps, %llu out of order)\n",
          (unsigned long long) r->delivered, (unsigned long long) (r->sent * r->subscribers),
          (unsigned long long) r->duplicates, (unsigned long long) r->gaps,
          (unsigned long long) r->reordered);
  if (r->lost)
    printf ("  lost          %llu (never arrived)\n", (unsigned long long) r->lost);
  printf ("  delivered/s   %.1f\n", per_s (r->delivered, r->deliver_seconds));
  printf ("  latency ms    p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
          bench_result_percentile (r, 50), bench_result_percentile (r, 90),
          bench_result_percentile (r, 99), bench_result_percentile (r, 100));
  printf ("  requests      %llu (%llu empty polls)\n", (unsigned long long) r->http_requests,
          (unsigned long long) r->empty_polls);
  printf ("  connections   %llu\n", (unsigned long long) r->connections);
  printf ("  bytes in/out  %llu / %llu (%.1f per delivered message)\n",
          (unsigned long long) r->bytes_in, (unsigned long long) r->bytes_out,
          per_msg ((double) (r->bytes_in + r->bytes_out), r->delivered));
  if (r->server_cpu_ms >= 0)
    printf ("  server CPU    %.1f ms (%.2f us per delivered message)\n", r->server_cpu_ms,
            per_msg (r->server_cpu_ms * 1000.0, r->delivered));
  if (r->bench_cpu_ms >= 0)
    printf ("  bench CPU     %.1f ms (%.2f us per delivered message)\n", r->bench_cpu_ms,
            per_msg (r->bench_cpu_ms * 1000.0, r->delivered));
  if (r->error[0])
    printf ("  error         %s\n", r->error);
}

void
bench_report_compare (bench_result *rs, size_t n, const bench_opts *o)
{
  if (o->json) {
    for (size_t i = 0; i < n; i++)
      bench_report_json (&rs[i], o);
    return;
  }
  printf ("duplex-bench --compare: %s, %u subscribers, %g msg/s for %g s, %zu bytes\n",
          bench_target_name (o->target), o->subscribers, o->rate, o->duration, o->size);
  printf ("%-10s %10s %10s %8s %8s %8s %9s %6s %10s %9s %9s\n", "transport", "delivered", "deliv/s",
          "p50 ms", "p99 ms", "max ms", "requests", "conns", "bytes/msg", "srv us/msg",
          "cli us/msg");
  for (size_t i = 0; i < n; i++) {
    bench_result *r = &rs[i];
    char cpu[32] = "-", self[32] = "-";
    if (r->server_cpu_ms >= 0)
      snprintf (cpu, sizeof cpu, "%.2f", per_msg (r->server_cpu_ms * 1000.0, r->delivered));
    if (r->bench_cpu_ms >= 0)
      snprintf (self, sizeof self, "%.2f", per_msg (r->bench_cpu_ms * 1000.0, r->delivered));
    printf ("%-10s %10llu %10.1f %8.2f %8.2f %8.2f %9llu %6llu %10.1f %10s %9s%s\n",
            bench_transport_name (r->transport), (unsigned long long) r->delivered,
            per_s (r->delivered, r->deliver_seconds), bench_result_percentile (r, 50),
            bench_result_percentile (r, 99), bench_result_percentile (r, 100),
            (unsigned long long) r->http_requests, (unsigned long long) r->connections,
            per_msg ((double) (r->bytes_in + r->bytes_out), r->delivered), cpu, self,
            r->error[0] ? "  (*)" : "");
  }
  for (size_t i = 0; i < n; i++)
    if (rs[i].error[0])
      printf ("(*) %s: %s\n", bench_transport_name (rs[i].transport), rs[i].error);
}

double
bench_process_cpu_ms (int pid)
{
#ifdef __linux__
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
