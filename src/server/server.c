#include "server/server.h"

#include "platform/fs.h"
#include "server/conn.h"
#include "server/http-api.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/tcp-conn.h"
#include "server/tcp-watch.h"
#include "server/ticker.h"
#ifdef DX_HAVE_REDIS
#include "server/cluster.h"
#endif
#include "server/udp-server.h"
#ifdef DX_HAVE_TLS
#include "server/tls-reload.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DUPLEX_VERSION
#define DUPLEX_VERSION "0.0.0"
#endif

/* Shutdown: polite goodbyes get this long before every connection is cut
 * (docs/protocol.md §1: exit within 5 s). */
#define DX_SHUTDOWN_GRACE_MS 2500
#define DX_SHUTDOWN_POLL_MS 20

/* ---- listeners ---- */

/* The server an accepted client is for, or NULL when it is not to be
 * served (the accept failed, or the server is shutting down: closed). */
static dx_server *
accepting_server (dx_listener *l, dx_stream *client, int status, const char *what)
{
  dx_server *srv = dx_handle_data (DX_HANDLE (l));
  if (status < 0) {
    dx_log_warn ("%s accept: %s", what, dx_strerror (status));
    return NULL;
  }
  if (srv->ctx.shutting_down) {
    dx_close (DX_HANDLE (client), NULL);
    return NULL;
  }
  return srv;
}

static void
on_http_accept (dx_listener *l, dx_stream *client, int status)
{
  dx_server *srv = accepting_server (l, client, status, "http");
  if (srv)
    dx_http_api_accept (&srv->ctx, client);
}

static void
on_tcp_accept (dx_listener *l, dx_stream *client, int status)
{
  dx_server *srv = accepting_server (l, client, status, "tcp");
  if (srv)
    dx_tcp_conn_accept (&srv->ctx, client);
}

static bool
listen_on (dx_server *srv, const char *addr, dx_accept_cb cb, dx_listener **out, int *port,
           char *name, size_t namelen, char *err, size_t errlen)
{
  int rc = dx_tcp_listen (srv->loop, addr, 511, cb, out);
  if (rc < 0) {
    snprintf (err, errlen, "cannot listen on %s: %s", addr, dx_strerror (rc));
    *out = NULL;
    return false;
  }
  dx_handle_set_data (DX_HANDLE (*out), srv);
  *port = dx_listener_port (*out);
  if (dx_listener_name (*out, name, namelen) < 0)
    snprintf (name, namelen, "%s", addr);
  return true;
}

/* ---- TCP states of the listeners' ports (TIME_WAIT) ---- */

/* A server that cannot watch still serves: the numbers are then missing
 * from /metrics and /api/v1/info. */
static void
watch_tcp_states (dx_server *srv)
{
  static const char *const names[] = { "http", "tcp" };
  uint16_t ports[] = { (uint16_t) srv->http_port, (uint16_t) srv->tcp_port };
  int err = 0;
  srv->tcp_watch = dx_tcp_watch_new (srv->loop, ports, names, 2, &err);
  if (srv->tcp_watch == NULL)
    dx_log_warn ("cannot start counting TIME_WAIT: %s", dx_strerror (err));
  srv->ctx.tcp_watch = srv->tcp_watch;
}

static void
unwatch_tcp_states (dx_server *srv)
{
  srv->ctx.tcp_watch = NULL;
  dx_tcp_watch_free (srv->tcp_watch);
  srv->tcp_watch = NULL;
}

/* ---- shutdown ---- */

static dx_server *signal_server; /* the one server of this process */

static void
on_signal_server (dx_loop *loop, int signum)
{
  (void) loop;
  if (signal_server) {
    dx_log_info ("signal %d: shutting down", signum);
    dx_server_shutdown (signal_server);
  }
}

