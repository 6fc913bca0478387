#include "server/redis-conn.h"

#include "platform/random.h"
#include "protocol/compiler.h"
#include "server/log.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 100
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define KEEPALIVE_MS 1000
#define READ_BUF 16384

typedef struct pending {
  struct pending *next;
  dx_redis_reply_fn cb;
  void *arg;
} pending;

typedef enum { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_UP } conn_state;

struct dx_redis {
  dx_loop *loop;
  dx_redis_url url;
  dx_redis_options opt;
  const dx_redis_ops *ops;
  void *arg;
  dx_stream *stream; /* the current connection, NULL while idle */
  dx_timer *timer;   /* every TICK_MS: reconnect, timeouts, keepalive */
  redisReader *reader;
  conn_state state;
  pending *head, **tail;
  size_t expect;       /* replies awaited (FIFO entries, or pushes on a subscriber) */
  uint64_t wait_since; /* since when an answer is awaited with none read (0: none) */
  /* Ticks that passed while an answer was awaited and none came. Counted
   * as well as the time: when the node itself was stalled (a busy or
   * starved process), the answers are waiting in the socket, and the one
   * late tick must not drop the connection before they are read. */
  unsigned wait_ticks;
  uint64_t last_rx;
  uint64_t attempt_at; /* idle: when to connect; connecting: when it began */
  uint64_t backoff_ms;
  unsigned handshake_left;
  unsigned open_handles;
  bool freeing;
  bool quiet; /* a failure was logged since the last up: log the next ones at debug */
  dx_redis_stats stats;
  char rbuf[READ_BUF];
};

static void redis_drop (dx_redis *r, const char *fmt, ...) DX_PRINTF_FORMAT (2, 3);

static uint64_t
jitter (uint64_t ms)
{
  /* Uniform in [ms/2, ms]: nodes that lost Redis together do not all come
   * back in the same millisecond. */
  uint32_t v = 0;
  if (dx_random_bytes (&v, sizeof v) < 0)
    v = (uint32_t) dx_monotonic_us ();
  return ms / 2 + v % (ms / 2 + 1);
}

static void
maybe_free (dx_redis *r)
{
  if (r->freeing && r->open_handles == 0) {
    free (r);
  }
}

static void
on_handle_closed (dx_handle *h)
{
  dx_redis *r = dx_handle_data (h);
  r->open_handles--;
  maybe_free (r);
}

static void
fail_pending (dx_redis *r)
{
  pending *p = r->head;
  r->head = NULL;
  r->tail = &r->head;
  r->expect = 0;
  r->wait_since = 0;
  while (p) {
    pending *next = p->next;
    if (p->cb)
      p->cb (p->arg, NULL);
    free (p);
    p = next;
  }
}

static void
redis_drop (dx_redis *r, const char *fmt, ...)
{
  char why[256];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (why, sizeof why, fmt, ap);
  va_end (ap);
  bool was_up = r->state == ST_UP;
  if (r->stream) {
    dx_close (DX_HANDLE (r->stream), on_handle_closed);
    r->stream = NULL;
  }
  if (r->reader) {
    redisReaderFree (r->reader);
    r->reader = NULL;
  }
  r->state = ST_IDLE;
  r->stats.failures++;
  if (r->backoff_ms == 0)
    r->backoff_ms = BACKOFF_MIN_MS;
  uint64_t delay = jitter (r->backoff_ms);
  r->attempt_at = dx_loop_now_ms (r->loop) + delay;
  if (r->backoff_ms < BACKOFF_MAX_MS)
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
  if (!r->quiet)
    dx_log_warn ("%s %s: %s; retrying", r->opt.name, r->url.addr, why);
  else
    dx_log_debug ("%s %s: %s; retrying in %llu ms", r->opt.name, r->url.addr, why,
                  (unsigned long long) delay);
  r->quiet = true;
  fail_pending (r);
  if (was_up && r->ops->down && !r->freeing)
    r->ops->down (r->arg, why);
}

void
dx_redis_reset (dx_redis *r, const char *why)
{
  if (r->state != ST_IDLE)
    redis_drop (r, "%s", why);
}

static void
on_written (dx_stream *s, int status, void *arg)
{
  (void) s;
  (void) status; /* a failed write shows up as a read error or a timeout */
  redisFreeCommand (arg);
}

static int
send_raw (dx_redis *r, char *cmd, long long len, dx_redis_reply_fn cb, void *arg, bool fifo)
{
  pending *p = NULL;
  if (fifo) {
    p = malloc (sizeof *p);
    if (p == NULL) {
      redisFreeCommand (cmd);
      return DX_ENOMEM;
    }
    p->next = NULL;
    p->cb = cb;
    p->arg = arg;
  }
  dx_buf b = dx_buf_init (cmd, (size_t) len);
  int rc = dx_write (r->stream, &b, 1, on_written, cmd);
  if (rc < 0) {
    redisFreeCommand (cmd);
    free (p);
    return rc;
  }
  if (p) {
    *r->tail = p;
    r->tail = &p->next;
  }
  if (r->expect++ == 0) {
    r->wait_since = dx_loop_now_ms (r->loop);
    r->wait_ticks = 0;
  }
  r->stats.commands++;
  return 0;
}

