#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-message.h"

struct _DxMessage {
  GObject parent_instance;
  char *room;
  guint64 id;
  char *from;
  char *text;
  gint64 ts;
  char *cid;
  gboolean pending;
  gboolean own;
  gboolean notice;
  DxMessageArrival arrival;
  guint64 gap_first, gap_last; /* a gap notice: ids that never came */
};

enum { PROP_0, PROP_PENDING, PROP_ID, N_PROPS };
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (DxMessage, dx_message, G_TYPE_OBJECT)

static void
dx_message_finalize (GObject *object)
{
  DxMessage *self = DX_MESSAGE (object);

  g_free (self->room);
  g_free (self->from);
  g_free (self->text);
  g_free (self->cid);
  G_OBJECT_CLASS (dx_message_parent_class)->finalize (object);
}

static void
dx_message_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DxMessage *self = DX_MESSAGE (object);

  switch (prop_id) {
  case PROP_PENDING: g_value_set_boolean (value, self->pending); break;
  case PROP_ID: g_value_set_uint64 (value, self->id); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_message_class_init (DxMessageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = dx_message_finalize;
  object_class->get_property = dx_message_get_property;
  props[PROP_PENDING] = g_param_spec_boolean ("pending", NULL, NULL, FALSE,
                                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_ID] = g_param_spec_uint64 ("id", NULL, NULL, 0, G_MAXUINT64, 0,
                                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
dx_message_init (DxMessage *self)
{
}

DxMessage *
dx_message_new (const char *room, guint64 id, const char *from, const char *text, gint64 ts,
                const char *cid)
{
  DxMessage *self = g_object_new (DX_TYPE_MESSAGE, NULL);

  self->room = g_strdup (room);
  self->id = id;
  self->from = g_strdup (from);
  self->text = g_strdup (text);
  self->ts = ts;
  self->cid = g_strdup (cid);
  /* id 0 never names a stored message: it is ours, not yet acknowledged. */
  self->pending = id == 0;
  return self;
}

DxMessage *
dx_message_new_notice (const char *room, const char *text)
{
  DxMessage *self = dx_message_new (room, 0, "", text, g_get_real_time () / 1000, NULL);

  self->pending = FALSE;
  self->notice = TRUE;
  return self;
}

DxMessage *
dx_message_new_gap (const char *room, guint64 first, guint64 last)
{
  g_autofree char *ids =
      first == last ? g_strdup_printf ("%" G_GUINT64_FORMAT, first)
                    : g_strdup_printf ("%" G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT, first, last);
  /* Translators: %s is one id or a range such as "17–19" that never arrived over UDP. */
  g_autofree char *text =
      g_strdup_printf (first == last ? _ ("Gap: id %s missing") : _ ("Gap: ids %s missing"), ids);
  DxMessage *self = dx_message_new_notice (room, text);

  self->gap_first = first;
  self->gap_last = last;
  return self;
}

gboolean
dx_message_get_gap (DxMessage *self, guint64 *first, guint64 *last)
{
  if (self->gap_first == 0)
    return FALSE;
  if (first != NULL)
    *first = self->gap_first;
  if (last != NULL)
    *last = self->gap_last;
  return TRUE;
}

DxMessageArrival
dx_message_get_arrival (DxMessage *self)
{
  return self->arrival;
}

void
dx_message_set_arrival (DxMessage *self, DxMessageArrival arrival)
{
  self->arrival = arrival;
}

const char *
dx_message_get_room (DxMessage *self)
{
  return self->room;
}

guint64
dx_message_get_id (DxMessage *self)
{
  return self->id;
}

const char *
dx_message_get_from (DxMessage *self)
{
  return self->from;
}

const char *
dx_message_get_text (DxMessage *self)
{
  return self->text;
}

gint64
dx_message_get_ts (DxMessage *self)
{
  return self->ts;
}

const char *
dx_message_get_cid (DxMessage *self)
{
  return self->cid;
}

gboolean
dx_message_get_pending (DxMessage *self)
{
  return self->pending;
}

gboolean
dx_message_get_own (DxMessage *self)
{
  return self->own;
}

gboolean
dx_message_get_notice (DxMessage *self)
{
  return self->notice;
}

void
dx_message_set_own (DxMessage *self, gboolean own)
{
  self->own = own;
}

void
dx_message_acknowledge (DxMessage *self, guint64 id, gint64 ts)
{
  self->id = id;
  self->ts = ts;
  self->pending = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ID]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PENDING]);
}
