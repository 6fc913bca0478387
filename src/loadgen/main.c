/* duplex-bench: see bench.h and docs/benchmarks.md. */
#include "loadgen/bench.h"

#include <stdio.h>

int
main (int argc, char **argv)
{
  bench_opts o;
  int rc = bench_parse_args (&o, argc, argv);
  if (rc >= 0)
    return rc;

  if (!o.compare) {
    bench_result r;
    bench_result_init (&r);
    rc = bench_run (&o, &r);
    if (o.json)
      bench_report_json (&r, &o);
    else
      bench_report_table (&r, &o);
    return rc ? 1 : 0;
  }

  /* The same workload on every transport the target speaks. */
  bench_result rs[BENCH_N_TRANSPORTS];
  size_t n = 0;
  int failures = 0;
  for (int t = 0; t < BENCH_UDP; t++) { /* UDP loses by design: run it alone */
    if (o.target == BENCH_NODEWS && t != BENCH_WEBSOCKET)
      continue;
    if (o.target == BENCH_NCHAN && (t == BENCH_TCP || t == BENCH_POLL))
      continue;
    o.transport = (bench_transport) t;
    bench_result_init (&rs[n]);
    if (!o.json)
      fprintf (stderr, "duplex-bench: running %s...\n", bench_transport_name (o.transport));
    failures += bench_run (&o, &rs[n]) != 0;
    n++;
  }
  bench_report_compare (rs, n, &o);
  return failures ? 1 : 0;
}
