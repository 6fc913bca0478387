/* A growable byte buffer with a caller-chosen ceiling: the one way the
 * protocol module builds output. Appends past max_len fail (and leave the
 * buffer marked failed) rather than growing without bound. */
#ifndef DX_PROTOCOL_BUFFER_H
#define DX_PROTOCOL_BUFFER_H

#include "protocol/compiler.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *data; /* always NUL-terminated after a successful append */
  size_t len;
  size_t cap;
  size_t max_len; /* 0 means SIZE_MAX / 2 */
  bool failed;    /* an append failed (out of memory or over max_len) */
} dx_buffer;

void dx_buffer_init (dx_buffer *b, size_t max_len);
void dx_buffer_free (dx_buffer *b);
/* Forget the contents, keep the memory and the ceiling; clears failed. */
void dx_buffer_reset (dx_buffer *b);
/* Hands the bytes to the caller (free() them); the buffer is left empty. */
char *dx_buffer_steal (dx_buffer *b, size_t *len);
/* Make room for n more bytes. */
bool dx_buffer_reserve (dx_buffer *b, size_t n);
bool dx_buffer_append (dx_buffer *b, const void *data, size_t n);
bool dx_buffer_append_str (dx_buffer *b, const char *s);
bool dx_buffer_append_char (dx_buffer *b, char c);
bool dx_buffer_append_u64 (dx_buffer *b, uint64_t v);
bool dx_buffer_append_i64 (dx_buffer *b, int64_t v);
bool dx_buffer_printf (dx_buffer *b, const char *fmt, ...) DX_PRINTF_FORMAT (2, 3);
bool dx_buffer_vprintf (dx_buffer *b, const char *fmt, va_list ap) DX_PRINTF_FORMAT (2, 0);
/* Drop the first n bytes (consumed input). */
void dx_buffer_consume (dx_buffer *b, size_t n);

#endif
