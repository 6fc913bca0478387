/* TCP sockets on IOCP: creating them, starting a connect, listening and
 * accepting, options and names. What a connected stream does is in
 * stream-win.c; the POSIX mirror of this file is tcp-posix.c (see
 * tcp-private.h).
 *
 * Accepting: each listener keeps DX_ACCEPTS_POSTED AcceptEx calls pending,
 * each on a fresh socket; a completion hands its socket to accept_cb and
 * posts another. When no socket can be created (out of sockets or
 * memory) the listener backs off for DX_ACCEPT_BACKOFF_MS and tries again,
 * instead of spinning. */
#include "platform/tcp-private.h"

#include <limits.h>
#include <string.h>

#include <mswsock.h>
#include <mstcpip.h>

typedef struct {
  dx_iocp_op op;
  dx_listener *listener;
  SOCKET sock; /* the socket AcceptEx will connect */
  bool posted;
  DWORD bytes; /* AcceptEx's byte count: must outlive the call */
  /* AcceptEx wants room for both addresses plus 16 bytes each. */
  char addrs[2 * (sizeof (struct sockaddr_storage) + 16)];
} accept_slot;

struct dx_listener {
  dx_handle h;
  SOCKET sock;
  int family;
  dx_accept_cb cb;
  unsigned outstanding; /* AcceptEx calls in the kernel */
  accept_slot accepts[DX_ACCEPTS_POSTED];
  dx_timer_node backoff; /* accepting resumes when it fires */
  struct sockaddr_storage name;
};

/* Extension functions are looked up once per process (one provider for
 * TCP on both address families). */
