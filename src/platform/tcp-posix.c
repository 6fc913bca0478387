/* TCP streams and listeners for the readiness backends (epoll and poll).
 *
 * Completion semantics on top of readiness, as libuv does it:
 *  - reads: the fd is watched for readability only while reading; alloc_cb
 *    runs only once the fd is readable (semantic 5);
 *  - writes: dx_write only queues the write and, when the stream was idle,
 *    lists it for the loop's flush phase (dx__streams_flush, run just before
 *    the loop polls), which hands everything queued meanwhile to the kernel
 *    in one sendmsg. What does not fit stays queued and is sent when the fd
 *    turns writable, in order. Every write completion goes through the
 *    pending queue, so write_cb never runs inside dx_write (semantic 1) and
 *    runs in order (semantic 3);
 *  - close: queued requests are completed with DX_ECANCELED, then the close
 *    request is queued behind them (semantic 4).
 * Level-triggered readiness keeps it simple: an fd is watched for exactly
 * what we want from it now, and not at all when we want nothing (so a reset
 * idle socket cannot make epoll/poll spin). */
#include "platform/loop-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef MSG_NOSIGNAL
#define DX_SEND_FLAGS MSG_NOSIGNAL
#else
#define DX_SEND_FLAGS 0 /* SO_NOSIGPIPE is set on each socket instead */
#endif

enum {
  DX_READ_SUGGESTED = 64 * 1024,
  DX_READS_PER_WAKEUP = 32,   /* fairness between connections */
  DX_ACCEPTS_PER_WAKEUP = 64,
  DX_ACCEPT_BACKOFF_MS = 100, /* pause after EMFILE instead of spinning */
  DX_WRITE_IOV = 64,
};

enum {
  SF_CONNECTING = 1u << 0,
  SF_READING = 1u << 1,
  SF_READ_DONE = 1u << 2,   /* EOF or read error delivered */
  SF_SHUT_REQ = 1u << 3,    /* dx_shutdown called */
  SF_SHUT_DONE = 1u << 4,   /* shutdown(2) done or failed */
  SF_WRITE_ERR = 1u << 5,   /* a write failed; later writes fail too */
};

struct dx_stream {
  dx_handle h;
  dx_io io;
  unsigned sflags;
  int write_err;
  dx_alloc_cb alloc_cb;
  dx_read_cb read_cb;
  dx_list write_queue; /* write_req.link, oldest first */
  dx_list flush_link;  /* in loop->flush_list while a flush is deferred */
  size_t write_queue_size;
  dx_req connect_req;
  dx_connect_cb connect_cb;
  void *connect_arg;
  dx_req shutdown_req;
  dx_shutdown_cb shutdown_cb;
  void *shutdown_arg;
};

struct dx_listener {
  dx_handle h;
  dx_io io;
  dx_accept_cb cb;
  dx_timer_node backoff;
  bool paused;
};

typedef struct {
  dx_req req;
  dx_list link;
  dx_write_cb cb;
  void *arg;
  dx_buf *bufs;   /* small[] or heap */
  size_t nbufs;
  size_t idx;     /* first buffer not fully written */
  dx_buf small[4];
} write_req;

static void stream_io_cb (dx_loop *loop, dx_io *io, unsigned revents);
static void listener_io_cb (dx_loop *loop, dx_io *io, unsigned revents);

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

static int
new_socket (int family)
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

/* ---- stream state -------------------------------------------------------- */

static unsigned
stream_wanted (const dx_stream *s)
{
  if (s->h.flags & DX_HF_CLOSING)
    return 0;
  if (s->sflags & SF_CONNECTING)
    return DX_IO_WRITE;
  unsigned ev = 0;
  if (s->sflags & SF_READING)
    ev |= DX_IO_READ;
  if (!dx_list_empty (&s->write_queue))
    ev |= DX_IO_WRITE;
  return ev;
}

static void
stream_update (dx_stream *s)
{
  if (!(s->h.flags & DX_HF_CLOSING))
    dx__io_update (s->h.loop, &s->io, stream_wanted (s));
}

