#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-http-transport.h"
#include "dx-tls-trust.h"

typedef struct {
  SoupSession *session;
  gboolean keep_alive;
  char *token;
  GCancellable *post_cancellable; /* sends outlive a poll but not a stop */
} DxHttpTransportPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (DxHttpTransport, dx_http_transport, DX_TYPE_BASE_TRANSPORT)

#define PRIV(self) ((DxHttpTransportPrivate *) dx_http_transport_get_instance_private (self))

enum { PROP_0, PROP_KEEP_ALIVE, N_PROPS };
static GParamSpec *props[N_PROPS];

SoupSession *
dx_http_transport_get_session (DxHttpTransport *self)
{
  return PRIV (self)->session;
}

gboolean
dx_http_transport_get_keep_alive (DxHttpTransport *self)
{
  return PRIV (self)->keep_alive;
}

void
dx_http_transport_set_keep_alive (DxHttpTransport *self, gboolean keep_alive)
{
  if (PRIV (self)->keep_alive == keep_alive)
    return;
  PRIV (self)->keep_alive = keep_alive;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_KEEP_ALIVE]);
}

static void
network_event_cb (SoupMessage *msg, GSocketClientEvent event, GIOStream *connection, gpointer data)
{
  DxHttpTransport *self = data;

  /* Emitted only when libsoup really opens a TCP connection, not when it
   * reuses a kept-alive one. */
  if (event == G_SOCKET_CLIENT_CONNECTED)
    dx_stats_track_connection (dx_base_transport_get_stats_object (DX_BASE_TRANSPORT (self)),
                               G_OBJECT (connection));
  else if (event == G_SOCKET_CLIENT_TLS_HANDSHAKED)
    dx_stats_add_tls_handshake (dx_base_transport_get_stats_object (DX_BASE_TRANSPORT (self)));
}

/* ---- the wire inspector's view of each exchange ---- */

static void
append_headers (GString *s, SoupMessageHeaders *headers)
{
  SoupMessageHeadersIter iter;
  const char *name, *value;

  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    g_string_append_printf (s, "%s: %s\r\n", name, value);
  g_string_append (s, "\r\n");
}

static const char *
version_text (SoupMessage *msg)
{
  return soup_message_get_http_version (msg) == SOUP_HTTP_1_0 ? "HTTP/1.0" : "HTTP/1.1";
}

/* The request line of msg, as sent (origin-form target). */
static char *
request_line (SoupMessage *msg)
{
  GUri *uri = soup_message_get_uri (msg);
  const char *query = g_uri_get_query (uri);

  return g_strdup_printf ("%s %s%s%s %s", soup_message_get_method (msg), g_uri_get_path (uri),
                          query != NULL ? "?" : "", query != NULL ? query : "", version_text (msg));
}

/* The request head as libsoup writes it: the request line, Host (libsoup
 * writes it unless the headers carry one), then the headers. The byte
 * counts shown beside it are libsoup's own. */
static char *
request_head_text (SoupMessage *msg)
{
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  g_autofree char *line = request_line (msg);
  GString *s = g_string_new (line);
  GUri *uri = soup_message_get_uri (msg);

  g_string_append (s, "\r\n");
  if (soup_message_headers_get_one (headers, "Host") == NULL) {
    if (g_uri_get_port (uri) > 0)
      g_string_append_printf (s, "Host: %s:%d\r\n", g_uri_get_host (uri), g_uri_get_port (uri));
    else
      g_string_append_printf (s, "Host: %s\r\n", g_uri_get_host (uri));
  }
  append_headers (s, headers);
  return g_string_free (s, FALSE);
}

static char *
response_line (SoupMessage *msg)
{
  return g_strdup_printf ("%s %u %s", version_text (msg), soup_message_get_status (msg),
                          soup_message_get_reason_phrase (msg));
}

/* The request is on the wire: count its bytes now, not when the answer
 * comes (a held long poll or a stream may never complete), so the counts
 * equal what crossed the socket at any moment. */
static void
wrote_body_cb (SoupMessage *msg, gpointer data)
{
  DxBaseTransport *self = data;
  SoupMessageMetrics *m = soup_message_get_metrics (msg);
  g_autofree char *line = NULL;
  g_autofree char *head = NULL;

  if (m == NULL)
    return;
  dx_stats_add_bytes (dx_base_transport_get_stats_object (self),
                      soup_message_metrics_get_request_header_bytes_sent (m)
                          + soup_message_metrics_get_request_body_bytes_sent (m),
                      0);
  if (!dx_base_transport_logs_wire (self))
    return;
  line = request_line (msg);
  head = request_head_text (msg);
  dx_base_transport_log_wire (self, DX_WIRE_HTTP_REQUEST, DX_WIRE_SENT, line, head,
                              soup_message_metrics_get_request_header_bytes_sent (m),
                              soup_message_metrics_get_request_body_size (m), -1);
}

