/* TCP streams as each I/O implementation defines them, and what the two
 * files of that implementation share. Only src/platform/ includes it.
 *
 * Like libuv (src/unix/stream.c + tcp.c, src/win/tcp.c), both I/O
 * implementations have the same two files, and the same names for the
 * same things inside them:
 *
 *   stream-posix.c / stream-win.c   a connected stream: reading (at most
 *        DX_READS_PER_WAKEUP reads per wake-up), writing, the flush phase
 *        (dx__streams_flush), shutdown, the end of a connect, close;
 *   tcp-posix.c / tcp-win.c         sockets: creating them, starting a
 *        connect, listening and accepting (with DX_ACCEPT_BACKOFF_MS of
 *        back-off when accepting fails), options and names.
 *
 * POSIX is built on readiness (dx_io, for epoll and poll); Windows on
 * completions (dx_iocp_op, for IOCP). struct dx_listener is private to
 * tcp-*.c. */
#ifndef DX_PLATFORM_TCP_PRIVATE_H
#define DX_PLATFORM_TCP_PRIVATE_H

#include "platform/loop-private.h"

enum {
  /* What alloc_cb is asked for. */
  DX_READ_SUGGESTED = 64 * 1024,
  /* Buffers gathered into one send (iovec or WSABUF); the rest of the
   * queue goes in the next send. */
  DX_WRITE_BUFS_MAX = 64,
  /* Pause before accepting again after accepting failed for want of
   * sockets (EMFILE, out of memory...), instead of spinning. */
  DX_ACCEPT_BACKOFF_MS = 100,
};

#ifndef _WIN32

enum {
  /* Reads of one stream per readiness report: fairness between
   * connections. */
  DX_READS_PER_WAKEUP = 32,
  /* accept() calls per readiness report of a listener. */
  DX_ACCEPTS_PER_WAKEUP = 64,
};

struct dx_stream {
  dx_handle h;
  dx_io io; /* io.fd is the socket */

  /* reading */
  dx_alloc_cb alloc_cb;
  dx_read_cb read_cb;
  bool reading;
  bool read_done; /* EOF or error delivered: nothing more */

  /* writing */
  dx_list write_queue;     /* write_req.link, oldest first */
  dx_list flush_link;      /* in loop->flush_list until the flush phase */
  size_t write_queue_size; /* bytes not yet taken by the kernel */
  int write_err;           /* 0, or sticky: a failed write fails the rest */
  dx_send_op *send_op;     /* uring: the send in the kernel (its bytes are
                              still queued), NULL when none */

  /* shutdown */
  bool shutdown_requested;
  bool shutdown_done;
  dx_req shutdown_req;
  dx_shutdown_cb shutdown_cb;
  void *shutdown_arg;

  /* connecting */
  bool connecting;
  dx_req connect_req;
  dx_connect_cb connect_cb;
  void *connect_arg;
};

#else

enum {
  /* recv() calls per completed zero-byte read before yielding back to
   * the port. */
  DX_READS_PER_WAKEUP = 16,
  /* AcceptEx calls kept pending per listener, so a burst of connections
   * does not wait for one completion per accept. */
  DX_ACCEPTS_POSTED = 8,
};

struct dx_stream {
  dx_handle h;
  SOCKET sock;
  unsigned outstanding; /* operations in the kernel */

  /* reading: a zero-byte WSARecv (recv0) says data is there */
  dx_alloc_cb alloc_cb;
  dx_read_cb read_cb;
  bool reading;
  bool read_done; /* EOF or error delivered: nothing more */
  bool recv0_pending;
  dx_iocp_op recv0;
  /* WSARecv's flags and byte count must outlive the call: Wine may write
   * them when the operation completes, long after we returned. */
  DWORD recv0_flags;
  DWORD recv0_bytes;
  dx_req read_err_req; /* an error found inside dx_read_start */

  /* writing */
  dx_list write_queue;     /* write_req.link, oldest first; a prefix is in
                               the kernel while write_inflight */
  dx_list flush_link;      /* in loop->flush_list until the flush phase */
  size_t write_queue_size; /* bytes of writes not yet completed */
  int write_err;           /* 0, or sticky: a failed write fails the rest */
  bool write_inflight;     /* send_op (a gathered WSASend) is pending */
  dx_iocp_op send_op;

  /* shutdown */
  bool shutdown_requested;
  bool shutdown_done;
  dx_req shutdown_req;
  dx_shutdown_cb shutdown_cb;
  void *shutdown_arg;

  /* connecting */
  bool connecting;
  dx_iocp_op connect_op;
  dx_req connect_req;
  dx_connect_cb connect_cb;
  void *connect_arg;
};

#endif

/* ---- stream-*.c, for tcp-*.c --------------------------------------------- */

/* A stream handle for a connected (or connecting) socket; NULL when out of
 * memory (the caller still owns the socket then). */
dx_stream *dx__stream_new (dx_loop *loop, dx_socket_t sock);
/* dx_tcp_connect started a connect that has not finished: the stream's
 * completion (readiness or IOCP) calls connect_cb. */
void dx__stream_connect_started (dx_stream *s);
/* The connect ended before dx_tcp_connect returned, with status (0 or
 * DX_E*): connect_cb gets it from the pending queue; after an error the
 * stream reads and writes nothing. */
void dx__stream_connect_ended (dx_stream *s, int status);
#ifndef _WIN32
/* The send that backend->send_start began is over: result is the byte
 * count the kernel took, or DX_E* (DX_ECANCELED after send_cancel). */
void dx__stream_send_done (dx_stream *s, ptrdiff_t result);
#endif

#endif
