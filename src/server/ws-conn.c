#include "server/ws-conn.h"

#include "protocol/names.h"
#include "protocol/websocket.h"
#include "server/log.h"
#include "server/socket-client.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  dx_conn base; /* first */
  dx_socket_client client;
  dx_ws_decoder *dec;
  bool close_sent;
  bool ping_sent;
} ws_conn;

static void
ws_send_frame (ws_conn *wc, dx_ws_opcode op, const void *data, size_t len)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  if (dx_ws_encode_frame (&b, true, op, data, len, NULL))
    dx_conn_send_copy (&wc->base, b.data, b.len);
  dx_buffer_free (&b);
}

/* Sends a close frame (once) and closes after it is written. */
static void
ws_close (ws_conn *wc, unsigned code, const char *reason)
{
  if (!wc->close_sent && !wc->base.closing) {
    wc->close_sent = true;
    dx_buffer b;
    dx_buffer_init (&b, 0);
    if (dx_ws_encode_close (&b, code, reason, reason ? strlen (reason) : 0, NULL))
      dx_conn_send_copy (&wc->base, b.data, b.len);
    dx_buffer_free (&b);
  }
  dx_conn_close_after_write (&wc->base);
}

/* ---- the socket client's transport ---- */

static bool
ws_send_json (dx_socket_client *s, const char *json, size_t len)
{
  ws_conn *wc = (ws_conn *) s->conn;
  if (wc->close_sent)
    return false;
  ws_send_frame (wc, DX_WS_OP_TEXT, json, len);
  return !wc->base.closing;
}

static bool
ws_send_event (dx_socket_client *s, dx_shared_event *e, bool live)
{
  ws_conn *wc = (ws_conn *) s->conn;
  dx_shared_buf *sb = dx_shared_event_ws (e);
  if (wc->close_sent || sb == NULL)
    return false;
  return live ? dx_conn_send_live (&wc->base, sb) : dx_conn_send (&wc->base, sb);
}

static dx_shared_buf *
ws_frame (dx_socket_client *s, dx_shared_event *e)
{
  (void) s;
  return dx_shared_event_ws (e);
}

static void
ws_close_policy (dx_socket_client *s, const char *reason)
{
  ws_close ((ws_conn *) s->conn, DX_WS_CLOSE_POLICY, reason);
}

static const dx_socket_client_ops ws_client_ops = {
  ws_send_json,
  ws_send_event,
  ws_frame,
  ws_close_policy,
};

/* ---- conn ops ---- */

static void
ws_on_read (dx_conn *c, const char *data, size_t n)
{
  ws_conn *wc = (ws_conn *) c;
  wc->ping_sent = false;
  dx_conn_arm_timer (c, DX_WS_SILENCE_MS);
  while (n > 0 && !c->closing) {
    size_t used = 0;
    dx_ws_status st = dx_ws_decoder_feed (wc->dec, (const uint8_t *) data, n, &used);
    data += used;
    n -= used;
    const dx_ws_event *ev = dx_ws_decoder_event (wc->dec);
    switch (st) {
    case DX_WS_NEED_MORE: return;
    case DX_WS_MESSAGE:
      if (wc->close_sent)
        break;
      if (ev->opcode != DX_WS_OP_TEXT) {
        ws_close (wc, DX_WS_CLOSE_UNSUPPORTED_DATA, "binary messages are not supported");
        return;
      }
      dx_socket_client_handle (&wc->client, (const char *) ev->data, ev->len);
      break;
    case DX_WS_PING:
      if (!wc->close_sent)
        ws_send_frame (wc, DX_WS_OP_PONG, ev->data, ev->len);
      break;
    case DX_WS_PONG: break;
    case DX_WS_CLOSE: {
      unsigned code = ev->close_code;
      /* Echo the peer's code (RFC 6455 5.5.1); 1005 means "none". */
      if (code == DX_WS_CLOSE_NO_STATUS || !dx_ws_close_code_valid (code))
        code = DX_WS_CLOSE_NORMAL;
      ws_close (wc, code, NULL);
    }
      return;
    case DX_WS_ERROR:
      ws_close (wc, dx_ws_decoder_close_code (wc->dec), dx_ws_decoder_error_message (wc->dec));
      return;
    case DX_WS_FINISHED: return;
    }
  }
}

static void
ws_on_end (dx_conn *c, int status)
{
  if (status == DX_EOF)
    dx_socket_client_peer_eof (&((ws_conn *) c)->client);
  else
    dx_conn_close (c);
}

static void
ws_on_timer (dx_conn *c)
{
  ws_conn *wc = (ws_conn *) c;
  if (!wc->ping_sent) {
    wc->ping_sent = true;
    ws_send_frame (wc, DX_WS_OP_PING, "duplex", 6);
    dx_conn_arm_timer (c, DX_WS_SILENCE_MS);
    return;
  }
  ws_close (wc, DX_WS_CLOSE_GOING_AWAY, "silence timeout");
}

static void
ws_on_shutdown (dx_conn *c)
{
  ws_close ((ws_conn *) c, DX_WS_CLOSE_GOING_AWAY, "server shutting down");
}

static void
ws_on_closing (dx_conn *c)
{
  dx_socket_client_leave_all (&((ws_conn *) c)->client);
}

static void
ws_destroy (dx_conn *c)
{
  ws_conn *wc = (ws_conn *) c;
  dx_ws_decoder_free (wc->dec);
  free (wc);
}

static const dx_conn_ops ws_ops = {
  ws_on_read, ws_on_end, ws_on_timer, ws_on_shutdown, ws_on_closing, ws_destroy,
};

void
dx_ws_conn_accept (dx_conn *http, const char *rest, size_t len)
{
  ws_conn *wc = calloc (1, sizeof *wc);
  dx_ws_decoder *dec = wc ? dx_ws_decoder_new (DX_WS_ROLE_SERVER, DX_LINE_MAX) : NULL;
  if (dec == NULL) {
    free (wc);
    dx_conn_close (http);
    return;
  }
  wc->dec = dec;
  dx_conn_take_stream (&wc->base, &ws_ops, http, DX_TR_WEBSOCKET);
  dx_socket_client_init (&wc->client, &wc->base, &ws_client_ops, DX_TR_WEBSOCKET);
  dx_conn_start_reading (&wc->base);
  dx_conn_arm_timer (&wc->base, DX_WS_SILENCE_MS);
  if (len > 0)
    ws_on_read (&wc->base, rest, len);
}