/* A completed exchange's response head, with its body bytes and the time
 * taken from the request's start to the body's end (monotonic µs). */
static void
log_response (DxHttpTransport *self, SoupMessage *msg)
{
  SoupMessageMetrics *m = soup_message_get_metrics (msg);
  guint64 start, end;
  g_autofree char *line = NULL;
  GString *head;

  if (m == NULL || soup_message_get_status (msg) == 0
      || !dx_base_transport_logs_wire (DX_BASE_TRANSPORT (self)))
    return;
  line = response_line (msg);
  head = g_string_new (line);
  g_string_append (head, "\r\n");
  append_headers (head, soup_message_get_response_headers (msg));
  start = soup_message_metrics_get_request_start (m);
  end = soup_message_metrics_get_response_end (m);
  dx_base_transport_log_wire (DX_BASE_TRANSPORT (self), DX_WIRE_HTTP_RESPONSE, DX_WIRE_RECEIVED,
                              line, head->str,
                              soup_message_metrics_get_response_header_bytes_received (m),
                              soup_message_metrics_get_response_body_bytes_received (m),
                              end >= start && start != 0 ? (gint64) (end - start) : -1);
  g_string_free (head, TRUE);
}

SoupMessage *
dx_http_transport_new_message (DxHttpTransport *self, const char *method,
                               const char *path_and_query)
{
  const char *base = dx_base_transport_get_server_url (DX_BASE_TRANSPORT (self));
  g_autofree char *url = g_strconcat (base, path_and_query, NULL);
  SoupMessage *msg = soup_message_new (method, url);

  if (msg == NULL)
    return NULL;
  soup_message_add_flags (msg, SOUP_MESSAGE_COLLECT_METRICS);
  if (!PRIV (self)->keep_alive) {
    /* One connection per request: what HTTP/1.0-style polling costs. */
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Connection", "close");
    soup_message_add_flags (msg, SOUP_MESSAGE_NEW_CONNECTION);
  }
  g_signal_connect_object (msg, "network-event", G_CALLBACK (network_event_cb), self, 0);
  g_signal_connect_object (msg, "wrote-body", G_CALLBACK (wrote_body_cb), self, 0);
  return msg;
}

void
dx_http_transport_account (DxHttpTransport *self, SoupMessage *msg)
{
  DxStats *stats = dx_base_transport_get_stats_object (DX_BASE_TRANSPORT (self));
  SoupMessageMetrics *m = soup_message_get_metrics (msg);

  dx_stats_add_request (stats);
  if (m == NULL)
    return;
  log_response (self, msg);
  /* The request's bytes were counted as it went out (wrote_body_cb). */
  dx_stats_add_bytes (stats, 0,
                      soup_message_metrics_get_response_header_bytes_received (m)
                          + soup_message_metrics_get_response_body_bytes_received (m));
}

char *
dx_http_transport_room_path (DxHttpTransport *self, const char *what)
{
  return g_strdup_printf ("/api/v1/rooms/%s/%s",
                          dx_base_transport_get_room (DX_BASE_TRANSPORT (self)), what);
}

char *
dx_http_transport_describe_failure (SoupMessage *msg, GBytes *body, GError *error)
{
  char code[DX_CODE_MAX + 1];
  char message[DX_ERROR_TEXT_MAX + 1];
  gsize len = 0;
  const char *data = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (error != NULL)
    return g_strdup (error->message);
  if (data != NULL && dx_decode_http_error (data, len, code, message, NULL))
    return g_strdup_printf (_ ("Server said %u: %s"), soup_message_get_status (msg), message);
  return g_strdup_printf (_ ("Server said %u %s"), soup_message_get_status (msg),
                          soup_message_get_reason_phrase (msg));
}

/* ---- sending: token, then POST ---- */

typedef struct {
  DxHttpTransport *self;
  char *text;
  char *cid;
  gboolean retried; /* a 401 gets one fresh token */
} PostJob;

static void
post_job_free (PostJob *job)
{
  g_object_unref (job->self);
  g_free (job->text);
  g_free (job->cid);
  g_free (job);
}

static void post_with_token (PostJob *job);
static guint64 retry_after_ms (SoupMessage *msg);

