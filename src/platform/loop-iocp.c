/* The Windows backend: an I/O completion port. Streams and listeners
 * that run on it are in stream-win.c and tcp-win.c (the mirrors of
 * stream-posix.c and tcp-posix.c, see tcp-private.h).
 *
 * Every overlapped operation is a dx_iocp_op whose completion always comes
 * back through the port (we never set FILE_SKIP_COMPLETION_PORT_ON_SUCCESS,
 * so no user callback runs inside the call that started it); poll hands
 * each to op->complete. dx_async wakeups are PostQueuedCompletionStatus
 * with a reserved key. */
#include "platform/loop-private.h"

#include <stdlib.h>

/* Completion keys. Overlapped operations use KEY_IO and are told apart by
 * the dx_iocp_op their OVERLAPPED belongs to. */
enum { KEY_IO = 0, KEY_WAKEUP = 1 };

typedef struct {
  HANDLE port;
} iocp_impl;

static iocp_impl *
impl_of (dx_loop *loop)
{
  return loop->impl;
}

int
dx__iocp_associate (dx_loop *loop, SOCKET sock)
{
  if (CreateIoCompletionPort ((HANDLE) sock, impl_of (loop)->port, KEY_IO, 0) == NULL)
    return dx__err_last_win32 ();
  return 0;
}

int
dx__iocp_op_status (SOCKET sock, const OVERLAPPED_ENTRY *e)
{
  /* Internal holds the NTSTATUS: negative (high bit) means failure. */
  if ((LONG) e->lpOverlapped->Internal >= 0)
    return 0;
  DWORD bytes = 0, flags = 0;
  if (sock != INVALID_SOCKET
      && !WSAGetOverlappedResult (sock, e->lpOverlapped, &bytes, FALSE, &flags))
    return dx__err_last_wsa ();
  return DX_EIO;
}

/* ---- the backend -------------------------------------------------------- */

static int
iocp_init (dx_loop *loop)
{
  int rc = dx__winsock_init ();
  if (rc < 0)
    return rc;
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
  dx_iocp_op *op = DX_CONTAINER_OF (e->lpOverlapped, dx_iocp_op, ov);
  op->complete (op, e);
}

static int
iocp_poll (dx_loop *loop, int timeout_ms)
{
  OVERLAPPED_ENTRY entries[64];
  ULONG n = 0;
  DWORD timeout = timeout_ms < 0 ? INFINITE : (DWORD) timeout_ms;
  if (!GetQueuedCompletionStatusEx (impl_of (loop)->port, entries,
                                    sizeof entries / sizeof entries[0], &n, timeout, FALSE)) {
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
