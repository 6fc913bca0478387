#include "protocol/chunked.h"

#include <string.h>

#include "protocol/hex.h"

enum {
  ST_SIZE_START, /* expecting the first hex digit of a chunk size */
  ST_SIZE,       /* more hex digits, or ';' / whitespace, or line end */
  ST_EXT,        /* inside chunk extensions: ignored up to the line end */
  ST_SIZE_LF,    /* saw CR after the size line */
  ST_DATA,
  ST_DATA_CR, /* expecting CRLF (or LF) after chunk data */
  ST_DATA_LF,
  ST_TRAILER_START, /* start of a trailer line, or the final blank line */
  ST_TRAILER,       /* inside a trailer line */
  ST_TRAILER_LF,    /* saw CR inside/ending a trailer line */
  ST_END_LF,        /* saw CR of the final blank line */
  ST_DONE,
  ST_ERROR,
};

void
dx_chunked_decoder_init (dx_chunked_decoder *d, uint64_t max_body)
{
  memset (d, 0, sizeof *d);
  d->max_body = max_body;
  d->max_trailers = 16384;
  d->state = ST_SIZE_START;
}

dx_chunked_error
dx_chunked_decoder_error (const dx_chunked_decoder *d)
{
  return d->error;
}

uint64_t
dx_chunked_decoder_total (const dx_chunked_decoder *d)
{
  return d->total;
}

const char *
dx_chunked_error_message (dx_chunked_error e)
{
  switch (e) {
  case DX_CHUNKED_ERR_NONE: return "no error";
  case DX_CHUNKED_ERR_SYNTAX: return "malformed chunked encoding";
  case DX_CHUNKED_ERR_TOO_LARGE: return "chunked body too large";
  case DX_CHUNKED_ERR_LINE_TOO_LONG: return "chunk size line too long";
  case DX_CHUNKED_ERR_TRAILERS_TOO_LARGE: return "chunked trailers too large";
  case DX_CHUNKED_ERR_OUTPUT: return "output buffer full";
  }
  return "unknown error";
}

static dx_chunked_status
fail (dx_chunked_decoder *d, dx_chunked_error e, size_t at, size_t *consumed)
{
  d->state = ST_ERROR;
  d->error = e;
  *consumed = at;
  return DX_CHUNKED_ERROR;
}

/* The size line ended: start the data, or the trailers after a 0 chunk. */
static bool
size_line_done (dx_chunked_decoder *d)
{
  if (d->max_body && d->chunk_left > d->max_body - d->total)
    return false;
  d->state = d->chunk_left ? ST_DATA : ST_TRAILER_START;
  d->line_len = 0;
  return true;
}

