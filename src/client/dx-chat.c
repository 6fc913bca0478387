#include "dx-config.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>

#include "protocol/message.h"

#include "dx-base-transport.h"
#include "dx-chat.h"
#include "dx-impairment.h"
#include "dx-room-list.h"
#include "dx-server-clock.h"
#include "dx-transport-factory.h"
#include "dx-tls-trust.h"

#define DX_HISTORY_PAGE 50

/* The chat's tunables and the transport property each one drives, bound
 * whenever the current transport has that property: the chat names no
 * transport class. (Long polling inherits short polling's "interval" and
 * ignores it: the server does its waiting.) */
static const struct {
  const char *chat;
  const char *transport;
} tunables[] = {
  { "poll-interval", "interval" }, { "longpoll-wait", "wait" },    { "keep-alive", "keep-alive" },
  { "udp-repair", "repair" },      { "udp-loss", "loss-percent" }, { "password", "password" },
};

struct _DxChat {
  GObject parent_instance;
  char *server_url;
  char *nick;
  char *room;
  char *epoch; /* of the server's store, as last learned; NULL if unknown */
  DxMode mode;
  DxTransport *transport;
  DxMessageStore *store;
  DxStats *stats[DX_N_MODES];
  DxWireLog *wire_log;                         /* what the transports put on the wire (inspector) */
  GBinding *bindings[G_N_ELEMENTS (tunables)]; /* to the current transport */
  SoupSession *api;         /* history, rooms and clock: app traffic, not a transport's */
  DxImpairment *impairment; /* NULL, or the simulated network the transports may go through */
  GCancellable *cancellable;
  DxServerClock *clock;
  guint poll_interval_ms;
  guint longpoll_wait_s;
  gboolean keep_alive;
  gboolean udp_repair;
  guint udp_loss;
  char *password;           /* for this session only: never written anywhere */
  gboolean password_needed; /* the transport waits for a (new) password */
  gboolean loading_older;
  gboolean no_older; /* the oldest message of the room is held */
  guint64 cid_counter;
};

G_DEFINE_FINAL_TYPE (DxChat, dx_chat, G_TYPE_OBJECT)

enum {
  SIG_SWITCHED,
  SIG_STATE,
  SIG_SAMPLE,
  SIG_MENTION,
  SIG_ERROR,
  SIG_MESSAGE,
  SIG_DELIVERED,
  SIG_PASSWORD_REQUIRED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_ROOM,
  PROP_EPOCH,
  PROP_POLL_INTERVAL,
  PROP_LONGPOLL_WAIT,
  PROP_KEEP_ALIVE,
  PROP_UDP_REPAIR,
  PROP_UDP_LOSS,
  PROP_PASSWORD,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

static char *
url_for (DxChat *self, const char *path)
{
  return g_strconcat (self->server_url, path, NULL);
}

static void
set_epoch (DxChat *self, const char *epoch)
{
  if (epoch == NULL || epoch[0] == '\0' || g_strcmp0 (epoch, self->epoch) == 0)
    return;
  g_free (self->epoch);
  self->epoch = g_strdup (epoch);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_EPOCH]);
}

/* ---- transport signals ---- */

static void
on_message (DxTransport *t, DxMessage *msg, DxChat *self)
{
  if (g_strcmp0 (dx_message_get_from (msg), self->nick) == 0)
    dx_message_set_own (msg, TRUE);
  g_signal_emit (self, signals[SIG_DELIVERED], 0, msg);
  if (!dx_message_store_add (self->store, msg))
    return;
  g_signal_emit (self, signals[SIG_MESSAGE], 0, msg);
  if (!dx_message_get_own (msg) && dx_text_mentions (dx_message_get_text (msg), self->nick))
    g_signal_emit (self, signals[SIG_MENTION], 0, msg);
}

static void
on_ack (DxTransport *t, const char *cid, guint64 id, gint64 ts, DxChat *self)
{
  dx_message_store_ack (self->store, cid, id, ts);
}

static void
on_state (DxTransport *t, DxChat *self)
{
  g_signal_emit (self, signals[SIG_STATE], 0);
}

