#include "server/http-conn.h"

#include "protocol/chunked.h"
#include "protocol/http.h"
#include "protocol/message.h"
#include "protocol/sse.h"
#include "protocol/websocket.h"
#include "server/conn.h"
#include "server/http-errors.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/replay.h"
#include "server/router.h"
#include "server/ws-conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pipelined input buffered while a request is in flight; past it the
 * connection stops reading until the answer is out. */
#define HTTP_IN_HIGH_WATER (128u * 1024u)

typedef enum {
  HC_READING,  /* parsing requests */
  HC_POSTING,  /* a POST waits for the store's commit */
  HC_LONGPOLL, /* a long poll is held */
  HC_SSE,      /* the connection is an event stream */
} hc_state;

typedef struct {
  dx_conn base; /* first */
  dx_http_parser *parser;
  dx_buffer in;
  hc_state state;
  bool keep_alive;
  bool header_timer;   /* the 10 s slow-headers timer is armed */
  bool peer_eof;       /* the client shut its side: answer, then close */
  bool head;           /* HEAD: the answer of GET without its body */
  dx_route route;
  /* long poll / SSE */
  dx_sub sub;
  char room[DX_ROOM_MAX + 1];
  uint64_t since;
  size_t limit;
  bool sse_chunked;
  dx_replay sse_replay; /* since / Last-Event-ID: stored events first */
} http_conn;

static void process (http_conn *hc);
static const dx_conn_ops http_ops;

/* ---- answers ---- */

static void
finish_answer (http_conn *hc, int status)
{
  dx_metrics_http_request (hc->base.ctx->metrics, hc->route, status);
  if (!hc->keep_alive || hc->peer_eof)
    dx_conn_close_after_write (&hc->base);
}

static void
respond (http_conn *hc, int status, const char *ctype, const dx_http_header *extra,
         size_t n_extra, const char *body, size_t len)
{
  if (hc->base.ctx->shutting_down)
    hc->keep_alive = false;
  /* Every answer may be read by a page of another origin (a browser
   * client opened from a file or another port): the API is public. */
  dx_http_header all[8];
  size_t n_all = 0;
  for (size_t i = 0; i < n_extra && n_all < 7; i++)
    all[n_all++] = extra[i];
  all[n_all].name = "Access-Control-Allow-Origin";
  all[n_all++].value = "*";
  dx_buffer out;
  dx_buffer_init (&out, 0);
  if (dx_http_write_response (&out, status, ctype, all, n_all,
                              hc->keep_alive, body, len))
    {
      if (hc->head && status >= 200 && status != 204 && status != 304)
        out.len -= len; /* same head (Content-Length included), no body */
      dx_shared_buf *sb = dx_shared_buf_from_buffer (&out);
      dx_conn_send (&hc->base, sb);
      dx_shared_buf_unref (sb);
    }
  else
    hc->keep_alive = false;
  dx_buffer_free (&out);
  finish_answer (hc, status);
}

static const char json_type[] = "application/json; charset=utf-8";

static void
respond_json (http_conn *hc, int status, dx_buffer *body)
{
  if (body->failed)
    {
      dx_buffer_reset (body);
      dx_encode_http_error (body, "internal_error", "the answer could not be encoded");
      status = 500;
    }
  respond (hc, status, json_type, NULL, 0, body->data ? body->data : "", body->len);
  dx_buffer_free (body);
}

static void
respond_error_extra (http_conn *hc, int status, const char *code, const char *msg,
                     const dx_http_header *extra, size_t n_extra)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_http_error (&b, code, msg);
  respond (hc, status, json_type, extra, n_extra, b.data ? b.data : "", b.len);
  dx_buffer_free (&b);
}

static void
respond_error (http_conn *hc, int status, const char *code, const char *msg)
{
  respond_error_extra (hc, status, code, msg, NULL, 0);
}

/* ---- poll answers ---- */

typedef struct {
  dx_buffer *b;
  size_t n;
  uint64_t last;
} poll_ctx;

