/* The UDP transport (docs/protocol.md §8): the socket, the session table
 * keyed by the client's address, the hello, the cookie check, expiry and
 * the pacing timer. One session's life and output are udp-session.c.
 *
 * A datagram, in order:
 *   1. counted (datagrams in, bytes in, and the sender's amplification
 *      budget if it has a session: every datagram counts);
 *   2. over DX_UDP_DATAGRAM_MAX bytes: dropped; not one JSON object:
 *      dropped (never answered: an answer could be aimed at a victim);
 *   3. a hello: valid only if exactly DX_UDP_DATAGRAM_MAX bytes, with a
 *      token this server issued (a nick is not enough) and the password
 *      if one is set; anything else gets no answer. From an address with
 *      a session, the same token gets the same welcome again (the first
 *      was lost); from a new address it makes a session;
 *   4. anything else needs a session and its cookie: without a session,
 *      or with the cookie missing or wrong, it is dropped. The right
 *      cookie lifts the amplification bound and keeps the session alive;
 *      the object then goes to the socket client, as on WebSocket/TCP.
 * Every drop is counted by reason in /metrics. */
#include "server/udp-server.h"

#include "server/udp-private.h"

#include "protocol/message.h"
#include "protocol/secret.h"
#include "server/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hash chains: a power of two, a quarter of the session bound. */
#define DX_UDP_BUCKETS 4096u

static size_t
bucket_of (uint64_t hash)
{
  return (size_t) (hash & (DX_UDP_BUCKETS - 1u));
}

static dx_udp_session *
find_session (dx_udp_server *us, const dx_addr *addr, uint64_t hash)
{
  for (dx_udp_session *s = us->buckets[bucket_of (hash)]; s; s = s->hnext)
    if (s->hash == hash && dx_addr_equal (&s->addr, addr))
      return s;
  return NULL;
}

void
dx_udp_server_link (dx_udp_server *us, dx_udp_session *s)
{
  s->hash = dx_addr_hash (&s->addr);
  size_t b = bucket_of (s->hash);
  s->hnext = us->buckets[b];
  us->buckets[b] = s;
  s->prev = NULL;
  s->next = us->all;
  if (us->all)
    us->all->prev = s;
  us->all = s;
  s->linked = true;
  us->n_sessions++;
}

void
dx_udp_server_unlink (dx_udp_server *us, dx_udp_session *s)
{
  if (!s->linked)
    return;
  s->linked = false;
  dx_udp_session **pp = &us->buckets[bucket_of (s->hash)];
  while (*pp && *pp != s)
    pp = &(*pp)->hnext;
  if (*pp)
    *pp = s->hnext;
  if (s->prev)
    s->prev->next = s->next;
  else
    us->all = s->next;
  if (s->next)
    s->next->prev = s->prev;
  s->prev = s->next = NULL;
  if (s->pacing) {
    dx_udp_session **qp = &us->paced;
    while (*qp && *qp != s)
      qp = &(*qp)->pnext;
    if (*qp)
      *qp = s->pnext;
    s->pacing = false;
  }
  us->n_sessions--;
}

/* ---- pacing and expiry ---- */

static void
on_pace (dx_timer *t)
{
  dx_udp_server *us = dx_handle_data (DX_HANDLE (t));
  /* This tick's list is taken whole; a session with output left after
   * its burst is listed again for the next tick. Sessions are freed only
   * after their close callbacks, so a session closed meanwhile is still
   * readable here (and paces nothing). */
  dx_udp_session *list = us->paced;
  us->paced = NULL;
  for (dx_udp_session *s = list, *next; s; s = next) {
    next = s->pnext;
    s->pacing = false;
    if (dx_udp_session_pace (s))
      dx_udp_server_want_pacing (us, s);
  }
  if (us->paced == NULL)
    dx_timer_stop (t);
}

void
dx_udp_server_want_pacing (dx_udp_server *us, dx_udp_session *s)
{
  if (!s->pacing && s->linked) {
    s->pacing = true;
    s->pnext = us->paced;
    us->paced = s;
  }
  if (us->pace && !dx_timer_is_active (us->pace))
    dx_timer_start (us->pace, DX_UDP_PACE_MS, DX_UDP_PACE_MS, on_pace);
}