static void
on_error (DxTransport *t, const char *text, DxChat *self)
{
  g_signal_emit (self, signals[SIG_ERROR], 0, text);
}

static void
on_password_required (DxTransport *t, gboolean refused, DxChat *self)
{
  self->password_needed = TRUE;
  g_signal_emit (self, signals[SIG_ERROR], 0,
                 refused ? _ ("Wrong password: the server refused it")
                         : _ ("This server needs a password"));
  g_signal_emit (self, signals[SIG_PASSWORD_REQUIRED], 0, refused);
  g_signal_emit (self, signals[SIG_STATE], 0);
}

static void
on_gap (DxTransport *t, guint64 first, guint64 last, DxChat *self)
{
  g_autoptr (DxMessage) notice = dx_message_new_gap (self->room, first, last);

  /* Shown where the ids would be; late or repaired ones land after it. */
  dx_message_store_add_notice (self->store, notice);
}

static void
on_epoch (DxTransport *t, const char *epoch, DxChat *self)
{
  g_autoptr (DxMessage) notice =
      dx_message_new_notice (self->room, _ ("The server's history was reset; showing it anew."));

  /* Ids restart in a new store: old ids would hide new messages. */
  set_epoch (self, epoch);
  dx_message_store_clear (self->store);
  dx_message_store_add_notice (self->store, notice);
  self->no_older = FALSE;
}

static void
on_latency (DxStats *stats, double ms, DxChat *self)
{
  for (int m = 0; m < DX_N_MODES; m++)
    if (self->stats[m] == stats)
      g_signal_emit (self, signals[SIG_SAMPLE], 0, m, ms);
}

static void
apply_clock_offset (DxChat *self)
{
  if (self->transport != NULL && dx_server_clock_is_trusted (self->clock))
    dx_base_transport_set_clock_offset (DX_BASE_TRANSPORT (self->transport),
                                        dx_server_clock_get_offset (self->clock));
}

static void
on_clock_offset (DxServerClock *clock, GParamSpec *pspec, DxChat *self)
{
  apply_clock_offset (self);
}

static void
bind_tunables (DxChat *self)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (self->transport);

  for (guint i = 0; i < G_N_ELEMENTS (tunables); i++)
    if (g_object_class_find_property (klass, tunables[i].transport) != NULL)
      self->bindings[i] = g_object_bind_property (self, tunables[i].chat, self->transport,
                                                  tunables[i].transport, G_BINDING_SYNC_CREATE);
}

static void
drop_transport (DxChat *self)
{
  if (self->transport == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (tunables); i++)
    if (self->bindings[i] != NULL) {
      g_binding_unbind (self->bindings[i]);
      self->bindings[i] = NULL;
    }
  set_epoch (self, dx_transport_get_epoch (self->transport));
  g_signal_handlers_disconnect_by_data (self->transport, self);
  dx_transport_disconnect (self->transport);
  g_clear_object (&self->transport);
}

/* ---- the route: straight to the server, or through the impairment ---- */

static const char *
transport_url (DxChat *self)
{
  const char *relayed = self->impairment != NULL ? dx_impairment_get_url (self->impairment) : NULL;

  /* History, rooms and the clock stay direct: the clock offset must not
   * absorb the added delay the latency figures are there to show. */
  return relayed != NULL ? relayed : self->server_url;
}

/* Whatever else a transport needs of the route, by property name (the
 * chat names no transport class): the raw TCP address standing in for
 * the server's TCP port, and the impairment itself (UDP's simulated loss). */
static void
route_transport (DxChat *self)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (self->transport);
  const char *tcp =
      self->impairment != NULL ? dx_impairment_get_tcp_address (self->impairment) : NULL;

  if (tcp != NULL && g_object_class_find_property (klass, "tcp-address") != NULL)
    g_object_set (self->transport, "tcp-address", tcp, NULL);
  if (self->impairment != NULL && g_object_class_find_property (klass, "impairment") != NULL)
    g_object_set (self->transport, "impairment", self->impairment, NULL);
}

