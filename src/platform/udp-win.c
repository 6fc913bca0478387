/* UDP sockets on IOCP. The POSIX mirror of this file is udp-posix.c; the
 * API and its promises are in loop.h ("UDP").
 *
 *  - receiving: one overlapped WSARecvFrom into the handle's buffer is
 *    kept posted while receiving. When it completes, the datagram is
 *    handed over, then up to DX_UDP_RECVS_PER_WAKEUP - 1 more are read
 *    with plain non-blocking WSARecvFrom calls (much cheaper than one
 *    completion each, under Wine especially) before the next one is
 *    posted. A datagram longer than the buffer completes with
 *    STATUS_BUFFER_OVERFLOW / WSAEMSGSIZE and the buffer full:
 *    DX_UDP_TRUNCATED.
 *  - sending: a plain non-blocking WSASendTo when nothing is queued; when
 *    the socket is full the datagram is queued (bounded by
 *    DX_UDP_SEND_QUEUE_BYTES) and the head of the queue is sent
 *    overlapped, one at a time, so the order holds. Completions run from
 *    the pending queue (never inside dx_udp_send).
 *  - Windows reports an ICMP "port unreachable" for an earlier send as
 *    WSAECONNRESET on the next receive of an unconnected UDP socket;
 *    SIO_UDP_CONNRESET turns that off (a server must not stop reading
 *    because one client went away).
 *  - close: CancelIoEx, closesocket; the operations in the kernel are
 *    counted and close_cb waits for them (any failed completion on a
 *    closing handle counts as cancelled, as for streams). */
#include "platform/loop-private.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <mswsock.h>

#ifndef SIO_UDP_CONNRESET
#define SIO_UDP_CONNRESET _WSAIOW (IOC_VENDOR, 12)
#endif
#ifndef STATUS_BUFFER_OVERFLOW
#define STATUS_BUFFER_OVERFLOW ((LONG) 0x80000005L)
#endif

enum {
  DX_UDP_RECVS_PER_WAKEUP = 32,
  DX_UDP_BUFS_MAX = 16, /* buffers gathered into one datagram */
};

typedef struct {
  dx_req req;
  dx_list link; /* in udp->send_queue while waiting */
  dx_udp_send_cb cb;
  void *arg;
  dx_addr to;
  size_t bytes;
  DWORD nbufs;
  WSABUF bufs[];
} send_req;

struct dx_udp {
  dx_handle h;
  SOCKET sock;
  unsigned outstanding; /* operations in the kernel */
  struct sockaddr_storage name;

  /* receiving */
  dx_udp_recv_cb recv_cb;
  bool receiving;
  bool recv_pending;
  char *rbuf; /* max_datagram bytes, owned */
  size_t rbuf_len;
  dx_iocp_op recv_op;
  /* WSARecvFrom's outputs must outlive the call (the kernel, and Wine,
   * write them when the operation completes). */
  struct sockaddr_storage recv_from;
  INT recv_fromlen;
  DWORD recv_flags;
  DWORD recv_bytes;
  dx_req recv_err_req; /* posting failed inside dx_udp_recv_start */

  /* sending */
  dx_list send_queue; /* send_req.link, oldest first; the head is in the
                          kernel while send_inflight */
  size_t send_queue_bytes;
  bool send_inflight;
  dx_iocp_op send_op;
};

static void recv_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e);
static void send_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e);

/* Closing and nothing in the kernel: the receive buffer, which a posted
 * WSARecvFrom may write until it completes, can go now. */
static void
udp_maybe_close_done (dx_udp *u)
{
  if (u->outstanding == 0 && !(u->h.flags & DX_HF_CLOSED)) {
    free (u->rbuf);
    u->rbuf = NULL;
    dx__handle_close_done (&u->h);
  }
}

/* ---- binding -------------------------------------------------------------- */

