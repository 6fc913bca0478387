/* The socket protocol of PROTOCOL.md §5, shared by WebSocket and raw TCP:
 * hello/welcome, join/joined + replay, leave/left, send/ack + fan-out,
 * ping/pong, errors (the 11th closes). The transport frames the bytes. */
#ifndef DX_SERVER_SESSION_H
#define DX_SERVER_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/names.h"
#include "server/conn.h"
#include "server/encoded.h"
#include "server/room.h"
#include "server/token.h"

/* Errors a connection may get; the next one (the 11th) closes it. */
#define DX_SESSION_MAX_ERRORS 10

typedef struct dx_session dx_session;
typedef struct dx_membership dx_membership;

typedef struct {
  /* Frame one JSON object (no newline) and queue it. */
  bool (*send_json) (dx_session *s, const char *json, size_t len);
  /* Queue a shared event in this transport's format; live: fan-out
   * (backpressure applies), else replay/answers. */
  bool (*send_encoded) (dx_session *s, dx_encoded *e, bool live);
  /* This transport's framing of e (NDJSON line / WebSocket text frame),
   * owned by e. */
  dx_shared_buf *(*frame) (dx_session *s, dx_encoded *e);
  /* Close for a policy reason (too many errors, bad password):
   * WebSocket 1008, TCP close after the error line. */
  void (*close_policy) (dx_session *s, const char *reason);
} dx_session_ops;

struct dx_session {
  dx_conn_ctx *ctx;
  dx_conn *conn;
  const dx_session_ops *ops;
  dx_transport tr;
  bool authed;
  char nick[DX_NICK_MAX + 1];
  char token[DX_TOKEN_MAX + 1];
  unsigned errors;
  unsigned pending; /* sends waiting for the store's commit */
  bool peer_eof;    /* the client shut its side: finish, then close */
  dx_membership *members;
};

void dx_session_init (dx_session *s, dx_conn *conn, const dx_session_ops *ops, dx_transport tr);
/* One complete JSON text from the client (line or text message). */
void dx_session_handle (dx_session *s, const char *json, size_t len);
/* Sends an error event and counts it; the 11th closes (policy). */
void dx_session_error (dx_session *s, const char *code, const char *message);
/* The client half-closed: close once every pending send is answered. */
void dx_session_peer_eof (dx_session *s);
/* Leaves every room (presence leave); call when the connection closes. */
void dx_session_leave_all (dx_session *s);

#endif
