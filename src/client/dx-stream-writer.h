/* DxStreamWriter: the bytes a transport has queued for its connection,
 * written in order, one batch at a time (a GOutputStream takes one pending
 * write), while more may be queued. A write that fails fails the
 * transport (dx_base_transport_failed). WebSocket and raw TCP write
 * through one. */
#pragma once

#include "dx-base-transport.h"

G_BEGIN_DECLS

typedef struct _DxStreamWriter DxStreamWriter;

/* A writer for owner's connections; free it in owner's finalize (writes
 * in flight hold a reference on owner, so the writer outlives them). */
DxStreamWriter *dx_stream_writer_new (DxBaseTransport *owner);
void dx_stream_writer_free (DxStreamWriter *self);
/* Write to os (a new connection's output), under cancellable. */
void dx_stream_writer_attach (DxStreamWriter *self, GOutputStream *os, GCancellable *cancellable);
/* The connection is gone: queued bytes belonged to it and are dropped, and
 * a write of it that still completes is ignored (the outbox resends). */
void dx_stream_writer_reset (DxStreamWriter *self);
/* Queue bytes (they go with the next flush). */
void dx_stream_writer_append (DxStreamWriter *self, const void *data, gsize len);
/* Start writing what is queued, unless a write is in flight (its
 * completion writes the rest). */
void dx_stream_writer_flush (DxStreamWriter *self);
/* Nothing queued and nothing being written. */
gboolean dx_stream_writer_is_idle (DxStreamWriter *self);

G_END_DECLS
