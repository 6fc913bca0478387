#include "server/tls-reload.h"

#include "server/log.h"

#include <signal.h>
#include <stddef.h>

static dx_async *reload_async; /* woken by the handler (async-signal-safe) */
static dx_tls_ctx *reload_ctx;
static const char *reload_cert, *reload_key;

static void
on_reload (dx_async *a)
{
  (void) a;
  char err[320];
  if (dx_tls_ctx_reload (reload_ctx, reload_cert, reload_key, err, sizeof err))
    dx_log_info ("SIGHUP: TLS certificate %s reloaded (for new connections)", reload_cert);
  else
    dx_log_warn ("SIGHUP: keeping the old TLS certificate: %s", err);
}

#ifndef _WIN32
static struct sigaction old_action;

static void
on_sighup (int sig)
{
  (void) sig;
  if (reload_async)
    dx_async_send (reload_async);
}
#endif

void
dx_tls_reload_start (dx_loop *loop, dx_tls_ctx *ctx, const char *cert_file, const char *key_file)
{
#ifndef _WIN32
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
#else
  (void) loop;
  (void) ctx;
  (void) cert_file;
  (void) key_file;
#endif
}

void
dx_tls_reload_stop (void)
{
#ifndef _WIN32
  if (reload_async == NULL)
    return;
  sigaction (SIGHUP, &old_action, NULL);
  dx_close (DX_HANDLE (reload_async), NULL);
  reload_async = NULL;
  reload_ctx = NULL;
#endif
}