static bool
poll_visit (void *arg, const dx_stored_msg *msg)
{
  poll_ctx *pc = arg;
  dx_chat_message cm = {
    .room = msg->room, .id = msg->id, .from = msg->from, .text = msg->text,
    .text_len = msg->text_len, .ts = msg->ts, .cid = msg->cid,
  };
  dx_buffer one;
  dx_buffer_init (&one, 0);
  if (dx_encode_message (&one, &cm))
    dx_encode_poll_answer_item (pc->b, pc->n++, one.data, one.len);
  dx_buffer_free (&one);
  pc->last = msg->id;
  return true;
}

/* 200 {"messages":[...],"last_id":M,"epoch":".."}; before == 0: since. */
static void
answer_poll (http_conn *hc, const char *room, uint64_t since, uint64_t before,
             size_t limit, dx_transport tr)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  poll_ctx pc = { &b, 0, 0 };
  dx_encode_poll_answer_begin (&b);
  int rc = before ? dx_store_read_before (ctx->poster->store, room, before, limit, poll_visit, &pc)
                  : dx_store_read_since (ctx->poster->store, room, since, limit, poll_visit, &pc);
  if (rc < 0)
    {
      dx_buffer_free (&b);
      respond_error (hc, 500, "internal_error", "the history could not be read");
      return;
    }
  dx_encode_poll_answer_end (&b, dx_store_last_id (ctx->poster->store, room), ctx->epoch);
  ctx->metrics->msgs_out[tr] += pc.n;
  respond_json (hc, 200, &b);
}

/* ---- long poll ---- */

static void
longpoll_end (http_conn *hc)
{
  if (hc->state != HC_LONGPOLL)
    return;
  dx_hub_unsubscribe (hc->base.ctx->hub, &hc->sub);
  hc->base.ctx->metrics->longpolls_waiting--;
  hc->base.ctx->metrics->conn_open[DX_TR_LONGPOLL]--;
  hc->state = HC_READING;
  dx_conn_timer (&hc->base, 0);
}

static void
longpoll_message (dx_sub *sub, dx_encoded *e)
{
  http_conn *hc = sub->owner;
  if (e->id < sub->next_id)
    return;
  longpoll_end (hc);
  answer_poll (hc, hc->room, hc->since, 0, hc->limit, DX_TR_LONGPOLL);
  process (hc);
}

static const dx_sub_ops longpoll_ops = { longpoll_message, NULL };

/* ---- SSE ---- */

static void
sse_send (http_conn *hc, dx_encoded *e, bool live)
{
  dx_shared_buf *sb = dx_encoded_sse (e, hc->sse_chunked);
  if (sb == NULL)
    return;
  if (live ? dx_conn_send_live (&hc->base, sb) : dx_conn_send (&hc->base, sb))
    if (e->id)
      hc->base.ctx->metrics->msgs_out[DX_TR_SSE]++;
}

static void
sse_replay_send (void *arg, dx_encoded *e)
{
  sse_send (arg, e, false);
}

static dx_shared_buf *
sse_frame (void *arg, dx_encoded *e)
{
  http_conn *hc = arg;
  return dx_encoded_sse (e, hc->sse_chunked);
}

static void
sse_message (dx_sub *sub, dx_encoded *e)
{
  http_conn *hc = sub->owner;
  if (hc->sse_replay.active || e->id < sub->next_id)
    return;
  if (e->id > sub->next_id)
    dx_replay_gap (&hc->base, hc->room, sub->next_id - 1, e->id - 1,
                   sse_replay_send, hc);
  sub->next_id = e->id + 1;
  sse_send (hc, e, true);
}

static void
sse_presence (dx_sub *sub, dx_encoded *e)
{
  sse_send (sub->owner, e, true);
}

static const dx_sub_ops sse_ops = { sse_message, sse_presence };

