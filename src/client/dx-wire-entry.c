#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-wire-entry.h"

struct _DxWireEntry {
  GObject parent_instance;
  DxMode mode;
  DxWireKind kind;
  DxWireDirection direction;
  gint64 time_us;
  char *summary;
  char *detail;
  guint64 header_bytes;
  guint64 payload_bytes;
  gint64 duration_us;
};

G_DEFINE_FINAL_TYPE (DxWireEntry, dx_wire_entry, G_TYPE_OBJECT)

DxWireEntry *
dx_wire_entry_new (DxMode mode, DxWireKind kind, DxWireDirection direction, const char *summary,
                   const char *detail, guint64 header_bytes, guint64 payload_bytes,
                   gint64 duration_us)
{
  DxWireEntry *self = g_object_new (DX_TYPE_WIRE_ENTRY, NULL);

  self->mode = mode;
  self->kind = kind;
  self->direction = direction;
  self->time_us = g_get_real_time ();
  self->summary = g_strdup (summary != NULL ? summary : "");
  self->detail = g_strdup (detail);
  self->header_bytes = header_bytes;
  self->payload_bytes = payload_bytes;
  self->duration_us = duration_us;
  return self;
}

DxMode
dx_wire_entry_get_mode (DxWireEntry *self)
{
  return self->mode;
}

DxWireKind
dx_wire_entry_get_kind (DxWireEntry *self)
{
  return self->kind;
}

DxWireDirection
dx_wire_entry_get_direction (DxWireEntry *self)
{
  return self->direction;
}

gint64
dx_wire_entry_get_time (DxWireEntry *self)
{
  return self->time_us;
}

const char *
dx_wire_entry_get_summary (DxWireEntry *self)
{
  return self->summary;
}

const char *
dx_wire_entry_get_detail (DxWireEntry *self)
{
  return self->detail;
}

guint64
dx_wire_entry_get_header_bytes (DxWireEntry *self)
{
  return self->header_bytes;
}

guint64
dx_wire_entry_get_payload_bytes (DxWireEntry *self)
{
  return self->payload_bytes;
}

gint64
dx_wire_entry_get_duration (DxWireEntry *self)
{
  return self->duration_us;
}

const char *
dx_wire_entry_arrow (DxWireEntry *self)
{
  return self->direction == DX_WIRE_SENT ? "→" : "←";
}

const char *
dx_wire_kind_title (DxWireKind kind)
{
  switch (kind) {
  case DX_WIRE_HTTP_REQUEST: return _ ("HTTP request");
  case DX_WIRE_HTTP_RESPONSE: return _ ("HTTP response");
  case DX_WIRE_WS_FRAME: return _ ("WebSocket frame");
  case DX_WIRE_SSE_EVENT: return _ ("SSE event");
  case DX_WIRE_NDJSON_LINE: return _ ("NDJSON line");
  case DX_WIRE_DATAGRAM: return _ ("Datagram");
  default: return "";
  }
}

const char *
dx_wire_kind_tag (DxWireKind kind)
{
  switch (kind) {
  case DX_WIRE_HTTP_REQUEST:
  case DX_WIRE_HTTP_RESPONSE: return "HTTP";
  case DX_WIRE_WS_FRAME: return "WS";
  case DX_WIRE_SSE_EVENT: return "SSE";
  case DX_WIRE_NDJSON_LINE: return "NDJSON";
  case DX_WIRE_DATAGRAM: return "UDP";
  default: return "";
  }
}

char *
dx_wire_entry_format_bytes (DxWireEntry *self)
{
  g_autofree char *header = g_strdup_printf ("%" G_GUINT64_FORMAT, self->header_bytes);
  g_autofree char *payload = g_strdup_printf ("%" G_GUINT64_FORMAT, self->payload_bytes);
  g_autofree char *bytes = NULL;

  /* Translators: bytes of headers or framing, then of body or payload */
  bytes = g_strdup_printf (_ ("hdr %s B + body %s B"), header, payload);
  if (self->duration_us < 0)
    return g_steal_pointer (&bytes);
  return g_strdup_printf ("%s · %.1f ms", bytes, (double) self->duration_us / 1000.0);
}

char *
dx_wire_entry_to_text (DxWireEntry *self)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_local (self->time_us / G_USEC_PER_SEC);
  g_autofree char *clock = g_date_time_format (t, "%H:%M:%S");
  g_autofree char *bytes = dx_wire_entry_format_bytes (self);
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "%s.%03d %s %s %s (%s)", clock,
                          (int) (self->time_us % G_USEC_PER_SEC / 1000), dx_wire_entry_arrow (self),
                          dx_wire_kind_title (self->kind), self->summary, bytes);
  g_string_append_c (s, '\n');
  if (self->detail != NULL && self->detail[0] != '\0') {
    g_string_append (s, self->detail);
    if (!g_str_has_suffix (self->detail, "\n"))
      g_string_append_c (s, '\n');
  }
  return g_string_free (s, FALSE);
}

static void
dx_wire_entry_finalize (GObject *object)
{
  DxWireEntry *self = DX_WIRE_ENTRY (object);

  g_free (self->summary);
  g_free (self->detail);
  G_OBJECT_CLASS (dx_wire_entry_parent_class)->finalize (object);
}

static void
dx_wire_entry_class_init (DxWireEntryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dx_wire_entry_finalize;
}

static void
dx_wire_entry_init (DxWireEntry *self)
{
}
