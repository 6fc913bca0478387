#include "dx-config.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>

#include "protocol/message.h"

#include "dx-impairment.h"
#include "dx-seq-tracker.h"
#include "dx-udp-datagram.h"
#include "dx-udp-repair.h"
#include "dx-udp-transport.h"
#include "dx-tls-trust.h"

/* docs/protocol.md §8: sessions are forgotten after 30-40 s of silence,
 * clients ping every 10 s; three pings without a pong end the session. */
#define DX_UDP_PING_S 10
#define DX_UDP_PINGS_UNANSWERED 3
/* A hello, join or send that may have been lost goes again after this. */
#define DX_UDP_RETRY_MS 1000
#define DX_UDP_HELLO_TRIES 10
#define DX_UDP_JOIN_TRIES 5
#define DX_UDP_SEND_TRIES 8
/* A gap is repaired after this pause: a datagram merely reordered has
 * arrived by then and needs no HTTP request. */
#define DX_UDP_REPAIR_DELAY_MS 150
/* The chat's cids ("dx-<ms>-<n>") are shorter; sizes are checked with this. */
#define DX_UDP_CID_ROOM "dx-0000000000000-000000000000000"

typedef enum {
  PHASE_IDLE,
  PHASE_INFO,    /* GET /api/v1/info for udp_port */
  PHASE_SESSION, /* POST /api/v1/session for a token */
  PHASE_RESOLVE,
  PHASE_HELLO, /* padded hello out, waiting for welcome */
  PHASE_JOIN,  /* join out, waiting for joined */
  PHASE_JOINED,
} Phase;

typedef struct {
  DxUdpTransport *self;
  char *cid;
  char *text;
  guint tries;
  guint timer; /* the next resend; removed with the job */
} SendJob;

struct _DxUdpTransport {
  DxBaseTransport parent_instance;
  gboolean repair;
  guint loss_percent;       /* --udp-loss */
  DxImpairment *impairment; /* the impairment panel's udp-loss-percent, if routed through it */

  SoupSession *api; /* info (not counted, as for raw TCP) and the session POST */
  GCancellable *cancellable;
  Phase phase;
  guint16 port;
  char *token;
  char cookie[DX_UDP_COOKIE_MAX + 1];
  GSocket *socket;
  GSource *read_source;
  guint handshake_timer; /* hello / join resends */
  guint handshake_tries;
  guint ping_timer;
  guint unanswered_pings;
  guint repair_timer;
  GHashTable *sends; /* cid -> SendJob */

  DxSeqTracker *tracker;
  char *tracked_room; /* the tracker's ids belong to this room */
  DxUdpRepair *repairer;
};

G_DEFINE_FINAL_TYPE (DxUdpTransport, dx_udp_transport, DX_TYPE_BASE_TRANSPORT)

enum { PROP_0, PROP_REPAIR, PROP_LOSS_PERCENT, PROP_IMPAIRMENT, N_PROPS };
static GParamSpec *props[N_PROPS];

static DxStats *
stats_of (DxUdpTransport *self)
{
  return dx_base_transport_get_stats_object (DX_BASE_TRANSPORT (self));
}

static void
send_job_free (gpointer data)
{
  SendJob *job = data;

  g_clear_handle_id (&job->timer, g_source_remove);
  g_free (job->cid);
  g_free (job->text);
  g_free (job);
}

static void start_repair (DxUdpTransport *self);

/* ---- datagrams out ---- */

/* One datagram for the wire inspector: its JSON, no framing of ours (the
 * 8-byte UDP header is the kernel's, and not counted in any mode). */
static void
log_datagram (DxUdpTransport *self, DxWireDirection dir, const char *data, gsize len,
              gboolean dropped)
{
  g_autofree char *text = NULL;
  g_autofree char *summary = NULL;

  if (!dx_base_transport_logs_wire (DX_BASE_TRANSPORT (self)))
    return;
  text = g_utf8_make_valid (data, (gssize) len);
  summary = dropped ? g_strdup_printf (_ ("%u B, dropped (simulated loss)"), (guint) len)
                    : g_strdup_printf ("%u B", (guint) len);
  dx_base_transport_log_wire (DX_BASE_TRANSPORT (self), DX_WIRE_DATAGRAM, dir, summary, text, 0,
                              len, -1);
}

