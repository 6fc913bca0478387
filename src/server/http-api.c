#include "server/http-api.h"

#include "protocol/message.h"
#include "protocol/secret.h"
#include "protocol/websocket.h"
#include "server/cluster.h"
#include "server/http-errors.h"
#include "server/hub.h"
#include "server/http-conn.h"
#include "server/router.h"
#include "server/shared-event.h"
#include "server/sse-stream.h"
#include "server/web-assets.h"
#include "server/ws-conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* docs/protocol.md §7: Redis is unreachable; the client may retry soon. */
static void
respond_unavailable (dx_http_conn *hc, const char *message)
{
  dx_http_header h = { "Retry-After", "1" };
  dx_http_respond_error_extra (hc, 503, "unavailable", message, &h, 1);
}

/* ---- short polls ---- */

typedef struct {
  dx_buffer *b;
  size_t n;
  uint64_t last;
} poll_ctx;

static bool
poll_visit (void *arg, const dx_stored_msg *msg)
{
  poll_ctx *pc = arg;
  dx_shared_event *e = dx_shared_event_message (msg);
  if (e)
    dx_encode_poll_answer_item (pc->b, pc->n++, e->json->data, e->json->len);
  dx_shared_event_unref (e);
  pc->last = msg->id;
  return true;
}

/* 200 {"messages":[...],"last_id":M,"epoch":".."}; before == 0: since. */
static void
answer_poll (dx_http_conn *hc, const char *room, uint64_t since, uint64_t before, size_t limit,
             dx_transport tr)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  poll_ctx pc = { &b, 0, 0 };
  dx_encode_poll_answer_begin (&b);
  int rc = before ? dx_store_read_before (ctx->poster->store, room, before, limit, poll_visit, &pc)
                  : dx_store_read_since (ctx->poster->store, room, since, limit, poll_visit, &pc);
  if (rc < 0) {
    dx_buffer_free (&b);
    dx_http_respond_error (hc, 500, "internal_error", "the history could not be read");
    return;
  }
  dx_encode_poll_answer_end (&b, dx_store_last_id (ctx->poster->store, room), ctx->epoch);
  ctx->metrics->msgs_out[tr] += pc.n;
  dx_http_respond_json (hc, 200, &b);
}

/* ---- long poll ---- */

static const dx_http_hold_ops longpoll_hold_ops;

static void
longpoll_end (dx_http_conn *hc)
{
  if (hc->state != DX_HTTP_CONN_HELD || hc->hold != &longpoll_hold_ops)
    return;
  dx_hub_unsubscribe (hc->base.ctx->hub, &hc->sub);
  hc->base.ctx->metrics->longpolls_waiting--;
  hc->base.ctx->metrics->conn_open[DX_TR_LONGPOLL]--;
  dx_http_conn_set_state (hc, DX_HTTP_CONN_READING, NULL);
  dx_conn_arm_timer (&hc->base, 0);
}

/* The wait is over (a message, or the timeout): answer with what the
 * store has. */
static void
longpoll_answer (dx_http_conn *hc)
{
  longpoll_end (hc);
  answer_poll (hc, hc->room, hc->since, 0, hc->limit, DX_TR_LONGPOLL);
  dx_http_conn_serve (hc);
}

static void
longpoll_message (dx_sub *sub, dx_shared_event *e)
{
  dx_http_conn *hc = sub->owner;
  if (e->id < sub->next_id)
    return;
  longpoll_answer (hc);
}

/* A new epoch (docs/protocol.md §7): answered now, with the new epoch. */
static void
longpoll_epoch (dx_sub *sub)
{
  longpoll_answer (sub->owner);
}

static const dx_sub_ops longpoll_ops = { longpoll_message, NULL, longpoll_epoch };

/* A held request the server gives up as it stops: 503, and the connection
 * closes after it (docs/protocol.md §3). */
static void
respond_shutting_down (dx_http_conn *hc)
{
  hc->keep_alive = false;
  dx_http_respond_error (hc, 503, "shutting_down", "the server is shutting down");
}

static void
longpoll_on_shutdown (dx_http_conn *hc)
{
  longpoll_end (hc);
  respond_shutting_down (hc);
}

static const dx_http_hold_ops longpoll_hold_ops = {
  longpoll_answer,
  longpoll_on_shutdown,
  longpoll_end,
};

/* ---- routes ---- */