static int
send_argv (dx_redis *r, int argc, const char **argv, const size_t *argvlen, dx_redis_reply_fn cb,
           void *arg, bool fifo)
{
  char *cmd = NULL;
  long long len = redisFormatCommandArgv (&cmd, argc, argv, argvlen);
  if (len < 0 || cmd == NULL)
    return DX_ENOMEM;
  return send_raw (r, cmd, len, cb, arg, fifo);
}

int
dx_redis_command_argv (dx_redis *r, int argc, const char **argv, const size_t *argvlen,
                       dx_redis_reply_fn cb, void *arg)
{
  if (r->state != ST_UP || r->freeing)
    return DX_ENOTCONN;
  if (r->opt.subscriber && cb)
    return DX_EINVAL;
  return send_argv (r, argc, argv, argvlen, cb, arg, !r->opt.subscriber);
}

bool
dx_redis_is_up (const dx_redis *r)
{
  return r->state == ST_UP;
}

void
dx_redis_get_stats (const dx_redis *r, dx_redis_stats *out)
{
  *out = r->stats;
}

/* ---- handshake ---- */

static void
on_handshake_reply (void *arg, const redisReply *reply)
{
  dx_redis *r = arg;
  if (reply == NULL)
    return; /* the connection is already being dropped */
  if (reply->type == REDIS_REPLY_ERROR) {
    redis_drop (r, "the handshake was refused: %s", reply->str);
    return;
  }
  if (--r->handshake_left > 0)
    return;
  r->state = ST_UP;
  r->backoff_ms = 0;
  r->stats.connects++;
  if (r->quiet)
    dx_log_info ("%s %s: connected", r->opt.name, r->url.addr);
  else
    dx_log_debug ("%s %s: connected", r->opt.name, r->url.addr);
  r->quiet = false;
  if (r->ops->up)
    r->ops->up (r->arg);
}

static void
start_handshake (dx_redis *r)
{
  r->state = ST_HANDSHAKE;
  r->handshake_left = 0;
  int rc = 0;
  if (r->url.has_password) {
    const char *argv[3] = { "AUTH", r->url.user, r->url.password };
    size_t lens[3] = { 4, strlen (r->url.user), strlen (r->url.password) };
    /* AUTH PASSWORD for the default user; AUTH USER PASSWORD (ACL) else. */
    if (r->url.user[0])
      rc = send_argv (r, 3, argv, lens, on_handshake_reply, r, true);
    else {
      const char *a2[2] = { "AUTH", r->url.password };
      size_t l2[2] = { 4, lens[2] };
      rc = send_argv (r, 2, a2, l2, on_handshake_reply, r, true);
    }
    r->handshake_left++;
  }
  if (rc == 0 && r->url.db != 0) {
    char db[16];
    snprintf (db, sizeof db, "%d", r->url.db);
    const char *argv[2] = { "SELECT", db };
    size_t lens[2] = { 6, strlen (db) };
    rc = send_argv (r, 2, argv, lens, on_handshake_reply, r, true);
    r->handshake_left++;
  }
  if (rc == 0) {
    /* PING last: the connection is up once Redis has answered something. */
    const char *argv[1] = { "PING" };
    size_t lens[1] = { 4 };
    rc = send_argv (r, 1, argv, lens, on_handshake_reply, r, true);
    r->handshake_left++;
  }
  if (rc < 0)
    redis_drop (r, "cannot send the handshake: %s", dx_strerror (rc));
}

/* ---- reading ---- */

static void
on_alloc (dx_stream *s, size_t suggested, dx_buf *buf)
{
  dx_redis *r = dx_handle_data (DX_HANDLE (s));
  (void) suggested;
  *buf = dx_buf_init (r->rbuf, sizeof r->rbuf);
}

static bool
is_message_push (const redisReply *reply)
{
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1
      || reply->element[0]->type != REDIS_REPLY_STRING)
    return false;
  const char *k = reply->element[0]->str;
  return strcmp (k, "message") == 0 || strcmp (k, "pmessage") == 0;
}

static void
dispatch (dx_redis *r, redisReply *reply)
{
  if (r->opt.subscriber && r->state == ST_UP) {
    /* Messages are not answers: only the others settle an awaited reply. */
    if (!is_message_push (reply) && r->expect > 0)
      r->expect--;
    if (r->ops->push)
      r->ops->push (r->arg, reply);
    return;
  }
  pending *p = r->head;
  if (p == NULL) {
    redis_drop (r, "an answer nobody asked for");
    return;
  }
  r->head = p->next;
  if (r->head == NULL)
    r->tail = &r->head;
  r->expect--;
  if (p->cb)
    p->cb (p->arg, reply);
  free (p);
}