/* Send one datagram; what the kernel refuses (a full buffer) is lost, as
 * anything on UDP may be, and the retries cover it. */
static void
send_datagram (DxUdpTransport *self, const char *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  gssize n;

  if (self->socket == NULL)
    return;
  n = g_socket_send (self->socket, data, len, NULL, &error);
  /* Wire bytes are UDP payload bytes, as the TCP modes count TCP payload:
   * no IP or UDP headers in any mode. */
  if (n > 0) {
    dx_stats_add_bytes (stats_of (self), (guint64) n, 0);
    log_datagram (self, DX_WIRE_SENT, data, (gsize) n, FALSE);
  }
}

/* Add the cookie to the one object in b, send it, free b. */
static gboolean
send_object (DxUdpTransport *self, dx_buffer *b)
{
  gboolean ok = !b->failed && dx_udp_add_cookie (b, self->cookie) && b->len <= DX_UDP_DATAGRAM_MAX;

  if (ok)
    send_datagram (self, b->data, b->len);
  dx_buffer_free (b);
  return ok;
}

static void
send_join (DxUdpTransport *self)
{
  DxBaseTransport *base = DX_BASE_TRANSPORT (self);
  dx_buffer b;

  dx_buffer_init (&b, DX_UDP_DATAGRAM_MAX);
  /* From the last id held without a hole: the replay fills holes a
   * previous session left. */
  dx_encode_join (&b, dx_base_transport_get_room (base), true,
                  dx_seq_tracker_get_contiguous (self->tracker));
  send_object (self, &b);
}

static void
send_hello (DxUdpTransport *self)
{
  dx_buffer b;

  dx_buffer_init (&b, DX_UDP_DATAGRAM_MAX);
  if (dx_udp_encode_hello (&b, self->token,
                           dx_base_transport_get_password (DX_BASE_TRANSPORT (self))))
    send_datagram (self, b.data, b.len);
  dx_buffer_free (&b);
}

static gboolean
handshake_cb (gpointer data)
{
  DxUdpTransport *self = data;
  guint max = self->phase == PHASE_HELLO ? DX_UDP_HELLO_TRIES : DX_UDP_JOIN_TRIES;

  if (++self->handshake_tries >= max) {
    self->handshake_timer = 0;
    dx_base_transport_failed (DX_BASE_TRANSPORT (self),
                              self->phase == PHASE_HELLO
                                  ? _ ("No welcome from the server's UDP port")
                                  : _ ("The server did not answer the join over UDP"));
    return G_SOURCE_REMOVE;
  }
  /* The datagram or its answer was lost: ask again (both are idempotent;
   * a join again replays, and the duplicates are counted). */
  if (self->phase == PHASE_HELLO)
    send_hello (self);
  else
    send_join (self);
  return G_SOURCE_CONTINUE;
}

static void
enter_handshake (DxUdpTransport *self, Phase phase)
{
  self->phase = phase;
  self->handshake_tries = 0;
  g_clear_handle_id (&self->handshake_timer, g_source_remove);
  if (phase == PHASE_HELLO)
    send_hello (self);
  else
    send_join (self);
  self->handshake_timer = g_timeout_add (DX_UDP_RETRY_MS, handshake_cb, self);
}

