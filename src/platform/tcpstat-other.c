/* tcpstat.h where Duplex knows no way to ask the kernel (POSIX systems
 * other than Linux): every call says so, DX_ENOTSUP, and callers report
 * "unsupported" rather than a count of 0 that would look like a fact. */
#include "platform/loop.h"
#include "platform/tcpstat-private.h"

int
dx__tcpstat_query (const uint16_t *ports, size_t nports, uint32_t state_mask,
                   dx_tcp_state_counts *counts)
{
  (void) ports;
  (void) nports;
  (void) state_mask;
  (void) counts;
  return DX_ENOTSUP;
}
