/* One connection to Redis over a platform stream (so the same code runs on
 * epoll, poll and IOCP). hiredis is used sans-I/O only: redisReader parses
 * replies, redisFormatCommandArgv encodes requests.
 *
 *  - Commands are pipelined; each reply goes to the callback of the oldest
 *    command still waiting (a FIFO), on the loop thread, never from inside
 *    the call that sent it.
 *  - On connect: AUTH (if the URL has a password), SELECT (if a db), then
 *    the connection is "up" (ops->up). Commands are refused while it is not.
 *  - A lost connection (EOF, error, a protocol error, or no answer within
 *    timeout_ms: a paused or dead Redis) fails every waiting command (its
 *    callback gets reply NULL: it may or may not have run), calls ops->down
 *    and reconnects after a jittered, doubling backoff (100 ms .. 5 s).
 *  - A subscriber connection (RESP2 pub/sub) hands every reply after the
 *    handshake to ops->push (subscribe confirmations, messages, pongs) and
 *    its commands take no callback. An idle connection is pinged each
 *    second, so a silent Redis is noticed within timeout_ms. */
#ifndef DX_SERVER_REDIS_CONN_H
#define DX_SERVER_REDIS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "platform/loop.h"
#include "server/redis-url.h"

typedef struct dx_redis dx_redis;

/* reply: the answer (valid during the call only; REDIS_REPLY_ERROR for a
 * Redis error), or NULL when the connection was lost first. */
typedef void (*dx_redis_reply_fn) (void *arg, const redisReply *reply);

typedef struct {
  void (*up) (void *arg);
  /* The connection was up and is lost; why is for the log. */
  void (*down) (void *arg, const char *why);
  /* Subscriber connections only. */
  void (*push) (void *arg, const redisReply *reply);
} dx_redis_ops;

typedef struct {
  const char *name; /* for the log, e.g. "redis" or "redis subscriber" */
  bool subscriber;
  uint64_t timeout_ms; /* 0: 3000 */
} dx_redis_options;

typedef struct {
  uint64_t connects; /* times the connection came up */
  uint64_t failures; /* connection attempts that failed or connections lost */
  uint64_t commands; /* commands sent */
  uint64_t timeouts; /* connections dropped because Redis did not answer */
} dx_redis_stats;

/* Starts connecting at once. NULL only when out of memory. */
dx_redis *dx_redis_new (dx_loop *loop, const dx_redis_url *url, const dx_redis_options *opt,
                        const dx_redis_ops *ops, void *arg);
bool dx_redis_is_up (const dx_redis *r);
/* Sends one command: 0 (cb runs exactly once later), DX_ENOTCONN when the
 * connection is not up, DX_ENOMEM. cb NULL: the reply is dropped (the only
 * form on a subscriber connection). */
int dx_redis_command_argv (dx_redis *r, int argc, const char **argv, const size_t *argvlen,
                           dx_redis_reply_fn cb, void *arg);
/* Drops the connection now (as if it were lost) and reconnects. */
void dx_redis_reset (dx_redis *r, const char *why);
void dx_redis_get_stats (const dx_redis *r, dx_redis_stats *out);
/* Fails every waiting command (reply NULL, from inside this call), closes
 * the stream; the memory goes once the handles have closed. No ops
 * callback runs after this. NULL is ok. */
void dx_redis_free (dx_redis *r);

#endif