static void
on_sweep (dx_timer *t)
{
  dx_udp_server *us = dx_handle_data (DX_HANDLE (t));
  uint64_t now = dx_loop_now_ms (us->ctx->loop);
  for (dx_udp_session *s = us->all, *next; s; s = next) {
    next = s->next; /* closing unlinks s */
    if (now - s->last_seen_ms >= DX_UDP_IDLE_MS) {
      char name[64] = "?";
      dx_addr_format (&s->addr, name, sizeof name);
      dx_log_debug ("udp session %s (%s) expired", name, s->client.nick);
      us->m->sessions_expired++;
      dx_conn_close (&s->base);
    }
  }
}

/* ---- datagrams ---- */

static void
drop (dx_udp_server *us, dx_udp_drop reason)
{
  us->m->dropped[reason]++;
}

static bool
password_ok (const dx_udp_server *us, const dx_msg *m)
{
  const char *want = us->ctx->cfg->password;
  return want == NULL || (m->has_password && dx_secret_equal (m->password, want));
}

static void
on_hello (dx_udp_server *us, dx_udp_session *s, const dx_addr *from, const char *data, size_t n,
          const dx_udp_dgram *d)
{
  if (n != DX_UDP_DATAGRAM_MAX) {
    drop (us, DX_UDP_DROP_BAD_HELLO); /* unpadded: an amplification probe */
    return;
  }
  dx_msg *m = malloc (sizeof *m); /* ~9 KiB: not on the stack */
  if (m == NULL)
    return;
  if (!dx_msg_decode (data, n, DX_MSG_FROM_CLIENT, m, NULL) || m->type != DX_MSG_HELLO
      || !m->has_token || !password_ok (us, m)) {
    drop (us, DX_UDP_DROP_BAD_HELLO);
    free (m);
    return;
  }
  const char *nick = dx_poster_token_nick (us->ctx->poster, m->token);
  if (nick == NULL) {
    drop (us, DX_UDP_DROP_UNKNOWN_TOKEN);
  } else if (s != NULL) {
    /* The welcome was lost: the same one again. Another token from this
     * address, or a wrong cookie, is not this session's. */
    if (strcmp (s->token, m->token) != 0
        || (d->has_cookie && !dx_udp_cookie_matches (d, s->cookie)))
      drop (us, DX_UDP_DROP_BAD_HELLO);
    else {
      s->last_seen_ms = dx_loop_now_ms (us->ctx->loop);
      dx_udp_session_rewelcome (s);
    }
  } else if (us->n_sessions >= DX_UDP_SESSIONS_MAX) {
    drop (us, DX_UDP_DROP_SESSIONS_FULL);
  } else {
    char nick_copy[DX_NICK_MAX + 1];
    snprintf (nick_copy, sizeof nick_copy, "%s", nick);
    if (dx_udp_session_new (us, from, n, nick_copy, m->token) != NULL
        && dx_log_get_level () >= DX_LOG_DEBUG) {
      char name[64] = "?";
      dx_addr_format (from, name, sizeof name);
      dx_log_debug ("udp session %s (%s) started", name, nick_copy);
    }
  }
  free (m);
}

static void
on_datagram (dx_udp_server *us, const char *data, size_t n, const dx_addr *from, bool truncated)
{
  us->m->datagrams_in++;
  us->ctx->metrics->bytes_in[DX_TR_UDP] += n;
  if (us->stopped) {
    drop (us, DX_UDP_DROP_SHUTTING_DOWN);
    return;
  }
  uint64_t hash = dx_addr_hash (from);
  dx_udp_session *s = find_session (us, from, hash);
  if (s)
    dx_udp_budget_received (&s->budget, n);
  if (truncated || n > DX_UDP_DATAGRAM_MAX) {
    drop (us, DX_UDP_DROP_TOO_LARGE);
    return;
  }
  dx_udp_dgram d;
  dx_udp_dgram_read (data, n, &d);
  if (d.kind == DX_UDP_DGRAM_MALFORMED) {
    drop (us, DX_UDP_DROP_MALFORMED);
    return;
  }
  if (d.kind == DX_UDP_DGRAM_HELLO) {
    on_hello (us, s, from, data, n, &d);
    return;
  }
  if (s == NULL) {
    drop (us, DX_UDP_DROP_NO_SESSION);
    return;
  }
  if (!dx_udp_cookie_matches (&d, s->cookie)) {
    drop (us, DX_UDP_DROP_BAD_COOKIE);
    return;
  }
  dx_udp_budget_validate (&s->budget);
  s->last_seen_ms = dx_loop_now_ms (us->ctx->loop);
  us->ctx->metrics->msgs_in[DX_TR_UDP]++;
  dx_socket_client_handle (&s->client, data, n);
}

