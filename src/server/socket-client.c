#include "server/socket-client.h"

#include "protocol/message.h"
#include "protocol/secret.h"
#include "server/cluster.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dx_membership {
  dx_sub sub; /* first: a dx_sub * is a dx_membership * */
  dx_socket_client *client;
  dx_membership *next;
  dx_replay replay; /* join with since: stored messages first, then live */
  /* --redis: joined waits until the node's view of the room is current
   * (docs/protocol.md §7); the join's since meanwhile. */
  bool view_wait, wait_has_since;
  uint64_t wait_since;
};

/* --redis: the answer to a join no longer waits for the room's view. */
static void
member_view_cancel (dx_membership *m)
{
  dx_cluster *cluster = m->client->ctx->poster->cluster;
  if (m->view_wait && cluster && m->sub.room)
    dx_cluster_read_cancel (cluster, m->sub.room->name, m);
  m->view_wait = false;
}

void
dx_socket_client_init (dx_socket_client *s, dx_conn *conn, const dx_socket_client_ops *ops,
                       dx_transport tr)
{
  memset (s, 0, sizeof *s);
  s->ctx = conn->ctx;
  s->conn = conn;
  s->ops = ops;
  s->tr = tr;
}

static void
send_buffer (dx_socket_client *s, dx_buffer *b)
{
  if (!b->failed && b->len > 0)
    s->ops->send_json (s, b->data, b->len);
  dx_buffer_free (b);
}

void
dx_socket_client_error (dx_socket_client *s, const char *code, const char *message)
{
  if (s->conn->closing)
    return;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_error (&b, code, message);
  send_buffer (s, &b);
  /* An outage of Redis is not the client's fault: it may keep retrying
   * (docs/protocol.md §7) without being closed for it. */
  if (strcmp (code, "unavailable") != 0)
    s->errors++;
  dx_log_debug ("socket client %s: error %s (%s), %u so far", s->nick[0] ? s->nick : "-", code,
                message, s->errors);
  if (s->errors > DX_SOCKET_CLIENT_MAX_ERRORS)
    s->ops->close_policy (s, "too many errors");
}

/* ---- membership / fan-out ---- */

static void
deliver (dx_socket_client *s, dx_shared_event *e, bool live)
{
  if (s->ops->send_event (s, e, live))
    s->ctx->metrics->msgs_out[s->tr]++;
}

static void
replay_send (void *arg, dx_shared_event *e)
{
  deliver (arg, e, false);
}

static dx_shared_buf *
replay_frame (void *arg, dx_shared_event *e)
{
  dx_socket_client *s = arg;
  return s->ops->frame (s, e);
}

static void
member_message (dx_sub *sub, dx_shared_event *e)
{
  dx_membership *m = (dx_membership *) sub;
  dx_socket_client *s = m->client;
  if (m->replay.active || e->id < sub->next_id)
    return; /* the replay reads it from the store / already sent */
  uint64_t expected = sub->next_id;
  /* Updated first: a delivery that finds the connection too slow closes
   * it, which frees this membership. */
  sub->next_id = e->id + 1;
  if (e->id > expected) {
    /* Should not happen (the store reports commits in id order), but a
       * gap is filled from the store rather than left. */
    char room[DX_ROOM_MAX + 1];
    memcpy (room, sub->room->name, sizeof room);
    dx_replay_gap (s->conn, room, expected - 1, e->id - 1, replay_send, s);
  }
  deliver (s, e, true);
}

static void
member_presence (dx_sub *sub, dx_shared_event *e)
{
  dx_membership *m = (dx_membership *) sub;
  m->client->ops->send_event (m->client, e, true);
}

/* A new epoch (docs/protocol.md §7): a new joined, before any message of
 * the new epoch; the numbering starts again. */
static void
member_epoch (dx_sub *sub)
{
  dx_membership *m = (dx_membership *) sub;
  dx_socket_client *s = m->client;
  member_view_cancel (m);
  dx_replay_cancel (&m->replay);
  dx_replay_init (&m->replay, s->conn, &m->sub, replay_frame, s);
  uint64_t last =
      s->ctx->poster->store ? dx_store_last_id (s->ctx->poster->store, sub->room->name) : 0;
  sub->next_id = last + 1;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_joined (&b, sub->room->name, last, s->ctx->epoch);
  send_buffer (s, &b);
}

