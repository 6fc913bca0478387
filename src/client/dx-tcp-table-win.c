/* dx-tcp-table-win.c: TIME_WAIT from Windows' IP Helper tables
 * (GetTcpTable, GetTcp6Table); the Linux twin is dx-tcp-table.c. The
 * ...2 versions add each socket's owning process, which we do not need
 * and which costs about 2 s a call under Wine (as duplexd found). */
#include <ws2tcpip.h>
#include <iphlpapi.h>

#include <glib/gi18n.h>

#include "dx-tcp-table.h"

/* The table grows between the size query and the read: ask again. */
#define DX_TABLE_TRIES 4

static gpointer
fetch_table (gboolean v6, GError **error)
{
  ULONG size = 0, rc = ERROR_INSUFFICIENT_BUFFER;
  gpointer table = NULL;

  for (int i = 0; i < DX_TABLE_TRIES && rc == ERROR_INSUFFICIENT_BUFFER; i++) {
    g_free (table);
    table = size > 0 ? g_malloc (size) : NULL;
    rc = v6 ? GetTcp6Table (table, &size, FALSE) : GetTcpTable (table, &size, FALSE);
  }
  if (rc != NO_ERROR) {
    g_free (table);
    /* A system without IPv6 has no IPv6 table. */
    if (v6 && rc == ERROR_NOT_SUPPORTED)
      return NULL;
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("Could not read the TCP table (%lu)"),
                 (unsigned long) rc);
    return NULL;
  }
  return table;
}

static gboolean
matches_any (const DxTcpEndpoint *remotes, guint n, const guint8 *addr, gsize len, DWORD port)
{
  /* The port is in network order in the low 16 bits. */
  guint16 p = g_ntohs ((guint16) (port & 0xffff));

  for (guint r = 0; r < n; r++)
    if (dx_tcp_endpoint_matches (&remotes[r], addr, len, p))
      return TRUE;
  return FALSE;
}

gboolean
dx_tcp_table_count_time_wait (DxTcpEnd end, const DxTcpEndpoint *remotes, guint n, guint *count,
                              GError **error)
{
  PMIB_TCPTABLE t4;
  PMIB_TCP6TABLE t6;
  GError *v6_error = NULL;

  *count = 0;
  t4 = fetch_table (FALSE, error);
  if (t4 == NULL)
    return FALSE;
  for (DWORD i = 0; i < t4->dwNumEntries; i++) {
    const MIB_TCPROW *row = &t4->table[i];
    if (row->dwState == MIB_TCP_STATE_TIME_WAIT
        && (end == DX_TCP_END_LOCAL
                ? matches_any (remotes, n, (const guint8 *) &row->dwLocalAddr, 4, row->dwLocalPort)
                : matches_any (remotes, n, (const guint8 *) &row->dwRemoteAddr, 4,
                               row->dwRemotePort)))
      (*count)++;
  }
  g_free (t4);
  t6 = fetch_table (TRUE, &v6_error);
  if (v6_error != NULL) {
    g_propagate_error (error, v6_error);
    return FALSE;
  }
  if (t6 == NULL)
    return TRUE;
  for (DWORD i = 0; i < t6->dwNumEntries; i++) {
    const MIB_TCP6ROW *row = &t6->table[i];
    if (row->State == MIB_TCP_STATE_TIME_WAIT
        && (end == DX_TCP_END_LOCAL
                ? matches_any (remotes, n, (const guint8 *) &row->LocalAddr, 16, row->dwLocalPort)
                : matches_any (remotes, n, (const guint8 *) &row->RemoteAddr, 16,
                               row->dwRemotePort)))
      (*count)++;
  }
  g_free (t6);
  return TRUE;
}