/* docs/protocol.md §9: over --session-rate for the client's IP, 429 with
 * Retry-After in whole seconds, rounded up. */
static void
respond_rate_limited (dx_http_conn *hc, uint64_t retry_ms, const char *message)
{
  char secs[24];
  snprintf (secs, sizeof secs, "%llu", (unsigned long long) ((retry_ms + 999) / 1000));
  dx_http_header h = { "Retry-After", secs };
  dx_http_respond_error_extra (hc, 429, "rate_limited", message, &h, 1);
}

static bool
take_session (dx_http_conn *hc)
{
  uint64_t retry_ms = 0;
  if (hc->base.peer_ip[0] == '\0'
      || dx_limiter_take_session (hc->base.ctx->limits, hc->base.peer_ip, dx_monotonic_ms (),
                                  &retry_ms))
    return true;
  respond_rate_limited (hc, retry_ms, "too many new sessions from this address: try again later");
  return false;
}

/* POST /api/v1/session: a token for a nick. */
static void
route_new_token (dx_http_conn *hc, const dx_http_message *req)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  dx_session_request sr;
  dx_msg_error err;
  if (!dx_decode_session_request (req->body, req->body_len, &sr, &err)) {
    /* A field over its limit is a bad request; 413 is for the body
       * (decided by the parser from Content-Length). */
    dx_http_respond_error (hc, 400, "bad_request", err.message);
    return;
  }
  if (ctx->cfg->password
      && (!sr.has_password || !dx_secret_equal (sr.password, ctx->cfg->password))) {
    dx_http_respond_error (hc, 401, "unauthorized",
                           sr.has_password ? "wrong password" : "this server needs a password");
    return;
  }
  if (!take_session (hc))
    return;
  char token[DX_TOKEN_MAX + 1];
  int rc = dx_poster_new_token (ctx->poster, sr.nick, token, sizeof token);
  if (rc == DX_ENOTCONN) {
    respond_unavailable (hc, "the cluster's store (Redis) is not reachable");
    return;
  }
  if (rc < 0) {
    dx_http_respond_error (hc, 500, "internal_error", "cannot create a token");
    return;
  }
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_session_answer (&b, token, sr.nick);
  dx_http_respond_json (hc, 201, &b);
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
  if (rc->n == rc->cap) {
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

/* --redis: a room with members only on other nodes. */
static bool
rooms_remote_visit (void *arg, const char *room)
{
  rooms_ctx *rc = arg;
  for (size_t i = 0; i < rc->n; i++)
    if (strcmp (rc->v[i].name, room) == 0)
      return true;
  return dx_hub_online (rc->hub, room) == 0 || rooms_add (rc, room, 0);
}

static int
cmp_room (const void *a, const void *b)
{
  return strcmp (((const dx_room_info *) a)->name, ((const dx_room_info *) b)->name);
}

static void
route_rooms (dx_http_conn *hc)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  rooms_ctx rc = { NULL, 0, 0, ctx->hub, false };
  if (ctx->poster->cluster) /* --redis: the rooms this node does not follow too */
    dx_cluster_rooms (ctx->poster->cluster, rooms_store_visit, &rc);
  else
    dx_store_rooms (ctx->poster->store, rooms_store_visit, &rc);
  dx_hub_each_room (ctx->hub, rooms_hub_visit, &rc);
  dx_hub_each_room_elsewhere (ctx->hub, rooms_remote_visit, &rc);
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
  dx_http_respond_json (hc, 200, &b);
}

static void
on_posted (void *arg, int status, const dx_stored_msg *msg, bool duplicate)
{
  dx_http_conn *hc = arg;
  (void) duplicate;
  if (!hc->base.closing && hc->state == DX_HTTP_CONN_HELD) {
    dx_http_conn_set_state (hc, DX_HTTP_CONN_READING, NULL);
    if (status == DX_ENOTCONN)
      respond_unavailable (hc, "the cluster's store (Redis) is not reachable: not stored");
    else if (status == DX_ETIMEDOUT)
      respond_unavailable (hc, "Redis did not answer: the message may have been stored "
                               "(a retry with the same cid tells)");
    else if (status == DX_ECANCELED)
      respond_shutting_down (hc);
    else if (status < 0)
      dx_http_respond_error (hc, 500, "internal_error", "the message could not be stored");
    else {
      dx_buffer b;
      dx_buffer_init (&b, 0);
      dx_encode_post_answer (&b, msg->id, msg->ts);
      dx_http_respond_json (hc, 201, &b);
    }
    dx_http_conn_serve (hc);
  }
  dx_conn_unref (&hc->base);
}

