/* TLS for duplexd's listeners (docs/protocol.md §9) and duplex-bench's
 * connections: a context (server: certificate and key, TLS 1.2/1.3 only,
 * modern ciphers, ALPN http/1.1, session resumption, reload; client: the
 * same protocols, optional verification) and a per-connection filter over
 * memory BIOs.
 *
 * The filter does no I/O: ciphertext from the stream goes in with
 * dx_tls_feed, plaintext comes out of dx_tls_read; plaintext goes in with
 * dx_tls_write, ciphertext for the stream comes out of dx_tls_out_take.
 * So the same code runs on every platform backend (epoll, poll, IOCP).
 * Knows nothing of the chat. Loop thread only. */
#ifndef DX_TLS_TLS_H
#define DX_TLS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dx_tls_ctx dx_tls_ctx;
typedef struct dx_tls dx_tls;

typedef struct {
  uint64_t handshakes;      /* finished */
  uint64_t resumed;         /* of which resumed a session */
  uint64_t failures;        /* ended by a TLS error (plain bytes included) */
  uint64_t timeouts;        /* not finished in time (counted by the caller) */
  uint64_t reloads;         /* certificate reloads that took */
  uint64_t reload_failures; /* reloads that kept the old pair */
} dx_tls_stats;

/* Results of dx_tls_read besides plaintext. */
#define DX_TLS_AGAIN 0
#define DX_TLS_CLOSED (-1) /* the peer's close_notify */
#define DX_TLS_ERROR (-2)  /* a fatal TLS error: close the connection */

/* Loads cert (PEM, chain allowed) and key; NULL with a one-line err when
 * they do not load or do not match. */
dx_tls_ctx *dx_tls_ctx_new (const char *cert_file, const char *key_file, char *err, size_t errlen);
/* Loads a new pair for new connections; open ones keep theirs. On failure
 * the old pair stays, err says why and false is returned. */
bool dx_tls_ctx_reload (dx_tls_ctx *ctx, const char *cert_file, const char *key_file, char *err,
                        size_t errlen);
/* Free after every connection made from it is gone. */
void dx_tls_ctx_free (dx_tls_ctx *ctx);
dx_tls_stats *dx_tls_ctx_stats (dx_tls_ctx *ctx);

/* A client context: TLS 1.2/1.3, ALPN http/1.1. With verify, the peer's
 * certificate must chain to ca_file (NULL: the system's CAs) and name the
 * host given to dx_tls_new_client. */
dx_tls_ctx *dx_tls_ctx_new_client (const char *ca_file, bool verify, char *err, size_t errlen);

/* A server-side connection; NULL when out of memory. */
dx_tls *dx_tls_new (dx_tls_ctx *ctx);
/* A client-side connection to host (SNI and verification, unless an IP
 * address); dx_tls_feed (t, NULL, 0) then makes the ClientHello. */
dx_tls *dx_tls_new_client (dx_tls_ctx *ctx, const char *host);
void dx_tls_free (dx_tls *t);
bool dx_tls_established (const dx_tls *t);
/* Ciphertext from the peer: false on a fatal error (the handshake or a
 * record failed; a TLS alert may be waiting in the output). */
bool dx_tls_feed (dx_tls *t, const void *data, size_t n);
/* Plaintext: > 0 bytes, DX_TLS_AGAIN, DX_TLS_CLOSED or DX_TLS_ERROR. */
ptrdiff_t dx_tls_read (dx_tls *t, void *buf, size_t cap);
/* Encrypts (or, before the handshake has finished, queues) plaintext;
 * false when out of memory or after a fatal error. */
bool dx_tls_write (dx_tls *t, const void *data, size_t n);
/* Queues a close_notify alert. */
void dx_tls_close_notify (dx_tls *t);
/* Ciphertext waiting for the stream, and taking it out. */
size_t dx_tls_out_pending (const dx_tls *t);
size_t dx_tls_out_take (dx_tls *t, void *buf, size_t cap);

#endif
