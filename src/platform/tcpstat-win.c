/* tcpstat.h on Windows: GetTcpTable and GetTcp6Table (iphlpapi), the
 * tables `netstat` shows, TIME_WAIT included. Not GetTcpTable2 /
 * GetTcp6Table2: they add each socket's owning process, which we do not
 * need and which costs; Wine finds it by scanning every process's file
 * descriptors, 2 s a call on a busy host against 60 ms for GetTcpTable.
 * Wine implements these tables over /proc/net/tcp and tcp6, so the
 * windows suite sees the host's sockets. */
#include "platform/loop-private.h"
#include "platform/tcpstat-private.h"

#include <iphlpapi.h>
#include <stdlib.h>

/* MIB_TCP_STATE (1 CLOSED ... 12 DELETE_TCB) -> dx_tcp_state;
 * DX_TCP_STATE_COUNT for a state not counted. */
static dx_tcp_state
state_from_mib (DWORD s)
{
  switch (s) {
  case MIB_TCP_STATE_CLOSED: return DX_TCP_CLOSE;
  case MIB_TCP_STATE_LISTEN: return DX_TCP_LISTEN;
  case MIB_TCP_STATE_SYN_SENT: return DX_TCP_SYN_SENT;
  case MIB_TCP_STATE_SYN_RCVD: return DX_TCP_SYN_RECV;
  case MIB_TCP_STATE_ESTAB: return DX_TCP_ESTABLISHED;
  case MIB_TCP_STATE_FIN_WAIT1: return DX_TCP_FIN_WAIT1;
  case MIB_TCP_STATE_FIN_WAIT2: return DX_TCP_FIN_WAIT2;
  case MIB_TCP_STATE_CLOSE_WAIT: return DX_TCP_CLOSE_WAIT;
  case MIB_TCP_STATE_CLOSING: return DX_TCP_CLOSING;
  case MIB_TCP_STATE_LAST_ACK: return DX_TCP_LAST_ACK;
  case MIB_TCP_STATE_TIME_WAIT: return DX_TCP_TIME_WAIT;
  default: return DX_TCP_STATE_COUNT;
  }
}

/* GetTcpTable or GetTcp6Table, unsorted. */
typedef ULONG (*table_fn) (void *table, PULONG size);

/* Calls fn until the table fits (a call that finds the buffer too small
 * says how big the table is; it may grow before the next call). The first
 * guess holds a few thousand sockets, so one call is the rule. *out is
 * malloc'd on success. */
static int
get_table (table_fn fn, void **out)
{
  ULONG size = 64 * 1024;
  for (int tries = 0; tries < 8; tries++) {
    void *table = malloc (size);
    if (table == NULL)
      return DX_ENOMEM;
    ULONG want = size;
    ULONG rc = fn (table, &want);
    if (rc == NO_ERROR) {
      *out = table;
      return 0;
    }
    free (table);
    if (rc == ERROR_NOT_SUPPORTED)
      return DX_ENOTSUP;
    if (rc != ERROR_INSUFFICIENT_BUFFER)
      return DX_EIO;
    size = want + want / 8 + 4096; /* room for sockets opened meanwhile */
  }
  return DX_EIO;
}

static ULONG
tcp4_table (void *table, PULONG size)
{
  return GetTcpTable (table, size, FALSE);
}

static ULONG
tcp6_table (void *table, PULONG size)
{
  return GetTcp6Table (table, size, FALSE);
}

int
dx__tcpstat_query (const uint16_t *ports, size_t nports, uint32_t state_mask,
                   dx_tcp_state_counts *counts)
{
  void *t = NULL;
  int rc = get_table (tcp4_table, &t);
  if (rc < 0)
    return rc;
  const MIB_TCPTABLE *t4 = t;
  /* dwLocalPort holds the port in network byte order in its low 16 bits. */
  for (DWORD i = 0; i < t4->dwNumEntries; i++)
    dx__tcpstat_add (ports, nports, state_mask, ntohs ((u_short) t4->table[i].dwLocalPort),
                     state_from_mib (t4->table[i].dwState), counts);
  free (t);

  rc = get_table (tcp6_table, &t);
  if (rc == DX_ENOTSUP)
    return 0; /* no IPv6 stack: no IPv6 sockets */
  if (rc < 0)
    return rc;
  const MIB_TCP6TABLE *t6 = t;
  for (DWORD i = 0; i < t6->dwNumEntries; i++)
    dx__tcpstat_add (ports, nports, state_mask, ntohs ((u_short) t6->table[i].dwLocalPort),
                     state_from_mib ((DWORD) t6->table[i].State), counts);
  free (t);
  return 0;
}
