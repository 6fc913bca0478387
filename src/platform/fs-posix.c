/* fs.h on POSIX. */
#include "platform/loop-private.h"
#include "platform/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
dx_fs_join (char *buf, size_t len, const char *a, const char *b)
{
  if (!buf || !a || !b || len == 0)
    return DX_EINVAL;
  size_t la = strlen (a);
  bool sep = la > 0 && a[la - 1] != '/';
  int n = snprintf (buf, len, "%s%s%s", a, sep ? "/" : "", b);
  if (n < 0 || (size_t) n >= len) {
    buf[0] = '\0';
    return DX_ENOMEM;
  }
  return 0;
}

static int
is_dir (const char *path)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return dx__err_last_errno ();
  return S_ISDIR (st.st_mode) ? 0 : DX_EALREADY; /* exists, not a directory */
}

int
dx_fs_mkdirs (const char *dir)
{
  if (!dir || !*dir)
    return DX_EINVAL;
  size_t len = strlen (dir);
  char *p = malloc (len + 1);
  if (!p)
    return DX_ENOMEM;
  memcpy (p, dir, len + 1);
  int rc = 0;
  /* Create each prefix that ends before a '/', then the whole path. */
  for (size_t i = 1; i <= len && rc == 0; i++) {
    if (p[i] != '/' && p[i] != '\0')
      continue;
    char saved = p[i];
    p[i] = '\0';
    if (mkdir (p, 0777) < 0)
      rc = errno == EEXIST ? is_dir (p) : dx__err_last_errno ();
    p[i] = saved;
  }
  free (p);
  return rc;
}

int
dx_fs_check_writable_dir (const char *dir)
{
  if (!dir || !*dir)
    return DX_EINVAL;
  int rc = is_dir (dir);
  if (rc == DX_EALREADY)
    return DX_ENOENT; /* exists but is not a directory */
  if (rc < 0)
    return rc;
  /* access(W_OK) lies for root and some file systems: really create a file. */
  char path[4096];
  rc = dx_fs_join (path, sizeof path, dir, ".dx-write-test-XXXXXX");
  if (rc < 0)
    return rc;
  int fd = mkstemp (path);
  if (fd < 0)
    return dx__err_last_errno ();
  close (fd);
  unlink (path);
  return 0;
}

static int
write_all (int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0) {
    ssize_t n = write (fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return dx__err_last_errno ();
    }
    p += n;
    len -= (size_t) n;
  }
  return 0;
}

int
dx_fs_write_atomic (const char *path, const void *data, size_t len)
{
  if (!path || !*path || (len > 0 && !data))
    return DX_EINVAL;
  size_t plen = strlen (path);
  if (path[plen - 1] == '/')
    return DX_EINVAL;
  char *tmp = malloc (plen + 16);
  if (!tmp)
    return DX_ENOMEM;
  snprintf (tmp, plen + 16, "%s.tmp-XXXXXX", path);
  int fd = mkstemp (tmp);
  if (fd < 0) {
    int err = dx__err_last_errno ();
    free (tmp);
    return err;
  }
  int rc = write_all (fd, data, len);
  if (rc == 0 && fchmod (fd, 0644) < 0)
    rc = dx__err_last_errno ();
  if (rc == 0 && fsync (fd) < 0)
    rc = dx__err_last_errno ();
  if (close (fd) < 0 && rc == 0)
    rc = dx__err_last_errno ();
  if (rc == 0 && rename (tmp, path) < 0)
    rc = dx__err_last_errno ();
  if (rc < 0) {
    unlink (tmp);
  } else {
    /* Make the rename itself durable. */
    char *dir = strdup (path);
    if (dir) {
      char *slash = strrchr (dir, '/');
      const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
      int dfd = open (d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        fsync (dfd);
        close (dfd);
      }
      free (dir);
    }
  }
  free (tmp);
  return rc;
}

int
dx_fs_default_data_dir (const char *app, char *buf, size_t len)
{
  if (!app || !*app || strchr (app, '/') || !buf || len == 0)
    return DX_EINVAL;
  const char *xdg = getenv ("XDG_DATA_HOME");
  if (xdg && xdg[0] == '/') /* the spec says relative values are invalid */
    return dx_fs_join (buf, len, xdg, app);
  const char *home = getenv ("HOME");
  if (!home || !*home)
    return DX_ENOENT;
  char base[4096];
  int rc = dx_fs_join (base, sizeof base, home, ".local/share");
  if (rc < 0)
    return rc;
  return dx_fs_join (buf, len, base, app);
}

int
dx_fs_read_file (const char *path, size_t max, char **data, size_t *len)
{
  if (!path || !*path || !data || !len)
    return DX_EINVAL;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return dx__err_last_errno ();
  struct stat st;
  int rc = 0;
  char *buf = NULL;
  size_t n = 0;
  if (fstat (fd, &st) < 0)
    rc = dx__err_last_errno ();
  else if (!S_ISREG (st.st_mode) || (uint64_t) st.st_size > max)
    rc = DX_EINVAL;
  else if ((buf = malloc ((size_t) st.st_size + 1)) == NULL)
    rc = DX_ENOMEM;
  /* The size fstat saw bounds the read: a file growing meanwhile is cut. */
  while (rc == 0 && n < (size_t) st.st_size) {
    ssize_t got = read (fd, buf + n, (size_t) st.st_size - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      rc = dx__err_last_errno ();
    else if (got == 0)
      break; /* shrank meanwhile */
    else
      n += (size_t) got;
  }
  close (fd);
  if (rc < 0) {
    free (buf);
    return rc;
  }
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return 0;
}

int
dx_fs_file_stamp (const char *path, dx_file_stamp *out)
{
  if (!path || !*path || !out)
    return DX_EINVAL;
  struct stat st;
  if (stat (path, &st) < 0)
    return dx__err_last_errno ();
  if (!S_ISREG (st.st_mode))
    return DX_EINVAL;
  out->mtime_ns = (int64_t) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  out->size = (int64_t) st.st_size;
  return 0;
}
