/* The io_uring backend (Linux, liburing): DUPLEX_LOOP=uring.
 *
 * It runs the readiness code of stream-posix.c, tcp-posix.c and
 * udp-posix.c on a ring, and makes the sends of the flush phase requests
 * of the ring:
 *  - readiness: each watched dx_io has one one-shot poll request armed
 *    (IORING_OP_POLL_ADD). One-shot, re-armed after its callback, gives
 *    the level-triggered behaviour the readiness code expects (a stream
 *    that stopped after DX_READS_PER_WAKEUP reads is told again). Reads,
 *    accepts, connects and UDP stay what they are on epoll, so alloc_cb
 *    still runs only once the socket is readable (semantic 5);
 *  - sends: the flush phase (step 4 of the iteration) gives each stream's
 *    queue to backend->send_start, which fills a send request but does
 *    not submit it; step 5 submits every request of the iteration with
 *    the wait, in ONE io_uring_enter. A fan-out to k subscribers costs
 *    one system call where epoll costs k sendmsg calls plus the wait.
 *    The kernel waits for room in a full socket itself, so a stream never
 *    watches writability here;
 *  - wakeup: an IORING_OP_READ of the eventfd that dx_async_send writes;
 *  - timers: the loop's timer heap, through the wait's timeout.
 *
 * Lifetimes. A poll or send request names its record in user_data, and
 * that record outlives the request: a removed poll (io_remove, or a new
 * set of events) only forgets its dx_io and is freed when its last
 * completion arrives; a send holds its stream open (dx__stream_close
 * waits for dx__stream_send_done) and is cancelled by
 * IORING_OP_ASYNC_CANCEL. Records still in the kernel when the loop is
 * freed are freed with it.
 *
 * A ring that cannot be set up (ENOSYS: no io_uring in this kernel; EPERM:
 * forbidden by io_uring_disabled or a seccomp filter, as in some
 * containers) makes dx_loop_new fail with DX_ENOTSUP / DX_EACCES: whoever
 * asked for uring by name gets an error rather than another backend, so a
 * measurement never reports epoll figures as io_uring ones. */
#include "platform/tcp-private.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum {
  /* Submission queue entries. A flush phase with more streams to send to
   * submits in chunks of this many (still one call per chunk). */
  DX_URING_SQ_ENTRIES = 4096,
  /* Completion queue: room for every request of a full submission queue
   * several times over; beyond it the kernel keeps the overflow
   * (IORING_FEAT_NODROP), slower but nothing is lost. */
  DX_URING_CQ_ENTRIES = 4 * DX_URING_SQ_ENTRIES,
  /* Completions dispatched per poll(): then the timers get their turn. */
  DX_URING_CQE_BATCH = 256,
  DX_URING_CQE_PER_POLL = 4096,
};

/* What a request's user_data points at: every record starts with this. */
typedef enum { OP_POLL = 1, OP_SEND, OP_WAKE } op_kind;

typedef struct {
  op_kind kind;
  dx_list link; /* in uring_impl.ops while the kernel has it */
} op_head;

typedef struct {
  op_head head;
  dx_io *io; /* NULL once removed: its completion is then dropped */
} poll_op;

struct dx_send_op {
  op_head head;
  dx_stream *s;
  struct msghdr msg;
  struct iovec iov[DX_WRITE_BUFS_MAX];
};

typedef struct {
  struct io_uring ring;
  int wakefd;
  uint64_t wake_value; /* the eventfd read lands here */
  op_head wake_op;
  dx_list ops;            /* poll_op and dx_send_op records in the kernel */
  dx_send_op *free_sends; /* reused send records (linked through .s) */
} uring_impl;

/* ---- submission ------------------------------------------------------------ */

/* A free submission entry; when the queue is full, what it holds is
 * submitted first. NULL if even that fails. */
static struct io_uring_sqe *
get_sqe (uring_impl *u)
{
  struct io_uring_sqe *sqe = io_uring_get_sqe (&u->ring);
  if (!sqe && io_uring_submit (&u->ring) >= 0)
    sqe = io_uring_get_sqe (&u->ring);
  return sqe;
}

/* An entry whose completion nobody waits for (cancellations). */
static void
prep_untracked (struct io_uring_sqe *sqe)
{
  io_uring_sqe_set_data64 (sqe, 0);
}

/* ---- readiness: one-shot poll requests -------------------------------------- */

static unsigned
poll_mask (unsigned events)
{
  return ((events & DX_IO_READ) ? POLLIN : 0u) | ((events & DX_IO_WRITE) ? POLLOUT : 0u);
}

static int
poll_arm (uring_impl *u, dx_io *io, unsigned events)
{
  poll_op *p = malloc (sizeof *p);
  if (!p)
    return DX_ENOMEM;
  struct io_uring_sqe *sqe = get_sqe (u);
  if (!sqe) {
    free (p);
    return DX_ENOMEM;
  }
  p->head.kind = OP_POLL;
  p->io = io;
  dx_list_push_back (&u->ops, &p->head.link);
  io_uring_prep_poll_add (sqe, io->fd, poll_mask (events));
  io_uring_sqe_set_data (sqe, p);
  io->poll_op = p;
  return 0;
}

