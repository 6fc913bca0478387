#include "dx-config.h"

#include "dx-stream-writer.h"

struct _DxStreamWriter {
  DxBaseTransport *owner; /* not a reference: the owner owns the writer */
  GOutputStream *os;
  GCancellable *cancellable;
  GByteArray *out; /* bytes waiting to be written */
  gboolean writing;
  guint generation; /* one per connection: a late completion of an old one is ignored */
};

typedef struct {
  DxStreamWriter *writer;
  DxBaseTransport *owner; /* a reference: keeps owner (and so writer) alive */
  GBytes *bytes;          /* owned by the write until it completes */
  guint generation;
} WriteJob;

static void
write_done (GObject *source, GAsyncResult *result, gpointer data)
{
  WriteJob *job = data;
  DxStreamWriter *self = job->writer;
  g_autoptr (GError) error = NULL;
  gsize written = 0;
  gboolean ok =
      g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error);

  if (job->generation == self->generation
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    self->writing = FALSE;
    if (ok)
      dx_stream_writer_flush (self);
    else
      dx_base_transport_failed (job->owner, error->message);
  }
  g_bytes_unref (job->bytes);
  g_object_unref (job->owner);
  g_free (job);
}

void
dx_stream_writer_flush (DxStreamWriter *self)
{
  WriteJob *job;

  if (self->writing || self->os == NULL || self->out->len == 0)
    return;
  self->writing = TRUE;
  /* Appends may move out's storage: the write gets bytes of its own. */
  job = g_new0 (WriteJob, 1);
  job->writer = self;
  job->owner = g_object_ref (self->owner);
  job->generation = self->generation;
  job->bytes = g_byte_array_free_to_bytes (self->out);
  self->out = g_byte_array_new ();
  g_output_stream_write_all_async (self->os, g_bytes_get_data (job->bytes, NULL),
                                   g_bytes_get_size (job->bytes), G_PRIORITY_DEFAULT,
                                   self->cancellable, write_done, job);
}

DxStreamWriter *
dx_stream_writer_new (DxBaseTransport *owner)
{
  DxStreamWriter *self = g_new0 (DxStreamWriter, 1);

  self->owner = owner;
  self->out = g_byte_array_new ();
  return self;
}

void
dx_stream_writer_reset (DxStreamWriter *self)
{
  self->generation++;
  g_clear_object (&self->os);
  g_clear_object (&self->cancellable);
  g_byte_array_set_size (self->out, 0);
  self->writing = FALSE;
}

void
dx_stream_writer_attach (DxStreamWriter *self, GOutputStream *os, GCancellable *cancellable)
{
  dx_stream_writer_reset (self);
  self->os = g_object_ref (os);
  self->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
}

void
dx_stream_writer_free (DxStreamWriter *self)
{
  dx_stream_writer_reset (self);
  g_byte_array_unref (self->out);
  g_free (self);
}

void
dx_stream_writer_append (DxStreamWriter *self, const void *data, gsize len)
{
  g_byte_array_append (self->out, data, (guint) len);
}

gboolean
dx_stream_writer_is_idle (DxStreamWriter *self)
{
  return !self->writing && self->out->len == 0;
}
