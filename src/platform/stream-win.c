/* Connected TCP streams on IOCP: reading, writing, the flush phase,
 * shutdown, the end of a connect and close. Sockets, connecting and
 * listeners are in tcp-win.c; the port itself in loop-iocp.c. The POSIX
 * mirror of this file is stream-posix.c (see tcp-private.h).
 *
 * How the semantics of loop.h are met:
 *  - Every kernel operation (WSARecv, WSASend, ConnectEx) is overlapped and
 *    its completion always comes back through the port, so no user
 *    callback can run inside the call that started it.
 *  - Write, connect and shutdown callbacks go through the shared pending
 *    queue (dx__req_done), which keeps them in order with each other and
 *    with close_cb.
 *  - Writes: dx_write only queues the write and, when the stream was idle,
 *    lists it for the loop's flush phase (dx__streams_flush, run just
 *    before the loop polls), which sends everything queued meanwhile with
 *    ONE gathered WSASend: a fan-out that queues k messages to a
 *    subscriber in one iteration costs one send, not k (as stream-posix.c
 *    does with sendmsg).
 *  - Reads: a zero-byte WSARecv is kept pending while reading; when it
 *    completes data is there, and only then alloc_cb is asked for a buffer
 *    and a non-blocking recv() fills it. An idle connection pins no buffer.
 *  - Close: CancelIoEx then closesocket; the stream counts its operations
 *    in the kernel and calls dx__handle_close_done() when the count is 0.
 *    ANY failed completion on a closing stream is taken as "cancelled"
 *    (Wine reports a WSARecv pending at closesocket as error 676, not 995).
 */
#include "platform/tcp-private.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <mswsock.h>

typedef struct {
  dx_req req;
  dx_list link; /* in stream->write_queue */
  dx_write_cb cb;
  void *arg;
  size_t bytes; /* bytes not yet sent (queue-size accounting) */
  DWORD nbufs;
  DWORD first; /* first WSABUF not fully sent */
  WSABUF bufs[];
} write_req;

static void recv0_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e);
static void send_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e);
static void connect_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e);
static void connect_req_run (dx_req *req);
static void shutdown_req_run (dx_req *req);

/* ---- stream state -------------------------------------------------------- */

dx_stream *
dx__stream_new (dx_loop *loop, dx_socket_t sock)
{
  dx_stream *s = dx__handle_new (loop, DX_HANDLE_STREAM, sizeof *s);
  if (!s)
    return NULL;
  s->sock = sock;
  dx_list_init (&s->write_queue);
  dx_list_init (&s->flush_link);
  s->recv0.complete = recv0_complete;
  s->send_op.complete = send_complete;
  s->connect_op.complete = connect_complete;
  s->connect_req.run = connect_req_run;
  s->connect_req.handle = &s->h;
  s->shutdown_req.run = shutdown_req_run;
  s->shutdown_req.handle = &s->h;
  /* recv() after a zero-byte completion must never block the loop. */
  u_long on = 1;
  ioctlsocket (sock, FIONBIO, &on);
  return s;
}

static void
stream_maybe_close_done (dx_stream *s)
{
  if (s->outstanding == 0 && !(s->h.flags & DX_HF_CLOSED))
    dx__handle_close_done (&s->h);
}

/* ---- request completion --------------------------------------------------- */

static void
write_req_run (dx_req *req)
{
  write_req *w = DX_CONTAINER_OF (req, write_req, req);
  if (w->cb)
    w->cb ((dx_stream *) req->handle, req->status, w->arg);
  free (w);
}

