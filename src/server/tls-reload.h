/* SIGHUP reloads duplexd's certificate and key (docs/protocol.md §9):
 * new connections get the new pair, open ones keep theirs; a pair that
 * does not load keeps the old one and the log says why. POSIX only (on
 * Windows there is no SIGHUP: start and stop do nothing). */
#ifndef DX_SERVER_TLS_RELOAD_H
#define DX_SERVER_TLS_RELOAD_H

#include "platform/loop.h"
#include "tls/tls.h"

/* One per process; the files are read again on every SIGHUP. */
void dx_tls_reload_start (dx_loop *loop, dx_tls_ctx *ctx, const char *cert_file,
                          const char *key_file);
void dx_tls_reload_stop (void);

#endif