static void
sse_raw (http_conn *hc, const char *data, size_t len)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  bool ok = hc->sse_chunked ? dx_chunked_encode (&b, data, len)
                            : dx_buffer_append (&b, data, len);
  if (ok)
    dx_conn_send_copy (&hc->base, b.data, b.len);
  dx_buffer_free (&b);
}

static void
start_sse (http_conn *hc, const dx_http_message *req, const char *room)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  uint64_t since = 0;
  bool has_since = false;
  const char *leid = dx_http_message_header (req, "Last-Event-ID");
  dx_http_query_result qr = dx_http_query_get_u64 (req->query, "since", &since);
  if (qr == DX_HTTP_QUERY_INVALID)
    {
      respond_error (hc, 400, "bad_request", "since must be an unsigned integer");
      return;
    }
  has_since = qr == DX_HTTP_QUERY_FOUND;
  if (leid != NULL && *leid != '\0')
    {
      uint64_t v = 0;
      for (const char *p = leid; *p; p++)
        {
          if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            {
              respond_error (hc, 400, "bad_request",
                             "Last-Event-ID must be a message id");
              return;
            }
          v = v * 10 + (uint64_t) (*p - '0');
        }
      since = v;
      has_since = true;
    }

  /* Headers at once; the stream never ends by itself. */
  hc->sse_chunked = req->version_minor >= 1;
  hc->keep_alive = false;
  dx_buffer out;
  dx_buffer_init (&out, 0);
  dx_http_header extra[] = {
    { "Cache-Control", "no-cache" },
    { "X-Accel-Buffering", "no" },
    { "Access-Control-Allow-Origin", "*" },
  };
  if (hc->sse_chunked)
    dx_http_write_chunked_head (&out, 200, "text/event-stream", extra, 3, true);
  else
    {
      dx_http_write_status_line (&out, 200, NULL);
      dx_http_write_header (&out, "Content-Type", "text/event-stream");
      dx_http_write_header (&out, "Cache-Control", "no-cache");
      dx_http_write_header (&out, "Connection", "close");
      dx_http_write_end_headers (&out);
    }
  dx_conn_send_copy (&hc->base, out.data, out.len);
  dx_buffer_free (&out);
  dx_metrics_http_request (ctx->metrics, hc->route, 200);

  hc->state = HC_SSE;
  dx_conn_set_transport (&hc->base, DX_TR_SSE);
  snprintf (hc->room, sizeof hc->room, "%s", room);
  uint64_t last = dx_store_last_id (ctx->poster->store, room);
  memset (&hc->sub, 0, sizeof hc->sub);
  hc->sub.ops = &sse_ops;
  hc->sub.kind = DX_SUB_SSE;
  hc->sub.owner = hc;
  hc->sub.next_id = last + 1;
  if (!hc->base.closing && !dx_hub_subscribe (ctx->hub, &hc->sub, room))
    {
      dx_conn_close (&hc->base);
      return;
    }
  dx_replay_init (&hc->sse_replay, &hc->base, &hc->sub, sse_frame, hc);
  if (has_since && since < last)
    dx_replay_start (&hc->sse_replay, room, since);
  dx_conn_timer (&hc->base, DX_SSE_PING_MS);
}

static void
end_sse (http_conn *hc)
{
  if (hc->sse_chunked)
    dx_conn_send_copy (&hc->base, "0\r\n\r\n", 5);
  dx_conn_close_after_write (&hc->base);
}

/* ---- routes ---- */

static void
route_session (http_conn *hc, const dx_http_message *req)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  dx_session_request sr;
  dx_msg_error err;
  if (!dx_decode_session_request (req->body, req->body_len, &sr, &err))
    {
      /* A field over its limit is a bad request; 413 is for the body
       * (decided by the parser from Content-Length). */
      respond_error (hc, 400, "bad_request", err.message);
      return;
    }
  if (ctx->cfg->password
      && (!sr.has_password || strcmp (sr.password, ctx->cfg->password) != 0))
    {
      respond_error (hc, 401, "unauthorized",
                     sr.has_password ? "wrong password" : "this server needs a password");
      return;
    }
  char token[DX_TOKEN_MAX + 1];
  if (dx_poster_new_token (ctx->poster, sr.nick, token, sizeof token) < 0)
    {
      respond_error (hc, 500, "internal_error", "cannot create a token");
      return;
    }
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_session_answer (&b, token, sr.nick);
  respond_json (hc, 201, &b);
}