static void
connect_req_run (dx_req *req)
{
  dx_stream *s = (dx_stream *) req->handle;
  /* Closed before the callback could run: report it as cancelled, like
   * the other backends, even if the connection had been made. */
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

static void
write_finish (dx_stream *s, write_req *w, int status)
{
  if (status < 0 && status != DX_ECANCELED && s->write_err == 0)
    s->write_err = status;
  dx_list_remove (&w->link);
  s->write_queue_size -= w->bytes;
  w->req.run = write_req_run;
  w->req.handle = &s->h;
  dx__req_done (s->h.loop, &w->req, status);
}

/* Fail every queued write (and a waiting shutdown) with err, in order.
 * Only with nothing of the writes in the kernel. */
static void
stream_fail_writes (dx_stream *s, int err)
{
  while (!dx_list_empty (&s->write_queue)) {
    write_req *w = DX_CONTAINER_OF (s->write_queue.next, write_req, link);
    write_finish (s, w, err);
  }
  if (s->shutdown_requested && !s->shutdown_done) {
    s->shutdown_done = true;
    dx__req_done (s->h.loop, &s->shutdown_req, err);
  }
}

static void
stream_do_shutdown (dx_stream *s)
{
  int rc = shutdown (s->sock, SD_SEND) == 0 ? 0 : dx__err_last_wsa ();
  s->shutdown_done = true;
  dx__req_done (s->h.loop, &s->shutdown_req, rc);
}

/* ---- writing -------------------------------------------------------------- */

/* Skip the bytes a partial send already sent. */
static void
write_advance (write_req *w, size_t done)
{
  while (done > 0 && w->first < w->nbufs) {
    WSABUF *b = &w->bufs[w->first];
    if (done >= b->len) {
      done -= b->len;
      w->first++;
    } else {
      b->buf += done;
      b->len -= (ULONG) done;
      done = 0;
    }
  }
}

/* The kernel took `done` bytes from the front of the queue: writes sent
 * whole complete (in order), a write sent in part keeps its rest. */
static void
stream_consume (dx_stream *s, size_t done)
{
  while (done > 0 && !dx_list_empty (&s->write_queue)) {
    write_req *w = DX_CONTAINER_OF (s->write_queue.next, write_req, link);
    if (w->bytes > done) {
      s->write_queue_size -= done;
      w->bytes -= done;
      write_advance (w, done);
      return;
    }
    done -= w->bytes;
    write_finish (s, w, 0);
  }
}

/* Gather the unsent buffers of the queued writes, oldest first, into bufs:
 * at most DX_WRITE_BUFS_MAX of them and under 2 GiB in all (unless one
 * buffer alone is larger), so one WSASend's byte count cannot overflow.
 * Returns the count; *total gets their length. */
static DWORD
stream_gather (dx_stream *s, WSABUF *bufs, size_t *total)
{
  DWORD n = 0;
  *total = 0;
  for (dx_list *l = s->write_queue.next; l != &s->write_queue; l = l->next) {
    write_req *w = DX_CONTAINER_OF (l, write_req, link);
    for (DWORD i = w->first; i < w->nbufs; i++) {
      if (w->bufs[i].len == 0)
        continue;
      if (n == DX_WRITE_BUFS_MAX || (n > 0 && *total + w->bufs[i].len > (size_t) INT_MAX))
        return n;
      bufs[n++] = w->bufs[i];
      *total += w->bufs[i].len;
    }
  }
  return n;
}

/* Send what is queued, gathering the buffers of every queued write into
 * one WSASend (bounded by stream_gather), then half-close if a shutdown
 * waits for the queue. One WSASend in the kernel at a time keeps the order
 * obvious; write_queue_size counts what has not completed yet. */
static void
stream_flush (dx_stream *s)
{
  if (s->connecting)
    return; /* the end of the connect flushes */
  while (!s->write_inflight && !dx_list_empty (&s->write_queue)) {
    write_req *w = DX_CONTAINER_OF (s->write_queue.next, write_req, link);
    if (s->write_err < 0) {
      write_finish (s, w, s->write_err);
      continue;
    }
    if (w->bytes == 0) {
      write_finish (s, w, 0); /* nothing to send; still called back later */
      continue;
    }
    /* Winsock copies the WSABUF array (not the bytes) when WSASend is
     * called, overlapped or not (documented; Wine copies it into its async
     * too), so a stack array is enough. */
    WSABUF bufs[DX_WRITE_BUFS_MAX];
    size_t total;
    DWORD n = stream_gather (s, bufs, &total);
    /* Try a plain non-blocking send first: when the socket buffer has
     * room (the usual case) the writes are done without an overlapped
     * operation, which is much cheaper (under Wine especially). The
     * callbacks still run later, from the pending queue. */
    DWORD sent = 0;
    if (WSASend (s->sock, bufs, n, &sent, 0, NULL, NULL) == 0) {
      stream_consume (s, sent);
      if (sent >= total)
        continue; /* all gathered: send what the bound left, if any */
      /* The socket buffer is full: the rest goes overlapped. */
      n = stream_gather (s, bufs, &total);
    } else if (WSAGetLastError () != WSAEWOULDBLOCK) {
      write_finish (s, w, dx__err_last_wsa ());
      continue;
    }
    memset (&s->send_op.ov, 0, sizeof s->send_op.ov);
    if (WSASend (s->sock, bufs, n, NULL, 0, &s->send_op.ov, NULL) != 0) {
      int e = WSAGetLastError ();
      if (e != WSA_IO_PENDING) {
        w = DX_CONTAINER_OF (s->write_queue.next, write_req, link);
        write_finish (s, w, dx__err_from_wsa (e));
        continue;
      }
    }
    s->write_inflight = true;
    s->outstanding++;
  }
  if (!s->write_inflight && dx_list_empty (&s->write_queue) && s->shutdown_requested
      && !s->shutdown_done)
    stream_do_shutdown (s);
}

void
dx__streams_flush (dx_loop *loop)
{
  while (!dx_list_empty (&loop->flush_list)) {
    dx_stream *s = DX_CONTAINER_OF (loop->flush_list.next, dx_stream, flush_link);
    dx_list_remove (&s->flush_link); /* leaves it self-linked: unlisted */
    stream_flush (s);
  }
}

static void
send_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e)
{
  dx_stream *s = DX_CONTAINER_OF (op, dx_stream, send_op);
  int status = dx__iocp_op_status (s->sock, e);
  s->write_inflight = false;
  s->outstanding--;
  if (dx__is_closing (s)) {
    /* What the kernel sent completes normally; the rest is cancelled,
     * in order, behind it. */
    if (status == 0)
      stream_consume (s, e->dwNumberOfBytesTransferred);
    stream_fail_writes (s, DX_ECANCELED);
    stream_maybe_close_done (s);
    return;
  }
  if (status < 0) {
    /* The oldest write takes the error; it is sticky, so stream_flush
     * fails the others behind it. */
    if (!dx_list_empty (&s->write_queue))
      write_finish (s, DX_CONTAINER_OF (s->write_queue.next, write_req, link), status);
  } else {
    /* Overlapped sends on stream sockets complete whole in practice; if
     * one ever comes back short, stream_flush sends the rest. */
    stream_consume (s, e->dwNumberOfBytesTransferred);
  }
  stream_flush (s);
}