static void
open_transport (DxChat *self, guint64 since, const char *epoch)
{
  g_autoptr (GPtrArray) pending = NULL;

  self->transport =
      dx_transport_new (self->mode, transport_url (self), self->nick, self->stats[self->mode]);
  route_transport (self);
  dx_base_transport_set_wire_log (DX_BASE_TRANSPORT (self->transport), self->wire_log);
  g_signal_connect (self->transport, "message", G_CALLBACK (on_message), self);
  g_signal_connect (self->transport, "ack", G_CALLBACK (on_ack), self);
  g_signal_connect (self->transport, "state-changed", G_CALLBACK (on_state), self);
  g_signal_connect (self->transport, "error", G_CALLBACK (on_error), self);
  g_signal_connect (self->transport, "epoch-changed", G_CALLBACK (on_epoch), self);
  g_signal_connect (self->transport, "gap", G_CALLBACK (on_gap), self);
  g_signal_connect (self->transport, "password-required", G_CALLBACK (on_password_required), self);
  self->password_needed = FALSE;
  bind_tunables (self);
  apply_clock_offset (self);
  dx_transport_connect (self->transport, self->room, since, epoch);
  /* Sends the previous transport had not got acked go again with the same
   * cid: the server stores a repeated cid once. */
  pending = dx_message_store_get_pending (self->store);
  for (guint i = 0; i < pending->len; i++)
    dx_transport_send (self->transport, dx_message_get_text (pending->pdata[i]),
                       dx_message_get_cid (pending->pdata[i]));
  g_signal_emit (self, signals[SIG_STATE], 0);
}

/* ---- history ---- */

static bool
collect_message (const dx_msg *m, void *user)
{
  g_ptr_array_add (user, dx_message_new (m->room, m->id, m->from, m->text, (gint64) m->ts,
                                         m->has_cid ? m->cid : NULL));
  return true;
}

typedef struct {
  DxChat *self;
  gboolean initial; /* the first page: the transport starts after it */
  char *room;
} HistoryJob;

static void
history_done (GObject *source, GAsyncResult *result, gpointer data)
{
  HistoryJob *job = data;
  DxChat *self = job->self;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g_autoptr (GPtrArray) older = g_ptr_array_new_with_free_func (g_object_unref);
  char epoch[DX_EPOCH_MAX + 1] = "";
  guint64 last_id = 0;
  gsize len = 0;
  const char *json = body != NULL ? g_bytes_get_data (body, &len) : NULL;
  gboolean ok;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_strcmp0 (job->room, self->room) != 0)
    goto out;
  ok = error == NULL && soup_message_get_status (msg) == SOUP_STATUS_OK && json != NULL
       && dx_decode_poll_answer (json, len, collect_message, older, &last_id, epoch, NULL);
  if (ok) {
    for (guint i = 0; i < older->len; i++)
      if (g_strcmp0 (dx_message_get_from (older->pdata[i]), self->nick) == 0)
        dx_message_set_own (older->pdata[i], TRUE);
    dx_message_store_prepend (self->store, older);
    set_epoch (self, epoch);
    if (older->len < DX_HISTORY_PAGE)
      self->no_older = TRUE;
  }
  if (job->initial && self->transport == NULL) {
    /* Without history (server down) the transport still starts: it
     * retries with backoff and replays from 0. */
    guint64 since = dx_message_store_get_last_id (self->store);
    open_transport (self, since, ok ? epoch : NULL);
  }
  self->loading_older = FALSE;
out:
  g_object_unref (job->self);
  g_free (job->room);
  g_free (job);
}