typedef struct {
  dx_room_info *v;
  size_t n, cap;
  dx_hub *hub;
  bool oom;
} rooms_ctx;

static bool
rooms_add (rooms_ctx *rc, const char *name, uint64_t last_id)
{
  if (rc->n == rc->cap)
    {
      size_t cap = rc->cap ? rc->cap * 2 : 16;
      dx_room_info *v = realloc (rc->v, cap * sizeof *v);
      if (v == NULL)
        return !(rc->oom = true);
      rc->v = v;
      rc->cap = cap;
    }
  char *copy = malloc (strlen (name) + 1);
  if (copy == NULL)
    return !(rc->oom = true);
  strcpy (copy, name);
  rc->v[rc->n].name = copy;
  rc->v[rc->n].last_id = last_id;
  rc->v[rc->n].online = dx_hub_online (rc->hub, name);
  rc->n++;
  return true;
}

static bool
rooms_store_visit (void *arg, const char *room, uint64_t last_id)
{
  return rooms_add (arg, room, last_id);
}

static bool
rooms_hub_visit (void *arg, const dx_room *room)
{
  rooms_ctx *rc = arg;
  if (room->online == 0)
    return true;
  for (size_t i = 0; i < rc->n; i++)
    if (strcmp (rc->v[i].name, room->name) == 0)
      return true;
  return rooms_add (rc, room->name, 0);
}

static int
cmp_room (const void *a, const void *b)
{
  return strcmp (((const dx_room_info *) a)->name, ((const dx_room_info *) b)->name);
}

static void
route_rooms (http_conn *hc)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  rooms_ctx rc = { NULL, 0, 0, ctx->hub, false };
  dx_store_rooms (ctx->poster->store, rooms_store_visit, &rc);
  dx_hub_each_room (ctx->hub, rooms_hub_visit, &rc);
  if (rc.n > 1)
    qsort (rc.v, rc.n, sizeof *rc.v, cmp_room);
  dx_buffer b;
  dx_buffer_init (&b, 0);
  if (rc.oom)
    b.failed = true;
  else
    dx_encode_rooms (&b, rc.v, rc.n);
  for (size_t i = 0; i < rc.n; i++)
    free ((char *) rc.v[i].name);
  free (rc.v);
  respond_json (hc, 200, &b);
}

static void
on_posted (void *arg, int status, const dx_stored_msg *msg, bool duplicate)
{
  http_conn *hc = arg;
  (void) duplicate;
  if (!hc->base.closing && hc->state == HC_POSTING)
    {
      hc->state = HC_READING;
      if (status < 0)
        respond_error (hc, 500, "internal_error", "the message could not be stored");
      else
        {
          dx_buffer b;
          dx_buffer_init (&b, 0);
          dx_encode_post_answer (&b, msg->id, msg->ts);
          respond_json (hc, 201, &b);
        }
      process (hc);
    }
  dx_conn_unref (&hc->base);
}