static void
on_read (dx_stream *s, ptrdiff_t n, const dx_buf *buf)
{
  dx_redis *r = dx_handle_data (DX_HANDLE (s));
  if (s != r->stream)
    return;
  if (n < 0) {
    redis_drop (r, "%s", n == DX_EOF ? "connection closed by Redis" : dx_strerror ((int) n));
    return;
  }
  r->last_rx = dx_loop_now_ms (r->loop);
  if (redisReaderFeed (r->reader, buf->base, (size_t) n) != REDIS_OK) {
    redis_drop (r, "cannot buffer the answer");
    return;
  }
  for (;;) {
    void *reply = NULL;
    if (redisReaderGetReply (r->reader, &reply) != REDIS_OK) {
      redis_drop (r, "protocol error: %s", r->reader->errstr);
      return;
    }
    if (reply == NULL)
      break;
    dispatch (r, reply);
    freeReplyObject (reply);
    if (s != r->stream) /* dropped (or freed) from a callback */
      return;
  }
  r->wait_since = r->expect > 0 ? r->last_rx : 0;
  r->wait_ticks = 0;
}

static void
on_connected (dx_stream *s, int status, void *arg)
{
  dx_redis *r = arg;
  if (s != r->stream)
    return;
  if (status < 0) {
    redis_drop (r, "cannot connect: %s", dx_strerror (status));
    return;
  }
  dx_tcp_nodelay (s, true);
  dx_tcp_keepalive (s, true, 30);
  r->reader = redisReaderCreate ();
  if (r->reader == NULL) {
    redis_drop (r, "out of memory");
    return;
  }
  int rc = dx_read_start (s, on_alloc, on_read);
  if (rc < 0) {
    redis_drop (r, "cannot read: %s", dx_strerror (rc));
    return;
  }
  r->last_rx = dx_loop_now_ms (r->loop);
  start_handshake (r);
}

static void
start_connect (dx_redis *r)
{
  dx_stream *s = NULL;
  r->state = ST_CONNECTING;
  r->attempt_at = dx_loop_now_ms (r->loop);
  int rc = dx_tcp_connect (r->loop, r->url.addr, on_connected, r, &s);
  if (s) {
    dx_handle_set_data (DX_HANDLE (s), r);
    r->open_handles++;
    r->stream = s;
  }
  if (rc < 0)
    redis_drop (r, "cannot connect: %s", dx_strerror (rc));
}

static void
send_keepalive (dx_redis *r)
{
  const char *argv[1] = { "PING" };
  size_t lens[1] = { 4 };
  int rc = send_argv (r, 1, argv, lens, NULL, NULL, !r->opt.subscriber);
  if (rc < 0)
    redis_drop (r, "cannot send a ping: %s", dx_strerror (rc));
}

static void
on_tick (dx_timer *t)
{
  dx_redis *r = dx_handle_data (DX_HANDLE (t));
  uint64_t now = dx_loop_now_ms (r->loop);
  switch (r->state) {
  case ST_IDLE:
    if (now >= r->attempt_at)
      start_connect (r);
    break;
  case ST_CONNECTING:
    if (now - r->attempt_at > r->opt.timeout_ms) {
      r->stats.timeouts++;
      redis_drop (r, "connecting timed out");
    }
    break;
  case ST_HANDSHAKE:
  case ST_UP:
    if (r->wait_since && ++r->wait_ticks * TICK_MS > r->opt.timeout_ms
        && now - r->wait_since > r->opt.timeout_ms) {
      r->stats.timeouts++;
      redis_drop (r, "no answer for %llu ms", (unsigned long long) (now - r->wait_since));
    } else if (r->state == ST_UP && r->expect == 0 && now - r->last_rx >= KEEPALIVE_MS)
      send_keepalive (r);
    break;
  }
}

dx_redis *
dx_redis_new (dx_loop *loop, const dx_redis_url *url, const dx_redis_options *opt,
              const dx_redis_ops *ops, void *arg)
{
  dx_redis *r = calloc (1, sizeof *r);
  if (r == NULL)
    return NULL;
  r->loop = loop;
  r->url = *url;
  r->opt = *opt;
  if (r->opt.timeout_ms == 0)
    r->opt.timeout_ms = 3000;
  if (r->opt.name == NULL)
    r->opt.name = "redis";
  r->ops = ops;
  r->arg = arg;
  r->tail = &r->head;
  r->timer = dx_timer_new (loop);
  if (r->timer == NULL) {
    free (r);
    return NULL;
  }
  r->open_handles++;
  dx_handle_set_data (DX_HANDLE (r->timer), r);
  dx_timer_start (r->timer, TICK_MS, TICK_MS, on_tick);
  start_connect (r);
  return r;
}

void
dx_redis_free (dx_redis *r)
{
  if (r == NULL)
    return;
  r->freeing = true;
  if (r->stream) {
    dx_close (DX_HANDLE (r->stream), on_handle_closed);
    r->stream = NULL;
  }
  if (r->reader) {
    redisReaderFree (r->reader);
    r->reader = NULL;
  }
  r->state = ST_IDLE;
  fail_pending (r);
  dx_close (DX_HANDLE (r->timer), on_handle_closed);
  r->timer = NULL;
}