static dx_stream *
stream_new (dx_loop *loop, int fd)
{
  dx_stream *s = dx__handle_new (loop, DX_HANDLE_STREAM, sizeof *s);
  if (!s)
    return NULL;
  s->io.fd = fd;
  s->io.cb = stream_io_cb;
  dx_list_init (&s->write_queue);
  dx_list_init (&s->flush_link);
  return s;
}

/* ---- request completion --------------------------------------------------- */

static void
write_req_run (dx_req *req)
{
  write_req *w = DX_CONTAINER_OF (req, write_req, req);
  if (w->cb)
    w->cb ((dx_stream *) req->handle, req->status, w->arg);
  if (w->bufs != w->small)
    free (w->bufs);
  free (w);
}

static void
connect_req_run (dx_req *req)
{
  dx_stream *s = (dx_stream *) req->handle;
  /* Connected at once, but closed before we could say so: cancelled. */
  int status = req->status == 0 && (s->h.flags & DX_HF_CLOSING) ? DX_ECANCELED
                                                                  : req->status;
  if (s->connect_cb)
    s->connect_cb (s, status, s->connect_arg);
}

static void
shutdown_req_run (dx_req *req)
{
  dx_stream *s = (dx_stream *) req->handle;
  if (s->shutdown_cb)
    s->shutdown_cb (s, req->status, s->shutdown_arg);
}

static size_t
write_req_remaining (const write_req *w)
{
  size_t n = 0;
  for (size_t i = w->idx; i < w->nbufs; i++)
    n += w->bufs[i].len;
  return n;
}

/* Fail every queued write (and a waiting shutdown) with err. */
static void
stream_fail_writes (dx_stream *s, int err)
{
  while (!dx_list_empty (&s->write_queue)) {
    write_req *w = DX_CONTAINER_OF (s->write_queue.next, write_req, link);
    dx_list_remove (&w->link);
    dx__req_done (s->h.loop, &w->req, err);
  }
  s->write_queue_size = 0;
  if ((s->sflags & SF_SHUT_REQ) && !(s->sflags & SF_SHUT_DONE)) {
    s->sflags |= SF_SHUT_DONE;
    dx__req_done (s->h.loop, &s->shutdown_req, err);
  }
}

static void
stream_do_shutdown (dx_stream *s)
{
  int rc = 0;
  if (s->sflags & SF_WRITE_ERR)
    rc = s->write_err;
  else if (shutdown (s->io.fd, SHUT_WR) < 0)
    rc = dx__err_last_errno ();
  s->sflags |= SF_SHUT_DONE;
  dx__req_done (s->h.loop, &s->shutdown_req, rc);
}

/* ---- writing -------------------------------------------------------------- */

/* Hand as much of the queue to the kernel as it takes. Completed requests
 * go to the pending queue. */
static void
stream_flush (dx_stream *s)
{
  while (!dx_list_empty (&s->write_queue)) {
    struct iovec iov[DX_WRITE_IOV];
    int n = 0;
    for (dx_list *l = s->write_queue.next; l != &s->write_queue && n < DX_WRITE_IOV;
         l = l->next) {
      write_req *w = DX_CONTAINER_OF (l, write_req, link);
      for (size_t i = w->idx; i < w->nbufs && n < DX_WRITE_IOV; i++) {
        if (w->bufs[i].len == 0)
          continue;
        iov[n].iov_base = w->bufs[i].base;
        iov[n].iov_len = w->bufs[i].len;
        n++;
      }
    }
    size_t written = 0;
    if (n > 0) {
      struct msghdr msg;
      memset (&msg, 0, sizeof msg);
      msg.msg_iov = iov;
      msg.msg_iovlen = (size_t) n;
      ssize_t r = sendmsg (s->io.fd, &msg, DX_SEND_FLAGS);
      if (r < 0) {
        if (errno == EINTR)
          continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
          return;
        s->sflags |= SF_WRITE_ERR;
        s->write_err = dx__err_last_errno ();
        stream_fail_writes (s, s->write_err);
        return;
      }
      written = (size_t) r;
    }
    s->write_queue_size -= written;
    /* Advance through the requests by what was written. */
    while (!dx_list_empty (&s->write_queue)) {
      write_req *w = DX_CONTAINER_OF (s->write_queue.next, write_req, link);
      while (w->idx < w->nbufs && written >= w->bufs[w->idx].len) {
        written -= w->bufs[w->idx].len;
        w->idx++;
      }
      if (w->idx < w->nbufs) {
        w->bufs[w->idx].base += written;
        w->bufs[w->idx].len -= written;
        return; /* partial write: the kernel is full */
      }
      dx_list_remove (&w->link);
      dx__req_done (s->h.loop, &w->req, 0);
    }
  }
  if ((s->sflags & SF_SHUT_REQ) && !(s->sflags & SF_SHUT_DONE))
    stream_do_shutdown (s);
}