int
dx_udp_bind (dx_loop *loop, const char *addr, dx_udp **out)
{
  if (out)
    *out = NULL;
  if (!loop || !addr || !out)
    return DX_EINVAL;
  int rc = dx__winsock_init ();
  if (rc < 0)
    return rc;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  rc = dx__addr_parse (addr, &ss, &sl);
  if (rc < 0)
    return rc;
  SOCKET sock = WSASocketW (ss.ss_family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
  if (sock == INVALID_SOCKET)
    return dx__err_last_wsa ();
  SetHandleInformation ((HANDLE) sock, HANDLE_FLAG_INHERIT, 0);
  BOOL on = TRUE, off = FALSE;
  setsockopt (sock, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *) &on, sizeof on);
  if (ss.ss_family == AF_INET6)
    setsockopt (sock, IPPROTO_IPV6, IPV6_V6ONLY, (const char *) &on, sizeof on);
  DWORD n = 0;
  WSAIoctl (sock, SIO_UDP_CONNRESET, &off, sizeof off, NULL, 0, &n, NULL, NULL);
  u_long nb = 1;
  if (bind (sock, (struct sockaddr *) &ss, (int) sl) != 0
      || ioctlsocket (sock, FIONBIO, &nb) != 0) {
    rc = dx__err_last_wsa ();
    closesocket (sock);
    return rc;
  }
  rc = dx__iocp_associate (loop, sock);
  if (rc < 0) {
    closesocket (sock);
    return rc;
  }
  dx_udp *u = dx__handle_new (loop, DX_HANDLE_UDP, sizeof *u);
  if (!u) {
    closesocket (sock);
    return DX_ENOMEM;
  }
  u->sock = sock;
  int nl = sizeof u->name;
  getsockname (sock, (struct sockaddr *) &u->name, &nl);
  u->recv_op.complete = recv_complete;
  u->send_op.complete = send_complete;
  dx_list_init (&u->send_queue);
  *out = u;
  return 0;
}

/* ---- receiving ------------------------------------------------------------ */

static int
recv_post (dx_udp *u)
{
  WSABUF b = { (ULONG) u->rbuf_len, u->rbuf };
  u->recv_flags = 0;
  u->recv_fromlen = sizeof u->recv_from;
  memset (&u->recv_op.ov, 0, sizeof u->recv_op.ov);
  if (WSARecvFrom (u->sock, &b, 1, &u->recv_bytes, &u->recv_flags,
                   (struct sockaddr *) &u->recv_from, &u->recv_fromlen, &u->recv_op.ov, NULL)
      != 0) {
    int e = WSAGetLastError ();
    if (e != WSA_IO_PENDING && e != WSAEMSGSIZE)
      return dx__err_from_wsa (e);
  }
  u->recv_pending = true;
  u->outstanding++;
  return 0;
}

static void
recv_deliver (dx_udp *u, size_t n, bool truncated, const struct sockaddr_storage *from, int fromlen)
{
  dx_addr a;
  if (dx__addr_set (&a, (const struct sockaddr *) from, (socklen_t) fromlen) < 0)
    return;
  u->recv_cb (u, (ptrdiff_t) n, u->rbuf, &a, truncated ? DX_UDP_TRUNCATED : 0u);
}

/* Reads what else is queued without an overlapped operation. Returns
 * when the socket is empty, after the per-wake-up bound, or when the
 * user stopped or closed. */
static void
recv_drain (dx_udp *u)
{
  for (int i = 1; i < DX_UDP_RECVS_PER_WAKEUP; i++) {
    if (!u->receiving || dx__is_closing (u))
      return;
    struct sockaddr_storage from;
    INT fromlen = sizeof from;
    WSABUF b = { (ULONG) u->rbuf_len, u->rbuf };
    DWORD got = 0, flags = 0;
    if (WSARecvFrom (u->sock, &b, 1, &got, &flags, (struct sockaddr *) &from, &fromlen, NULL, NULL)
        == 0) {
      recv_deliver (u, got, false, &from, fromlen);
      continue;
    }
    int e = WSAGetLastError ();
    if (e == WSAEWOULDBLOCK)
      return;
    if (e == WSAEMSGSIZE) {
      recv_deliver (u, u->rbuf_len, true, &from, fromlen);
      continue;
    }
    u->recv_cb (u, dx__err_from_wsa (e), NULL, NULL, 0);
  }
}

static void
recv_resume (dx_udp *u)
{
  if (!u->receiving || dx__is_closing (u) || u->recv_pending)
    return;
  int rc = recv_post (u);
  if (rc < 0 && !u->recv_err_req.queued)
    dx__req_done (u->h.loop, &u->recv_err_req, rc);
}

static void
recv_err_run (dx_req *req)
{
  dx_udp *u = (dx_udp *) req->handle;
  if (!u->receiving || dx__is_closing (u))
    return;
  u->recv_cb (u, req->status, NULL, NULL, 0);
  recv_resume (u);
}