static void
on_shutdown_tick (dx_timer *t)
{
  dx_server *srv = dx_handle_data (DX_HANDLE (t));
  uint64_t elapsed = dx_loop_now_ms (srv->loop) - srv->shutdown_started;
  if (srv->ctx.n_conns == 0) {
    dx_timer_stop (t);
    dx_loop_stop (srv->loop);
    return;
  }
  if (elapsed >= DX_SHUTDOWN_GRACE_MS && !srv->shutdown_forced) {
    dx_log_warn ("shutdown: cutting %zu connection(s) that did not close", srv->ctx.n_conns);
    srv->shutdown_forced = true;
    dx_conn_close_all (&srv->ctx);
  }
}

static void
close_listener (dx_listener **l)
{
  if (*l) {
    dx_close (DX_HANDLE (*l), NULL);
    *l = NULL;
  }
}

void
dx_server_shutdown (dx_server *srv)
{
  if (srv->ctx.shutting_down)
    return;
  srv->ctx.shutting_down = true;
  srv->shutdown_started = dx_loop_now_ms (srv->loop);
  /* 1. stop accepting; 2. flush the store (its pending callbacks answer
   * and fan out now); 3. say goodbye on every connection; 4. wait for
   * them to close, at most DX_SHUTDOWN_GRACE_MS. */
  close_listener (&srv->http_listener);
  close_listener (&srv->tcp_listener);
  dx_tickers_stop (&srv->tickers);
  unwatch_tcp_states (srv);
  dx_poster_close (&srv->poster);
  dx_conn_shutdown_all (&srv->ctx);
  if (srv->udp)
    dx_udp_server_shutdown (srv->udp);
  srv->shutdown_timer = dx_timer_new (srv->loop);
  if (srv->shutdown_timer) {
    dx_handle_set_data (DX_HANDLE (srv->shutdown_timer), srv);
    dx_timer_start (srv->shutdown_timer, DX_SHUTDOWN_POLL_MS, DX_SHUTDOWN_POLL_MS,
                    on_shutdown_tick);
  } else
    dx_loop_stop (srv->loop);
}

/* ---- life cycle ---- */

static bool
open_store (dx_server *srv, char *err, size_t errlen)
{
  dx_store_config sc;
  dx_store_config_init (&sc);
  sc.kind = srv->cfg->store;
  if (srv->cfg->redis_url) {
    /* --redis: the store is this node's view of Redis's history, as long
     * as Redis keeps it (docs/protocol.md §7, --history). */
    sc.kind = DX_STORE_MEMORY;
    sc.ring_size = sc.memory_cap = srv->cfg->history;
  }
  char dir[1024];
  if (sc.kind == DX_STORE_SQLITE) {
    if (srv->cfg->data_dir)
      snprintf (dir, sizeof dir, "%s", srv->cfg->data_dir);
    else {
      int rc = dx_fs_default_data_dir ("duplex", dir, sizeof dir);
      if (rc < 0) {
        snprintf (err, errlen, "cannot find a data directory: %s (use --data-dir)",
                  dx_strerror (rc));
        return false;
      }
    }
    sc.data_dir = dir;
  }
  dx_store *store = dx_store_open (srv->loop, &sc, err, errlen);
  if (store == NULL)
    return false;
  dx_poster_init (&srv->poster, store, srv->hub, &srv->metrics);
  snprintf (srv->epoch, sizeof srv->epoch, "%s", dx_store_epoch (store));
  dx_log_debug ("store %s%s%s, epoch %s", dx_store_kind_name (sc.kind), sc.data_dir ? " in " : "",
                sc.data_dir ? sc.data_dir : "", srv->epoch);
  return true;
}

#ifdef DX_HAVE_REDIS
static void
on_cluster_epoch (void *arg, const char *epoch)
{
  dx_server *srv = arg;
  snprintf (srv->epoch, sizeof srv->epoch, "%s", epoch);
  /* Before the first answer from Redis the node showed its view's own
   * epoch: that too is a change for whoever saw it. */
  dx_hub_epoch_changed (srv->hub);
}
#endif

/* --redis: connects the poster to Redis (after the listeners: the node's
 * default name is the HTTP listener's address). */