static void
fetch_history (DxChat *self, guint64 before, gboolean initial)
{
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  HistoryJob *job;

  if (before == 0)
    /* The newest page: before a number larger than any id. */
    path = g_strdup_printf ("/api/v1/rooms/%s/messages?before=%" G_GUINT64_FORMAT "&limit=%d",
                            self->room, G_MAXUINT64, DX_HISTORY_PAGE);
  else
    path = g_strdup_printf ("/api/v1/rooms/%s/messages?before=%" G_GUINT64_FORMAT "&limit=%d",
                            self->room, before, DX_HISTORY_PAGE);
  url = url_for (self, path);
  msg = soup_message_new ("GET", url);
  job = g_new0 (HistoryJob, 1);
  job->self = g_object_ref (self);
  job->initial = initial;
  job->room = g_strdup (self->room);
  if (msg == NULL) {
    g_signal_emit (self, signals[SIG_ERROR], 0, _ ("Invalid server address"));
    g_object_unref (job->self);
    g_free (job->room);
    g_free (job);
    return;
  }
  self->loading_older = TRUE;
  soup_session_send_and_read_async (self->api, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    history_done, job);
}

void
dx_chat_load_older (DxChat *self)
{
  guint64 first = dx_message_store_get_first_id (self->store);

  if (self->loading_older || self->no_older || first <= 1 || self->room == NULL)
    return;
  fetch_history (self, first, FALSE);
}

/* ---- public ---- */

void
dx_chat_start (DxChat *self, const char *room, DxMode mode)
{
  g_return_if_fail (room != NULL && dx_room_valid (room, strlen (room)));
  dx_chat_stop (self);
  g_free (self->room);
  self->room = g_strdup (room);
  self->mode = mode;
  self->no_older = FALSE;
  /* Even for the same room: history is loaded anew and ids resume from it. */
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ROOM]);
  self->cancellable = g_cancellable_new ();
  dx_message_store_clear (self->store);
  dx_server_clock_start (self->clock);
  fetch_history (self, 0, TRUE);
  g_signal_emit (self, signals[SIG_STATE], 0);
}

void
dx_chat_stop (DxChat *self)
{
  drop_transport (self);
  if (self->clock != NULL)
    dx_server_clock_stop (self->clock);
  if (self->cancellable != NULL) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
  self->loading_older = FALSE;
}

void
dx_chat_set_mode (DxChat *self, DxMode mode)
{
  guint64 since;
  g_autofree char *epoch = NULL;

  g_return_if_fail (mode < DX_N_MODES);
  if (mode == self->mode && self->transport != NULL)
    return;
  self->mode = mode;
  if (self->transport == NULL) {
    g_signal_emit (self, signals[SIG_SWITCHED], 0, mode);
    return; /* still loading history: it will open the right one */
  }
  /* Resume exactly after what was shown: the old transport's last id;
   * or, if UDP left holes, below the first one, so the new transport fills
   * them (the store drops what it already holds). */
  since = dx_chat_get_last_id (self);
  if (dx_message_store_get_first_missing (self->store) > 0)
    since = MIN (since, dx_message_store_get_first_missing (self->store) - 1);
  epoch = g_strdup (dx_transport_get_epoch (self->transport));
  drop_transport (self);
  open_transport (self, since, epoch);
  g_signal_emit (self, signals[SIG_SWITCHED], 0, mode);
}

/* The same mode again on the new route: it resumes after the last id. */
static void
on_impairment_enabled (DxImpairment *impairment, GParamSpec *pspec, DxChat *self)
{
  guint64 since;
  g_autofree char *epoch = NULL;

  if (self->transport == NULL)
    return; /* still loading history: it opens on the current route */
  since = dx_chat_get_last_id (self);
  epoch = g_strdup (dx_transport_get_epoch (self->transport));
  drop_transport (self);
  open_transport (self, since, epoch);
}

void
dx_chat_set_impairment (DxChat *self, DxImpairment *impairment)
{
  if (self->impairment != NULL)
    g_signal_handlers_disconnect_by_data (self->impairment, self);
  g_set_object (&self->impairment, impairment);
  if (impairment != NULL)
    g_signal_connect (impairment, "notify::enabled", G_CALLBACK (on_impairment_enabled), self);
}

DxImpairment *
dx_chat_get_impairment (DxChat *self)
{
  return self->impairment;
}

void
dx_chat_set_room (DxChat *self, const char *room)
{
  if (room == NULL || !dx_room_valid (room, strlen (room)) || g_strcmp0 (room, self->room) == 0)
    return;
  dx_chat_start (self, room, self->mode);
}

