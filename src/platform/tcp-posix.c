/* TCP sockets on the readiness backends (epoll and poll): creating them,
 * starting a connect, listening and accepting, options and names. What a
 * connected stream does is in stream-posix.c; the Windows mirror of this
 * file is tcp-win.c (see tcp-private.h). */
#include "platform/tcp-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

struct dx_listener {
  dx_handle h;
  dx_io io;
  dx_accept_cb cb;
  dx_timer_node backoff; /* accepting resumes when it fires */
};

#if !defined(SOCK_NONBLOCK) || !defined(__linux__)
static int
set_nonblock_cloexec (int fd)
{
  int fl = fcntl (fd, F_GETFL);
  if (fl < 0 || fcntl (fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return dx__err_last_errno ();
  fl = fcntl (fd, F_GETFD);
  if (fl < 0 || fcntl (fd, F_SETFD, fl | FD_CLOEXEC) < 0)
    return dx__err_last_errno ();
  return 0;
}
#endif

/* A non-blocking, close-on-exec TCP socket: the fd, or DX_E*. */
static int
socket_new (int family)
{
#ifdef SOCK_NONBLOCK
  int fd = socket (family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return dx__err_last_errno ();
#else
  int fd = socket (family, SOCK_STREAM, 0);
  if (fd < 0)
    return dx__err_last_errno ();
  int rc = set_nonblock_cloexec (fd);
  if (rc < 0) {
    close (fd);
    return rc;
  }
#endif
#ifdef SO_NOSIGPIPE
  int one = 1;
  setsockopt (fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  return fd;
}

/* Parse addr into *ss and make a socket of its family: the fd, or DX_E*. */
static int
socket_for_addr (const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
  int rc = dx__addr_parse (addr, ss, len);
  return rc < 0 ? rc : socket_new (ss->ss_family);
}

/* ---- connecting ----------------------------------------------------------- */

int
dx_tcp_connect (dx_loop *loop, const char *addr, dx_connect_cb cb, void *arg, dx_stream **out)
{
  if (out)
    *out = NULL;
  if (!loop || !addr || !out)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  socklen_t len;
  int fd = socket_for_addr (addr, &ss, &len);
  if (fd < 0)
    return fd;
  dx_stream *s = dx__stream_new (loop, fd);
  if (!s) {
    close (fd);
    return DX_ENOMEM;
  }
  s->connect_cb = cb;
  s->connect_arg = arg;
  *out = s;
  int r;
  do
    r = connect (fd, (struct sockaddr *) &ss, len);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    dx__stream_connect_ended (s, 0);
  else if (errno == EINPROGRESS)
    dx__stream_connect_started (s);
  else /* e.g. refused at once on some systems: reported later all the same */
    dx__stream_connect_ended (s, dx__err_last_errno ());
  return 0;
}

/* ---- options and names ---------------------------------------------------- */

int
dx_tcp_nodelay (dx_stream *s, bool enable)
{
  if (!s || s->io.fd < 0)
    return DX_EINVAL;
  int v = enable;
  if (setsockopt (s->io.fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0)
    return dx__err_last_errno ();
  return 0;
}

int
dx_tcp_keepalive (dx_stream *s, bool enable, unsigned delay_s)
{
  if (!s || s->io.fd < 0 || (enable && (delay_s == 0 || delay_s > INT_MAX)))
    return DX_EINVAL;
  int v = enable;
  if (setsockopt (s->io.fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v) < 0)
    return dx__err_last_errno ();
  if (!enable)
    return 0;
  int d = (int) delay_s;
#if defined(TCP_KEEPIDLE)
  if (setsockopt (s->io.fd, IPPROTO_TCP, TCP_KEEPIDLE, &d, sizeof d) < 0)
    return dx__err_last_errno ();
#elif defined(TCP_KEEPALIVE)
  if (setsockopt (s->io.fd, IPPROTO_TCP, TCP_KEEPALIVE, &d, sizeof d) < 0)
    return dx__err_last_errno ();
#endif
  return 0;
}

int
dx_stream_peer_name (const dx_stream *s, char *buf, size_t len)
{
  if (!s || s->io.fd < 0 || !buf)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  socklen_t slen = sizeof ss;
  if (getpeername (s->io.fd, (struct sockaddr *) &ss, &slen) < 0)
    return dx__err_last_errno ();
  return dx__addr_format ((struct sockaddr *) &ss, buf, len);
}

/* ---- listeners ------------------------------------------------------------ */

static int
accept_one (int lfd)
{
#ifdef __linux__
  int fd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
  int fd = accept (lfd, NULL, NULL);
  if (fd >= 0) {
    if (set_nonblock_cloexec (fd) < 0) {
      close (fd);
      errno = EIO;
      return -1;
    }
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  }
#endif
  return fd;
}

/* Accepting failed for want of resources (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM...): the pending connection stays in the backlog and the fd stays
 * readable, so stop watching it for a moment instead of spinning. */
static void
listener_backoff_start (dx_listener *l)
{
  dx__io_update (l->h.loop, &l->io, 0);
  dx__timer_node_start (l->h.loop, &l->backoff, DX_ACCEPT_BACKOFF_MS);
}

static void
listener_backoff_end (dx_timer_node *node)
{
  dx_listener *l = DX_CONTAINER_OF (node, dx_listener, backoff);
  dx__io_update (l->h.loop, &l->io, DX_IO_READ);
}

static void
listener_io_cb (dx_loop *loop, dx_io *io, unsigned revents)
{
  dx_listener *l = DX_CONTAINER_OF (io, dx_listener, io);
  (void) revents;
  for (int i = 0; i < DX_ACCEPTS_PER_WAKEUP; i++) {
    if (dx__is_closing (l))
      return;
    int fd = accept_one (io->fd);
    if (fd < 0) {
      switch (errno) {
      case EAGAIN:
#if EWOULDBLOCK != EAGAIN
      case EWOULDBLOCK:
#endif
        return;
      case EINTR:
      case ECONNABORTED:
      case EPROTO: continue; /* the peer gave up before we accepted: not our error */
      default: {
        int err = dx__err_last_errno ();
        listener_backoff_start (l);
        l->cb (l, NULL, err);
        return;
      }
      }
    }
    dx_stream *s = dx__stream_new (loop, fd);
    if (!s) {
      close (fd);
      l->cb (l, NULL, DX_ENOMEM);
      return;
    }
    l->cb (l, s, 0);
  }
}

int
dx_tcp_listen (dx_loop *loop, const char *addr, int backlog, dx_accept_cb cb, dx_listener **out)
{
  if (out)
    *out = NULL;
  if (!loop || !addr || !cb || !out)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  socklen_t len;
  int fd = socket_for_addr (addr, &ss, &len);
  if (fd < 0)
    return fd;
  int one = 1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &ss, len) < 0
      || listen (fd, backlog > 0 ? backlog : SOMAXCONN) < 0) {
    int rc = dx__err_last_errno ();
    close (fd);
    return rc;
  }
  dx_listener *l = dx__handle_new (loop, DX_HANDLE_LISTENER, sizeof *l);
  if (!l) {
    close (fd);
    return DX_ENOMEM;
  }
  l->io.fd = fd;
  l->io.cb = listener_io_cb;
  l->cb = cb;
  dx__timer_node_init (&l->backoff, listener_backoff_end);
  int rc = dx__io_update (loop, &l->io, DX_IO_READ);
  if (rc < 0) {
    dx_close (&l->h, NULL); /* fail now, cleanly */
    return rc;
  }
  *out = l;
  return 0;
}

static int
listener_sockname (const dx_listener *l, struct sockaddr_storage *ss)
{
  socklen_t slen = sizeof *ss;
  if (!l || l->io.fd < 0)
    return DX_EINVAL;
  if (getsockname (l->io.fd, (struct sockaddr *) ss, &slen) < 0)
    return dx__err_last_errno ();
  return 0;
}

int
dx_listener_port (const dx_listener *l)
{
  struct sockaddr_storage ss;
  int rc = listener_sockname (l, &ss);
  return rc < 0 ? rc : dx__addr_port ((struct sockaddr *) &ss);
}

int
dx_listener_name (const dx_listener *l, char *buf, size_t len)
{
  struct sockaddr_storage ss;
  int rc = listener_sockname (l, &ss);
  return rc < 0 ? rc : dx__addr_format ((struct sockaddr *) &ss, buf, len);
}

void
dx__listener_close (dx_listener *l)
{
  dx_loop *loop = l->h.loop;
  dx__timer_node_stop (loop, &l->backoff);
  dx__io_remove (loop, &l->io);
  if (l->io.fd >= 0)
    close (l->io.fd);
  l->io.fd = -1;
  dx__handle_close_done (&l->h);
}
