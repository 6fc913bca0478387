#include "dx-config.h"

#include <libsoup/soup.h>

#include "protocol/message.h"

#include "dx-impairment.h"
#include "dx-relay.h"
#include "dx-server-address.h"
#include "dx-tls-trust.h"

/* The settings DxRelay has under the same names: bound to each relay. */
static const char *const relay_settings[] = {
  "delay-up-ms",    "delay-down-ms", "jitter-up-ms", "jitter-down-ms",
  "bandwidth-kbps", "buffering",     "buffer-bytes", "idle-cut-s",
};

struct _DxImpairment {
  GObject parent_instance;
  char *server_url;
  char *host;
  guint16 http_port;
  gboolean enabled;
  DxRelaySettings settings; /* bound to each relay's */
  gboolean buffering;
  guint udp_loss_percent;
  DxRelay *http_relay;
  DxRelay *tcp_relay;
  char *url;
  char *tcp_address;
  guint64 idle_cuts_before; /* of relays already gone */
  SoupSession *api;         /* learns the server's TCP port: not a transport's traffic */
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (DxImpairment, dx_impairment, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ENABLED,
  PROP_DELAY_UP,
  PROP_DELAY_DOWN,
  PROP_JITTER_UP,
  PROP_JITTER_DOWN,
  PROP_BANDWIDTH,
  PROP_BUFFERING,
  PROP_BUFFER_BYTES,
  PROP_IDLE_CUT,
  PROP_UDP_LOSS,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

static void
tcp_port_known (GObject *source, GAsyncResult *result, gpointer data)
{
  DxImpairment *self = data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  gsize len = 0;
  const char *json = body != NULL ? g_bytes_get_data (body, &len) : NULL;
  dx_info info;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_object_unref (self);
    return;
  }
  if (self->tcp_relay != NULL && error == NULL && soup_message_get_status (msg) == SOUP_STATUS_OK
      && json != NULL && dx_decode_info (json, len, &info, NULL) && info.tcp_port != 0)
    dx_relay_set_upstream (self->tcp_relay, self->host, info.tcp_port);
  else
    g_debug ("impairment: the server's TCP port is unknown; raw TCP waits");
  g_object_unref (self);
}

static DxRelay *
make_relay (DxImpairment *self, DxRelayKind kind, GError **error)
{
  DxRelay *relay = dx_relay_new (kind, error);

  for (guint i = 0; relay != NULL && i < G_N_ELEMENTS (relay_settings); i++)
    g_object_bind_property (self, relay_settings[i], relay, relay_settings[i],
                            G_BINDING_SYNC_CREATE);
  return relay;
}

static void
drop_relays (DxImpairment *self)
{
  if (self->cancellable != NULL) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
  self->idle_cuts_before += dx_impairment_get_idle_cuts (self) - self->idle_cuts_before;
  if (self->http_relay != NULL)
    g_object_run_dispose (G_OBJECT (self->http_relay));
  if (self->tcp_relay != NULL)
    g_object_run_dispose (G_OBJECT (self->tcp_relay));
  g_clear_object (&self->http_relay);
  g_clear_object (&self->tcp_relay);
  g_clear_pointer (&self->url, g_free);
  g_clear_pointer (&self->tcp_address, g_free);
}

static gboolean
open_relays (DxImpairment *self, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (self->server_url, G_URI_FLAGS_NONE, error);
  g_autofree char *info_url = g_strconcat (self->server_url, "/api/v1/info", NULL);
  g_autoptr (SoupMessage) msg = NULL;

  if (uri == NULL || self->host == NULL) {
    if (error != NULL && *error == NULL)
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no server host");
    return FALSE;
  }
  self->http_relay = make_relay (self, DX_RELAY_HTTP, error);
  self->tcp_relay = self->http_relay != NULL ? make_relay (self, DX_RELAY_RAW, error) : NULL;
  if (self->tcp_relay == NULL) {
    drop_relays (self);
    return FALSE;
  }
  dx_relay_set_upstream (self->http_relay, self->host, self->http_port);
  /* The same scheme: a TLS server's bytes pass through untouched. */
  self->url = g_strdup_printf ("%s://127.0.0.1:%u", g_uri_get_scheme (uri),
                               dx_relay_get_port (self->http_relay));
  self->tcp_address = g_strdup_printf ("127.0.0.1:%u", dx_relay_get_port (self->tcp_relay));
  /* Raw TCP connections wait in the relay until the port is known. */
  msg = soup_message_new ("GET", info_url);
  self->cancellable = g_cancellable_new ();
  if (msg != NULL)
    soup_session_send_and_read_async (self->api, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                      tcp_port_known, g_object_ref (self));
  return TRUE;
}

gboolean
dx_impairment_set_enabled (DxImpairment *self, gboolean enabled, GError **error)
{
  enabled = !!enabled;
  if (enabled == self->enabled)
    return TRUE;
  if (enabled && !open_relays (self, error))
    return FALSE;
  self->enabled = enabled;
  /* Listeners move the transports first (onto the relay or back to the
   * server); then the old relays and what is left on them go. */
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ENABLED]);
  if (!enabled)
    drop_relays (self);
  return TRUE;
}

gboolean
dx_impairment_get_enabled (DxImpairment *self)
{
  return self->enabled;
}

const char *
dx_impairment_get_url (DxImpairment *self)
{
  return self->enabled ? self->url : NULL;
}