static bool
open_cluster (dx_server *srv, char *err, size_t errlen)
{
  if (srv->cfg->redis_url == NULL)
    return true;
#ifdef DX_HAVE_REDIS
  snprintf (srv->node_id, sizeof srv->node_id, "%s",
            srv->cfg->node_id ? srv->cfg->node_id : srv->http_name);
  dx_cluster_config cc = {
    .url = srv->cfg->redis_url,
    .node_id = srv->node_id,
    .history = srv->cfg->history,
    .view = srv->poster.store,
    .hub = srv->hub,
    .on_epoch = on_cluster_epoch,
    .on_epoch_arg = srv,
  };
  dx_cluster *c = dx_cluster_new (srv->loop, &cc, err, errlen);
  if (c == NULL)
    return false;
  dx_poster_set_cluster (&srv->poster, c);
  srv->ctx.node_id = srv->node_id;
  return true;
#else
  snprintf (err, errlen, "--redis: this duplexd was built without Redis support");
  return false;
#endif
}

/* --udp (docs/protocol.md §8): off unless given. */
static bool
start_udp (dx_server *srv, char *err, size_t errlen)
{
  if (srv->cfg->udp_addr == NULL)
    return true;
  srv->udp = dx_udp_server_new (&srv->ctx, srv->cfg->udp_addr, err, errlen);
  if (srv->udp == NULL)
    return false;
  srv->ctx.udp_port = dx_udp_server_port (srv->udp);
  snprintf (srv->udp_name, sizeof srv->udp_name, " udp=%s", dx_udp_server_name (srv->udp));
  return true;
}

/* --tls-cert: the pair loads now or the server does not start (exit 1). */
static bool
start_tls (dx_server *srv, char *err, size_t errlen)
{
  if (srv->cfg->tls_cert == NULL)
    return true;
#ifdef DX_HAVE_TLS
  srv->ctx.tls_ctx = dx_tls_ctx_new (srv->cfg->tls_cert, srv->cfg->tls_key, err, errlen);
  if (srv->ctx.tls_ctx == NULL)
    return false;
  dx_tls_reload_start (srv->loop, srv->ctx.tls_ctx, srv->cfg->tls_cert, srv->cfg->tls_key);
  return true;
#else
  snprintf (err, errlen, "this duplexd was built without TLS");
  return false;
#endif
}

static bool
write_ready_file (dx_server *srv, char *err, size_t errlen)
{
  if (srv->cfg->ready_file == NULL)
    return true;
  char json[64], udp[24] = "";
  if (srv->udp)
    snprintf (udp, sizeof udp, ",\"udp\":%d", srv->ctx.udp_port);
  int n = snprintf (json, sizeof json, "{\"http\":%d,\"tcp\":%d%s}\n", srv->http_port,
                    srv->tcp_port, udp);
  int rc = dx_fs_write_atomic (srv->cfg->ready_file, json, (size_t) n);
  if (rc < 0) {
    snprintf (err, errlen, "cannot write the ready file %s: %s", srv->cfg->ready_file,
              dx_strerror (rc));
    return false;
  }
  return true;
}

