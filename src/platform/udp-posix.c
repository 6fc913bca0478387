/* UDP sockets on the readiness backends (epoll and poll). The Windows
 * mirror of this file is udp-win.c; the API and its promises are in
 * loop.h ("UDP").
 *
 *  - receiving: the fd is watched for readability while receiving; each
 *    wake-up reads at most DX_UDP_RECVS_PER_WAKEUP datagrams (recvmsg, so
 *    MSG_TRUNC tells a cut datagram) into the handle's one buffer;
 *  - sending: dx_udp_send tries sendmsg at once when nothing is queued;
 *    a full socket buffer (EAGAIN, ENOBUFS) queues the datagram (bounded
 *    by DX_UDP_SEND_QUEUE_BYTES) and watches writability; the queue goes
 *    out in order. Every completion goes through the pending queue, so cb
 *    never runs inside dx_udp_send;
 *  - close: queued sends complete with DX_ECANCELED, then close_cb. */
#include "platform/loop-private.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
  /* Datagrams read per readiness report: fairness with other handles. */
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
  size_t nbufs;
  struct iovec iov[];
} send_req;

struct dx_udp {
  dx_handle h;
  dx_io io;
  dx_udp_recv_cb recv_cb;
  bool receiving;
  char *rbuf; /* max_datagram bytes, owned */
  size_t rbuf_len;
  dx_list send_queue; /* send_req.link, oldest first */
  size_t send_queue_bytes;
};

static void udp_io_cb (dx_loop *loop, dx_io *io, unsigned revents);

static void
udp_update (dx_udp *u)
{
  if (dx__is_closing (u))
    return;
  unsigned ev =
      (u->receiving ? DX_IO_READ : 0u) | (dx_list_empty (&u->send_queue) ? 0u : DX_IO_WRITE);
  dx__io_update (u->h.loop, &u->io, ev);
}

/* ---- binding -------------------------------------------------------------- */

