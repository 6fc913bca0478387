/* The epoll poller (Linux): level-triggered, one epoll_event per watched fd,
 * cross-thread wakeup through an eventfd. The stream logic is shared with
 * the poll backend in stream-posix.c and tcp-posix.c. */
#include "platform/loop-private.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum { DX_EPOLL_BATCH = 256 };

typedef struct {
  int epfd;
  int wakefd;
  dx_io wake_io;
  struct epoll_event events[DX_EPOLL_BATCH];
} epoll_impl;

static void
wake_cb (dx_loop *loop, dx_io *io, unsigned revents)
{
  uint64_t v;
  (void) revents;
  while (read (io->fd, &v, sizeof v) > 0)
    ; /* nonblocking: drain */
  dx__async_dispatch (loop);
}

/* The fd is in the epoll set exactly while it is watched for something
 * (io->events != 0; dx__io_update records events after io_set succeeds,
 * so io->events is still the old set here). Watching nothing removes it
 * from the set: epoll reports EPOLLERR/EPOLLHUP even with no events asked,
 * which would spin on a reset socket nobody reads. */
static bool
in_epoll_set (const dx_io *io)
{
  return io->registered && io->events != 0;
}

static int
epoll_io_set (dx_loop *loop, dx_io *io, unsigned events)
{
  epoll_impl *ep = loop->impl;
  if (events == 0) {
    if (in_epoll_set (io) && epoll_ctl (ep->epfd, EPOLL_CTL_DEL, io->fd, NULL) < 0)
      return dx__err_last_errno ();
    return 0;
  }
  struct epoll_event ev = { 0 };
  ev.events = ((events & DX_IO_READ) ? EPOLLIN : 0u) | ((events & DX_IO_WRITE) ? EPOLLOUT : 0u);
  ev.data.ptr = io;
  int op = in_epoll_set (io) ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl (ep->epfd, op, io->fd, &ev) < 0)
    return dx__err_last_errno ();
  return 0;
}

static void
epoll_io_remove (dx_loop *loop, dx_io *io)
{
  epoll_impl *ep = loop->impl;
  if (in_epoll_set (io))
    epoll_ctl (ep->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

static int
epoll_init (dx_loop *loop)
{
  epoll_impl *ep = calloc (1, sizeof *ep);
  if (!ep)
    return DX_ENOMEM;
  ep->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (ep->epfd < 0) {
    int err = dx__err_last_errno ();
    free (ep);
    return err;
  }
  ep->wakefd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ep->wakefd < 0) {
    int err = dx__err_last_errno ();
    close (ep->epfd);
    free (ep);
    return err;
  }
  loop->impl = ep;
  ep->wake_io.fd = ep->wakefd;
  ep->wake_io.cb = wake_cb;
  int rc = dx__io_update (loop, &ep->wake_io, DX_IO_READ);
  if (rc < 0) {
    close (ep->wakefd);
    close (ep->epfd);
    free (ep);
    loop->impl = NULL;
  }
  return rc;
}

static void
epoll_destroy (dx_loop *loop)
{
  epoll_impl *ep = loop->impl;
  close (ep->wakefd);
  close (ep->epfd);
  free (ep);
  loop->impl = NULL;
}

static int
epoll_poll (dx_loop *loop, int timeout_ms)
{
  epoll_impl *ep = loop->impl;
  int n = epoll_wait (ep->epfd, ep->events, DX_EPOLL_BATCH, timeout_ms);
  if (n < 0)
    return errno == EINTR ? 0 : dx__err_last_errno ();
  /* Handles closed by an earlier callback in this batch are not freed
   * before the pending queue runs, so every data.ptr stays valid; the
   * callbacks skip closing handles. */
  for (int i = 0; i < n; i++) {
    uint32_t e = ep->events[i].events;
    dx_io *io = ep->events[i].data.ptr;
    unsigned rev = ((e & EPOLLIN) ? DX_IO_READ : 0u) | ((e & EPOLLOUT) ? DX_IO_WRITE : 0u)
                   | ((e & (EPOLLERR | EPOLLHUP)) ? DX_IO_ERROR : 0u);
    io->cb (loop, io, rev);
  }
  return 0;
}

static void
epoll_wakeup (dx_loop *loop)
{
  epoll_impl *ep = loop->impl;
  uint64_t one = 1;
  ssize_t r = write (ep->wakefd, &one, sizeof one);
  (void) r; /* EAGAIN means the counter is already non-zero: awake anyway */
}

const dx_backend dx__backend_epoll = {
  .name = "epoll",
  .init = epoll_init,
  .destroy = epoll_destroy,
  .poll = epoll_poll,
  .wakeup = epoll_wakeup,
  .io_set = epoll_io_set,
  .io_remove = epoll_io_remove,
};
