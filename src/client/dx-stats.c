#include "dx-stats.h"

#include <gio/gio.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Percentiles describe the recent past; older samples roll off. */
#define DX_STATS_MAX_SAMPLES 2048

struct _DxStats {
  GObject parent_instance;
  guint64 requests, bytes_up, bytes_down, connections, empty_polls, messages;
  guint64 connections_closed;
  guint64 tls_handshakes;
  guint open_connections; /* not reset: they are still open */
  guint64 gaps, reordered, duplicates, repaired, simulated_loss;
  /* Chat text (the "text" members) of messages received and sends acked:
   * the payload the rest of the bytes carry, for the overhead ratio. */
  guint64 text_bytes;
  double samples[DX_STATS_MAX_SAMPLES];
  guint n_samples; /* total ever added; the ring holds the last MAX */
};

G_DEFINE_FINAL_TYPE (DxStats, dx_stats, G_TYPE_OBJECT)

enum { CHANGED, LATENCY, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
dx_stats_class_init (DxStatsClass *klass)
{
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 0);
  /* One latency sample (ms) as it is recorded: the chart plots these. */
  signals[LATENCY] = g_signal_new ("latency", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 1, G_TYPE_DOUBLE);
}

static void
dx_stats_init (DxStats *self)
{
}

DxStats *
dx_stats_new (void)
{
  return g_object_new (DX_TYPE_STATS, NULL);
}

static void
changed (DxStats *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

void
dx_stats_add_request (DxStats *self)
{
  self->requests++;
  changed (self);
}

void
dx_stats_add_bytes (DxStats *self, guint64 up, guint64 down)
{
  self->bytes_up += up;
  self->bytes_down += down;
  changed (self);
}

void
dx_stats_add_connection (DxStats *self)
{
  self->connections++;
  changed (self);
}

typedef struct {
  DxStats *stats;
} DxTracked;

/* The socket is gone, so its descriptor is closed: whoever closed it
 * (libsoup dropping a connection, a transport's close), it counts once. */
static void
tracked_closed (gpointer data, GObject *where_the_socket_was)
{
  DxTracked *t = data;

  t->stats->connections_closed++;
  if (t->stats->open_connections > 0)
    t->stats->open_connections--;
  changed (t->stats);
  g_object_unref (t->stats);
  g_free (t);
}

void
dx_stats_track_connection (DxStats *self, GObject *connection)
{
  DxTracked *t = g_new0 (DxTracked, 1);
  GObject *target = connection;

  /* The GSocket owns the descriptor; the stream around it may be wrapped
   * (TLS) or kept a little longer by whoever read from it. */
  if (G_IS_SOCKET_CONNECTION (connection))
    target = G_OBJECT (g_socket_connection_get_socket (G_SOCKET_CONNECTION (connection)));
  t->stats = g_object_ref (self);
  self->open_connections++;
  g_object_weak_ref (target, tracked_closed, t);
  dx_stats_add_connection (self);
  /* GSocketClient with TLS on hands over the connection handshaked. */
  if (G_IS_TCP_WRAPPER_CONNECTION (connection)
      && G_IS_TLS_CONNECTION (
          g_tcp_wrapper_connection_get_base_io_stream (G_TCP_WRAPPER_CONNECTION (connection))))
    dx_stats_add_tls_handshake (self);
}

void
dx_stats_add_tls_handshake (DxStats *self)
{
  self->tls_handshakes++;
  changed (self);
}

guint64
dx_stats_get_tls_handshakes (DxStats *self)
{
  return self->tls_handshakes;
}

void
dx_stats_add_empty_poll (DxStats *self)
{
  self->empty_polls++;
  changed (self);
}

void
dx_stats_add_message (DxStats *self)
{
  self->messages++;
  changed (self);
}

void
dx_stats_add_text_bytes (DxStats *self, guint64 n)
{
  self->text_bytes += n;
  changed (self);
}

void
dx_stats_add_latency (DxStats *self, double ms)
{
  self->samples[self->n_samples % DX_STATS_MAX_SAMPLES] = ms;
  self->n_samples++;
  g_signal_emit (self, signals[LATENCY], 0, ms);
  changed (self);
}

void
dx_stats_reset (DxStats *self)
{
  self->requests = self->bytes_up = self->bytes_down = 0;
  self->connections = self->empty_polls = self->messages = 0;
  self->connections_closed = self->tls_handshakes = 0;
  self->text_bytes = 0;
  self->n_samples = 0;
  self->gaps = self->reordered = self->duplicates = self->repaired = self->simulated_loss = 0;
  changed (self);
}

void
dx_stats_add_gap (DxStats *self, guint64 ids)
{
  self->gaps += ids;
  changed (self);
}

void
dx_stats_add_reordered (DxStats *self)
{
  self->reordered++;
  changed (self);
}

void
dx_stats_add_duplicate (DxStats *self)
{
  self->duplicates++;
  changed (self);
}

void
dx_stats_add_repaired (DxStats *self)
{
  self->repaired++;
  changed (self);
}

void
dx_stats_add_simulated_loss (DxStats *self)
{
  self->simulated_loss++;
  changed (self);
}

guint64
dx_stats_get_gaps (DxStats *self)
{
  return self->gaps;
}

guint64
dx_stats_get_reordered (DxStats *self)
{
  return self->reordered;
}

guint64
dx_stats_get_duplicates (DxStats *self)
{
  return self->duplicates;
}

guint64
dx_stats_get_repaired (DxStats *self)
{
  return self->repaired;
}

guint64
dx_stats_get_simulated_loss (DxStats *self)
{
  return self->simulated_loss;
}

guint64
dx_stats_get_missing (DxStats *self)
{
  guint64 filled = self->reordered + self->repaired;

  /* A reset between a gap and its filling must not wrap around. */
  return self->gaps > filled ? self->gaps - filled : 0;
}

guint64
dx_stats_get_requests (DxStats *self)
{
  return self->requests;
}

guint64
dx_stats_get_bytes_up (DxStats *self)
{
  return self->bytes_up;
}

guint64
dx_stats_get_bytes_down (DxStats *self)
{
  return self->bytes_down;
}

guint64
dx_stats_get_connections (DxStats *self)
{
  return self->connections;
}

guint64
dx_stats_get_connections_closed (DxStats *self)
{
  return self->connections_closed;
}

guint
dx_stats_get_open_connections (DxStats *self)
{
  return self->open_connections;
}

guint64
dx_stats_get_empty_polls (DxStats *self)
{
  return self->empty_polls;
}

guint64
dx_stats_get_messages (DxStats *self)
{
  return self->messages;
}

guint64
dx_stats_get_text_bytes (DxStats *self)
{
  return self->text_bytes;
}

guint
dx_stats_get_n_latencies (DxStats *self)
{
  return self->n_samples;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

double
dx_stats_get_latency_percentile (DxStats *self, double p)
{
  guint n = MIN (self->n_samples, DX_STATS_MAX_SAMPLES);
  double sorted[DX_STATS_MAX_SAMPLES];

  if (n == 0)
    return NAN;
  memcpy (sorted, self->samples, n * sizeof (double));
  qsort (sorted, n, sizeof (double), compare_doubles);
  /* Nearest-rank percentile. */
  guint rank = (guint) ceil (p / 100.0 * n);
  return sorted[CLAMP (rank, 1, n) - 1];
}
