/* duplex-bench: a load generator for every Duplex transport (and for the
 * peers it is compared with: nginx + nchan, a Node "ws" broadcast server).
 *
 * One run: N subscribers on one fresh room/channel, one publisher posting
 * R messages a second for S seconds; then it waits for stragglers and
 * reports delivery, publish-to-receive latency, requests and bytes.
 * Each process runs one dx_loop (src/platform) and speaks through the
 * protocol module's codecs (src/protocol); with --workers N the
 * subscribers are spread over N worker processes (workers.c) whose
 * counters and latency histograms are merged. */
#ifndef DX_BENCH_H
#define DX_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loadgen/histogram.h"
#include "platform/loop.h"
#include "protocol/buffer.h"

typedef enum {
  BENCH_POLL,
  BENCH_LONGPOLL,
  BENCH_SSE,
  BENCH_WEBSOCKET,
  BENCH_TCP,
  BENCH_UDP, /* duplexd --udp only; not in --compare (it may lose by design) */
  BENCH_N_TRANSPORTS,
} bench_transport;

/* Which server is on the other end. */
typedef enum {
  BENCH_DUPLEXD,
  BENCH_NCHAN,  /* nginx + nchan: /sub/<ch> (ws, EventSource, long-poll), POST /pub/<ch> */
  BENCH_NODEWS, /* a ws broadcast server: every text frame is sent to every client */
} bench_target;

typedef struct {
  char host[128];
  char hostport[160]; /* "host:port" for dx_tcp_connect and Host: */
  int port;
  bool tls;            /* https:// or wss://: every TCP connection speaks TLS */
  const char *ca_file; /* --ca: verify the server against it; NULL: no verification */
  bench_target target;
  bench_transport transport;
  bool compare;
  unsigned subscribers;
  double rate;             /* messages per second */
  double duration;         /* seconds of publishing */
  size_t size;             /* bytes of message text */
  unsigned poll_interval;  /* ms, short polling */
  unsigned longpoll_wait;  /* s */
  double drain;            /* seconds to wait for stragglers */
  unsigned connect_window; /* connects in flight at once */
  int server_pid;          /* for server CPU per message (Linux /proc) */
  double idle;             /* > 0: only hold the subscribers this long (memory per connection) */
  bool json;
  const char *room_prefix;
  unsigned workers; /* subscriber processes; 0: chosen at start (bench_default_workers) */
  unsigned window;  /* duplexd: most sends unacknowledged at once; 0: no limit */
  unsigned work_us; /* CPU to burn per delivered message (a client that does work) */
} bench_opts;

/* Parse argv; on error or --help prints to stderr/stdout and returns the
 * exit status to use (>= 0); returns -1 to go on. */
int bench_parse_args (bench_opts *o, int argc, char **argv);
const char *bench_transport_name (bench_transport t);
const char *bench_target_name (bench_target t);

/* ---- results ---- */

typedef struct {
  bench_transport transport;
  bench_target target;
  unsigned subscribers;
  unsigned ready;     /* subscribers that connected and subscribed */
  uint64_t offered;   /* messages due by the rate (rate x duration) */
  uint64_t sent;      /* publisher messages acknowledged (accepted) */
  uint64_t refused;   /* publishes the server refused (rate_limited, 429, 503...) */
  uint64_t deferred;  /* due but not sent: the server said wait (retry_after, a full
                         window, all nchan POSTs outstanding) */
  uint64_t delivered; /* in-order first receptions, all subscribers */
  uint64_t duplicates;
  uint64_t gaps;          /* messages never received (skipped, not late) */
  uint64_t reordered;     /* received after a later one (counted in delivered) */
  uint64_t lost;          /* deliveries that never came (UDP loses; elsewhere an error) */
  uint64_t http_requests; /* subscribers' HTTP requests (publisher excluded) */
  uint64_t empty_polls;
  uint64_t connections; /* TCP connections opened by subscribers */
  uint64_t bytes_in;    /* subscribers: bytes received, headers and framing included */
  uint64_t bytes_out;   /* subscribers: bytes sent */
  uint64_t errors;
  double publish_seconds; /* first send to last send */
  double total_seconds;   /* first send to the end of the run */
  double deliver_seconds; /* first send to the last delivery: delivered/s */
  double server_cpu_ms;   /* -1 if unknown; from the first send to the end */
  double bench_cpu_ms;    /* duplex-bench's own CPU time (every process), same span;
                             -1 if unknown */
  double bench_wait_ms;   /* time its processes were runnable but not running
                             (another process had the core); -1 if unknown */
  double bench_span_s;    /* wall time those two were measured over */
  unsigned workers;       /* subscriber processes */
  unsigned bench_cores;   /* CPUs duplex-bench could run on */
  double bench_busiest;   /* the busiest process's (CPU + wait) / span */
  bool bench_saturated;   /* the generator, not (only) the server, was the limit */
  bench_hist lat;         /* send -> receive of every delivered message */
  char error[256];        /* why the run is incomplete, "" if it is not */
} bench_result;

void bench_result_init (bench_result *r);
void bench_result_add_latency (bench_result *r, uint64_t us);
/* Adds the counters and samples of a worker's part to r. */
void bench_result_merge (bench_result *r, const bench_result *part);
/* p in [0,100]; milliseconds. */
double bench_result_percentile (const bench_result *r, double p);
void bench_report_json (const bench_result *r, const bench_opts *o);
void bench_report_table (const bench_result *r, const bench_opts *o);
void bench_report_compare (const bench_result *rs, size_t n, const bench_opts *o);

/* Run one workload (o->transport against o->target). 0, or non-zero if
 * the run could not be carried out in full (r->error says why: a refused
 * or lost connection, a server error, deliveries missing at the end of
 * the drain time). */
int bench_run (const bench_opts *o, bench_result *r);

/* CPU time in ms of process pid (0: this process), every thread: from
 * /proc/PID/task/TID/schedstat (ns), else /proc/PID/stat (user + system,
 * 10 ms ticks); -1 if unavailable. */
double bench_process_cpu_ms (int pid);
/* This process's CPU time (getrusage: user + system, microsecond
 * precision) in ms; -1 if unavailable. */
double bench_self_cpu_ms (void);
/* Time this process's thread waited on a run queue, in ms
 * (/proc/self/schedstat); -1 if unavailable. */
double bench_self_wait_ms (void);
/* Judges r->bench_* once every figure is in: sets bench_saturated when
 * the generator's busiest process was busy (CPU + run-queue wait) for at
 * least BENCH_SATURATED of the span, or all of them together used that
 * share of the cores they had. */
#define BENCH_SATURATED 0.9
void bench_judge_saturation (bench_result *r);

/* CPUs this process may run on (sched_getaffinity); 1 if unknown. */
unsigned bench_cpus_available (void);
/* Keeps this process (and the workers it starts) off the CPUs the server
 * (server_pid; 0: unknown) is pinned to, when it may run elsewhere, and
 * returns how many CPUs it may use: the default --workers. */
unsigned bench_take_cpus (int server_pid);

#endif