static void
recv_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e)
{
  dx_udp *u = DX_CONTAINER_OF (op, dx_udp, recv_op);
  u->recv_pending = false;
  u->outstanding--;
  if (dx__is_closing (u)) {
    udp_maybe_close_done (u);
    return;
  }
  if (!u->receiving)
    return; /* stopped meanwhile: this datagram is dropped (loop.h) */
  LONG nt = (LONG) e->lpOverlapped->Internal;
  if (nt >= 0)
    recv_deliver (u, e->dwNumberOfBytesTransferred, false, &u->recv_from, u->recv_fromlen);
  else if (nt == STATUS_BUFFER_OVERFLOW)
    recv_deliver (u, u->rbuf_len, true, &u->recv_from, u->recv_fromlen);
  else {
    int status = dx__iocp_op_status (u->sock, e);
    if (status == DX_EIO || status == 0)
      status = DX_EIO;
    /* WSAEMSGSIZE may also come this way. */
    DWORD bytes = 0, flags = 0;
    if (!WSAGetOverlappedResult (u->sock, e->lpOverlapped, &bytes, FALSE, &flags)
        && WSAGetLastError () == WSAEMSGSIZE)
      recv_deliver (u, u->rbuf_len, true, &u->recv_from, u->recv_fromlen);
    else
      u->recv_cb (u, status, NULL, NULL, 0);
  }
  recv_drain (u);
  recv_resume (u);
}

int
dx_udp_recv_start (dx_udp *u, size_t max_datagram, dx_udp_recv_cb cb)
{
  if (!u || !cb || max_datagram == 0 || max_datagram > 65536)
    return DX_EINVAL;
  if (dx__is_closing (u))
    return DX_ECANCELED;
  if (u->receiving)
    return DX_EALREADY;
  /* A receive left posted by dx_udp_recv_stop still writes into the old
   * buffer: keep it (and its size) until that completes. */
  if (u->rbuf_len != max_datagram && !u->recv_pending) {
    char *b = realloc (u->rbuf, max_datagram);
    if (!b)
      return DX_ENOMEM;
    u->rbuf = b;
    u->rbuf_len = max_datagram;
  }
  u->recv_cb = cb;
  u->receiving = true;
  u->recv_err_req.run = recv_err_run;
  u->recv_err_req.handle = &u->h;
  recv_resume (u);
  return 0;
}

int
dx_udp_recv_stop (dx_udp *u)
{
  if (!u)
    return DX_EINVAL;
  u->receiving = false;
  return 0;
}

/* ---- sending -------------------------------------------------------------- */

static void
send_req_run (dx_req *req)
{
  send_req *s = DX_CONTAINER_OF (req, send_req, req);
  if (s->cb)
    s->cb ((dx_udp *) req->handle, req->status, s->arg);
  free (s);
}

/* A plain non-blocking WSASendTo: 0 (sent, or failed for good with
 * *status set) or DX_ENOBUFS (the socket is full: send it overlapped). */
static int
udp_try_send (dx_udp *u, send_req *s, int *status)
{
  DWORD sent = 0;
  if (WSASendTo (u->sock, s->bufs, s->nbufs, &sent, 0, dx__addr_sa (&s->to), (int) s->to.len, NULL,
                 NULL)
      == 0) {
    *status = 0;
    return 0;
  }
  int e = WSAGetLastError ();
  if (e == WSAEWOULDBLOCK || e == WSAENOBUFS)
    return DX_ENOBUFS;
  *status = dx__err_from_wsa (e);
  return 0;
}

static void
send_finish (dx_udp *u, send_req *s, int status)
{
  dx_list_remove (&s->link);
  u->send_queue_bytes -= s->bytes;
  dx__req_done (u->h.loop, &s->req, status);
}

/* Sends the queue in order: plain sends while the socket takes them, the
 * first that does not fit goes overlapped and the rest waits for it. */
static void
udp_flush (dx_udp *u)
{
  while (!u->send_inflight && !dx_list_empty (&u->send_queue)) {
    send_req *s = DX_CONTAINER_OF (u->send_queue.next, send_req, link);
    int status;
    if (udp_try_send (u, s, &status) == 0) {
      send_finish (u, s, status);
      continue;
    }
    memset (&u->send_op.ov, 0, sizeof u->send_op.ov);
    if (WSASendTo (u->sock, s->bufs, s->nbufs, NULL, 0, dx__addr_sa (&s->to), (int) s->to.len,
                   &u->send_op.ov, NULL)
        != 0) {
      int e = WSAGetLastError ();
      if (e != WSA_IO_PENDING) {
        send_finish (u, s, dx__err_from_wsa (e));
        continue;
      }
    }
    u->send_inflight = true;
    u->outstanding++;
  }
}

