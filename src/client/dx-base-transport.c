#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-base-transport.h"
#include "dx-server-address.h"

/* Reconnect delays grow 1, 2, 4, 8, then stay at 10 seconds. */
#define DX_BACKOFF_MAX_S 10

typedef struct {
  char *cid;
  char *text;
  gboolean in_flight;
} DxOutboxItem;

typedef struct {
  char *server_url;
  char *nick;
  char *room;
  guint64 last_id;
  char *epoch;
  DxStats *stats;
  DxTransportState state;
  gboolean running; /* between connect and disconnect */
  guint backoff_s;
  guint retry_source;
  gint64 retry_at_ms;
  gint64 started_ms; /* local time the current connection began */
  double clock_offset_ms;
  gboolean clock_known; /* no latency samples before a trusted offset */
  GQueue outbox;        /* of DxOutboxItem, oldest first */
  guint hold_source;    /* rate limited: the outbox waits for this timeout */
  DxWireLog *wire_log;  /* the inspector's, or NULL */
  char *password;       /* the server's --password, or NULL (docs/protocol.md §4, §5) */
  /* The server refused our password (or its absence): nothing is posted
   * until a new one is set; `password_stopped` if the connection was
   * stopped too (the socket modes, whose hello carries it). */
  gboolean awaiting_password;
  gboolean password_stopped;
} DxBaseTransportPrivate;

static void dx_base_transport_iface_init (DxTransportInterface *iface);

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (DxBaseTransport, dx_base_transport, G_TYPE_OBJECT,
                                  G_ADD_PRIVATE (DxBaseTransport)
                                      G_IMPLEMENT_INTERFACE (DX_TYPE_TRANSPORT,
                                                             dx_base_transport_iface_init))

enum { PROP_0, PROP_SERVER_URL, PROP_NICK, PROP_STATS, PROP_PASSWORD, N_PROPS };
static GParamSpec *props[N_PROPS];

#define PRIV(self) ((DxBaseTransportPrivate *) dx_base_transport_get_instance_private (self))

gint64
dx_now_ms (void)
{
  return g_get_real_time () / 1000;
}

static void
outbox_item_free (gpointer data)
{
  DxOutboxItem *item = data;

  g_free (item->cid);
  g_free (item->text);
  g_free (item);
}

static void
set_state (DxBaseTransport *self, DxTransportState state)
{
  DxBaseTransportPrivate *priv = PRIV (self);

  if (priv->state == state && state != DX_TRANSPORT_RECONNECTING)
    return;
  priv->state = state;
  g_signal_emit_by_name (self, "state-changed");
}

static void
clear_retry (DxBaseTransport *self)
{
  g_clear_handle_id (&PRIV (self)->retry_source, g_source_remove);
}

static void
begin (DxBaseTransport *self)
{
  PRIV (self)->started_ms = dx_now_ms ();
  for (GList *l = PRIV (self)->outbox.head; l != NULL; l = l->next)
    ((DxOutboxItem *) l->data)->in_flight = FALSE;
  DX_BASE_TRANSPORT_GET_CLASS (self)->start (self);
}

static void
stop (DxBaseTransport *self)
{
  DX_BASE_TRANSPORT_GET_CLASS (self)->stop (self);
}

/* ---- DxTransport ---- */

static void
dx_base_transport_connect (DxTransport *transport, const char *room, guint64 since,
                           const char *epoch)
{
  DxBaseTransport *self = DX_BASE_TRANSPORT (transport);
  DxBaseTransportPrivate *priv = PRIV (self);

  g_return_if_fail (dx_room_valid (room, strlen (room)));
  if (priv->running) {
    stop (self);
    clear_retry (self);
  }
  g_free (priv->room);
  priv->room = g_strdup (room);
  priv->last_id = since;
  g_free (priv->epoch);
  priv->epoch = g_strdup (epoch);
  priv->running = TRUE;
  priv->backoff_s = 0;
  priv->awaiting_password = FALSE;
  priv->password_stopped = FALSE;
  set_state (self, DX_TRANSPORT_CONNECTING);
  begin (self);
}

