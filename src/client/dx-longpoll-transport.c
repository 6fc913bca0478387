#include "dx-longpoll-transport.h"

struct _DxLongPollTransport {
  DxPollTransport parent_instance;
  guint wait_s;
};

G_DEFINE_FINAL_TYPE (DxLongPollTransport, dx_longpoll_transport, DX_TYPE_POLL_TRANSPORT)

enum { PROP_0, PROP_WAIT, N_PROPS };
static GParamSpec *props[N_PROPS];

static char *
dx_longpoll_transport_extra_query (DxPollTransport *poll)
{
  return g_strdup_printf ("&wait=%u", DX_LONGPOLL_TRANSPORT (poll)->wait_s);
}

static guint
dx_longpoll_transport_next_delay (DxPollTransport *poll, gboolean got_messages)
{
  /* The server does the waiting: ask again at once. */
  return 0;
}

guint
dx_longpoll_transport_get_wait (DxLongPollTransport *self)
{
  return self->wait_s;
}

void
dx_longpoll_transport_set_wait (DxLongPollTransport *self, guint wait_s)
{
  wait_s = CLAMP (wait_s, 1, 60);
  if (self->wait_s == wait_s)
    return;
  self->wait_s = wait_s;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_WAIT]);
}

static void
dx_longpoll_transport_set_property (GObject *object, guint prop_id, const GValue *value,
                                    GParamSpec *pspec)
{
  switch (prop_id) {
  case PROP_WAIT:
    dx_longpoll_transport_set_wait (DX_LONGPOLL_TRANSPORT (object), g_value_get_uint (value));
    break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_longpoll_transport_get_property (GObject *object, guint prop_id, GValue *value,
                                    GParamSpec *pspec)
{
  switch (prop_id) {
  case PROP_WAIT: g_value_set_uint (value, DX_LONGPOLL_TRANSPORT (object)->wait_s); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_longpoll_transport_class_init (DxLongPollTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  DxPollTransportClass *poll_class = DX_POLL_TRANSPORT_CLASS (klass);

  object_class->set_property = dx_longpoll_transport_set_property;
  object_class->get_property = dx_longpoll_transport_get_property;
  DX_BASE_TRANSPORT_CLASS (klass)->mode = DX_MODE_LONGPOLL;
  poll_class->extra_query = dx_longpoll_transport_extra_query;
  poll_class->next_delay = dx_longpoll_transport_next_delay;

  props[PROP_WAIT] =
      g_param_spec_uint ("wait", NULL, NULL, 1, 60, 25,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
dx_longpoll_transport_init (DxLongPollTransport *self)
{
  self->wait_s = 25;
}
