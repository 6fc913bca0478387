/* HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1).
 *
 * Decoder: incremental, bounded, total. It accepts its input split at any
 * byte, ignores chunk extensions, reads and discards trailer fields, and
 * stops exactly after the final CRLF of the message, so bytes of a
 * pipelined next message are left to the caller. Line ends: CRLF, or a
 * bare LF (tolerated as RFC 9112 section 2.2 allows); a bare CR is an
 * error.
 *
 * Encoder: one chunk at a time, plus the last chunk. */
#ifndef DX_PROTOCOL_CHUNKED_H
#define DX_PROTOCOL_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"

/* ---- decoder ---- */

typedef enum {
  DX_CHUNKED_NEED_MORE = 0, /* all input consumed, message not finished */
  DX_CHUNKED_DONE,          /* last chunk and trailers read; *consumed says where */
  DX_CHUNKED_ERROR,         /* see dx_chunked_decoder_error(); sticky */
} dx_chunked_status;

typedef enum {
  DX_CHUNKED_ERR_NONE = 0,
  DX_CHUNKED_ERR_SYNTAX,             /* bad hex size, missing CRLF, bare CR, bad trailer */
  DX_CHUNKED_ERR_TOO_LARGE,          /* decoded body would exceed max_body (HTTP 413) */
  DX_CHUNKED_ERR_LINE_TOO_LONG,      /* chunk-size line (with extensions) over 4 KiB (400) */
  DX_CHUNKED_ERR_TRAILERS_TOO_LARGE, /* trailer section over max_trailers (431) */
  DX_CHUNKED_ERR_OUTPUT,             /* the output dx_buffer refused the bytes */
} dx_chunked_error;

/* Longest chunk-size line (size + extensions + CRLF) accepted. */
#define DX_CHUNKED_MAX_SIZE_LINE 4096

typedef struct {
  uint64_t max_body;   /* total decoded bytes allowed; 0 = no limit */
  size_t max_trailers; /* bytes of trailer section allowed; 0 = 16 KiB */
  /* Internal state: treat as private. */
  int state;
  uint64_t chunk_left;
  uint64_t total;
  size_t line_len;
  size_t trailer_len;
  bool saw_digit;
  bool in_ext;
  dx_chunked_error error;
} dx_chunked_decoder;

/* max_body: limit on the decoded body (0 = none). */
void dx_chunked_decoder_init (dx_chunked_decoder *d, uint64_t max_body);
/* Feed in[0..len). Decoded payload bytes are appended to out. *consumed
 * gets the number of input bytes used: all of them for NEED_MORE, up to
 * the end of the message for DONE, up to (not including) the offending
 * byte for ERROR. Calling again after DONE or ERROR consumes nothing and
 * returns the same status. */
dx_chunked_status dx_chunked_decoder_feed (dx_chunked_decoder *d, const char *in, size_t len,
                                           size_t *consumed, dx_buffer *out);
dx_chunked_error dx_chunked_decoder_error (const dx_chunked_decoder *d);
/* Human-readable text for an error value. */
const char *dx_chunked_error_message (dx_chunked_error e);
/* Decoded bytes produced so far. */
uint64_t dx_chunked_decoder_total (const dx_chunked_decoder *d);

/* ---- encoder ---- */

/* Longest chunk prefix: 16 hex digits + CRLF. */
#define DX_CHUNKED_PREFIX_MAX 18

/* Write the chunk prefix "<hex len>\r\n" for a chunk of len bytes into out
 * (not NUL-terminated) and return its length. The chunk is then the
 * prefix, the data, and "\r\n". Lets a caller build a chunk around data it
 * encodes once and shares (len must be > 0: a 0 chunk ends the body). */
size_t dx_chunked_prefix (char out[DX_CHUNKED_PREFIX_MAX], uint64_t len);

/* Append one chunk carrying data[0..len). len == 0 appends nothing (an
 * empty chunk would end the body) and returns true. False if out's ceiling
 * is hit (out marked failed). */
bool dx_chunked_encode (dx_buffer *out, const void *data, size_t len);
/* Append the last chunk "0\r\n\r\n" (no trailers). */
bool dx_chunked_encode_last (dx_buffer *out);

#endif
