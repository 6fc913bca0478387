/* Connected TCP streams on the readiness backends (epoll and poll):
 * reading, writing, the flush phase, shutdown, the end of a connect and
 * close. Sockets, connecting and listeners are in tcp-posix.c; the Windows
 * mirror of this file is stream-win.c (see tcp-private.h).
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
 * On the uring backend (backend->send_start) the flush phase does not call
 * sendmsg: it starts one send request per stream, and the ring submits all
 * of them with its wait, in one system call; the writes stay queued until
 * the kernel answers (dx__stream_send_done), and a close waits for that
 * answer (cancelling the send) before it fails them.
 * Level-triggered readiness keeps it simple: an fd is watched for exactly
 * what we want from it now, and not at all when we want nothing (so a reset
 * idle socket cannot make epoll/poll spin). */
#include "platform/tcp-private.h"

#include <errno.h>
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

typedef struct {
  dx_req req;
  dx_list link; /* in stream->write_queue */
  dx_write_cb cb;
  void *arg;
  dx_buf *bufs; /* small[] or heap */
  size_t nbufs;
  size_t first; /* first buffer not fully written */
  dx_buf small[4];
} write_req;

static void stream_io_cb (dx_loop *loop, dx_io *io, unsigned revents);
static void write_req_run (dx_req *req);
static void connect_req_run (dx_req *req);
static void shutdown_req_run (dx_req *req);

/* ---- stream state -------------------------------------------------------- */

/* Sends complete on their own (uring): no writability to watch. */
static bool
stream_sends_async (const dx_stream *s)
{
  return s->h.loop->backend->send_start != NULL;
}

static unsigned
stream_wanted (const dx_stream *s)
{
  if (dx__is_closing (s))
    return 0;
  if (s->connecting)
    return DX_IO_WRITE;
  unsigned ev = 0;
  if (s->reading)
    ev |= DX_IO_READ;
  if (!dx_list_empty (&s->write_queue) && !stream_sends_async (s))
    ev |= DX_IO_WRITE;
  return ev;
}

static void
stream_update (dx_stream *s)
{
  if (!dx__is_closing (s))
    dx__io_update (s->h.loop, &s->io, stream_wanted (s));
}

dx_stream *
dx__stream_new (dx_loop *loop, dx_socket_t sock)
{
  dx_stream *s = dx__handle_new (loop, DX_HANDLE_STREAM, sizeof *s);
  if (!s)
    return NULL;
  s->io.fd = sock;
  s->io.cb = stream_io_cb;
  dx_list_init (&s->write_queue);
  dx_list_init (&s->flush_link);
  s->connect_req.run = connect_req_run;
  s->connect_req.handle = &s->h;
  s->shutdown_req.run = shutdown_req_run;
  s->shutdown_req.handle = &s->h;
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
  int status = req->status == 0 && dx__is_closing (s) ? DX_ECANCELED : req->status;
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
  for (size_t i = w->first; i < w->nbufs; i++)
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
  if (s->shutdown_requested && !s->shutdown_done) {
    s->shutdown_done = true;
    dx__req_done (s->h.loop, &s->shutdown_req, err);
  }
}

static void
stream_do_shutdown (dx_stream *s)
{
  int rc = 0;
  if (s->write_err < 0)
    rc = s->write_err;
  else if (shutdown (s->io.fd, SHUT_WR) < 0)
    rc = dx__err_last_errno ();
  s->shutdown_done = true;
  dx__req_done (s->h.loop, &s->shutdown_req, rc);
}

/* ---- writing -------------------------------------------------------------- */

/* The kernel took `written` bytes from the front of the queue: writes sent
 * whole complete (in order), a write sent in part keeps its rest. Returns
 * false when one did (the kernel is full). */
static bool
stream_consume (dx_stream *s, size_t written)
{
  s->write_queue_size -= written;
  while (!dx_list_empty (&s->write_queue)) {
    write_req *w = DX_CONTAINER_OF (s->write_queue.next, write_req, link);
    while (w->first < w->nbufs && written >= w->bufs[w->first].len) {
      written -= w->bufs[w->first].len;
      w->first++;
    }
    if (w->first < w->nbufs) {
      w->bufs[w->first].base += written;
      w->bufs[w->first].len -= written;
      return false;
    }
    dx_list_remove (&w->link);
    dx__req_done (s->h.loop, &w->req, 0);
  }
  return true;
}

/* Gather the unsent buffers of the queued writes, oldest first, into iov
 * (at most DX_WRITE_BUFS_MAX). Returns the count. */