static void
dx_base_transport_join (DxTransport *transport, const char *room, guint64 since, const char *epoch)
{
  /* A room change is a fresh connection on every mode: simple, and the
   * resume point makes it lossless. */
  dx_base_transport_connect (transport, room, since, epoch);
}

static void
flush_outbox (DxBaseTransport *self)
{
  DxBaseTransportPrivate *priv = PRIV (self);
  /* post may call back synchronously; iterate over a snapshot of cids. */
  GPtrArray *todo;

  if (priv->hold_source != 0)
    return; /* rate limited: resent when the hold ends (hold_ended) */
  if (priv->awaiting_password)
    return; /* resent once a password is set (dx_base_transport_set_password) */
  todo = g_ptr_array_new_with_free_func (g_free);
  for (GList *l = priv->outbox.head; l != NULL; l = l->next) {
    DxOutboxItem *item = l->data;
    if (!item->in_flight) {
      item->in_flight = TRUE;
      g_ptr_array_add (todo, g_strdup (item->cid));
    }
  }
  for (guint i = 0; i < todo->len && priv->state == DX_TRANSPORT_CONNECTED; i++) {
    for (GList *l = priv->outbox.head; l != NULL; l = l->next) {
      DxOutboxItem *item = l->data;
      if (g_str_equal (item->cid, todo->pdata[i])) {
        DX_BASE_TRANSPORT_GET_CLASS (self)->post (self, item->text, item->cid);
        break;
      }
    }
  }
  g_ptr_array_unref (todo);
}

static void
dx_base_transport_send (DxTransport *transport, const char *text, const char *cid)
{
  DxBaseTransport *self = DX_BASE_TRANSPORT (transport);
  DxBaseTransportPrivate *priv = PRIV (self);
  DxOutboxItem *item;

  g_return_if_fail (text != NULL && cid != NULL);
  for (GList *l = priv->outbox.head; l != NULL; l = l->next)
    if (g_str_equal (((DxOutboxItem *) l->data)->cid, cid))
      return; /* already queued: the server dedups by cid anyway */
  item = g_new0 (DxOutboxItem, 1);
  item->cid = g_strdup (cid);
  item->text = g_strdup (text);
  g_queue_push_tail (&priv->outbox, item);
  if (priv->state == DX_TRANSPORT_CONNECTED)
    flush_outbox (self);
}

static void
dx_base_transport_disconnect (DxTransport *transport)
{
  DxBaseTransport *self = DX_BASE_TRANSPORT (transport);
  DxBaseTransportPrivate *priv = PRIV (self);

  clear_retry (self);
  if (priv->running) {
    priv->running = FALSE;
    stop (self);
  }
  set_state (self, DX_TRANSPORT_DISCONNECTED);
}

static DxMode
dx_base_transport_get_mode (DxTransport *transport)
{
  return DX_BASE_TRANSPORT_GET_CLASS (transport)->mode;
}

static DxTransportState
dx_base_transport_get_state (DxTransport *transport)
{
  return PRIV (DX_BASE_TRANSPORT (transport))->state;
}

static guint
dx_base_transport_get_retry_seconds (DxTransport *transport)
{
  DxBaseTransportPrivate *priv = PRIV (DX_BASE_TRANSPORT (transport));
  gint64 left = priv->retry_at_ms - dx_now_ms ();

  if (priv->state != DX_TRANSPORT_RECONNECTING || left <= 0)
    return 0;
  return (guint) ((left + 999) / 1000);
}

static guint64
dx_base_transport_get_last_id (DxTransport *transport)
{
  return PRIV (DX_BASE_TRANSPORT (transport))->last_id;
}

static const char *
dx_base_transport_get_epoch (DxTransport *transport)
{
  return PRIV (DX_BASE_TRANSPORT (transport))->epoch;
}