static void
route_post_message (http_conn *hc, const dx_http_message *req, const char *room)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  const char *auth = dx_http_message_header (req, "Authorization");
  const char *token = NULL;
  /* The scheme is case-insensitive (RFC 9110 11.1); one or more spaces. */
  if (auth && strlen (auth) > 7 && (auth[0] | 0x20) == 'b'
      && (auth[1] | 0x20) == 'e' && (auth[2] | 0x20) == 'a' && (auth[3] | 0x20) == 'r'
      && (auth[4] | 0x20) == 'e' && (auth[5] | 0x20) == 'r' && auth[6] == ' ')
    {
      token = auth + 7;
      while (*token == ' ')
        token++;
    }
  if (token == NULL || !dx_token_valid (token, strlen (token)))
    {
      dx_http_header h = { "WWW-Authenticate", "Bearer" };
      respond_error_extra (hc, 401, "unauthorized",
                           "an Authorization: Bearer <token> header is needed", &h, 1);
      return;
    }
  const char *nick_ptr = dx_poster_token_nick (ctx->poster, token);
  if (nick_ptr == NULL)
    {
      dx_http_header h = { "WWW-Authenticate", "Bearer" };
      respond_error_extra (hc, 401, "unauthorized", "unknown token", &h, 1);
      return;
    }
  char nick[DX_NICK_MAX + 1];
  snprintf (nick, sizeof nick, "%s", nick_ptr);
  dx_post_body *pb = malloc (sizeof *pb);
  if (pb == NULL)
    {
      respond_error (hc, 500, "internal_error", "out of memory");
      return;
    }
  dx_msg_error err;
  if (!dx_decode_post_body (req->body, req->body_len, pb, &err))
    {
      respond_error (hc, 400, "bad_request", err.message);
      free (pb);
      return;
    }
  dx_conn_ref (&hc->base);
  hc->state = HC_POSTING;
  int rc = dx_poster_post (ctx->poster, room, nick, token, pb->text, pb->text_len,
                           pb->has_cid ? pb->cid : NULL, DX_TR_HTTP, on_posted, hc);
  free (pb);
  if (rc < 0)
    {
      hc->state = HC_READING;
      dx_conn_unref (&hc->base);
      if (rc == DX_ECANCELED)
        respond_error (hc, 503, "shutting_down", "the server is shutting down");
      else if (rc == DX_EINVAL)
        respond_error (hc, 400, "bad_request", "the message was refused");
      else
        respond_error (hc, 500, "internal_error", "the message could not be stored");
    }
}

static bool
query_u64 (http_conn *hc, const dx_http_message *req, const char *key,
           uint64_t *v, bool *found)
{
  dx_http_query_result r = dx_http_query_get_u64 (req->query, key, v);
  if (r == DX_HTTP_QUERY_INVALID)
    {
      char msg[80];
      snprintf (msg, sizeof msg, "%s must be an unsigned integer", key);
      respond_error (hc, 400, "bad_request", msg);
      return false;
    }
  *found = r == DX_HTTP_QUERY_FOUND;
  return true;
}

static void
route_messages (http_conn *hc, const dx_http_message *req, const char *room)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  uint64_t since = 0, limit = 100, wait = 0, before = 0;
  bool has_since, has_limit, has_wait, has_before;
  if (!query_u64 (hc, req, "since", &since, &has_since)
      || !query_u64 (hc, req, "limit", &limit, &has_limit)
      || !query_u64 (hc, req, "wait", &wait, &has_wait)
      || !query_u64 (hc, req, "before", &before, &has_before))
    return;
  if (!has_limit)
    limit = 100;
  if (limit == 0)
    {
      respond_error (hc, 400, "bad_request", "limit must be at least 1");
      return;
    }
  if (limit > 1000)
    limit = 1000;
  if (has_wait && (wait < 1 || wait > 60))
    {
      respond_error (hc, 400, "bad_request", "wait must be 1 to 60 seconds");
      return;
    }
  if (has_before && (has_since || has_wait))
    {
      respond_error (hc, 400, "bad_request",
                     "before cannot be combined with since or wait");
      return;
    }
  if (has_before)
    {
      if (before == 0)
        before = 1; /* nothing is before id 1: an empty list */
      answer_poll (hc, room, 0, before, (size_t) limit, DX_TR_POLL);
      return;
    }
  if (!has_wait || hc->head || dx_store_last_id (ctx->poster->store, room) > since)
    {
      answer_poll (hc, room, since, 0, (size_t) limit,
                   has_wait ? DX_TR_LONGPOLL : DX_TR_POLL);
      return;
    }
  /* Hold the request as a subscriber of the room. */
  memset (&hc->sub, 0, sizeof hc->sub);
  hc->sub.ops = &longpoll_ops;
  hc->sub.kind = DX_SUB_LONGPOLL;
  hc->sub.owner = hc;
  hc->sub.next_id = since + 1;
  snprintf (hc->room, sizeof hc->room, "%s", room);
  hc->since = since;
  hc->limit = (size_t) limit;
  if (!dx_hub_subscribe (ctx->hub, &hc->sub, room))
    {
      respond_error (hc, 500, "internal_error", "out of memory");
      return;
    }
  hc->state = HC_LONGPOLL;
  ctx->metrics->longpolls_waiting++;
  ctx->metrics->conn_open[DX_TR_LONGPOLL]++;
  ctx->metrics->conn_accepted[DX_TR_LONGPOLL]++;
  dx_conn_timer (&hc->base, wait * 1000);
}