static const dx_sub_ops member_ops = { member_message, member_presence, member_epoch };

static dx_membership *
find_member (dx_socket_client *s, const char *room)
{
  for (dx_membership *m = s->members; m; m = m->next)
    if (strcmp (m->sub.room->name, room) == 0)
      return m;
  return NULL;
}

static void
remove_member (dx_socket_client *s, dx_membership *m)
{
  dx_membership **pp = &s->members;
  while (*pp && *pp != m)
    pp = &(*pp)->next;
  if (*pp)
    *pp = m->next;
  member_view_cancel (m);
  dx_hub_unsubscribe (s->ctx->hub, &m->sub);
  dx_replay_cancel (&m->replay);
  free (m);
}

void
dx_socket_client_leave_all (dx_socket_client *s)
{
  while (s->members)
    remove_member (s, s->members);
}

/* ---- requests ---- */

static bool
password_ok (dx_socket_client *s, const dx_msg *m)
{
  const char *want = s->ctx->cfg->password;
  if (want == NULL)
    return true;
  return m->has_password && dx_secret_equal (m->password, want);
}

/* docs/protocol.md §9: a hello with a nick creates a session, limited per
 * client IP by --session-rate (a UDP session has no stream: not limited). */
static bool
take_session (dx_socket_client *s)
{
  uint64_t retry_ms = 0;
  if (s->conn->peer_ip[0] == '\0'
      || dx_limiter_take_session (s->ctx->limits, s->conn->peer_ip, dx_monotonic_ms (), &retry_ms))
    return true;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_error_retry (&b, "rate_limited",
                         "too many new sessions from this address: try again later", retry_ms,
                         NULL);
  send_buffer (s, &b);
  return false;
}

static void
on_hello (dx_socket_client *s, const dx_msg *m)
{
  if (s->authed) {
    dx_socket_client_error (s, "bad_request", "hello was already received");
    return;
  }
  if (!password_ok (s, m)) {
    dx_socket_client_error (s, "unauthorized",
                            m->has_password ? "wrong password" : "this server needs a password");
    s->ops->close_policy (s, "bad password");
    return;
  }
  if (m->has_token) {
    const char *nick = dx_poster_token_nick (s->ctx->poster, m->token);
    if (nick == NULL && dx_poster_unavailable (s->ctx->poster)) {
      dx_socket_client_error (s, "unavailable", "the cluster's store (Redis) is not reachable");
      return;
    }
    if (nick == NULL) {
      dx_socket_client_error (s, "unauthorized", "unknown token");
      return;
    }
    snprintf (s->nick, sizeof s->nick, "%s", nick);
    snprintf (s->token, sizeof s->token, "%s", m->token);
  } else {
    size_t len = strlen (m->nick);
    if (dx_nick_reserved (m->nick, len)) {
      dx_socket_client_error (s, "bad_request", "this nick is reserved");
      return;
    }
    if (!take_session (s))
      return;
    int rc = dx_poster_new_token (s->ctx->poster, m->nick, s->token, sizeof s->token);
    if (rc == DX_ENOTCONN) {
      dx_socket_client_error (s, "unavailable", "the cluster's store (Redis) is not reachable");
      return;
    }
    if (rc < 0) {
      dx_socket_client_error (s, "internal_error", "cannot create a token");
      return;
    }
    memcpy (s->nick, m->nick, len + 1);
  }
  s->authed = true;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_welcome_epoch (&b, s->nick, s->token, s->ctx->server_name, s->ctx->epoch);
  send_buffer (s, &b);
}

/* joined, then stored messages with id > since, then live ones: the read
 * and the subscription happen in this one callback, so the store's commit
 * order leaves no gap between them. */
static void
join_answer (dx_socket_client *s, dx_membership *mem, bool has_since, uint64_t since)
{
  dx_store *store = s->ctx->poster->store;
  if (store == NULL) {
    dx_socket_client_error (s, "shutting_down", "the server is shutting down");
    return;
  }
  const char *room = mem->sub.room->name;
  uint64_t last = dx_store_last_id (store, room);
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_joined (&b, room, last, s->ctx->epoch);
  send_buffer (s, &b);
  if (has_since && since < last)
    dx_replay_start (&mem->replay, room, since);
  else if (!mem->replay.active)
    mem->sub.next_id = last + 1;
  /* --redis, Redis unreachable: the view may be behind since; what it
   * learns later starts after since (docs/protocol.md §7). */
  if (has_since && since > last && s->ctx->poster->cluster && !mem->replay.active)
    mem->sub.next_id = since + 1;
}