static DxStats *
dx_base_transport_get_stats (DxTransport *transport)
{
  return PRIV (DX_BASE_TRANSPORT (transport))->stats;
}

static void
dx_base_transport_iface_init (DxTransportInterface *iface)
{
  iface->connect = dx_base_transport_connect;
  iface->join = dx_base_transport_join;
  iface->send = dx_base_transport_send;
  iface->disconnect = dx_base_transport_disconnect;
  iface->get_mode = dx_base_transport_get_mode;
  iface->get_state = dx_base_transport_get_state;
  iface->get_retry_seconds = dx_base_transport_get_retry_seconds;
  iface->get_last_id = dx_base_transport_get_last_id;
  iface->get_epoch = dx_base_transport_get_epoch;
  iface->get_stats = dx_base_transport_get_stats;
}

/* ---- for subclasses ---- */

void
dx_base_transport_connected (DxBaseTransport *self)
{
  PRIV (self)->backoff_s = 0;
  set_state (self, DX_TRANSPORT_CONNECTED);
  flush_outbox (self);
}

GSocketConnection *
dx_base_transport_connect_finish (DxBaseTransport *self, GObject *source, GAsyncResult *result)
{
  g_autoptr (GError) error = NULL;
  GSocketConnection *conn =
      g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return NULL;
  if (conn == NULL) {
    dx_base_transport_failed (self, error->message);
    return NULL;
  }
  if (!PRIV (self)->running) {
    g_object_unref (conn);
    return NULL;
  }
  dx_stats_track_connection (PRIV (self)->stats, G_OBJECT (conn));
  dx_server_connection_prepare (conn);
  return conn;
}

static gboolean
retry_cb (gpointer data)
{
  DxBaseTransport *self = data;

  PRIV (self)->retry_source = 0;
  set_state (self, DX_TRANSPORT_CONNECTING);
  begin (self);
  return G_SOURCE_REMOVE;
}

void
dx_base_transport_failed (DxBaseTransport *self, const char *why)
{
  DxBaseTransportPrivate *priv = PRIV (self);

  if (!priv->running || priv->retry_source != 0 || priv->password_stopped)
    return;
  stop (self);
  priv->backoff_s = priv->backoff_s == 0 ? 1 : MIN (priv->backoff_s * 2, DX_BACKOFF_MAX_S);
  priv->retry_at_ms = dx_now_ms () + priv->backoff_s * 1000;
  priv->retry_source = g_timeout_add_seconds (priv->backoff_s, retry_cb, self);
  g_debug ("%s: %s; retrying in %u s", dx_mode_to_string (DX_BASE_TRANSPORT_GET_CLASS (self)->mode),
           why, priv->backoff_s);
  set_state (self, DX_TRANSPORT_RECONNECTING);
  if (why != NULL)
    g_signal_emit_by_name (self, "error", why);
}

void
dx_base_transport_restart (DxBaseTransport *self)
{
  if (!PRIV (self)->running)
    return;
  stop (self);
  clear_retry (self);
  set_state (self, DX_TRANSPORT_CONNECTING);
  begin (self);
}

void
dx_base_transport_password_refused (DxBaseTransport *self, gboolean stop_connection)
{
  DxBaseTransportPrivate *priv = PRIV (self);
  gboolean refused = priv->password != NULL;

  if (!priv->running || priv->awaiting_password)
    return;
  priv->awaiting_password = TRUE;
  /* Retrying with the same password would be refused again (and count as
   * an error on the server): wait for the person instead. */
  if (stop_connection) {
    priv->password_stopped = TRUE;
    clear_retry (self);
    stop (self);
    set_state (self, DX_TRANSPORT_DISCONNECTED);
  }
  g_signal_emit_by_name (self, "password-required", refused);
}

gboolean
dx_base_transport_get_awaiting_password (DxBaseTransport *self)
{
  return PRIV (self)->awaiting_password;
}

const char *
dx_base_transport_get_password (DxBaseTransport *self)
{
  return PRIV (self)->password;
}