/* Forget io's armed poll: its completion (cancelled, or already posted)
 * frees the record. */
static void
poll_disarm (uring_impl *u, dx_io *io)
{
  poll_op *p = io->poll_op;
  if (!p)
    return;
  io->poll_op = NULL;
  p->io = NULL;
  struct io_uring_sqe *sqe = get_sqe (u);
  if (!sqe)
    return; /* it completes when the fd is ready or the ring goes */
  io_uring_prep_poll_remove (sqe, (uint64_t) (uintptr_t) p);
  prep_untracked (sqe);
}

static int
uring_io_set (dx_loop *loop, dx_io *io, unsigned events)
{
  uring_impl *u = loop->impl;
  poll_disarm (u, io);
  return events ? poll_arm (u, io, events) : 0;
}

static void
uring_io_remove (dx_loop *loop, dx_io *io)
{
  poll_disarm (loop->impl, io);
}

static void
poll_complete (dx_loop *loop, poll_op *p, int res)
{
  uring_impl *u = loop->impl;
  dx_io *io = p->io;
  dx_list_remove (&p->head.link);
  free (p);
  if (!io)
    return; /* removed since it was armed */
  io->poll_op = NULL;
  unsigned rev;
  if (res < 0)
    rev = DX_IO_ERROR; /* the callback finds out what by reading/writing */
  else
    rev = ((res & POLLIN) ? DX_IO_READ : 0u) | ((res & POLLOUT) ? DX_IO_WRITE : 0u)
          | ((res & (POLLERR | POLLHUP | POLLNVAL)) ? DX_IO_ERROR : 0u);
  io->cb (loop, io, rev);
  /* Still watched for the same events (dx__io_update skipped the no-op
   * change): arm again, which reports at once if it is still ready. The
   * io is valid here: handles are freed only from the pending queue. */
  if (io->registered && io->events != 0 && !io->poll_op && poll_arm (u, io, io->events) < 0)
    io->cb (loop, io, DX_IO_ERROR);
}

/* ---- completion-based sends ---------------------------------------------- */

static int
uring_send_start (dx_loop *loop, dx_stream *s, const struct iovec *iov, int n)
{
  uring_impl *u = loop->impl;
  dx_send_op *op = u->free_sends;
  if (op)
    u->free_sends = (dx_send_op *) (void *) op->s;
  else if (!(op = malloc (sizeof *op)))
    return DX_ENOMEM;
  struct io_uring_sqe *sqe = get_sqe (u);
  if (!sqe) {
    op->s = (dx_stream *) (void *) u->free_sends;
    u->free_sends = op;
    return DX_ENOMEM;
  }
  op->head.kind = OP_SEND;
  op->s = s;
  memcpy (op->iov, iov, (size_t) n * sizeof *iov);
  if (n == 1) {
    io_uring_prep_send (sqe, s->io.fd, op->iov[0].iov_base, op->iov[0].iov_len, MSG_NOSIGNAL);
  } else {
    memset (&op->msg, 0, sizeof op->msg);
    op->msg.msg_iov = op->iov;
    op->msg.msg_iovlen = (size_t) n;
    io_uring_prep_sendmsg (sqe, s->io.fd, &op->msg, MSG_NOSIGNAL);
  }
  io_uring_sqe_set_data (sqe, op);
  dx_list_push_back (&u->ops, &op->head.link);
  s->send_op = op;
  return 0;
}

static void
uring_send_cancel (dx_loop *loop, dx_stream *s)
{
  struct io_uring_sqe *sqe = get_sqe (loop->impl);
  if (!sqe)
    return; /* the send ends by itself when the peer reads or goes */
  io_uring_prep_cancel (sqe, s->send_op, 0);
  prep_untracked (sqe);
}

static void
send_complete (uring_impl *u, dx_send_op *op, int res)
{
  dx_stream *s = op->s;
  dx_list_remove (&op->head.link);
  op->s = (dx_stream *) (void *) u->free_sends;
  u->free_sends = op;
  dx__stream_send_done (s, res < 0 ? dx__err_from_errno (-res) : res);
}

/* ---- wakeup ------------------------------------------------------------------ */

static int
wake_arm (uring_impl *u)
{
  struct io_uring_sqe *sqe = get_sqe (u);
  if (!sqe)
    return DX_ENOMEM;
  io_uring_prep_read (sqe, u->wakefd, &u->wake_value, sizeof u->wake_value, 0);
  io_uring_sqe_set_data (sqe, &u->wake_op);
  return 0;
}

static void
wake_complete (dx_loop *loop, int res)
{
  uring_impl *u = loop->impl;
  /* The read consumed the counter: the next dx_async_send completes the
   * next read. Any other outcome (cancelled at exit) is not re-armed. */
  if (res > 0 || res == -EINTR || res == -EAGAIN)
    wake_arm (u);
  dx__async_dispatch (loop);
}

