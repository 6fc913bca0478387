/* Win32 and Winsock error codes -> portable DX_E* codes. The names and
 * texts of DX_E* codes live in the shared errors.c. */
#include "platform/loop-private.h"
#include "platform/win-private.h"

#include <limits.h>
#include <stdlib.h>
#include <winsock2.h>
#include <windows.h>

int
dx__err_from_wsa (int code)
{
  switch ((DWORD) code) {
  case 0: return 0;
  case ERROR_OPERATION_ABORTED: /* == WSA_OPERATION_ABORTED (995) */
  case ERROR_CANCELLED:
  case WSAEINTR: return DX_ECANCELED;
  case WSAECONNREFUSED:
  case ERROR_CONNECTION_REFUSED:
  case ERROR_PORT_UNREACHABLE: return DX_ECONNREFUSED;
  case WSAECONNRESET:
  case ERROR_NETNAME_DELETED: /* what a RST looks like on IOCP */
  case WSAENETRESET: return DX_ECONNRESET;
  case WSAECONNABORTED:
  case ERROR_CONNECTION_ABORTED:
  case ERROR_REQUEST_ABORTED: return DX_ECONNABORTED;
  case WSAEADDRINUSE:
  case ERROR_ADDRESS_ALREADY_ASSOCIATED: return DX_EADDRINUSE;
  case WSAEADDRNOTAVAIL:
  case ERROR_INVALID_NETNAME: return DX_EADDRNOTAVAIL;
  case WSAEINVAL:
  case WSAEFAULT:
  case WSAENOTSOCK:
  case WSAEAFNOSUPPORT:
  case WSAEPFNOSUPPORT:
  case WSAEPROTONOSUPPORT:
  case ERROR_INVALID_PARAMETER:
  case ERROR_INVALID_NAME:
  case ERROR_BAD_PATHNAME:
  case ERROR_INVALID_HANDLE:
  case ERROR_DIRECTORY:
  case ERROR_FILENAME_EXCED_RANGE: return DX_EINVAL;
  case WSAENOBUFS:
  case WSA_NOT_ENOUGH_MEMORY: /* == ERROR_NOT_ENOUGH_MEMORY */
  case ERROR_OUTOFMEMORY:
  case ERROR_NO_SYSTEM_RESOURCES: return DX_ENOMEM;
  case WSAETIMEDOUT:
  case ERROR_SEM_TIMEOUT:
  case WAIT_TIMEOUT:
  case ERROR_TIMEOUT: return DX_ETIMEDOUT;
  case WSAESHUTDOWN:
  case ERROR_BROKEN_PIPE:
  case ERROR_NO_DATA:
  case ERROR_PIPE_NOT_CONNECTED: return DX_EPIPE;
  case WSAEMFILE:
  case ERROR_TOO_MANY_OPEN_FILES: return DX_EMFILE;
  case WSAEACCES:
  case ERROR_ACCESS_DENIED:
  case ERROR_SHARING_VIOLATION:
  case ERROR_LOCK_VIOLATION:
  case ERROR_WRITE_PROTECT: return DX_EACCES;
  case WSAENOTCONN:
  case ERROR_NOT_CONNECTED:
  case ERROR_GRACEFUL_DISCONNECT: return DX_ENOTCONN;
  case WSAENETUNREACH:
  case WSAENETDOWN:
  case ERROR_NETWORK_UNREACHABLE: return DX_ENETUNREACH;
  case WSAEHOSTUNREACH:
  case WSAEHOSTDOWN:
  case ERROR_HOST_UNREACHABLE: return DX_EHOSTUNREACH;
  case WSAEALREADY:
  case WSAEISCONN:
  case WSAEINPROGRESS:
  case ERROR_ALREADY_EXISTS:
  case ERROR_FILE_EXISTS: return DX_EALREADY;
  case WSAHOST_NOT_FOUND:
  case WSANO_DATA:
  case WSATRY_AGAIN:
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_DRIVE:
  case ERROR_ENVVAR_NOT_FOUND: return DX_ENOENT;
  default: return DX_EIO;
  }
}

int
dx__err_last_wsa (void)
{
  return dx__err_from_wsa (WSAGetLastError ());
}

int
dx__err_last_win32 (void)
{
  return dx__err_from_wsa ((int) GetLastError ());
}

wchar_t *
dx_win_utf8_to_wide (const char *s)
{
  if (s == NULL)
    return NULL;
  /* MB_ERR_INVALID_CHARS: bad UTF-8 is an error, not a silent U+FFFD. */
  int n = MultiByteToWideChar (CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  if (n <= 0)
    return NULL;
  wchar_t *w = malloc ((size_t) n * sizeof *w);
  if (w == NULL)
    return NULL;
  if (MultiByteToWideChar (CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
    free (w);
    return NULL;
  }
  return w;
}

int
dx_win_wide_to_utf8 (const wchar_t *w, char *buf, size_t len)
{
  if (w == NULL || buf == NULL || len == 0 || len > INT_MAX)
    return DX_EINVAL;
  int n = WideCharToMultiByte (CP_UTF8, 0, w, -1, buf, (int) len, NULL, NULL);
  return n > 0 ? 0 : DX_EINVAL;
}
