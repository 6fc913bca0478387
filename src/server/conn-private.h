/* conn.c's TLS seam (conn-tls.c, docs/protocol.md §9): with --tls-cert
 * every stream's bytes pass through a dx_tls filter, so the owners
 * (HTTP, WebSocket, raw TCP) read and write plaintext and never know. */
#ifndef DX_SERVER_CONN_PRIVATE_H
#define DX_SERVER_CONN_PRIVATE_H

#include "server/conn.h"

/* A TLS handshake not finished this long after accept is dropped. */
#define DX_TLS_HANDSHAKE_MS 10000

#ifdef DX_HAVE_TLS
/* After dx_conn_init: a filter when the server has TLS; false when it
 * could not be made (the conn is to be closed). */
bool dx_conn_tls_attach (dx_conn *c);
/* Ciphertext read from the stream: decrypts and hands the plaintext to
 * the stream's owner (which may change on an upgrade). */
void dx_conn_tls_on_read (dx_conn *c, const char *data, size_t n);
/* Encrypts sb and writes the ciphertext; done as for dx_conn_send_notify
 * (may be NULL). Returns dx_write's status. */
int dx_conn_tls_write (dx_conn *c, dx_shared_buf *sb, void (*done) (void *arg, int status),
                       void *arg);
/* The conn's timer during the handshake: true when the call was taken
 * (the owner's timer is kept for when the handshake is over). */
bool dx_conn_tls_arm_timer (dx_conn *c, uint64_t ms);
/* The timer fired: true when it was the handshake's (the conn is closed). */
bool dx_conn_tls_on_timer (dx_conn *c);
/* Before the write side is shut: a close_notify. */
void dx_conn_tls_close_notify (dx_conn *c);
#endif

#endif
