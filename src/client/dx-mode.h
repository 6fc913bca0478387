/* DxMode: the six ways of carrying the chat, and how each is named and
 * coloured wherever it is shown. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  DX_MODE_POLL,
  DX_MODE_LONGPOLL,
  DX_MODE_SSE,
  DX_MODE_WEBSOCKET,
  DX_MODE_TCP,
  DX_MODE_UDP, /* docs/protocol.md §8: no order, no retransmission */
  DX_N_MODES
} DxMode;

/* "poll", "longpoll", "sse", "websocket", "tcp", "udp" and back; -1 if unknown. */
const char *dx_mode_to_string (DxMode mode);
int dx_mode_from_string (const char *s);
/* Translated human name ("Short polling", ...). */
const char *dx_mode_title (DxMode mode);
/* The colour used for the mode in charts and labels, "#rrggbb". */
const char *dx_mode_color (DxMode mode);

G_END_DECLS
