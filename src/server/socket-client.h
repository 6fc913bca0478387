/* One client of the socket protocol (docs/protocol.md §5), whether it
 * came over WebSocket or raw TCP: hello/welcome, join/joined + replay,
 * leave/left, send/ack + fan-out, ping/pong, errors (the 11th closes).
 * The transport (ws-conn.c, tcp-conn.c) frames the bytes. (Not to be
 * confused with POST /api/v1/session, which only issues a token.) */
#ifndef DX_SERVER_SOCKET_CLIENT_H
#define DX_SERVER_SOCKET_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/names.h"
#include "server/conn.h"
#include "server/room.h"
#include "server/shared-event.h"
#include "server/token.h"

/* Errors a connection may get; the next one (the 11th) closes it. */
#define DX_SOCKET_CLIENT_MAX_ERRORS 10

typedef struct dx_socket_client dx_socket_client;
typedef struct dx_membership dx_membership;

typedef struct {
  /* Frame one JSON object (no newline) and queue it. */
  bool (*send_json) (dx_socket_client *s, const char *json, size_t len);
  /* Queue a shared event in this transport's format; live: fan-out
   * (backpressure applies), else replay/answers. */
  bool (*send_event) (dx_socket_client *s, dx_shared_event *e, bool live);
  /* This transport's framing of e (NDJSON line / WebSocket text frame),
   * owned by e. */
  dx_shared_buf *(*frame) (dx_socket_client *s, dx_shared_event *e);
  /* Close for a policy reason (too many errors, bad password):
   * WebSocket 1008, TCP close after the error line. */
  void (*close_policy) (dx_socket_client *s, const char *reason);
} dx_socket_client_ops;

struct dx_socket_client {
  dx_conn_ctx *ctx;
  dx_conn *conn;
  const dx_socket_client_ops *ops;
  dx_transport tr;
  bool authed;
  char nick[DX_NICK_MAX + 1];
  char token[DX_TOKEN_MAX + 1];
  unsigned errors;
  unsigned pending; /* sends waiting for the store's commit */
  bool peer_eof;    /* the client shut its side: finish, then close */
  dx_membership *members;
};

void dx_socket_client_init (dx_socket_client *s, dx_conn *conn, const dx_socket_client_ops *ops,
                            dx_transport tr);
/* One complete JSON text from the client (line or text message). */
void dx_socket_client_handle (dx_socket_client *s, const char *json, size_t len);
/* Sends an error event and counts it; the 11th closes (policy). */
void dx_socket_client_error (dx_socket_client *s, const char *code, const char *message);
/* The client half-closed: close once every pending send is answered. */
void dx_socket_client_peer_eof (dx_socket_client *s);
/* Leaves every room (presence leave); call when the connection closes. */
void dx_socket_client_leave_all (dx_socket_client *s);

#endif