/* The password lives only in memory; wipe it before giving it back. */
static void
forget_password (DxBaseTransportPrivate *priv)
{
  if (priv->password != NULL)
    memset (priv->password, 0, strlen (priv->password));
  g_clear_pointer (&priv->password, g_free);
}

void
dx_base_transport_set_password (DxBaseTransport *self, const char *password)
{
  DxBaseTransportPrivate *priv = PRIV (self);
  gboolean was_stopped = priv->password_stopped;

  if (g_strcmp0 (password, priv->password) == 0 && !priv->awaiting_password)
    return;
  forget_password (priv);
  priv->password = g_strdup (password);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PASSWORD]);
  if (!priv->awaiting_password)
    return; /* used from the next hello or session on */
  priv->awaiting_password = FALSE;
  priv->password_stopped = FALSE;
  if (!priv->running)
    return;
  if (was_stopped) {
    priv->backoff_s = 0;
    set_state (self, DX_TRANSPORT_CONNECTING);
    begin (self);
  } else if (priv->state == DX_TRANSPORT_CONNECTED) {
    flush_outbox (self);
  }
}

static void
emit_message (DxBaseTransport *self, const dx_msg *m, DxMessageArrival arrival)
{
  DxBaseTransportPrivate *priv = PRIV (self);
  g_autoptr (DxMessage) msg = NULL;
  gint64 now = dx_now_ms ();

  priv->last_id = MAX (priv->last_id, m->id);
  dx_stats_add_message (priv->stats);
  dx_stats_add_text_bytes (priv->stats, m->text_len);
  /* Latency only for messages sent while this connection was up: a replay
   * of older history says nothing about the transport. */
  if (priv->clock_known && (double) m->ts >= (double) priv->started_ms + priv->clock_offset_ms) {
    double latency = (double) now + priv->clock_offset_ms - (double) m->ts;
    dx_stats_add_latency (priv->stats, MAX (latency, 0.0));
  }
  msg =
      dx_message_new (m->room, m->id, m->from, m->text, (gint64) m->ts, m->has_cid ? m->cid : NULL);
  dx_message_set_arrival (msg, arrival);
  g_signal_emit_by_name (self, "message", msg);
}

gboolean
dx_base_transport_deliver (DxBaseTransport *self, const dx_msg *m)
{
  DxBaseTransportPrivate *priv = PRIV (self);

  if (m->type != DX_MSG_MESSAGE || g_strcmp0 (m->room, priv->room) != 0)
    return FALSE;
  /* Ids of a room only grow: anything at or below the resume point was
   * already shown (a replay after a reconnect, or a race at a switch). */
  if (m->id <= priv->last_id)
    return FALSE;
  emit_message (self, m, DX_MESSAGE_IN_ORDER);
  return TRUE;
}

gboolean
dx_base_transport_deliver_unordered (DxBaseTransport *self, const dx_msg *m,
                                     DxMessageArrival arrival)
{
  if (m->type != DX_MSG_MESSAGE || g_strcmp0 (m->room, PRIV (self)->room) != 0)
    return FALSE;
  emit_message (self, m, arrival);
  return TRUE;
}

static GList *
find_outbox (DxBaseTransport *self, const char *cid)
{
  for (GList *l = PRIV (self)->outbox.head; l != NULL; l = l->next)
    if (g_strcmp0 (((DxOutboxItem *) l->data)->cid, cid) == 0)
      return l;
  return NULL;
}

void
dx_base_transport_acked (DxBaseTransport *self, const char *cid, guint64 id, gint64 ts)
{
  GList *l = find_outbox (self, cid);

  if (l == NULL)
    return; /* an ack for a send we no longer track (e.g. a retry's twin) */
  dx_stats_add_text_bytes (PRIV (self)->stats, strlen (((DxOutboxItem *) l->data)->text));
  outbox_item_free (l->data);
  g_queue_delete_link (&PRIV (self)->outbox, l);
  g_signal_emit_by_name (self, "ack", cid, id, ts);
}