/* --redis: the node's view of the room is current now. */
static void
member_view_current (void *arg)
{
  dx_membership *mem = arg;
  mem->view_wait = false;
  join_answer (mem->client, mem, mem->wait_has_since, mem->wait_since);
}

static void
on_join (dx_socket_client *s, const dx_msg *m)
{
  dx_store *store = s->ctx->poster->store;
  if (store == NULL) {
    dx_socket_client_error (s, "shutting_down", "the server is shutting down");
    return;
  }
  uint64_t last = dx_store_last_id (store, m->room);
  dx_membership *mem = find_member (s, m->room);
  if (mem == NULL) {
    mem = calloc (1, sizeof *mem);
    if (mem == NULL) {
      dx_socket_client_error (s, "internal_error", "out of memory");
      return;
    }
    mem->client = s;
    dx_replay_init (&mem->replay, s->conn, &mem->sub, replay_frame, s);
    mem->sub.ops = &member_ops;
    mem->sub.kind = DX_SUB_SOCKET;
    mem->sub.owner = s;
    memcpy (mem->sub.nick, s->nick, sizeof s->nick);
    mem->sub.next_id = last + 1;
    if (!dx_hub_subscribe (s->ctx->hub, &mem->sub, m->room)) {
      free (mem);
      dx_socket_client_error (s, "internal_error", "out of memory");
      return;
    }
    mem->next = s->members;
    s->members = mem;
  }
  if (mem->view_wait
      || (s->ctx->poster->cluster
          && !dx_cluster_read_room (s->ctx->poster->cluster, m->room, member_view_current, mem))) {
    /* What arrives meanwhile is in the view when joined goes. */
    mem->view_wait = true;
    mem->wait_has_since = m->has_since;
    mem->wait_since = m->since;
    mem->sub.next_id = UINT64_MAX;
    return;
  }
  join_answer (s, mem, m->has_since, m->since);
}

static void
on_leave (dx_socket_client *s, const dx_msg *m)
{
  dx_membership *mem = find_member (s, m->room);
  if (mem)
    remove_member (s, mem);
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_left (&b, m->room);
  send_buffer (s, &b);
}

typedef struct {
  dx_socket_client *s;
  bool has_cid;
  char cid[DX_CID_MAX + 1];
  char room[DX_ROOM_MAX + 1];
} pending_send;

static void
on_sent (void *arg, int status, const dx_stored_msg *msg, bool duplicate)
{
  pending_send *p = arg;
  dx_socket_client *s = p->s;
  (void) duplicate;
  if (!s->conn->closing) {
    if (status == DX_ENOTCONN)
      dx_socket_client_error (s, "unavailable",
                              "the cluster's store (Redis) is not reachable: not stored");
    else if (status == DX_ETIMEDOUT)
      dx_socket_client_error (s, "unavailable",
                              "Redis did not answer: the message may have been stored "
                              "(a retry with the same cid tells)");
    else if (status == DX_ECANCELED)
      dx_socket_client_error (s, "shutting_down", "the server is shutting down");
    else if (status < 0)
      dx_socket_client_error (s, "internal_error", "the message could not be stored");
    else {
      dx_buffer b;
      dx_buffer_init (&b, 0);
      dx_encode_ack (&b, p->room, msg->id, msg->ts, p->has_cid ? p->cid : NULL);
      send_buffer (s, &b);
    }
  }
  s->pending--;
  if (s->peer_eof && s->pending == 0)
    dx_conn_close_after_write (s->conn);
  dx_conn_unref (s->conn);
  free (p);
}

void
dx_socket_client_peer_eof (dx_socket_client *s)
{
  s->peer_eof = true;
  if (s->pending == 0)
    dx_conn_close_after_write (s->conn);
}

/* docs/protocol.md §9: over the token's send rate the send is not stored;
 * rate_limited says when to retry and is not counted as an error (an
 * honest client that backs off must never be closed for it). */
