#include "dx-config.h"

#include "dx-wire-log.h"

struct _DxWireLog {
  GObject parent_instance;
  guint capacity;
  GQueue ring;      /* of DxWireEntry (owned), oldest first */
  GPtrArray *shown; /* the ring's entries that pass the filter, oldest first */
  DxWireFilter filter;
  gboolean paused;
};

static void dx_wire_log_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DxWireLog, dx_wire_log, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, dx_wire_log_model_init))

enum { PROP_0, PROP_PAUSED, PROP_FILTER, N_PROPS };
static GParamSpec *props[N_PROPS];

static gboolean
passes (DxWireLog *self, DxWireEntry *entry)
{
  switch (self->filter) {
  case DX_WIRE_FILTER_SENT: return dx_wire_entry_get_direction (entry) == DX_WIRE_SENT;
  case DX_WIRE_FILTER_RECEIVED: return dx_wire_entry_get_direction (entry) == DX_WIRE_RECEIVED;
  case DX_WIRE_FILTER_BOTH:
  default: return TRUE;
  }
}

DxWireLog *
dx_wire_log_new (guint capacity)
{
  DxWireLog *self = g_object_new (DX_TYPE_WIRE_LOG, NULL);

  self->capacity = capacity != 0 ? capacity : DX_WIRE_LOG_DEFAULT_CAPACITY;
  return self;
}

void
dx_wire_log_add (DxWireLog *self, DxWireEntry *entry)
{
  g_return_if_fail (DX_IS_WIRE_LOG (self) && DX_IS_WIRE_ENTRY (entry));
  if (self->paused)
    return;
  if (self->ring.length == self->capacity) {
    DxWireEntry *oldest = g_queue_pop_head (&self->ring);
    /* The oldest kept entry, if shown, is the first one shown. */
    if (self->shown->len > 0 && self->shown->pdata[0] == oldest) {
      g_ptr_array_remove_index (self->shown, 0);
      g_list_model_items_changed (G_LIST_MODEL (self), 0, 1, 0);
    }
    g_object_unref (oldest);
  }
  g_queue_push_tail (&self->ring, g_object_ref (entry));
  if (passes (self, entry)) {
    g_ptr_array_add (self->shown, entry);
    g_list_model_items_changed (G_LIST_MODEL (self), self->shown->len - 1, 0, 1);
  }
}

static void
refilter (DxWireLog *self)
{
  guint removed = self->shown->len;

  g_ptr_array_set_size (self->shown, 0);
  for (GList *l = self->ring.head; l != NULL; l = l->next)
    if (passes (self, l->data))
      g_ptr_array_add (self->shown, l->data);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, self->shown->len);
}

void
dx_wire_log_clear (DxWireLog *self)
{
  g_return_if_fail (DX_IS_WIRE_LOG (self));
  g_queue_clear_full (&self->ring, g_object_unref);
  refilter (self);
}

guint
dx_wire_log_get_capacity (DxWireLog *self)
{
  return self->capacity;
}

guint
dx_wire_log_get_n_kept (DxWireLog *self)
{
  return self->ring.length;
}

gboolean
dx_wire_log_get_paused (DxWireLog *self)
{
  return self->paused;
}

void
dx_wire_log_set_paused (DxWireLog *self, gboolean paused)
{
  g_return_if_fail (DX_IS_WIRE_LOG (self));
  paused = !!paused;
  if (self->paused == paused)
    return;
  self->paused = paused;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PAUSED]);
}

DxWireFilter
dx_wire_log_get_filter (DxWireLog *self)
{
  return self->filter;
}

void
dx_wire_log_set_filter (DxWireLog *self, DxWireFilter filter)
{
  g_return_if_fail (DX_IS_WIRE_LOG (self) && filter <= DX_WIRE_FILTER_RECEIVED);
  if (self->filter == filter)
    return;
  self->filter = filter;
  refilter (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FILTER]);
}

char *
dx_wire_log_to_text (DxWireLog *self)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < self->shown->len; i++) {
    g_autofree char *one = dx_wire_entry_to_text (self->shown->pdata[i]);
    if (i > 0)
      g_string_append_c (s, '\n');
    g_string_append (s, one);
  }
  return g_string_free (s, FALSE);
}

/* ---- GListModel ---- */

static GType
dx_wire_log_get_item_type (GListModel *model)
{
  return DX_TYPE_WIRE_ENTRY;
}

static guint
dx_wire_log_get_n_items (GListModel *model)
{
  return DX_WIRE_LOG (model)->shown->len;
}

static gpointer
dx_wire_log_get_item (GListModel *model, guint position)
{
  DxWireLog *self = DX_WIRE_LOG (model);

  if (position >= self->shown->len)
    return NULL;
  return g_object_ref (self->shown->pdata[position]);
}

static void
dx_wire_log_model_init (GListModelInterface *iface)
{
  iface->get_item_type = dx_wire_log_get_item_type;
  iface->get_n_items = dx_wire_log_get_n_items;
  iface->get_item = dx_wire_log_get_item;
}

/* ---- GObject ---- */

static void
dx_wire_log_finalize (GObject *object)
{
  DxWireLog *self = DX_WIRE_LOG (object);

  g_ptr_array_unref (self->shown);
  g_queue_clear_full (&self->ring, g_object_unref);
  G_OBJECT_CLASS (dx_wire_log_parent_class)->finalize (object);
}

static void
dx_wire_log_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DxWireLog *self = DX_WIRE_LOG (object);

  switch (prop_id) {
  case PROP_PAUSED: dx_wire_log_set_paused (self, g_value_get_boolean (value)); break;
  case PROP_FILTER: dx_wire_log_set_filter (self, (DxWireFilter) g_value_get_int (value)); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_wire_log_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DxWireLog *self = DX_WIRE_LOG (object);

  switch (prop_id) {
  case PROP_PAUSED: g_value_set_boolean (value, self->paused); break;
  case PROP_FILTER: g_value_set_int (value, (int) self->filter); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_wire_log_class_init (DxWireLogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = dx_wire_log_finalize;
  object_class->set_property = dx_wire_log_set_property;
  object_class->get_property = dx_wire_log_get_property;
  props[PROP_PAUSED] =
      g_param_spec_boolean ("paused", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* A DxWireFilter (0 both, 1 sent, 2 received): an int so a dropdown's
   * "selected" binds to it directly. */
  props[PROP_FILTER] = g_param_spec_int (
      "filter", NULL, NULL, DX_WIRE_FILTER_BOTH, DX_WIRE_FILTER_RECEIVED, DX_WIRE_FILTER_BOTH,
      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
dx_wire_log_init (DxWireLog *self)
{
  self->capacity = DX_WIRE_LOG_DEFAULT_CAPACITY;
  g_queue_init (&self->ring);
  self->shown = g_ptr_array_new ();
}
