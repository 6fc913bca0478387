/* tcpstat.h, the part every system shares: the arguments, the state names
 * and the tally. The kernel is asked in tcpstat-linux.c / -win.c / -other.c. */
#include "platform/loop.h"
#include "platform/tcpstat-private.h"

#include <string.h>

static const char *const state_names[DX_TCP_STATE_COUNT] = {
  [DX_TCP_ESTABLISHED] = "established",
  [DX_TCP_SYN_SENT] = "syn_sent",
  [DX_TCP_SYN_RECV] = "syn_recv",
  [DX_TCP_FIN_WAIT1] = "fin_wait1",
  [DX_TCP_FIN_WAIT2] = "fin_wait2",
  [DX_TCP_TIME_WAIT] = "time_wait",
  [DX_TCP_CLOSE] = "close",
  [DX_TCP_CLOSE_WAIT] = "close_wait",
  [DX_TCP_LAST_ACK] = "last_ack",
  [DX_TCP_LISTEN] = "listen",
  [DX_TCP_CLOSING] = "closing",
};

const char *
dx_tcp_state_name (dx_tcp_state state)
{
  if ((unsigned) state >= DX_TCP_STATE_COUNT)
    return "unknown";
  return state_names[state];
}

void
dx__tcpstat_add (const uint16_t *ports, size_t nports, uint32_t state_mask, uint16_t port,
                 dx_tcp_state state, dx_tcp_state_counts *counts)
{
  if ((unsigned) state >= DX_TCP_STATE_COUNT || !(state_mask & DX_TCP_STATE_BIT (state)))
    return;
  for (size_t i = 0; i < nports; i++)
    if (ports[i] == port)
      counts[i].n[state]++;
}

int
dx_tcp_count_states (const uint16_t *ports, size_t nports, uint32_t state_mask,
                     dx_tcp_state_counts *counts)
{
  if (ports == NULL || counts == NULL || nports == 0 || nports > DX_TCPSTAT_MAX_PORTS)
    return DX_EINVAL;
  for (size_t i = 0; i < nports; i++)
    if (ports[i] == 0)
      return DX_EINVAL;
  memset (counts, 0, nports * sizeof *counts);
  state_mask &= DX_TCP_STATES_ALL;
  if (state_mask == 0)
    return 0;
  int rc = dx__tcpstat_query (ports, nports, state_mask, counts);
  if (rc < 0)
    memset (counts, 0, nports * sizeof *counts);
  return rc;
}
