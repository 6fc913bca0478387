#include "server/tls-reload.h"

#include "platform/fs.h"
#include "server/log.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

static dx_tls_ctx *reload_ctx;
static const char *reload_cert, *reload_key;

static void
reload (const char *why)
{
  char err[320];
  if (dx_tls_ctx_reload (reload_ctx, reload_cert, reload_key, err, sizeof err))
    dx_log_info ("%s: TLS certificate %s reloaded (for new connections)", why, reload_cert);
  else
    dx_log_warn ("%s: keeping the old TLS certificate: %s", why, err);
}

#ifndef _WIN32
static dx_async *reload_async; /* woken by the handler (async-signal-safe) */
static struct sigaction old_action;

static void
on_reload (dx_async *a)
{
  (void) a;
  reload ("SIGHUP");
}

static void
on_sighup (int sig)
{
  (void) sig;
  if (reload_async)
    dx_async_send (reload_async);
}

void
dx_tls_reload_start (dx_loop *loop, dx_tls_ctx *ctx, const char *cert_file, const char *key_file)
{
  reload_ctx = ctx;
  reload_cert = cert_file;
  reload_key = key_file;
  reload_async = dx_async_new (loop, on_reload);
  if (reload_async == NULL) {
    dx_log_warn ("SIGHUP will not reload the TLS certificate: out of memory");
    return;
  }
  struct sigaction sa = { 0 };
  sa.sa_handler = on_sighup;
  sigemptyset (&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction (SIGHUP, &sa, &old_action);
}

void
dx_tls_reload_stop (void)
{
  if (reload_async == NULL)
    return;
  sigaction (SIGHUP, &old_action, NULL);
  dx_close (DX_HANDLE (reload_async), NULL);
  reload_async = NULL;
  reload_ctx = NULL;
}

#else /* _WIN32: no SIGHUP; the files are watched */

/* Windows has no signal an operator (or an ACME client's renewal script)
 * can send a console program, so duplexd looks at the two files every
 * DX_TLS_WATCH_MS. A change is acted on once both files have kept their
 * new stamps for a whole period: a renewal that writes the certificate
 * and then the key is read after both are written, not between. Each
 * change is tried once; a pair that does not load is not retried until
 * the files change again. */
#define DX_TLS_WATCH_MS 2000

typedef struct {
  dx_file_stamp cert, key;
} pair_stamp;

static dx_timer *watch_timer;
static pair_stamp loaded; /* the stamps last acted on */
static pair_stamp seen;   /* a change seen on the previous tick */
static bool pending;      /* seen differs from loaded */

static bool
stamp_pair (pair_stamp *p)
{
  return dx_fs_file_stamp (reload_cert, &p->cert) == 0
         && dx_fs_file_stamp (reload_key, &p->key) == 0;
}

static bool
same_pair (const pair_stamp *a, const pair_stamp *b)
{
  return a->cert.mtime_ns == b->cert.mtime_ns && a->cert.size == b->cert.size
         && a->key.mtime_ns == b->key.mtime_ns && a->key.size == b->key.size;
}

static void
on_watch (dx_timer *t)
{
  (void) t;
  pair_stamp now;
  if (!stamp_pair (&now))
    return; /* one of them is being replaced: look again next time */
  if (same_pair (&now, &loaded)) {
    pending = false;
  } else if (!pending || !same_pair (&now, &seen)) {
    seen = now; /* changed since the last tick: let it settle */
    pending = true;
  } else {
    loaded = now;
    pending = false;
    reload ("certificate file changed");
  }
}

void
dx_tls_reload_start (dx_loop *loop, dx_tls_ctx *ctx, const char *cert_file, const char *key_file)
{
  reload_ctx = ctx;
  reload_cert = cert_file;
  reload_key = key_file;
  pending = false;
  if (!stamp_pair (&loaded))
    dx_log_warn ("TLS: cannot look at %s or %s; watching for them to change", cert_file, key_file);
  watch_timer = dx_timer_new (loop);
  if (watch_timer == NULL
      || dx_timer_start (watch_timer, DX_TLS_WATCH_MS, DX_TLS_WATCH_MS, on_watch) != 0) {
    dx_log_warn ("a changed TLS certificate file will not be reloaded: out of memory");
    if (watch_timer)
      dx_close (DX_HANDLE (watch_timer), NULL);
    watch_timer = NULL;
  }
}

void
dx_tls_reload_stop (void)
{
  if (watch_timer == NULL)
    return;
  dx_timer_stop (watch_timer);
  dx_close (DX_HANDLE (watch_timer), NULL);
  watch_timer = NULL;
  reload_ctx = NULL;
}

#endif