/* docs/protocol.md §9: a POST shares its token's bucket with socket
 * sends; over it, 429 with Retry-After in whole seconds, rounded up. */
static bool
take_send (dx_http_conn *hc, const char *token)
{
  uint64_t retry_ms = 0;
  if (dx_limiter_take_send (hc->base.ctx->limits, token, dx_monotonic_ms (), &retry_ms))
    return true;
  respond_rate_limited (hc, retry_ms, "too many messages: try again later");
  return false;
}

/* docs/protocol.md §9, delivery bound: a room whose fan-out is behind
 * refuses posts (not stored) with 429 and Retry-After. */
static bool
room_keeps_up (dx_http_conn *hc, const char *room)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  uint64_t retry_ms = dx_backlog_refuse_ms (dx_hub_backlog (ctx->hub), room,
                                            ctx->cfg->max_delivery_ms, dx_monotonic_us ());
  if (retry_ms == 0)
    return true;
  respond_rate_limited (hc, retry_ms,
                        "the room's deliveries are behind: not stored, try again later");
  return false;
}

static void
route_post_message (dx_http_conn *hc, const dx_http_message *req, const char *room)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  const char *auth = dx_http_message_header (req, "Authorization");
  const char *token = NULL;
  /* The scheme is case-insensitive (RFC 9110 11.1); one or more spaces. */
  if (auth && strlen (auth) > 7 && (auth[0] | 0x20) == 'b' && (auth[1] | 0x20) == 'e'
      && (auth[2] | 0x20) == 'a' && (auth[3] | 0x20) == 'r' && (auth[4] | 0x20) == 'e'
      && (auth[5] | 0x20) == 'r' && auth[6] == ' ') {
    token = auth + 7;
    while (*token == ' ')
      token++;
  }
  if (token == NULL || !dx_token_valid (token, strlen (token))) {
    dx_http_header h = { "WWW-Authenticate", "Bearer" };
    dx_http_respond_error_extra (hc, 401, "unauthorized",
                                 "an Authorization: Bearer <token> header is needed", &h, 1);
    return;
  }
  const char *nick_ptr = dx_poster_token_nick (ctx->poster, token);
  if (nick_ptr == NULL && dx_poster_unavailable (ctx->poster)) {
    /* docs/protocol.md §7: the send would be refused anyway; the token
     * may well be good (its key comes from Redis). */
    respond_unavailable (hc, "the cluster's store (Redis) is not reachable: not stored");
    return;
  }
  if (nick_ptr == NULL) {
    dx_http_header h = { "WWW-Authenticate", "Bearer" };
    dx_http_respond_error_extra (hc, 401, "unauthorized", "unknown token", &h, 1);
    return;
  }
  if (!room_keeps_up (hc, room) || !take_send (hc, token))
    return;
  char nick[DX_NICK_MAX + 1];
  snprintf (nick, sizeof nick, "%s", nick_ptr);
  dx_post_body *pb = malloc (sizeof *pb);
  if (pb == NULL) {
    dx_http_respond_error (hc, 500, "internal_error", "out of memory");
    return;
  }
  dx_msg_error err;
  if (!dx_decode_post_body (req->body, req->body_len, pb, &err)) {
    dx_http_respond_error (hc, 400, "bad_request", err.message);
    free (pb);
    return;
  }
  dx_conn_ref (&hc->base);
  dx_http_conn_set_state (hc, DX_HTTP_CONN_HELD, NULL);
  int rc = dx_poster_post (ctx->poster, room, nick, token, pb->text, pb->text_len,
                           pb->has_cid ? pb->cid : NULL, DX_TR_HTTP, on_posted, hc);
  free (pb);
  if (rc < 0) {
    dx_http_conn_set_state (hc, DX_HTTP_CONN_READING, NULL);
    dx_conn_unref (&hc->base);
    if (rc == DX_ECANCELED)
      respond_shutting_down (hc);
    else if (rc == DX_ENOTCONN)
      respond_unavailable (hc, "the cluster's store (Redis) is not reachable: not stored");
    else if (rc == DX_EINVAL)
      dx_http_respond_error (hc, 400, "bad_request", "the message was refused");
    else
      dx_http_respond_error (hc, 500, "internal_error", "the message could not be stored");
  }
}

