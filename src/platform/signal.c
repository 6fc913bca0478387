/* dx_signal_stop_on_interrupt: turn SIGINT/SIGTERM (POSIX) or console
 * control events (Windows) into a callback on the loop thread.
 *
 * The handler only records the signal and calls dx_async_send on an
 * internal async, which is async-signal-safe (atomics + write(2)) and
 * thread-safe (Windows runs console handlers on a separate thread). */
#include "platform/loop-private.h"

#include <signal.h>

static dx_loop *signal_loop; /* the one registered loop */
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

/* After the handler returns from CTRL_CLOSE_EVENT (console window closed)
 * or CTRL_SHUTDOWN_EVENT, Windows ends the process at once; it also ends it
 * anyway about 5 s after the event. So for those events the handler waits
 * (on its own thread, which Windows creates for it) until the loop has
 * stopped and been freed -- the server has flushed its store by then --
 * but never longer than that. */
#define DX_CONSOLE_STOP_WAIT_MS 5000

/* Manual-reset, set by dx__signal_loop_free. Created once and kept for the
 * life of the process: a handler thread may still wait on it while the
 * main thread uninstalls the handler. */
static HANDLE stopped_event;

static BOOL WINAPI
console_handler (DWORD type)
{
  bool wait = false;
  switch (type) {
  case CTRL_C_EVENT: signal_last = SIGINT; break;
  case CTRL_BREAK_EVENT: signal_last = SIGTERM; break;
  case CTRL_CLOSE_EVENT:
  case CTRL_SHUTDOWN_EVENT:
    signal_last = SIGTERM;
    wait = true;
    break;
  case CTRL_LOGOFF_EVENT:
    /* Only processes outside the user's session (services, or duplexd
     * run by a service wrapper) see this, for ANY user's logoff: keep
     * serving. Returning FALSE would let the default handler exit. */
    return TRUE;
  default: return FALSE;
  }
  dx_loop *loop = signal_loop;
  if (loop && loop->signal_async) {
    dx_async_send (loop->signal_async);
    if (wait && stopped_event)
      WaitForSingleObject (stopped_event, DX_CONSOLE_STOP_WAIT_MS);
  }
  return TRUE;
}

static int
install (void)
{
  if (!stopped_event) {
    stopped_event = CreateEventW (NULL, TRUE, FALSE, NULL);
    if (!stopped_event)
      return DX_ENOMEM;
  } else {
    ResetEvent (stopped_event);
  }
  return SetConsoleCtrlHandler (console_handler, TRUE) ? 0 : DX_EIO;
}

static void
uninstall (void)
{
  SetConsoleCtrlHandler (console_handler, FALSE);
  /* Release a handler waiting for the graceful stop: it is complete. */
  SetEvent (stopped_event);
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
    return dx__err_last_errno ();
  if (sigaction (SIGTERM, &sa, &old_term) < 0) {
    int err = dx__err_last_errno ();
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