/* The flush phase: one sendmsg for each stream written to since the last
 * one, for everything it queued meanwhile. */
void
dx__streams_flush (dx_loop *loop)
{
  while (!dx_list_empty (&loop->flush_list)) {
    dx_stream *s = DX_CONTAINER_OF (loop->flush_list.next, dx_stream, flush_link);
    dx_list_remove (&s->flush_link);
    dx_list_init (&s->flush_link);
    stream_flush (s);
    stream_update (s);
  }
}

int
dx_write (dx_stream *s, const dx_buf *bufs, size_t nbufs, dx_write_cb cb,
          void *arg)
{
  if (!s || (nbufs > 0 && !bufs))
    return DX_EINVAL;
  if (s->h.flags & DX_HF_CLOSING)
    return DX_ECANCELED;
  if (s->sflags & SF_SHUT_REQ)
    return DX_EPIPE;
  if (s->sflags & SF_WRITE_ERR)
    return s->write_err;
  write_req *w = malloc (sizeof *w);
  if (!w)
    return DX_ENOMEM;
  w->bufs = nbufs <= 4 ? w->small : malloc (nbufs * sizeof *bufs);
  if (!w->bufs) {
    free (w);
    return DX_ENOMEM;
  }
  if (nbufs)
    memcpy (w->bufs, bufs, nbufs * sizeof *bufs);
  w->nbufs = nbufs;
  w->idx = 0;
  w->cb = cb;
  w->arg = arg;
  w->req.run = write_req_run;
  w->req.handle = &s->h;
  w->req.queued = false;
  bool was_empty = dx_list_empty (&s->write_queue);
  dx_list_push_back (&s->write_queue, &w->link);
  s->write_queue_size += write_req_remaining (w);
  if (was_empty && !(s->sflags & SF_CONNECTING)) {
    /* Leave it to the flush phase, when whatever else is written to this
     * stream meanwhile goes out with it. Until then no write interest is
     * registered: nothing to poll for. */
    if (dx_list_empty (&s->flush_link))
      dx_list_push_back (&s->h.loop->flush_list, &s->flush_link);
    return 0;
  }
  stream_update (s);
  return 0;
}

size_t
dx_write_queue_size (const dx_stream *s)
{
  return s ? s->write_queue_size : 0;
}

int
dx_shutdown (dx_stream *s, dx_shutdown_cb cb, void *arg)
{
  if (!s)
    return DX_EINVAL;
  if (s->h.flags & DX_HF_CLOSING)
    return DX_ECANCELED;
  if (s->sflags & SF_SHUT_REQ)
    return DX_EALREADY;
  s->sflags |= SF_SHUT_REQ;
  s->shutdown_cb = cb;
  s->shutdown_arg = arg;
  s->shutdown_req.run = shutdown_req_run;
  s->shutdown_req.handle = &s->h;
  if (dx_list_empty (&s->write_queue) && !(s->sflags & SF_CONNECTING))
    stream_do_shutdown (s);
  return 0;
}

/* ---- reading -------------------------------------------------------------- */

static void
stream_read_end (dx_stream *s, ptrdiff_t status, const dx_buf *buf)
{
  s->sflags &= ~(unsigned) SF_READING;
  s->sflags |= SF_READ_DONE;
  s->read_cb (s, status, buf);
}

