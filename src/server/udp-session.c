/* One UDP session (docs/protocol.md §8): a dx_conn without a stream and a
 * socket client (socket-client.c, the same code as WebSocket and raw TCP)
 * whose output goes out one JSON object per datagram:
 *
 *  - answers and live messages are sent at once, each object its own
 *    datagram (the NDJSON line every TCP subscriber shares, minus its
 *    newline: encoded once per message for both transports);
 *  - a paced replay (replay.c, join with since) hands over batches of
 *    NDJSON lines through the conn's sink; they wait in the session's
 *    paced queue and go out DX_UDP_PACE_BURST datagrams per
 *    DX_UDP_PACE_MS, one per line; the batch's completion (which makes
 *    replay.c read the next one) runs when its last line is out;
 *  - an object over DX_UDP_DATAGRAM_MAX bytes is not sent (the client sees
 *    the gap); before the cookie came back, nothing goes out beyond the
 *    amplification budget (udp-rules.h);
 *  - errors never end a session: the policy close of other transports is
 *    a no-op here; a session ends by expiry or shutdown. */
#include "server/udp-private.h"

#include "protocol/message.h"
#include "server/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct udp_paced {
  udp_paced *next;
  dx_shared_buf *sb; /* NDJSON lines */
  size_t off;        /* first byte not yet sent */
  void (*done) (void *arg, int status);
  void *arg;
};

/* ---- sending ---- */

static void
on_datagram_sent (dx_udp *sock, int status, void *arg)
{
  (void) sock;
  (void) status; /* a lost datagram is what UDP does: counted at send time */
  dx_shared_buf_unref (arg);
}

bool
dx_udp_session_send (dx_udp_session *s, const char *json, size_t len, dx_shared_buf *hold)
{
  dx_udp_server *us = s->srv;
  if (len > DX_UDP_DATAGRAM_MAX) {
    us->m->dropped[DX_UDP_DROP_OBJECT_TOO_LARGE]++;
    return false;
  }
  if (!dx_udp_budget_spend (&s->budget, len)) {
    us->m->dropped[DX_UDP_DROP_AMPLIFICATION]++;
    return false;
  }
  dx_buf b = dx_buf_init ((void *) json, len);
  dx_shared_buf_ref (hold);
  int rc = dx_udp_send (us->sock, &b, 1, &s->addr, on_datagram_sent, hold);
  if (rc < 0) {
    dx_shared_buf_unref (hold);
    us->m->dropped[DX_UDP_DROP_SEND_FAILED]++;
    return false;
  }
  us->m->datagrams_out++;
  us->ctx->metrics->bytes_out[DX_TR_UDP] += len;
  return true;
}

/* A copy of json, sent as one datagram. */
static bool
send_copy (dx_udp_session *s, const char *json, size_t len)
{
  dx_shared_buf *sb = dx_shared_buf_new (json, len);
  if (sb == NULL)
    return false;
  bool ok = dx_udp_session_send (s, sb->data, sb->len, sb);
  dx_shared_buf_unref (sb);
  return ok;
}

/* ---- the socket client's transport ops ---- */

static dx_udp_session *
session_of (dx_socket_client *c)
{
  return (dx_udp_session *) c->conn;
}

static bool
udp_send_json (dx_socket_client *c, const char *json, size_t len)
{
  dx_udp_session *s = session_of (c);
  return !s->base.closing && send_copy (s, json, len);
}

static bool
udp_send_event (dx_socket_client *c, dx_shared_event *e, bool live)
{
  (void) live; /* no backpressure: a datagram the network cannot take is lost */
  dx_udp_session *s = session_of (c);
  dx_shared_buf *line = dx_shared_event_line (e);
  if (s->base.closing || line == NULL || line->len == 0)
    return false;
  return dx_udp_session_send (s, line->data, line->len - 1, line);
}

static dx_shared_buf *
udp_frame (dx_socket_client *c, dx_shared_event *e)
{
  (void) c;
  return dx_shared_event_line (e); /* the sink splits the batch at newlines */
}

static void
udp_close_policy (dx_socket_client *c, const char *reason)
{
  /* docs/protocol.md §8: errors never end a UDP session. */
  dx_log_debug ("udp session %s: %s (kept: errors never end a UDP session)", c->nick, reason);
}

static const dx_socket_client_ops udp_client_ops = {
  udp_send_json,
  udp_send_event,
  udp_frame,
  udp_close_policy,
};

/* ---- pacing (the conn's sink) ---- */

static bool
udp_sink (dx_conn *c, dx_shared_buf *sb, void (*done) (void *arg, int status), void *arg)
{
  dx_udp_session *s = (dx_udp_session *) c;
  udp_paced *p = malloc (sizeof *p);
  if (p == NULL)
    return false;
  p->next = NULL;
  p->sb = dx_shared_buf_ref (sb);
  p->off = 0;
  p->done = done;
  p->arg = arg;
  if (s->paced_tail)
    s->paced_tail->next = p;
  else
    s->paced_head = p;
  s->paced_tail = p;
  dx_udp_server_want_pacing (s->srv, s);
  return true;
}