int
dx_write (dx_stream *s, const dx_buf *bufs, size_t nbufs, dx_write_cb cb, void *arg)
{
  if (!s || (nbufs > 0 && !bufs) || nbufs > UINT32_MAX)
    return DX_EINVAL;
  if (dx__is_closing (s))
    return DX_ECANCELED;
  if (s->shutdown_requested)
    return DX_EPIPE;
  if (s->write_err < 0)
    return s->write_err;
  size_t total = 0;
  for (size_t i = 0; i < nbufs; i++) {
    if (bufs[i].len > ULONG_MAX || (bufs[i].len > 0 && !bufs[i].base))
      return DX_EINVAL;
    total += bufs[i].len;
  }
  write_req *w = calloc (1, sizeof *w + nbufs * sizeof (WSABUF));
  if (!w)
    return DX_ENOMEM;
  w->req.handle = &s->h;
  w->cb = cb;
  w->arg = arg;
  w->bytes = total;
  w->nbufs = (DWORD) nbufs;
  for (size_t i = 0; i < nbufs; i++) {
    w->bufs[i].buf = bufs[i].base;
    w->bufs[i].len = (ULONG) bufs[i].len;
  }
  dx_list_push_back (&s->write_queue, &w->link);
  s->write_queue_size += total;
  /* Leave it to the flush phase, so whatever else is written to this
   * stream meanwhile goes out in the same WSASend. A send in the kernel
   * or a connect in progress flushes the queue itself when it completes. */
  if (!s->write_inflight && !s->connecting && dx_list_empty (&s->flush_link))
    dx_list_push_back (&s->h.loop->flush_list, &s->flush_link);
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
  /* With a flush waiting for the flush phase, it half-closes after it. */
  if (dx_list_empty (&s->flush_link))
    stream_flush (s);
  return 0;
}