dx_server *
dx_server_new (dx_loop *loop, const dx_config *cfg, char *err, size_t errlen, int *exit_code)
{
  *exit_code = 1;
  dx_server *srv = calloc (1, sizeof *srv);
  if (srv == NULL) {
    snprintf (err, errlen, "out of memory");
    return NULL;
  }
  srv->loop = loop;
  srv->cfg = cfg;
  dx_metrics_init (&srv->metrics);
  dx_limiter_init (&srv->limits, cfg->send_rate, cfg->session_rate);
  srv->limits.max_conns_per_ip = cfg->max_conns_per_ip;
  srv->limits.trusted = cfg->trusted_proxies;
  srv->limits.n_trusted = cfg->n_trusted_proxies;
  snprintf (srv->server_name, sizeof srv->server_name, "duplexd/%s", DUPLEX_VERSION);
  srv->hub = dx_hub_new ();
  if (srv->hub == NULL) {
    snprintf (err, errlen, "out of memory");
    dx_server_free (srv);
    return NULL;
  }
  dx_poster_init (&srv->poster, NULL, srv->hub, &srv->metrics);
  srv->ctx = (dx_conn_ctx){
    .loop = loop,
    .cfg = cfg,
    .hub = srv->hub,
    .poster = &srv->poster,
    .metrics = &srv->metrics,
    .limits = &srv->limits,
    .server_name = srv->server_name,
    .epoch = srv->epoch,
  };
  /* Signals first: a supervisor may send SIGTERM as soon as it sees the
   * ready file. */
  signal_server = srv;
  int rc = dx_signal_stop_on_interrupt (loop, on_signal_server);
  if (rc < 0)
    dx_log_warn ("cannot catch SIGINT/SIGTERM: %s", dx_strerror (rc));
  /* The tickers' scripts are read before anything is opened or bound. */
  if (!dx_tickers_prepare (cfg, &srv->tickers, err, errlen) || !start_tls (srv, err, errlen)
      || !open_store (srv, err, errlen)
      || !listen_on (srv, cfg->http_addr, on_http_accept, &srv->http_listener, &srv->http_port,
                     srv->http_name, sizeof srv->http_name, err, errlen)
      || !listen_on (srv, cfg->tcp_addr, on_tcp_accept, &srv->tcp_listener, &srv->tcp_port,
                     srv->tcp_name, sizeof srv->tcp_name, err, errlen)
      || !open_cluster (srv, err, errlen) || !start_udp (srv, err, errlen)
      || !write_ready_file (srv, err, errlen)) {
    dx_server_free (srv);
    return NULL;
  }
  srv->ctx.tcp_port = srv->tcp_port;
  watch_tcp_states (srv);
  if (!dx_tickers_start (loop, &srv->poster, srv->tickers)) {
    snprintf (err, errlen, "cannot start the tickers");
    dx_server_free (srv);
    return NULL;
  }
  dx_log_info ("%s (%s loop, %s store, epoch %s) listening http=%s tcp=%s%s", srv->server_name,
               dx_loop_backend (loop), cfg->redis_url ? "redis" : dx_store_kind_name (cfg->store),
               srv->epoch, srv->http_name, srv->tcp_name, srv->udp_name);
  /* The exact line docs/protocol.md §1 promises, on its own for scripts
   * (with " udp=ADDR:PORT" after it under --udp). */
  fprintf (stderr, "listening http=%s tcp=%s%s\n", srv->http_name, srv->tcp_name, srv->udp_name);
  fflush (stderr);
  *exit_code = 0;
  return srv;
}

int
dx_server_run (dx_server *srv)
{
  int rc = dx_loop_run (srv->loop);
  if (rc < 0) {
    dx_log_error ("event loop failed: %s", dx_strerror (rc));
    return 1;
  }
  return srv->exit_code;
}

void
dx_server_free (dx_server *srv)
{
  if (srv == NULL)
    return;
  if (signal_server == srv)
    signal_server = NULL;
  close_listener (&srv->http_listener);
  close_listener (&srv->tcp_listener);
  dx_tickers_stop (&srv->tickers);
  unwatch_tcp_states (srv);
  dx_poster_close (&srv->poster);
  dx_conn_close_all (&srv->ctx);
  dx_udp_server_free (srv->udp); /* after its sessions, closed above */
  srv->udp = NULL;
  if (srv->shutdown_timer) {
    dx_close (DX_HANDLE (srv->shutdown_timer), NULL);
    srv->shutdown_timer = NULL;
  }
  /* Let every close callback run before the loop is freed: with every
   * handle closed, dx_loop_run returns once the last one is gone. */
#ifdef DX_HAVE_TLS
  dx_tls_reload_stop ();
#endif
  dx_loop_run (srv->loop);
#ifdef DX_HAVE_TLS
  dx_tls_ctx_free (srv->ctx.tls_ctx); /* every connection is gone */
#endif
  dx_hub_free (srv->hub);
  dx_limiter_free (&srv->limits);
  free (srv);
}
