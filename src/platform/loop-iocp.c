/* The Windows backend: an I/O completion port, plus the TCP streams and
 * listeners that run on it (IOCP is completion-based, so they cannot share
 * tcp-posix.c with the readiness backends).
 *
 * How the semantics of loop.h are met (see docs/architecture.md):
 *  - Every kernel operation (AcceptEx, ConnectEx, WSARecv, WSASend) is an
 *    overlapped operation whose completion always comes back through the
 *    port (we never set FILE_SKIP_COMPLETION_PORT_ON_SUCCESS), so no user
 *    callback can run inside the call that started the operation.
 *  - Write, connect and shutdown callbacks go through the shared pending
 *    queue (dx__req_done), which keeps them in order with each other and
 *    with close_cb.
 *  - Writes are coalesced: dx_write to an idle stream only queues it and
 *    lists the stream in loop->flush_list; the loop's flush phase
 *    (dx__streams_flush, run just before it polls) then sends everything
 *    each listed stream queued meanwhile with ONE gathered WSASend. A fan-out that
 *    queues k messages to a subscriber in one iteration costs one send,
 *    not k (the same as tcp-posix.c does with sendmsg).
 *  - Reads: a zero-byte WSARecv is kept pending while reading; when it
 *    completes data is there, and only then alloc_cb is asked for a buffer
 *    and a non-blocking recv() fills it. An idle connection pins no buffer.
 *  - Close: CancelIoEx then closesocket; each handle counts its operations
 *    in the kernel and calls dx__handle_close_done() when the count is 0.
 *    ANY failed completion on a closing handle is taken as "cancelled"
 *    (Wine reports a WSARecv pending at closesocket as error 676, not 995).
 *  - dx_async wakeups are PostQueuedCompletionStatus with a reserved key.
 */
#include "platform/loop-private.h"
#include "platform/win-private.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <mstcpip.h>
#include <windows.h>

/* Completion keys. I/O operations use KEY_IO and are told apart by the
 * iocp_op their OVERLAPPED belongs to. */
enum { KEY_IO = 0, KEY_WAKEUP = 1 };

/* AcceptEx calls kept pending per listener: several, so a burst of
 * connections does not wait for one completion per accept. */
enum { ACCEPTS_PER_LISTENER = 8 };
/* Back-off before posting accepts again after socket creation failed
 * (e.g. out of sockets). */
enum { ACCEPT_RETRY_MS = 100 };
enum { READ_SUGGESTED = 64 * 1024 };
/* recv() rounds per readiness before yielding back to the port. */
enum { READS_PER_WAKE = 16 };
/* WSABUFs gathered into one WSASend (the bound of a coalesced send; more
 * is sent by the next WSASend). Same figure as tcp-posix.c's iovec. */
enum { SEND_BUFS_MAX = 64 };

typedef enum {
  OP_ACCEPT = 1,
  OP_CONNECT,
  OP_RECV0,
  OP_SEND,
} op_kind;

typedef struct {
  OVERLAPPED ov;
  op_kind kind;
} iocp_op;

typedef struct {
  HANDLE port;
} iocp_impl;

/* Extension functions are looked up once per process (one provider for
 * TCP on both address families). */
static LPFN_ACCEPTEX fn_acceptex;
static LPFN_CONNECTEX fn_connectex;
static int winsock_error;
static INIT_ONCE winsock_once = INIT_ONCE_STATIC_INIT;

/* ---- streams and listeners ---------------------------------------------- */

typedef struct iocp_write {
  dx_req req;             /* must stay first: the pending queue runs it */
  dx_list link;           /* in stream->writes */
  dx_write_cb cb;
  void *arg;
  size_t bytes;           /* bytes not yet sent (queue-size accounting) */
  DWORD nbufs;
  DWORD first;            /* first WSABUF still to send (partial sends) */
  WSABUF bufs[];
} iocp_write;

struct dx_stream {
  dx_handle h;
  SOCKET s;
  unsigned outstanding;   /* operations in the kernel */

  /* reading */
  dx_alloc_cb alloc_cb;
  dx_read_cb read_cb;
  bool reading;
  bool read_done;         /* EOF or error delivered: nothing more */
  bool recv0_pending;
  iocp_op recv0;
  /* WSARecv's flags and byte count must outlive the call: Wine may write
   * them when the operation completes, long after we returned. */
  DWORD recv0_flags;
  DWORD recv0_bytes;
  dx_req read_err_req;    /* an error found inside dx_read_start */

