/* duplex-bench internals shared by run.c (one run: phases, connections),
 * publisher.c, sub-http.c (poll, long poll, SSE), sub-socket.c
 * (WebSocket, raw TCP), sub-udp.c and workers.c (several processes). */
#ifndef DX_BENCH_RUN_PRIVATE_H
#define DX_BENCH_RUN_PRIVATE_H

#include "loadgen/bench.h"

#include "protocol/chunked.h"
#include "protocol/http.h"
#include "protocol/names.h"
#include "protocol/ndjson.h"
#include "protocol/sse.h"
#include "protocol/websocket.h"

/* One read takes up to this much: under load a subscriber socket holds
 * many messages, and one recv for all of them is the cheapest way in. */
#define BENCH_READ_SIZE (256 * 1024)
#define BENCH_CONNECT_TIMEOUT_MS 60000
#define BENCH_NCHAN_PUBLISHERS 8

typedef struct run run;
typedef struct conn conn;
typedef struct bench_shared bench_shared; /* workers.c */

typedef enum {
  ROLE_INFO, /* GET /api/v1/info: finds duplexd's raw TCP port */
  ROLE_SUBSCRIBER,
  ROLE_PUBLISHER,
} conn_role;

struct conn {
  run *R;
  conn_role role;
  bench_transport tr;
  unsigned idx;
  dx_stream *s;
  struct dx_tls *tls; /* --url https://: the stream's TLS filter */
  dx_timer *timer;    /* poll interval, retry */
  bool connected;
  bool ready;    /* subscribed: the publisher may start */
  bool upgraded; /* WebSocket handshake done / SSE headers received */
  bool busy;     /* an HTTP request is outstanding */
  bool dead;
  uint64_t next_seq;          /* next sequence number expected */
  uint64_t missing;           /* bit i: seq next_seq-1-i skipped, may still come */
  uint64_t delivered;         /* messages this subscriber received */
  uint64_t since;             /* duplexd: last message id seen */
  char etag[96], lastmod[96]; /* nchan long-poll position */
  dx_http_parser *http;
  bool chunked;
  dx_chunked_decoder chunk;
  dx_buffer decoded;
  dx_sse_parser *sse;
  dx_ws_decoder *ws;
  char ws_accept[DX_WS_ACCEPT_LEN + 1];
  dx_ndjson nd;
  bool nd_init;
  dx_udp *udp;     /* UDP subscriber: its socket */
  char cookie[65]; /* from the welcome ("" until then) */
};

typedef enum { PHASE_INFO, PHASE_CONNECT, PHASE_PUBLISH, PHASE_DRAIN, PHASE_DONE } run_phase;

struct run {
  const bench_opts *o;
  bench_result *r;
  dx_loop *loop;
  struct dx_tls_ctx *tls_ctx; /* --url https:// */
  run_phase phase;
  /* --workers: the block shared by the processes of a run; NULL in a run
   * of one process. wid: this worker's index, -1 in the publisher (the
   * parent). The subscribers of this process: n_subs of them. */
  bench_shared *sh;
  int wid;
  unsigned n_subs;
  dx_timer *sync;   /* workers: polls the shared block */
  bool reported_in; /* a worker: its subscribers' count is in the block */
  bool drain_timed_out;
  char room[48];
  int tcp_port;
  conn *subs;
  unsigned n_started;
  unsigned n_failed;       /* subscribers lost before they were ready */
  unsigned n_lost;         /* ready subscribers lost afterwards */
  uint64_t lost_delivered; /* what the lost ones had received */
  conn *info;
  conn *pubs[BENCH_NCHAN_PUBLISHERS];
  unsigned n_pubs;
  uint64_t total;    /* messages due: rate x duration */
  uint64_t due_done; /* due messages sent or deferred */
  uint64_t seq_sent; /* published (written); the last sequence number */
  uint64_t acked;
  uint64_t refused;        /* answered with a refusal */
  uint64_t deferred;       /* due while the server said wait: not sent */
  uint64_t pause_until_us; /* retry_after: no send before this */
  uint64_t t_start_us, t_last_send_us, t_last_deliver_us, t_drain_us;
  dx_timer *tick, *deadline;
  double cpu_before, self_cpu_before, self_wait_before;
  uint64_t rng;
  /* One read buffer for every connection: on the loop thread a read
   * callback consumes its buffer before the next alloc (see alloc_cb). */
  char *read_buf;
  bool read_buf_busy;
  /* UDP (sub-udp.c): the server's address, where subscribers bind, and
   * the token every subscriber's hello carries. */
  dx_addr udp_server;
  char udp_bind[64];
  char udp_token[DX_TOKEN_MAX + 1];
  bool udp_token_pending; /* POST /api/v1/session sent on the info conn */
};

