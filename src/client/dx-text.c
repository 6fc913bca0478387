#include "dx-config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "protocol/names.h"

#include "dx-text.h"

GListModel *
dx_mode_list_new (void)
{
  GtkStringList *list = gtk_string_list_new (NULL);

  for (int m = 0; m < DX_N_MODES; m++)
    gtk_string_list_append (list, dx_mode_title (m));
  return G_LIST_MODEL (list);
}

char *
dx_state_text (DxTransport *transport)
{
  if (transport == NULL)
    return g_strdup (_ ("Connecting…"));
  switch (dx_transport_get_state (transport)) {
  case DX_TRANSPORT_CONNECTED: return g_strdup (_ ("Connected"));
  case DX_TRANSPORT_CONNECTING: return g_strdup (_ ("Connecting…"));
  case DX_TRANSPORT_RECONNECTING: {
    guint n = dx_transport_get_retry_seconds (transport);
    return g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "Reconnecting in %u second", "Reconnecting in %u seconds", n),
        n);
  }
  case DX_TRANSPORT_DISCONNECTED:
  default: return g_strdup (_ ("Disconnected"));
  }
}

char *
dx_format_latency (double ms)
{
  if (isnan (ms))
    return g_strdup ("–");
  if (ms < 10)
    return g_strdup_printf (_ ("%.1f ms"), ms);
  if (ms < 1000)
    return g_strdup_printf (_ ("%.0f ms"), ms);
  return g_strdup_printf (_ ("%.2f s"), ms / 1000.0);
}

char *
dx_nick_from_name (const char *name)
{
  GString *s = g_string_new (NULL);

  for (const char *p = name; p != NULL && *p != '\0' && s->len < DX_NICK_MAX; p++)
    if (dx_nick_char (*p))
      g_string_append_c (s, *p);
  if (s->len == 0 || dx_nick_reserved (s->str, s->len)) {
    g_string_free (s, TRUE);
    return g_strdup ("guest");
  }
  return g_string_free (s, FALSE);
}
