/* Duplex platform layer: internal structures shared by every backend.
 *
 * Not a public header: only files in src/platform/ include it.
 *
 * Layout of the layer
 *   loop.c          dx_loop_new/run/stop/free, handle head, dx_close,
 *                   the pending-callback queue, the handle count.
 *   timer-heap.c    the timer min-heap (dx_timer_node) and the dx_timer API.
 *   async.c         dx_async (any thread -> loop thread), backend-neutral.
 *   signal.c        dx_signal_stop_on_interrupt, built on an internal dx_async.
 *   clock.c         monotonic and wall clocks (POSIX and Windows).
 *   errors.c        dx_strerror, dx_err_name, errno -> DX_E*.
 *   addr.c          "host:port" parsing and formatting, dx_addr (POSIX and
 *                   Windows).
 *   udp-posix.c     UDP sockets on readiness (epoll, poll): receive into
 *                   the handle's buffer, send at once or from a bounded
 *                   queue when the socket is full.
 *   udp-win.c       the same on IOCP (WSARecvFrom / WSASendTo overlapped).
 *   tcp-private.h   struct dx_stream of each I/O implementation, and what
 *                   its stream and tcp files share.
 *   stream-posix.c  POSIX streams: read, write, the flush phase, shutdown,
 *                   close (on readiness: dx_io through dx_backend.io_*).
 *   tcp-posix.c     POSIX sockets: connect, listen/accept, options, names.
 *   loop-epoll.c    the epoll poller (Linux).
 *   loop-poll.c     the poll(2) poller (any POSIX).
 *   loop-uring.c    io_uring (Linux, with liburing): readiness through
 *                   poll requests on the ring, and the sends of the flush
 *                   phase as send requests, all submitted together with
 *                   the wait (one system call per iteration).
 *   stream-win.c    Windows mirror of stream-posix.c (on completions:
 *                   dx_iocp_op).
 *   tcp-win.c       Windows mirror of tcp-posix.c.
 *   loop-iocp.c     Windows: the completion port (the backend).
 *   errors-win.c    Windows: Winsock/Win32 codes -> DX_E*.
 *   thread-posix.c, fs-posix.c / thread-win.c, fs-win.c: thread.h, fs.h.
 *   tcpstat.c       tcpstat.h (TCP sockets by state and local port): the
 *                   arguments and names; the kernel is asked by
 *                   tcpstat-linux.c (sock_diag, else /proc/net/tcp),
 *                   tcpstat-win.c (GetTcpTable2) or tcpstat-other.c
 *                   (DX_ENOTSUP). Blocking: for worker threads only.
 *
 * Who calls whom
 *   The loop iteration (loop.c, dx_loop_run) is:
 *     1. refresh the cached clock;
 *     2. fire due timers (timer-heap.c);
 *     3. run the pending queue: the callbacks of requests that completed
 *        earlier (semantics 1 and 4), only those queued before this step
 *        started; anything queued while it runs waits for the next turn;
 *        stop here if dx_loop_stop was called or no counted handle is left;
 *     4. flush writes (dx__streams_flush): dx_write only queues a write
 *        and lists its stream in loop->flush_list; this phase gives each
 *        listed stream's queue to the kernel in ONE gathered send
 *        (sendmsg, or WSASend). So a fan-out that queues k messages to one
 *        stream in an iteration costs one system call, not k, on every
 *        backend. Only completions are queued here, no user code runs;
 *     5. backend->poll(loop, timeout): wait for I/O (timeout 0 if the
 *        pending queue is non-empty or a stop was requested), dispatch it,
 *        and call dx__async_dispatch(loop) when woken by dx_async_send;
 *     6. stop if dx_loop_stop was called or no counted handle is left.
 *
 *   Completions never call user code directly from inside the API call that
 *   started them: such a request is handed to dx__req_done(), which queues
 *   it; its ->run function is called in step 3 of a later iteration.
 *   I/O that becomes ready in step 5 may call read/accept/connect callbacks
 *   directly (we are not inside a user call there).
 *
 *   Closing: dx_close() (loop.c) marks the handle closing and calls the
 *   type's close hook (dx__stream_close, dx__listener_close, timer stop,
 *   async unlink). The hook cancels its pending requests by passing them
 *   to dx__req_done() with DX_ECANCELED, and, once nothing of the handle
 *   is outstanding, calls dx__handle_close_done(). That queues the
 *   handle's own close request behind every request already queued, so
 *   close_cb is the last callback (semantic 4); after close_cb the handle
 *   is freed. A completion-based backend (IOCP) counts its outstanding
 *   kernel operations per handle and calls dx__handle_close_done() when
 *   the count reaches zero.
 */