/* run.c */
uint32_t bench_rng_next (run *R);
void bench_conn_start (run *R, conn *c);
void bench_conn_fail (conn *c, const char *why);
void bench_conn_write (conn *c, const void *data, size_t len);
/* Writes b (unless it failed) and frees it. */
void bench_conn_write_buffer (conn *c, dx_buffer *b);
/* Request line + Host + User-Agent into a fresh buffer. */
void bench_request_head (conn *c, dx_buffer *b, const char *method, const char *target);
/* A message text ("<seq> <sent_us> xxx...") reached subscriber c. */
void bench_deliver (conn *c, const char *text, size_t len);
/* Subscriber c is subscribed: once all are, the publisher starts. */
void bench_sub_ready (conn *c);
/* publisher.c: the subscribers are in (connect the publisher), or the
 * publisher is ready to post (start the clock and the ticks). */
void bench_publisher_start (run *R);
/* The run's deadline timer: connect, publish or drain time is over. */
void bench_deadline_fired (dx_timer *t);
/* Ends the run: closes every connection and stops the loop. */
void bench_run_finish (run *R);
/* Counts an acknowledged publication. */
void bench_acked (run *R);
/* Counts a refused publication; pause_ms > 0: the server's retry_after. */
void bench_refused (run *R, uint64_t pause_ms);
void bench_maybe_finish (run *R);
/* Every publication answered (accepted or refused) once the last is due. */
bool bench_publisher_done (const run *R);
/* duplexd's JSON event on a subscriber: a chat message is delivered
 * without a full parse (its "text" found by its place); false if it is
 * something else. */
bool bench_deliver_event (conn *c, const char *json, size_t len);
/* The counters of the drain's end when deliveries are missing. */
void bench_drain_error (bench_result *r, uint64_t acked, uint64_t sent);
/* One process's part of a run: the publisher (wid -1) and/or n
 * subscribers. sh NULL: the whole run in this process. */
int bench_run_part (const bench_opts *o, bench_result *r, bench_shared *sh, int wid, unsigned n,
                    const char *room);

/* sub-http.c: poll, long poll, SSE (and nchan's flavours of them). */
void bench_http_sub_request (conn *c);
void bench_http_poll_answer (conn *c, const dx_http_message *m);
void bench_sse_begin (conn *c);
void bench_sse_headers (conn *c, const dx_http_message *m);
void bench_sse_feed (conn *c, const char *data, size_t len);

/* sub-socket.c: WebSocket and raw TCP (and duplexd's socket protocol). */
void bench_ws_begin (conn *c);
void bench_ws_upgraded (conn *c, const dx_http_message *resp);
void bench_ws_feed (conn *c, const char *data, size_t len);
void bench_ws_send_text (conn *c, const char *text, size_t len);
void bench_tcp_feed (conn *c, const char *data, size_t len);
/* hello (+ join for a subscriber) on a duplexd socket. */
void bench_duplexd_hello (conn *c);
/* A JSON document (send) on a duplexd socket; frees json. */
void bench_socket_send_json (conn *c, dx_buffer *json);

/* sub-udp.c: UDP subscribers (duplexd --udp). */
/* "udp_port" of /api/v1/info; 0 when absent. */
int bench_udp_parse_port (const char *json, size_t len);
/* Binds the subscriber's socket and says hello (retried until joined). */
void bench_udp_begin (conn *c);
/* Deliveries the subscribers still connected never got. */
uint64_t bench_udp_lost (const run *R);
/* UDP: what is lost never comes, so the drain is over once nothing has
 * arrived for BENCH_UDP_QUIET_MS. */
#define BENCH_UDP_QUIET_MS 1000
bool bench_udp_quiet (const run *R);

/* workers.c: the processes of a run (--workers N, N > 1). They look at
 * the shared block every BENCH_SYNC_MS. */
#define BENCH_SYNC_MS 10
int bench_run_workers (const bench_opts *o, bench_result *r, unsigned n, const char *room);
/* The sync timer of a process of a run with workers. */
void bench_worker_sync (dx_timer *t);
/* A worker: its subscribers are all in (or failed). */
void bench_worker_report_in (run *R);
/* The publisher: its progress (start time, acknowledgements) into the
 * block; every publication answered. */
void bench_worker_share (run *R);
void bench_worker_drain (run *R);
/* The process's part is over: a worker leaves its figures in the block,
 * the publisher tells the workers to stop. */
void bench_worker_finish (run *R);

#endif