dx_chunked_status
dx_chunked_decoder_feed (dx_chunked_decoder *d, const char *in, size_t len, size_t *consumed,
                         dx_buffer *out)
{
  size_t max_trailers = d->max_trailers ? d->max_trailers : 16384;
  size_t i = 0;

  if (d->state == ST_DONE || d->state == ST_ERROR) {
    *consumed = 0;
    return d->state == ST_DONE ? DX_CHUNKED_DONE : DX_CHUNKED_ERROR;
  }
  while (i < len) {
    unsigned char c = (unsigned char) in[i];
    switch (d->state) {
    case ST_SIZE_START:
    case ST_SIZE: {
      if (++d->line_len > DX_CHUNKED_MAX_SIZE_LINE)
        return fail (d, DX_CHUNKED_ERR_LINE_TOO_LONG, i, consumed);
      int v = dx_hex_value ((char) c);
      if (v >= 0) {
        if (d->chunk_left > (UINT64_MAX >> 4))
          return fail (d, DX_CHUNKED_ERR_TOO_LARGE, i, consumed);
        d->chunk_left = d->chunk_left << 4 | (uint64_t) v;
        d->state = ST_SIZE;
      } else if (d->state == ST_SIZE_START) {
        return fail (d, DX_CHUNKED_ERR_SYNTAX, i, consumed);
      } else if (c == ';' || c == ' ' || c == '\t') {
        d->state = ST_EXT;
      } else if (c == '\r') {
        d->state = ST_SIZE_LF;
      } else if (c == '\n') {
        if (!size_line_done (d))
          return fail (d, DX_CHUNKED_ERR_TOO_LARGE, i, consumed);
      } else {
        return fail (d, DX_CHUNKED_ERR_SYNTAX, i, consumed);
      }
      i++;
      break;
    }
    case ST_EXT:
      if (++d->line_len > DX_CHUNKED_MAX_SIZE_LINE)
        return fail (d, DX_CHUNKED_ERR_LINE_TOO_LONG, i, consumed);
      if (c == '\r')
        d->state = ST_SIZE_LF;
      else if (c == '\n') {
        if (!size_line_done (d))
          return fail (d, DX_CHUNKED_ERR_TOO_LARGE, i, consumed);
      } else if (c == 0 || c == 0x7f || (c < 0x20 && c != '\t'))
        return fail (d, DX_CHUNKED_ERR_SYNTAX, i, consumed);
      i++;
      break;
    case ST_SIZE_LF:
      if (c != '\n')
        return fail (d, DX_CHUNKED_ERR_SYNTAX, i, consumed);
      if (!size_line_done (d))
        return fail (d, DX_CHUNKED_ERR_TOO_LARGE, i, consumed);
      i++;
      break;
    case ST_DATA: {
      size_t take = len - i;
      if ((uint64_t) take > d->chunk_left)
        take = (size_t) d->chunk_left;
      if (!dx_buffer_append (out, in + i, take))
        return fail (d, DX_CHUNKED_ERR_OUTPUT, i, consumed);
      d->chunk_left -= take;
      d->total += take;
      i += take;
      if (!d->chunk_left)
        d->state = ST_DATA_CR;
      break;
    }
    case ST_DATA_CR:
      if (c == '\r')
        d->state = ST_DATA_LF;
      else if (c == '\n')
        d->state = ST_SIZE_START;
      else
        return fail (d, DX_CHUNKED_ERR_SYNTAX, i, consumed);
      d->line_len = 0;
      i++;
      break;
    case ST_DATA_LF:
      if (c != '\n')
        return fail (d, DX_CHUNKED_ERR_SYNTAX, i, consumed);
      d->state = ST_SIZE_START;
      i++;
      break;
    case ST_TRAILER_START:
    case ST_TRAILER:
      if (++d->trailer_len > max_trailers)
        return fail (d, DX_CHUNKED_ERR_TRAILERS_TOO_LARGE, i, consumed);
      if (c == '\r') {
        d->state = d->state == ST_TRAILER_START ? ST_END_LF : ST_TRAILER_LF;
      } else if (c == '\n') {
        if (d->state == ST_TRAILER_START) {
          d->state = ST_DONE;
          *consumed = i + 1;
          return DX_CHUNKED_DONE;
        }
        d->state = ST_TRAILER_START;
      } else if (d->state == ST_TRAILER_START && (c == ' ' || c == '\t')) {
        /* obs-fold in trailers is as unacceptable as in headers */
        return fail (d, DX_CHUNKED_ERR_SYNTAX, i, consumed);
      } else if (c == 0) {
        return fail (d, DX_CHUNKED_ERR_SYNTAX, i, consumed);
      } else {
        d->state = ST_TRAILER;
      }
      i++;
      break;
    case ST_TRAILER_LF:
    case ST_END_LF:
      if (++d->trailer_len > max_trailers)
        return fail (d, DX_CHUNKED_ERR_TRAILERS_TOO_LARGE, i, consumed);
      if (c != '\n')
        return fail (d, DX_CHUNKED_ERR_SYNTAX, i, consumed);
      if (d->state == ST_END_LF) {
        d->state = ST_DONE;
        *consumed = i + 1;
        return DX_CHUNKED_DONE;
      }
      d->state = ST_TRAILER_START;
      i++;
      break;
    default: return fail (d, DX_CHUNKED_ERR_SYNTAX, i, consumed);
    }
  }
  *consumed = len;
  return DX_CHUNKED_NEED_MORE;
}

size_t
dx_chunked_prefix (char out[DX_CHUNKED_PREFIX_MAX], uint64_t len)
{
  char tmp[16];
  size_t n = 0;
  do {
    tmp[n++] = dx_hex_digit ((unsigned) len);
    len >>= 4;
  } while (len);
  size_t o = 0;
  while (n)
    out[o++] = tmp[--n];
  out[o++] = '\r';
  out[o++] = '\n';
  return o;
}

bool
dx_chunked_encode (dx_buffer *out, const void *data, size_t len)
{
  if (!len)
    return !out->failed;
  char prefix[DX_CHUNKED_PREFIX_MAX];
  size_t n = dx_chunked_prefix (prefix, len);
  if (len > SIZE_MAX / 2 || !dx_buffer_reserve (out, n + len + 2))
    return false;
  dx_buffer_append (out, prefix, n);
  dx_buffer_append (out, data, len);
  return dx_buffer_append (out, "\r\n", 2);
}

bool
dx_chunked_encode_last (dx_buffer *out)
{
  return dx_buffer_append (out, "0\r\n\r\n", 5);
}
