/* DxStats: what one transport mode has cost so far. Bytes include HTTP
 * headers and WebSocket/NDJSON framing, so modes can be compared honestly. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define DX_TYPE_STATS (dx_stats_get_type ())
G_DECLARE_FINAL_TYPE (DxStats, dx_stats, DX, STATS, GObject)

DxStats *dx_stats_new (void);

void dx_stats_add_request (DxStats *self);
void dx_stats_add_bytes (DxStats *self, guint64 up, guint64 down);
void dx_stats_add_connection (DxStats *self);
/* A TCP connection was opened (a GSocketConnection or GSocket): count it
 * now, and count it closed when its socket is finalized (its descriptor
 * closed), whoever closes it. */
void dx_stats_track_connection (DxStats *self, GObject *connection);
/* A TLS handshake finished (one per TLS connection: with keep-alive off,
 * short polling pays one per poll). A connection tracked above that
 * GSocketClient handed over with TLS counts its own. */
void dx_stats_add_tls_handshake (DxStats *self);
void dx_stats_add_empty_poll (DxStats *self);
void dx_stats_add_message (DxStats *self);
/* Chat text bytes carried (received messages and acked sends). */
void dx_stats_add_text_bytes (DxStats *self, guint64 n);
void dx_stats_add_latency (DxStats *self, double ms);
void dx_stats_reset (DxStats *self);
/* What only a datagram carrier (UDP) shows: ids skipped (gaps), late
 * (out of order), received twice, filled over HTTP, and datagrams dropped
 * on arrival on purpose (simulated loss, not the network's). */
void dx_stats_add_gap (DxStats *self, guint64 ids);
void dx_stats_add_reordered (DxStats *self);
void dx_stats_add_duplicate (DxStats *self);
void dx_stats_add_repaired (DxStats *self);
void dx_stats_add_simulated_loss (DxStats *self);

guint64 dx_stats_get_requests (DxStats *self);
guint64 dx_stats_get_bytes_up (DxStats *self);
guint64 dx_stats_get_bytes_down (DxStats *self);
guint64 dx_stats_get_connections (DxStats *self);
guint64 dx_stats_get_connections_closed (DxStats *self);
/* Tracked connections open now (not cleared by a reset). */
guint dx_stats_get_open_connections (DxStats *self);
guint64 dx_stats_get_tls_handshakes (DxStats *self);
guint64 dx_stats_get_empty_polls (DxStats *self);
guint64 dx_stats_get_messages (DxStats *self);
guint64 dx_stats_get_text_bytes (DxStats *self);
guint dx_stats_get_n_latencies (DxStats *self);
guint64 dx_stats_get_gaps (DxStats *self);
guint64 dx_stats_get_reordered (DxStats *self);
guint64 dx_stats_get_duplicates (DxStats *self);
guint64 dx_stats_get_repaired (DxStats *self);
guint64 dx_stats_get_simulated_loss (DxStats *self);
/* Ids still missing: gaps not filled late or repaired. */
guint64 dx_stats_get_missing (DxStats *self);
/* p in [0, 100] over the recent samples; NAN without samples. */
double dx_stats_get_latency_percentile (DxStats *self, double p);

G_END_DECLS
