/* The poll(2) poller (any POSIX): a pollfd array with a parallel array of
 * dx_io pointers, cross-thread wakeup through a self-pipe. A portable
 * fallback, and a second implementation that keeps the abstraction honest.
 *
 * Removing an fd while dispatching would shift entries under the dispatch
 * loop, so removals only clear the slot; the array is compacted after the
 * dispatch. An fd watched for nothing keeps its slot with pollfd.fd = -1
 * (poll ignores it, so a reset idle socket cannot make poll spin). */
#include "platform/loop-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
  struct pollfd *fds;
  dx_io **ios;
  size_t len, cap;
  bool dispatching;
  bool need_compact;
  int pipe_r, pipe_w;
  dx_io wake_io;
} poll_impl;

static short
to_poll_events (unsigned events)
{
  return (short) (((events & DX_IO_READ) ? POLLIN : 0) | ((events & DX_IO_WRITE) ? POLLOUT : 0));
}

static int
poll_io_set (dx_loop *loop, dx_io *io, unsigned events)
{
  poll_impl *p = loop->impl;
  if (!io->registered) {
    if (p->len == p->cap) {
      size_t cap = p->cap ? p->cap * 2 : 64;
      struct pollfd *fds = realloc (p->fds, cap * sizeof *fds);
      if (!fds)
        return DX_ENOMEM;
      p->fds = fds;
      dx_io **ios = realloc (p->ios, cap * sizeof *ios);
      if (!ios)
        return DX_ENOMEM;
      p->ios = ios;
      p->cap = cap;
    }
    io->slot = p->len++;
    p->ios[io->slot] = io;
    p->fds[io->slot].revents = 0; /* appended mid-dispatch: not yet ready */
  }
  p->fds[io->slot].fd = events ? io->fd : -1;
  p->fds[io->slot].events = to_poll_events (events);
  return 0;
}

static void
remove_slot (poll_impl *p, size_t slot)
{
  p->len--;
  if (slot != p->len) {
    p->fds[slot] = p->fds[p->len];
    p->ios[slot] = p->ios[p->len];
    p->ios[slot]->slot = slot;
  }
}

static void
poll_io_remove (dx_loop *loop, dx_io *io)
{
  poll_impl *p = loop->impl;
  if (p->dispatching) {
    p->ios[io->slot] = NULL;
    p->fds[io->slot].fd = -1;
    p->fds[io->slot].revents = 0;
    p->need_compact = true;
    return;
  }
  remove_slot (p, io->slot);
}

static void
compact (poll_impl *p)
{
  size_t j = 0;
  for (size_t i = 0; i < p->len; i++) {
    if (p->ios[i] == NULL)
      continue;
    p->fds[j] = p->fds[i];
    p->ios[j] = p->ios[i];
    p->ios[j]->slot = j;
    j++;
  }
  p->len = j;
  p->need_compact = false;
}

static void
wake_cb (dx_loop *loop, dx_io *io, unsigned revents)
{
  char buf[64];
  (void) revents;
  while (read (io->fd, buf, sizeof buf) > 0)
    ; /* nonblocking: drain */
  dx__async_dispatch (loop);
}

static int
make_pipe (int fds[2])
{
  if (pipe (fds) < 0)
    return dx__err_last_errno ();
  for (int i = 0; i < 2; i++) {
    int fl = fcntl (fds[i], F_GETFL);
    if (fl < 0 || fcntl (fds[i], F_SETFL, fl | O_NONBLOCK) < 0
        || fcntl (fds[i], F_SETFD, FD_CLOEXEC) < 0) {
      int err = dx__err_last_errno ();
      close (fds[0]);
      close (fds[1]);
      return err;
    }
  }
  return 0;
}

static int
poll_init (dx_loop *loop)
{
  poll_impl *p = calloc (1, sizeof *p);
  if (!p)
    return DX_ENOMEM;
  int fds[2];
  int rc = make_pipe (fds);
  if (rc < 0) {
    free (p);
    return rc;
  }
  p->pipe_r = fds[0];
  p->pipe_w = fds[1];
  loop->impl = p;
  p->wake_io.fd = p->pipe_r;
  p->wake_io.cb = wake_cb;
  rc = dx__io_update (loop, &p->wake_io, DX_IO_READ);
  if (rc < 0) {
    close (p->pipe_r);
    close (p->pipe_w);
    free (p->fds);
    free (p->ios);
    free (p);
    loop->impl = NULL;
  }
  return rc;
}

static void
poll_destroy (dx_loop *loop)
{
  poll_impl *p = loop->impl;
  close (p->pipe_r);
  close (p->pipe_w);
  free (p->fds);
  free (p->ios);
  free (p);
  loop->impl = NULL;
}

static int
poll_poll (dx_loop *loop, int timeout_ms)
{
  poll_impl *p = loop->impl;
  int n = poll (p->fds, (nfds_t) p->len, timeout_ms);
  if (n < 0)
    return errno == EINTR ? 0 : dx__err_last_errno ();
  size_t len = p->len; /* entries appended by callbacks have revents 0 */
  p->dispatching = true;
  for (size_t i = 0; i < len && n > 0; i++) {
    short re = p->fds[i].revents;
    if (re == 0 || p->ios[i] == NULL)
      continue;
    n--;
    p->fds[i].revents = 0;
    if (p->fds[i].fd < 0)
      continue; /* no longer watched since poll returned */
    unsigned rev = ((re & POLLIN) ? DX_IO_READ : 0u) | ((re & POLLOUT) ? DX_IO_WRITE : 0u)
                   | ((re & (POLLERR | POLLHUP | POLLNVAL)) ? DX_IO_ERROR : 0u);
    p->ios[i]->cb (loop, p->ios[i], rev);
  }
  p->dispatching = false;
  if (p->need_compact)
    compact (p);
  return 0;
}

static void
poll_wakeup (dx_loop *loop)
{
  poll_impl *p = loop->impl;
  char c = 1;
  ssize_t r = write (p->pipe_w, &c, 1);
  (void) r; /* EAGAIN: the pipe is full, so the loop is awake anyway */
}

const dx_backend dx__backend_poll = {
  .name = "poll",
  .init = poll_init,
  .destroy = poll_destroy,
  .poll = poll_poll,
  .wakeup = poll_wakeup,
  .io_set = poll_io_set,
  .io_remove = poll_io_remove,
};
