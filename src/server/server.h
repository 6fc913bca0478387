/* duplexd wiring: the loop, the listeners, the store, the hub, the
 * connections, start-up (ready file, log line) and graceful shutdown. */
#ifndef DX_SERVER_SERVER_H
#define DX_SERVER_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "platform/loop.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/store.h"

typedef struct dx_hub dx_hub;
typedef struct dx_conn dx_conn;
typedef struct dx_ticker dx_ticker;

/* Output bounds per connection (bytes queued and not yet in the kernel).
 * A live subscriber is disconnected (it resumes with since) when its queue
 * is over DX_CONN_OUT_LIMIT, or has stayed over DX_CONN_OUT_SOFT for
 * DX_CONN_OUT_SOFT_MS: a burst (one group commit can carry thousands of
 * messages) is absorbed, a reader that does not keep up is not. The bytes
 * themselves are shared between subscribers; the bound is per queue. */
#define DX_CONN_OUT_LIMIT (8u * 1024u * 1024u)
#define DX_CONN_OUT_SOFT (1024u * 1024u)
#define DX_CONN_OUT_SOFT_MS 5000u

typedef struct dx_server {
  dx_loop *loop;
  const dx_config *cfg;
  dx_store *store; /* NULL once closed during shutdown */
  dx_hub *hub;
  dx_metrics metrics;
  dx_listener *http_listener, *tcp_listener;
  int http_port, tcp_port;
  char http_name[64], tcp_name[64];
  char server_name[48]; /* "duplexd/<version>" */
  char epoch[72];       /* copy of the store's epoch */
  dx_conn *conns;       /* every open connection (for shutdown) */
  size_t n_conns;
  dx_ticker *tickers;
  dx_timer *shutdown_timer;
  bool shutting_down;
  bool shutdown_forced;
  uint64_t shutdown_started;
  uint64_t token_counter; /* mixed into token entropy */
  int exit_code;
} dx_server;

/* Opens the store, binds both listeners, writes the ready file and logs
 * the listening line. On failure returns NULL with a one-line reason in
 * err and *exit_code 1 (runtime error). */
dx_server *dx_server_new (dx_loop *loop, const dx_config *cfg, char *err,
                          size_t errlen, int *exit_code);
/* Runs the loop until the server has shut down; returns the exit status. */
int dx_server_run (dx_server *srv);
/* Starts the graceful shutdown (also what SIGINT/SIGTERM do). */
void dx_server_shutdown (dx_server *srv);
void dx_server_free (dx_server *srv);

/* Posts a chat message through the store: cb answers the sender (ack or
 * 201) and runs FIRST, then a new message is fanned out to the room and
 * counted as received on transport tr. Same returns as dx_store_append,
 * plus DX_ECANCELED while shutting down (store closed). */
typedef void (*dx_post_cb) (void *arg, int status, const dx_stored_msg *msg,
                            bool duplicate);
int dx_server_post (dx_server *srv, const char *room, const char *from,
                    const char *token, const char *text, size_t text_len,
                    const char *cid, dx_transport tr, dx_post_cb cb, void *arg);
/* A new token bound to nick (stored); false on failure. */
bool dx_server_new_token (dx_server *srv, const char *nick, char *out,
                          size_t outlen);

#endif
