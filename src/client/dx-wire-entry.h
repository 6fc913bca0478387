/* DxWireEntry: one thing that crossed the wire, as the wire inspector
 * shows it — an HTTP request or response head, a WebSocket frame, an SSE
 * event, an NDJSON line, a datagram — with its direction, the bytes of
 * framing/headers and of payload it took, and a text rendering. Immutable. */
#pragma once

#include <glib-object.h>

#include "dx-mode.h"

G_BEGIN_DECLS

typedef enum {
  DX_WIRE_HTTP_REQUEST,  /* a request head (+ body bytes) */
  DX_WIRE_HTTP_RESPONSE, /* a response head (+ body bytes, time taken) */
  DX_WIRE_WS_FRAME,      /* one WebSocket frame */
  DX_WIRE_SSE_EVENT,     /* one text/event-stream event */
  DX_WIRE_NDJSON_LINE,   /* one raw TCP line */
  DX_WIRE_DATAGRAM,      /* one UDP datagram */
} DxWireKind;

typedef enum {
  DX_WIRE_SENT,
  DX_WIRE_RECEIVED,
} DxWireDirection;

#define DX_TYPE_WIRE_ENTRY (dx_wire_entry_get_type ())
G_DECLARE_FINAL_TYPE (DxWireEntry, dx_wire_entry, DX, WIRE_ENTRY, GObject)

/* summary: one line ("GET /api/v1/… HTTP/1.1", "text FIN 42 B");
 * detail: the full head or the fields, several lines, may be NULL.
 * header_bytes: framing and headers; payload_bytes: body or payload;
 * duration_us: time taken (responses), or -1. */
DxWireEntry *dx_wire_entry_new (DxMode mode, DxWireKind kind, DxWireDirection direction,
                                const char *summary, const char *detail, guint64 header_bytes,
                                guint64 payload_bytes, gint64 duration_us);

DxMode dx_wire_entry_get_mode (DxWireEntry *self);
DxWireKind dx_wire_entry_get_kind (DxWireEntry *self);
DxWireDirection dx_wire_entry_get_direction (DxWireEntry *self);
/* Local wall-clock time of the entry, in µs. */
gint64 dx_wire_entry_get_time (DxWireEntry *self);
const char *dx_wire_entry_get_summary (DxWireEntry *self);
const char *dx_wire_entry_get_detail (DxWireEntry *self);
guint64 dx_wire_entry_get_header_bytes (DxWireEntry *self);
guint64 dx_wire_entry_get_payload_bytes (DxWireEntry *self);
gint64 dx_wire_entry_get_duration (DxWireEntry *self);
/* "→" or "←" (sent, received). */
const char *dx_wire_entry_arrow (DxWireEntry *self);
/* The short translated name of the kind ("HTTP request", "WS frame"...). */
const char *dx_wire_kind_title (DxWireKind kind);
/* A short untranslated tag of the kind ("HTTP", "WS", "SSE", "NDJSON",
 * "UDP") for the inspector's rows. */
const char *dx_wire_kind_tag (DxWireKind kind);
/* The bytes as the inspector shows them: "hdr 212 B + body 0 B · 3.1 ms". */
char *dx_wire_entry_format_bytes (DxWireEntry *self);
/* Everything about the entry as plain text (for the clipboard): a first
 * line "HH:MM:SS.mmm → kind summary (bytes)" then the detail. */
char *dx_wire_entry_to_text (DxWireEntry *self);

G_END_DECLS
