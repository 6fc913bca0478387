/* One connection on the HTTP port: HTTP/1.1 keep-alive and pipelining
 * (answered in order), the request limits and timeouts of
 * docs/protocol.md §4, and the framing of the answers. What a request
 * means is its handler's business (http-api.c). While a handler holds the
 * answer (a POST waiting for its commit, a long poll) no further request
 * is read; an event stream (sse-stream.c) takes the connection over for
 * good; a WebSocket upgrade hands the stream to ws-conn.c. */
#ifndef DX_SERVER_HTTP_CONN_H
#define DX_SERVER_HTTP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/loop.h"
#include "protocol/buffer.h"
#include "protocol/http.h"
#include "protocol/names.h"
#include "server/conn.h"
#include "server/replay.h"
#include "server/room.h"
#include "server/router.h"

/* Request timeouts (docs/protocol.md §4). */
#define DX_HTTP_HEADER_TIMEOUT_MS 10000
#define DX_HTTP_IDLE_TIMEOUT_MS 60000
#define DX_HTTP_BODY_TIMEOUT_MS 60000

typedef struct dx_http_conn dx_http_conn;

typedef enum {
  DX_HTTP_CONN_READING, /* parsing and answering requests */
  DX_HTTP_CONN_HELD,    /* a handler holds the answer */
  DX_HTTP_CONN_STREAM,  /* the connection is an event stream */
} dx_http_conn_state;

/* What a held answer or a stream does on the connection's events. */
typedef struct {
  /* The connection's timer fired (NULL: nothing). */
  void (*on_timer) (dx_http_conn *hc);
  /* The server is stopping (NULL: close after the queued output). */
  void (*on_shutdown) (dx_http_conn *hc);
  /* The connection is closing (NULL: nothing). */
  void (*on_closing) (dx_http_conn *hc);
} dx_http_hold_ops;

/* A complete request: answer it (dx_http_respond*) or hold it. */
typedef void (*dx_http_handler) (dx_http_conn *hc, const dx_http_message *req);

struct dx_http_conn {
  dx_conn base; /* first */
  dx_http_parser *parser;
  dx_buffer in; /* bytes read and not parsed yet */
  dx_http_handler handler;
  dx_http_conn_state state;
  const dx_http_hold_ops *hold; /* HELD or STREAM; may be NULL */
  bool keep_alive;
  bool http10;       /* the request said HTTP/1.0: persistence must be named */
  bool header_timer; /* the 10 s slow-headers timer is armed */
  bool peer_eof;     /* the client shut its side: answer, then close */
  bool head;         /* HEAD: the answer of GET without its body */
  dx_route route;    /* the request's route (set by the handler), for metrics */
  /* The held request's room subscription (long poll or event stream). */
  dx_sub sub;
  char room[DX_ROOM_MAX + 1];
  uint64_t since; /* long poll */
  size_t limit;   /* long poll */
  /* --redis: a read waiting for the room's view (http-api.c). */
  uint64_t before, wait_s;
  bool sse_chunked;
  dx_replay sse_replay; /* since / Last-Event-ID: stored events first */
};

/* Takes an accepted stream of the HTTP listener; complete requests go to
 * handler. */
void dx_http_conn_accept (dx_conn_ctx *ctx, dx_stream *stream, dx_http_handler handler);

/* Queues the answer to the current request (the CORS header is added; a
 * HEAD request gets the head only), counts it in the metrics under
 * hc->route, and closes after it unless the connection is kept alive. */
void dx_http_respond (dx_http_conn *hc, int status, const char *ctype, const dx_http_header *extra,
                      size_t n_extra, const char *body, size_t len);
/* Takes body (freed); a body that failed to encode becomes a 500. */
void dx_http_respond_json (dx_http_conn *hc, int status, dx_buffer *body);
/* {"error":{"code":..,"message":..}} (docs/protocol.md §4). */
void dx_http_respond_error (dx_http_conn *hc, int status, const char *code, const char *message);
void dx_http_respond_error_extra (dx_http_conn *hc, int status, const char *code,
                                  const char *message, const dx_http_header *extra, size_t n_extra);

/* HELD: the handler keeps the answer for later; STREAM: the connection
 * becomes an event stream and no request is read again; READING: the held
 * answer is being given, requests may be read again (call
 * dx_http_conn_serve once it is queued). ops (NULL for READING) say what
 * the hold does on the connection's events. */
void dx_http_conn_set_state (dx_http_conn *hc, dx_http_conn_state state,
                             const dx_http_hold_ops *ops);
/* Answers the requests already buffered, as long as none is held, then
 * reads on. */
void dx_http_conn_serve (dx_http_conn *hc);
#endif
