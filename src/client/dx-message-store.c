#include "dx-message-store.h"

struct _DxMessageStore {
  GObject parent_instance;
  GPtrArray *items; /* DxMessage, display order */
  GHashTable *keys; /* "room/id" of every server message held */
};

static void dx_message_store_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DxMessageStore, dx_message_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      dx_message_store_model_init))

static GType
get_item_type (GListModel *model)
{
  return DX_TYPE_MESSAGE;
}

static guint
get_n_items (GListModel *model)
{
  return DX_MESSAGE_STORE (model)->items->len;
}

static gpointer
get_item (GListModel *model, guint position)
{
  DxMessageStore *self = DX_MESSAGE_STORE (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (self->items->pdata[position]);
}

static void
dx_message_store_model_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static char *
key_of (const char *room, guint64 id)
{
  return g_strdup_printf ("%s/%" G_GUINT64_FORMAT, room, id);
}

gboolean
dx_message_store_contains (DxMessageStore *self, const char *room, guint64 id)
{
  g_autofree char *key = key_of (room, id);
  return g_hash_table_contains (self->keys, key);
}

static void
remember (DxMessageStore *self, const char *room, guint64 id)
{
  g_hash_table_add (self->keys, key_of (room, id));
}

static DxMessage *
find_own (DxMessageStore *self, const char *cid)
{
  if (cid == NULL)
    return NULL;
  for (guint i = self->items->len; i > 0; i--) {
    DxMessage *m = self->items->pdata[i - 1];
    if (dx_message_get_own (m) && g_strcmp0 (dx_message_get_cid (m), cid) == 0)
      return m;
  }
  return NULL;
}

gboolean
dx_message_store_add (DxMessageStore *self, DxMessage *message)
{
  const char *room = dx_message_get_room (message);
  guint64 id = dx_message_get_id (message);
  DxMessage *own;
  guint pos;

  if (id == 0 || dx_message_store_contains (self, room, id))
    return FALSE;
  remember (self, room, id);
  own = find_own (self, dx_message_get_cid (message));
  if (own != NULL && dx_message_get_id (own) == 0) {
    /* Our pending line came back through the room: it is stored. */
    dx_message_acknowledge (own, id, dx_message_get_ts (message));
    return FALSE;
  }
  /* Usually appended; a late message finds its place by id, but never
   * jumps over a notice or above our pending sends. A gap notice is the
   * exception: it stands where its first missing id would be, so a late
   * or repaired message goes after the gap it fills. */
  pos = self->items->len;
  while (pos > 0) {
    DxMessage *prev = self->items->pdata[pos - 1];
    guint64 gap_first;
    if (dx_message_get_gap (prev, &gap_first, NULL)) {
      if (gap_first <= id)
        break;
      pos--;
      continue;
    }
    if (!dx_message_get_pending (prev) && dx_message_get_id (prev) <= id)
      break;
    if (dx_message_get_notice (prev))
      break;
    pos--;
  }
  g_ptr_array_insert (self->items, (gint) pos, g_object_ref (message));
  g_list_model_items_changed (G_LIST_MODEL (self), pos, 0, 1);
  return TRUE;
}

void
dx_message_store_add_pending (DxMessageStore *self, DxMessage *message)
{
  dx_message_set_own (message, TRUE);
  g_ptr_array_add (self->items, g_object_ref (message));
  g_list_model_items_changed (G_LIST_MODEL (self), self->items->len - 1, 0, 1);
}

void
dx_message_store_ack (DxMessageStore *self, const char *cid, guint64 id, gint64 ts)
{
  DxMessage *own = find_own (self, cid);

  if (own == NULL || dx_message_get_id (own) != 0)
    return;
  if (dx_message_store_contains (self, dx_message_get_room (own), id)) {
    /* The room's copy came first and was inserted: drop our twin. */
    guint pos;
    if (g_ptr_array_find (self->items, own, &pos)) {
      g_ptr_array_remove_index (self->items, pos);
      g_list_model_items_changed (G_LIST_MODEL (self), pos, 1, 0);
    }
    return;
  }
  remember (self, dx_message_get_room (own), id);
  dx_message_acknowledge (own, id, ts);
}

void
dx_message_store_add_notice (DxMessageStore *self, DxMessage *notice)
{
  g_ptr_array_add (self->items, g_object_ref (notice));
  g_list_model_items_changed (G_LIST_MODEL (self), self->items->len - 1, 0, 1);
}

guint
dx_message_store_prepend (DxMessageStore *self, GPtrArray *older)
{
  guint n = 0;

  for (guint i = 0; i < older->len; i++) {
    DxMessage *m = older->pdata[i];
    if (dx_message_get_id (m) == 0
        || dx_message_store_contains (self, dx_message_get_room (m), dx_message_get_id (m)))
      continue;
    remember (self, dx_message_get_room (m), dx_message_get_id (m));
    g_ptr_array_insert (self->items, (gint) n, g_object_ref (m));
    n++;
  }
  if (n > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, 0, n);
  return n;
}

void
dx_message_store_clear (DxMessageStore *self)
{
  guint n = self->items->len;

  g_ptr_array_set_size (self->items, 0);
  g_hash_table_remove_all (self->keys);
  if (n > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, n, 0);
}

guint64
dx_message_store_get_first_id (DxMessageStore *self)
{
  for (guint i = 0; i < self->items->len; i++) {
    guint64 id = dx_message_get_id (self->items->pdata[i]);
    if (id > 0)
      return id;
  }
  return 0;
}

guint64
dx_message_store_get_last_id (DxMessageStore *self)
{
  guint64 max = 0;

  for (guint i = self->items->len; i > 0; i--)
    max = MAX (max, dx_message_get_id (self->items->pdata[i - 1]));
  return max;
}

guint64
dx_message_store_get_first_missing (DxMessageStore *self)
{
  guint64 lowest = 0;

  for (guint i = 0; i < self->items->len; i++) {
    DxMessage *m = self->items->pdata[i];
    guint64 first, last;
    if (!dx_message_get_gap (m, &first, &last))
      continue;
    for (guint64 id = first; id <= last && (lowest == 0 || id < lowest); id++)
      if (!dx_message_store_contains (self, dx_message_get_room (m), id)) {
        lowest = id;
        break;
      }
  }
  return lowest;
}

GPtrArray *
dx_message_store_get_pending (DxMessageStore *self)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; i < self->items->len; i++) {
    DxMessage *m = self->items->pdata[i];
    if (dx_message_get_pending (m))
      g_ptr_array_add (out, m);
  }
  return out;
}

static void
dx_message_store_finalize (GObject *object)
{
  DxMessageStore *self = DX_MESSAGE_STORE (object);

  g_ptr_array_unref (self->items);
  g_hash_table_unref (self->keys);
  G_OBJECT_CLASS (dx_message_store_parent_class)->finalize (object);
}

static void
dx_message_store_class_init (DxMessageStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dx_message_store_finalize;
}

static void
dx_message_store_init (DxMessageStore *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

DxMessageStore *
dx_message_store_new (void)
{
  return g_object_new (DX_TYPE_MESSAGE_STORE, NULL);
}