void
dx_base_transport_rejected (DxBaseTransport *self, const char *cid, const char *why)
{
  GList *l = find_outbox (self, cid);

  if (l != NULL) {
    outbox_item_free (l->data);
    g_queue_delete_link (&PRIV (self)->outbox, l);
  }
  g_signal_emit_by_name (self, "error", why);
}

static gboolean
hold_ended (gpointer data)
{
  DxBaseTransport *self = data;

  PRIV (self)->hold_source = 0;
  if (PRIV (self)->state == DX_TRANSPORT_CONNECTED)
    flush_outbox (self);
  return G_SOURCE_REMOVE;
}

void
dx_base_transport_rate_limited (DxBaseTransport *self, const char *cid, guint64 retry_ms)
{
  DxBaseTransportPrivate *priv = PRIV (self);
  GList *l = find_outbox (self, cid);

  if (l != NULL)
    ((DxOutboxItem *) l->data)->in_flight = FALSE;
  /* docs/protocol.md §9: wait as long as the server says (at least 1 ms),
   * then resend everything not in flight with the same cid; a later
   * refusal while we wait only extends the wait. */
  retry_ms = CLAMP (retry_ms, 1, 600000);
  if (priv->hold_source != 0)
    g_source_remove (priv->hold_source);
  priv->hold_source = g_timeout_add ((guint) retry_ms, hold_ended, self);
  g_autofree char *why = g_strdup_printf (_ ("Sending too fast — retrying in %u s"),
                                          (guint) ((retry_ms + 999) / 1000));
  g_signal_emit_by_name (self, "error", why);
}

void
dx_base_transport_post_failed (DxBaseTransport *self, const char *cid)
{
  GList *l = find_outbox (self, cid);

  if (l != NULL)
    ((DxOutboxItem *) l->data)->in_flight = FALSE;
}

gboolean
dx_base_transport_check_epoch (DxBaseTransport *self, const char *epoch)
{
  DxBaseTransportPrivate *priv = PRIV (self);

  if (epoch == NULL || epoch[0] == '\0')
    return TRUE;
  if (priv->epoch == NULL || priv->epoch[0] == '\0') {
    g_free (priv->epoch);
    priv->epoch = g_strdup (epoch);
    return TRUE;
  }
  if (g_str_equal (priv->epoch, epoch))
    return TRUE;
  /* A new store: ids restarted, our resume point means nothing there. */
  g_free (priv->epoch);
  priv->epoch = g_strdup (epoch);
  priv->last_id = 0;
  g_signal_emit_by_name (self, "epoch-changed", epoch);
  return FALSE;
}

void
dx_base_transport_report_error (DxBaseTransport *self, const char *text)
{
  g_signal_emit_by_name (self, "error", text);
}

void
dx_base_transport_set_wire_log (DxBaseTransport *self, DxWireLog *log)
{
  g_set_object (&PRIV (self)->wire_log, log);
}

gboolean
dx_base_transport_logs_wire (DxBaseTransport *self)
{
  return PRIV (self)->wire_log != NULL && !dx_wire_log_get_paused (PRIV (self)->wire_log);
}

void
dx_base_transport_log_wire (DxBaseTransport *self, DxWireKind kind, DxWireDirection direction,
                            const char *summary, const char *detail, guint64 header_bytes,
                            guint64 payload_bytes, gint64 duration_us)
{
  g_autoptr (DxWireEntry) entry = NULL;

  if (!dx_base_transport_logs_wire (self))
    return;
  entry = dx_wire_entry_new (DX_BASE_TRANSPORT_GET_CLASS (self)->mode, kind, direction, summary,
                             detail, header_bytes, payload_bytes, duration_us);
  dx_wire_log_add (PRIV (self)->wire_log, entry);
}

gboolean
dx_base_transport_is_running (DxBaseTransport *self)
{
  return PRIV (self)->running;
}

const char *
dx_base_transport_get_server_url (DxBaseTransport *self)
{
  return PRIV (self)->server_url;
}

