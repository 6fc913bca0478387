/* tcpstat.h on Linux. First choice: a sock_diag netlink dump (what `ss`
 * uses), because the kernel filters it: it sends only the sockets in the
 * asked states whose local port is one of ours, as binary records. A busy
 * host may hold 100,000 sockets of other programs, and /proc/net/tcp
 * formats every one of them as a 150-byte text line on each read. When
 * netlink is not available (no inet_diag, a sandbox that refuses
 * NETLINK_SOCK_DIAG), /proc/net/tcp and /proc/net/tcp6 are read instead.
 *
 * Linux numbers the TCP states 1 (ESTABLISHED) to 11 (CLOSING) in the
 * order of dx_tcp_state, so a Linux state is a dx_tcp_state plus one. */
#include "platform/loop-private.h"
#include "platform/tcpstat-private.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- sock_diag ---------------------------------------------------------- */

#define DIAG_RECV_SIZE 65536 /* a dump part is at most 32 KiB; twice that never truncates */
#define DIAG_SEQ 0x7463      /* our request's sequence number, checked in the answer */

/* sock_diag's filter language (net/ipv4/inet_diag.c): the ops run from the
 * start, each jumps forward by `yes` or `no` bytes; a socket matches when
 * a jump lands exactly on the end, and is dropped when one lands 4 bytes
 * past it. The kernel checks a filter by walking the `yes` jumps, so they
 * must reach every op. Per port p: "sport >= p", "sport <= p" (a port
 * operand follows each comparison), then, between ports, a JMP whose `no`
 * (a JMP always takes it) goes to the end: matched. A failed comparison
 * goes to the next port's pair, or past the end after the last one. */
#define FILTER_PAIR 16 /* two comparisons with their operands, in bytes */
#define FILTER_JMP 4

static size_t
build_port_filter (const uint16_t *ports, size_t nports, struct inet_diag_bc_op *ops)
{
  size_t len = nports * FILTER_PAIR + (nports - 1) * FILTER_JMP;
  size_t k = 0;
  for (size_t i = 0; i < nports; i++) {
    size_t at = k * sizeof *ops; /* byte offset of this port's pair */
    bool last = i + 1 == nports;
    size_t fail = last ? len + 4 : at + FILTER_PAIR + FILTER_JMP;
    ops[k++] = (struct inet_diag_bc_op){ INET_DIAG_BC_S_GE, 8, (unsigned short) (fail - at) };
    ops[k++] = (struct inet_diag_bc_op){ 0, 0, ports[i] };
    ops[k++] = (struct inet_diag_bc_op){ INET_DIAG_BC_S_LE, 8, (unsigned short) (fail - at - 8) };
    ops[k++] = (struct inet_diag_bc_op){ 0, 0, ports[i] };
    if (!last)
      ops[k++] = (struct inet_diag_bc_op){ INET_DIAG_BC_JMP, FILTER_JMP,
                                           (unsigned short) (len - (at + FILTER_PAIR)) };
  }
  return len;
}

static int
diag_request (int fd, int family, const uint16_t *ports, size_t nports, uint32_t state_mask)
{
  struct inet_diag_bc_op ops[DX_TCPSTAT_MAX_PORTS * 5];
  size_t oplen = build_port_filter (ports, nports, ops);
  char msg[NLMSG_SPACE (sizeof (struct inet_diag_req_v2)) + NLA_HDRLEN + sizeof ops];
  memset (msg, 0, sizeof msg);

  struct nlmsghdr *nlh = (struct nlmsghdr *) msg;
  struct inet_diag_req_v2 *req = NLMSG_DATA (nlh);
  struct nlattr *attr = (struct nlattr *) (msg + NLMSG_SPACE (sizeof *req));
  req->sdiag_family = (uint8_t) family;
  req->sdiag_protocol = IPPROTO_TCP;
  req->idiag_states = state_mask << 1; /* kernel state bits: dx_tcp_state + 1 */
  attr->nla_type = INET_DIAG_REQ_BYTECODE;
  attr->nla_len = (unsigned short) (NLA_HDRLEN + oplen);
  memcpy ((char *) attr + NLA_HDRLEN, ops, oplen);
  nlh->nlmsg_len = (uint32_t) (NLMSG_SPACE (sizeof *req) + NLA_ALIGN (attr->nla_len));
  nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = DIAG_SEQ;

  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  ssize_t n;
  do
    n = sendto (fd, msg, nlh->nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof kernel);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return dx__err_last_errno ();
  return n == (ssize_t) nlh->nlmsg_len ? 0 : DX_EIO;
}

