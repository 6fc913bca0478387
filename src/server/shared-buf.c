#include "server/shared-buf.h"

#include "server/backlog.h"

#include <stdlib.h>
#include <string.h>

dx_shared_buf *
dx_shared_buf_new (const void *data, size_t len)
{
  dx_shared_buf *sb = malloc (sizeof *sb + len + 1);
  if (sb == NULL)
    return NULL;
  sb->refs = 1;
  sb->len = len;
  sb->track = NULL;
  if (len)
    memcpy (sb->data, data, len);
  sb->data[len] = '\0';
  return sb;
}

dx_shared_buf *
dx_shared_buf_from_buffer (dx_buffer *b)
{
  if (b->failed)
    return NULL;
  dx_shared_buf *sb = dx_shared_buf_new (b->data, b->len);
  dx_buffer_reset (b);
  return sb;
}

dx_shared_buf *
dx_shared_buf_ref (dx_shared_buf *sb)
{
  sb->refs++;
  if (sb->track)
    dx_delivery_write_add (sb->track, sb->len);
  return sb;
}

void
dx_shared_buf_unref (dx_shared_buf *sb)
{
  if (sb == NULL)
    return;
  /* Freed first: the delivery may finish (and be freed) on this write. */
  dx_delivery *track = sb->track;
  size_t len = sb->len;
  if (--sb->refs == 0)
    free (sb);
  if (track)
    dx_delivery_write_done (track, len);
}

void
dx_shared_buf_release (dx_shared_buf *sb)
{
  if (sb != NULL && --sb->refs == 0)
    free (sb);
}

static void
on_written (dx_stream *stream, int status, void *arg)
{
  (void) stream;
  (void) status;
  dx_shared_buf_unref (arg);
}

int
dx_shared_buf_write (dx_stream *stream, dx_shared_buf *sb)
{
  dx_buf b = dx_buf_init (sb->data, sb->len);
  dx_shared_buf_ref (sb);
  int rc = dx_write (stream, &b, 1, on_written, sb);
  if (rc < 0)
    dx_shared_buf_unref (sb);
  return rc;
}