static void
session_done (GObject *source, GAsyncResult *result, gpointer data)
{
  PostJob *job = data;
  DxHttpTransport *self = job->self;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  char token[DX_TOKEN_MAX + 1], nick[DX_NICK_MAX + 1];
  gsize len = 0;
  const char *data_ = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    post_job_free (job);
    return;
  }
  dx_http_transport_account (self, msg);
  if (error == NULL && soup_message_get_status (msg) == SOUP_STATUS_CREATED && data_ != NULL
      && dx_decode_session_answer (data_, len, token, nick, NULL)) {
    g_free (PRIV (self)->token);
    PRIV (self)->token = g_strdup (token);
    post_with_token (job);
    return;
  }
  if (error == NULL && soup_message_get_status (msg) == SOUP_STATUS_UNAUTHORIZED) {
    /* A session needs only a nick and the password (docs/protocol.md §4.4):
     * a 401 is the password. The message waits in the outbox; reading goes
     * on (polls need no token). */
    dx_base_transport_post_failed (DX_BASE_TRANSPORT (self), job->cid);
    dx_base_transport_password_refused (DX_BASE_TRANSPORT (self), FALSE);
    post_job_free (job);
    return;
  }
  if (error == NULL && soup_message_get_status (msg) == 429) {
    /* docs/protocol.md §9 --session-rate: the outbox waits Retry-After. */
    dx_base_transport_rate_limited (DX_BASE_TRANSPORT (self), job->cid, retry_after_ms (msg));
    post_job_free (job);
    return;
  }
  g_autofree char *why = dx_http_transport_describe_failure (msg, body, error);
  if (error != NULL || soup_message_get_status (msg) >= 500) {
    dx_base_transport_post_failed (DX_BASE_TRANSPORT (self), job->cid);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
  } else {
    dx_base_transport_rejected (DX_BASE_TRANSPORT (self), job->cid, why);
  }
  post_job_free (job);
}

static void
fetch_token (PostJob *job)
{
  DxHttpTransport *self = job->self;
  g_autoptr (SoupMessage) msg = dx_http_transport_new_message (self, "POST", "/api/v1/session");
  dx_buffer b;

  dx_buffer_init (&b, 4096);
  if (!dx_encode_session_request (&b, dx_base_transport_get_nick (DX_BASE_TRANSPORT (self)),
                                  dx_base_transport_get_password (DX_BASE_TRANSPORT (self)))) {
    dx_buffer_free (&b);
    dx_base_transport_rejected (DX_BASE_TRANSPORT (self), job->cid, _ ("Invalid nick"));
    post_job_free (job);
    return;
  }
  g_autoptr (GBytes) body = g_bytes_new (b.data, b.len);
  dx_buffer_free (&b);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  soup_session_send_and_read_async (PRIV (self)->session, msg, G_PRIORITY_DEFAULT,
                                    PRIV (self)->post_cancellable, session_done, job);
}

/* Retry-After in delay-seconds (docs/protocol.md §9 sends those), in ms;
 * 1 s when it is missing or an HTTP date. */
static guint64
retry_after_ms (SoupMessage *msg)
{
  const char *v =
      soup_message_headers_get_one (soup_message_get_response_headers (msg), "Retry-After");
  guint64 secs = 0;

  if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 1, 86400, &secs, NULL))
    secs = 1;
  return secs * 1000;
}

static void
post_done (GObject *source, GAsyncResult *result, gpointer data)
{
  PostJob *job = data;
  DxHttpTransport *self = job->self;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  guint status = soup_message_get_status (msg);
  guint64 id = 0, ts = 0;
  gsize len = 0;
  const char *data_ = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    post_job_free (job);
    return;
  }
  dx_http_transport_account (self, msg);
  if (error == NULL && status == SOUP_STATUS_CREATED && data_ != NULL
      && dx_decode_post_answer (data_, len, &id, &ts, NULL)) {
    dx_base_transport_acked (DX_BASE_TRANSPORT (self), job->cid, id, (gint64) ts);
    post_job_free (job);
    return;
  }
  if (error == NULL && status == SOUP_STATUS_UNAUTHORIZED && !job->retried) {
    /* Tokens die with a server restart: get a new one, same cid. */
    job->retried = TRUE;
    g_clear_pointer (&PRIV (self)->token, g_free);
    fetch_token (job);
    return;
  }
  if (error == NULL && status == 429) {
    /* docs/protocol.md §9: too fast; the outbox waits Retry-After. */
    dx_base_transport_rate_limited (DX_BASE_TRANSPORT (self), job->cid, retry_after_ms (msg));
    post_job_free (job);
    return;
  }
  g_autofree char *why = dx_http_transport_describe_failure (msg, body, error);
  if (error != NULL || status >= 500) {
    dx_base_transport_post_failed (DX_BASE_TRANSPORT (self), job->cid);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
  } else {
    dx_base_transport_rejected (DX_BASE_TRANSPORT (self), job->cid, why);
  }
  post_job_free (job);
}

