#include "dx-config.h"

#include <gio/gnetworking.h> /* IPPROTO_TCP, TCP_NODELAY on Linux and Windows */

#include "protocol/http.h"

#include "dx-relay.h"

#define DX_RELAY_READ_SIZE 16384
/* A direction stops reading while this much waits to be delivered: the
 * sender then feels the slow link as TCP backpressure. */
#define DX_RELAY_QUEUE_MAX (1024 * 1024)
/* Responses bigger than this are not followed (buffering then ends only
 * at buffer-bytes or the end of the connection). */
#define DX_RELAY_HTTP_MAX_BODY (16 * 1024 * 1024)
#define DX_RELAY_IDLE_CHECK_MS 250

typedef struct _DxRelayConn DxRelayConn;

typedef struct {
  GBytes *bytes; /* NULL: the end of the stream (forward the FIN) */
  gint64 due_us; /* monotonic time it may be written */
} DxRelayChunk;

/* One direction of one relayed connection. */
typedef struct {
  DxRelayConn *conn;
  gboolean down; /* server -> client */
  GSocketConnection *from, *to;
  GQueue chunks; /* of DxRelayChunk, in delivery order */
  gsize queued;
  gint64 last_due_us;  /* delivery is in order: no chunk before this */
  gint64 link_free_us; /* the bandwidth cap's link is busy until then */
  gboolean reading, writing, eof, shut;
  guint timer;
  GBytes *in_flight;         /* the chunk being written: alive until its write ends */
  GByteArray *held;          /* buffering mode: bytes not yet released */
  dx_http_parser *responses; /* HTTP relay, down: where responses end */
} DxRelayPipe;

struct _DxRelayConn {
  DxRelay *relay;
  GSocketConnection *client, *server;
  GCancellable *cancellable;
  DxRelayPipe up, down;
  gint64 last_activity_us;
  gboolean closed;
};

struct _DxRelay {
  GObject parent_instance;
  DxRelayKind kind;
  GSocketService *service;
  guint16 port;
  char *upstream_host;
  guint16 upstream_port;
  GList *conns;   /* DxRelayConn, open ones */
  GList *waiting; /* GSocketConnection accepted before the upstream was known */
  guint idle_timer;
  guint64 idle_cuts;
  /* the impairment, as properties */
  DxRelaySettings settings;
  gboolean buffering;
};

