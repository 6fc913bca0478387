/* The backend-neutral event loop: iteration, handle head, dx_close, the
 * pending-callback queue and the handle count. See loop-private.h for the
 * shape of one iteration. */
#include "platform/loop-private.h"

#include <stdlib.h>
#include <string.h>

/* ---- backends ----------------------------------------------------------- */

static const dx_backend *const backends[] = {
#ifdef __linux__
  &dx__backend_epoll,
#endif
#ifdef _WIN32
  &dx__backend_iocp,
#else
  &dx__backend_poll,
#endif
#ifdef DX_HAVE_URING
  &dx__backend_uring, /* not the default: epoll stays first until measured */
#endif
};

static const dx_backend *
backend_by_name (const char *name)
{
  for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
    if (strcmp (backends[i]->name, name) == 0)
      return backends[i];
  return NULL;
}

static void
set_err (int *err, int value)
{
  if (err)
    *err = value;
}

dx_loop *
dx_loop_new (int *err)
{
  const char *name = getenv ("DUPLEX_LOOP");
  if (name && *name)
    return dx_loop_new_backend (name, err);
  return dx_loop_new_backend (backends[0]->name, err);
}

static void
refresh_time (dx_loop *loop)
{
  loop->now_us = dx_monotonic_us ();
  loop->now_ms = loop->now_us / 1000;
}

dx_loop *
dx_loop_new_backend (const char *name, int *err)
{
  const dx_backend *backend = name ? backend_by_name (name) : NULL;
  if (!backend) {
    set_err (err, DX_EINVAL);
    return NULL;
  }
  dx_loop *loop = calloc (1, sizeof *loop);
  if (!loop) {
    set_err (err, DX_ENOMEM);
    return NULL;
  }
  loop->backend = backend;
  dx_list_init (&loop->handles);
  dx_list_init (&loop->asyncs);
  dx_list_init (&loop->flush_list);
  atomic_init (&loop->wake_pending, 0);
  refresh_time (loop);
  int rc = backend->init (loop);
  if (rc < 0) {
    free (loop);
    set_err (err, rc);
    return NULL;
  }
  set_err (err, 0);
  return loop;
}

const char *
dx_loop_backend (const dx_loop *loop)
{
  return loop->backend->name;
}

void
dx_loop_stop (dx_loop *loop)
{
  loop->stop_requested = true;
}

uint64_t
dx_loop_now_ms (const dx_loop *loop)
{
  return loop->now_ms;
}

size_t
dx_loop_handle_count (const dx_loop *loop)
{
  return loop->handle_count;
}

/* ---- pending queue ------------------------------------------------------ */

void
dx__req_done (dx_loop *loop, dx_req *req, int status)
{
  req->status = status;
  req->next = NULL;
  req->queued = true;
  if (loop->pending_tail)
    loop->pending_tail->next = req;
  else
    loop->pending_head = req;
  loop->pending_tail = req;
}

/* Runs only what was queued before we started: callbacks that queue more
 * work (a write that completes at once) wait for the next iteration, so
 * I/O is never starved. */
static void
run_pending (dx_loop *loop)
{
  dx_req *last = loop->pending_tail;
  if (!last)
    return;
  for (;;) {
    dx_req *req = loop->pending_head;
    loop->pending_head = req->next;
    if (!loop->pending_head)
      loop->pending_tail = NULL;
    req->next = NULL;
    req->queued = false;
    bool is_last = req == last;
    req->run (req); /* may free req (close requests free the handle) */
    if (is_last)
      break;
  }
}

/* ---- handles ------------------------------------------------------------ */

void *
dx__handle_new (dx_loop *loop, dx_handle_type type, size_t size)
{
  dx_handle *h = calloc (1, size);
  if (!h)
    return NULL;
  h->type = type;
  h->loop = loop;
  dx_list_push_back (&loop->handles, &h->link);
  loop->handle_count++;
  return h;
}

void
dx__handle_make_internal (dx_handle *handle)
{
  if (!(handle->flags & DX_HF_INTERNAL)) {
    handle->flags |= DX_HF_INTERNAL;
    handle->loop->handle_count--;
  }
}

static void
close_req_run (dx_req *req)
{
  dx_handle *h = DX_CONTAINER_OF (req, dx_handle, close_req);
  dx_loop *loop = h->loop;
  dx_list_remove (&h->link);
  if (h->type == DX_HANDLE_ASYNC)
    dx_list_remove (&((dx_async *) h)->async_link);
  if (!(h->flags & DX_HF_INTERNAL))
    loop->handle_count--;
  if (h->close_cb)
    h->close_cb (h);
  free (h);
}