static int
stream_gather (const dx_stream *s, struct iovec *iov)
{
  int n = 0;
  for (const dx_list *l = s->write_queue.next; l != &s->write_queue && n < DX_WRITE_BUFS_MAX;
       l = l->next) {
    const write_req *w = DX_CONTAINER_OF (l, write_req, link);
    for (size_t i = w->first; i < w->nbufs && n < DX_WRITE_BUFS_MAX; i++) {
      if (w->bufs[i].len == 0)
        continue;
      iov[n].iov_base = w->bufs[i].base;
      iov[n].iov_len = w->bufs[i].len;
      n++;
    }
  }
  return n;
}

/* Completion-based sends: give the queue's buffers to the kernel in one
 * send request (one at a time keeps the bytes in order); its answer comes
 * to dx__stream_send_done. Writes of nothing complete here. */
static void
stream_send_start (dx_stream *s)
{
  while (!s->send_op && !dx_list_empty (&s->write_queue)) {
    struct iovec iov[DX_WRITE_BUFS_MAX];
    int n = stream_gather (s, iov);
    if (n == 0) {
      stream_consume (s, 0); /* only empty writes were queued */
      continue;
    }
    int rc = s->h.loop->backend->send_start (s->h.loop, s, iov, n);
    if (rc < 0) {
      s->write_err = rc;
      stream_fail_writes (s, rc);
    }
    return;
  }
  if (!s->send_op && s->shutdown_requested && !s->shutdown_done)
    stream_do_shutdown (s);
}

/* Hand as much of the queue to the kernel as it takes, then half-close if
 * a shutdown waits for the queue. Completed requests go to the pending
 * queue. */
static void
stream_flush (dx_stream *s)
{
  if (stream_sends_async (s)) {
    stream_send_start (s);
    return;
  }
  while (!dx_list_empty (&s->write_queue)) {
    struct iovec iov[DX_WRITE_BUFS_MAX];
    int n = stream_gather (s, iov);
    size_t written = 0; /* only empty writes: they complete */
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
        s->write_err = dx__err_last_errno ();
        stream_fail_writes (s, s->write_err);
        return;
      }
      written = (size_t) r;
    }
    if (!stream_consume (s, written))
      return; /* partial write: wait for writability */
  }
  if (s->shutdown_requested && !s->shutdown_done)
    stream_do_shutdown (s);
}

void
dx__streams_flush (dx_loop *loop)
{
  while (!dx_list_empty (&loop->flush_list)) {
    dx_stream *s = DX_CONTAINER_OF (loop->flush_list.next, dx_stream, flush_link);
    dx_list_remove (&s->flush_link); /* leaves it self-linked: unlisted */
    stream_flush (s);
    stream_update (s);
  }
}

int
dx_write (dx_stream *s, const dx_buf *bufs, size_t nbufs, dx_write_cb cb, void *arg)
{
  if (!s || (nbufs > 0 && !bufs))
    return DX_EINVAL;
  if (dx__is_closing (s))
    return DX_ECANCELED;
  if (s->shutdown_requested)
    return DX_EPIPE;
  if (s->write_err < 0)
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
  w->first = 0;
  w->cb = cb;
  w->arg = arg;
  w->req.run = write_req_run;
  w->req.handle = &s->h;
  w->req.queued = false;
  bool was_empty = dx_list_empty (&s->write_queue);
  dx_list_push_back (&s->write_queue, &w->link);
  s->write_queue_size += write_req_remaining (w);
  if (was_empty && !s->connecting) {
    /* Leave it to the flush phase, when whatever else is written to this
     * stream meanwhile goes out with it. Until then no write interest is
     * registered: nothing to poll for. */
    if (dx_list_empty (&s->flush_link))
      dx_list_push_back (&s->h.loop->flush_list, &s->flush_link);
    return 0;
  }
  /* Listed already: the flush phase sends this write with the others.
   * Watching writability meanwhile would cost two epoll_ctl calls per
   * stream and iteration of a fan-out (add, then remove once sent). */
  if (!dx_list_empty (&s->flush_link))
    return 0;
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
  if (dx__is_closing (s))
    return DX_ECANCELED;
  if (s->shutdown_requested)
    return DX_EALREADY;
  s->shutdown_requested = true;
  s->shutdown_cb = cb;
  s->shutdown_arg = arg;
  /* Queued writes (or a connect) go first: their flush half-closes. */
  if (dx_list_empty (&s->write_queue) && !s->connecting)
    stream_do_shutdown (s);
  return 0;
}

/* ---- reading -------------------------------------------------------------- */

/* The last read callback: EOF or an error. */
static void
stream_read_end (dx_stream *s, ptrdiff_t status, const dx_buf *buf)
{
  s->reading = false;
  s->read_done = true;
  s->read_cb (s, status, buf);
}

/* The fd is readable: hand the data over in buffers that the user gives us
 * now, not before. */