#ifndef DX_PLATFORM_LOOP_PRIVATE_H
#define DX_PLATFORM_LOOP_PRIVATE_H

#include "platform/loop.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
typedef SOCKET dx_socket_t;
#define DX_BAD_SOCKET INVALID_SOCKET
#else
#include <sys/socket.h>
#include <sys/uio.h>
typedef int dx_socket_t;
#define DX_BAD_SOCKET (-1)
#endif

/* ---- intrusive doubly linked list -------------------------------------- */

typedef struct dx_list {
  struct dx_list *next, *prev;
} dx_list;

#define DX_CONTAINER_OF(ptr, type, member)                                                         \
  ((type *) (void *) ((char *) (ptr) -offsetof (type, member)))

static inline void
dx_list_init (dx_list *l)
{
  l->next = l->prev = l;
}

static inline bool
dx_list_empty (const dx_list *l)
{
  return l->next == l;
}

static inline void
dx_list_push_back (dx_list *head, dx_list *node)
{
  node->prev = head->prev;
  node->next = head;
  head->prev->next = node;
  head->prev = node;
}

static inline void
dx_list_remove (dx_list *node)
{
  node->prev->next = node->next;
  node->next->prev = node->prev;
  node->next = node->prev = node;
}

/* ---- requests and the pending queue ------------------------------------ */

typedef struct dx_req dx_req;
/* Runs on the loop thread, from the pending queue. */
typedef void (*dx_req_fn) (dx_req *req);

struct dx_req {
  dx_req *next; /* pending-queue link (singly linked FIFO) */
  dx_req_fn run;
  dx_handle *handle; /* the handle this request belongs to */
  int status;        /* 0 or DX_E*, handed to the user callback */
  bool queued;       /* sitting in the pending queue */
};

/* Queue req->run(req) for a later loop iteration with req->status = status.
 * A request must not be queued twice. */
void dx__req_done (dx_loop *loop, dx_req *req, int status);

/* ---- handles ------------------------------------------------------------ */

typedef enum {
  DX_HANDLE_STREAM = 1,
  DX_HANDLE_LISTENER,
  DX_HANDLE_TIMER,
  DX_HANDLE_ASYNC,
  DX_HANDLE_UDP,
} dx_handle_type;

enum {
  DX_HF_CLOSING = 1u << 0,  /* dx_close was called */
  DX_HF_CLOSED = 1u << 1,   /* close request queued; close_cb pending */
  DX_HF_INTERNAL = 1u << 2, /* owned by the layer: not counted, does not keep
                               the loop alive, closed by dx_loop_free */
};

struct dx_handle {
  dx_handle_type type;
  unsigned flags; /* DX_HF_* */
  dx_loop *loop;
  void *data; /* user data (dx_handle_set_data) */
  dx_close_cb close_cb;
  dx_list link;     /* in loop->handles */
  dx_req close_req; /* queued by dx__handle_close_done */
};

/* Allocate a zeroed handle of size bytes (>= the type's struct), link it
 * into the loop and count it. NULL when out of memory. */
void *dx__handle_new (dx_loop *loop, dx_handle_type type, size_t size);
/* The handle is fully closed: queue close_cb behind every request already
 * in the pending queue, then free. Call exactly once, after dx_close. */
void dx__handle_close_done (dx_handle *handle);
/* Mark a handle internal (see DX_HF_INTERNAL); call right after creating. */
void dx__handle_make_internal (dx_handle *handle);

static inline bool
dx__is_closing (const void *h)
{
  return (((const dx_handle *) h)->flags & DX_HF_CLOSING) != 0;
}

/* ---- timers ------------------------------------------------------------- */

/* A heap entry. dx_timer embeds one; other handles (the listener's
 * accept back-off) embed their own so they need no extra handle. */
typedef struct dx_timer_node dx_timer_node;
struct dx_timer_node {
  uint64_t deadline_us; /* monotonic µs; fires when now_us >= deadline_us */
  uint64_t seq;         /* start order, breaks deadline ties */
  size_t index;         /* position in the heap, SIZE_MAX when inactive */
  void (*fire) (dx_timer_node *node);
};

typedef struct {
  dx_timer_node **items;
  size_t len, cap;
  uint64_t next_seq;
} dx_timer_heap;

void dx__timer_node_init (dx_timer_node *node, void (*fire) (dx_timer_node *));
/* Schedule node at now + timeout_ms where now is read fresh (not the
 * cached loop time), so a timer is never early. Reschedules if active. */