G_DEFINE_FINAL_TYPE (DxRelay, dx_relay, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DELAY_UP,
  PROP_DELAY_DOWN,
  PROP_JITTER_UP,
  PROP_JITTER_DOWN,
  PROP_BANDWIDTH,
  PROP_BUFFERING,
  PROP_BUFFER_BYTES,
  PROP_IDLE_CUT,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

static void pipe_read (DxRelayPipe *p);
static void pipe_kick (DxRelayPipe *p);
static void update_idle_timer (DxRelay *self);
static void conn_unref (DxRelayConn *c);

/* ---- connections ---- */

static void
chunk_free (gpointer data)
{
  DxRelayChunk *c = data;

  if (c->bytes != NULL)
    g_bytes_unref (c->bytes);
  g_free (c);
}

static void
pipe_clear (DxRelayPipe *p)
{
  g_clear_handle_id (&p->timer, g_source_remove);
  g_queue_clear_full (&p->chunks, chunk_free);
  p->queued = 0;
  g_clear_pointer (&p->held, g_byte_array_unref);
  g_clear_pointer (&p->responses, dx_http_parser_free);
}

/* Both sockets closed at once, whatever was queued: an error, an idle
 * cut, the relay turned off. */
static void
conn_close (DxRelayConn *c)
{
  if (c->closed)
    return;
  c->closed = TRUE;
  g_cancellable_cancel (c->cancellable);
  pipe_clear (&c->up);
  pipe_clear (&c->down);
  /* The socket, not the stream: a stream with a read still pending
   * (cancelled, not yet called back) refuses to close. */
  if (c->client != NULL)
    g_socket_close (g_socket_connection_get_socket (c->client), NULL);
  if (c->server != NULL)
    g_socket_close (g_socket_connection_get_socket (c->server), NULL);
  c->relay->conns = g_list_remove (c->relay->conns, c);
  update_idle_timer (c->relay);
  /* The relay's list held a reference; callbacks still pending hold
   * theirs, see `closed` and let go. */
  conn_unref (c);
}

static DxRelayConn *
conn_ref (DxRelayConn *c)
{
  g_atomic_rc_box_acquire (c);
  return c;
}

static void
conn_free_contents (gpointer data)
{
  DxRelayConn *c = data;

  g_clear_object (&c->client);
  g_clear_object (&c->server);
  g_clear_object (&c->cancellable);
}

static void
conn_unref (DxRelayConn *c)
{
  g_atomic_rc_box_release_full (c, conn_free_contents);
}

static void
activity (DxRelayConn *c)
{
  c->last_activity_us = g_get_monotonic_time ();
}

/* ---- one direction: read, schedule, deliver in order ---- */

static void
pipe_enqueue (DxRelayPipe *p, GBytes *bytes)
{
  DxRelay *relay = p->conn->relay;
  DxRelayChunk *chunk = g_new0 (DxRelayChunk, 1);
  gint64 now = g_get_monotonic_time ();
  guint jitter = relay->settings.jitter_ms[p->down];
  gint64 due = now + (gint64) relay->settings.delay_ms[p->down] * 1000;

  if (jitter > 0)
    due += (gint64) g_random_int_range (0, (gint32) jitter + 1) * 1000;
  /* Jitter must not reorder a byte stream: a chunk never overtakes the
   * one before it (real links queue, they do not reorder TCP bytes). */
  due = MAX (due, p->last_due_us);
  if (bytes != NULL && relay->settings.bandwidth_kbps > 0) {
    gint64 wire_us =
        (gint64) g_bytes_get_size (bytes) * 8 * 1000 / (gint64) relay->settings.bandwidth_kbps;
    p->link_free_us = MAX (p->link_free_us, due) + wire_us;
    due = p->link_free_us;
  }
  p->last_due_us = due;
  chunk->bytes = bytes;
  chunk->due_us = due;
  if (bytes != NULL)
    p->queued += g_bytes_get_size (bytes);
  g_queue_push_tail (&p->chunks, chunk);
  pipe_kick (p);
}

static void
pipe_release_held (DxRelayPipe *p)
{
  if (p->held == NULL || p->held->len == 0)
    return;
  pipe_enqueue (p, g_byte_array_free_to_bytes (g_steal_pointer (&p->held)));
  p->held = g_byte_array_new ();
}

/* Buffering mode: feed the response parser; TRUE once a response ended
 * within these bytes (everything held so far may go). */
static gboolean
response_ended (DxRelayPipe *p, const guint8 *data, gsize len)
{
  gboolean ended = FALSE;

  if (p->responses == NULL)
    return FALSE;
  while (len > 0) {
    size_t used = 0;
    dx_http_status st = dx_http_parser_feed (p->responses, (const char *) data, len, &used);
    const dx_http_message *m = dx_http_parser_message (p->responses);
    if (st == DX_HTTP_ERROR) {
      /* Not HTTP we can follow (an upgraded WebSocket, a huge body): hold
       * by size and end of connection only. */
      g_clear_pointer (&p->responses, dx_http_parser_free);
      return ended;
    }
    data += used;
    len -= used;
    if (st == DX_HTTP_HEADERS)
      continue; /* the body follows in the same bytes, or later ones */
    if (st != DX_HTTP_DONE)
      break;
    ended = TRUE;
    if (m != NULL && m->upgrade) {
      g_clear_pointer (&p->responses, dx_http_parser_free);
      return TRUE;
    }
    dx_http_parser_reset (p->responses);
  }
  return ended;
}

static void
pipe_take (DxRelayPipe *p, GBytes *bytes)
{
  DxRelay *relay = p->conn->relay;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  if (!p->down || !relay->buffering) {
    pipe_release_held (p);
    pipe_enqueue (p, g_bytes_ref (bytes));
    return;
  }
  if (p->held == NULL)
    p->held = g_byte_array_new ();
  g_byte_array_append (p->held, data, (guint) len);
  if (response_ended (p, data, len) || p->held->len >= MAX (relay->settings.buffer_bytes, 1))
    pipe_release_held (p);
}

static void
read_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxRelayPipe *p = data;
  DxRelayConn *c = p->conn;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes =
      g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  if (c->closed)
    goto out;
  p->reading = FALSE;
  if (bytes == NULL) {
    conn_close (c); /* a reset or an error: the other side sees it too */
    goto out;
  }
  activity (c);
  if (g_bytes_get_size (bytes) == 0) {
    /* Orderly end: everything held goes, then the FIN, in order. */
    p->eof = TRUE;
    if (p->responses != NULL)
      dx_http_parser_finish (p->responses);
    pipe_release_held (p);
    pipe_enqueue (p, NULL);
    goto out;
  }
  pipe_take (p, bytes);
  pipe_read (p);
out:
  conn_unref (c);
}