gboolean
dx_chat_send (DxChat *self, const char *text)
{
  g_autoptr (DxMessage) msg = NULL;
  char cid[DX_CID_MAX + 1];

  if (text == NULL || !dx_text_valid (text, strlen (text)) || self->room == NULL)
    return FALSE;
  /* Unique per process and time, so retries after a restart of the
   * client do not collide with old cids. */
  g_snprintf (cid, sizeof cid, "dx-%" G_GINT64_FORMAT "-%" G_GUINT64_FORMAT, dx_now_ms (),
              ++self->cid_counter);
  msg = dx_message_new (self->room, 0, self->nick, text, dx_now_ms (), cid);
  dx_message_store_add_pending (self->store, msg);
  if (self->transport != NULL)
    dx_transport_send (self->transport, text, cid);
  return TRUE;
}

DxMessageStore *
dx_chat_get_store (DxChat *self)
{
  return self->store;
}

DxTransport *
dx_chat_get_transport (DxChat *self)
{
  return self->transport;
}

DxWireLog *
dx_chat_get_wire_log (DxChat *self)
{
  return self->wire_log;
}

DxStats *
dx_chat_get_stats (DxChat *self, DxMode mode)
{
  g_return_val_if_fail (mode < DX_N_MODES, NULL);
  return self->stats[mode];
}

DxMode
dx_chat_get_mode (DxChat *self)
{
  return self->mode;
}

const char *
dx_chat_get_room (DxChat *self)
{
  return self->room;
}

const char *
dx_chat_get_nick (DxChat *self)
{
  return self->nick;
}

const char *
dx_chat_get_server_url (DxChat *self)
{
  return self->server_url;
}

const char *
dx_chat_get_epoch (DxChat *self)
{
  const char *current = self->transport != NULL ? dx_transport_get_epoch (self->transport) : NULL;

  return current != NULL ? current : self->epoch;
}

guint64
dx_chat_get_last_id (DxChat *self)
{
  guint64 shown = dx_message_store_get_last_id (self->store);

  if (self->transport == NULL)
    return shown;
  return MAX (shown, dx_transport_get_last_id (self->transport));
}

double
dx_chat_get_clock_offset (DxChat *self)
{
  return dx_server_clock_get_offset (self->clock);
}

/* The setters notify; the bindings carry the value to the transport. */
void
dx_chat_set_poll_interval (DxChat *self, guint ms)
{
  ms = CLAMP (ms, 100, 60000);
  if (ms == self->poll_interval_ms)
    return;
  self->poll_interval_ms = ms;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_POLL_INTERVAL]);
}

void
dx_chat_set_longpoll_wait (DxChat *self, guint s)
{
  s = CLAMP (s, 1, 60);
  if (s == self->longpoll_wait_s)
    return;
  self->longpoll_wait_s = s;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LONGPOLL_WAIT]);
}

void
dx_chat_set_keep_alive (DxChat *self, gboolean keep_alive)
{
  keep_alive = !!keep_alive;
  if (keep_alive == self->keep_alive)
    return;
  self->keep_alive = keep_alive;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_KEEP_ALIVE]);
}

void
dx_chat_set_udp_repair (DxChat *self, gboolean repair)
{
  repair = !!repair;
  if (repair == self->udp_repair)
    return;
  self->udp_repair = repair;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_UDP_REPAIR]);
}

gboolean
dx_chat_get_udp_repair (DxChat *self)
{
  return self->udp_repair;
}

void
dx_chat_set_udp_loss (DxChat *self, guint percent)
{
  percent = MIN (percent, 100);
  if (percent == self->udp_loss)
    return;
  self->udp_loss = percent;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_UDP_LOSS]);
}

guint
dx_chat_get_udp_loss (DxChat *self)
{
  return self->udp_loss;
}

/* The binding carries it to the transport, which tries again at once if
 * it was waiting for one. */
void
dx_chat_set_password (DxChat *self, const char *password)
{
  if (g_strcmp0 (password, self->password) == 0 && !self->password_needed)
    return;
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  self->password = g_strdup (password);
  self->password_needed = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PASSWORD]);
  g_signal_emit (self, signals[SIG_STATE], 0);
}

