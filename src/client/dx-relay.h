/* DxRelay: a TCP relay on 127.0.0.1 between the client and the server,
 * driven by the GLib main loop, that impairs what it carries: added
 * one-way delay and jitter per direction (delivery stays in order: jitter
 * must not reorder a byte stream), a bandwidth cap, a buffering-proxy
 * mode (the server's bytes are held until `buffer-bytes` of them, the end
 * of an HTTP response, or the end of the connection) and an idle cut
 * (a connection silent for `idle-cut-s` seconds is dropped, as many
 * corporate proxies do). DxImpairment owns one per server port. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DX_TYPE_RELAY (dx_relay_get_type ())
G_DECLARE_FINAL_TYPE (DxRelay, dx_relay, DX, RELAY, GObject)

typedef enum {
  DX_RELAY_RAW,  /* any byte stream (the raw TCP port) */
  DX_RELAY_HTTP, /* HTTP/1.1: buffering also ends at each response's end */
} DxRelayKind;

/* The impairment's numbers, held alike by DxRelay and DxImpairment under
 * the same property names. */
typedef struct {
  guint delay_ms[2]; /* [0] up, [1] down */
  guint jitter_ms[2];
  guint bandwidth_kbps; /* per direction; 0 = unlimited */
  guint buffer_bytes;
  guint idle_cut_s; /* 0 = never */
} DxRelaySettings;

/* The field of s that the property `name` ("delay-up-ms", …) sets, or
 * NULL if it is none of them. */
guint *dx_relay_settings_field (DxRelaySettings *s, const char *name);

/* Listen on 127.0.0.1, any free port. */
DxRelay *dx_relay_new (DxRelayKind kind, GError **error);
guint16 dx_relay_get_port (DxRelay *self);
/* Where accepted connections go. Connections accepted before it is known
 * wait for it. */
void dx_relay_set_upstream (DxRelay *self, const char *host, guint16 port);
/* Drop every relayed connection at once. */
void dx_relay_close_all (DxRelay *self);
guint dx_relay_get_n_connections (DxRelay *self);
/* Connections dropped by the idle cut so far. */
guint64 dx_relay_get_idle_cuts (DxRelay *self);

G_END_DECLS