int dx__timer_node_start (dx_loop *loop, dx_timer_node *node, uint64_t timeout_ms);
void dx__timer_node_stop (dx_loop *loop, dx_timer_node *node);
static inline bool
dx__timer_node_active (const dx_timer_node *node)
{
  return node->index != SIZE_MAX;
}
/* Fire every node due at loop->now_us (deadline order, then start order). */
void dx__timers_run (dx_loop *loop);
/* Milliseconds until the first deadline (rounded up), -1 if none. */
int dx__timers_timeout_ms (const dx_loop *loop);
void dx__timer_heap_free (dx_timer_heap *heap);

struct dx_timer {
  dx_handle h;
  dx_timer_node node;
  uint64_t repeat_ms;
  dx_timer_cb cb;
};

/* ---- async -------------------------------------------------------------- */

struct dx_async {
  dx_handle h;
  dx_list async_link; /* in loop->asyncs */
  atomic_int pending; /* set by dx_async_send, cleared by the loop */
  dx_async_cb cb;
};

/* Called by the backend (loop thread) after it was woken by
 * backend->wakeup: runs the callbacks of every async with pending set. */
void dx__async_dispatch (dx_loop *loop);

/* ---- readiness I/O (epoll, poll) --------------------------------------- */

enum {
  DX_IO_READ = 1u << 0,
  DX_IO_WRITE = 1u << 1,
  /* revents only: error or hang-up; the callback finds out which by
   * reading/writing or by SO_ERROR. */
  DX_IO_ERROR = 1u << 2,
};

typedef struct dx_io dx_io;
typedef void (*dx_io_cb) (dx_loop *loop, dx_io *io, unsigned revents);

struct dx_io {
  int fd;
  unsigned events; /* DX_IO_READ|DX_IO_WRITE currently watched */
  bool registered; /* known to the backend */
  size_t slot;     /* index in the backend's table of fds (poll: the
                       pollfd array); epoll keeps no table */
  void *poll_op;   /* uring: the poll request armed for it, or NULL */
  dx_io_cb cb;
};

/* A gathered send in the kernel (uring only; defined in loop-uring.c). */
typedef struct dx_send_op dx_send_op;

/* ---- completion I/O (IOCP) --------------------------------------------- */

#ifdef _WIN32
/* An overlapped operation. Its completion comes back through the port
 * (never inline: FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is not set), and the
 * backend calls op->complete with the port's entry: the byte count is
 * e->dwNumberOfBytesTransferred, the status dx__iocp_op_status(). */
typedef struct dx_iocp_op dx_iocp_op;
typedef void (*dx_iocp_cb) (dx_iocp_op *op, const OVERLAPPED_ENTRY *e);

struct dx_iocp_op {
  OVERLAPPED ov;
  dx_iocp_cb complete;
};

/* Tie a socket to the loop's completion port (loop-iocp.c). 0 or DX_E*. */
int dx__iocp_associate (dx_loop *loop, SOCKET sock);
/* 0 if the operation of e succeeded, else its error as DX_E* (asked of
 * sock; DX_EIO when sock is INVALID_SOCKET, i.e. already closed). */
int dx__iocp_op_status (SOCKET sock, const OVERLAPPED_ENTRY *e);
/* WSAStartup and the AcceptEx/ConnectEx pointers, once per process
 * (tcp-win.c). 0 or DX_E*. */
int dx__winsock_init (void);
#endif

/* ---- backends ----------------------------------------------------------- */

typedef struct dx_backend {
  const char *name;
  /* Create the backend's state in loop->impl, including what wakeup()
   * needs. 0 or DX_E*. */
  int (*init) (dx_loop *loop);
  void (*destroy) (dx_loop *loop);
  /* Wait up to timeout_ms (-1: forever, 0: don't block) for I/O, dispatch
   * it and, if woken by wakeup(), call dx__async_dispatch(). 0 or a fatal
   * DX_E*. Must refresh nothing: the loop refreshes its clock itself. */
  int (*poll) (dx_loop *loop, int timeout_ms);
  /* Make a blocked poll() return soon. Any thread, async-signal-safe. */
  void (*wakeup) (dx_loop *loop);
  /* Readiness backends only (NULL for iocp, whose operations are
   * dx_iocp_op instead): watch io->fd for events
   * (0: watch nothing but stay registered). 0 or DX_E*. */
  int (*io_set) (dx_loop *loop, dx_io *io, unsigned events);
  /* Forget io->fd before it is closed. */
  void (*io_remove) (dx_loop *loop, dx_io *io);
#ifndef _WIN32
  /* Completion-based sends (uring; NULL on epoll and poll, which send at
   * once in the flush phase): start one gathered send of iov[0..n) on
   * the stream, recorded in s->send_op; the kernel's answer comes back
   * as dx__stream_send_done. The iovec array is copied, the bytes must
   * stay put until then. 0 or DX_E*. */
  int (*send_start) (dx_loop *loop, dx_stream *s, const struct iovec *iov, int n);
  /* Ask the kernel to give up the send of s->send_op (closing); its
   * completion still comes, cancelled or not. */
  void (*send_cancel) (dx_loop *loop, dx_stream *s);
#endif
} dx_backend;