static gboolean
ping_cb (gpointer data)
{
  DxUdpTransport *self = data;
  dx_buffer b;
  char t[32];

  if (self->unanswered_pings >= DX_UDP_PINGS_UNANSWERED) {
    self->ping_timer = 0;
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("The server stopped answering"));
    return G_SOURCE_REMOVE;
  }
  self->unanswered_pings++;
  /* A repair that failed (or found the server without the ids) is tried
   * again here while ids are missing. */
  start_repair (self);
  g_snprintf (t, sizeof t, "%" G_GINT64_FORMAT, dx_now_ms ());
  dx_buffer_init (&b, DX_UDP_DATAGRAM_MAX);
  dx_encode_ping (&b, t, strlen (t));
  send_object (self, &b);
  return G_SOURCE_CONTINUE;
}

/* ---- sends: retried with the same cid until acked ---- */

static gboolean
encode_send (DxUdpTransport *self, dx_buffer *b, const char *text, const char *cid)
{
  dx_buffer_init (b, 64 * 1024);
  return dx_encode_send (b, dx_base_transport_get_room (DX_BASE_TRANSPORT (self)), text,
                         strlen (text), cid)
         && dx_udp_add_cookie (b, self->cookie[0] != '\0' ? self->cookie : "");
}

static gboolean
send_again_cb (gpointer data)
{
  SendJob *job = data;
  DxUdpTransport *self = job->self;
  dx_buffer b;

  if (++job->tries >= DX_UDP_SEND_TRIES) {
    g_autofree char *cid = g_strdup (job->cid);
    job->timer = 0;
    g_hash_table_remove (self->sends, cid); /* frees job */
    dx_base_transport_post_failed (DX_BASE_TRANSPORT (self), cid);
    /* The server is likely gone: start over; the outbox sends it again. */
    dx_base_transport_failed (DX_BASE_TRANSPORT (self),
                              _ ("No acknowledgement for a message sent over UDP"));
    return G_SOURCE_REMOVE;
  }
  /* Same cid: if only the ack was lost, the server answers with the id it
   * already gave (docs/protocol.md §6). */
  if (encode_send (self, &b, job->text, job->cid) && b.len <= DX_UDP_DATAGRAM_MAX)
    send_datagram (self, b.data, b.len);
  dx_buffer_free (&b);
  return G_SOURCE_CONTINUE;
}

static void
dx_udp_transport_post (DxBaseTransport *base, const char *text, const char *cid)
{
  DxUdpTransport *self = DX_UDP_TRANSPORT (base);
  SendJob *job;
  dx_buffer b;

  if (!encode_send (self, &b, text, cid)) {
    dx_buffer_free (&b);
    dx_base_transport_rejected (base, cid, _ ("The message is empty, too long or not valid text"));
    return;
  }
  if (b.len > DX_UDP_DATAGRAM_MAX) {
    g_autofree char *why =
        g_strdup_printf (_ ("Too long for one UDP datagram (%u bytes, at most %d)"), (guint) b.len,
                         DX_UDP_DATAGRAM_MAX);
    dx_buffer_free (&b);
    dx_base_transport_rejected (base, cid, why);
    return;
  }
  send_datagram (self, b.data, b.len);
  dx_buffer_free (&b);
  job = g_new0 (SendJob, 1);
  job->self = self;
  job->cid = g_strdup (cid);
  job->text = g_strdup (text);
  job->timer = g_timeout_add (DX_UDP_RETRY_MS, send_again_cb, job);
  g_hash_table_replace (self->sends, g_strdup (cid), job);
}

gboolean
dx_udp_transport_send_fits (DxUdpTransport *self, const char *text, gsize *size)
{
  const char *room = dx_base_transport_get_room (DX_BASE_TRANSPORT (self));
  /* Before the welcome the cookie's length is not known: assume a long one. */
  g_autofree char *cookie =
      self->cookie[0] != '\0' ? g_strdup (self->cookie) : g_strnfill (64, 'c');
  dx_buffer b;
  gboolean ok;

  dx_buffer_init (&b, 64 * 1024);
  ok = room != NULL && dx_encode_send (&b, room, text, strlen (text), DX_UDP_CID_ROOM)
       && dx_udp_add_cookie (&b, cookie);
  if (size != NULL)
    *size = b.len;
  ok = ok && b.len <= DX_UDP_DATAGRAM_MAX;
  dx_buffer_free (&b);
  return ok;
}