const char *
dx_impairment_get_tcp_address (DxImpairment *self)
{
  return self->enabled ? self->tcp_address : NULL;
}

const char *
dx_impairment_get_server_url (DxImpairment *self)
{
  return self->server_url;
}

gboolean
dx_impairment_drop_datagram (DxImpairment *self)
{
  return self->enabled && self->udp_loss_percent > 0
         && (guint) g_random_int_range (0, 100) < self->udp_loss_percent;
}

guint
dx_impairment_get_n_connections (DxImpairment *self)
{
  guint n = 0;

  if (self->http_relay != NULL)
    n += dx_relay_get_n_connections (self->http_relay);
  if (self->tcp_relay != NULL)
    n += dx_relay_get_n_connections (self->tcp_relay);
  return n;
}

guint64
dx_impairment_get_idle_cuts (DxImpairment *self)
{
  guint64 n = self->idle_cuts_before;

  if (self->http_relay != NULL)
    n += dx_relay_get_idle_cuts (self->http_relay);
  if (self->tcp_relay != NULL)
    n += dx_relay_get_idle_cuts (self->tcp_relay);
  return n;
}

/* ---- GObject ---- */

/* The numbers a relay has too, and the UDP loss. */
static guint *
uint_field (DxImpairment *self, GParamSpec *pspec)
{
  if (pspec == props[PROP_UDP_LOSS])
    return &self->udp_loss_percent;
  return dx_relay_settings_field (&self->settings, pspec->name);
}

static void
dx_impairment_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DxImpairment *self = DX_IMPAIRMENT (object);
  guint *field = uint_field (self, pspec);

  if (field != NULL) {
    if (*field != g_value_get_uint (value)) {
      *field = g_value_get_uint (value);
      g_object_notify_by_pspec (object, pspec);
    }
  } else if (prop_id == PROP_BUFFERING) {
    if (self->buffering != g_value_get_boolean (value)) {
      self->buffering = g_value_get_boolean (value);
      g_object_notify_by_pspec (object, pspec);
    }
  } else if (prop_id == PROP_ENABLED) {
    g_autoptr (GError) error = NULL;
    if (!dx_impairment_set_enabled (self, g_value_get_boolean (value), &error))
      g_warning ("network impairment: %s", error->message);
  } else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
dx_impairment_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DxImpairment *self = DX_IMPAIRMENT (object);
  guint *field = uint_field (self, pspec);

  if (field != NULL)
    g_value_set_uint (value, *field);
  else if (prop_id == PROP_BUFFERING)
    g_value_set_boolean (value, self->buffering);
  else if (prop_id == PROP_ENABLED)
    g_value_set_boolean (value, self->enabled);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
dx_impairment_dispose (GObject *object)
{
  DxImpairment *self = DX_IMPAIRMENT (object);

  drop_relays (self);
  self->enabled = FALSE;
  g_clear_object (&self->api);
  G_OBJECT_CLASS (dx_impairment_parent_class)->dispose (object);
}

static void
dx_impairment_finalize (GObject *object)
{
  DxImpairment *self = DX_IMPAIRMENT (object);

  g_free (self->server_url);
  g_free (self->host);
  G_OBJECT_CLASS (dx_impairment_parent_class)->finalize (object);
}

static GParamSpec *
uint_prop (const char *name, guint max, guint def)
{
  return g_param_spec_uint (name, NULL, NULL, 0, max, def,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static void
dx_impairment_class_init (DxImpairmentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = dx_impairment_dispose;
  object_class->finalize = dx_impairment_finalize;
  object_class->set_property = dx_impairment_set_property;
  object_class->get_property = dx_impairment_get_property;
  /* The transports go through the relays (TRUE) or straight (FALSE). */
  props[PROP_ENABLED] =
      g_param_spec_boolean ("enabled", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* As DxRelay's properties of the same names. */
  props[PROP_DELAY_UP] = uint_prop ("delay-up-ms", 10000, 0);
  props[PROP_DELAY_DOWN] = uint_prop ("delay-down-ms", 10000, 0);
  props[PROP_JITTER_UP] = uint_prop ("jitter-up-ms", 5000, 0);
  props[PROP_JITTER_DOWN] = uint_prop ("jitter-down-ms", 5000, 0);
  props[PROP_BANDWIDTH] = uint_prop ("bandwidth-kbps", 1000000, 0);
  props[PROP_BUFFERING] =
      g_param_spec_boolean ("buffering", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_BUFFER_BYTES] = uint_prop ("buffer-bytes", 16 * 1024 * 1024, 4096);
  props[PROP_IDLE_CUT] = uint_prop ("idle-cut-s", 3600, 0);
  /* Share of incoming UDP datagrams dropped on purpose (simulated loss),
   * percent; applies while enabled. */
  props[PROP_UDP_LOSS] = uint_prop ("udp-loss-percent", 100, 0);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
dx_impairment_init (DxImpairment *self)
{
  self->settings.buffer_bytes = 4096;
  self->api =
      soup_session_new_with_options ("user-agent", "duplex/" DX_VERSION, "timeout", 10, NULL);
  dx_tls_trust_watch_session (dx_tls_trust_get_default (), self->api);
}

DxImpairment *
dx_impairment_new (const char *server_url)
{
  DxImpairment *self = g_object_new (DX_TYPE_IMPAIRMENT, NULL);

  self->server_url = dx_server_url_trim (server_url);
  dx_server_host_port (server_url, &self->host, &self->http_port);
  return self;
}
