#include "dx-run-log.h"

typedef struct {
  DxDeliveryCounts counts;
  gboolean comparable; /* last_id is from the same run of ids */
} RoomLog;

struct _DxRunLog {
  GObject parent_instance;
  gboolean used[DX_N_MODES];
  DxMode current;        /* the mode a switch starts from */
  char *epoch;           /* of the followed chat's server store, once known */
  GArray *switches;      /* DxSwitchRecord */
  GHashTable *rooms;     /* name -> RoomLog */
  GPtrArray *room_order; /* names (owned by rooms), NULL-terminated */
};

G_DEFINE_FINAL_TYPE (DxRunLog, dx_run_log, G_TYPE_OBJECT)

void
dx_run_log_add_mode (DxRunLog *self, DxMode mode)
{
  g_return_if_fail (mode < DX_N_MODES);
  self->used[mode] = TRUE;
  self->current = mode;
}

void
dx_run_log_add_switch (DxRunLog *self, gint64 at_ms, DxMode from, DxMode to, guint64 last_id)
{
  DxSwitchRecord r = { .at_ms = at_ms, .from = from, .to = to, .last_id = last_id };

  g_array_append_val (self->switches, r);
  dx_run_log_add_mode (self, to);
}

void
dx_run_log_add_delivery (DxRunLog *self, const char *room, guint64 id)
{
  RoomLog *r = g_hash_table_lookup (self->rooms, room);

  if (r == NULL) {
    char *name = g_strdup (room);
    r = g_new0 (RoomLog, 1);
    r->counts.first_id = id;
    g_hash_table_insert (self->rooms, name, r);
    g_ptr_array_insert (self->room_order, (gint) self->room_order->len - 1, name);
  }
  r->counts.count++;
  if (r->comparable && id <= r->counts.last_id) {
    r->counts.duplicates++;
    return;
  }
  if (r->comparable && id > r->counts.last_id + 1)
    r->counts.gaps += id - r->counts.last_id - 1;
  r->counts.last_id = id;
  r->comparable = TRUE;
}

void
dx_run_log_restart_ids (DxRunLog *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->rooms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((RoomLog *) value)->comparable = FALSE;
}

gboolean
dx_run_log_mode_used (DxRunLog *self, DxMode mode)
{
  g_return_val_if_fail (mode < DX_N_MODES, FALSE);
  return self->used[mode];
}

guint
dx_run_log_get_n_switches (DxRunLog *self)
{
  return self->switches->len;
}

const DxSwitchRecord *
dx_run_log_get_switch (DxRunLog *self, guint i)
{
  g_return_val_if_fail (i < self->switches->len, NULL);
  return &g_array_index (self->switches, DxSwitchRecord, i);
}

const char *const *
dx_run_log_get_rooms (DxRunLog *self)
{
  return (const char *const *) self->room_order->pdata;
}

const DxDeliveryCounts *
dx_run_log_get_deliveries (DxRunLog *self, const char *room)
{
  RoomLog *r = g_hash_table_lookup (self->rooms, room);

  return r != NULL ? &r->counts : NULL;
}

/* ---- following a chat ---- */

static void
on_delivered (DxChat *chat, DxMessage *msg, DxRunLog *self)
{
  dx_run_log_add_delivery (self, dx_message_get_room (msg), dx_message_get_id (msg));
}

static void
on_switched (DxChat *chat, guint mode, DxRunLog *self)
{
  /* A switch asked for while history still loads may repeat the mode. */
  if (mode == self->current)
    return;
  dx_run_log_add_switch (self, g_get_real_time () / 1000, self->current, mode,
                         dx_chat_get_last_id (chat));
}

static void
on_room (DxChat *chat, GParamSpec *pspec, DxRunLog *self)
{
  /* The room is loaded anew: the transport resumes after its history. */
  dx_run_log_restart_ids (self);
}

static void
on_epoch (DxChat *chat, GParamSpec *pspec, DxRunLog *self)
{
  const char *epoch = dx_chat_get_epoch (chat);

  /* Learning the first epoch late (history failed) is not a new store. */
  if (self->epoch != NULL && g_strcmp0 (epoch, self->epoch) != 0)
    dx_run_log_restart_ids (self);
  g_free (self->epoch);
  self->epoch = g_strdup (epoch);
}

void
dx_run_log_follow (DxRunLog *self, DxChat *chat)
{
  dx_run_log_add_mode (self, dx_chat_get_mode (chat));
  g_free (self->epoch);
  self->epoch = g_strdup (dx_chat_get_epoch (chat));
  g_signal_connect_object (chat, "delivered", G_CALLBACK (on_delivered), self, 0);
  g_signal_connect_object (chat, "switched", G_CALLBACK (on_switched), self, 0);
  g_signal_connect_object (chat, "notify::room", G_CALLBACK (on_room), self, 0);
  g_signal_connect_object (chat, "notify::epoch", G_CALLBACK (on_epoch), self, 0);
}

/* ---- GObject ---- */

static void
dx_run_log_finalize (GObject *object)
{
  DxRunLog *self = DX_RUN_LOG (object);

  g_array_unref (self->switches);
  g_ptr_array_unref (self->room_order);
  g_hash_table_unref (self->rooms);
  g_free (self->epoch);
  G_OBJECT_CLASS (dx_run_log_parent_class)->finalize (object);
}

static void
dx_run_log_class_init (DxRunLogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dx_run_log_finalize;
}

static void
dx_run_log_init (DxRunLog *self)
{
  self->switches = g_array_new (FALSE, TRUE, sizeof (DxSwitchRecord));
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->room_order = g_ptr_array_new ();
  g_ptr_array_add (self->room_order, NULL);
}

DxRunLog *
dx_run_log_new (void)
{
  return g_object_new (DX_TYPE_RUN_LOG, NULL);
}
