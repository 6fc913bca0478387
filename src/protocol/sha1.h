/* SHA-1 (RFC 3174 / FIPS 180-4). Used only for the WebSocket handshake
 * (Sec-WebSocket-Accept), where collision resistance does not matter. */
#ifndef DX_PROTOCOL_SHA1_H
#define DX_PROTOCOL_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define DX_SHA1_DIGEST_LEN 20

/* Streaming state. Treat as opaque; set up with dx_sha1_init. */
typedef struct {
  uint32_t h[5];
  uint64_t total_len; /* bytes fed so far */
  uint8_t block[64];
  size_t block_len;
} dx_sha1_ctx;

void dx_sha1_init (dx_sha1_ctx *ctx);
void dx_sha1_update (dx_sha1_ctx *ctx, const void *data, size_t len);
/* Writes the 20-byte digest; the context must be re-initialised to reuse. */
void dx_sha1_final (dx_sha1_ctx *ctx, uint8_t out[DX_SHA1_DIGEST_LEN]);

/* One-shot digest of data[0..len). */
void dx_sha1 (const void *data, size_t len, uint8_t out[DX_SHA1_DIGEST_LEN]);

#endif
