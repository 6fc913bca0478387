/* Duplex platform layer: one completion-based event loop API over
 * epoll or io_uring (Linux), IOCP (Windows) and poll (any POSIX).
 *
 * This is the only public header of src/platform/ for event handling.
 * It knows nothing of chat. See docs/architecture.md for the semantics
 * every backend honours:
 *
 *  1. Callbacks run on the loop thread, never from inside the call that
 *     asked for them (a write that completes at once still calls back later).
 *  2. read_cb gets n > 0 with data, DX_EOF once on orderly shutdown, or a
 *     negative DX_E* error; nothing after EOF or an error.
 *     n == 0 means "buffer returned unused" and may be ignored.
 *  3. Writes complete in order; the caller's buffers stay valid until
 *     write_cb, which runs exactly once per write (DX_ECANCELED if the
 *     handle closed first).
 *  4. dx_close is asynchronous: close_cb is the handle's last callback,
 *     after the callbacks of all its pending requests.
 *  5. An idle connection pins no read buffer: alloc_cb runs only when data
 *     is ready to be read.
 *  6. Errors are portable negative DX_E* codes; dx_strerror names them.
 */
#ifndef DX_PLATFORM_LOOP_H
#define DX_PLATFORM_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

enum {
  DX_OK = 0,
  DX_EOF = -4095,       /* orderly end of stream (peer shut down writing) */
  DX_ECANCELED = -4094, /* request cancelled because its handle closed */
  DX_ECONNREFUSED = -4093,
  DX_ECONNRESET = -4092,
  DX_ECONNABORTED = -4091,
  DX_EADDRINUSE = -4090,
  DX_EADDRNOTAVAIL = -4089,
  DX_EINVAL = -4088, /* bad argument, or bad address string */
  DX_ENOMEM = -4087,
  DX_ETIMEDOUT = -4086,
  DX_EPIPE = -4085,  /* write after shutdown, or to a closed peer */
  DX_EMFILE = -4084, /* too many open files */
  DX_EACCES = -4083,
  DX_ENOTCONN = -4082,
  DX_ENETUNREACH = -4081,
  DX_EHOSTUNREACH = -4080,
  DX_EALREADY = -4079, /* e.g. read already started, shutdown twice */
  DX_ENOENT = -4078,   /* host name not found, file not found */
  DX_EIO = -4077,      /* any other system error */
  DX_ENOTSUP = -4076,  /* the system offers no way to do this */
  DX_ENOBUFS = -4075,  /* a bounded queue is full (e.g. a UDP send queue) */
};

/* Human-readable text for a DX_E* code (never NULL). */
const char *dx_strerror (int err);
/* Symbolic name such as "DX_ECONNRESET" (never NULL). */
const char *dx_err_name (int err);

/* ---- buffers ----------------------------------------------------------- */

typedef struct {
  char *base;
  size_t len;
} dx_buf;

static inline dx_buf
dx_buf_init (void *base, size_t len)
{
  dx_buf b = { (char *) base, len };
  return b;
}

/* ---- handles ----------------------------------------------------------- */

typedef struct dx_loop dx_loop;
typedef struct dx_handle dx_handle;     /* common head of every handle */
typedef struct dx_stream dx_stream;     /* a TCP connection */
typedef struct dx_listener dx_listener; /* a listening TCP socket */
typedef struct dx_timer dx_timer;
typedef struct dx_async dx_async;
typedef struct dx_udp dx_udp; /* a UDP socket */

/* Every handle type starts with a dx_handle; this cast is always valid. */
#define DX_HANDLE(h) ((dx_handle *) (h))

typedef void (*dx_close_cb) (dx_handle *handle);
typedef void (*dx_alloc_cb) (dx_stream *stream, size_t suggested, dx_buf *buf);
/* nread > 0: bytes in buf->base; DX_EOF; < 0 error; 0: buffer unused. */
typedef void (*dx_read_cb) (dx_stream *stream, ptrdiff_t nread, const dx_buf *buf);
typedef void (*dx_write_cb) (dx_stream *stream, int status, void *arg);
typedef void (*dx_shutdown_cb) (dx_stream *stream, int status, void *arg);
typedef void (*dx_connect_cb) (dx_stream *stream, int status, void *arg);
/* client is a new open stream when status == 0 (the callee owns it and must
 * dx_close it eventually); NULL with status < 0 on an accept error. */
typedef void (*dx_accept_cb) (dx_listener *listener, dx_stream *client, int status);
typedef void (*dx_timer_cb) (dx_timer *timer);
typedef void (*dx_async_cb) (dx_async *async);
typedef void (*dx_signal_cb) (dx_loop *loop, int signum);

void dx_handle_set_data (dx_handle *handle, void *data);
void *dx_handle_data (const dx_handle *handle);
dx_loop *dx_handle_loop (const dx_handle *handle);
bool dx_handle_is_closing (const dx_handle *handle);