static bool
take_send (dx_socket_client *s, const dx_msg *m)
{
  uint64_t retry_ms = 0;
  if (dx_limiter_take_send (s->ctx->limits, s->token, dx_monotonic_ms (), &retry_ms))
    return true;
  if (s->conn->closing)
    return false;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_error_retry (&b, "rate_limited", "too many messages: try again later", retry_ms,
                         m->has_cid ? m->cid : NULL);
  send_buffer (s, &b);
  return false;
}

/* docs/protocol.md §9, delivery bound: a room whose fan-out is behind
 * refuses sends (not stored) with rate_limited and a retry time, as the
 * send rate does, and never counts it as an error. */
static bool
room_keeps_up (dx_socket_client *s, const dx_msg *m)
{
  uint64_t retry_ms = dx_backlog_refuse_ms (dx_hub_backlog (s->ctx->hub), m->room,
                                            s->ctx->cfg->max_delivery_ms, dx_monotonic_us ());
  if (retry_ms == 0)
    return true;
  if (s->conn->closing)
    return false;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_error_retry (&b, "rate_limited",
                         "the room's deliveries are behind: not stored, try again later", retry_ms,
                         m->has_cid ? m->cid : NULL);
  send_buffer (s, &b);
  return false;
}

static void
on_send (dx_socket_client *s, const dx_msg *m)
{
  if (!room_keeps_up (s, m) || !take_send (s, m))
    return;
  pending_send *p = calloc (1, sizeof *p);
  if (p == NULL) {
    dx_socket_client_error (s, "internal_error", "out of memory");
    return;
  }
  p->s = s;
  p->has_cid = m->has_cid;
  memcpy (p->cid, m->cid, sizeof p->cid);
  memcpy (p->room, m->room, sizeof p->room);
  dx_conn_ref (s->conn);
  s->pending++;
  int rc = dx_poster_post (s->ctx->poster, m->room, s->nick, s->token, m->text, m->text_len,
                           m->has_cid ? m->cid : NULL, s->tr, on_sent, p);
  if (rc < 0) {
    s->pending--;
    dx_conn_unref (s->conn);
    free (p);
    if (rc == DX_ECANCELED)
      dx_socket_client_error (s, "shutting_down", "the server is shutting down");
    else if (rc == DX_ENOTCONN)
      dx_socket_client_error (s, "unavailable",
                              "the cluster's store (Redis) is not reachable: not stored");
    else if (rc == DX_EINVAL)
      dx_socket_client_error (s, "bad_request", "the message was refused");
    else
      dx_socket_client_error (s, "internal_error", "the message could not be stored");
  }
}

static void
on_ping (dx_socket_client *s, const dx_msg *m)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_pong (&b, m->has_t ? m->t : NULL, m->t_len, dx_wall_ms ());
  send_buffer (s, &b);
}

void
dx_socket_client_handle (dx_socket_client *s, const char *json, size_t len)
{
  dx_msg *m = malloc (sizeof *m); /* ~9 KiB: not on the stack */
  if (m == NULL) {
    dx_conn_close (s->conn);
    return;
  }
  dx_msg_error err;
  if (!dx_msg_decode (json, len, DX_MSG_FROM_CLIENT, m, &err)) {
    free (m);
    /* Before hello, anything that is not a hello is not_authenticated,
       * whatever else is wrong with it. */
    if (!s->authed && dx_msg_peek_type (json, len) != DX_MSG_HELLO) {
      dx_socket_client_error (s, "not_authenticated", "say hello first");
      return;
    }
    dx_socket_client_error (s, err.code, err.message);
    return;
  }
  if (!s->authed && m->type != DX_MSG_HELLO) {
    dx_socket_client_error (s, "not_authenticated", "say hello first");
    free (m);
    return;
  }
  if (s->ctx->shutting_down && m->type != DX_MSG_PING) {
    dx_socket_client_error (s, "shutting_down", "the server is shutting down");
    free (m);
    return;
  }
  switch (m->type) {
  case DX_MSG_HELLO: on_hello (s, m); break;
  case DX_MSG_JOIN: on_join (s, m); break;
  case DX_MSG_LEAVE: on_leave (s, m); break;
  case DX_MSG_SEND: on_send (s, m); break;
  case DX_MSG_PING: on_ping (s, m); break;
  default: dx_socket_client_error (s, "bad_request", "unexpected message type"); break;
  }
  free (m);
}