/* ---- reading -------------------------------------------------------------- */

static int
recv0_post (dx_stream *s)
{
  static char dummy;
  WSABUF buf = { 0, &dummy };
  s->recv0_flags = 0;
  memset (&s->recv0.ov, 0, sizeof s->recv0.ov);
  if (WSARecv (s->sock, &buf, 1, &s->recv0_bytes, &s->recv0_flags, &s->recv0.ov, NULL) != 0) {
    int e = WSAGetLastError ();
    if (e != WSA_IO_PENDING)
      return dx__err_from_wsa (e);
  }
  s->recv0_pending = true;
  s->outstanding++;
  return 0;
}

/* The last read callback: EOF or an error. buf is the buffer alloc_cb
 * gave for this read (so the user can free it), or NULL. */
static void
stream_read_end (dx_stream *s, int err, const dx_buf *buf)
{
  dx_buf none = { NULL, 0 };
  s->reading = false;
  s->read_done = true;
  s->read_cb (s, err, buf ? buf : &none);
}

static void
read_err_run (dx_req *req)
{
  dx_stream *s = (dx_stream *) req->handle;
  if (s->reading && !s->read_done && !dx__is_closing (s))
    stream_read_end (s, req->status, NULL);
}

/* Start the zero-byte read that says data is there. An error is reported
 * later, from the pending queue: we may be inside dx_read_start. */
static void
stream_read_resume (dx_stream *s)
{
  int rc = recv0_post (s);
  if (rc < 0 && !s->read_err_req.queued) {
    s->read_err_req.run = read_err_run;
    s->read_err_req.handle = &s->h;
    dx__req_done (s->h.loop, &s->read_err_req, rc);
  }
}

/* Data (or EOF, or an error) is ready: hand it over in buffers that the
 * user gives us now, not before. */
static void
stream_do_read (dx_stream *s)
{
  for (int i = 0; i < DX_READS_PER_WAKEUP; i++) {
    if (!s->reading || s->read_done || dx__is_closing (s))
      return;
    dx_buf buf = { NULL, 0 };
    s->alloc_cb (s, DX_READ_SUGGESTED, &buf);
    if (!s->reading || dx__is_closing (s))
      return; /* alloc_cb closed or stopped us */
    if (buf.base == NULL || buf.len == 0) {
      stream_read_end (s, DX_ENOMEM, &buf);
      return;
    }
    int len = buf.len > INT_MAX ? INT_MAX : (int) buf.len;
    int n = recv (s->sock, buf.base, len, 0);
    if (n > 0) {
      s->read_cb (s, n, &buf);
      if (n < len)
        return; /* most likely drained: wait for the next zero-byte read */
      continue;
    }
    if (n == 0) {
      stream_read_end (s, DX_EOF, &buf);
      return;
    }
    int e = WSAGetLastError ();
    if (e == WSAEWOULDBLOCK) {
      s->read_cb (s, 0, &buf); /* buffer returned unused */
      return;
    }
    stream_read_end (s, dx__err_from_wsa (e), &buf);
    return;
  }
}

