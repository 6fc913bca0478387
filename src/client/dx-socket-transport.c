#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-socket-transport.h"

/* A ping every 10 s keeps the clock offset fresh and notices a dead peer
 * (no pong for two rounds) that TCP alone would notice only much later. */
#define DX_PING_INTERVAL_S 10

typedef struct {
  guint ping_timer;
  guint unanswered_pings;
  gboolean joined;
} DxSocketTransportPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (DxSocketTransport, dx_socket_transport, DX_TYPE_BASE_TRANSPORT)

#define PRIV(self) ((DxSocketTransportPrivate *) dx_socket_transport_get_instance_private (self))

static void
write_buffer (DxSocketTransport *self, dx_buffer *b, gboolean ok)
{
  if (ok)
    DX_SOCKET_TRANSPORT_GET_CLASS (self)->write_object (self, b->data, b->len);
  dx_buffer_free (b);
}

static gboolean
ping_cb (gpointer data)
{
  DxSocketTransport *self = data;
  dx_buffer b;
  char t[32];

  if (PRIV (self)->unanswered_pings >= 2) {
    PRIV (self)->ping_timer = 0;
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("The server stopped answering"));
    return G_SOURCE_REMOVE;
  }
  PRIV (self)->unanswered_pings++;
  g_snprintf (t, sizeof t, "%" G_GINT64_FORMAT, dx_now_ms ());
  dx_buffer_init (&b, 1024);
  write_buffer (self, &b, dx_encode_ping (&b, t, strlen (t)));
  return G_SOURCE_CONTINUE;
}

void
dx_socket_transport_opened (DxSocketTransport *self)
{
  dx_buffer b;

  PRIV (self)->joined = FALSE;
  PRIV (self)->unanswered_pings = 0;
  dx_buffer_init (&b, 1024);
  write_buffer (self, &b,
                dx_encode_hello (&b, dx_base_transport_get_nick (DX_BASE_TRANSPORT (self)), NULL,
                                 dx_base_transport_get_password (DX_BASE_TRANSPORT (self))));
}

static void
send_join (DxSocketTransport *self)
{
  DxBaseTransport *base = DX_BASE_TRANSPORT (self);
  dx_buffer b;

  dx_buffer_init (&b, 1024);
  /* Always with since: 0 replays the room (the caller decides the resume
   * point, usually the newest id it already holds). */
  write_buffer (self, &b,
                dx_encode_join (&b, dx_base_transport_get_room (base), true,
                                dx_base_transport_get_since (base)));
}

static void
handle (DxSocketTransport *self, const dx_msg *m)
{
  DxBaseTransport *base = DX_BASE_TRANSPORT (self);

  switch (m->type) {
  case DX_MSG_WELCOME: send_join (self); break;
  case DX_MSG_JOINED:
    if (g_strcmp0 (m->room, dx_base_transport_get_room (base)) != 0)
      break;
    if (!dx_base_transport_check_epoch (base, m->epoch)) {
      /* Replayed messages would be relative to the old since: start over. */
      dx_base_transport_restart (base);
      break;
    }
    PRIV (self)->joined = TRUE;
    if (PRIV (self)->ping_timer == 0)
      PRIV (self)->ping_timer = g_timeout_add_seconds (DX_PING_INTERVAL_S, ping_cb, self);
    dx_base_transport_connected (base);
    break;
  case DX_MSG_MESSAGE: dx_base_transport_deliver (base, m); break;
  case DX_MSG_ACK:
    dx_base_transport_acked (base, m->has_cid ? m->cid : NULL, m->id, (gint64) m->ts);
    break;
  case DX_MSG_PONG: PRIV (self)->unanswered_pings = 0; break;
  case DX_MSG_ERROR: {
    if (g_str_equal (m->code, "rate_limited") && m->has_retry_after) {
      dx_base_transport_rate_limited (base, m->has_cid ? m->cid : NULL, m->retry_after);
      break;
    }
    if (g_str_equal (m->code, "unauthorized") && !PRIV (self)->joined) {
      /* Our hello has a nick, never a token: before the join only the
       * password can be refused (docs/protocol.md §5.2); the server closes. */
      dx_base_transport_password_refused (base, TRUE);
      break;
    }
    g_autofree char *why = g_strdup_printf (_ ("Server error %s: %s"), m->code, m->text);
    if (!PRIV (self)->joined)
      dx_base_transport_failed (base, why); /* hello or join refused */
    else
      dx_base_transport_report_error (base, why);
    break;
  }
  default: break; /* presence, left: nothing to do */
  }
}

void
dx_socket_transport_received (DxSocketTransport *self, const char *json, gsize len)
{
  dx_msg m;
  dx_msg_error err;

  if (!dx_msg_decode (json, len, DX_MSG_FROM_SERVER, &m, &err)) {
    /* Clients must ignore what they do not know; a broken object is
     * reported, not fatal. */
    g_autofree char *why = g_strdup_printf (_ ("Bad object from the server: %s"), err.message);
    dx_base_transport_report_error (DX_BASE_TRANSPORT (self), why);
    return;
  }
  handle (self, &m);
}

static void
dx_socket_transport_post (DxBaseTransport *base, const char *text, const char *cid)
{
  DxSocketTransport *self = DX_SOCKET_TRANSPORT (base);
  dx_buffer b;

  dx_buffer_init (&b, 64 * 1024);
  if (!dx_encode_send (&b, dx_base_transport_get_room (base), text, strlen (text), cid)) {
    dx_buffer_free (&b);
    dx_base_transport_rejected (base, cid, _ ("The message is empty, too long or not valid text"));
    return;
  }
  write_buffer (self, &b, TRUE);
}

static void
dx_socket_transport_stop (DxBaseTransport *base)
{
  DxSocketTransport *self = DX_SOCKET_TRANSPORT (base);

  g_clear_handle_id (&PRIV (self)->ping_timer, g_source_remove);
  PRIV (self)->joined = FALSE;
  DX_SOCKET_TRANSPORT_GET_CLASS (self)->close_pipe (self);
}

static void
dx_socket_transport_class_init (DxSocketTransportClass *klass)
{
  DxBaseTransportClass *base_class = DX_BASE_TRANSPORT_CLASS (klass);

  base_class->post = dx_socket_transport_post;
  base_class->stop = dx_socket_transport_stop;
}

static void
dx_socket_transport_init (DxSocketTransport *self)
{
}
