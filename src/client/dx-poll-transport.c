#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-poll-transport.h"

#define DX_POLL_LIMIT 1000

typedef struct {
  guint interval_ms;
  guint timer;
  gint64 next_due_ms; /* local time the pending timer fires */
  GCancellable *cancellable;
  gboolean primed; /* a first answer came: long polls may now be held */
} DxPollTransportPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (DxPollTransport, dx_poll_transport, DX_TYPE_HTTP_TRANSPORT)

#define PRIV(self) ((DxPollTransportPrivate *) dx_poll_transport_get_instance_private (self))

enum { PROP_0, PROP_INTERVAL, N_PROPS };
static GParamSpec *props[N_PROPS];

static void poll_now (DxPollTransport *self);

static gboolean
timer_cb (gpointer data)
{
  DxPollTransport *self = data;

  PRIV (self)->timer = 0;
  poll_now (self);
  return G_SOURCE_REMOVE;
}

static void
schedule (DxPollTransport *self, guint delay_ms)
{
  g_clear_handle_id (&PRIV (self)->timer, g_source_remove);
  PRIV (self)->next_due_ms = dx_now_ms () + delay_ms;
  PRIV (self)->timer = g_timeout_add (delay_ms, timer_cb, self);
}

typedef struct {
  GPtrArray *messages; /* of dx_msg copies */
} Collected;

static bool
collect_cb (const dx_msg *m, void *user)
{
  Collected *c = user;

  g_ptr_array_add (c->messages, g_memdup2 (m, sizeof *m));
  return true;
}

static void
poll_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxPollTransport *self = data;
  DxBaseTransport *base = DX_BASE_TRANSPORT (self);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  Collected c = { g_ptr_array_new_with_free_func (g_free) };
  char epoch[DX_EPOCH_MAX + 1] = "";
  guint64 last_id = 0;
  gsize len = 0;
  const char *json = body != NULL ? g_bytes_get_data (body, &len) : NULL;
  dx_msg_error err = { 0 };
  guint got = 0;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  dx_http_transport_account (DX_HTTP_TRANSPORT (self), msg);
  if (error != NULL || soup_message_get_status (msg) != SOUP_STATUS_OK || json == NULL) {
    g_autofree char *why = dx_http_transport_describe_failure (msg, body, error);
    dx_base_transport_failed (base, why);
    goto out;
  }
  if (!dx_decode_poll_answer (json, len, collect_cb, &c, &last_id, epoch, &err)) {
    g_autofree char *why = g_strdup_printf (_ ("Bad answer from the server: %s"), err.message);
    dx_base_transport_failed (base, why);
    goto out;
  }
  if (!dx_base_transport_check_epoch (base, epoch)) {
    /* The answer was relative to a since of another store: ask again from 0. */
    poll_now (self);
    goto out;
  }
  PRIV (self)->primed = TRUE;
  if (dx_transport_get_state (DX_TRANSPORT (self)) != DX_TRANSPORT_CONNECTED)
    dx_base_transport_connected (base);
  if (!dx_base_transport_is_running (base))
    goto out;
  for (guint i = 0; i < c.messages->len && dx_base_transport_is_running (base); i++)
    got += dx_base_transport_deliver (base, c.messages->pdata[i]);
  /* A handler may have stopped us (a switch of mode). */
  if (!dx_base_transport_is_running (base) || PRIV (self)->cancellable == NULL)
    goto out;
  if (c.messages->len == 0)
    dx_stats_add_empty_poll (dx_base_transport_get_stats_object (base));
  /* A full page means more is waiting: fetch it at once. */
  if (c.messages->len >= DX_POLL_LIMIT)
    schedule (self, 0);
  else
    schedule (self, DX_POLL_TRANSPORT_GET_CLASS (self)->next_delay (self, got > 0));
out:
  g_ptr_array_unref (c.messages);
  g_object_unref (self);
}

