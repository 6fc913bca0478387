/* dx_async: wake the loop from any thread (or a signal handler).
 *
 * dx_async_send only does lock-free atomics and backend->wakeup (a write to
 * an eventfd/pipe, or PostQueuedCompletionStatus), so it is safe from any
 * thread and from POSIX signal handlers. Many sends before the loop looks
 * collapse into one callback. */
#include "platform/loop-private.h"

dx_async *
dx_async_new (dx_loop *loop, dx_async_cb cb)
{
  if (!loop || !cb)
    return NULL;
  dx_async *a = dx__handle_new (loop, DX_HANDLE_ASYNC, sizeof *a);
  if (!a)
    return NULL;
  atomic_init (&a->pending, 0);
  a->cb = cb;
  dx_list_push_back (&loop->asyncs, &a->async_link);
  return a;
}

int
dx_async_send (dx_async *async)
{
  if (!async)
    return DX_EINVAL;
  if (atomic_exchange (&async->pending, 1) == 0) {
    dx_loop *loop = async->h.loop;
    if (atomic_exchange (&loop->wake_pending, 1) == 0)
      loop->backend->wakeup (loop);
  }
  return 0;
}

void
dx__async_dispatch (dx_loop *loop)
{
  /* Clear the loop flag before scanning: a send racing with the scan either
   * is seen by it or triggers a new wakeup. */
  atomic_store (&loop->wake_pending, 0);
  dx_list *n = loop->asyncs.next;
  while (n != &loop->asyncs) {
    dx_async *a = DX_CONTAINER_OF (n, dx_async, async_link);
    /* A callback may close asyncs (this one or the next): closing only
     * marks them; they leave the list when their close request runs, which
     * is never during this scan. */
    n = n->next;
    if (dx__is_closing (a))
      continue;
    if (atomic_exchange (&a->pending, 0))
      a->cb (a);
  }
}

void
dx__async_close (dx_async *async)
{
  dx__handle_close_done (&async->h);
}
