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
  dx_stream *st = dx__handle_new (loop, DX_HANDLE_STREAM, sizeof *st);
  if (!st)
    return NULL;
  st->sock = sock;
  dx_list_init (&st->write_queue);
  dx_list_init (&st->flush_link);
  st->recv0.complete = recv0_complete;
  st->send_op.complete = send_complete;
  st->connect_op.complete = connect_complete;
  st->connect_req.run = connect_req_run;
  st->connect_req.handle = &st->h;
  st->shutdown_req.run = shutdown_req_run;
  st->shutdown_req.handle = &st->h;
  /* recv() after a zero-byte completion must never block the loop. */
  u_long on = 1;
  ioctlsocket (sock, FIONBIO, &on);
  return st;
}

static void
stream_maybe_close_done (dx_stream *st)
{
  if (st->outstanding == 0 && !(st->h.flags & DX_HF_CLOSED))
    dx__handle_close_done (&st->h);
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
  dx_stream *st = (dx_stream *) req->handle;
  /* Closed before the callback could run: report it as cancelled, like
   * the other backends, even if the connection had been made. */
  int status = req->status == 0 && dx__is_closing (st) ? DX_ECANCELED : req->status;
  if (st->connect_cb)
    st->connect_cb (st, status, st->connect_arg);
}

static void
shutdown_req_run (dx_req *req)
{
  dx_stream *st = (dx_stream *) req->handle;
  if (st->shutdown_cb)
    st->shutdown_cb (st, req->status, st->shutdown_arg);
}

static void
write_finish (dx_stream *st, write_req *w, int status)
{
  if (status < 0 && status != DX_ECANCELED && st->write_err == 0)
    st->write_err = status;
  dx_list_remove (&w->link);
  st->write_queue_size -= w->bytes;
  w->req.run = write_req_run;
  w->req.handle = &st->h;
  dx__req_done (st->h.loop, &w->req, status);
}

/* Fail every queued write (and a waiting shutdown) with err, in order.
 * Only with nothing of the writes in the kernel. */
static void
stream_fail_writes (dx_stream *st, int err)
{
  while (!dx_list_empty (&st->write_queue)) {
    write_req *w = DX_CONTAINER_OF (st->write_queue.next, write_req, link);
    write_finish (st, w, err);
  }
  if (st->shutdown_requested && !st->shutdown_done) {
    st->shutdown_done = true;
    dx__req_done (st->h.loop, &st->shutdown_req, err);
  }
}

