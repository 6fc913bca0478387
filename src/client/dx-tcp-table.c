/* dx-tcp-table.c: TIME_WAIT from Linux's /proc/net/tcp and /proc/net/tcp6
 * (the Windows twin is dx-tcp-table-win.c). */
#include <glib/gi18n.h>
#include <string.h>

#include "dx-tcp-table.h"

/* include/net/tcp_states.h: TCP_TIME_WAIT. */
#define DX_PROC_TCP_TIME_WAIT 6

/* "0100007F:1F90": the address as the kernel's 32-bit words printed in
 * host order (so their bytes in memory are the network-order address),
 * then the port in plain hex. */
static gboolean
parse_endpoint (const char *text, guint8 *addr, gsize addr_len, guint16 *port)
{
  const char *colon = strchr (text, ':');

  if (colon == NULL || (gsize) (colon - text) != addr_len * 2)
    return FALSE;
  for (gsize w = 0; w < addr_len / 4; w++) {
    char word[9];
    char *end = NULL;
    guint32 v;

    memcpy (word, text + w * 8, 8);
    word[8] = '\0';
    v = (guint32) g_ascii_strtoull (word, &end, 16);
    if (end != word + 8)
      return FALSE;
    memcpy (addr + w * 4, &v, 4);
  }
  *port = (guint16) g_ascii_strtoull (colon + 1, NULL, 16);
  return TRUE;
}

static gboolean
count_file (const char *path, gsize addr_len, DxTcpEnd end, const DxTcpEndpoint *remotes, guint n,
            guint *count, GError **error)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  /* /proc files report size 0: g_file_get_contents reads to the end. */
  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++) { /* line 0 is the header */
    g_auto (GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
    const char *fields[4] = { NULL };
    guint nf = 0;
    guint8 addr[16];
    guint16 port;

    /* sl local_address rem_address st, separated by runs of spaces. */
    for (guint j = 0; f[j] != NULL && nf < G_N_ELEMENTS (fields); j++)
      if (f[j][0] != '\0')
        fields[nf++] = f[j];
    if (nf < 4 || g_ascii_strtoull (fields[3], NULL, 16) != DX_PROC_TCP_TIME_WAIT
        || !parse_endpoint (fields[end == DX_TCP_END_LOCAL ? 1 : 2], addr, addr_len, &port))
      continue;
    for (guint r = 0; r < n; r++)
      if (dx_tcp_endpoint_matches (&remotes[r], addr, addr_len, port)) {
        (*count)++;
        break;
      }
  }
  return TRUE;
}

gboolean
dx_tcp_table_count_time_wait (DxTcpEnd end, const DxTcpEndpoint *remotes, guint n, guint *count,
                              GError **error)
{
  g_autoptr (GError) v6_error = NULL;

  *count = 0;
  if (!count_file ("/proc/net/tcp", 4, end, remotes, n, count, error))
    return FALSE;
  /* A kernel without IPv6 has no tcp6 table: nothing more to count. */
  if (!count_file ("/proc/net/tcp6", 16, end, remotes, n, count, &v6_error)
      && !g_error_matches (v6_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
    g_propagate_error (error, g_steal_pointer (&v6_error));
    return FALSE;
  }
  return TRUE;
}
