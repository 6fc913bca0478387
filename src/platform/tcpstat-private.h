/* What tcpstat.c shares with the system-specific file that asks the
 * kernel (tcpstat-linux.c, tcpstat-win.c or tcpstat-other.c). */
#ifndef DX_PLATFORM_TCPSTAT_PRIVATE_H
#define DX_PLATFORM_TCPSTAT_PRIVATE_H

#include "platform/tcpstat.h"

#include <stdbool.h>

/* The system's answer, arguments already checked and counts zeroed. */
int dx__tcpstat_query (const uint16_t *ports, size_t nports, uint32_t state_mask,
                       dx_tcp_state_counts *counts);

/* Counts one socket (local port, state) into every counts[i] whose port
 * it is, when its state is in state_mask. */
void dx__tcpstat_add (const uint16_t *ports, size_t nports, uint32_t state_mask, uint16_t port,
                      dx_tcp_state state, dx_tcp_state_counts *counts);

#ifdef __linux__
/* The two ways Linux answers, each on its own (dx__tcpstat_query tries
 * sock_diag, then /proc): the unit test checks that they agree. */
int dx__tcpstat_sock_diag (const uint16_t *ports, size_t nports, uint32_t state_mask,
                           dx_tcp_state_counts *counts);
int dx__tcpstat_proc (const uint16_t *ports, size_t nports, uint32_t state_mask,
                      dx_tcp_state_counts *counts);
#endif

#endif