static void
post_with_token (PostJob *job)
{
  DxHttpTransport *self = job->self;
  g_autofree char *path = dx_http_transport_room_path (self, "messages");
  g_autoptr (SoupMessage) msg = dx_http_transport_new_message (self, "POST", path);
  g_autofree char *auth = g_strconcat ("Bearer ", PRIV (self)->token, NULL);
  dx_buffer b;

  dx_buffer_init (&b, 64 * 1024);
  if (!dx_encode_post_body (&b, job->text, strlen (job->text), job->cid)) {
    dx_buffer_free (&b);
    dx_base_transport_rejected (DX_BASE_TRANSPORT (self), job->cid,
                                _ ("The message is empty, too long or not valid text"));
    post_job_free (job);
    return;
  }
  g_autoptr (GBytes) body = g_bytes_new (b.data, b.len);
  dx_buffer_free (&b);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  soup_session_send_and_read_async (PRIV (self)->session, msg, G_PRIORITY_DEFAULT,
                                    PRIV (self)->post_cancellable, post_done, job);
}

static void
dx_http_transport_post (DxBaseTransport *base, const char *text, const char *cid)
{
  DxHttpTransport *self = DX_HTTP_TRANSPORT (base);
  PostJob *job = g_new0 (PostJob, 1);

  job->self = g_object_ref (self);
  job->text = g_strdup (text);
  job->cid = g_strdup (cid);
  if (PRIV (self)->post_cancellable == NULL)
    PRIV (self)->post_cancellable = g_cancellable_new ();
  if (PRIV (self)->token == NULL)
    fetch_token (job);
  else
    post_with_token (job);
}

static void
dx_http_transport_stop (DxBaseTransport *base)
{
  DxHttpTransport *self = DX_HTTP_TRANSPORT (base);

  if (PRIV (self)->post_cancellable != NULL) {
    g_cancellable_cancel (PRIV (self)->post_cancellable);
    g_clear_object (&PRIV (self)->post_cancellable);
  }
  /* A stopped transport keeps no idle connection open. */
  soup_session_abort (PRIV (self)->session);
}

/* ---- GObject ---- */

static void
dx_http_transport_finalize (GObject *object)
{
  DxHttpTransportPrivate *priv = PRIV (DX_HTTP_TRANSPORT (object));

  g_clear_object (&priv->session);
  g_clear_object (&priv->post_cancellable);
  g_free (priv->token);
  G_OBJECT_CLASS (dx_http_transport_parent_class)->finalize (object);
}

static void
dx_http_transport_set_property (GObject *object, guint prop_id, const GValue *value,
                                GParamSpec *pspec)
{
  switch (prop_id) {
  case PROP_KEEP_ALIVE:
    dx_http_transport_set_keep_alive (DX_HTTP_TRANSPORT (object), g_value_get_boolean (value));
    break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_http_transport_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id) {
  case PROP_KEEP_ALIVE:
    g_value_set_boolean (value, PRIV (DX_HTTP_TRANSPORT (object))->keep_alive);
    break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_http_transport_class_init (DxHttpTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  DxBaseTransportClass *base_class = DX_BASE_TRANSPORT_CLASS (klass);

  object_class->finalize = dx_http_transport_finalize;
  object_class->set_property = dx_http_transport_set_property;
  object_class->get_property = dx_http_transport_get_property;
  base_class->post = dx_http_transport_post;
  base_class->stop = dx_http_transport_stop;

  props[PROP_KEEP_ALIVE] =
      g_param_spec_boolean ("keep-alive", NULL, NULL, TRUE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
dx_http_transport_init (DxHttpTransport *self)
{
  PRIV (self)->keep_alive = TRUE;
  /* Long polls and streams are held open on purpose: no idle timeout here;
   * the server closes idle keep-alive connections after 60 s. */
  PRIV (self)->session = soup_session_new_with_options ("user-agent", "duplex/" DX_VERSION,
                                                        "timeout", 0, "idle-timeout", 55, NULL);
  dx_tls_trust_watch_session (dx_tls_trust_get_default (), PRIV (self)->session);
}
