/* Base64 (RFC 4648 section 4, standard alphabet, '=' padding).
 *
 * Decoding is strict: the length must be a multiple of 4, padding may only
 * close the last quantum, the unused bits before the padding must be zero
 * (so every byte string has exactly one accepted encoding), and whitespace
 * or any character outside the alphabet is rejected. */
#ifndef DX_PROTOCOL_BASE64_H
#define DX_PROTOCOL_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"

/* Characters needed to encode n bytes (without the NUL). */
#define DX_BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/* Encode in[0..n) into out, which must hold DX_BASE64_ENCODED_LEN(n) + 1
 * bytes; out is NUL-terminated. Returns the length written (without NUL). */
size_t dx_base64_encode (const void *in, size_t n, char *out);

/* Append the encoding of in[0..n) to out. False (out marked failed) if the
 * buffer's ceiling is hit. */
bool dx_base64_append (dx_buffer *out, const void *in, size_t n);

/* Upper bound of the decoded size of an n-character input. */
#define DX_BASE64_DECODED_MAX(n) (((n) / 4) * 3)

/* Strictly decode in[0..n) into out (capacity out_cap). On success returns
 * true and sets *out_len. On malformed input, or when out_cap is too small,
 * returns false; out may have been partly written, *out_len is untouched. */
bool dx_base64_decode (const char *in, size_t n, uint8_t *out, size_t out_cap, size_t *out_len);

#endif