static void
stream_do_read (dx_stream *s)
{
  for (int i = 0; i < DX_READS_PER_WAKEUP; i++) {
    if (dx__is_closing (s) || !s->reading)
      return;
    dx_buf buf = { NULL, 0 };
    s->alloc_cb (s, DX_READ_SUGGESTED, &buf);
    if (dx__is_closing (s) || !s->reading)
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
  if (dx__is_closing (s))
    return DX_ECANCELED;
  if (s->reading)
    return DX_EALREADY;
  if (s->read_done)
    return DX_EOF; /* nothing after EOF or an error (semantic 2) */
  s->alloc_cb = alloc_cb;
  s->read_cb = read_cb;
  s->reading = true;
  stream_update (s);
  return 0;
}

int
dx_read_stop (dx_stream *s)
{
  if (!s)
    return DX_EINVAL;
  s->reading = false;
  stream_update (s);
  return 0;
}

/* ---- the end of a connect ------------------------------------------------- */

/* A failed connect: connect_cb carries the error, nothing is read, and
 * writes fail with it. */
static void
stream_connect_failed (dx_stream *s, int err)
{
  s->reading = false;
  s->read_done = true;
  s->write_err = err;
  stream_fail_writes (s, err);
}

void
dx__stream_connect_started (dx_stream *s)
{
  s->connecting = true;
  stream_update (s); /* writability says the connect ended */
}

void
dx__stream_connect_ended (dx_stream *s, int status)
{
  s->connecting = false;
  dx__req_done (s->h.loop, &s->connect_req, status);
  if (status < 0)
    stream_connect_failed (s, status);
}

/* The connect that dx__stream_connect_started waited for ended. */
static void
stream_connect_done (dx_stream *s, int status)
{
  s->connecting = false;
  if (status < 0)
    stream_connect_failed (s, status);
  if (s->connect_cb)
    s->connect_cb (s, status, s->connect_arg);
  if (status == 0 && !dx__is_closing (s)) {
    /* Writes and a shutdown may have waited for the connection. */
    if (!dx_list_empty (&s->write_queue))
      stream_flush (s);
    else if (s->shutdown_requested && !s->shutdown_done)
      stream_do_shutdown (s);
  }
}

/* ---- readiness dispatch --------------------------------------------------- */

static void
stream_io_cb (dx_loop *loop, dx_io *io, unsigned revents)
{
  dx_stream *s = DX_CONTAINER_OF (io, dx_stream, io);
  (void) loop;
  if (dx__is_closing (s))
    return;
  if (s->connecting) {
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
  if ((revents & (DX_IO_READ | DX_IO_ERROR)) && s->reading)
    stream_do_read (s);
  if ((revents & (DX_IO_WRITE | DX_IO_ERROR)) && !dx__is_closing (s)
      && !dx_list_empty (&s->write_queue))
    stream_flush (s);
  stream_update (s);
}

/* ---- completion-based sends ------------------------------------------------ */

static void stream_close_finish (dx_stream *s);

void
dx__stream_send_done (dx_stream *s, ptrdiff_t result)
{
  s->send_op = NULL;
  if (dx__is_closing (s)) {
    stream_close_finish (s); /* dx__stream_close waited for us */
    return;
  }
  if (result < 0) {
    s->write_err = (int) result;
    stream_fail_writes (s, s->write_err);
    return;
  }
  stream_consume (s, (size_t) result);
  /* The rest of a partial send, or writes queued meanwhile, go out with
   * the next flush phase (with every other stream's). */
  if (!dx_list_empty (&s->write_queue)) {
    if (dx_list_empty (&s->flush_link))
      dx_list_push_back (&s->h.loop->flush_list, &s->flush_link);
  } else if (s->shutdown_requested && !s->shutdown_done) {
    stream_do_shutdown (s);
  }
}

/* ---- close ---------------------------------------------------------------- */

/* Nothing of the stream is left in the kernel: fail what is queued, then
 * close_cb (after those callbacks, semantic 4). */
static void
stream_close_finish (dx_stream *s)
{
  stream_fail_writes (s, DX_ECANCELED);
  dx__handle_close_done (&s->h);
}

void
dx__stream_close (dx_stream *s)
{
  dx_loop *loop = s->h.loop;
  dx__io_remove (loop, &s->io);
  dx_list_remove (&s->flush_link); /* a deferred flush is cancelled below */
  if (s->io.fd >= 0)
    close (s->io.fd);
  s->io.fd = -1;
  if (s->connecting && !s->connect_req.queued)
    dx__stream_connect_ended (s, DX_ECANCELED);
  s->reading = false;
  if (s->send_op) {
    /* The kernel may still read the queued buffers: they stay valid (and
     * their writes uncompleted) until it answers. The socket itself lives
     * on in the send request until then; closing the fd is safe. */
    loop->backend->send_cancel (loop, s);
    return;
  }
  stream_close_finish (s);
}