/* ---- repair over HTTP ---- */

static void
repair_message (const dx_msg *m, gpointer data)
{
  DxUdpTransport *self = data;

  if (g_strcmp0 (m->room, self->tracked_room) != 0
      || !dx_seq_tracker_is_missing (self->tracker, m->id))
    return; /* held already: only holes are filled */
  dx_seq_tracker_add (self->tracker, m->id, NULL, NULL);
  dx_stats_add_repaired (stats_of (self));
  dx_base_transport_deliver_unordered (DX_BASE_TRANSPORT (self), m, DX_MESSAGE_REPAIRED);
}

static void
repair_done (guint64 last_id, gboolean full, gpointer data)
{
  DxUdpTransport *self = data;

  /* A full page may stop short of the newest hole: ask for the next. */
  if (full && dx_seq_tracker_get_missing (self->tracker) > 0)
    start_repair (self);
}

static void
start_repair (DxUdpTransport *self)
{
  if (!self->repair || self->tracker == NULL || dx_seq_tracker_get_missing (self->tracker) == 0
      || self->tracked_room == NULL)
    return;
  dx_udp_repair_fetch (self->repairer, self->tracked_room,
                       dx_seq_tracker_get_contiguous (self->tracker));
}

static gboolean
repair_cb (gpointer data)
{
  DxUdpTransport *self = data;

  self->repair_timer = 0;
  start_repair (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_repair (DxUdpTransport *self)
{
  if (self->repair && self->repair_timer == 0)
    self->repair_timer = g_timeout_add (DX_UDP_REPAIR_DELAY_MS, repair_cb, self);
}

/* ---- datagrams in ---- */

static void
on_message (DxUdpTransport *self, const dx_msg *m)
{
  DxBaseTransport *base = DX_BASE_TRANSPORT (self);
  guint64 first = 0, last = 0;

  if (g_strcmp0 (m->room, self->tracked_room) != 0)
    return;
  switch (dx_seq_tracker_add (self->tracker, m->id, &first, &last)) {
  case DX_SEQ_DUPLICATE: dx_stats_add_duplicate (stats_of (self)); return;
  case DX_SEQ_AHEAD:
    dx_stats_add_gap (stats_of (self), last - first + 1);
    /* The gap is shown before the message that revealed it. */
    g_signal_emit_by_name (self, "gap", first, last);
    dx_base_transport_deliver_unordered (base, m, DX_MESSAGE_IN_ORDER);
    schedule_repair (self);
    return;
  case DX_SEQ_LATE:
    dx_stats_add_reordered (stats_of (self));
    dx_base_transport_deliver_unordered (base, m, DX_MESSAGE_LATE);
    return;
  case DX_SEQ_IN_ORDER:
  default: dx_base_transport_deliver_unordered (base, m, DX_MESSAGE_IN_ORDER); return;
  }
}

static void
on_welcome (DxUdpTransport *self, const char *json, gsize len)
{
  if (self->phase != PHASE_HELLO)
    return; /* a second welcome for a resent hello */
  if (!dx_udp_read_cookie (json, len, self->cookie)) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("The server's welcome had no cookie"));
    return;
  }
  enter_handshake (self, PHASE_JOIN);
}

static void
on_joined (DxUdpTransport *self, const dx_msg *m)
{
  DxBaseTransport *base = DX_BASE_TRANSPORT (self);

  if (g_strcmp0 (m->room, dx_base_transport_get_room (base)) != 0 || self->phase != PHASE_JOIN)
    return;
  g_clear_handle_id (&self->handshake_timer, g_source_remove);
  if (!dx_base_transport_check_epoch (base, m->epoch)) {
    /* Ids restarted: the tracker's numbering means nothing any more. */
    dx_base_transport_restart (base);
    return;
  }
  self->phase = PHASE_JOINED;
  self->unanswered_pings = 0;
  if (self->ping_timer == 0)
    self->ping_timer = g_timeout_add_seconds (DX_UDP_PING_S, ping_cb, self);
  dx_base_transport_connected (base);
}