static bool
query_u64 (dx_http_conn *hc, const dx_http_message *req, const char *key, uint64_t *v, bool *found)
{
  dx_http_query_result r = dx_http_query_get_u64 (req->query, key, v);
  if (r == DX_HTTP_QUERY_INVALID) {
    char msg[80];
    snprintf (msg, sizeof msg, "%s must be an unsigned integer", key);
    dx_http_respond_error (hc, 400, "bad_request", msg);
    return false;
  }
  *found = r == DX_HTTP_QUERY_FOUND;
  return true;
}

/* ---- --redis: a read waiting for the room's view ---- */

/* The cluster answers within 3 s; this is the connection's own bound. */
#define VIEW_WAIT_MS 5000

static void answer_messages (dx_http_conn *hc);
static const dx_http_hold_ops view_hold_ops;

static bool
view_wait_end (dx_http_conn *hc)
{
  if (hc->state != DX_HTTP_CONN_HELD || hc->hold != &view_hold_ops)
    return false;
  dx_http_conn_set_state (hc, DX_HTTP_CONN_READING, NULL);
  dx_conn_arm_timer (&hc->base, 0);
  return true;
}

/* The view is current (or as current as it gets): answer the read. */
static void
view_current (void *arg)
{
  dx_http_conn *hc = arg;
  if (!view_wait_end (hc))
    return;
  if (hc->base.ctx->poster->store == NULL) {
    respond_shutting_down (hc);
    return;
  }
  answer_messages (hc);
  if (hc->state == DX_HTTP_CONN_READING)
    dx_http_conn_serve (hc);
}

static void
view_wait_cancel (dx_http_conn *hc)
{
  if (hc->state == DX_HTTP_CONN_HELD && hc->hold == &view_hold_ops && hc->base.ctx->poster->cluster)
    dx_cluster_read_cancel (hc->base.ctx->poster->cluster, hc->room, hc);
}

static void
view_wait_timer (dx_http_conn *hc)
{
  view_wait_cancel (hc);
  view_current (hc);
}

static void
view_wait_shutdown (dx_http_conn *hc)
{
  view_wait_cancel (hc);
  view_wait_end (hc);
  respond_shutting_down (hc);
}

static const dx_http_hold_ops view_hold_ops = {
  view_wait_timer,
  view_wait_shutdown,
  view_wait_cancel,
};

static void
route_messages (dx_http_conn *hc, const dx_http_message *req, const char *room)
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
  if (limit == 0) {
    dx_http_respond_error (hc, 400, "bad_request", "limit must be at least 1");
    return;
  }
  if (limit > 1000)
    limit = 1000;
  if (has_wait && (wait < 1 || wait > 60)) {
    dx_http_respond_error (hc, 400, "bad_request", "wait must be 1 to 60 seconds");
    return;
  }
  if (has_before && (has_since || has_wait)) {
    dx_http_respond_error (hc, 400, "bad_request", "before cannot be combined with since or wait");
    return;
  }
  if (has_before && before == 0)
    before = 1; /* nothing is before id 1: an empty list */
  snprintf (hc->room, sizeof hc->room, "%s", room);
  hc->since = since;
  hc->limit = (size_t) limit;
  hc->before = has_before ? before : 0;
  hc->wait_s = has_wait ? wait : 0;
  /* --redis: the view of a room this node does not follow may be behind
   * Redis; the read waits until it is not (docs/protocol.md §7). */
  if (ctx->poster->cluster
      && !dx_cluster_read_room (ctx->poster->cluster, room, view_current, hc)) {
    dx_http_conn_set_state (hc, DX_HTTP_CONN_HELD, &view_hold_ops);
    dx_conn_arm_timer (&hc->base, VIEW_WAIT_MS);
    return;
  }
  answer_messages (hc);
}