  /* writing */
  dx_list writes;         /* oldest first; a prefix is in the kernel when
                             write_inflight */
  bool write_inflight;    /* send_op (a gathered WSASend) is pending */
  iocp_op send_op;
  dx_list flush_link;     /* in loop->flush_list while a send is deferred */
  size_t write_queue_bytes; /* bytes of writes not yet completed */
  int write_err;          /* sticky: a failed write fails every later one */

  /* shutdown */
  bool shutdown_requested;
  bool shutdown_done;
  dx_req shutdown_req;
  dx_shutdown_cb shutdown_cb;
  void *shutdown_arg;

  /* connecting */
  bool connecting;
  iocp_op connect_op;
  dx_req connect_req;
  dx_connect_cb connect_cb;
  void *connect_arg;
};

typedef struct {
  iocp_op op;
  dx_listener *listener;
  SOCKET s;               /* the socket AcceptEx will connect */
  bool posted;
  DWORD bytes;            /* AcceptEx's byte count: must outlive the call */
  /* AcceptEx wants room for both addresses plus 16 bytes each. */
  char addrs[2 * (sizeof (struct sockaddr_storage) + 16)];
} iocp_accept;

struct dx_listener {
  dx_handle h;
  SOCKET s;
  int family;
  dx_accept_cb cb;
  unsigned outstanding;
  iocp_accept accepts[ACCEPTS_PER_LISTENER];
  dx_timer_node retry;    /* re-post accepts after a failure */
  struct sockaddr_storage name;
};

/* ---- helpers ------------------------------------------------------------ */

static iocp_impl *
impl_of (dx_loop *loop)
{
  return loop->impl;
}

