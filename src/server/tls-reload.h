/* Reloading duplexd's certificate and key (docs/protocol.md §9): new
 * connections get the new pair, open ones keep theirs; a pair that does
 * not load keeps the old one and the log says why. On POSIX a SIGHUP
 * reloads; on Windows, which has no SIGHUP, the files are watched and a
 * change reloads once they have stopped changing (about 2 to 4 s). */
#ifndef DX_SERVER_TLS_RELOAD_H
#define DX_SERVER_TLS_RELOAD_H

#include "platform/loop.h"
#include "tls/tls.h"

/* One per process; the files are read again on every reload. */
void dx_tls_reload_start (dx_loop *loop, dx_tls_ctx *ctx, const char *cert_file,
                          const char *key_file);
void dx_tls_reload_stop (void);

#endif