void
dx__handle_close_done (dx_handle *handle)
{
  handle->flags |= DX_HF_CLOSED;
  handle->close_req.run = close_req_run;
  handle->close_req.handle = handle;
  dx__req_done (handle->loop, &handle->close_req, 0);
}

void
dx_close (dx_handle *handle, dx_close_cb close_cb)
{
  if (!handle || (handle->flags & DX_HF_CLOSING))
    return; /* closing twice is a caller bug; ignoring it is the safe choice */
  handle->flags |= DX_HF_CLOSING;
  handle->close_cb = close_cb;
  switch (handle->type) {
  case DX_HANDLE_STREAM: dx__stream_close ((dx_stream *) handle); break;
  case DX_HANDLE_LISTENER: dx__listener_close ((dx_listener *) handle); break;
  case DX_HANDLE_TIMER: dx__timer_close ((dx_timer *) handle); break;
  case DX_HANDLE_ASYNC: dx__async_close ((dx_async *) handle); break;
  case DX_HANDLE_UDP: dx__udp_close ((dx_udp *) handle); break;
  }
}

void
dx_handle_set_data (dx_handle *handle, void *data)
{
  handle->data = data;
}

void *
dx_handle_data (const dx_handle *handle)
{
  return handle->data;
}

dx_loop *
dx_handle_loop (const dx_handle *handle)
{
  return handle->loop;
}

bool
dx_handle_is_closing (const dx_handle *handle)
{
  return (handle->flags & DX_HF_CLOSING) != 0;
}

/* ---- readiness helpers -------------------------------------------------- */

int
dx__io_update (dx_loop *loop, dx_io *io, unsigned events)
{
  if (io->registered && io->events == events)
    return 0;
  int rc = loop->backend->io_set (loop, io, events);
  if (rc == 0) {
    io->events = events;
    io->registered = true;
  }
  return rc;
}

void
dx__io_remove (dx_loop *loop, dx_io *io)
{
  if (io->registered)
    loop->backend->io_remove (loop, io);
  io->registered = false;
  io->events = 0;
}

/* ---- run ---------------------------------------------------------------- */

static bool
loop_alive (const dx_loop *loop)
{
  return loop->handle_count > 0 || loop->pending_head != NULL;
}

static int
poll_timeout (const dx_loop *loop)
{
  if (loop->pending_head || loop->stop_requested)
    return 0;
  return dx__timers_timeout_ms (loop);
}

int
dx_loop_run (dx_loop *loop)
{
  int rc = 0;
  loop->running = true;
  loop->stop_requested = false;
  /* The phases of one iteration, numbered as in loop-private.h; the
   * loop condition is phase 6, the stop check. */
  while (!loop->stop_requested && loop_alive (loop)) {
    refresh_time (loop);   /* 1. clock */
    dx__timers_run (loop); /* 2. timers */
    run_pending (loop);    /* 3. pending callbacks */
    /* The last close_cb may just have run: don't block in poll for
     * nothing. */
    if (loop->stop_requested || !loop_alive (loop))
      break;
    dx__streams_flush (loop);                             /* 4. flush writes */
    rc = loop->backend->poll (loop, poll_timeout (loop)); /* 5. poll for I/O */
    if (rc < 0)
      break;
  }
  loop->running = false;
  loop->stop_requested = false;
  return rc;
}

/* ---- free --------------------------------------------------------------- */

int
dx_loop_free (dx_loop *loop)
{
  if (!loop)
    return 0;
  if (loop->handle_count > 0 || loop->running)
    return DX_EALREADY;
  dx__signal_loop_free (loop);
  /* Close internal handles and flush their close requests. */
  for (dx_list *n = loop->handles.next; n != &loop->handles;) {
    dx_handle *h = DX_CONTAINER_OF (n, dx_handle, link);
    n = n->next;
    if (!(h->flags & DX_HF_CLOSING))
      dx_close (h, NULL);
  }
  while (loop->pending_head)
    run_pending (loop);
  if (!dx_list_empty (&loop->handles))
    return DX_EALREADY; /* an internal handle still has I/O outstanding */
  loop->backend->destroy (loop);
  dx__timer_heap_free (&loop->timers);
  free (loop);
  return 0;
}