#ifdef __linux__
extern const dx_backend dx__backend_epoll;
#endif
#ifdef DX_HAVE_URING
extern const dx_backend dx__backend_uring;
#endif
#ifndef _WIN32
extern const dx_backend dx__backend_poll;
#else
extern const dx_backend dx__backend_iocp;
#endif

/* Watch io for events; wraps backend->io_set and skips no-op changes. */
int dx__io_update (dx_loop *loop, dx_io *io, unsigned events);
void dx__io_remove (dx_loop *loop, dx_io *io);

/* ---- the loop ----------------------------------------------------------- */

struct dx_loop {
  const dx_backend *backend;
  void *impl; /* backend state (epoll fd, pollfd array, IOCP) */

  uint64_t now_us; /* cached monotonic µs (start of iteration) */
  uint64_t now_ms; /* now_us / 1000 */
  bool stop_requested;
  bool running;

  dx_list handles;     /* every handle not yet freed */
  size_t handle_count; /* counted (non-internal) handles not yet freed */

  dx_req *pending_head; /* pending queue (FIFO) */
  dx_req *pending_tail;

  dx_timer_heap timers;

  dx_list asyncs;          /* dx_async.async_link */
  atomic_int wake_pending; /* a wakeup() is in flight */

  dx_async *signal_async; /* internal, see signal.c */

  /* Streams with writes queued since the last flush phase (step 4 of the
   * iteration, dx__streams_flush). */
  dx_list flush_list;
};

/* struct dx_stream and struct dx_listener are NOT defined here: each I/O
 * implementation defines them (dx_stream in tcp-private.h, dx_listener in
 * tcp-posix.c / tcp-win.c), starting with a dx_handle `h` member, and
 * allocates them with dx__handle_new(). */

/* ---- cross-file helpers ------------------------------------------------- */

/* The flush phase (step 4 of the iteration): hand every stream on
 * loop->flush_list its queued writes' bytes in one gathered send, and
 * empty the list. Completions go to the pending queue; no user callback
 * runs here. stream-posix.c / stream-win.c. */
void dx__streams_flush (dx_loop *loop);

/* Per-type close hooks (called by dx_close after DX_HF_CLOSING is set).
 * Streams: stream-posix.c / stream-win.c; listeners: tcp-posix.c /
 * tcp-win.c; timers: timer-heap.c; asyncs: async.c. */
void dx__stream_close (dx_stream *stream);
void dx__listener_close (dx_listener *listener);
void dx__timer_close (dx_timer *timer);
void dx__async_close (dx_async *async);
void dx__udp_close (dx_udp *udp); /* udp-posix.c / udp-win.c */

/* Signal-handling teardown used by dx_loop_free (signal.c). */
void dx__signal_loop_free (dx_loop *loop);

/* System error codes -> DX_E*. errno values (errors.c), and on Windows
 * Winsock and Win32 codes, which share one number space (errors-win.c).
 * The *_last_* forms map the calling thread's last error: errno,
 * WSAGetLastError() or GetLastError(). */
int dx__err_from_errno (int e);
int dx__err_last_errno (void);
#ifdef _WIN32
int dx__err_from_wsa (int e);
int dx__err_last_wsa (void);
int dx__err_last_win32 (void);
#endif

/* Address parsing (addr.c). addr: "IP:PORT", "[IPv6]:PORT", ":PORT"
 * (0.0.0.0), "name:PORT" (resolved with getaddrinfo; blocking).
 * 0 or DX_EINVAL / DX_ENOENT. */
int dx__addr_parse (const char *addr, struct sockaddr_storage *ss, socklen_t *len);
/* "IP:PORT" or "[IP]:PORT". 0, DX_EINVAL (bad family) or DX_ENOMEM
 * (buf too small, nothing written beyond len). */
int dx__addr_format (const struct sockaddr *sa, char *buf, size_t len);
int dx__addr_port (const struct sockaddr *sa);
/* dx_addr <-> sockaddr (addr.c). dx__addr_set: 0, or DX_EINVAL when the
 * family is not IPv4/IPv6 or len does not fit. */
int dx__addr_set (dx_addr *out, const struct sockaddr *sa, socklen_t len);
static inline const struct sockaddr *
dx__addr_sa (const dx_addr *a)
{
  return (const struct sockaddr *) (const void *) a->sa.bytes;
}

#endif