static void
route_ws (http_conn *hc, const dx_http_message *req)
{
  dx_ws_handshake hs;
  if (!dx_ws_server_handshake (req, &hs))
    {
      dx_http_header h = { hs.extra_header_name, hs.extra_header_value };
      hc->keep_alive = false;
      respond_error_extra (hc, hs.status, hs.code, hs.message, &h,
                           hs.extra_header_name ? 1 : 0);
      return;
    }
  dx_buffer out;
  dx_buffer_init (&out, 0);
  dx_ws_write_handshake_response (&out, &hs);
  dx_conn_send_copy (&hc->base, out.data, out.len);
  dx_buffer_free (&out);
  dx_metrics_http_request (hc->base.ctx->metrics, hc->route, 101);
  /* Bytes after the handshake already belong to the WebSocket. */
  dx_buffer rest = hc->in;
  dx_buffer_init (&hc->in, 0);
  dx_ws_conn_accept (&hc->base, rest.data, rest.len);
  dx_buffer_free (&rest);
}

static void
handle_request (http_conn *hc, const dx_http_message *req)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  dx_route_match rm;
  dx_router_match (req->method, req->path, &rm);
  hc->route = rm.route;
  hc->keep_alive = req->keep_alive;
  hc->head = req->method == DX_HTTP_HEAD;
  if (rm.status == 404)
    {
      respond_error (hc, 404, "not_found", "no such resource");
      return;
    }
  if (rm.status == 405 && req->method == DX_HTTP_OPTIONS)
    {
      /* CORS preflight (a browser POSTing JSON with a bearer token). */
      dx_http_header h[] = {
        { "Allow", rm.allow },
        { "Access-Control-Allow-Methods", rm.allow },
        { "Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID" },
        { "Access-Control-Max-Age", "600" },
      };
      respond (hc, 204, NULL, h, 4, NULL, 0);
      return;
    }
  if (rm.status == 405)
    {
      dx_http_header h = { "Allow", rm.allow };
      respond_error_extra (hc, 405, "method_not_allowed",
                           "this method is not allowed here", &h, 1);
      return;
    }
  if (rm.status == 400)
    {
      respond_error (hc, 400, "bad_request",
                     "room names are " DX_ROOM_RULE);
      return;
    }
  if (ctx->shutting_down || ctx->poster->store == NULL)
    {
      hc->keep_alive = false;
      respond_error (hc, 503, "shutting_down", "the server is shutting down");
      return;
    }
  switch (rm.route)
    {
    case DX_ROUTE_HEALTHZ:
      respond (hc, 200, "text/plain; charset=utf-8", NULL, 0, "ok", 2);
      break;
    case DX_ROUTE_TIME:
      {
        dx_buffer b;
        dx_buffer_init (&b, 0);
        dx_encode_time (&b, dx_wall_ms ());
        respond_json (hc, 200, &b);
      }
      break;
    case DX_ROUTE_INFO:
      {
        dx_buffer b;
        dx_buffer_init (&b, 0);
        dx_encode_info (&b, ctx->server_name, ctx->epoch, (uint16_t) ctx->tcp_port);
        respond_json (hc, 200, &b);
      }
      break;
    case DX_ROUTE_METRICS:
      {
        dx_store_stats st;
        dx_store_get_stats (ctx->poster->store, &st);
        /* Count this request before rendering, so it shows itself. */
        dx_buffer b;
        dx_buffer_init (&b, 0);
        dx_metrics_render (ctx->metrics, &st, &b);
        respond (hc, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, 0,
                 b.data ? b.data : "", b.len);
        dx_buffer_free (&b);
      }
      break;
    case DX_ROUTE_SESSION: route_session (hc, req); break;
    case DX_ROUTE_ROOMS: route_rooms (hc); break;
    case DX_ROUTE_POST_MESSAGE: route_post_message (hc, req, rm.room); break;
    case DX_ROUTE_MESSAGES: route_messages (hc, req, rm.room); break;
    case DX_ROUTE_EVENTS: start_sse (hc, req, rm.room); break;
    case DX_ROUTE_WS: route_ws (hc, req); break;
    default: respond_error (hc, 404, "not_found", "no such resource"); break;
    }
}