static int
udp_socket_new (int family)
{
#ifdef SOCK_NONBLOCK
  int fd = socket (family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return dx__err_last_errno ();
#else
  int fd = socket (family, SOCK_DGRAM, 0);
  if (fd < 0)
    return dx__err_last_errno ();
  int fl = fcntl (fd, F_GETFL);
  if (fl < 0 || fcntl (fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl (fd, F_SETFD, FD_CLOEXEC) < 0) {
    int err = dx__err_last_errno ();
    close (fd);
    return err;
  }
#endif
  return fd;
}

int
dx_udp_bind (dx_loop *loop, const char *addr, dx_udp **out)
{
  if (out)
    *out = NULL;
  if (!loop || !addr || !out)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int rc = dx__addr_parse (addr, &ss, &len);
  if (rc < 0)
    return rc;
  int fd = udp_socket_new (ss.ss_family);
  if (fd < 0)
    return fd;
  int one = 1;
  if (ss.ss_family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &ss, len) < 0) {
    rc = dx__err_last_errno ();
    close (fd);
    return rc;
  }
  dx_udp *u = dx__handle_new (loop, DX_HANDLE_UDP, sizeof *u);
  if (!u) {
    close (fd);
    return DX_ENOMEM;
  }
  u->io.fd = fd;
  u->io.cb = udp_io_cb;
  dx_list_init (&u->send_queue);
  *out = u;
  return 0;
}

/* ---- receiving ------------------------------------------------------------ */

static void
udp_do_recv (dx_udp *u)
{
  for (int i = 0; i < DX_UDP_RECVS_PER_WAKEUP; i++) {
    if (dx__is_closing (u) || !u->receiving)
      return;
    struct sockaddr_storage ss;
    struct iovec iov = { u->rbuf, u->rbuf_len };
    struct msghdr msg;
    memset (&msg, 0, sizeof msg);
    msg.msg_name = &ss;
    msg.msg_namelen = sizeof ss;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = recvmsg (u->io.fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return;
      /* Reading the error cleared it (SO_ERROR): report it and go on. */
      u->recv_cb (u, dx__err_last_errno (), NULL, NULL, 0);
      continue;
    }
    dx_addr from;
    if (dx__addr_set (&from, (struct sockaddr *) &ss, msg.msg_namelen) < 0)
      continue; /* not IPv4/IPv6: cannot be ours */
    unsigned flags = (msg.msg_flags & MSG_TRUNC) ? DX_UDP_TRUNCATED : 0u;
    u->recv_cb (u, n, u->rbuf, &from, flags);
  }
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
  if (u->rbuf_len != max_datagram) {
    char *b = realloc (u->rbuf, max_datagram);
    if (!b)
      return DX_ENOMEM;
    u->rbuf = b;
    u->rbuf_len = max_datagram;
  }
  u->recv_cb = cb;
  u->receiving = true;
  udp_update (u);
  return 0;
}

int
dx_udp_recv_stop (dx_udp *u)
{
  if (!u)
    return DX_EINVAL;
  u->receiving = false;
  udp_update (u);
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

/* One sendmsg: 0 (sent, or failed for good with *status set), or
 * DX_ENOBUFS when the socket buffer is full (try again later). */
static int
udp_try_send (dx_udp *u, send_req *s, int *status)
{
  struct msghdr msg;
  memset (&msg, 0, sizeof msg);
  msg.msg_name = (void *) s->to.sa.bytes;
  msg.msg_namelen = (socklen_t) s->to.len;
  msg.msg_iov = s->iov;
  msg.msg_iovlen = s->nbufs;
  for (;;) {
    ssize_t r = sendmsg (u->io.fd, &msg, 0);
    if (r >= 0) {
      *status = 0;
      return 0;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
      return DX_ENOBUFS;
    *status = dx__err_last_errno ();
    return 0;
  }
}

static void
udp_flush (dx_udp *u)
{
  while (!dx_list_empty (&u->send_queue)) {
    send_req *s = DX_CONTAINER_OF (u->send_queue.next, send_req, link);
    int status;
    if (udp_try_send (u, s, &status) < 0)
      return; /* still full: wait for writability */
    dx_list_remove (&s->link);
    u->send_queue_bytes -= s->bytes;
    dx__req_done (u->h.loop, &s->req, status);
  }
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
  for (size_t i = 0; i < nbufs; i++)
    total += bufs[i].len;
  bool queued = !dx_list_empty (&u->send_queue);
  if (queued && u->send_queue_bytes + total > DX_UDP_SEND_QUEUE_BYTES)
    return DX_ENOBUFS;
  send_req *s = malloc (sizeof *s + nbufs * sizeof (struct iovec));
  if (!s)
    return DX_ENOMEM;
  memset (&s->req, 0, sizeof s->req);
  s->req.run = send_req_run;
  s->req.handle = &u->h;
  dx_list_init (&s->link);
  s->cb = cb;
  s->arg = arg;
  s->to = *to;
  s->bytes = total;
  s->nbufs = nbufs;
  for (size_t i = 0; i < nbufs; i++) {
    s->iov[i].iov_base = bufs[i].base;
    s->iov[i].iov_len = bufs[i].len;
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
  udp_update (u);
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
  if (!u || u->io.fd < 0 || recv_bytes > (size_t) 1 << 30 || send_bytes > (size_t) 1 << 30)
    return DX_EINVAL;
  int v;
  if (recv_bytes) {
    v = (int) recv_bytes;
    if (setsockopt (u->io.fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) < 0)
      return dx__err_last_errno ();
  }
  if (send_bytes) {
    v = (int) send_bytes;
    if (setsockopt (u->io.fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) < 0)
      return dx__err_last_errno ();
  }
  return 0;
}

static int
udp_sockname (const dx_udp *u, struct sockaddr_storage *ss)
{
  socklen_t len = sizeof *ss;
  if (!u || u->io.fd < 0)
    return DX_EINVAL;
  if (getsockname (u->io.fd, (struct sockaddr *) ss, &len) < 0)
    return dx__err_last_errno ();
  return 0;
}

int
dx_udp_port (const dx_udp *u)
{
  struct sockaddr_storage ss;
  int rc = udp_sockname (u, &ss);
  return rc < 0 ? rc : dx__addr_port ((struct sockaddr *) &ss);
}

int
dx_udp_name (const dx_udp *u, char *buf, size_t len)
{
  struct sockaddr_storage ss;
  int rc = udp_sockname (u, &ss);
  return rc < 0 ? rc : dx__addr_format ((struct sockaddr *) &ss, buf, len);
}

/* ---- readiness dispatch and close ----------------------------------------- */

static void
udp_io_cb (dx_loop *loop, dx_io *io, unsigned revents)
{
  dx_udp *u = DX_CONTAINER_OF (io, dx_udp, io);
  (void) loop;
  if (dx__is_closing (u))
    return;
  if ((revents & (DX_IO_READ | DX_IO_ERROR)) && u->receiving)
    udp_do_recv (u);
  if ((revents & (DX_IO_WRITE | DX_IO_ERROR)) && !dx__is_closing (u))
    udp_flush (u);
  udp_update (u);
}

void
dx__udp_close (dx_udp *u)
{
  dx__io_remove (u->h.loop, &u->io);
  if (u->io.fd >= 0)
    close (u->io.fd);
  u->io.fd = -1;
  u->receiving = false;
  while (!dx_list_empty (&u->send_queue)) {
    send_req *s = DX_CONTAINER_OF (u->send_queue.next, send_req, link);
    dx_list_remove (&s->link);
    dx__req_done (u->h.loop, &s->req, DX_ECANCELED);
  }
  u->send_queue_bytes = 0;
  free (u->rbuf);
  u->rbuf = NULL;
  dx__handle_close_done (&u->h);
}
