/* duplex-bench: a load generator for every Duplex transport (and for the
 * peers it is compared with: nginx + nchan, a Node "ws" broadcast server).
 *
 * One run: N subscribers on one fresh room/channel, one publisher posting
 * R messages a second for S seconds; then it waits for stragglers and
 * reports delivery, publish-to-receive latency, requests and bytes.
 * Everything runs on one dx_loop (src/platform) and speaks through the
 * protocol module's codecs (src/protocol). */
#ifndef DX_BENCH_H
#define DX_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
  uint64_t sent;      /* publisher messages acknowledged */
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
  double bench_cpu_ms;    /* duplex-bench's own CPU time, same span; -1 if unknown */
  uint32_t *lat_us;       /* one sample per delivered message */
  size_t n_lat, cap_lat;
  bool lat_sorted;
  char error[256]; /* why the run is incomplete, "" if it is not */
} bench_result;

void bench_result_init (bench_result *r);
void bench_result_free (bench_result *r);
void bench_result_add_latency (bench_result *r, uint64_t us);
/* p in [0,100]; milliseconds. */
double bench_result_percentile (bench_result *r, double p);
void bench_report_json (bench_result *r, const bench_opts *o);
void bench_report_table (bench_result *r, const bench_opts *o);
void bench_report_compare (bench_result *rs, size_t n, const bench_opts *o);

/* Run one workload (o->transport against o->target). 0, or non-zero if
 * the run could not be carried out in full (r->error says why: a refused
 * or lost connection, a server error, deliveries missing at the end of
 * the drain time). */
int bench_run (const bench_opts *o, bench_result *r);

/* CPU time (user + system) in ms of process pid (0: this process) from
 * /proc/<pid>/stat; -1 if unavailable. */
double bench_process_cpu_ms (int pid);

#endif