static void
stream_do_read (dx_stream *s)
{
  for (int i = 0; i < DX_READS_PER_WAKEUP; i++) {
    if ((s->h.flags & DX_HF_CLOSING) || !(s->sflags & SF_READING))
      return;
    dx_buf buf = { NULL, 0 };
    s->alloc_cb (s, DX_READ_SUGGESTED, &buf);
    if ((s->h.flags & DX_HF_CLOSING) || !(s->sflags & SF_READING))
      return; /* alloc_cb closed or stopped us */
    if (!buf.base || buf.len == 0) {
      stream_read_end (s, DX_ENOMEM, &buf);
      return;
    }
    ssize_t n = recv (s->io.fd, buf.base, buf.len, 0);
    if (n > 0) {
      s->read_cb (s, n, &buf);
      if ((size_t) n < buf.len)
        return; /* drained; level-triggered readiness tells us about more */
      continue;
    }
    if (n == 0) {
      stream_read_end (s, DX_EOF, &buf);
      return;
    }
    if (errno == EINTR) {
      s->read_cb (s, 0, &buf);
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      s->read_cb (s, 0, &buf); /* hand the buffer back */
      return;
    }
    stream_read_end (s, dx__err_last_errno (), &buf);
    return;
  }
}

int
dx_read_start (dx_stream *s, dx_alloc_cb alloc_cb, dx_read_cb read_cb)
{
  if (!s || !alloc_cb || !read_cb)
    return DX_EINVAL;
  if (s->h.flags & DX_HF_CLOSING)
    return DX_ECANCELED;
  if (s->sflags & SF_READING)
    return DX_EALREADY;
  if (s->sflags & SF_READ_DONE)
    return DX_EOF; /* nothing after EOF or an error (semantic 2) */
  s->alloc_cb = alloc_cb;
  s->read_cb = read_cb;
  s->sflags |= SF_READING;
  stream_update (s);
  return 0;
}

int
dx_read_stop (dx_stream *s)
{
  if (!s)
    return DX_EINVAL;
  s->sflags &= ~(unsigned) SF_READING;
  stream_update (s);
  return 0;
}

/* ---- connecting ----------------------------------------------------------- */

static void
stream_connect_done (dx_stream *s, int status)
{
  s->sflags &= ~(unsigned) SF_CONNECTING;
  if (status < 0) {
    /* connect_cb carries the error; read_cb stays silent. */
    s->sflags &= ~(unsigned) SF_READING;
    s->sflags |= SF_WRITE_ERR | SF_READ_DONE;
    s->write_err = status;
    stream_fail_writes (s, status);
  }
  if (s->connect_cb)
    s->connect_cb (s, status, s->connect_arg);
  if (status == 0 && !(s->h.flags & DX_HF_CLOSING)) {
    if (!dx_list_empty (&s->write_queue))
      stream_flush (s);
    else if ((s->sflags & SF_SHUT_REQ) && !(s->sflags & SF_SHUT_DONE))
      stream_do_shutdown (s);
  }
}

int
dx_tcp_connect (dx_loop *loop, const char *addr, dx_connect_cb cb, void *arg,
                dx_stream **out)
{
  if (out)
    *out = NULL;
  if (!loop || !addr || !out)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  socklen_t len;
  int rc = dx__addr_parse (addr, &ss, &len);
  if (rc < 0)
    return rc;
  int fd = new_socket (ss.ss_family);
  if (fd < 0)
    return fd;
  dx_stream *s = stream_new (loop, fd);
  if (!s) {
    close (fd);
    return DX_ENOMEM;
  }
  s->connect_cb = cb;
  s->connect_arg = arg;
  s->connect_req.run = connect_req_run;
  s->connect_req.handle = &s->h;
  *out = s;
  int r;
  do
    r = connect (fd, (struct sockaddr *) &ss, len);
  while (r < 0 && errno == EINTR);
  if (r == 0) {
    dx__req_done (loop, &s->connect_req, 0);
  } else if (errno == EINPROGRESS) {
    s->sflags |= SF_CONNECTING;
    stream_update (s);
  } else {
    /* Immediate failure (e.g. refused on some systems): report it later,
     * from the loop, like any other completion. */
    int err = dx__err_last_errno ();
    s->sflags |= SF_WRITE_ERR | SF_READ_DONE;
    s->write_err = err;
    dx__req_done (loop, &s->connect_req, err);
  }
  return 0;
}