static void
pipe_read (DxRelayPipe *p)
{
  GInputStream *in;

  if (p->conn->closed || p->reading || p->eof || p->queued >= DX_RELAY_QUEUE_MAX)
    return;
  p->reading = TRUE;
  in = g_io_stream_get_input_stream (G_IO_STREAM (p->from));
  conn_ref (p->conn); /* the pipe lives in its connection: keep both */
  g_input_stream_read_bytes_async (in, DX_RELAY_READ_SIZE, G_PRIORITY_DEFAULT, p->conn->cancellable,
                                   read_done, p);
}

static void
write_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxRelayPipe *p = data;
  DxRelayConn *c = p->conn;
  g_autoptr (GError) error = NULL;
  gsize written = 0;

  g_clear_pointer (&p->in_flight, g_bytes_unref);
  if (c->closed) {
    conn_unref (c);
    return;
  }
  p->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error)) {
    conn_close (c);
    conn_unref (c);
    return;
  }
  p->queued -= MIN (p->queued, written);
  pipe_read (p); /* room again below the queue bound */
  pipe_kick (p);
  conn_unref (c);
}

static gboolean
pipe_timer_cb (gpointer data)
{
  DxRelayPipe *p = data;

  p->timer = 0;
  pipe_kick (p);
  return G_SOURCE_REMOVE;
}

static void
pipe_deliver_eof (DxRelayPipe *p)
{
  DxRelayConn *c = p->conn;

  p->shut = TRUE;
  /* Half-close: the peer learns of the FIN, and may still talk back. */
  g_socket_shutdown (g_socket_connection_get_socket (p->to), FALSE, TRUE, NULL);
  if (c->up.shut && c->down.shut)
    conn_close (c);
}

static void
pipe_kick (DxRelayPipe *p)
{
  DxRelayChunk *head;
  gint64 now;

  if (p->conn->closed || p->writing || p->timer != 0 || g_queue_is_empty (&p->chunks))
    return;
  head = g_queue_peek_head (&p->chunks);
  now = g_get_monotonic_time ();
  if (head->due_us > now) {
    p->timer = g_timeout_add ((guint) ((head->due_us - now + 999) / 1000), pipe_timer_cb, p);
    return;
  }
  g_queue_pop_head (&p->chunks);
  if (head->bytes == NULL) {
    chunk_free (head);
    pipe_deliver_eof (p);
    return;
  }
  p->writing = TRUE;
  conn_ref (p->conn);
  /* The chunk's bytes stay alive in the closure until the write is done. */
  g_output_stream_write_all_async (
      g_io_stream_get_output_stream (G_IO_STREAM (p->to)), g_bytes_get_data (head->bytes, NULL),
      g_bytes_get_size (head->bytes), G_PRIORITY_DEFAULT, p->conn->cancellable, write_done, p);
  p->in_flight = g_steal_pointer (&head->bytes);
  chunk_free (head);
}

/* ---- accepting ---- */

static void
pipe_init (DxRelayPipe *p, DxRelayConn *c, gboolean down)
{
  p->conn = c;
  p->down = down;
  p->from = down ? c->server : c->client;
  p->to = down ? c->client : c->server;
  g_queue_init (&p->chunks);
  if (down && c->relay->kind == DX_RELAY_HTTP) {
    dx_http_limits limits;
    dx_http_limits_default (&limits);
    limits.max_body = DX_RELAY_HTTP_MAX_BODY;
    p->responses = dx_http_parser_new (DX_HTTP_PARSE_RESPONSE, &limits);
  }
}

static void
no_delay (GSocketConnection *conn)
{
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
}