static void
on_ack (DxUdpTransport *self, const dx_msg *m)
{
  const char *cid = m->has_cid ? m->cid : NULL;

  /* The first ack ends the retries; a later one (for a retry whose first
   * copy was stored after all) finds nothing to do. */
  if (cid != NULL)
    g_hash_table_remove (self->sends, cid);
  dx_base_transport_acked (DX_BASE_TRANSPORT (self), cid, m->id, (gint64) m->ts);
}

static void
on_datagram (DxUdpTransport *self, const char *json, gsize len)
{
  DxBaseTransport *base = DX_BASE_TRANSPORT (self);
  dx_msg m;
  dx_msg_error err;

  if (!dx_msg_decode (json, len, DX_MSG_FROM_SERVER, &m, &err)) {
    g_autofree char *why = g_strdup_printf (_ ("Bad object from the server: %s"), err.message);
    dx_base_transport_report_error (base, why);
    return;
  }
  switch (m.type) {
  case DX_MSG_WELCOME: on_welcome (self, json, len); break;
  case DX_MSG_JOINED: on_joined (self, &m); break;
  case DX_MSG_MESSAGE:
    if (self->phase == PHASE_JOIN || self->phase == PHASE_JOINED)
      on_message (self, &m);
    break;
  case DX_MSG_ACK: on_ack (self, &m); break;
  case DX_MSG_PONG: self->unanswered_pings = 0; break;
  case DX_MSG_ERROR: {
    if (g_str_equal (m.code, "rate_limited") && m.has_retry_after) {
      /* Not lost: refused. Stop resending it; the outbox waits. */
      if (m.has_cid)
        g_hash_table_remove (self->sends, m.cid);
      dx_base_transport_rate_limited (base, m.has_cid ? m.cid : NULL, m.retry_after);
      break;
    }
    g_autofree char *why = g_strdup_printf (_ ("Server error %s: %s"), m.code, m.text);
    /* Errors never end a UDP session (docs/protocol.md §8), but a server
     * that shuts down will not answer again. */
    if (g_str_equal (m.code, "shutting_down"))
      dx_base_transport_failed (base, why);
    else
      dx_base_transport_report_error (base, why);
    break;
  }
  default: break; /* presence, left: nothing to do */
  }
}

static gboolean
readable_cb (GSocket *socket, GIOCondition condition, gpointer data)
{
  DxUdpTransport *self = data;
  char buf[65536]; /* the largest datagram: never cut one short */

  g_object_ref (self);
  while (self->socket == socket) {
    g_autoptr (GError) error = NULL;
    gssize n = g_socket_receive (socket, buf, sizeof buf, NULL, &error);

    if (n < 0) {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        /* e.g. ICMP port unreachable: nobody listens on the UDP port. */
        dx_base_transport_failed (DX_BASE_TRANSPORT (self), error->message);
      break;
    }
    /* Counted as received even when dropped below: it crossed the wire. */
    dx_stats_add_bytes (stats_of (self), 0, (guint64) n);
    if ((self->loss_percent > 0 && (guint) g_random_int_range (0, 100) < self->loss_percent)
        || (self->impairment != NULL && dx_impairment_drop_datagram (self->impairment))) {
      dx_stats_add_simulated_loss (stats_of (self));
      log_datagram (self, DX_WIRE_RECEIVED, buf, (gsize) n, TRUE);
      continue;
    }
    log_datagram (self, DX_WIRE_RECEIVED, buf, (gsize) n, FALSE);
    on_datagram (self, buf, (gsize) n);
  }
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

/* ---- start: info, session, address, socket ---- */

static GInetAddress *
pick_address (GList *addresses)
{
  /* duplexd's --udp names one address; IPv4 first, as "localhost" often
   * resolves to ::1 too while the server listens on 127.0.0.1. */
  for (GList *l = addresses; l != NULL; l = l->next)
    if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4)
      return l->data;
  return addresses != NULL ? addresses->data : NULL;
}

