/* UTF-8 validation (RFC 3629), whole-buffer and incremental.
 *
 * Rejected: overlong forms (C0, C1, E0 80..9F, F0 80..8F), UTF-16
 * surrogates (ED A0..BF), code points above U+10FFFF (F4 90.., F5..FF),
 * stray continuation bytes, and sequences cut short by a following byte.
 * NUL (U+0000) is valid UTF-8; callers that forbid it check separately.
 *
 * The incremental validator keeps only a few bytes of state, so a text
 * message split across any number of fragments (WebSocket) can be checked
 * as the bytes arrive, failing at the first byte that can never become
 * valid (RFC 6455 §8.1 "fail fast"). */
#ifndef DX_PROTOCOL_UTF8_H
#define DX_PROTOCOL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  DX_UTF8_ACCEPT = 0,  /* everything fed so far is complete, valid text */
  DX_UTF8_PARTIAL = 1, /* valid so far, but ends inside a multi-byte sequence */
  DX_UTF8_REJECT = 2,  /* invalid; sticky until dx_utf8_init */
} dx_utf8_status;

/* Incremental validator state. Treat as opaque; zero-initialised (or
 * dx_utf8_init) means "at a character boundary, nothing rejected". */
typedef struct {
  uint8_t need;    /* continuation bytes still expected */
  uint8_t lo, hi;  /* allowed range of the next continuation byte */
  uint8_t status;  /* dx_utf8_status */
  uint64_t offset; /* bytes fed so far (up to and including the bad byte) */
} dx_utf8;

void dx_utf8_init (dx_utf8 *s);
/* Feed the next len bytes. Returns the status after them. After
 * DX_UTF8_REJECT further feeds change nothing. A message is valid iff its
 * last feed returns DX_UTF8_ACCEPT (PARTIAL at the end = truncated). */
dx_utf8_status dx_utf8_feed (dx_utf8 *s, const void *data, size_t len);
/* Offset (from the first byte ever fed) of the first invalid byte, or of
 * the end when the text is truncated; meaningful after REJECT/PARTIAL. */
uint64_t dx_utf8_error_offset (const dx_utf8 *s);

/* Whole-buffer check: true iff data[0..len) is complete, valid UTF-8. */
bool dx_utf8_valid (const void *data, size_t len);
/* Like dx_utf8_valid; on failure *bad_offset (if not NULL) gets the offset
 * of the first byte that makes the text invalid (len if truncated). */
bool dx_utf8_check (const void *data, size_t len, size_t *bad_offset);

/* Encode one scalar value (<= U+10FFFF, not a surrogate) into out.
 * Returns the byte count (1-4), or 0 for an invalid code point. */
size_t dx_utf8_encode (uint32_t cp, char out[4]);

#endif