/* Removes the head of the paced queue and completes it with status. */
static void
paced_pop (dx_udp_session *s, int status)
{
  udp_paced *p = s->paced_head;
  s->paced_head = p->next;
  if (s->paced_head == NULL)
    s->paced_tail = NULL;
  dx_shared_buf_unref (p->sb);
  void (*done) (void *, int) = p->done;
  void *arg = p->arg;
  free (p);
  if (done)
    done (arg, status); /* may queue the next batch (udp_sink) */
}

bool
dx_udp_session_pace (dx_udp_session *s)
{
  int sent = 0;
  while (s->paced_head && sent < DX_UDP_PACE_BURST && !s->base.closing) {
    udp_paced *p = s->paced_head;
    if (p->off >= p->sb->len) {
      paced_pop (s, 0);
      continue;
    }
    const char *line = p->sb->data + p->off;
    const char *nl = memchr (line, '\n', p->sb->len - p->off);
    size_t len = nl ? (size_t) (nl - line) : p->sb->len - p->off;
    p->off += len + (nl ? 1 : 0);
    if (len > 0) {
      dx_udp_session_send (s, line, len, p->sb);
      sent++;
    }
  }
  /* A batch whose last line just went is complete now, not a tick later. */
  while (s->paced_head && s->paced_head->off >= s->paced_head->sb->len && !s->base.closing)
    paced_pop (s, 0);
  return s->paced_head != NULL && !s->base.closing;
}

/* ---- the conn's ops ---- */

static void
udp_on_read (dx_conn *c, const char *data, size_t n)
{
  (void) c;
  (void) data;
  (void) n; /* datagrams come through udp-server.c, never a stream */
}

static void
udp_on_end (dx_conn *c, int status)
{
  (void) status;
  dx_conn_close (c);
}

static void
udp_on_timer (dx_conn *c)
{
  (void) c; /* never armed: the server's sweep expires sessions */
}

static void
udp_on_shutdown (dx_conn *c)
{
  dx_udp_session *s = (dx_udp_session *) c;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  if (dx_encode_error (&b, "shutting_down", "the server is shutting down") && !b.failed)
    send_copy (s, b.data, b.len);
  dx_buffer_free (&b);
  dx_conn_close (c);
}

static void
udp_on_closing (dx_conn *c)
{
  dx_udp_session *s = (dx_udp_session *) c;
  dx_socket_client_leave_all (&s->client);
  dx_udp_server_unlink (s->srv, s);
  while (s->paced_head)
    paced_pop (s, DX_ECANCELED);
}

static void
udp_destroy (dx_conn *c)
{
  dx_udp_session *s = (dx_udp_session *) c;
  dx_shared_buf_unref (s->welcome);
  free (s);
}

static const dx_conn_ops udp_conn_ops = {
  udp_on_read, udp_on_end, udp_on_timer, udp_on_shutdown, udp_on_closing, udp_destroy,
};

/* ---- life ---- */

/* {"type":"welcome",...,"cookie":"<hex>"}: the welcome of docs/protocol.md
 * §5 with the session's cookie as its last member (hex needs no escape). */
static dx_shared_buf *
welcome_new (dx_udp_session *s)
{
  const dx_conn_ctx *ctx = s->base.ctx;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  if (!dx_encode_welcome_epoch (&b, s->client.nick, s->client.token, ctx->server_name, ctx->epoch)
      || b.failed || b.len < 2 || b.data[b.len - 1] != '}') {
    dx_buffer_free (&b);
    return NULL;
  }
  b.len--; /* the closing brace */
  dx_buffer_printf (&b, ",\"cookie\":\"%s\"}", s->cookie);
  dx_shared_buf *sb = dx_shared_buf_from_buffer (&b);
  dx_buffer_free (&b);
  return sb;
}

dx_udp_session *
dx_udp_session_new (dx_udp_server *us, const dx_addr *addr, size_t hello_len, const char *nick,
                    const char *token)
{
  dx_udp_session *s = calloc (1, sizeof *s);
  if (s == NULL)
    return NULL;
  if (dx_udp_cookie_new (s->cookie) < 0) {
    free (s);
    return NULL;
  }
  dx_conn_init_sink (&s->base, us->ctx, &udp_conn_ops, udp_sink, DX_TR_UDP);
  dx_socket_client_init (&s->client, &s->base, &udp_client_ops, DX_TR_UDP);
  s->srv = us;
  s->addr = *addr;
  dx_udp_budget_received (&s->budget, hello_len);
  s->last_seen_ms = dx_loop_now_ms (us->ctx->loop);
  snprintf (s->client.nick, sizeof s->client.nick, "%s", nick);
  snprintf (s->client.token, sizeof s->client.token, "%s", token);
  snprintf (s->token, sizeof s->token, "%s", token);
  s->client.authed = true;
  dx_udp_server_link (us, s);
  s->welcome = welcome_new (s);
  if (s->welcome == NULL) {
    dx_conn_close (&s->base);
    return NULL;
  }
  dx_udp_session_rewelcome (s);
  return s;
}

void
dx_udp_session_rewelcome (dx_udp_session *s)
{
  if (s->welcome && !s->base.closing)
    dx_udp_session_send (s, s->welcome->data, s->welcome->len, s->welcome);
}