static void
stream_do_shutdown (dx_stream *st)
{
  int rc = shutdown (st->sock, SD_SEND) == 0 ? 0 : dx__err_last_wsa ();
  st->shutdown_done = true;
  dx__req_done (st->h.loop, &st->shutdown_req, rc);
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
stream_consume (dx_stream *st, size_t done)
{
  while (done > 0 && !dx_list_empty (&st->write_queue)) {
    write_req *w = DX_CONTAINER_OF (st->write_queue.next, write_req, link);
    if (w->bytes > done) {
      st->write_queue_size -= done;
      w->bytes -= done;
      write_advance (w, done);
      return;
    }
    done -= w->bytes;
    write_finish (st, w, 0);
  }
}

/* Gather the unsent buffers of the queued writes, oldest first, into bufs:
 * at most DX_WRITE_BUFS_MAX of them and under 2 GiB in all (unless one
 * buffer alone is larger), so one WSASend's byte count cannot overflow.
 * Returns the count; *total gets their length. */
static DWORD
stream_gather (dx_stream *st, WSABUF *bufs, size_t *total)
{
  DWORD n = 0;
  *total = 0;
  for (dx_list *l = st->write_queue.next; l != &st->write_queue; l = l->next) {
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
stream_flush (dx_stream *st)
{
  if (st->connecting)
    return; /* the end of the connect flushes */
  while (!st->write_inflight && !dx_list_empty (&st->write_queue)) {
    write_req *w = DX_CONTAINER_OF (st->write_queue.next, write_req, link);
    if (st->write_err < 0) {
      write_finish (st, w, st->write_err);
      continue;
    }
    if (w->bytes == 0) {
      write_finish (st, w, 0); /* nothing to send; still called back later */
      continue;
    }
    /* Winsock copies the WSABUF array (not the bytes) when WSASend is
     * called, overlapped or not (documented; Wine copies it into its async
     * too), so a stack array is enough. */
    WSABUF bufs[DX_WRITE_BUFS_MAX];
    size_t total;
    DWORD n = stream_gather (st, bufs, &total);
    /* Try a plain non-blocking send first: when the socket buffer has
     * room (the usual case) the writes are done without an overlapped
     * operation, which is much cheaper (under Wine especially). The
     * callbacks still run later, from the pending queue. */
    DWORD sent = 0;
    if (WSASend (st->sock, bufs, n, &sent, 0, NULL, NULL) == 0) {
      stream_consume (st, sent);
      if (sent >= total)
        continue; /* all gathered: send what the bound left, if any */
      /* The socket buffer is full: the rest goes overlapped. */
      n = stream_gather (st, bufs, &total);
    } else if (WSAGetLastError () != WSAEWOULDBLOCK) {
      write_finish (st, w, dx__err_last_wsa ());
      continue;
    }
    memset (&st->send_op.ov, 0, sizeof st->send_op.ov);
    if (WSASend (st->sock, bufs, n, NULL, 0, &st->send_op.ov, NULL) != 0) {
      int e = WSAGetLastError ();
      if (e != WSA_IO_PENDING) {
        w = DX_CONTAINER_OF (st->write_queue.next, write_req, link);
        write_finish (st, w, dx__err_from_wsa (e));
        continue;
      }
    }
    st->write_inflight = true;
    st->outstanding++;
  }
  if (!st->write_inflight && dx_list_empty (&st->write_queue) && st->shutdown_requested
      && !st->shutdown_done)
    stream_do_shutdown (st);
}

void
dx__streams_flush (dx_loop *loop)
{
  while (!dx_list_empty (&loop->flush_list)) {
    dx_stream *st = DX_CONTAINER_OF (loop->flush_list.next, dx_stream, flush_link);
    dx_list_remove (&st->flush_link); /* leaves it self-linked: unlisted */
    stream_flush (st);
  }
}

static void
send_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e)
{
  dx_stream *st = DX_CONTAINER_OF (op, dx_stream, send_op);
  int status = dx__iocp_op_status (st->sock, e);
  st->write_inflight = false;
  st->outstanding--;
  if (dx__is_closing (st)) {
    /* What the kernel sent completes normally; the rest is cancelled,
     * in order, behind it. */
    if (status == 0)
      stream_consume (st, e->dwNumberOfBytesTransferred);
    stream_fail_writes (st, DX_ECANCELED);
    stream_maybe_close_done (st);
    return;
  }
  if (status < 0) {
    /* The oldest write takes the error; it is sticky, so stream_flush
     * fails the others behind it. */
    if (!dx_list_empty (&st->write_queue))
      write_finish (st, DX_CONTAINER_OF (st->write_queue.next, write_req, link), status);
  } else {
    /* Overlapped sends on stream sockets complete whole in practice; if
     * one ever comes back short, stream_flush sends the rest. */
    stream_consume (st, e->dwNumberOfBytesTransferred);
  }
  stream_flush (st);
}

int
dx_write (dx_stream *stream, const dx_buf *bufs, size_t nbufs, dx_write_cb cb, void *arg)
{
  if (!stream || (nbufs > 0 && !bufs) || nbufs > UINT32_MAX)
    return DX_EINVAL;
  if (dx__is_closing (stream))
    return DX_ECANCELED;
  if (stream->shutdown_requested)
    return DX_EPIPE;
  if (stream->write_err < 0)
    return stream->write_err;
  size_t total = 0;
  for (size_t i = 0; i < nbufs; i++) {
    if (bufs[i].len > ULONG_MAX || (bufs[i].len > 0 && !bufs[i].base))
      return DX_EINVAL;
    total += bufs[i].len;
  }
  write_req *w = calloc (1, sizeof *w + nbufs * sizeof (WSABUF));
  if (!w)
    return DX_ENOMEM;
  w->req.handle = &stream->h;
  w->cb = cb;
  w->arg = arg;
  w->bytes = total;
  w->nbufs = (DWORD) nbufs;
  for (size_t i = 0; i < nbufs; i++) {
    w->bufs[i].buf = bufs[i].base;
    w->bufs[i].len = (ULONG) bufs[i].len;
  }
  dx_list_push_back (&stream->write_queue, &w->link);
  stream->write_queue_size += total;
  /* Leave it to the flush phase, so whatever else is written to this
   * stream meanwhile goes out in the same WSASend. A send in the kernel
   * or a connect in progress flushes the queue itself when it completes. */
  if (!stream->write_inflight && !stream->connecting && dx_list_empty (&stream->flush_link))
    dx_list_push_back (&stream->h.loop->flush_list, &stream->flush_link);
  return 0;
}

size_t
dx_write_queue_size (const dx_stream *stream)
{
  return stream ? stream->write_queue_size : 0;
}

int
dx_shutdown (dx_stream *stream, dx_shutdown_cb cb, void *arg)
{
  if (!stream)
    return DX_EINVAL;
  if (dx__is_closing (stream))
    return DX_ECANCELED;
  if (stream->shutdown_requested)
    return DX_EALREADY;
  stream->shutdown_requested = true;
  stream->shutdown_cb = cb;
  stream->shutdown_arg = arg;
  /* With a flush waiting for the flush phase, it half-closes after it. */
  if (dx_list_empty (&stream->flush_link))
    stream_flush (stream);
  return 0;
}

/* ---- reading -------------------------------------------------------------- */

static int
recv0_post (dx_stream *st)
{
  static char dummy;
  WSABUF buf = { 0, &dummy };
  st->recv0_flags = 0;
  memset (&st->recv0.ov, 0, sizeof st->recv0.ov);
  if (WSARecv (st->sock, &buf, 1, &st->recv0_bytes, &st->recv0_flags, &st->recv0.ov, NULL) != 0) {
    int e = WSAGetLastError ();
    if (e != WSA_IO_PENDING)
      return dx__err_from_wsa (e);
  }
  st->recv0_pending = true;
  st->outstanding++;
  return 0;
}

/* The last read callback: EOF or an error. buf is the buffer alloc_cb
 * gave for this read (so the user can free it), or NULL. */
static void
stream_read_end (dx_stream *st, int err, const dx_buf *buf)
{
  dx_buf none = { NULL, 0 };
  st->reading = false;
  st->read_done = true;
  st->read_cb (st, err, buf ? buf : &none);
}

static void
read_err_run (dx_req *req)
{
  dx_stream *st = (dx_stream *) req->handle;
  if (st->reading && !st->read_done && !dx__is_closing (st))
    stream_read_end (st, req->status, NULL);
}

/* Start the zero-byte read that says data is there. An error is reported
 * later, from the pending queue: we may be inside dx_read_start. */
static void
stream_read_resume (dx_stream *st)
{
  int rc = recv0_post (st);
  if (rc < 0 && !st->read_err_req.queued) {
    st->read_err_req.run = read_err_run;
    st->read_err_req.handle = &st->h;
    dx__req_done (st->h.loop, &st->read_err_req, rc);
  }
}

/* Data (or EOF, or an error) is ready: hand it over in buffers that the
 * user gives us now, not before. */
static void
stream_do_read (dx_stream *st)
{
  for (int i = 0; i < DX_READS_PER_WAKEUP; i++) {
    if (!st->reading || st->read_done || dx__is_closing (st))
      return;
    dx_buf buf = { NULL, 0 };
    st->alloc_cb (st, DX_READ_SUGGESTED, &buf);
    if (!st->reading || dx__is_closing (st))
      return; /* alloc_cb closed or stopped us */
    if (buf.base == NULL || buf.len == 0) {
      stream_read_end (st, DX_ENOMEM, &buf);
      return;
    }
    int len = buf.len > INT_MAX ? INT_MAX : (int) buf.len;
    int n = recv (st->sock, buf.base, len, 0);
    if (n > 0) {
      st->read_cb (st, n, &buf);
      if (n < len)
        return; /* most likely drained: wait for the next zero-byte read */
      continue;
    }
    if (n == 0) {
      stream_read_end (st, DX_EOF, &buf);
      return;
    }
    int e = WSAGetLastError ();
    if (e == WSAEWOULDBLOCK) {
      st->read_cb (st, 0, &buf); /* buffer returned unused */
      return;
    }
    stream_read_end (st, dx__err_from_wsa (e), &buf);
    return;
  }
}

static void
recv0_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e)
{
  dx_stream *st = DX_CONTAINER_OF (op, dx_stream, recv0);
  st->recv0_pending = false;
  st->outstanding--;
  if (dx__is_closing (st)) {
    stream_maybe_close_done (st);
    return;
  }
  if (!st->reading || st->read_done)
    return; /* read_stop while it was pending: leave the data queued */
  int status = dx__iocp_op_status (st->sock, e);
  if (status < 0) {
    stream_read_end (st, status, NULL);
    return;
  }
  stream_do_read (st);
  if (st->reading && !st->read_done && !dx__is_closing (st) && !st->recv0_pending) {
    int rc = recv0_post (st);
    if (rc < 0)
      stream_read_end (st, rc, NULL);
  }
}

int
dx_read_start (dx_stream *stream, dx_alloc_cb alloc_cb, dx_read_cb read_cb)
{
  if (!stream || !alloc_cb || !read_cb)
    return DX_EINVAL;
  if (dx__is_closing (stream))
    return DX_ECANCELED;
  if (stream->reading)
    return DX_EALREADY;
  if (stream->read_done)
    return DX_EOF; /* nothing after EOF or an error (semantic 2) */
  stream->alloc_cb = alloc_cb;
  stream->read_cb = read_cb;
  stream->reading = true;
  /* Still connecting: the zero-byte read is posted when it succeeds. A
   * zero-byte read left over from before a read_stop is reused. */
  if (!stream->connecting && !stream->recv0_pending)
    stream_read_resume (stream);
  return 0;
}

int
dx_read_stop (dx_stream *stream)
{
  if (!stream)
    return DX_EINVAL;
  /* A pending zero-byte WSARecv holds no buffer: leave it in the kernel;
   * its completion is ignored while not reading. */
  stream->reading = false;
  return 0;
}

/* ---- the end of a connect ------------------------------------------------- */

/* A failed connect: connect_cb carries the error, nothing is read, and
 * writes fail with it (the error is sticky: the next stream_flush fails
 * whatever is queued, after connect_cb, which was queued first). */
static void
stream_connect_failed (dx_stream *st, int err)
{
  st->reading = false;
  st->read_done = true;
  st->write_err = err;
}

void
dx__stream_connect_started (dx_stream *st)
{
  st->connecting = true;
  st->outstanding++; /* the ConnectEx; connect_complete ends it */
}

void
dx__stream_connect_ended (dx_stream *st, int status)
{
  st->connecting = false;
  dx__req_done (st->h.loop, &st->connect_req, status);
  if (status < 0)
    stream_connect_failed (st, status);
}

static void
connect_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e)
{
  dx_stream *st = DX_CONTAINER_OF (op, dx_stream, connect_op);
  st->outstanding--;
  if (dx__is_closing (st)) {
    /* dx__stream_close already reported DX_ECANCELED. */
    stream_maybe_close_done (st);
    return;
  }
  int status = dx__iocp_op_status (st->sock, e);
  if (status == 0 && setsockopt (st->sock, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0)
    status = dx__err_last_wsa ();
  dx__stream_connect_ended (st, status);
  /* Writes, a shutdown and a read start may have waited for the
   * connection (after a failure, the flush fails them). */
  stream_flush (st);
  if (status == 0 && st->reading && !st->recv0_pending)
    stream_read_resume (st);
}

/* ---- close ---------------------------------------------------------------- */

void
dx__stream_close (dx_stream *st)
{
  st->reading = false;
  dx_list_remove (&st->flush_link); /* a deferred send is cancelled below */
  if (st->sock != INVALID_SOCKET) {
    /* Without CancelIoEx a large pending WSASend may never complete while
     * the peer is alive (measured under Wine), and close would hang. */
    CancelIoEx ((HANDLE) st->sock, NULL);
    closesocket (st->sock);
    st->sock = INVALID_SOCKET;
  }
  /* connect_cb first (the kernel's ConnectEx completion, still counted in
   * outstanding, then only holds close_cb back). */
  if (st->connecting)
    dx__stream_connect_ended (st, DX_ECANCELED);
  /* A write in the kernel completes first; the queued ones are cancelled
   * behind it (send_complete), so write callbacks stay in order. */
  if (!st->write_inflight)
    stream_fail_writes (st, DX_ECANCELED);
  stream_maybe_close_done (st);
}