static void
resolved_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  DxUdpTransport *self = data;
  g_autoptr (GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  GInetAddress *address;
  g_autoptr (GSocketAddress) peer = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  address = pick_address (addresses);
  if (address == NULL) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), error != NULL ? error->message : "?");
    goto out;
  }
  self->socket = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_DATAGRAM,
                               G_SOCKET_PROTOCOL_UDP, &error);
  peer = g_inet_socket_address_new (address, self->port);
  /* A connected datagram socket takes datagrams from the server only. */
  if (self->socket == NULL || !g_socket_connect (self->socket, peer, NULL, &error)) {
    g_clear_object (&self->socket);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), error->message);
    goto out;
  }
  g_socket_set_blocking (self->socket, FALSE);
  self->read_source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->read_source, G_SOURCE_FUNC (readable_cb), self, NULL);
  g_source_attach (self->read_source, g_main_context_get_thread_default ());
  enter_handshake (self, PHASE_HELLO);
out:
  g_resolver_free_addresses (addresses);
  g_object_unref (self);
}

static void
resolve (DxUdpTransport *self)
{
  /* Through the impairment our URL names a local TCP relay; datagrams go
   * to the server's own host (the relay carries no UDP). */
  const char *server = self->impairment != NULL
                           ? dx_impairment_get_server_url (self->impairment)
                           : dx_base_transport_get_server_url (DX_BASE_TRANSPORT (self));
  g_autoptr (GUri) uri = g_uri_parse (server, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GResolver) resolver = g_resolver_get_default ();

  self->phase = PHASE_RESOLVE;
  g_resolver_lookup_by_name_async (resolver, g_uri_get_host (uri), self->cancellable, resolved_cb,
                                   g_object_ref (self));
}

static void
network_event_cb (SoupMessage *msg, GSocketClientEvent event, GIOStream *connection, gpointer data)
{
  if (event == G_SOCKET_CLIENT_CONNECTED)
    dx_stats_add_connection (stats_of (data));
}

static void
session_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxUdpTransport *self = data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  SoupMessageMetrics *metrics = soup_message_get_metrics (msg);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  char token[DX_TOKEN_MAX + 1], nick[DX_NICK_MAX + 1];
  gsize len = 0;
  const char *json = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  /* The token is part of what UDP mode costs, as for the HTTP modes. */
  dx_stats_add_request (stats_of (self));
  if (metrics != NULL)
    dx_stats_add_bytes (stats_of (self),
                        soup_message_metrics_get_request_header_bytes_sent (metrics)
                            + soup_message_metrics_get_request_body_bytes_sent (metrics),
                        soup_message_metrics_get_response_header_bytes_received (metrics)
                            + soup_message_metrics_get_response_body_bytes_received (metrics));
  if (error == NULL && soup_message_get_status (msg) == SOUP_STATUS_UNAUTHORIZED) {
    /* The password (docs/protocol.md §4.4); the UDP hello would need it too. */
    dx_base_transport_password_refused (DX_BASE_TRANSPORT (self), TRUE);
    goto out;
  }
  if (error != NULL || soup_message_get_status (msg) != SOUP_STATUS_CREATED || json == NULL
      || !dx_decode_session_answer (json, len, token, nick, NULL)) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self),
                              error != NULL ? error->message : _ ("The server refused a session"));
    goto out;
  }
  g_free (self->token);
  self->token = g_strdup (token);
  resolve (self);
out:
  g_object_unref (self);
}