static void
recv0_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e)
{
  dx_stream *s = DX_CONTAINER_OF (op, dx_stream, recv0);
  s->recv0_pending = false;
  s->outstanding--;
  if (dx__is_closing (s)) {
    stream_maybe_close_done (s);
    return;
  }
  if (!s->reading || s->read_done)
    return; /* read_stop while it was pending: leave the data queued */
  int status = dx__iocp_op_status (s->sock, e);
  if (status < 0) {
    stream_read_end (s, status, NULL);
    return;
  }
  stream_do_read (s);
  if (s->reading && !s->read_done && !dx__is_closing (s) && !s->recv0_pending) {
    int rc = recv0_post (s);
    if (rc < 0)
      stream_read_end (s, rc, NULL);
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
  /* Still connecting: the zero-byte read is posted when it succeeds. A
   * zero-byte read left over from before a read_stop is reused. */
  if (!s->connecting && !s->recv0_pending)
    stream_read_resume (s);
  return 0;
}

int
dx_read_stop (dx_stream *s)
{
  if (!s)
    return DX_EINVAL;
  /* A pending zero-byte WSARecv holds no buffer: leave it in the kernel;
   * its completion is ignored while not reading. */
  s->reading = false;
  return 0;
}

/* ---- the end of a connect ------------------------------------------------- */

/* A failed connect: connect_cb carries the error, nothing is read, and
 * writes fail with it (the error is sticky: the next stream_flush fails
 * whatever is queued, after connect_cb, which was queued first). */
static void
stream_connect_failed (dx_stream *s, int err)
{
  s->reading = false;
  s->read_done = true;
  s->write_err = err;
}

void
dx__stream_connect_started (dx_stream *s)
{
  s->connecting = true;
  s->outstanding++; /* the ConnectEx; connect_complete ends it */
}

void
dx__stream_connect_ended (dx_stream *s, int status)
{
  s->connecting = false;
  dx__req_done (s->h.loop, &s->connect_req, status);
  if (status < 0)
    stream_connect_failed (s, status);
}

static void
connect_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e)
{
  dx_stream *s = DX_CONTAINER_OF (op, dx_stream, connect_op);
  s->outstanding--;
  if (dx__is_closing (s)) {
    /* dx__stream_close already reported DX_ECANCELED. */
    stream_maybe_close_done (s);
    return;
  }
  int status = dx__iocp_op_status (s->sock, e);
  if (status == 0 && setsockopt (s->sock, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0)
    status = dx__err_last_wsa ();
  dx__stream_connect_ended (s, status);
  /* Writes, a shutdown and a read start may have waited for the
   * connection (after a failure, the flush fails them). */
  stream_flush (s);
  if (status == 0 && s->reading && !s->recv0_pending)
    stream_read_resume (s);
}

/* ---- close ---------------------------------------------------------------- */

void
dx__stream_close (dx_stream *s)
{
  s->reading = false;
  dx_list_remove (&s->flush_link); /* a deferred send is cancelled below */
  if (s->sock != INVALID_SOCKET) {
    /* Without CancelIoEx a large pending WSASend may never complete while
     * the peer is alive (measured under Wine), and close would hang. */
    CancelIoEx ((HANDLE) s->sock, NULL);
    closesocket (s->sock);
    s->sock = INVALID_SOCKET;
  }
  /* connect_cb first (the kernel's ConnectEx completion, still counted in
   * outstanding, then only holds close_cb back). */
  if (s->connecting)
    dx__stream_connect_ended (s, DX_ECANCELED);
  /* A write in the kernel completes first; the queued ones are cancelled
   * behind it (send_complete), so write callbacks stay in order. */
  if (!s->write_inflight)
    stream_fail_writes (s, DX_ECANCELED);
  stream_maybe_close_done (s);
}