/* Parses buffered input while the connection is free to answer. */
static void
process (http_conn *hc)
{
  while (hc->state == HC_READING && !hc->base.closing && hc->in.len > 0)
    {
      size_t used = 0;
      dx_http_status st = dx_http_parser_feed (hc->parser, hc->in.data, hc->in.len, &used);
      dx_buffer_consume (&hc->in, used);
      if (st == DX_HTTP_NEED_MORE)
        break;
      if (st == DX_HTTP_ERROR)
        {
          hc->route = DX_ROUTE_OTHER;
          hc->keep_alive = false;
          hc->head = false;
          dx_http_error_answer a = dx_http_error_answer_for (dx_http_parser_error (hc->parser));
          respond_error (hc, a.status, a.code, dx_http_parser_error_message (hc->parser));
          return;
        }
      const dx_http_message *req = dx_http_parser_message (hc->parser);
      if (st == DX_HTTP_HEADERS)
        {
          hc->header_timer = false;
          dx_conn_timer (&hc->base, DX_HTTP_BODY_TIMEOUT_MS);
          if (req->expect_continue && (req->content_length > 0 || req->chunked))
            dx_conn_send_copy (&hc->base, "HTTP/1.1 100 Continue\r\n\r\n", 25);
          continue;
        }
      /* DX_HTTP_DONE */
      dx_conn_timer (&hc->base, 0);
      handle_request (hc, req);
      if (hc->base.closing || hc->state == HC_SSE)
        return;
      if (req->upgrade && hc->route != DX_ROUTE_WS)
        {
          /* An Upgrade we do not speak: the bytes after the head are not
           * HTTP any more. */
          dx_conn_close_after_write (&hc->base);
          return;
        }
    }
  if (hc->base.closing || hc->state != HC_READING)
    return;
  /* Timers while reading: slow headers (10 s from the first byte), or
   * idle keep-alive (60 s). */
  if (dx_http_parser_started (hc->parser))
    {
      if (!dx_http_parser_headers_complete (hc->parser) && !hc->header_timer)
        {
          hc->header_timer = true;
          dx_conn_timer (&hc->base, DX_HTTP_HEADER_TIMEOUT_MS);
        }
    }
  else
    {
      hc->header_timer = false;
      dx_conn_timer (&hc->base, DX_HTTP_IDLE_TIMEOUT_MS);
    }
  if (!hc->base.reading && hc->in.len < HTTP_IN_HIGH_WATER)
    dx_conn_start_reading (&hc->base);
}

/* ---- conn ops ---- */