static LPFN_ACCEPTEX fn_acceptex;
static LPFN_CONNECTEX fn_connectex;
static int winsock_error;
static INIT_ONCE winsock_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK
winsock_init_once (PINIT_ONCE once, PVOID param, PVOID *ctx)
{
  WSADATA wsa;
  int rc = WSAStartup (MAKEWORD (2, 2), &wsa);
  if (rc != 0) {
    winsock_error = dx__err_from_wsa (rc);
    return TRUE;
  }
  SOCKET sock = socket (AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (sock == INVALID_SOCKET) {
    winsock_error = dx__err_last_wsa ();
    return TRUE;
  }
  GUID accept_guid = WSAID_ACCEPTEX, connect_guid = WSAID_CONNECTEX;
  DWORD n = 0;
  if (WSAIoctl (sock, SIO_GET_EXTENSION_FUNCTION_POINTER, &accept_guid, sizeof accept_guid,
                &fn_acceptex, sizeof fn_acceptex, &n, NULL, NULL)
          != 0
      || WSAIoctl (sock, SIO_GET_EXTENSION_FUNCTION_POINTER, &connect_guid, sizeof connect_guid,
                   &fn_connectex, sizeof fn_connectex, &n, NULL, NULL)
             != 0)
    winsock_error = dx__err_last_wsa ();
  closesocket (sock);
  return TRUE;
}

int
dx__winsock_init (void)
{
  InitOnceExecuteOnce (&winsock_once, winsock_init_once, NULL, NULL);
  return winsock_error;
}

/* An overlapped, non-inheritable TCP socket tied to the loop's port. */
static int
socket_new (dx_loop *loop, int family, SOCKET *out)
{
  SOCKET sock = WSASocketW (family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
  if (sock == INVALID_SOCKET)
    return dx__err_last_wsa ();
  /* A child process (none today, but a service wrapper might spawn one)
   * must not keep our sockets open. */
  SetHandleInformation ((HANDLE) sock, HANDLE_FLAG_INHERIT, 0);
  int rc = dx__iocp_associate (loop, sock);
  if (rc < 0) {
    closesocket (sock);
    return rc;
  }
  *out = sock;
  return 0;
}

/* Parse addr into *ss and make a socket of its family. 0 or DX_E*. */
static int
socket_for_addr (dx_loop *loop, const char *addr, struct sockaddr_storage *ss, socklen_t *len,
                 SOCKET *out)
{
  *len = sizeof *ss;
  int rc = dx__addr_parse (addr, ss, len);
  return rc < 0 ? rc : socket_new (loop, ss->ss_family, out);
}

/* ---- connecting ----------------------------------------------------------- */

int
dx_tcp_connect (dx_loop *loop, const char *addr, dx_connect_cb cb, void *arg, dx_stream **out)
{
  if (out)
    *out = NULL; /* on every failure */
  if (!loop || !addr || !out)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  socklen_t sl;
  SOCKET sock;
  int rc = socket_for_addr (loop, addr, &ss, &sl, &sock);
  if (rc < 0)
    return rc;
  /* ConnectEx needs a bound socket. */
  struct sockaddr_storage any;
  memset (&any, 0, sizeof any);
  any.ss_family = ss.ss_family;
  int anylen = ss.ss_family == AF_INET6 ? (int) sizeof (struct sockaddr_in6)
                                        : (int) sizeof (struct sockaddr_in);
  if (bind (sock, (struct sockaddr *) &any, anylen) != 0) {
    rc = dx__err_last_wsa ();
    closesocket (sock);
    return rc;
  }
  dx_stream *s = dx__stream_new (loop, sock);
  if (!s) {
    closesocket (sock);
    return DX_ENOMEM;
  }
  s->connect_cb = cb;
  s->connect_arg = arg;
  *out = s;
  memset (&s->connect_op.ov, 0, sizeof s->connect_op.ov);
  if (!fn_connectex (sock, (struct sockaddr *) &ss, (int) sl, NULL, 0, NULL, &s->connect_op.ov)) {
    int e = WSAGetLastError ();
    if (e != ERROR_IO_PENDING) {
      /* Reported later all the same (semantic 1). */
      dx__stream_connect_ended (s, dx__err_from_wsa (e));
      return 0;
    }
  }
  /* Even a connect that succeeded at once completes through the port. */
  dx__stream_connect_started (s);
  return 0;
}

/* ---- options and names ---------------------------------------------------- */

int
dx_tcp_nodelay (dx_stream *s, bool enable)
{
  if (!s || s->sock == INVALID_SOCKET)
    return DX_EINVAL;
  BOOL on = enable ? TRUE : FALSE;
  if (setsockopt (s->sock, IPPROTO_TCP, TCP_NODELAY, (const char *) &on, sizeof on) != 0)
    return dx__err_last_wsa ();
  return 0;
}

int
dx_tcp_keepalive (dx_stream *s, bool enable, unsigned delay_s)
{
  if (!s || s->sock == INVALID_SOCKET)
    return DX_EINVAL;
  if (enable && (delay_s == 0 || delay_s > ULONG_MAX / 1000))
    return DX_EINVAL;
  BOOL on = enable ? TRUE : FALSE;
  if (setsockopt (s->sock, SOL_SOCKET, SO_KEEPALIVE, (const char *) &on, sizeof on) != 0)
    return dx__err_last_wsa ();
  if (!enable)
    return 0;
  /* The idle time before the first probe is per socket only through
   * SIO_KEEPALIVE_VALS; probes then go every second. */
  struct tcp_keepalive ka = { 1, delay_s * 1000u, 1000u };
  DWORD n = 0;
  if (WSAIoctl (s->sock, SIO_KEEPALIVE_VALS, &ka, sizeof ka, NULL, 0, &n, NULL, NULL) != 0)
    return dx__err_last_wsa ();
  return 0;
}

int
dx_stream_peer_name (const dx_stream *s, char *buf, size_t len)
{
  if (!s || !buf || s->sock == INVALID_SOCKET)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  int sl = sizeof ss;
  if (getpeername (s->sock, (struct sockaddr *) &ss, &sl) != 0)
    return dx__err_last_wsa ();
  return dx__addr_format ((struct sockaddr *) &ss, buf, len);
}

/* ---- listeners ------------------------------------------------------------ */

static void accept_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e);

static int
accept_post (dx_listener *l, accept_slot *a)
{
  int rc = socket_new (l->h.loop, l->family, &a->sock);
  if (rc < 0)
    return rc;
  memset (&a->op.ov, 0, sizeof a->op.ov);
  const DWORD alen = sizeof (struct sockaddr_storage) + 16;
  if (!fn_acceptex (l->sock, a->sock, a->addrs, 0, alen, alen, &a->bytes, &a->op.ov)) {
    int e = WSAGetLastError ();
    if (e != ERROR_IO_PENDING) {
      closesocket (a->sock);
      a->sock = INVALID_SOCKET;
      return dx__err_from_wsa (e);
    }
  }
  a->posted = true;
  l->outstanding++;
  return 0;
}

/* Post every accept slot that is idle. Returns the first error, if any. */
static int
accepts_fill (dx_listener *l)
{
  int first_err = 0;
  for (size_t i = 0; i < DX_ACCEPTS_POSTED; i++) {
    if (l->accepts[i].posted)
      continue;
    int rc = accept_post (l, &l->accepts[i]);
    if (rc < 0 && first_err == 0)
      first_err = rc;
  }
  return first_err;
}

/* Posting accepts failed for want of sockets: try again in a moment. */
static void
listener_backoff_start (dx_listener *l)
{
  if (!dx__timer_node_active (&l->backoff))
    dx__timer_node_start (l->h.loop, &l->backoff, DX_ACCEPT_BACKOFF_MS);
}

static void
listener_backoff_end (dx_timer_node *node)
{
  dx_listener *l = DX_CONTAINER_OF (node, dx_listener, backoff);
  if (dx__is_closing (l))
    return;
  int rc = accepts_fill (l);
  if (rc < 0) {
    l->cb (l, NULL, rc);
    if (!dx__is_closing (l))
      listener_backoff_start (l);
  }
}

static void
listener_maybe_close_done (dx_listener *l)
{
  if (l->outstanding == 0 && !(l->h.flags & DX_HF_CLOSED))
    dx__handle_close_done (&l->h);
}

static void
accept_complete (dx_iocp_op *op, const OVERLAPPED_ENTRY *e)
{
  accept_slot *a = DX_CONTAINER_OF (op, accept_slot, op);
  dx_listener *l = a->listener;
  a->posted = false;
  l->outstanding--;
  SOCKET sock = a->sock;
  a->sock = INVALID_SOCKET;
  if (dx__is_closing (l)) {
    closesocket (sock);
    listener_maybe_close_done (l);
    return;
  }
  int status = dx__iocp_op_status (l->sock, e);
  if (status == 0
      && setsockopt (sock, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (const char *) &l->sock,
                     sizeof l->sock)
             != 0)
    status = dx__err_last_wsa ();
  if (status == DX_ECONNRESET || status == DX_ECONNABORTED) {
    /* The client gave up before we took the connection: nobody to tell. */
    closesocket (sock);
  } else if (status < 0) {
    closesocket (sock);
    l->cb (l, NULL, status);
  } else {
    dx_stream *s = dx__stream_new (l->h.loop, sock);
    if (!s) {
      closesocket (sock);
      l->cb (l, NULL, DX_ENOMEM);
    } else {
      l->cb (l, s, 0);
    }
  }
  if (dx__is_closing (l))
    return;
  if (accepts_fill (l) < 0)
    listener_backoff_start (l);
}

int
dx_tcp_listen (dx_loop *loop, const char *addr, int backlog, dx_accept_cb cb, dx_listener **out)
{
  if (out)
    *out = NULL; /* on every failure */
  if (!loop || !addr || !cb || !out)
    return DX_EINVAL;
  struct sockaddr_storage ss;
  socklen_t sl;
  SOCKET sock;
  int rc = socket_for_addr (loop, addr, &ss, &sl, &sock);
  if (rc < 0)
    return rc;
  /* Windows lets a second socket bind a port in use unless told not to;
   * TIME_WAIT never blocks a bind here, so no SO_REUSEADDR is needed. */
  BOOL on = TRUE;
  setsockopt (sock, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *) &on, sizeof on);
  /* "[::]:port" is IPv6 only, as on the POSIX backends. */
  if (ss.ss_family == AF_INET6)
    setsockopt (sock, IPPROTO_IPV6, IPV6_V6ONLY, (const char *) &on, sizeof on);
  if (bind (sock, (struct sockaddr *) &ss, (int) sl) != 0
      || listen (sock, backlog > 0 ? backlog : SOMAXCONN) != 0) {
    rc = dx__err_last_wsa ();
    closesocket (sock);
    return rc;
  }
  dx_listener *l = dx__handle_new (loop, DX_HANDLE_LISTENER, sizeof *l);
  if (!l) {
    closesocket (sock);
    return DX_ENOMEM;
  }
  l->sock = sock;
  l->family = ss.ss_family;
  l->cb = cb;
  int nl = sizeof l->name;
  getsockname (sock, (struct sockaddr *) &l->name, &nl);
  dx__timer_node_init (&l->backoff, listener_backoff_end);
  for (size_t i = 0; i < DX_ACCEPTS_POSTED; i++) {
    l->accepts[i].op.complete = accept_complete;
    l->accepts[i].listener = l;
    l->accepts[i].sock = INVALID_SOCKET;
  }
  rc = accepts_fill (l);
  if (rc < 0 && l->outstanding == 0) {
    /* Not one accept could be posted: fail now, cleanly. */
    dx_close (&l->h, NULL);
    return rc;
  }
  if (rc < 0)
    listener_backoff_start (l);
  *out = l;
  return 0;
}

int
dx_listener_port (const dx_listener *listener)
{
  if (!listener)
    return DX_EINVAL;
  return dx__addr_port ((const struct sockaddr *) &listener->name);
}

int
dx_listener_name (const dx_listener *listener, char *buf, size_t len)
{
  if (!listener || !buf)
    return DX_EINVAL;
  return dx__addr_format ((const struct sockaddr *) &listener->name, buf, len);
}

void
dx__listener_close (dx_listener *l)
{
  dx__timer_node_stop (l->h.loop, &l->backoff);
  if (l->sock != INVALID_SOCKET) {
    CancelIoEx ((HANDLE) l->sock, NULL);
    closesocket (l->sock);
    l->sock = INVALID_SOCKET;
  }
  listener_maybe_close_done (l);
}
