/* DxChat: one conversation with the server — the room, the current
 * transport and the switch between transports, the message store, one
 * DxStats per mode, the clock offset, initial and older history. The
 * window and every compare pane each own one. */
#pragma once

#include "dx-impairment.h"
#include "dx-message-store.h"
#include "dx-transport.h"
#include "dx-wire-log.h"

G_BEGIN_DECLS

#define DX_TYPE_CHAT (dx_chat_get_type ())
G_DECLARE_FINAL_TYPE (DxChat, dx_chat, DX, CHAT, GObject)

DxChat *dx_chat_new (const char *server_url, const char *nick);

/* Load the latest history of `room`, then carry it over `mode`. */
void dx_chat_start (DxChat *self, const char *room, DxMode mode);
void dx_chat_stop (DxChat *self);
/* Switch transport live: the new one resumes after the last id seen. */
void dx_chat_set_mode (DxChat *self, DxMode mode);
void dx_chat_set_room (DxChat *self, const char *room);
/* Send text (shown pending until acked). FALSE if not valid to send. */
gboolean dx_chat_send (DxChat *self, const char *text);
/* Fetch up to 50 messages before the oldest held (GET ?before=). */
void dx_chat_load_older (DxChat *self);

DxMessageStore *dx_chat_get_store (DxChat *self);
DxTransport *dx_chat_get_transport (DxChat *self);
DxStats *dx_chat_get_stats (DxChat *self, DxMode mode);
/* What the chat's transports put on the wire, for the inspector. */
DxWireLog *dx_chat_get_wire_log (DxChat *self);
DxMode dx_chat_get_mode (DxChat *self);
const char *dx_chat_get_room (DxChat *self);
const char *dx_chat_get_nick (DxChat *self);
const char *dx_chat_get_server_url (DxChat *self);
/* The server's store epoch as last learned (NULL if not yet known). */
const char *dx_chat_get_epoch (DxChat *self);
/* The resume point: the last id shown or delivered in the room. */
guint64 dx_chat_get_last_id (DxChat *self);
double dx_chat_get_clock_offset (DxChat *self);

/* Tunables, applied live to the transport they concern. */
void dx_chat_set_poll_interval (DxChat *self, guint ms);
void dx_chat_set_longpoll_wait (DxChat *self, guint s);
void dx_chat_set_keep_alive (DxChat *self, gboolean keep_alive);
/* UDP mode: fill gaps over HTTP; drop `percent` of incoming datagrams. */
void dx_chat_set_udp_repair (DxChat *self, gboolean repair);
gboolean dx_chat_get_udp_repair (DxChat *self);
void dx_chat_set_udp_loss (DxChat *self, guint percent);
guint dx_chat_get_udp_loss (DxChat *self);

/* The server's password (docs/protocol.md §4, §5), kept in memory for
 * this session only; setting it after ::password-required tries again. */
void dx_chat_set_password (DxChat *self, const char *password);
const char *dx_chat_get_password (DxChat *self);
/* TRUE while the transport waits for a (new) password. */
gboolean dx_chat_get_password_needed (DxChat *self);

/* Route the transports through `impairment`'s relays while it is enabled;
 * turning it on or off reconnects the transport, resuming from the last
 * id like a switch of mode. NULL: always straight to the server. */
void dx_chat_set_impairment (DxChat *self, DxImpairment *impairment);
DxImpairment *dx_chat_get_impairment (DxChat *self);

/* Fetch GET /api/v1/rooms; the callback gets (name, last_id, online)
 * triples as a GPtrArray of GVariant "(stt)", or NULL on failure. */
void dx_chat_list_rooms (DxChat *self, GCancellable *cancellable, GAsyncReadyCallback cb,
                         gpointer user_data);
GPtrArray *dx_chat_list_rooms_finish (DxChat *self, GAsyncResult *result, GError **error);

/* Text is a mention of `nick`: the nick as a whole word, with or without @. */
gboolean dx_text_mentions (const char *text, const char *nick);

G_END_DECLS