static void
hc_on_read (dx_conn *c, const char *data, size_t n)
{
  http_conn *hc = (http_conn *) c;
  if (hc->state == HC_SSE)
    return; /* an event stream has no more requests */
  if (!dx_buffer_append (&hc->in, data, n))
    {
      dx_conn_close (c);
      return;
    }
  if (hc->state == HC_READING)
    process (hc);
  if (!c->closing && hc->in.len >= HTTP_IN_HIGH_WATER)
    dx_conn_stop_reading (c);
}

static void
hc_on_end (dx_conn *c, int status)
{
  http_conn *hc = (http_conn *) c;
  /* A client that half-closes after its request (nc, some scripts) still
   * gets the answer of a request in flight. */
  if (status == DX_EOF && (hc->state == HC_POSTING || hc->state == HC_LONGPOLL))
    {
      hc->peer_eof = true;
      return;
    }
  /* Answers already queued (pipelined requests) still go out. */
  if (status == DX_EOF)
    dx_conn_close_after_write (c);
  else
    dx_conn_close (c);
}

static void
hc_on_timer (dx_conn *c)
{
  http_conn *hc = (http_conn *) c;
  switch (hc->state)
    {
    case HC_LONGPOLL:
      longpoll_end (hc);
      answer_poll (hc, hc->room, hc->since, 0, hc->limit, DX_TR_LONGPOLL);
      process (hc);
      break;
    case HC_SSE:
      sse_raw (hc, ": ping\n\n", 8);
      dx_conn_timer (c, DX_SSE_PING_MS);
      break;
    case HC_READING:
      if (dx_http_parser_started (hc->parser))
        {
          hc->route = DX_ROUTE_OTHER;
          hc->keep_alive = false;
          hc->head = false;
          respond_error (hc, 408, "timeout", "the request took too long to arrive");
        }
      else
        dx_conn_close (c); /* idle keep-alive */
      break;
    case HC_POSTING:
      break;
    }
}

static void
hc_on_shutdown (dx_conn *c)
{
  http_conn *hc = (http_conn *) c;
  switch (hc->state)
    {
    case HC_LONGPOLL:
      longpoll_end (hc);
      hc->keep_alive = false;
      respond_error (hc, 503, "shutting_down", "the server is shutting down");
      break;
    case HC_SSE:
      end_sse (hc);
      break;
    case HC_POSTING:
      /* The store was flushed first: the answer is already queued. */
      dx_conn_close_after_write (c);
      break;
    case HC_READING:
      dx_conn_close_after_write (c);
      break;
    }
}

static void
hc_on_closing (dx_conn *c)
{
  http_conn *hc = (http_conn *) c;
  if (hc->state == HC_LONGPOLL)
    longpoll_end (hc);
  else if (hc->state == HC_SSE)
    dx_hub_unsubscribe (c->ctx->hub, &hc->sub);
}

static void
hc_destroy (dx_conn *c)
{
  http_conn *hc = (http_conn *) c;
  dx_http_parser_free (hc->parser);
  dx_buffer_free (&hc->in);
  free (hc);
}

static const dx_conn_ops http_ops = {
  hc_on_read, hc_on_end, hc_on_timer, hc_on_shutdown, hc_on_closing, hc_destroy,
};

void
dx_http_conn_accept (dx_conn_ctx *ctx, dx_stream *stream)
{
  http_conn *hc = calloc (1, sizeof *hc);
  dx_http_limits limits;
  dx_server_http_limits (&limits);
  dx_http_parser *p = hc ? dx_http_parser_new (DX_HTTP_PARSE_REQUEST, &limits) : NULL;
  if (p == NULL)
    {
      free (hc);
      dx_close (DX_HANDLE (stream), NULL);
      return;
    }
  hc->parser = p;
  dx_buffer_init (&hc->in, 0);
  dx_conn_init (&hc->base, ctx, &http_ops, stream, DX_TR_HTTP);
  dx_tcp_nodelay (stream, true);
  dx_conn_start_reading (&hc->base);
  dx_conn_timer (&hc->base, DX_HTTP_IDLE_TIMEOUT_MS);
}