static void
upstream_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxRelayConn *c = data;
  g_autoptr (GError) error = NULL;
  GSocketConnection *server =
      g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);

  if (c->closed) {
    g_clear_object (&server);
    conn_unref (c);
    return;
  }
  if (server == NULL) {
    g_debug ("relay: %s", error->message);
    conn_close (c); /* the client sees the server refuse, as it would directly */
    conn_unref (c);
    return;
  }
  c->server = server;
  /* The connector's timeout stays on the socket it made: a relayed
   * connection may be silent for as long as its ends like (only the
   * idle cut, when set, ends that). */
  g_socket_set_timeout (g_socket_connection_get_socket (server), 0);
  no_delay (server);
  pipe_init (&c->up, c, FALSE);
  pipe_init (&c->down, c, TRUE);
  pipe_read (&c->up);
  pipe_read (&c->down);
  conn_unref (c);
}

static void
relay_connection (DxRelay *self, GSocketConnection *client)
{
  DxRelayConn *c = g_atomic_rc_box_new0 (DxRelayConn);
  g_autoptr (GSocketClient) connector = g_socket_client_new ();

  c->relay = self; /* unowned: the relay closes its connections when it goes */
  c->client = g_object_ref (client);
  c->cancellable = g_cancellable_new ();
  activity (c);
  no_delay (client);
  self->conns = g_list_prepend (self->conns, c); /* the list holds the first reference */
  update_idle_timer (self);
  g_socket_client_set_timeout (connector, 10);
  g_socket_client_connect_to_host_async (connector, self->upstream_host, self->upstream_port,
                                         c->cancellable, upstream_done, conn_ref (c));
}

static gboolean
incoming_cb (GSocketService *service, GSocketConnection *client, GObject *source, gpointer data)
{
  DxRelay *self = data;

  if (self->upstream_host == NULL)
    self->waiting = g_list_append (self->waiting, g_object_ref (client));
  else
    relay_connection (self, client);
  return TRUE;
}

/* ---- idle cut ---- */

static gboolean
idle_check (gpointer data)
{
  DxRelay *self = data;
  gint64 limit = (gint64) self->settings.idle_cut_s * G_USEC_PER_SEC;
  gint64 now = g_get_monotonic_time ();
  GList *silent = NULL;

  for (GList *l = self->conns; l != NULL; l = l->next) {
    DxRelayConn *c = l->data;
    if (now - c->last_activity_us >= limit)
      silent = g_list_prepend (silent, c);
  }
  for (GList *l = silent; l != NULL; l = l->next) {
    self->idle_cuts++;
    conn_close (l->data);
  }
  g_list_free (silent);
  return G_SOURCE_CONTINUE;
}

static void
update_idle_timer (DxRelay *self)
{
  gboolean want = self->settings.idle_cut_s > 0 && self->conns != NULL;

  if (want && self->idle_timer == 0)
    self->idle_timer = g_timeout_add (DX_RELAY_IDLE_CHECK_MS, idle_check, self);
  else if (!want)
    g_clear_handle_id (&self->idle_timer, g_source_remove);
}

/* ---- public ---- */

guint16
dx_relay_get_port (DxRelay *self)
{
  return self->port;
}

void
dx_relay_set_upstream (DxRelay *self, const char *host, guint16 port)
{
  GList *waiting;

  if (g_strcmp0 (host, self->upstream_host) == 0 && port == self->upstream_port)
    return;
  g_free (self->upstream_host);
  self->upstream_host = g_strdup (host);
  self->upstream_port = port;
  waiting = g_steal_pointer (&self->waiting);
  for (GList *l = waiting; l != NULL; l = l->next)
    relay_connection (self, l->data);
  g_list_free_full (waiting, g_object_unref);
}

void
dx_relay_close_all (DxRelay *self)
{
  while (self->conns != NULL) {
    conn_close (self->conns->data); /* removes it from the list */
  }
  g_list_free_full (g_steal_pointer (&self->waiting), g_object_unref);
}

guint
dx_relay_get_n_connections (DxRelay *self)
{
  return g_list_length (self->conns);
}

guint64
dx_relay_get_idle_cuts (DxRelay *self)
{
  return self->idle_cuts;
}

/* ---- GObject ---- */