/* Reads the dump to its end. 1 when done, 0 for more, < 0 an error. */
static int
diag_read_part (const char *buf, size_t len, const uint16_t *ports, size_t nports,
                uint32_t state_mask, dx_tcp_state_counts *counts)
{
  for (const struct nlmsghdr *h = (const void *) buf; NLMSG_OK (h, len); h = NLMSG_NEXT (h, len)) {
    if (h->nlmsg_seq != DIAG_SEQ)
      continue;
    if (h->nlmsg_type == NLMSG_DONE)
      return 1;
    if (h->nlmsg_type == NLMSG_ERROR) {
      const struct nlmsgerr *e = NLMSG_DATA (h);
      return e->error < 0 ? dx__err_from_errno (-e->error) : DX_EIO;
    }
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY
        || h->nlmsg_len < NLMSG_LENGTH (sizeof (struct inet_diag_msg)))
      continue;
    const struct inet_diag_msg *m = NLMSG_DATA (h);
    /* The filter already chose the ports; counting checks them again. */
    dx__tcpstat_add (ports, nports, state_mask, ntohs (m->id.idiag_sport),
                     (dx_tcp_state) (m->idiag_state - 1), counts);
  }
  return 0;
}

static int
diag_dump (int fd, int family, char *buf, const uint16_t *ports, size_t nports, uint32_t state_mask,
           dx_tcp_state_counts *counts)
{
  int rc = diag_request (fd, family, ports, nports, state_mask);
  while (rc == 0) {
    ssize_t n = recv (fd, buf, DIAG_RECV_SIZE, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return dx__err_last_errno ();
    if (n == 0)
      return DX_EIO;
    rc = diag_read_part (buf, (size_t) n, ports, nports, state_mask, counts);
  }
  return rc < 0 ? rc : 0;
}

int
dx__tcpstat_sock_diag (const uint16_t *ports, size_t nports, uint32_t state_mask,
                       dx_tcp_state_counts *counts)
{
  int fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0)
    return DX_ENOTSUP;
  char *buf = malloc (DIAG_RECV_SIZE);
  int rc = buf ? diag_dump (fd, AF_INET, buf, ports, nports, state_mask, counts) : DX_ENOMEM;
  if (rc == 0) {
    rc = diag_dump (fd, AF_INET6, buf, ports, nports, state_mask, counts);
    /* A kernel without IPv6 has no IPv6 sockets to count. */
    if (rc == DX_ENOENT || rc == DX_EINVAL)
      rc = 0;
  }
  free (buf);
  close (fd);
  return rc;
}

/* ---- /proc/net/tcp ------------------------------------------------------ */

/* Lines look like
 *   "   3: 0100007F:1F90 0100007F:D2A4 06 00000000:00000000 03:000012C4 ..."
 * (slot, local address:port, remote address:port, state, all hex). */
static int
proc_read (const char *path, const uint16_t *ports, size_t nports, uint32_t state_mask,
           dx_tcp_state_counts *counts)
{
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return dx__err_last_errno ();
  char line[512];
  bool first = true, whole = true;
  while (fgets (line, sizeof line, f)) {
    bool was_whole = whole;
    whole = strchr (line, '\n') != NULL;
    if (!was_whole)
      continue; /* the rest of a line longer than any the kernel writes */
    if (first) {
      first = false; /* the header */
      continue;
    }
    unsigned port, state;
    if (sscanf (line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &port, &state) == 2
        && port <= 0xffff && state >= 1)
      dx__tcpstat_add (ports, nports, state_mask, (uint16_t) port, (dx_tcp_state) (state - 1),
                       counts);
  }
  int rc = ferror (f) ? DX_EIO : 0;
  fclose (f);
  return rc;
}

int
dx__tcpstat_proc (const uint16_t *ports, size_t nports, uint32_t state_mask,
                  dx_tcp_state_counts *counts)
{
  int rc = proc_read ("/proc/net/tcp", ports, nports, state_mask, counts);
  if (rc == DX_ENOENT || rc == DX_EACCES)
    return DX_ENOTSUP;
  if (rc == 0) {
    rc = proc_read ("/proc/net/tcp6", ports, nports, state_mask, counts);
    if (rc == DX_ENOENT)
      rc = 0; /* no IPv6 */
  }
  return rc;
}

/* ---- the choice --------------------------------------------------------- */

int
dx__tcpstat_query (const uint16_t *ports, size_t nports, uint32_t state_mask,
                   dx_tcp_state_counts *counts)
{
  int rc = dx__tcpstat_sock_diag (ports, nports, state_mask, counts);
  if (rc == 0)
    return 0;
  /* A dump that failed half-way may have counted some sockets. */
  memset (counts, 0, nports * sizeof *counts);
  return dx__tcpstat_proc (ports, nports, state_mask, counts);
}
