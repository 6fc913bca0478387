/* dx_signal_stop_on_interrupt: turn SIGINT/SIGTERM (POSIX) or console
 * control events (Windows) into a callback on the loop thread.
 *
 * The handler only records the signal and calls dx_async_send on an
 * internal async, which is async-signal-safe (atomics + write(2)) and
 * thread-safe (Windows runs console handlers on a separate thread). */
#include "platform/loop-private.h"

#include <signal.h>

static dx_loop *signal_loop;          /* the one registered loop */
static dx_signal_cb signal_user_cb;
static volatile sig_atomic_t signal_last;

static void
signal_async_cb (dx_async *async)
{
  dx_loop *loop = async->h.loop;
  int signum = (int) signal_last;
  if (signal_user_cb)
    signal_user_cb (loop, signum);
  else
    dx_loop_stop (loop);
}

#ifdef _WIN32
#include <windows.h>

static BOOL WINAPI
console_handler (DWORD type)
{
  switch (type) {
  case CTRL_C_EVENT:
    signal_last = SIGINT;
    break;
  case CTRL_BREAK_EVENT:
  case CTRL_CLOSE_EVENT:
  case CTRL_SHUTDOWN_EVENT:
    signal_last = SIGTERM;
    break;
  default:
    return FALSE;
  }
  if (signal_loop && signal_loop->signal_async)
    dx_async_send (signal_loop->signal_async);
  return TRUE;
}

static int
install (void)
{
  return SetConsoleCtrlHandler (console_handler, TRUE) ? 0 : DX_EIO;
}

static void
uninstall (void)
{
  SetConsoleCtrlHandler (console_handler, FALSE);
}

#else
#include <errno.h>
#include <string.h>

static struct sigaction old_int, old_term;

static void
posix_handler (int signum)
{
  int saved = errno;
  signal_last = signum;
  if (signal_loop && signal_loop->signal_async)
    dx_async_send (signal_loop->signal_async);
  errno = saved;
}

static int
install (void)
{
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = posix_handler;
  sigemptyset (&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction (SIGINT, &sa, &old_int) < 0)
    return dx__err_from_errno (errno);
  if (sigaction (SIGTERM, &sa, &old_term) < 0) {
    int err = dx__err_from_errno (errno);
    sigaction (SIGINT, &old_int, NULL);
    return err;
  }
  return 0;
}

static void
uninstall (void)
{
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGTERM, &old_term, NULL);
}
#endif

int
dx_signal_stop_on_interrupt (dx_loop *loop, dx_signal_cb cb)
{
  if (!loop)
    return DX_EINVAL;
  if (signal_loop && signal_loop != loop)
    return DX_EALREADY;
  if (!loop->signal_async) {
    dx_async *a = dx_async_new (loop, signal_async_cb);
    if (!a)
      return DX_ENOMEM;
    dx__handle_make_internal (&a->h);
    loop->signal_async = a;
    signal_user_cb = cb;
    signal_loop = loop;
    int rc = install ();
    if (rc < 0) {
      signal_loop = NULL;
      loop->signal_async = NULL;
      dx_close (&a->h, NULL);
      return rc;
    }
  }
  signal_user_cb = cb;
  return 0;
}

void
dx__signal_loop_free (dx_loop *loop)
{
  if (signal_loop != loop)
    return;
  uninstall ();
  signal_loop = NULL;
  signal_user_cb = NULL;
  loop->signal_async = NULL; /* closed with the other internal handles */
}
