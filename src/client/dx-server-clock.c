#include "dx-server-clock.h"

#include "protocol/message.h"

/* After the quick samples at start, one sample every this many seconds. */
#define DX_CLOCK_REFRESH_S 60
#define DX_CLOCK_QUICK_SAMPLES 4
/* A first sample taken while the window is being built is trusted only
 * with a round trip this short (ms): the error is up to half of it. */
#define DX_CLOCK_FIRST_TRUSTED_RTT_MS 20

struct _DxServerClock {
  GObject parent_instance;
  SoupSession *session;
  char *time_url;
  GCancellable *cancellable;
  double offset_ms;
  double best_rtt_ms; /* of the sample the offset came from; < 0: none yet */
  gboolean trusted;
  guint timer;
  guint ticks; /* seconds since start() */
};

G_DEFINE_FINAL_TYPE (DxServerClock, dx_server_clock, G_TYPE_OBJECT)

enum { PROP_0, PROP_OFFSET, N_PROPS };
static GParamSpec *props[N_PROPS];

static gint64
now_ms (void)
{
  return g_get_real_time () / 1000;
}

typedef struct {
  DxServerClock *self;
  gint64 t0; /* local time the request left */
} Sample;

static void
time_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Sample *sample = data;
  DxServerClock *self = sample->self;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);
  guint64 ts = 0;
  gsize len = 0;
  const char *json = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (json != NULL && dx_decode_time (json, len, &ts, NULL)) {
    gint64 t1 = now_ms ();
    double rtt = (double) (t1 - sample->t0);
    /* NTP-style: the server read its clock halfway through the round trip.
     * The error is up to half the round trip, and a busy main loop (the
     * window being built) stretches it: keep the fastest sample. */
    if (self->best_rtt_ms < 0 || rtt <= self->best_rtt_ms) {
      self->best_rtt_ms = rtt;
      self->offset_ms = (double) ts - (double) (sample->t0 + t1) / 2.0;
      self->trusted = self->trusted || self->ticks > 0 || rtt < DX_CLOCK_FIRST_TRUSTED_RTT_MS;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_OFFSET]);
    }
  }
  g_object_unref (self);
  g_free (sample);
}

static void
measure (DxServerClock *self)
{
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", self->time_url);
  Sample *sample;

  if (msg == NULL)
    return;
  /* Let an old best sample age, so a drifting clock is followed. */
  if (self->best_rtt_ms >= 0)
    self->best_rtt_ms = self->best_rtt_ms * 1.5 + 1;
  sample = g_new0 (Sample, 1);
  sample->self = g_object_ref (self);
  sample->t0 = now_ms ();
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    time_done, sample);
}

static gboolean
tick (gpointer data)
{
  DxServerClock *self = data;

  self->ticks++;
  if (self->ticks <= DX_CLOCK_QUICK_SAMPLES || self->ticks % DX_CLOCK_REFRESH_S == 0)
    measure (self);
  return G_SOURCE_CONTINUE;
}

void
dx_server_clock_start (DxServerClock *self)
{
  dx_server_clock_stop (self);
  self->cancellable = g_cancellable_new ();
  self->ticks = 0;
  measure (self);
  self->timer = g_timeout_add_seconds (1, tick, self);
}

void
dx_server_clock_stop (DxServerClock *self)
{
  g_clear_handle_id (&self->timer, g_source_remove);
  if (self->cancellable != NULL) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
}

double
dx_server_clock_get_offset (DxServerClock *self)
{
  return self->offset_ms;
}

gboolean
dx_server_clock_is_trusted (DxServerClock *self)
{
  return self->trusted;
}

static void
dx_server_clock_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id) {
  case PROP_OFFSET: g_value_set_double (value, DX_SERVER_CLOCK (object)->offset_ms); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_server_clock_dispose (GObject *object)
{
  DxServerClock *self = DX_SERVER_CLOCK (object);

  dx_server_clock_stop (self);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (dx_server_clock_parent_class)->dispose (object);
}

static void
dx_server_clock_finalize (GObject *object)
{
  g_free (DX_SERVER_CLOCK (object)->time_url);
  G_OBJECT_CLASS (dx_server_clock_parent_class)->finalize (object);
}

static void
dx_server_clock_class_init (DxServerClockClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = dx_server_clock_dispose;
  object_class->finalize = dx_server_clock_finalize;
  object_class->get_property = dx_server_clock_get_property;
  /* Notified at each better sample, trusted or not yet. */
  props[PROP_OFFSET] =
      g_param_spec_double ("offset", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
dx_server_clock_init (DxServerClock *self)
{
  self->best_rtt_ms = -1;
}

DxServerClock *
dx_server_clock_new (SoupSession *session, const char *server_url)
{
  DxServerClock *self = g_object_new (DX_TYPE_SERVER_CLOCK, NULL);

  self->session = g_object_ref (session);
  self->time_url = g_strconcat (server_url, "/api/v1/time", NULL);
  return self;
}