const char *
dx_base_transport_get_nick (DxBaseTransport *self)
{
  return PRIV (self)->nick;
}

const char *
dx_base_transport_get_room (DxBaseTransport *self)
{
  return PRIV (self)->room;
}

guint64
dx_base_transport_get_since (DxBaseTransport *self)
{
  return PRIV (self)->last_id;
}

DxStats *
dx_base_transport_get_stats_object (DxBaseTransport *self)
{
  return PRIV (self)->stats;
}

void
dx_base_transport_set_clock_offset (DxBaseTransport *self, double offset_ms)
{
  PRIV (self)->clock_offset_ms = offset_ms;
  PRIV (self)->clock_known = TRUE;
}

/* ---- GObject ---- */

static void
dx_base_transport_dispose (GObject *object)
{
  DxBaseTransport *self = DX_BASE_TRANSPORT (object);

  clear_retry (self);
  g_clear_handle_id (&PRIV (self)->hold_source, g_source_remove);
  if (PRIV (self)->running) {
    PRIV (self)->running = FALSE;
    stop (self);
  }
  g_clear_object (&PRIV (self)->stats);
  g_clear_object (&PRIV (self)->wire_log);
  G_OBJECT_CLASS (dx_base_transport_parent_class)->dispose (object);
}

static void
dx_base_transport_finalize (GObject *object)
{
  DxBaseTransportPrivate *priv = PRIV (DX_BASE_TRANSPORT (object));

  g_free (priv->server_url);
  g_free (priv->nick);
  g_free (priv->room);
  g_free (priv->epoch);
  forget_password (priv);
  g_queue_clear_full (&priv->outbox, outbox_item_free);
  G_OBJECT_CLASS (dx_base_transport_parent_class)->finalize (object);
}

static void
dx_base_transport_set_property (GObject *object, guint prop_id, const GValue *value,
                                GParamSpec *pspec)
{
  DxBaseTransportPrivate *priv = PRIV (DX_BASE_TRANSPORT (object));

  switch (prop_id) {
  case PROP_SERVER_URL: {
    /* Keep it without a trailing slash so paths can be appended. */
    char *url = g_value_dup_string (value);
    while (url != NULL && g_str_has_suffix (url, "/"))
      url[strlen (url) - 1] = '\0';
    priv->server_url = url;
    break;
  }
  case PROP_NICK: priv->nick = g_value_dup_string (value); break;
  case PROP_STATS:
    priv->stats = g_value_dup_object (value);
    if (priv->stats == NULL)
      priv->stats = dx_stats_new ();
    break;
  case PROP_PASSWORD:
    dx_base_transport_set_password (DX_BASE_TRANSPORT (object), g_value_get_string (value));
    break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_base_transport_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DxBaseTransportPrivate *priv = PRIV (DX_BASE_TRANSPORT (object));

  switch (prop_id) {
  case PROP_SERVER_URL: g_value_set_string (value, priv->server_url); break;
  case PROP_NICK: g_value_set_string (value, priv->nick); break;
  case PROP_STATS: g_value_set_object (value, priv->stats); break;
  case PROP_PASSWORD: g_value_set_string (value, priv->password); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_base_transport_class_init (DxBaseTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = dx_base_transport_dispose;
  object_class->finalize = dx_base_transport_finalize;
  object_class->set_property = dx_base_transport_set_property;
  object_class->get_property = dx_base_transport_get_property;

  props[PROP_SERVER_URL] =
      g_param_spec_string ("server-url", NULL, NULL, NULL,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_NICK] =
      g_param_spec_string ("nick", NULL, NULL, NULL,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_STATS] =
      g_param_spec_object ("stats", NULL, NULL, DX_TYPE_STATS,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /* The server's password (NULL: none sent); setting it after a refusal
   * tries again. */
  props[PROP_PASSWORD] =
      g_param_spec_string ("password", NULL, NULL, NULL,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
dx_base_transport_init (DxBaseTransport *self)
{
  g_queue_init (&PRIV (self)->outbox);
}
