#include "dx-config.h"

#include <libsoup/soup.h>

#include "dx-udp-repair.h"
#include "dx-tls-trust.h"

/* The server's largest page (docs/protocol.md §4): a long outage is
 * repaired in few requests. */
#define DX_REPAIR_PAGE 1000

struct _DxUdpRepair {
  GObject parent_instance;
  char *server_url;
  DxStats *stats;
  SoupSession *session;
  GCancellable *cancellable; /* of the request in flight, NULL when idle */
  DxUdpRepairMessageFunc on_message;
  DxUdpRepairDoneFunc on_done;
  gpointer user_data;
};

G_DEFINE_FINAL_TYPE (DxUdpRepair, dx_udp_repair, G_TYPE_OBJECT)

typedef struct {
  DxUdpRepair *self;
  GCancellable *cancellable; /* this request's: cancelled when it is dropped */
  guint64 last_id;
  guint count;
} Job;

static bool
page_message (const dx_msg *m, void *user)
{
  Job *job = user;

  job->last_id = MAX (job->last_id, m->id);
  job->count++;
  job->self->on_message (m, job->self->user_data);
  /* The callback may have dropped us (the transport stopped). */
  return !g_cancellable_is_cancelled (job->cancellable);
}

static void
network_event_cb (SoupMessage *msg, GSocketClientEvent event, GIOStream *connection, gpointer data)
{
  /* Only when libsoup really opens a connection, as in the HTTP modes. */
  if (event == G_SOCKET_CLIENT_CONNECTED)
    dx_stats_add_connection (DX_UDP_REPAIR (data)->stats);
}

static void
account (DxUdpRepair *self, SoupMessage *msg)
{
  SoupMessageMetrics *m = soup_message_get_metrics (msg);

  dx_stats_add_request (self->stats);
  if (m != NULL)
    dx_stats_add_bytes (self->stats,
                        soup_message_metrics_get_request_header_bytes_sent (m)
                            + soup_message_metrics_get_request_body_bytes_sent (m),
                        soup_message_metrics_get_response_header_bytes_received (m)
                            + soup_message_metrics_get_response_body_bytes_received (m));
}

static void
fetch_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = data;
  DxUdpRepair *self = job->self;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  char epoch[DX_EPOCH_MAX + 1];
  guint64 room_last = 0;
  gsize len = 0;
  const char *json = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (g_cancellable_is_cancelled (job->cancellable))
    goto out;
  g_clear_object (&self->cancellable); /* idle again: the next gap may ask */
  account (self, msg);
  /* A failed repair is tried again at the next gap or ping. */
  if (error == NULL && soup_message_get_status (msg) == SOUP_STATUS_OK && json != NULL
      && dx_decode_poll_answer (json, len, page_message, job, &room_last, epoch, NULL)
      && !g_cancellable_is_cancelled (job->cancellable))
    self->on_done (job->last_id, job->count >= DX_REPAIR_PAGE, self->user_data);
out:
  g_object_unref (job->cancellable);
  g_object_unref (job->self);
  g_free (job);
}

gboolean
dx_udp_repair_fetch (DxUdpRepair *self, const char *room, guint64 since)
{
  g_autofree char *url = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  Job *job;

  if (self->cancellable != NULL)
    return FALSE;
  url = g_strdup_printf ("%s/api/v1/rooms/%s/messages?since=%" G_GUINT64_FORMAT "&limit=%d",
                         self->server_url, room, since, DX_REPAIR_PAGE);
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    return FALSE;
  soup_message_add_flags (msg, SOUP_MESSAGE_COLLECT_METRICS);
  g_signal_connect_object (msg, "network-event", G_CALLBACK (network_event_cb), self, 0);
  job = g_new0 (Job, 1);
  job->self = g_object_ref (self);
  job->cancellable = g_cancellable_new ();
  self->cancellable = g_object_ref (job->cancellable);
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, job->cancellable,
                                    fetch_done, job);
  return TRUE;
}

gboolean
dx_udp_repair_is_busy (DxUdpRepair *self)
{
  return self->cancellable != NULL;
}

void
dx_udp_repair_cancel (DxUdpRepair *self)
{
  if (self->cancellable != NULL) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
}

static void
dx_udp_repair_dispose (GObject *object)
{
  DxUdpRepair *self = DX_UDP_REPAIR (object);

  dx_udp_repair_cancel (self);
  g_clear_object (&self->session);
  g_clear_object (&self->stats);
  G_OBJECT_CLASS (dx_udp_repair_parent_class)->dispose (object);
}

static void
dx_udp_repair_finalize (GObject *object)
{
  g_free (DX_UDP_REPAIR (object)->server_url);
  G_OBJECT_CLASS (dx_udp_repair_parent_class)->finalize (object);
}

static void
dx_udp_repair_class_init (DxUdpRepairClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = dx_udp_repair_dispose;
  G_OBJECT_CLASS (klass)->finalize = dx_udp_repair_finalize;
}

static void
dx_udp_repair_init (DxUdpRepair *self)
{
  self->session =
      soup_session_new_with_options ("user-agent", "duplex/" DX_VERSION, "timeout", 10, NULL);
  dx_tls_trust_watch_session (dx_tls_trust_get_default (), self->session);
}

DxUdpRepair *
dx_udp_repair_new (const char *server_url, DxStats *stats, DxUdpRepairMessageFunc on_message,
                   DxUdpRepairDoneFunc on_done, gpointer user_data)
{
  DxUdpRepair *self = g_object_new (DX_TYPE_UDP_REPAIR, NULL);

  self->server_url = g_strdup (server_url);
  self->stats = g_object_ref (stats);
  self->on_message = on_message;
  self->on_done = on_done;
  self->user_data = user_data;
  return self;
}