/* Close any handle. Pending requests complete first (with DX_ECANCELED),
 * then close_cb (may be NULL) runs on a later loop iteration; after it
 * the handle's memory is freed. No read_cb, accept_cb, timer or async
 * callback runs after dx_close. Closing twice is a programming error
 * (the second call is ignored). */
void dx_close (dx_handle *handle, dx_close_cb close_cb);

/* ---- loop -------------------------------------------------------------- */

/* Backend from $DUPLEX_LOOP ("epoll", "poll", "uring" where built with
 * liburing, "iocp") or the platform's best (epoll on Linux, iocp on
 * Windows, poll elsewhere). NULL on failure (an unknown DUPLEX_LOOP value
 * is a failure, with *err = DX_EINVAL; "uring" on a kernel that refuses
 * io_uring gives DX_ENOTSUP or DX_EACCES). */
dx_loop *dx_loop_new (int *err);
dx_loop *dx_loop_new_backend (const char *backend, int *err);
/* "epoll", "poll", "uring" or "iocp". */
const char *dx_loop_backend (const dx_loop *loop);
/* Runs until dx_loop_stop() or until no open handle is left.
 * Returns 0, or a negative DX_E* on a fatal backend error.
 * Each iteration, in this order: refresh the cached clock; fire due
 * timers; run the callbacks of requests completed earlier; flush writes
 * (everything dx_write queued to a stream since the last flush goes to
 * the kernel in one gathered send); wait for I/O and dispatch it. */
int dx_loop_run (dx_loop *loop);
/* Safe from callbacks on the loop thread; dx_loop_run returns after the
 * current iteration. From another thread use a dx_async. */
void dx_loop_stop (dx_loop *loop);
/* Frees the loop; every handle must have been closed and its close_cb run
 * (run the loop once more after closing). Returns DX_EALREADY if handles
 * remain (the loop is then not freed). */
int dx_loop_free (dx_loop *loop);
/* Monotonic milliseconds, cached at the start of each loop iteration. */
uint64_t dx_loop_now_ms (const dx_loop *loop);
/* Number of handles open (not yet past close_cb). */
size_t dx_loop_handle_count (const dx_loop *loop);

/* Uncached clocks. */
uint64_t dx_monotonic_ms (void);
uint64_t dx_monotonic_us (void);
/* Wall clock: milliseconds since the Unix epoch. */
uint64_t dx_wall_ms (void);

/* ---- timers (min-heap; equal deadlines fire in start order) ------------ */

dx_timer *dx_timer_new (dx_loop *loop);
/* Fires after timeout_ms (never early), then every repeat_ms if repeat_ms
 * > 0. Restarting a started timer reschedules it. */
int dx_timer_start (dx_timer *timer, uint64_t timeout_ms, uint64_t repeat_ms, dx_timer_cb cb);
void dx_timer_stop (dx_timer *timer);
bool dx_timer_is_active (const dx_timer *timer);

/* ---- cross-thread wakeup ----------------------------------------------- */

dx_async *dx_async_new (dx_loop *loop, dx_async_cb cb);
/* Thread-safe; many sends before the loop wakes give one callback. */
int dx_async_send (dx_async *async);

/* ---- signals ------------------------------------------------------------ */

/* SIGINT/SIGTERM on POSIX; Ctrl-C, Ctrl-Break, console close and service
 * stop on Windows. cb runs on the loop thread; with cb == NULL the loop
 * stops. One loop per process may register. */
int dx_signal_stop_on_interrupt (dx_loop *loop, dx_signal_cb cb);

/* ---- TCP ---------------------------------------------------------------- */

/* addr: "127.0.0.1:8080", "[::1]:0", "0.0.0.0:80", "localhost:9000",
 * ":8080" (all IPv4 interfaces). Port 0 binds any free port. */
int dx_tcp_listen (dx_loop *loop, const char *addr, int backlog, dx_accept_cb cb,
                   dx_listener **out);
/* The real bound port (useful after binding port 0). */
int dx_listener_port (const dx_listener *listener);
/* The bound address as "IP:PORT" ("[IP]:PORT" for IPv6). */
int dx_listener_name (const dx_listener *listener, char *buf, size_t len);

/* Starts connecting; *out is valid at once. cb runs exactly once; on
 * failure the stream must still be closed with dx_close. */
int dx_tcp_connect (dx_loop *loop, const char *addr, dx_connect_cb cb, void *arg, dx_stream **out);

int dx_read_start (dx_stream *stream, dx_alloc_cb alloc_cb, dx_read_cb read_cb);
int dx_read_stop (dx_stream *stream);

/* Queues bufs (the array is copied, the bytes are not: they must stay
 * valid until cb). Writes complete in order. */
int dx_write (dx_stream *stream, const dx_buf *bufs, size_t nbufs, dx_write_cb cb, void *arg);
/* Bytes queued by dx_write and not yet handed to the kernel. */
size_t dx_write_queue_size (const dx_stream *stream);
/* Half-close after every queued write has completed. */
int dx_shutdown (dx_stream *stream, dx_shutdown_cb cb, void *arg);