const char *
dx_chat_get_password (DxChat *self)
{
  return self->password;
}

gboolean
dx_chat_get_password_needed (DxChat *self)
{
  return self->password_needed;
}

/* ---- rooms ---- */

void
dx_chat_list_rooms (DxChat *self, GCancellable *cancellable, GAsyncReadyCallback cb,
                    gpointer user_data)
{
  dx_room_list_fetch (G_OBJECT (self), self->api, self->server_url, cancellable, cb, user_data);
}

GPtrArray *
dx_chat_list_rooms_finish (DxChat *self, GAsyncResult *result, GError **error)
{
  return dx_room_list_fetch_finish (result, error);
}

gboolean
dx_text_mentions (const char *text, const char *nick)
{
  size_t n = strlen (nick);

  if (n == 0)
    return FALSE;
  for (const char *p = strstr (text, nick); p != NULL; p = strstr (p + 1, nick)) {
    gboolean start_ok = p == text || !(g_ascii_isalnum (p[-1]) || p[-1] == '_');
    gboolean end_ok = !(g_ascii_isalnum (p[n]) || p[n] == '_' || p[n] == '-');
    if (start_ok && end_ok)
      return TRUE;
  }
  return FALSE;
}

/* ---- GObject ---- */

static void
dx_chat_dispose (GObject *object)
{
  DxChat *self = DX_CHAT (object);

  dx_chat_stop (self);
  for (int m = 0; m < DX_N_MODES; m++)
    if (self->stats[m] != NULL) {
      g_signal_handlers_disconnect_by_data (self->stats[m], self);
      g_clear_object (&self->stats[m]);
    }
  if (self->impairment != NULL) {
    g_signal_handlers_disconnect_by_data (self->impairment, self);
    g_clear_object (&self->impairment);
  }
  g_clear_object (&self->wire_log);
  g_clear_object (&self->store);
  g_clear_object (&self->clock);
  g_clear_object (&self->api);
  G_OBJECT_CLASS (dx_chat_parent_class)->dispose (object);
}

static void
dx_chat_finalize (GObject *object)
{
  DxChat *self = DX_CHAT (object);

  g_free (self->server_url);
  g_free (self->nick);
  g_free (self->room);
  g_free (self->epoch);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  G_OBJECT_CLASS (dx_chat_parent_class)->finalize (object);
}

