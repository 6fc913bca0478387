#include "dx-config.h"

#include <libsoup/soup.h>

#include "protocol/json.h"

#include "dx-server-address.h"
#include "dx-tcp-table.h"
#include "dx-time-wait.h"
#include "dx-tls-trust.h"

#define DX_TIME_WAIT_PERIOD_MS 1000

struct _DxTimeWait {
  GObject parent_instance;
  char *server_url;
  char *host;
  guint16 http_port;
  guint16 tcp_port; /* 0 until /api/v1/info says it */
  SoupSession *api; /* one kept-alive connection: no TIME_WAIT of its own */
  GCancellable *cancellable;
  guint timer;
  guint pending; /* parts of the current round still running (0..2) */
  gint client;
  gint server;
};

G_DEFINE_FINAL_TYPE (DxTimeWait, dx_time_wait, G_TYPE_OBJECT)

enum { UPDATED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
part_done (DxTimeWait *self)
{
  if (self->pending > 0 && --self->pending == 0)
    g_signal_emit (self, signals[UPDATED], 0);
}

/* ---- this side: the kernel's table, in a worker thread ---- */

typedef struct {
  char *host;
  guint16 ports[2];
} TableJob;

static void
table_job_free (TableJob *job)
{
  g_free (job->host);
  g_free (job);
}

static void
count_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  TableJob *job = data;
  g_autolist (GInetAddress) addresses = NULL;
  g_autoptr (GArray) remotes = g_array_new (FALSE, TRUE, sizeof (DxTcpEndpoint));
  GError *error = NULL;
  guint count = 0;

  /* The URL may name the server (localhost: both ::1 and 127.0.0.1). */
  addresses = g_resolver_lookup_by_name (g_resolver_get_default (), job->host, cancellable, &error);
  if (addresses == NULL) {
    g_task_return_error (task, error);
    return;
  }
  for (GList *l = addresses; l != NULL; l = l->next)
    for (guint p = 0; p < G_N_ELEMENTS (job->ports); p++) {
      g_autoptr (GSocketAddress) sa = NULL;
      DxTcpEndpoint ep;
      if (job->ports[p] == 0)
        continue;
      sa = g_inet_socket_address_new (l->data, job->ports[p]);
      dx_tcp_endpoint_from_address (&ep, G_INET_SOCKET_ADDRESS (sa));
      g_array_append_val (remotes, ep);
    }
  if (!dx_tcp_table_count_time_wait (DX_TCP_END_REMOTE,
                                     (const DxTcpEndpoint *) (void *) remotes->data, remotes->len,
                                     &count, &error)) {
    g_task_return_error (task, error);
    return;
  }
  g_task_return_int (task, count);
}

static void
count_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxTimeWait *self = DX_TIME_WAIT (source);
  g_autoptr (GError) error = NULL;
  gssize n = g_task_propagate_int (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL)
    g_debug ("TIME_WAIT: %s", error->message);
  self->client = error != NULL ? -1 : (gint) n;
  part_done (self);
}

static void
count_client (DxTimeWait *self)
{
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, count_done, NULL);
  TableJob *job = g_new0 (TableJob, 1);

  job->host = g_strdup (self->host);
  job->ports[0] = self->http_port;
  job->ports[1] = self->tcp_port;
  g_task_set_task_data (task, job, (GDestroyNotify) table_job_free);
  g_task_run_in_thread (task, count_in_thread);
}

/* ---- the server's side: /api/v1/info ---- */

/* {"tcp_port":P, ..., "time_wait":N}: both optional here. */
static void
read_info (DxTimeWait *self, const char *json, gsize len)
{
  dx_json_reader r;
  char key[32];
  size_t klen;
  int k;
  gint server = -1;

  dx_json_reader_init (&r, json, len, NULL);
  if (!dx_json_object_begin (&r))
    return;
  while ((k = dx_json_object_next (&r, key, sizeof key, &klen)) > 0) {
    uint64_t v = 0;
    if (strcmp (key, "tcp_port") == 0 && dx_json_read_u64 (&r, &v))
      self->tcp_port = (guint16) MIN (v, G_MAXUINT16);
    else if (strcmp (key, "time_wait") == 0 && dx_json_read_u64 (&r, &v))
      server = (gint) MIN (v, (uint64_t) G_MAXINT);
    else if (!dx_json_skip (&r))
      return;
  }
  if (k == 0)
    self->server = server;
}

static void
info_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxTimeWait *self = data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  gsize len = 0;
  const char *json = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_object_unref (self);
    return;
  }
  self->server = -1;
  if (error == NULL && soup_message_get_status (msg) == SOUP_STATUS_OK && json != NULL)
    read_info (self, json, len);
  part_done (self);
  g_object_unref (self);
}

static void
ask_server (DxTimeWait *self)
{
  g_autofree char *url = g_strconcat (self->server_url, "/api/v1/info", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);

  if (msg == NULL) {
    part_done (self);
    return;
  }
  soup_session_send_and_read_async (self->api, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    info_done, g_object_ref (self));
}

/* ---- rounds ---- */

void
dx_time_wait_refresh (DxTimeWait *self)
{
  if (self->pending > 0 || self->host == NULL)
    return;
  if (self->cancellable == NULL)
    self->cancellable = g_cancellable_new ();
  self->pending = 2;
  count_client (self);
  ask_server (self);
}

static gboolean
tick (gpointer data)
{
  dx_time_wait_refresh (data);
  return G_SOURCE_CONTINUE;
}

void
dx_time_wait_start (DxTimeWait *self)
{
  if (self->timer != 0)
    return;
  dx_time_wait_refresh (self);
  self->timer = g_timeout_add (DX_TIME_WAIT_PERIOD_MS, tick, self);
}

void
dx_time_wait_stop (DxTimeWait *self)
{
  g_clear_handle_id (&self->timer, g_source_remove);
  if (self->cancellable != NULL) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
  self->pending = 0;
}

gint
dx_time_wait_get_client (DxTimeWait *self)
{
  return self->client;
}

gint
dx_time_wait_get_server (DxTimeWait *self)
{
  return self->server;
}

static void
dx_time_wait_dispose (GObject *object)
{
  DxTimeWait *self = DX_TIME_WAIT (object);

  dx_time_wait_stop (self);
  g_clear_object (&self->api);
  G_OBJECT_CLASS (dx_time_wait_parent_class)->dispose (object);
}

static void
dx_time_wait_finalize (GObject *object)
{
  DxTimeWait *self = DX_TIME_WAIT (object);

  g_free (self->server_url);
  g_free (self->host);
  G_OBJECT_CLASS (dx_time_wait_parent_class)->finalize (object);
}

static void
dx_time_wait_class_init (DxTimeWaitClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = dx_time_wait_dispose;
  G_OBJECT_CLASS (klass)->finalize = dx_time_wait_finalize;
  /* A round ended: both figures are as fresh as they get. */
  signals[UPDATED] = g_signal_new ("updated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 0);
}

static void
dx_time_wait_init (DxTimeWait *self)
{
  self->client = -1;
  self->server = -1;
  self->api =
      soup_session_new_with_options ("user-agent", "duplex/" DX_VERSION, "timeout", 5, NULL);
  dx_tls_trust_watch_session (dx_tls_trust_get_default (), self->api);
}

DxTimeWait *
dx_time_wait_new (const char *server_url)
{
  DxTimeWait *self = g_object_new (DX_TYPE_TIME_WAIT, NULL);

  self->server_url = dx_server_url_trim (server_url);
  dx_server_host_port (server_url, &self->host, &self->http_port);
  return self;
}