static void
poll_now (DxPollTransport *self)
{
  DxPollTransportPrivate *priv = PRIV (self);
  DxBaseTransport *base = DX_BASE_TRANSPORT (self);
  /* The first request of a connection is answered at once (no wait), so
   * the state and the epoch are known without waiting for a message. */
  g_autofree char *extra =
      priv->primed ? DX_POLL_TRANSPORT_GET_CLASS (self)->extra_query (self) : g_strdup ("");
  g_autofree char *what =
      g_strdup_printf ("messages?since=%" G_GUINT64_FORMAT "&limit=%d%s",
                       dx_base_transport_get_since (base), DX_POLL_LIMIT, extra);
  g_autofree char *path = dx_http_transport_room_path (DX_HTTP_TRANSPORT (self), what);
  g_autoptr (SoupMessage) msg =
      dx_http_transport_new_message (DX_HTTP_TRANSPORT (self), "GET", path);

  if (msg == NULL) {
    dx_base_transport_failed (base, _ ("Invalid server address"));
    return;
  }
  if (priv->cancellable == NULL)
    priv->cancellable = g_cancellable_new ();
  soup_session_send_and_read_async (dx_http_transport_get_session (DX_HTTP_TRANSPORT (self)), msg,
                                    G_PRIORITY_DEFAULT, priv->cancellable, poll_done,
                                    g_object_ref (self));
}

static void
dx_poll_transport_start (DxBaseTransport *base)
{
  PRIV (DX_POLL_TRANSPORT (base))->primed = FALSE;
  poll_now (DX_POLL_TRANSPORT (base));
}

static void
dx_poll_transport_stop (DxBaseTransport *base)
{
  DxPollTransportPrivate *priv = PRIV (DX_POLL_TRANSPORT (base));

  g_clear_handle_id (&priv->timer, g_source_remove);
  if (priv->cancellable != NULL) {
    g_cancellable_cancel (priv->cancellable);
    g_clear_object (&priv->cancellable);
  }
  DX_BASE_TRANSPORT_CLASS (dx_poll_transport_parent_class)->stop (base);
}

static char *
dx_poll_transport_extra_query (DxPollTransport *self)
{
  return g_strdup ("");
}

static guint
dx_poll_transport_next_delay (DxPollTransport *self, gboolean got_messages)
{
  return PRIV (self)->interval_ms;
}

guint
dx_poll_transport_get_interval (DxPollTransport *self)
{
  return PRIV (self)->interval_ms;
}

void
dx_poll_transport_set_interval (DxPollTransport *self, guint interval_ms)
{
  DxPollTransportPrivate *priv = PRIV (self);

  interval_ms = CLAMP (interval_ms, 100, 60000);
  if (priv->interval_ms == interval_ms)
    return;
  priv->interval_ms = interval_ms;
  /* Live change: a waiting timer is re-aimed from now. */
  if (priv->timer != 0) {
    gint64 left = priv->next_due_ms - dx_now_ms ();
    if (left > (gint64) interval_ms)
      schedule (self, interval_ms);
  }
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_INTERVAL]);
}

static void
dx_poll_transport_set_property (GObject *object, guint prop_id, const GValue *value,
                                GParamSpec *pspec)
{
  switch (prop_id) {
  case PROP_INTERVAL:
    dx_poll_transport_set_interval (DX_POLL_TRANSPORT (object), g_value_get_uint (value));
    break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_poll_transport_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id) {
  case PROP_INTERVAL:
    g_value_set_uint (value, PRIV (DX_POLL_TRANSPORT (object))->interval_ms);
    break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_poll_transport_class_init (DxPollTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  DxBaseTransportClass *base_class = DX_BASE_TRANSPORT_CLASS (klass);

  object_class->set_property = dx_poll_transport_set_property;
  object_class->get_property = dx_poll_transport_get_property;
  base_class->mode = DX_MODE_POLL;
  base_class->start = dx_poll_transport_start;
  base_class->stop = dx_poll_transport_stop;
  klass->extra_query = dx_poll_transport_extra_query;
  klass->next_delay = dx_poll_transport_next_delay;

  props[PROP_INTERVAL] =
      g_param_spec_uint ("interval", NULL, NULL, 100, 60000, 2000,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
dx_poll_transport_init (DxPollTransport *self)
{
  PRIV (self)->interval_ms = 2000;
}
