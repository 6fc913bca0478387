/* Portable error codes: names, texts and the errno mapping. The Windows
 * mapping (Winsock and ERROR_* codes) lives in errors-win.c. */
#include "platform/loop-private.h"

#include <errno.h>

typedef struct {
  int code;
  const char *name;
  const char *text;
} dx_err_entry;

static const dx_err_entry entries[] = {
  { DX_OK, "DX_OK", "success" },
  { DX_EOF, "DX_EOF", "end of stream" },
  { DX_ECANCELED, "DX_ECANCELED", "operation cancelled" },
  { DX_ECONNREFUSED, "DX_ECONNREFUSED", "connection refused" },
  { DX_ECONNRESET, "DX_ECONNRESET", "connection reset by peer" },
  { DX_ECONNABORTED, "DX_ECONNABORTED", "connection aborted" },
  { DX_EADDRINUSE, "DX_EADDRINUSE", "address already in use" },
  { DX_EADDRNOTAVAIL, "DX_EADDRNOTAVAIL", "address not available" },
  { DX_EINVAL, "DX_EINVAL", "invalid argument" },
  { DX_ENOMEM, "DX_ENOMEM", "out of memory" },
  { DX_ETIMEDOUT, "DX_ETIMEDOUT", "timed out" },
  { DX_EPIPE, "DX_EPIPE", "broken pipe" },
  { DX_EMFILE, "DX_EMFILE", "too many open files" },
  { DX_EACCES, "DX_EACCES", "permission denied" },
  { DX_ENOTCONN, "DX_ENOTCONN", "not connected" },
  { DX_ENETUNREACH, "DX_ENETUNREACH", "network unreachable" },
  { DX_EHOSTUNREACH, "DX_EHOSTUNREACH", "host unreachable" },
  { DX_EALREADY, "DX_EALREADY", "operation already in progress" },
  { DX_ENOENT, "DX_ENOENT", "no such file, directory or host" },
  { DX_EIO, "DX_EIO", "input/output error" },
  { DX_ENOTSUP, "DX_ENOTSUP", "not supported on this system" },
  { DX_ENOBUFS, "DX_ENOBUFS", "queue full" },
};

static const dx_err_entry *
find (int err)
{
  for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
    if (entries[i].code == err)
      return &entries[i];
  return NULL;
}

const char *
dx_strerror (int err)
{
  const dx_err_entry *e = find (err);
  return e ? e->text : "unknown error";
}

const char *
dx_err_name (int err)
{
  const dx_err_entry *e = find (err);
  return e ? e->name : "DX_EUNKNOWN";
}

int
dx__err_from_errno (int e)
{
  switch (e) {
  case 0: return DX_OK;
  case ECANCELED: return DX_ECANCELED;
  case ECONNREFUSED: return DX_ECONNREFUSED;
  case ECONNRESET: return DX_ECONNRESET;
  case ECONNABORTED: return DX_ECONNABORTED;
  case EADDRINUSE: return DX_EADDRINUSE;
  case EADDRNOTAVAIL: return DX_EADDRNOTAVAIL;
  case EINVAL:
  case EAFNOSUPPORT:
  case ENAMETOOLONG: return DX_EINVAL;
  case ENOMEM:
  case ENOBUFS: return DX_ENOMEM;
  case ETIMEDOUT: return DX_ETIMEDOUT;
  case EPIPE: return DX_EPIPE;
  case EMFILE:
  case ENFILE: return DX_EMFILE;
  case EACCES:
  case EPERM:
  case EROFS: return DX_EACCES;
  case ENOTCONN: return DX_ENOTCONN;
  case ENETUNREACH:
  case ENETDOWN: return DX_ENETUNREACH;
#ifdef EHOSTDOWN /* not in mingw-w64's errno.h */
  case EHOSTDOWN:
#endif
  case EHOSTUNREACH: return DX_EHOSTUNREACH;
  case EALREADY:
  case EEXIST: return DX_EALREADY;
  case ENOENT:
  case ENOTDIR: return DX_ENOENT;
  default: return DX_EIO;
  }
}

int
dx__err_last_errno (void)
{
  return dx__err_from_errno (errno);
}
