/* The part every client connection shares (HTTP, WebSocket, raw TCP): the
 * stream, one timer, the read buffer, output with backpressure, metrics,
 * the server's connection list, and a two-step asynchronous close.
 *
 * Ownership: the owning object embeds dx_conn as its FIRST member. The
 * object is destroyed (ops->destroy) once the stream and the timer have
 * reported their close AND no pending operation holds a reference (a store
 * append keeps the connection alive until its callback has run). An
 * HTTP connection that upgrades to WebSocket hands its stream over to a
 * new owner with dx_conn_take_stream. */
#ifndef DX_SERVER_CONN_H
#define DX_SERVER_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/loop.h"
#include "server/config.h"
#include "server/limiter.h"
#include "server/metrics.h"
#include "server/poster.h"
#include "server/shared-buf.h"
#include "server/tcp-watch.h"
#include "tls/tls.h"
#include "server/transport.h"

typedef struct dx_conn dx_conn;
typedef struct dx_hub dx_hub;

/* Output bounds per connection (bytes queued and not yet in the kernel).
 * A live subscriber is disconnected (it resumes with since) when its queue
 * is over DX_CONN_OUT_LIMIT, or has stayed over DX_CONN_OUT_SOFT for
 * DX_CONN_OUT_SOFT_MS: a burst (one group commit can carry thousands of
 * messages) is absorbed, a reader that does not keep up is not. The bytes
 * themselves are shared between subscribers; the bound is per queue. */
#define DX_CONN_OUT_LIMIT (8u * 1024u * 1024u)
#define DX_CONN_OUT_SOFT (1024u * 1024u)
#define DX_CONN_OUT_SOFT_MS 5000u

/* What a connection may use of the server, and nothing else. The server
 * owns it (and fills it before it accepts). */
typedef struct {
  dx_loop *loop;
  const dx_config *cfg; /* the password and the configured limits */
  dx_hub *hub;
  dx_poster *poster; /* posting, tokens; poster->store for reads (NULL once closed) */
  dx_metrics *metrics;
  dx_limiter *limits; /* docs/protocol.md §9 */
  /* For GET /api/v1/info and the welcome. */
  const char *server_name; /* "duplexd/<version>" */
  const char *epoch;       /* the store's */
  const char *node_id;     /* --redis: this node's name (docs/protocol.md §7); else NULL */
  int tcp_port;
  int udp_port;            /* --udp's bound port; 0 when off */
  dx_tcp_watch *tcp_watch; /* the listeners' TCP states; NULL if not watched */
  dx_tls_ctx *tls_ctx;     /* --tls-cert: every stream speaks TLS; NULL: plain */
  bool shutting_down;
  /* Every open connection (kept by conn.c, walked at shutdown). */
  dx_conn *conns;
  size_t n_conns;
} dx_conn_ctx;

typedef struct {
  /* Bytes arrived (n > 0). */
  void (*on_read) (dx_conn *c, const char *data, size_t n);
  /* DX_EOF or an error: the peer is gone (the conn is still open). */
  void (*on_end) (dx_conn *c, int status);
  /* The conn's timer fired. */
  void (*on_timer) (dx_conn *c);
  /* The server is stopping: say goodbye and close. */
  void (*on_shutdown) (dx_conn *c);
  /* dx_conn_close started: drop subscriptions (called once). */
  void (*on_closing) (dx_conn *c);
  /* Free the owner (last call). */
  void (*destroy) (dx_conn *c);
} dx_conn_ops;

/* A connection without a stream (a UDP session, udp-session.c) gets what
 * dx_conn_send_notify is given (a paced replay's batches) through its
 * sink, which calls done(arg, status) once, as the stream's write would. */
typedef bool (*dx_conn_sink_fn) (dx_conn *c, dx_shared_buf *sb,
                                 void (*done) (void *arg, int status), void *arg);