static BOOL CALLBACK
winsock_init (PINIT_ONCE once, PVOID param, PVOID *ctx)
{
  WSADATA wsa;
  int rc = WSAStartup (MAKEWORD (2, 2), &wsa);
  if (rc != 0) {
    winsock_error = dx__err_from_wsa (rc);
    return TRUE;
  }
  SOCKET s = socket (AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (s == INVALID_SOCKET) {
    winsock_error = dx__err_last_wsa ();
    return TRUE;
  }
  GUID accept_guid = WSAID_ACCEPTEX, connect_guid = WSAID_CONNECTEX;
  DWORD n = 0;
  if (WSAIoctl (s, SIO_GET_EXTENSION_FUNCTION_POINTER, &accept_guid,
                sizeof accept_guid, &fn_acceptex, sizeof fn_acceptex, &n,
                NULL, NULL) != 0
      || WSAIoctl (s, SIO_GET_EXTENSION_FUNCTION_POINTER, &connect_guid,
                   sizeof connect_guid, &fn_connectex, sizeof fn_connectex,
                   &n, NULL, NULL) != 0)
    winsock_error = dx__err_last_wsa ();
  closesocket (s);
  return TRUE;
}

/* An overlapped, non-inheritable TCP socket tied to the loop's port. */
static int
socket_new (dx_loop *loop, int family, SOCKET *out)
{
  SOCKET s = WSASocketW (family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                         WSA_FLAG_OVERLAPPED);
  if (s == INVALID_SOCKET)
    return dx__err_last_wsa ();
  /* A child process (none today, but a service wrapper might spawn one)
   * must not keep our sockets open. */
  SetHandleInformation ((HANDLE) s, HANDLE_FLAG_INHERIT, 0);
  if (CreateIoCompletionPort ((HANDLE) s, impl_of (loop)->port, KEY_IO, 0)
      == NULL) {
    int err = dx__err_last_win32 ();
    closesocket (s);
    return err;
  }
  *out = s;
  return 0;
}

static bool
op_failed (const OVERLAPPED_ENTRY *e)
{
  /* Internal holds the NTSTATUS: negative (high bit) means failure. */
  return (LONG) e->lpOverlapped->Internal < 0;
}

/* The Winsock error of a failed completion as DX_E*. */
static int
op_error (SOCKET s, OVERLAPPED *ov)
{
  DWORD bytes = 0, flags = 0;
  if (s != INVALID_SOCKET && !WSAGetOverlappedResult (s, ov, &bytes, FALSE, &flags))
    return dx__err_last_wsa ();
  return DX_EIO;
}

/* ---- stream: creation --------------------------------------------------- */

static dx_stream *
stream_new (dx_loop *loop, SOCKET s)
{
  dx_stream *st = dx__handle_new (loop, DX_HANDLE_STREAM, sizeof *st);
  if (!st)
    return NULL;
  st->s = s;
  dx_list_init (&st->writes);
  dx_list_init (&st->flush_link);
  st->recv0.kind = OP_RECV0;
  st->send_op.kind = OP_SEND;
  st->connect_op.kind = OP_CONNECT;
  /* recv() after a zero-byte completion must never block the loop. */
  u_long on = 1;
  ioctlsocket (s, FIONBIO, &on);
  return st;
}

static void stream_maybe_close_done (dx_stream *st);

/* ---- stream: reading ---------------------------------------------------- */

static int
post_recv0 (dx_stream *st)
{
  static char dummy;
  WSABUF buf = { 0, &dummy };
  st->recv0_flags = 0;
  memset (&st->recv0.ov, 0, sizeof st->recv0.ov);
  if (WSARecv (st->s, &buf, 1, &st->recv0_bytes, &st->recv0_flags,
               &st->recv0.ov, NULL) != 0) {
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
read_deliver_error (dx_stream *st, int err, const dx_buf *buf)
{
  dx_buf none = { NULL, 0 };
  st->read_done = true;
  st->reading = false;
  st->read_cb (st, err, buf ? buf : &none);
}

static void
read_err_run (dx_req *req)
{
  dx_stream *st = (dx_stream *) req->handle;
  if (st->reading && !st->read_done && !dx__is_closing (st))
    read_deliver_error (st, req->status, NULL);
}

/* Data (or EOF, or an error) is ready: hand it over in buffers that the
 * user gives us now, not before. */
static void
stream_do_reads (dx_stream *st)
{
  for (int i = 0; i < READS_PER_WAKE; i++) {
    if (!st->reading || st->read_done || dx__is_closing (st))
      return;
    dx_buf buf = { NULL, 0 };
    st->alloc_cb (st, READ_SUGGESTED, &buf);
    if (!st->reading || dx__is_closing (st))
      return;
    if (buf.base == NULL || buf.len == 0) {
      read_deliver_error (st, DX_ENOMEM, &buf);
      return;
    }
    int len = buf.len > INT_MAX ? INT_MAX : (int) buf.len;
    int n = recv (st->s, buf.base, len, 0);
    if (n > 0) {
      st->read_cb (st, n, &buf);
      if (n < len)
        return; /* most likely drained: wait for the next zero-byte read */
      continue;
    }
    if (n == 0) {
      read_deliver_error (st, DX_EOF, &buf);
      return;
    }
    int e = WSAGetLastError ();
    if (e == WSAEWOULDBLOCK) {
      st->read_cb (st, 0, &buf); /* buffer returned unused */
      return;
    }
    read_deliver_error (st, dx__err_from_wsa (e), &buf);
    return;
  }
}

static void
recv0_complete (dx_stream *st, const OVERLAPPED_ENTRY *e)
{
  st->recv0_pending = false;
  st->outstanding--;
  if (dx__is_closing (st)) {
    stream_maybe_close_done (st);
    return;
  }
  if (!st->reading || st->read_done)
    return; /* read_stop while it was pending: leave the data queued */
  if (op_failed (e)) {
    read_deliver_error (st, op_error (st->s, &st->recv0.ov), NULL);
    return;
  }
  stream_do_reads (st);
  if (st->reading && !st->read_done && !dx__is_closing (st)
      && !st->recv0_pending) {
    int rc = post_recv0 (st);
    if (rc < 0)
      read_deliver_error (st, rc, NULL);
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
    return DX_EOF;
  stream->alloc_cb = alloc_cb;
  stream->read_cb = read_cb;
  stream->reading = true;
  /* Still connecting: the zero-byte read is posted when it succeeds. A
   * zero-byte read left over from before a read_stop is reused. */
  if (stream->connecting || stream->recv0_pending)
    return 0;
  int rc = post_recv0 (stream);
  if (rc < 0 && !stream->read_err_req.queued) {
    stream->read_err_req.run = read_err_run;
    stream->read_err_req.handle = &stream->h;
    dx__req_done (stream->h.loop, &stream->read_err_req, rc);
  }
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

/* ---- stream: writing ---------------------------------------------------- */

static void
stream_req_run_write (dx_req *req)
{
  iocp_write *w = (iocp_write *) req;
  dx_stream *st = (dx_stream *) req->handle;
  if (w->cb)
    w->cb (st, req->status, w->arg);
  free (w);
}

static void
shutdown_run (dx_req *req)
{
  dx_stream *st = (dx_stream *) req->handle;
  if (st->shutdown_cb)
    st->shutdown_cb (st, req->status, st->shutdown_arg);
}

static void
shutdown_finish (dx_stream *st, int status)
{
  st->shutdown_done = true;
  st->shutdown_req.run = shutdown_run;
  st->shutdown_req.handle = &st->h;
  dx__req_done (st->h.loop, &st->shutdown_req, status);
}

static void
write_finish (dx_stream *st, iocp_write *w, int status)
{
  if (status < 0 && status != DX_ECANCELED && st->write_err == 0)
    st->write_err = status;
  dx_list_remove (&w->link);
  st->write_queue_bytes -= w->bytes;
  w->req.run = stream_req_run_write;
  w->req.handle = &st->h;
  dx__req_done (st->h.loop, &w->req, status);
}

/* Called when the stream closes with nothing of its writes in the kernel:
 * every queued write and the shutdown complete with DX_ECANCELED, in
 * order. */
static void
writes_cancel_all (dx_stream *st)
{
  while (!dx_list_empty (&st->writes)) {
    iocp_write *w = DX_CONTAINER_OF (st->writes.next, iocp_write, link);
    write_finish (st, w, DX_ECANCELED);
  }
  if (st->shutdown_requested && !st->shutdown_done)
    shutdown_finish (st, DX_ECANCELED);
}

/* Skip the bytes a partial send already sent. */
static void
write_advance (iocp_write *w, size_t done)
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
writes_consume (dx_stream *st, size_t done)
{
  while (done > 0 && !dx_list_empty (&st->writes)) {
    iocp_write *w = DX_CONTAINER_OF (st->writes.next, iocp_write, link);
    if (w->bytes > done) {
      st->write_queue_bytes -= done;
      w->bytes -= done;
      write_advance (w, done);
      return;
    }
    done -= w->bytes;
    write_finish (st, w, 0);
  }
}

/* Gather the unsent buffers of the queued writes, oldest first, into bufs:
 * at most SEND_BUFS_MAX of them and under 2 GiB in all (unless one buffer
 * alone is larger), so one WSASend's byte count cannot overflow. Returns
 * the count; *total gets their length. */
static DWORD
writes_gather (dx_stream *st, WSABUF *bufs, size_t *total)
{
  DWORD n = 0;
  *total = 0;
  for (dx_list *l = st->writes.next; l != &st->writes; l = l->next) {
    iocp_write *w = DX_CONTAINER_OF (l, iocp_write, link);
    for (DWORD i = w->first; i < w->nbufs; i++) {
      if (w->bufs[i].len == 0)
        continue;
      if (n == SEND_BUFS_MAX
          || (n > 0 && *total + w->bufs[i].len > (size_t) INT_MAX))
        return n;
      bufs[n++] = w->bufs[i];
      *total += w->bufs[i].len;
    }
  }
  return n;
}

/* Send what is queued, gathering the buffers of every queued write into
 * one WSASend (bounded by writes_gather), or half-close once the queue is
 * empty and a shutdown was asked for. One WSASend in the kernel at a time
 * keeps the order obvious; write_queue_bytes counts what has not
 * completed yet. */
static void
writes_pump (dx_stream *st)
{
  if (st->connecting)
    return; /* the connect completion pumps */
  while (!st->write_inflight && !dx_list_empty (&st->writes)) {
    iocp_write *w = DX_CONTAINER_OF (st->writes.next, iocp_write, link);
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
    WSABUF bufs[SEND_BUFS_MAX];
    size_t total;
    DWORD n = writes_gather (st, bufs, &total);
    /* Try a plain non-blocking send first: when the socket buffer has
     * room (the usual case) the writes are done without an overlapped
     * operation, which is much cheaper (under Wine especially). The
     * callbacks still run later, from the pending queue. */
    DWORD sent = 0;
    if (WSASend (st->s, bufs, n, &sent, 0, NULL, NULL) == 0) {
      writes_consume (st, sent);
      if (sent >= total)
        continue; /* all gathered: send what the bound left, if any */
      /* The socket buffer is full: the rest goes overlapped. */
      n = writes_gather (st, bufs, &total);
    } else if (WSAGetLastError () != WSAEWOULDBLOCK) {
      write_finish (st, w, dx__err_last_wsa ());
      continue;
    }
    memset (&st->send_op.ov, 0, sizeof st->send_op.ov);
    if (WSASend (st->s, bufs, n, NULL, 0, &st->send_op.ov, NULL) != 0) {
      int e = WSAGetLastError ();
      if (e != WSA_IO_PENDING) {
        w = DX_CONTAINER_OF (st->writes.next, iocp_write, link);
        write_finish (st, w, dx__err_from_wsa (e));
        continue;
      }
    }
    st->write_inflight = true;
    st->outstanding++;
  }
  if (!st->write_inflight && dx_list_empty (&st->writes)
      && st->shutdown_requested && !st->shutdown_done) {
    int rc = shutdown (st->s, SD_SEND) == 0 ? 0 : dx__err_last_wsa ();
    shutdown_finish (st, rc);
  }
}

/* The flush phase: one gathered send for each stream written to since the
 * last one. No user code runs here (completions only go to the pending
 * queue). */
void
dx__streams_flush (dx_loop *loop)
{
  while (!dx_list_empty (&loop->flush_list)) {
    dx_stream *st
        = DX_CONTAINER_OF (loop->flush_list.next, dx_stream, flush_link);
    dx_list_remove (&st->flush_link); /* leaves it self-linked: unlisted */
    writes_pump (st);
  }
}

static void
send_complete (dx_stream *st, const OVERLAPPED_ENTRY *e)
{
  st->write_inflight = false;
  st->outstanding--;
  if (dx__is_closing (st)) {
    /* What the kernel sent completes normally; the rest is cancelled,
     * in order, behind it. */
    if (!op_failed (e))
      writes_consume (st, e->dwNumberOfBytesTransferred);
    writes_cancel_all (st);
    stream_maybe_close_done (st);
    return;
  }
  if (op_failed (e)) {
    /* The oldest write takes the error; it is sticky, so writes_pump
     * fails the others behind it. */
    if (!dx_list_empty (&st->writes))
      write_finish (st, DX_CONTAINER_OF (st->writes.next, iocp_write, link),
                    op_error (st->s, &st->send_op.ov));
  } else {
    /* Overlapped sends on stream sockets complete whole in practice; if
     * one ever comes back short, writes_pump sends the rest. */
    writes_consume (st, e->dwNumberOfBytesTransferred);
  }
  writes_pump (st);
}

int
dx_write (dx_stream *stream, const dx_buf *bufs, size_t nbufs,
          dx_write_cb cb, void *arg)
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
  iocp_write *w = calloc (1, sizeof *w + nbufs * sizeof (WSABUF));
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
  dx_list_push_back (&stream->writes, &w->link);
  stream->write_queue_bytes += total;
  /* Defer the send to just before the loop polls, so whatever else is
   * written to this stream meanwhile goes out in the same WSASend. A
   * send in the kernel or a connect in progress pumps the queue itself
   * when it completes. */
  if (!stream->write_inflight && !stream->connecting
      && dx_list_empty (&stream->flush_link))
    dx_list_push_back (&stream->h.loop->flush_list, &stream->flush_link);
  return 0;
}

size_t
dx_write_queue_size (const dx_stream *stream)
{
  return stream ? stream->write_queue_bytes : 0;
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
  /* With a send deferred, the flush half-closes after it. */
  if (dx_list_empty (&stream->flush_link))
    writes_pump (stream);
  return 0;
}

/* ---- stream: options and names ----------------------------------------- */

int
dx_tcp_nodelay (dx_stream *stream, bool enable)
{
  if (!stream || stream->s == INVALID_SOCKET)
    return DX_EINVAL;
  BOOL on = enable ? TRUE : FALSE;
  if (setsockopt (stream->s, IPPROTO_TCP, TCP_NODELAY, (const char *) &on,
                  sizeof on) != 0)
    return dx__err_last_wsa ();
  return 0;
}

int
dx_tcp_keepalive (dx_stream *stream, bool enable, unsigned delay_s)
{
  if (!stream || stream->s == INVALID_SOCKET)
    return DX_EINVAL;
  if (enable && (delay_s == 0 || delay_s > ULONG_MAX / 1000))
    return DX_EINVAL;
  BOOL on = enable ? TRUE : FALSE;
  if (setsockopt (stream->s, SOL_SOCKET, SO_KEEPALIVE, (const char *) &on,
                  sizeof on) != 0)
    return dx__err_last_wsa ();
  if (!enable)
    return 0;
  /* The idle time before the first probe is per socket only through
   * SIO_KEEPALIVE_VALS; probes then go every second. */
  struct tcp_keepalive ka = { 1, delay_s * 1000u, 1000u };
  DWORD n = 0;
  if (WSAIoctl (stream->s, SIO_KEEPALIVE_VALS, &ka, sizeof ka, NULL, 0, &n,
                NULL, NULL) != 0)
    return dx__err_last_wsa ();
  return 0;
}

int
dx_stream_peer_name (const dx_stream *stream, char *buf, size_t len)
{
  if (!stream || !buf || stream->s == INVALID_SOCKET)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  int sl = sizeof ss;
  if (getpeername (stream->s, (struct sockaddr *) &ss, &sl) != 0)
    return dx__err_last_wsa ();
  return dx__addr_format ((struct sockaddr *) &ss, buf, len);
}

/* ---- stream: connect ---------------------------------------------------- */

static void
connect_run (dx_req *req)
{
  dx_stream *st = (dx_stream *) req->handle;
  int status = req->status;
  /* Closed before the callback could run: report it as cancelled, like
   * the other backends, even if the connection had been made. */
  if (dx__is_closing (st) && status == 0)
    status = DX_ECANCELED;
  if (st->connect_cb)
    st->connect_cb (st, status, st->connect_arg);
}

static void
connect_finish (dx_stream *st, int status)
{
  st->connecting = false;
  st->connect_req.run = connect_run;
  st->connect_req.handle = &st->h;
  dx__req_done (st->h.loop, &st->connect_req, status);
}

static void
connect_complete (dx_stream *st, const OVERLAPPED_ENTRY *e)
{
  st->outstanding--;
  if (dx__is_closing (st)) {
    /* dx__stream_close already reported DX_ECANCELED. */
    stream_maybe_close_done (st);
    return;
  }
  int status = 0;
  if (op_failed (e))
    status = op_error (st->s, &st->connect_op.ov);
  else if (setsockopt (st->s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0)
           != 0)
    status = dx__err_last_wsa ();
  connect_finish (st, status);
  if (status < 0) {
    /* Nothing will ever be read or written: queued writes fail with the
     * connect error, after connect_cb. */
    st->read_done = true;
    st->reading = false;
    st->write_err = status;
    writes_pump (st);
    return;
  }
  /* Writes, a shutdown and a read start may have waited for the
   * connection. */
  writes_pump (st);
  if (st->reading && !st->recv0_pending) {
    int rc = post_recv0 (st);
    if (rc < 0 && !st->read_err_req.queued) {
      st->read_err_req.run = read_err_run;
      st->read_err_req.handle = &st->h;
      dx__req_done (st->h.loop, &st->read_err_req, rc);
    }
  }
}

int
dx_tcp_connect (dx_loop *loop, const char *addr, dx_connect_cb cb, void *arg,
                dx_stream **out)
{
  if (out)
    *out = NULL; /* on every failure */
  if (!loop || !addr || !out)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int rc = dx__addr_parse (addr, &ss, &sl);
  if (rc < 0)
    return rc;
  SOCKET s;
  rc = socket_new (loop, ss.ss_family, &s);
  if (rc < 0)
    return rc;
  /* ConnectEx needs a bound socket. */
  struct sockaddr_storage any;
  memset (&any, 0, sizeof any);
  any.ss_family = ss.ss_family;
  int anylen = ss.ss_family == AF_INET6 ? (int) sizeof (struct sockaddr_in6)
                                        : (int) sizeof (struct sockaddr_in);
  if (bind (s, (struct sockaddr *) &any, anylen) != 0) {
    rc = dx__err_last_wsa ();
    closesocket (s);
    return rc;
  }
  dx_stream *st = stream_new (loop, s);
  if (!st) {
    closesocket (s);
    return DX_ENOMEM;
  }
  st->connect_cb = cb;
  st->connect_arg = arg;
  st->connecting = true;
  memset (&st->connect_op.ov, 0, sizeof st->connect_op.ov);
  if (!fn_connectex (s, (struct sockaddr *) &ss, (int) sl, NULL, 0, NULL,
                     &st->connect_op.ov)) {
    int e = WSAGetLastError ();
    if (e != ERROR_IO_PENDING) {
      /* The callback still runs, later (semantic 1). */
      int err = dx__err_from_wsa (e);
      connect_finish (st, err);
      st->read_done = true;
      st->write_err = err;
      *out = st;
      return 0;
    }
  }
  st->outstanding++;
  *out = st;
  return 0;
}

/* ---- stream: close ------------------------------------------------------ */

static void
stream_maybe_close_done (dx_stream *st)
{
  if (st->outstanding == 0 && !(st->h.flags & DX_HF_CLOSED))
    dx__handle_close_done (&st->h);
}

void
dx__stream_close (dx_stream *st)
{
  st->reading = false;
  dx_list_remove (&st->flush_link); /* a deferred send is cancelled below */
  if (st->s != INVALID_SOCKET) {
    /* Without CancelIoEx a large pending WSASend may never complete while
     * the peer is alive (measured under Wine), and close would hang. */
    CancelIoEx ((HANDLE) st->s, NULL);
    closesocket (st->s);
    st->s = INVALID_SOCKET;
  }
  /* connect_cb first (the kernel's ConnectEx completion, still counted in
   * outstanding, then only holds close_cb back). */
  if (st->connecting)
    connect_finish (st, DX_ECANCELED);
  /* A write in the kernel completes first; the queued ones are cancelled
   * behind it (send_complete), so write callbacks stay in order. */
  if (!st->write_inflight)
    writes_cancel_all (st);
  stream_maybe_close_done (st);
}

/* ---- listener ----------------------------------------------------------- */

static int
accept_post (dx_listener *l, iocp_accept *a)
{
  dx_loop *loop = l->h.loop;
  int rc = socket_new (loop, l->family, &a->s);
  if (rc < 0)
    return rc;
  memset (&a->op.ov, 0, sizeof a->op.ov);
  const DWORD alen = sizeof (struct sockaddr_storage) + 16;
  if (!fn_acceptex (l->s, a->s, a->addrs, 0, alen, alen, &a->bytes,
                    &a->op.ov)) {
    int e = WSAGetLastError ();
    if (e != ERROR_IO_PENDING) {
      closesocket (a->s);
      a->s = INVALID_SOCKET;
      return dx__err_from_wsa (e);
    }
  }
  a->posted = true;
  l->outstanding++;
  return 0;
}

/* Post every accept slot that is idle. Returns the first error, if any. */
static int
accepts_fill (dx_listener *l)
{
  int first_err = 0;
  for (size_t i = 0; i < ACCEPTS_PER_LISTENER; i++) {
    if (l->accepts[i].posted)
      continue;
    int rc = accept_post (l, &l->accepts[i]);
    if (rc < 0 && first_err == 0)
      first_err = rc;
  }
  return first_err;
}

static void
listener_retry_fire (dx_timer_node *node)
{
  dx_listener *l = DX_CONTAINER_OF (node, dx_listener, retry);
  if (dx__is_closing (l))
    return;
  int rc = accepts_fill (l);
  if (rc < 0) {
    l->cb (l, NULL, rc);
    if (!dx__is_closing (l))
      dx__timer_node_start (l->h.loop, &l->retry, ACCEPT_RETRY_MS);
  }
}

static void
listener_maybe_close_done (dx_listener *l)
{
  if (l->outstanding == 0 && !(l->h.flags & DX_HF_CLOSED))
    dx__handle_close_done (&l->h);
}

static void
accept_complete (iocp_accept *a, const OVERLAPPED_ENTRY *e)
{
  dx_listener *l = a->listener;
  dx_loop *loop = l->h.loop;
  a->posted = false;
  l->outstanding--;
  SOCKET s = a->s;
  a->s = INVALID_SOCKET;
  if (dx__is_closing (l)) {
    closesocket (s);
    listener_maybe_close_done (l);
    return;
  }
  int status = 0;
  if (op_failed (e))
    status = op_error (l->s, &a->op.ov);
  else if (setsockopt (s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                       (const char *) &l->s, sizeof l->s) != 0)
    status = dx__err_last_wsa ();
  if (status == DX_ECONNRESET || status == DX_ECONNABORTED) {
    /* The client gave up before we took the connection: nobody to tell. */
    closesocket (s);
  } else if (status < 0) {
    closesocket (s);
    l->cb (l, NULL, status);
  } else {
    dx_stream *st = stream_new (loop, s);
    if (!st) {
      closesocket (s);
      l->cb (l, NULL, DX_ENOMEM);
    } else {
      l->cb (l, st, 0);
    }
  }
  if (dx__is_closing (l))
    return;
  if (accepts_fill (l) < 0 && !dx__timer_node_active (&l->retry))
    dx__timer_node_start (loop, &l->retry, ACCEPT_RETRY_MS);
}

int
dx_tcp_listen (dx_loop *loop, const char *addr, int backlog, dx_accept_cb cb,
               dx_listener **out)
{
  if (out)
    *out = NULL; /* on every failure */
  if (!loop || !addr || !cb || !out)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int rc = dx__addr_parse (addr, &ss, &sl);
  if (rc < 0)
    return rc;
  SOCKET s;
  rc = socket_new (loop, ss.ss_family, &s);
  if (rc < 0)
    return rc;
  /* Windows lets a second socket bind a port in use unless told not to;
   * TIME_WAIT never blocks a bind here, so no SO_REUSEADDR is needed. */
  BOOL on = TRUE;
  setsockopt (s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *) &on, sizeof on);
  /* "[::]:port" is IPv6 only, as on the POSIX backends. */
  if (ss.ss_family == AF_INET6)
    setsockopt (s, IPPROTO_IPV6, IPV6_V6ONLY, (const char *) &on, sizeof on);
  if (bind (s, (struct sockaddr *) &ss, (int) sl) != 0
      || listen (s, backlog > 0 ? backlog : SOMAXCONN) != 0) {
    rc = dx__err_last_wsa ();
    closesocket (s);
    return rc;
  }
  dx_listener *l = dx__handle_new (loop, DX_HANDLE_LISTENER, sizeof *l);
  if (!l) {
    closesocket (s);
    return DX_ENOMEM;
  }
  l->s = s;
  l->family = ss.ss_family;
  l->cb = cb;
  int nl = sizeof l->name;
  getsockname (s, (struct sockaddr *) &l->name, &nl);
  dx__timer_node_init (&l->retry, listener_retry_fire);
  for (size_t i = 0; i < ACCEPTS_PER_LISTENER; i++) {
    l->accepts[i].op.kind = OP_ACCEPT;
    l->accepts[i].listener = l;
    l->accepts[i].s = INVALID_SOCKET;
  }
  rc = accepts_fill (l);
  if (rc < 0 && l->outstanding == 0) {
    /* Not one accept could be posted: fail now, cleanly. */
    dx_close (&l->h, NULL);
    *out = NULL;
    return rc;
  }
  if (rc < 0)
    dx__timer_node_start (loop, &l->retry, ACCEPT_RETRY_MS);
  *out = l;
  return 0;
}

int
dx_listener_port (const dx_listener *listener)
{
  if (!listener)
    return DX_EINVAL;
  return dx__addr_port ((const struct sockaddr *) &listener->name);
}

int
dx_listener_name (const dx_listener *listener, char *buf, size_t len)
{
  if (!listener || !buf)
    return DX_EINVAL;
  return dx__addr_format ((const struct sockaddr *) &listener->name, buf, len);
}

void
dx__listener_close (dx_listener *l)
{
  dx__timer_node_stop (l->h.loop, &l->retry);
  if (l->s != INVALID_SOCKET) {
    CancelIoEx ((HANDLE) l->s, NULL);
    closesocket (l->s);
    l->s = INVALID_SOCKET;
  }
  listener_maybe_close_done (l);
}

/* ---- the backend -------------------------------------------------------- */

static int
iocp_init (dx_loop *loop)
{
  InitOnceExecuteOnce (&winsock_once, winsock_init, NULL, NULL);
  if (winsock_error < 0)
    return winsock_error;
  iocp_impl *impl = calloc (1, sizeof *impl);
  if (!impl)
    return DX_ENOMEM;
  impl->port = CreateIoCompletionPort (INVALID_HANDLE_VALUE, NULL, 0, 1);
  if (impl->port == NULL) {
    int err = dx__err_last_win32 ();
    free (impl);
    return err;
  }
  loop->impl = impl;
  return 0;
}

static void
iocp_destroy (dx_loop *loop)
{
  iocp_impl *impl = impl_of (loop);
  if (!impl)
    return;
  CloseHandle (impl->port);
  free (impl);
  loop->impl = NULL;
}

static void
iocp_wakeup (dx_loop *loop)
{
  PostQueuedCompletionStatus (impl_of (loop)->port, 0, KEY_WAKEUP, NULL);
}

static void
dispatch (dx_loop *loop, const OVERLAPPED_ENTRY *e)
{
  if (e->lpCompletionKey == KEY_WAKEUP) {
    dx__async_dispatch (loop);
    return;
  }
  if (!e->lpOverlapped)
    return;
  iocp_op *op = DX_CONTAINER_OF (e->lpOverlapped, iocp_op, ov);
  switch (op->kind) {
  case OP_ACCEPT:
    accept_complete ((iocp_accept *) op, e);
    break;
  case OP_CONNECT:
    connect_complete (DX_CONTAINER_OF (op, dx_stream, connect_op), e);
    break;
  case OP_RECV0:
    recv0_complete (DX_CONTAINER_OF (op, dx_stream, recv0), e);
    break;
  case OP_SEND:
    send_complete (DX_CONTAINER_OF (op, dx_stream, send_op), e);
    break;
  }
}

static int
iocp_poll (dx_loop *loop, int timeout_ms)
{
  OVERLAPPED_ENTRY entries[64];
  ULONG n = 0;
  DWORD timeout = timeout_ms < 0 ? INFINITE : (DWORD) timeout_ms;
  if (!GetQueuedCompletionStatusEx (impl_of (loop)->port, entries,
                                    sizeof entries / sizeof entries[0], &n,
                                    timeout, FALSE)) {
    /* On a timeout Wine may still report n == 1: the count means nothing
     * when the call fails. */
    DWORD e = GetLastError ();
    if (e == WAIT_TIMEOUT)
      return 0;
    return dx__err_from_wsa ((int) e);
  }
  for (ULONG i = 0; i < n; i++)
    dispatch (loop, &entries[i]);
  return 0;
}

const dx_backend dx__backend_iocp = {
  .name = "iocp",
  .init = iocp_init,
  .destroy = iocp_destroy,
  .poll = iocp_poll,
  .wakeup = iocp_wakeup,
  .io_set = NULL,
  .io_remove = NULL,
};