/* The read of hc->room (parameters in hc) once the view can answer it. */
static void
answer_messages (dx_http_conn *hc)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  const char *room = hc->room;
  uint64_t since = hc->since;
  bool has_wait = hc->wait_s > 0;
  if (hc->before) {
    answer_poll (hc, room, 0, hc->before, hc->limit, DX_TR_POLL);
    return;
  }
  if (!has_wait || hc->head || dx_store_last_id (ctx->poster->store, room) > since) {
    answer_poll (hc, room, since, 0, hc->limit, has_wait ? DX_TR_LONGPOLL : DX_TR_POLL);
    return;
  }
  /* Hold the request as a subscriber of the room. */
  memset (&hc->sub, 0, sizeof hc->sub);
  hc->sub.ops = &longpoll_ops;
  hc->sub.kind = DX_SUB_LONGPOLL;
  hc->sub.owner = hc;
  hc->sub.next_id = since + 1;
  if (!dx_hub_subscribe (ctx->hub, &hc->sub, room)) {
    dx_http_respond_error (hc, 500, "internal_error", "out of memory");
    return;
  }
  dx_http_conn_set_state (hc, DX_HTTP_CONN_HELD, &longpoll_hold_ops);
  ctx->metrics->longpolls_waiting++;
  ctx->metrics->conn_open[DX_TR_LONGPOLL]++;
  ctx->metrics->conn_accepted[DX_TR_LONGPOLL]++;
  dx_conn_arm_timer (&hc->base, hc->wait_s * 1000);
}