int dx_tcp_nodelay (dx_stream *stream, bool enable);
int dx_tcp_keepalive (dx_stream *stream, bool enable, unsigned delay_s);
/* Peer address as "IP:PORT" ("[IP]:PORT" for IPv6). */
int dx_stream_peer_name (const dx_stream *stream, char *buf, size_t len);

/* ---- addresses ----------------------------------------------------------- */

/* A socket address (IPv4 or IPv6) held by value, so it can be copied,
 * stored and compared without the system's headers. */
typedef struct {
  uint32_t len; /* bytes of sa in use (a sockaddr_in or sockaddr_in6); 0: none */
  union {
    uint64_t align_;
    unsigned char bytes[28];
  } sa;
} dx_addr;

/* The address forms of dx_tcp_listen ("127.0.0.1:9000", "[::1]:0",
 * ":9000", "localhost:9000"; a name is resolved, blocking). 0 or DX_E*. */
int dx_addr_parse (const char *addr, dx_addr *out);
/* "IP:PORT" or "[IP]:PORT". 0, DX_EINVAL or DX_ENOMEM (buf too small). */
int dx_addr_format (const dx_addr *addr, char *buf, size_t len);
/* The port, or DX_EINVAL. */
int dx_addr_port (const dx_addr *addr);
/* Same family, IP, port (and IPv6 scope); padding is ignored. */
bool dx_addr_equal (const dx_addr *a, const dx_addr *b);
/* A hash of what dx_addr_equal compares (FNV-1a; for tables keyed by
 * address, not for anything an attacker must not predict). */
uint64_t dx_addr_hash (const dx_addr *addr);

/* ---- UDP ----------------------------------------------------------------- */

/* A UDP socket receives datagrams from anyone and sends to any address.
 *
 * Receiving: the handle owns ONE buffer of max_datagram bytes (given to
 * dx_udp_recv_start): a UDP socket serves every peer, so one buffer per
 * socket costs nothing per peer (semantic 5 is about per-connection
 * buffers), and it lets IOCP keep a real WSARecvFrom posted (a zero-byte
 * read on a datagram socket would consume the datagram). recv_cb gets
 * each datagram with its sender; data is valid only during the call. A
 * datagram longer than max_datagram arrives cut to max_datagram bytes
 * with DX_UDP_TRUNCATED set: the caller decides (a server drops it).
 * An error (e.g. an ICMP report) comes as nread < 0 with from == NULL,
 * and receiving goes on: on a datagram socket no error is final.
 *
 * Sending: dx_udp_send hands the datagram to the kernel at once when it
 * can; when the socket buffer is full it waits in a small bounded queue
 * (DX_UDP_SEND_QUEUE_BYTES) and goes out, in order, when the socket is
 * writable again. Beyond that bound dx_udp_send returns DX_ENOBUFS and
 * the datagram is not sent: a datagram protocol is built to lose, and an
 * unbounded queue would turn a flood into memory instead of loss. As with
 * dx_write, the bytes must stay valid until cb, which runs exactly once
 * (later, never inside dx_udp_send; DX_ECANCELED if the handle closed). */
enum { DX_UDP_SEND_QUEUE_BYTES = 1024 * 1024 };

/* recv_cb flags. */
enum { DX_UDP_TRUNCATED = 1u << 0 };

typedef void (*dx_udp_recv_cb) (dx_udp *udp, ptrdiff_t nread, const char *data, const dx_addr *from,
                                unsigned flags);
typedef void (*dx_udp_send_cb) (dx_udp *udp, int status, void *arg);

/* A UDP socket bound to addr (the forms of dx_addr_parse; port 0 binds
 * any free port; "[::]:P" is IPv6 only, as for TCP). */
int dx_udp_bind (dx_loop *loop, const char *addr, dx_udp **out);
/* max_datagram: 1..65536, the longest datagram received whole. */
int dx_udp_recv_start (dx_udp *udp, size_t max_datagram, dx_udp_recv_cb cb);
/* On IOCP a datagram already taken by the kernel for the posted receive
 * when receiving stops is dropped: UDP may lose. */
int dx_udp_recv_stop (dx_udp *udp);
/* One datagram made of bufs (gathered), to `to`. 0 (cb will run),
 * DX_ENOBUFS (queue full: not sent, cb will not run), DX_ECANCELED
 * (closing) or DX_EINVAL. Per-datagram errors (unreachable...) go to cb. */
int dx_udp_send (dx_udp *udp, const dx_buf *bufs, size_t nbufs, const dx_addr *to,
                 dx_udp_send_cb cb, void *arg);
/* Bytes of datagrams waiting in the send queue. */
size_t dx_udp_send_queue_size (const dx_udp *udp);
/* Asks the kernel for socket buffers of these sizes (0: leave as is);
 * the system may cap them. 0 or DX_E*. */
int dx_udp_set_buffers (dx_udp *udp, size_t recv_bytes, size_t send_bytes);
/* The bound port, and the bound address as "IP:PORT" / "[IP]:PORT". */
int dx_udp_port (const dx_udp *udp);
int dx_udp_name (const dx_udp *udp, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