struct dx_conn {
  dx_conn_ctx *ctx;
  const dx_conn_ops *ops;
  dx_stream *stream;
  dx_conn_sink_fn sink; /* set instead of stream (dx_conn_init_sink) */
  dx_timer *timer;
  dx_tls *tls;             /* the stream's TLS filter (conn-tls.c); NULL: plain */
  uint64_t owner_timer_at; /* during the TLS handshake: the owner's timer (loop ms), 0 none */
  dx_transport tr;
  dx_conn *prev, *next;
  unsigned refs;
  uint64_t over_soft_since; /* loop ms when the queue went over the soft bound; 0 if under */
  bool closing;             /* dx_conn_close called */
  bool lingering;           /* write side shut, waiting for the peer's EOF */
  bool reading;
  bool read_ended; /* EOF or a read error was seen: never read again */
  bool stream_done, timer_done;
  /* --max-conns-per-ip (docs/protocol.md §9): the peer's IP while this
   * conn is counted on it; over_ip_cap: accepted over the cap, to close. */
  char peer_ip[48]; /* the client's IP: the peer's, or what a trusted proxy said */
  bool ip_counted;
  bool over_ip_cap;
  bool via_proxy; /* the peer is a --trusted-proxy */
};

/* Takes ownership of stream; counts an accepted connection of tr. */
void dx_conn_init (dx_conn *c, dx_conn_ctx *ctx, const dx_conn_ops *ops, dx_stream *stream,
                   dx_transport tr);
/* A connection with no stream (a UDP session): output goes to the
 * owner's transport ops and, for dx_conn_send_notify, to sink. Counts an
 * accepted connection of tr; closing it closes only its timer. */
void dx_conn_init_sink (dx_conn *c, dx_conn_ctx *ctx, const dx_conn_ops *ops, dx_conn_sink_fn sink,
                        dx_transport tr);
/* Hands from's stream (and registration) to the fresh to (ops set by the
 * caller); from is then closed without touching the stream. */
void dx_conn_take_stream (dx_conn *to, const dx_conn_ops *ops, dx_conn *from, dx_transport tr);
/* A trusted proxy named the client (docs/protocol.md §9): from now on the
 * conn counts as ip. false if that IP is over --max-conns-per-ip. */
bool dx_conn_set_client_ip (dx_conn *c, const char *ip);
void dx_conn_start_reading (dx_conn *c);
void dx_conn_stop_reading (dx_conn *c);
/* Moves the open-count from the current transport to tr. */
void dx_conn_set_transport (dx_conn *c, dx_transport tr);

/* Queues sb (shared, not copied). false when the conn is closing, or when
 * the write failed (the conn is then closed). No output bound here. */
bool dx_conn_send (dx_conn *c, dx_shared_buf *sb);
/* Same, copying data. */
bool dx_conn_send_copy (dx_conn *c, const void *data, size_t len);
/* For live fan-out: like dx_conn_send, but a slow consumer (see
 * DX_CONN_OUT_LIMIT above) is closed instead. */
bool dx_conn_send_live (dx_conn *c, dx_shared_buf *sb);

/* Like dx_conn_send, and done(arg, status) runs once when the write has
 * completed (status < 0: failed or cancelled). Not called if this returns
 * false. Lets a producer pace itself on the peer's reading speed. */
bool dx_conn_send_notify (dx_conn *c, dx_shared_buf *sb, void (*done) (void *arg, int status),
                          void *arg);

/* (Re)arms the conn's single timer; 0 stops it. */
void dx_conn_arm_timer (dx_conn *c, uint64_t ms);

/* Closes at once (queued output is dropped). Idempotent. */
void dx_conn_close (dx_conn *c);
/* Closes after queued output: shut the write side, then wait up to 2 s
 * for the peer to close (so a client still sending does not get a RST
 * that destroys the answer it has not read yet). */
void dx_conn_close_after_write (dx_conn *c);

void dx_conn_ref (dx_conn *c);
void dx_conn_unref (dx_conn *c);

/* Shutdown support: calls ops->on_shutdown on every connection not
 * already closing; close_all closes every connection at once. */
void dx_conn_shutdown_all (dx_conn_ctx *ctx);
void dx_conn_close_all (dx_conn_ctx *ctx);

#endif