static void
route_ws (dx_http_conn *hc, const dx_http_message *req)
{
  dx_ws_handshake hs;
  if (!dx_ws_server_handshake (req, DX_WS_SUBPROTOCOL, &hs)) {
    dx_http_error_answer a = dx_ws_handshake_answer (hs.result);
    dx_http_header h = { hs.extra_header_name, hs.extra_header_value };
    hc->keep_alive = false;
    dx_http_respond_error_extra (hc, a.status, a.code, hs.message, &h,
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

/* Every request of the HTTP port: route it, answer it (or hold it). */
/* /api/v1/info: the server's sockets in TIME_WAIT on both listeners' ports
 * and the age of that count (docs/protocol.md §4). The shared encoder
 * (protocol/, used by the client too) holds no live figures: they go in
 * before its closing brace. Absent while the server cannot count. */
static void
info_add_time_wait (dx_conn_ctx *ctx, dx_buffer *b)
{
  if (ctx->tcp_watch == NULL || b->failed || b->len == 0 || b->data[b->len - 1] != '}')
    return;
  const dx_tcp_watch_sample *s = dx_tcp_watch_read (ctx->tcp_watch);
  if (s->samples == 0 || s->status < 0)
    return;
  uint64_t now = dx_monotonic_ms ();
  b->len--;
  dx_buffer_printf (b, ",\"time_wait\":%llu,\"time_wait_age_ms\":%llu}",
                    (unsigned long long) dx_tcp_watch_total (s, DX_TCP_TIME_WAIT),
                    (unsigned long long) (now > s->taken_ms ? now - s->taken_ms : 0));
}

/* /api/v1/info: "tls":true when the listeners speak TLS (docs/protocol.md §9). */
static void
info_add_tls (dx_conn_ctx *ctx, dx_buffer *b)
{
  if (ctx->tls_ctx == NULL || b->failed || b->len == 0 || b->data[b->len - 1] != '}')
    return;
  b->len--;
  dx_buffer_append_str (b, ",\"tls\":true}");
}

/* docs/protocol.md §9: from a trusted proxy, the last X-Forwarded-For hop
 * is the client; until a request names one the connection counts as the
 * proxy. false: answered 503 (that client is over --max-conns-per-ip). */
static bool
take_forwarded_client (dx_http_conn *hc, const dx_http_message *req)
{
  const char *xff = hc->base.via_proxy ? dx_http_message_header (req, "X-Forwarded-For") : NULL;
  dx_ip ip;
  if (xff == NULL || !dx_xff_last_hop (xff, &ip))
    return true;
  char text[48];
  dx_ip_format (&ip, text, sizeof text);
  if (dx_conn_set_client_ip (&hc->base, text))
    return true;
  dx_http_header h = { "Connection", "close" };
  dx_http_respond_error_extra (hc, 503, "rate_limited", "too many connections from this address",
                               &h, 1);
  dx_conn_close_after_write (&hc->base);
  return false;
}

static void
handle_request (dx_http_conn *hc, const dx_http_message *req)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  if (!take_forwarded_client (hc, req))
    return;
  dx_route_match rm;
  dx_router_match (req->method, req->path, &rm);
  hc->route = rm.route;
  if (rm.status == 404) {
    dx_http_respond_error (hc, 404, "not_found", "no such resource");
    return;
  }
  if (rm.status == 405 && req->method == DX_HTTP_OPTIONS) {
    /* CORS preflight (a browser POSTing JSON with a bearer token). */
    dx_http_header h[] = {
      { "Allow", rm.allow },
      { "Access-Control-Allow-Methods", rm.allow },
      { "Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID" },
      { "Access-Control-Max-Age", "600" },
    };
    dx_http_respond (hc, 204, NULL, h, 4, NULL, 0);
    return;
  }
  if (rm.status == 405) {
    dx_http_header h = { "Allow", rm.allow };
    dx_http_respond_error_extra (hc, 405, "method_not_allowed", "this method is not allowed here",
                                 &h, 1);
    return;
  }
  if (rm.status == 400) {
    dx_http_respond_error (hc, 400, "bad_request", "room names are " DX_ROOM_RULE);
    return;
  }
  if (ctx->shutting_down || ctx->poster->store == NULL) {
    respond_shutting_down (hc);
    return;
  }
  switch (rm.route) {
  case DX_ROUTE_HEALTHZ:
    if (dx_poster_unavailable (ctx->poster)) {
      /* docs/protocol.md §7: the node serves reads, not sends. */
      dx_http_header h = { "Retry-After", "1" };
      dx_http_respond (hc, 503, "text/plain; charset=utf-8", &h, 1, "degraded", 8);
    } else
      dx_http_respond (hc, 200, "text/plain; charset=utf-8", NULL, 0, "ok", 2);
    break;
  case DX_ROUTE_TIME: {
    dx_buffer b;
    dx_buffer_init (&b, 0);
    dx_encode_time (&b, dx_wall_ms ());
    dx_http_respond_json (hc, 200, &b);
  } break;
  case DX_ROUTE_INFO: {
    dx_buffer b;
    dx_buffer_init (&b, 0);
    /* The node is NULL on a single node; the UDP port 0 without --udp. */
    dx_encode_info_udp (&b, ctx->server_name, ctx->epoch, (uint16_t) ctx->tcp_port,
                        (uint16_t) ctx->udp_port, ctx->node_id);
    info_add_time_wait (ctx, &b);
    info_add_tls (ctx, &b);
    dx_http_respond_json (hc, 200, &b);
  } break;
  case DX_ROUTE_METRICS: {
    dx_store_stats st;
    dx_store_get_stats (ctx->poster->store, &st);
    /* Count this request before rendering, so it shows itself. */
    dx_buffer b;
    dx_buffer_init (&b, 0);
    dx_metrics_render (ctx->metrics, &st, &b);
#ifdef DX_HAVE_TLS
    if (ctx->tls_ctx)
      dx_metrics_render_tls (dx_tls_ctx_stats (ctx->tls_ctx), &b);
#endif
    if (ctx->tcp_watch)
      dx_metrics_render_tcp_states (dx_tcp_watch_read (ctx->tcp_watch), dx_monotonic_ms (), &b);
    dx_poster_render_metrics (ctx->poster, &b);
    dx_limiter_render_metrics (ctx->limits, &b);
    dx_backlog_render_metrics (dx_hub_backlog (ctx->hub), dx_monotonic_us (),
                               ctx->cfg->max_delivery_ms, &b);
    dx_http_respond (hc, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, 0,
                     b.data ? b.data : "", b.len);
    dx_buffer_free (&b);
  } break;
  case DX_ROUTE_SESSION: route_new_token (hc, req); break;
  case DX_ROUTE_ROOMS: route_rooms (hc); break;
  case DX_ROUTE_POST_MESSAGE: route_post_message (hc, req, rm.room); break;
  case DX_ROUTE_MESSAGES: route_messages (hc, req, rm.room); break;
  case DX_ROUTE_EVENTS: dx_sse_stream_start (hc, req, rm.room); break;
  case DX_ROUTE_WS: route_ws (hc, req); break;
  case DX_ROUTE_WEB: dx_web_assets_respond (hc, req); break;
  default: dx_http_respond_error (hc, 404, "not_found", "no such resource"); break;
  }
}

void
dx_http_api_accept (dx_conn_ctx *ctx, dx_stream *stream)
{
  dx_http_conn_accept (ctx, stream, handle_request);
}