static void
dx_chat_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DxChat *self = DX_CHAT (object);

  switch (prop_id) {
  case PROP_ROOM: g_value_set_string (value, self->room); break;
  case PROP_EPOCH: g_value_set_string (value, dx_chat_get_epoch (self)); break;
  case PROP_POLL_INTERVAL: g_value_set_uint (value, self->poll_interval_ms); break;
  case PROP_LONGPOLL_WAIT: g_value_set_uint (value, self->longpoll_wait_s); break;
  case PROP_KEEP_ALIVE: g_value_set_boolean (value, self->keep_alive); break;
  case PROP_UDP_REPAIR: g_value_set_boolean (value, self->udp_repair); break;
  case PROP_UDP_LOSS: g_value_set_uint (value, self->udp_loss); break;
  case PROP_PASSWORD: g_value_set_string (value, self->password); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_chat_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DxChat *self = DX_CHAT (object);

  switch (prop_id) {
  case PROP_POLL_INTERVAL: dx_chat_set_poll_interval (self, g_value_get_uint (value)); break;
  case PROP_LONGPOLL_WAIT: dx_chat_set_longpoll_wait (self, g_value_get_uint (value)); break;
  case PROP_KEEP_ALIVE: dx_chat_set_keep_alive (self, g_value_get_boolean (value)); break;
  case PROP_UDP_REPAIR: dx_chat_set_udp_repair (self, g_value_get_boolean (value)); break;
  case PROP_UDP_LOSS: dx_chat_set_udp_loss (self, g_value_get_uint (value)); break;
  case PROP_PASSWORD: dx_chat_set_password (self, g_value_get_string (value)); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_chat_class_init (DxChatClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = dx_chat_dispose;
  object_class->finalize = dx_chat_finalize;
  object_class->get_property = dx_chat_get_property;
  object_class->set_property = dx_chat_set_property;

  /* Notified each time the chat (re)starts on a room, even the same one:
   * history is loaded anew and the transport resumes after it. */
  props[PROP_ROOM] =
      g_param_spec_string ("room", NULL, NULL, NULL,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The server's store epoch; a new one means ids started again. */
  props[PROP_EPOCH] =
      g_param_spec_string ("epoch", NULL, NULL, NULL,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Short polling's pause between requests, ms (the transports' ranges). */
  props[PROP_POLL_INTERVAL] =
      g_param_spec_uint ("poll-interval", NULL, NULL, 100, 60000, 2000,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* How long the server holds a long poll, s. */
  props[PROP_LONGPOLL_WAIT] =
      g_param_spec_uint ("longpoll-wait", NULL, NULL, 1, 60, 25,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* HTTP modes reuse connections. */
  props[PROP_KEEP_ALIVE] =
      g_param_spec_boolean ("keep-alive", NULL, NULL, TRUE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* UDP mode fills its gaps over HTTP (off: see what datagrams do). */
  props[PROP_UDP_REPAIR] =
      g_param_spec_boolean ("udp-repair", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* UDP mode drops this percent of incoming datagrams (simulated loss). */
  props[PROP_UDP_LOSS] =
      g_param_spec_uint ("udp-loss", NULL, NULL, 0, 100, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The server's password, sent by every transport (NULL: none). */
  props[PROP_PASSWORD] =
      g_param_spec_string ("password", NULL, NULL, NULL,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* The transport changed to mode (guint). */
  signals[SIG_SWITCHED] = g_signal_new ("switched", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  /* The current transport's connection state changed. */
  signals[SIG_STATE] = g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                     0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* A latency sample: mode (guint), milliseconds (double). */
  signals[SIG_SAMPLE] = g_signal_new ("sample", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                      NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_DOUBLE);
  /* Somebody else's message names our nick. */
  signals[SIG_MENTION] = g_signal_new ("mention", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 1, DX_TYPE_MESSAGE);
  signals[SIG_ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* The transport delivered a message, before the store drops duplicates:
   * what the statistics export counts. */
  signals[SIG_DELIVERED] = g_signal_new ("delivered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, DX_TYPE_MESSAGE);
  /* The server wants a password (gboolean: TRUE if the one sent was
   * wrong); dx_chat_set_password tries again. */
  signals[SIG_PASSWORD_REQUIRED] =
      g_signal_new ("password-required", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                    NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  /* A new message was added to the store (not a duplicate). */
  signals[SIG_MESSAGE] = g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 1, DX_TYPE_MESSAGE);
}

static void
dx_chat_init (DxChat *self)
{
  self->store = dx_message_store_new ();
  self->wire_log = dx_wire_log_new (0);
  for (int m = 0; m < DX_N_MODES; m++) {
    self->stats[m] = dx_stats_new ();
    g_signal_connect (self->stats[m], "latency", G_CALLBACK (on_latency), self);
  }
  self->api =
      soup_session_new_with_options ("user-agent", "duplex/" DX_VERSION, "timeout", 15, NULL);
  dx_tls_trust_watch_session (dx_tls_trust_get_default (), self->api);
  self->poll_interval_ms = 2000;
  self->longpoll_wait_s = 25;
  self->keep_alive = TRUE;
  self->mode = DX_MODE_WEBSOCKET;
}

DxChat *
dx_chat_new (const char *server_url, const char *nick)
{
  DxChat *self = g_object_new (DX_TYPE_CHAT, NULL);
  char *url = g_strdup (server_url);

  while (g_str_has_suffix (url, "/"))
    url[strlen (url) - 1] = '\0';
  self->server_url = url;
  self->nick = g_strdup (nick);
  self->clock = dx_server_clock_new (self->api, url);
  g_signal_connect (self->clock, "notify::offset", G_CALLBACK (on_clock_offset), self);
  return self;
}
