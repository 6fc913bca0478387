/* Duplex platform layer: counting this host's TCP sockets by state, for
 * a set of local ports (how many of a server's connections sit in
 * TIME_WAIT, CLOSE_WAIT, ... right now). It asks the kernel: sock_diag
 * netlink (or /proc/net/tcp and tcp6) on Linux, GetTcpTable2 and
 * GetTcp6Table2 on Windows; elsewhere it answers DX_ENOTSUP.
 *
 * A call walks kernel tables and may take milliseconds on a busy host:
 * it blocks, so never call it on a loop thread (run it on a dx_thread).
 * It keeps no state and may run on any thread. */
#ifndef DX_PLATFORM_TCPSTAT_H
#define DX_PLATFORM_TCPSTAT_H

#include <stddef.h>
#include <stdint.h>

/* The TCP states of RFC 793 (Linux's order; Windows' are mapped). */
typedef enum {
  DX_TCP_ESTABLISHED = 0,
  DX_TCP_SYN_SENT,
  DX_TCP_SYN_RECV,
  DX_TCP_FIN_WAIT1,
  DX_TCP_FIN_WAIT2,
  DX_TCP_TIME_WAIT,
  DX_TCP_CLOSE,
  DX_TCP_CLOSE_WAIT,
  DX_TCP_LAST_ACK,
  DX_TCP_LISTEN,
  DX_TCP_CLOSING,
  DX_TCP_STATE_COUNT,
} dx_tcp_state;

#define DX_TCP_STATE_BIT(s) (1u << (unsigned) (s))
#define DX_TCP_STATES_ALL ((1u << DX_TCP_STATE_COUNT) - 1u)

/* Sockets of one local port, by state. */
typedef struct {
  uint32_t n[DX_TCP_STATE_COUNT];
} dx_tcp_state_counts;

/* Most ports one call takes. */
#define DX_TCPSTAT_MAX_PORTS 16

/* For each ports[i] (i < nports <= DX_TCPSTAT_MAX_PORTS; 1-65535),
 * counts[i] gets the number of TCP sockets of this host, IPv4 and IPv6,
 * whose LOCAL port is ports[i], in each state of state_mask
 * (DX_TCP_STATE_BIT(DX_TCP_TIME_WAIT) | ...); states outside the mask
 * read 0 (asking for fewer states lets the kernel send less). A port
 * listed twice gets the same counts twice. Returns 0; DX_ENOTSUP where
 * the system offers no way to ask (counts are then all 0); DX_EINVAL for
 * bad arguments; another DX_E* if the kernel's answer could not be read. */
int dx_tcp_count_states (const uint16_t *ports, size_t nports, uint32_t state_mask,
                         dx_tcp_state_counts *counts);

/* "established", "time_wait", ... (a metrics label); "unknown" when out
 * of range. */
const char *dx_tcp_state_name (dx_tcp_state state);

#endif