static void
uring_wakeup (dx_loop *loop)
{
  uring_impl *u = loop->impl;
  uint64_t one = 1;
  ssize_t r = write (u->wakefd, &one, sizeof one);
  (void) r; /* only fails when the counter is full: awake anyway */
}

/* ---- the backend -------------------------------------------------------- */

static int
uring_init (dx_loop *loop)
{
  uring_impl *u = calloc (1, sizeof *u);
  if (!u)
    return DX_ENOMEM;
  struct io_uring_params params;
  memset (&params, 0, sizeof params);
  params.flags = IORING_SETUP_CQSIZE;
  params.cq_entries = DX_URING_CQ_ENTRIES;
  int rc = io_uring_queue_init_params (DX_URING_SQ_ENTRIES, &u->ring, &params);
  if (rc < 0) {
    free (u);
    return rc == -ENOSYS ? DX_ENOTSUP : dx__err_from_errno (-rc);
  }
  /* Blocking on purpose: the ring waits for its read by polling, where
   * a non-blocking eventfd would fail the read at once with EAGAIN. */
  u->wakefd = eventfd (0, EFD_CLOEXEC);
  if (u->wakefd < 0) {
    rc = dx__err_last_errno ();
    io_uring_queue_exit (&u->ring);
    free (u);
    return rc;
  }
  u->wake_op.kind = OP_WAKE;
  dx_list_init (&u->ops);
  loop->impl = u;
  rc = wake_arm (u);
  if (rc < 0) {
    close (u->wakefd);
    io_uring_queue_exit (&u->ring);
    free (u);
    loop->impl = NULL;
  }
  return rc;
}

static void
uring_destroy (dx_loop *loop)
{
  uring_impl *u = loop->impl;
  /* Tearing the ring down ends every request; then nobody refers to the
   * records any more. */
  io_uring_queue_exit (&u->ring);
  close (u->wakefd);
  while (!dx_list_empty (&u->ops)) {
    op_head *h = DX_CONTAINER_OF (u->ops.next, op_head, link);
    dx_list_remove (&h->link);
    free (h);
  }
  while (u->free_sends) {
    dx_send_op *op = u->free_sends;
    u->free_sends = (dx_send_op *) (void *) op->s;
    free (op);
  }
  free (u);
  loop->impl = NULL;
}

typedef struct {
  uint64_t user_data;
  int res;
} completion;

static void
dispatch (dx_loop *loop, const completion *c)
{
  op_head *h = (op_head *) (uintptr_t) c->user_data;
  if (!h)
    return; /* a cancellation's own answer */
  switch (h->kind) {
  case OP_POLL: poll_complete (loop, (poll_op *) h, c->res); break;
  case OP_SEND: send_complete (loop->impl, (dx_send_op *) h, c->res); break;
  case OP_WAKE: wake_complete (loop, c->res); break;
  }
}

static int
uring_poll (dx_loop *loop, int timeout_ms)
{
  uring_impl *u = loop->impl;
  int rc;
  /* Everything prepared since the last call (this iteration's sends,
   * re-armed polls, cancellations) goes in with the wait. */
  if (timeout_ms == 0) {
    rc = io_uring_submit (&u->ring);
  } else {
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
                                    .tv_nsec = (long long) (timeout_ms % 1000) * 1000000 };
    rc = io_uring_submit_and_wait_timeout (&u->ring, &cqe, 1, timeout_ms < 0 ? NULL : &ts, NULL);
  }
  /* ETIME: the timeout; EINTR: a signal; EBUSY/EAGAIN: completions must
   * be reaped before more can be submitted, which we do now. */
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
    return dx__err_from_errno (-rc);
  /* Copy a batch out and release its slots before dispatching: callbacks
   * prepare (and may submit) new requests meanwhile. */
  for (unsigned done = 0; done < DX_URING_CQE_PER_POLL;) {
    struct io_uring_cqe *cqes[DX_URING_CQE_BATCH];
    completion batch[DX_URING_CQE_BATCH];
    unsigned n = io_uring_peek_batch_cqe (&u->ring, cqes, DX_URING_CQE_BATCH);
    if (n == 0)
      break;
    for (unsigned i = 0; i < n; i++) {
      batch[i].user_data = cqes[i]->user_data;
      batch[i].res = cqes[i]->res;
    }
    io_uring_cq_advance (&u->ring, n);
    for (unsigned i = 0; i < n; i++)
      dispatch (loop, &batch[i]);
    done += n;
  }
  return 0;
}

const dx_backend dx__backend_uring = {
  .name = "uring",
  .init = uring_init,
  .destroy = uring_destroy,
  .poll = uring_poll,
  .wakeup = uring_wakeup,
  .io_set = uring_io_set,
  .io_remove = uring_io_remove,
  .send_start = uring_send_start,
  .send_cancel = uring_send_cancel,
};
