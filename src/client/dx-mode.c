#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-mode.h"

static const char *const mode_names[DX_N_MODES] = {
  "poll", "longpoll", "sse", "websocket", "tcp", "udp",
};

const char *
dx_mode_to_string (DxMode mode)
{
  g_return_val_if_fail (mode < DX_N_MODES, "poll");
  return mode_names[mode];
}

int
dx_mode_from_string (const char *s)
{
  for (int i = 0; s != NULL && i < DX_N_MODES; i++)
    if (g_str_equal (s, mode_names[i]))
      return i;
  return -1;
}

const char *
dx_mode_title (DxMode mode)
{
  switch (mode) {
  case DX_MODE_POLL: return _ ("Short polling");
  case DX_MODE_LONGPOLL: return _ ("Long polling");
  case DX_MODE_SSE: return _ ("Server-Sent Events");
  case DX_MODE_WEBSOCKET: return _ ("WebSocket");
  case DX_MODE_TCP: return _ ("Raw TCP");
  case DX_MODE_UDP: return _ ("UDP datagrams");
  default: return "?";
  }
}

const char *
dx_mode_color (DxMode mode)
{
  /* GNOME palette: distinguishable on light and dark backgrounds. */
  static const char *const colors[DX_N_MODES] = {
    "#e66100", "#c061cb", "#2ec27e", "#3584e4", "#e5a50a", "#865e3c",
  };
  g_return_val_if_fail (mode < DX_N_MODES, "#888888");
  return colors[mode];
}
