/* duplexd wiring: the loop, the listeners, the store, the hub, the
 * connections, start-up (ready file, log line) and graceful shutdown. */
#ifndef DX_SERVER_SERVER_H
#define DX_SERVER_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "platform/loop.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/limiter.h"
#include "server/metrics.h"
#include "server/poster.h"

typedef struct dx_ticker dx_ticker;
typedef struct dx_udp_server dx_udp_server;

typedef struct dx_server {
  dx_loop *loop;
  const dx_config *cfg;
  dx_hub *hub;
  dx_poster poster; /* owns the store */
  dx_metrics metrics;
  dx_limiter limits;
  dx_conn_ctx ctx; /* what connections see of all this */
  dx_listener *http_listener, *tcp_listener;
  int http_port, tcp_port;
  char http_name[64], tcp_name[64];
  dx_udp_server *udp;   /* --udp; NULL when off */
  char udp_name[72];    /* " udp=ADDR:PORT" for the listening line, or "" */
  char server_name[48]; /* "duplexd/<version>" */
  char epoch[72];       /* copy of the store's epoch */
  char node_id[72];     /* --redis: --node-id, or the HTTP listener's HOST:PORT */
  dx_ticker *tickers;
  dx_tcp_watch *tcp_watch; /* TIME_WAIT & co. of the listeners' ports */
  dx_timer *shutdown_timer;
  bool shutdown_forced;
  uint64_t shutdown_started;
  int exit_code;
} dx_server;

/* Opens the store, binds both listeners, writes the ready file and logs
 * the listening line. On failure returns NULL with a one-line reason in
 * err and *exit_code 1 (runtime error). */
dx_server *dx_server_new (dx_loop *loop, const dx_config *cfg, char *err, size_t errlen,
                          int *exit_code);
/* Runs the loop until the server has shut down; returns the exit status. */
int dx_server_run (dx_server *srv);
/* Starts the graceful shutdown (also what SIGINT/SIGTERM do). */
void dx_server_shutdown (dx_server *srv);
void dx_server_free (dx_server *srv);

#endif