static void
send_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e)
{
  dx_udp *u = DX_CONTAINER_OF (op, dx_udp, send_op);
  u->send_inflight = false;
  u->outstanding--;
  int status = dx__iocp_op_status (u->sock, e);
  if (!dx_list_empty (&u->send_queue))
    send_finish (u, DX_CONTAINER_OF (u->send_queue.next, send_req, link),
                 dx__is_closing (u) && status < 0 ? DX_ECANCELED : status);
  if (dx__is_closing (u)) {
    while (!dx_list_empty (&u->send_queue))
      send_finish (u, DX_CONTAINER_OF (u->send_queue.next, send_req, link), DX_ECANCELED);
    udp_maybe_close_done (u);
    return;
  }
  udp_flush (u);
}

int
dx_udp_send (dx_udp *u, const dx_buf *bufs, size_t nbufs, const dx_addr *to, dx_udp_send_cb cb,
             void *arg)
{
  if (!u || (nbufs > 0 && !bufs) || nbufs > DX_UDP_BUFS_MAX || !to || to->len == 0)
    return DX_EINVAL;
  if (dx__is_closing (u))
    return DX_ECANCELED;
  size_t total = 0;
  for (size_t i = 0; i < nbufs; i++) {
    if (bufs[i].len > ULONG_MAX || (bufs[i].len > 0 && !bufs[i].base))
      return DX_EINVAL;
    total += bufs[i].len;
  }
  bool queued = !dx_list_empty (&u->send_queue);
  if (queued && u->send_queue_bytes + total > DX_UDP_SEND_QUEUE_BYTES)
    return DX_ENOBUFS;
  send_req *s = calloc (1, sizeof *s + nbufs * sizeof (WSABUF));
  if (!s)
    return DX_ENOMEM;
  s->req.run = send_req_run;
  s->req.handle = &u->h;
  dx_list_init (&s->link);
  s->cb = cb;
  s->arg = arg;
  s->to = *to;
  s->bytes = total;
  s->nbufs = (DWORD) nbufs;
  for (size_t i = 0; i < nbufs; i++) {
    s->bufs[i].buf = bufs[i].base;
    s->bufs[i].len = (ULONG) bufs[i].len;
  }
  int status = 0;
  if (!queued && udp_try_send (u, s, &status) == 0) {
    dx__req_done (u->h.loop, &s->req, status);
    return 0;
  }
  if (total > DX_UDP_SEND_QUEUE_BYTES) {
    free (s);
    return DX_ENOBUFS;
  }
  dx_list_push_back (&u->send_queue, &s->link);
  u->send_queue_bytes += total;
  udp_flush (u);
  return 0;
}

size_t
dx_udp_send_queue_size (const dx_udp *u)
{
  return u ? u->send_queue_bytes : 0;
}

/* ---- options and names ---------------------------------------------------- */

int
dx_udp_set_buffers (dx_udp *u, size_t recv_bytes, size_t send_bytes)
{
  if (!u || u->sock == INVALID_SOCKET || recv_bytes > (size_t) 1 << 30
      || send_bytes > (size_t) 1 << 30)
    return DX_EINVAL;
  int v;
  if (recv_bytes) {
    v = (int) recv_bytes;
    if (setsockopt (u->sock, SOL_SOCKET, SO_RCVBUF, (const char *) &v, sizeof v) != 0)
      return dx__err_last_wsa ();
  }
  if (send_bytes) {
    v = (int) send_bytes;
    if (setsockopt (u->sock, SOL_SOCKET, SO_SNDBUF, (const char *) &v, sizeof v) != 0)
      return dx__err_last_wsa ();
  }
  return 0;
}

int
dx_udp_port (const dx_udp *u)
{
  if (!u)
    return DX_EINVAL;
  return dx__addr_port ((const struct sockaddr *) &u->name);
}

int
dx_udp_name (const dx_udp *u, char *buf, size_t len)
{
  if (!u || !buf)
    return DX_EINVAL;
  return dx__addr_format ((const struct sockaddr *) &u->name, buf, len);
}

/* ---- close ---------------------------------------------------------------- */

void
dx__udp_close (dx_udp *u)
{
  u->receiving = false;
  if (u->sock != INVALID_SOCKET) {
    CancelIoEx ((HANDLE) u->sock, NULL);
    closesocket (u->sock);
    u->sock = INVALID_SOCKET;
  }
  /* A send in the kernel completes first; the rest is cancelled behind
   * it (send_complete), so callbacks stay in order. */
  if (!u->send_inflight)
    while (!dx_list_empty (&u->send_queue))
      send_finish (u, DX_CONTAINER_OF (u->send_queue.next, send_req, link), DX_ECANCELED);
  udp_maybe_close_done (u);
}
