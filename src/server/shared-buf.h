/* A ref-counted, immutable byte buffer. A message is encoded once per wire
 * format and every subscriber's write queue points at the same bytes; the
 * last dx_write completion drops the last reference. Loop thread only. */
#ifndef DX_SERVER_SHARED_BUF_H
#define DX_SERVER_SHARED_BUF_H

#include <stddef.h>

#include "platform/loop.h"
#include "protocol/buffer.h"

typedef struct dx_delivery dx_delivery;

typedef struct dx_shared_buf {
  size_t refs;
  size_t len;
  /* A chat message's fan-out (backlog.h), or NULL: every reference taken
   * with dx_shared_buf_ref is an outstanding write of it. */
  dx_delivery *track;
  char data[]; /* len bytes (plus a NUL, for logging) */
} dx_shared_buf;

/* A copy of data[0..len) with one reference; NULL when out of memory. */
dx_shared_buf *dx_shared_buf_new (const void *data, size_t len);
/* Takes the bytes of b (b is left empty); NULL if b failed or on OOM. */
dx_shared_buf *dx_shared_buf_from_buffer (dx_buffer *b);
dx_shared_buf *dx_shared_buf_ref (dx_shared_buf *sb);
void dx_shared_buf_unref (dx_shared_buf *sb);
/* The creator's reference (the one dx_shared_buf_new gave), which is no
 * write of a tracked buffer. */
void dx_shared_buf_release (dx_shared_buf *sb);

/* Writes sb on stream; the completion drops the reference taken here.
 * Returns dx_write's status (the reference is dropped at once on failure). */
int dx_shared_buf_write (dx_stream *stream, dx_shared_buf *sb);

#endif
