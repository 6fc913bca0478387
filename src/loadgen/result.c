/* duplex-bench results: latency samples, percentiles, reports. */
#include "loadgen/bench.h"

#include <stdio.h>
#include <string.h>

void
bench_result_init (bench_result *r)
{
  memset (r, 0, sizeof *r);
  r->server_cpu_ms = -1;
  r->bench_cpu_ms = -1;
  r->bench_wait_ms = -1;
  r->workers = 1;
  bench_hist_init (&r->lat);
}

void
bench_result_add_latency (bench_result *r, uint64_t us)
{
  bench_hist_add (&r->lat, us);
}

void
bench_result_merge (bench_result *r, const bench_result *part)
{
  r->ready += part->ready;
  r->delivered += part->delivered;
  r->duplicates += part->duplicates;
  r->gaps += part->gaps;
  r->reordered += part->reordered;
  r->lost += part->lost;
  r->http_requests += part->http_requests;
  r->empty_polls += part->empty_polls;
  r->connections += part->connections;
  r->bytes_in += part->bytes_in;
  r->bytes_out += part->bytes_out;
  r->errors += part->errors;
  bench_hist_merge (&r->lat, &part->lat);
  if (!r->error[0] && part->error[0])
    memcpy (r->error, part->error, sizeof r->error);
}

double
bench_result_percentile (const bench_result *r, double p)
{
  return bench_hist_percentile (&r->lat, p) / 1000.0;
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

/* The generator's CPU over the cores it had during the span. */
static double
cpu_share (const bench_result *r)
{
  double avail = r->bench_span_s * 1000.0 * (r->bench_cores ? r->bench_cores : 1);
  return avail > 0 && r->bench_cpu_ms >= 0 ? r->bench_cpu_ms / avail : 0;
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
bench_report_json (const bench_result *r, const bench_opts *o)
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
  printf (",\"latency_samples\":%llu", (unsigned long long) r->lat.count);
  printf (",\"offered\":%llu,\"refused\":%llu,\"deferred\":%llu,\"workers\":%u,"
          "\"bench_cores\":%u",
          (unsigned long long) r->offered, (unsigned long long) r->refused,
          (unsigned long long) r->deferred, r->workers, r->bench_cores);
  if (r->bench_cpu_ms >= 0)
    printf (",\"bench_cpu_ms\":%.1f,\"bench_cpu_us_per_delivered\":%.3f,"
            "\"bench_cpu_share\":%.3f,\"bench_busiest\":%.3f,\"bench_saturated\":%s",
            r->bench_cpu_ms, per_msg (r->bench_cpu_ms * 1000.0, r->delivered), cpu_share (r),
            r->bench_busiest, r->bench_saturated ? "true" : "false");
  if (r->bench_wait_ms >= 0)
    printf (",\"bench_wait_ms\":%.1f", r->bench_wait_ms);
  if (r->error[0]) {
    printf (",\"error\":");
    print_json_string (r->error);
  }
  printf ("}\n");
  fflush (stdout);
}

void
bench_report_table (const bench_result *r, const bench_opts *o)
{
  printf ("duplex-bench: %s over %s, %u subscribers (%u ready), %g msg/s for %g s, %zu bytes\n",
          bench_target_name (r->target), bench_transport_name (r->transport), r->subscribers,
          r->ready, o->rate, o->duration, o->size);
  printf ("  sent          %llu accepted of %llu offered", (unsigned long long) r->sent,
          (unsigned long long) r->offered);
  if (r->refused || r->deferred)
    printf (" (%llu refused by the server, %llu held back while it said wait)",
            (unsigned long long) r->refused, (unsigned long long) r->deferred);
  printf ("\n");
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
  if (r->bench_cpu_ms >= 0) {
    printf ("  bench CPU     %.1f ms (%.2f us per delivered message; %u worker%s, %.0f %% of "
            "%u core%s)\n",
            r->bench_cpu_ms, per_msg (r->bench_cpu_ms * 1000.0, r->delivered), r->workers,
            r->workers == 1 ? "" : "s", 100 * cpu_share (r), r->bench_cores,
            r->bench_cores == 1 ? "" : "s");
    if (r->bench_saturated)
      printf ("  SATURATED     duplex-bench itself was the limit (its busiest process was busy "
              "%.0f %% of the time): these figures are a floor for the server, not its "
              "capacity\n",
              100 * r->bench_busiest);
  }
  if (r->error[0])
    printf ("  error         %s\n", r->error);
}

void
bench_report_compare (const bench_result *rs, size_t n, const bench_opts *o)
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
    const bench_result *r = &rs[i];
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
            r->error[0]          ? "  (*)"
            : r->bench_saturated ? "  (sat)"
                                 : "");
  }
  for (size_t i = 0; i < n; i++)
    if (rs[i].bench_saturated)
      printf ("(sat) %s: duplex-bench itself was saturated: a floor for the server\n",
              bench_transport_name (rs[i].transport));
  for (size_t i = 0; i < n; i++)
    if (rs[i].error[0])
      printf ("(*) %s: %s\n", bench_transport_name (rs[i].transport), rs[i].error);
}