static void
dx_relay_dispose (GObject *object)
{
  DxRelay *self = DX_RELAY (object);

  if (self->service != NULL) {
    g_socket_service_stop (self->service);
    g_socket_listener_close (G_SOCKET_LISTENER (self->service));
    g_clear_object (&self->service);
  }
  dx_relay_close_all (self);
  g_clear_handle_id (&self->idle_timer, g_source_remove);
  G_OBJECT_CLASS (dx_relay_parent_class)->dispose (object);
}

static void
dx_relay_finalize (GObject *object)
{
  g_free (DX_RELAY (object)->upstream_host);
  G_OBJECT_CLASS (dx_relay_parent_class)->finalize (object);
}

guint *
dx_relay_settings_field (DxRelaySettings *s, const char *name)
{
  if (strcmp (name, "delay-up-ms") == 0)
    return &s->delay_ms[0];
  if (strcmp (name, "delay-down-ms") == 0)
    return &s->delay_ms[1];
  if (strcmp (name, "jitter-up-ms") == 0)
    return &s->jitter_ms[0];
  if (strcmp (name, "jitter-down-ms") == 0)
    return &s->jitter_ms[1];
  if (strcmp (name, "bandwidth-kbps") == 0)
    return &s->bandwidth_kbps;
  if (strcmp (name, "buffer-bytes") == 0)
    return &s->buffer_bytes;
  if (strcmp (name, "idle-cut-s") == 0)
    return &s->idle_cut_s;
  return NULL;
}

static void
dx_relay_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DxRelay *self = DX_RELAY (object);
  guint *field = dx_relay_settings_field (&self->settings, pspec->name);

  if (field != NULL)
    *field = g_value_get_uint (value);
  else if (prop_id == PROP_BUFFERING) {
    self->buffering = g_value_get_boolean (value);
    /* Turned off: what was held goes now. */
    for (GList *l = self->conns; l != NULL && !self->buffering; l = l->next)
      pipe_release_held (&((DxRelayConn *) l->data)->down);
  } else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  if (prop_id == PROP_IDLE_CUT)
    update_idle_timer (self);
}

static void
dx_relay_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DxRelay *self = DX_RELAY (object);
  guint *field = dx_relay_settings_field (&self->settings, pspec->name);

  if (field != NULL)
    g_value_set_uint (value, *field);
  else if (prop_id == PROP_BUFFERING)
    g_value_set_boolean (value, self->buffering);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static GParamSpec *
uint_prop (const char *name, guint max, guint def)
{
  return g_param_spec_uint (name, NULL, NULL, 0, max, def,
                            G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
}

static void
dx_relay_class_init (DxRelayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = dx_relay_dispose;
  object_class->finalize = dx_relay_finalize;
  object_class->set_property = dx_relay_set_property;
  object_class->get_property = dx_relay_get_property;
  /* Milliseconds added client -> server (up) and server -> client (down). */
  props[PROP_DELAY_UP] = uint_prop ("delay-up-ms", 10000, 0);
  props[PROP_DELAY_DOWN] = uint_prop ("delay-down-ms", 10000, 0);
  /* Up to this many more milliseconds, uniformly at random per chunk. */
  props[PROP_JITTER_UP] = uint_prop ("jitter-up-ms", 5000, 0);
  props[PROP_JITTER_DOWN] = uint_prop ("jitter-down-ms", 5000, 0);
  /* Each direction's rate, kilobits per second; 0 = no cap. */
  props[PROP_BANDWIDTH] = uint_prop ("bandwidth-kbps", 1000000, 0);
  props[PROP_BUFFERING] = g_param_spec_boolean ("buffering", NULL, NULL, FALSE,
                                                G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  props[PROP_BUFFER_BYTES] = uint_prop ("buffer-bytes", 16 * 1024 * 1024, 4096);
  /* Seconds of silence (both ways) after which a connection is dropped. */
  props[PROP_IDLE_CUT] = uint_prop ("idle-cut-s", 3600, 0);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
dx_relay_init (DxRelay *self)
{
  self->settings.buffer_bytes = 4096;
}

DxRelay *
dx_relay_new (DxRelayKind kind, GError **error)
{
  g_autoptr (DxRelay) self = g_object_new (DX_TYPE_RELAY, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  self->kind = kind;
  self->service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), any, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &bound, error))
    return NULL;
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (self->service, "incoming", G_CALLBACK (incoming_cb), self);
  g_socket_service_start (self->service);
  return g_steal_pointer (&self);
}