static void
request_session (DxUdpTransport *self)
{
  DxBaseTransport *base = DX_BASE_TRANSPORT (self);
  g_autofree char *url =
      g_strconcat (dx_base_transport_get_server_url (base), "/api/v1/session", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr (GBytes) body = NULL;
  dx_buffer b;

  dx_buffer_init (&b, 4096);
  if (msg == NULL
      || !dx_encode_session_request (&b, dx_base_transport_get_nick (base),
                                     dx_base_transport_get_password (base))) {
    dx_buffer_free (&b);
    dx_base_transport_failed (base, _ ("Invalid nick"));
    return;
  }
  body = g_bytes_new (b.data, b.len);
  dx_buffer_free (&b);
  self->phase = PHASE_SESSION;
  soup_message_add_flags (msg, SOUP_MESSAGE_COLLECT_METRICS);
  g_signal_connect_object (msg, "network-event", G_CALLBACK (network_event_cb), self, 0);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  soup_session_send_and_read_async (self->api, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    session_done, g_object_ref (self));
}

static void
info_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxUdpTransport *self = data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  gsize len = 0;
  const char *json = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  if (error != NULL || soup_message_get_status (msg) != SOUP_STATUS_OK || json == NULL) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self),
                              error != NULL ? error->message : _ ("The server did not answer"));
    goto out;
  }
  self->port = dx_udp_read_port (json, len);
  if (self->port == 0) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self),
                              _ ("This server has no UDP port (duplexd runs without --udp)"));
    goto out;
  }
  request_session (self);
out:
  g_object_unref (self);
}

static void
dx_udp_transport_start (DxBaseTransport *base)
{
  DxUdpTransport *self = DX_UDP_TRANSPORT (base);
  const char *room = dx_base_transport_get_room (base);
  guint64 since = dx_base_transport_get_since (base);
  g_autofree char *url =
      g_strconcat (dx_base_transport_get_server_url (base), "/api/v1/info", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);

  /* A reconnect in the same room keeps what the tracker knows, so the next
   * join resumes below the holes; anything else starts afresh at since. */
  if (g_strcmp0 (room, self->tracked_room) != 0
      || since != dx_seq_tracker_get_highest (self->tracker)) {
    dx_seq_tracker_reset (self->tracker, since);
    g_free (self->tracked_room);
    self->tracked_room = g_strdup (room);
  }
  self->cookie[0] = '\0';
  if (msg == NULL) {
    dx_base_transport_failed (base, _ ("Invalid server address"));
    return;
  }
  self->cancellable = g_cancellable_new ();
  self->phase = PHASE_INFO;
  soup_session_send_and_read_async (self->api, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    info_done, g_object_ref (self));
}

static void
dx_udp_transport_stop (DxBaseTransport *base)
{
  DxUdpTransport *self = DX_UDP_TRANSPORT (base);

  if (self->cancellable != NULL) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
  g_clear_handle_id (&self->handshake_timer, g_source_remove);
  g_clear_handle_id (&self->ping_timer, g_source_remove);
  g_clear_handle_id (&self->repair_timer, g_source_remove);
  /* Unacked sends stay in the base's outbox and go again after a restart. */
  g_hash_table_remove_all (self->sends);
  dx_udp_repair_cancel (self->repairer);
  if (self->read_source != NULL) {
    g_source_destroy (self->read_source);
    g_clear_pointer (&self->read_source, g_source_unref);
  }
  if (self->socket != NULL) {
    g_socket_close (self->socket, NULL);
    g_clear_object (&self->socket);
  }
  soup_session_abort (self->api);
  self->phase = PHASE_IDLE;
}

/* ---- properties ---- */

gboolean
dx_udp_transport_get_repair (DxUdpTransport *self)
{
  return self->repair;
}

void
dx_udp_transport_set_repair (DxUdpTransport *self, gboolean repair)
{
  repair = !!repair;
  if (self->repair == repair)
    return;
  self->repair = repair;
  /* Switched on with holes already open: fill them now. */
  start_repair (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_REPAIR]);
}

guint
dx_udp_transport_get_loss_percent (DxUdpTransport *self)
{
  return self->loss_percent;
}