static void
on_recv (dx_udp *sock, ptrdiff_t n, const char *data, const dx_addr *from, unsigned flags)
{
  dx_udp_server *us = dx_handle_data (DX_HANDLE (sock));
  if (n < 0) {
    dx_log_debug ("udp receive: %s", dx_strerror ((int) n));
    return;
  }
  on_datagram (us, data, (size_t) n, from, (flags & DX_UDP_TRUNCATED) != 0);
}

/* ---- life ---- */

static void
on_handle_closed (dx_handle *h)
{
  dx_udp_server *us = dx_handle_data (h);
  if (--us->handles_open == 0) {
    free (us->buckets);
    free (us);
  }
}

static dx_timer *
timer_new (dx_udp_server *us)
{
  dx_timer *t = dx_timer_new (us->ctx->loop);
  if (t) {
    dx_handle_set_data (DX_HANDLE (t), us);
    us->handles_open++;
  }
  return t;
}

dx_udp_server *
dx_udp_server_new (dx_conn_ctx *ctx, const char *addr, char *err, size_t errlen)
{
  dx_udp_server *us = calloc (1, sizeof *us);
  dx_udp_session **buckets = calloc (DX_UDP_BUCKETS, sizeof *buckets);
  if (us == NULL || buckets == NULL) {
    free (us);
    free (buckets);
    snprintf (err, errlen, "out of memory");
    return NULL;
  }
  us->ctx = ctx;
  us->m = &ctx->metrics->udp;
  us->buckets = buckets;
  int rc = dx_udp_bind (ctx->loop, addr, &us->sock);
  if (rc < 0) {
    snprintf (err, errlen, "cannot bind UDP %s: %s", addr, dx_strerror (rc));
    free (buckets);
    free (us);
    return NULL;
  }
  dx_handle_set_data (DX_HANDLE (us->sock), us);
  us->handles_open = 1;
  /* Bursts of hellos or sends should not be lost in the kernel before
   * the loop reads them (the system may cap the size). */
  dx_udp_set_buffers (us->sock, 1024 * 1024, 1024 * 1024);
  us->port = dx_udp_port (us->sock);
  if (dx_udp_name (us->sock, us->name, sizeof us->name) < 0)
    snprintf (us->name, sizeof us->name, "%s", addr);
  us->sweep = timer_new (us);
  us->pace = timer_new (us);
  /* Read one byte more than a datagram may hold, so a longer one is
   * seen whole-or-truncated either way and dropped. */
  rc = us->sweep && us->pace ? dx_udp_recv_start (us->sock, DX_UDP_DATAGRAM_MAX + 1, on_recv)
                             : DX_ENOMEM;
  if (rc < 0) {
    snprintf (err, errlen, "cannot read UDP %s: %s", addr, dx_strerror (rc));
    dx_udp_server_free (us);
    return NULL;
  }
  dx_timer_start (us->sweep, DX_UDP_SWEEP_MS, DX_UDP_SWEEP_MS, on_sweep);
  return us;
}

int
dx_udp_server_port (const dx_udp_server *us)
{
  return us->port;
}

const char *
dx_udp_server_name (const dx_udp_server *us)
{
  return us->name;
}

void
dx_udp_server_shutdown (dx_udp_server *us)
{
  us->stopped = true;
}

void
dx_udp_server_free (dx_udp_server *us)
{
  if (us == NULL)
    return;
  us->stopped = true;
  /* Sessions still linked (not closed through the context) go now. */
  while (us->all)
    dx_conn_close (&us->all->base);
  if (us->pace)
    dx_close (DX_HANDLE (us->pace), on_handle_closed);
  if (us->sweep)
    dx_close (DX_HANDLE (us->sweep), on_handle_closed);
  dx_close (DX_HANDLE (us->sock), on_handle_closed);
}