/* ---- readiness dispatch --------------------------------------------------- */

static void
stream_io_cb (dx_loop *loop, dx_io *io, unsigned revents)
{
  dx_stream *s = DX_CONTAINER_OF (io, dx_stream, io);
  (void) loop;
  if (s->h.flags & DX_HF_CLOSING)
    return;
  if (s->sflags & SF_CONNECTING) {
    if (!(revents & (DX_IO_WRITE | DX_IO_ERROR)))
      return;
    int soerr = 0;
    socklen_t slen = sizeof soerr;
    if (getsockopt (io->fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0)
      soerr = errno;
    stream_connect_done (s, dx__err_from_errno (soerr));
    stream_update (s);
    return;
  }
  if ((revents & (DX_IO_READ | DX_IO_ERROR)) && (s->sflags & SF_READING))
    stream_do_read (s);
  if ((revents & (DX_IO_WRITE | DX_IO_ERROR)) && !(s->h.flags & DX_HF_CLOSING)
      && !dx_list_empty (&s->write_queue))
    stream_flush (s);
  stream_update (s);
}

/* ---- close ---------------------------------------------------------------- */

void
dx__stream_close (dx_stream *s)
{
  dx_loop *loop = s->h.loop;
  dx__io_remove (loop, &s->io);
  if (!dx_list_empty (&s->flush_link)) {
    dx_list_remove (&s->flush_link);
    dx_list_init (&s->flush_link);
  }
  if (s->io.fd >= 0)
    close (s->io.fd);
  s->io.fd = -1;
  if ((s->sflags & SF_CONNECTING) && !s->connect_req.queued) {
    s->sflags &= ~(unsigned) SF_CONNECTING;
    dx__req_done (loop, &s->connect_req, DX_ECANCELED);
  }
  stream_fail_writes (s, DX_ECANCELED);
  s->sflags &= ~(unsigned) SF_READING;
  dx__handle_close_done (&s->h);
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

static void
listener_resume (dx_timer_node *node)
{
  dx_listener *l = DX_CONTAINER_OF (node, dx_listener, backoff);
  l->paused = false;
  dx__io_update (l->h.loop, &l->io, DX_IO_READ);
}

static void
listener_io_cb (dx_loop *loop, dx_io *io, unsigned revents)
{
  dx_listener *l = DX_CONTAINER_OF (io, dx_listener, io);
  (void) revents;
  for (int i = 0; i < DX_ACCEPTS_PER_WAKEUP; i++) {
    if (l->h.flags & DX_HF_CLOSING)
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
      case EPROTO:
        continue; /* the peer gave up before we accepted: not our error */
      default: {
        /* EMFILE, ENFILE, ENOBUFS, ENOMEM...: the pending connection stays
         * in the backlog and the fd stays readable, so stop watching it for
         * a moment instead of spinning. */
        int err = dx__err_last_errno ();
        l->paused = true;
        dx__io_update (loop, io, 0);
        dx__timer_node_start (loop, &l->backoff, DX_ACCEPT_BACKOFF_MS);
        l->cb (l, NULL, err);
        return;
      }
      }
    }
    dx_stream *s = stream_new (loop, fd);
    if (!s) {
      close (fd);
      l->cb (l, NULL, DX_ENOMEM);
      return;
    }
    l->cb (l, s, 0);
  }
}

int
dx_tcp_listen (dx_loop *loop, const char *addr, int backlog, dx_accept_cb cb,
               dx_listener **out)
{
  if (out)
    *out = NULL;
  if (!loop || !addr || !cb || !out)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  socklen_t len;
  int rc = dx__addr_parse (addr, &ss, &len);
  if (rc < 0)
    return rc;
  int fd = new_socket (ss.ss_family);
  if (fd < 0)
    return fd;
  int one = 1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &ss, len) < 0
      || listen (fd, backlog > 0 ? backlog : SOMAXCONN) < 0) {
    rc = dx__err_last_errno ();
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
  dx__timer_node_init (&l->backoff, listener_resume);
  rc = dx__io_update (loop, &l->io, DX_IO_READ);
  if (rc < 0) {
    l->h.flags |= DX_HF_CLOSING;
    dx__listener_close (l);
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