void
dx_udp_transport_set_loss_percent (DxUdpTransport *self, guint percent)
{
  percent = MIN (percent, 100);
  if (self->loss_percent == percent)
    return;
  self->loss_percent = percent;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LOSS_PERCENT]);
}

static void
dx_udp_transport_constructed (GObject *object)
{
  DxUdpTransport *self = DX_UDP_TRANSPORT (object);
  DxBaseTransport *base = DX_BASE_TRANSPORT (object);

  G_OBJECT_CLASS (dx_udp_transport_parent_class)->constructed (object);
  self->repairer = dx_udp_repair_new (dx_base_transport_get_server_url (base), stats_of (self),
                                      repair_message, repair_done, self);
}

static void
dx_udp_transport_dispose (GObject *object)
{
  DxUdpTransport *self = DX_UDP_TRANSPORT (object);

  /* The base stops a running transport; stop needs the repairer. */
  G_OBJECT_CLASS (dx_udp_transport_parent_class)->dispose (object);
  if (self->repairer != NULL)
    dx_udp_repair_cancel (self->repairer);
  g_clear_object (&self->repairer);
  g_clear_object (&self->api);
  g_clear_object (&self->impairment);
}

static void
dx_udp_transport_finalize (GObject *object)
{
  DxUdpTransport *self = DX_UDP_TRANSPORT (object);

  g_free (self->token);
  g_free (self->tracked_room);
  g_hash_table_unref (self->sends);
  dx_seq_tracker_free (self->tracker);
  G_OBJECT_CLASS (dx_udp_transport_parent_class)->finalize (object);
}

static void
dx_udp_transport_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DxUdpTransport *self = DX_UDP_TRANSPORT (object);

  switch (prop_id) {
  case PROP_REPAIR: g_value_set_boolean (value, self->repair); break;
  case PROP_LOSS_PERCENT: g_value_set_uint (value, self->loss_percent); break;
  case PROP_IMPAIRMENT: g_value_set_object (value, self->impairment); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_udp_transport_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  DxUdpTransport *self = DX_UDP_TRANSPORT (object);

  switch (prop_id) {
  case PROP_REPAIR: dx_udp_transport_set_repair (self, g_value_get_boolean (value)); break;
  case PROP_LOSS_PERCENT: dx_udp_transport_set_loss_percent (self, g_value_get_uint (value)); break;
  case PROP_IMPAIRMENT: g_set_object (&self->impairment, g_value_get_object (value)); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_udp_transport_class_init (DxUdpTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  DxBaseTransportClass *base_class = DX_BASE_TRANSPORT_CLASS (klass);

  object_class->constructed = dx_udp_transport_constructed;
  object_class->dispose = dx_udp_transport_dispose;
  object_class->finalize = dx_udp_transport_finalize;
  object_class->get_property = dx_udp_transport_get_property;
  object_class->set_property = dx_udp_transport_set_property;
  base_class->mode = DX_MODE_UDP;
  base_class->start = dx_udp_transport_start;
  base_class->stop = dx_udp_transport_stop;
  base_class->post = dx_udp_transport_post;

  /* Fill gaps over HTTP. Off by default: first see what UDP does. */
  props[PROP_REPAIR] =
      g_param_spec_boolean ("repair", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Percent of incoming datagrams dropped on arrival (simulated loss). */
  props[PROP_LOSS_PERCENT] =
      g_param_spec_uint ("loss-percent", NULL, NULL, 0, 100, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The chat's simulated network (dx-impairment.h): its UDP loss applies. */
  props[PROP_IMPAIRMENT] = g_param_spec_object ("impairment", NULL, NULL, DX_TYPE_IMPAIRMENT,
                                                G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
dx_udp_transport_init (DxUdpTransport *self)
{
  self->api =
      soup_session_new_with_options ("user-agent", "duplex/" DX_VERSION, "timeout", 10, NULL);
  dx_tls_trust_watch_session (dx_tls_trust_get_default (), self->api);
  self->sends = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, send_job_free);
  self->tracker = dx_seq_tracker_new (0);
}
