/* Windows implementation of fs.h. Paths are UTF-8 in the API and UTF-16
 * at the system calls (the W functions), so non-ASCII user names and
 * directories work regardless of the ANSI code page. Both '/' and '\'
 * are accepted as separators. */
#include "platform/fs.h"

#include "platform/loop-private.h"
#include "platform/win-private.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

static bool
is_sep (wchar_t c)
{
  return c == L'/' || c == L'\\';
}

static bool
is_dir_w (const wchar_t *path)
{
  DWORD a = GetFileAttributesW (path);
  return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

/* Length of the part of path that cannot be created: "C:\", "\\server\share\",
 * "\" or nothing for a relative path. */
static size_t
root_length (const wchar_t *p)
{
  size_t n = 0;
  if (is_sep (p[0]) && is_sep (p[1])) {
    /* UNC: skip \\server\share\ */
    n = 2;
    for (int part = 0; part < 2; part++) {
      while (p[n] != 0 && !is_sep (p[n]))
        n++;
      if (p[n] != 0)
        n++;
    }
    return n;
  }
  if (p[0] != 0 && p[1] == L':')
    n = 2;
  if (is_sep (p[n]))
    n++;
  return n;
}

static int
mkdir_one (const wchar_t *path)
{
  if (CreateDirectoryW (path, NULL))
    return 0;
  DWORD e = GetLastError ();
  if (e == ERROR_ALREADY_EXISTS || e == ERROR_ACCESS_DENIED) {
    /* ACCESS_DENIED is also what "C:\" gives; what matters is whether a
     * directory is there now. */
    return is_dir_w (path) ? 0 : (e == ERROR_ALREADY_EXISTS ? DX_EINVAL : DX_EACCES);
  }
  return dx__err_from_wsa ((int) e);
}

int
dx_fs_mkdirs (const char *dir)
{
  if (dir == NULL || dir[0] == 0)
    return DX_EINVAL;
  wchar_t *w = dx_win_utf8_to_wide (dir);
  if (w == NULL)
    return DX_EINVAL;
  int rc = 0;
  size_t len = wcslen (w);
  size_t i = root_length (w);
  /* Create each prefix that ends at a separator, then the whole path. */
  for (; i <= len && rc == 0; i++) {
    if (i == len || is_sep (w[i])) {
      if (i > 0 && is_sep (w[i - 1]))
        continue; /* "a//b": empty component */
      wchar_t saved = w[i];
      w[i] = 0;
      if (w[0] != 0 && !is_dir_w (w))
        rc = mkdir_one (w);
      w[i] = saved;
    }
  }
  free (w);
  return rc;
}

int
dx_fs_check_writable_dir (const char *dir)
{
  if (dir == NULL || dir[0] == 0)
    return DX_EINVAL;
  wchar_t *w = dx_win_utf8_to_wide (dir);
  if (w == NULL)
    return DX_EINVAL;
  DWORD a = GetFileAttributesW (w);
  if (a == INVALID_FILE_ATTRIBUTES) {
    int rc = dx__err_last_win32 ();
    free (w);
    return rc;
  }
  if (!(a & FILE_ATTRIBUTE_DIRECTORY)) {
    /* Same answer as POSIX (ENOTDIR maps to DX_ENOENT): no such dir. */
    free (w);
    return DX_ENOENT;
  }
  /* Read-only attributes on directories mean little on Windows; the only
   * honest test is to create a file. It deletes itself on close. */
  size_t n = wcslen (w) + 64;
  wchar_t *probe = malloc (n * sizeof *probe);
  if (probe == NULL) {
    free (w);
    return DX_ENOMEM;
  }
  _snwprintf (probe, n, L"%ls\\.duplex-probe-%lu-%lu", w, (unsigned long) GetCurrentProcessId (),
              (unsigned long) GetCurrentThreadId ());
  probe[n - 1] = 0;
  free (w);
  HANDLE h = CreateFileW (probe, GENERIC_WRITE, 0, NULL, CREATE_NEW,
                          FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
  int rc = h == INVALID_HANDLE_VALUE ? dx__err_last_win32 () : 0;
  if (h != INVALID_HANDLE_VALUE)
    CloseHandle (h);
  free (probe);
  return rc;
}

static int
write_all (HANDLE h, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0) {
    DWORD chunk = len > (1u << 30) ? (1u << 30) : (DWORD) len;
    DWORD done = 0;
    if (!WriteFile (h, p, chunk, &done, NULL))
      return dx__err_last_win32 ();
    if (done == 0)
      return DX_EIO;
    p += done;
    len -= done;
  }
  return 0;
}

int
dx_fs_write_atomic (const char *path, const void *data, size_t len)
{
  if (path == NULL || path[0] == 0 || (data == NULL && len > 0))
    return DX_EINVAL;
  wchar_t *w = dx_win_utf8_to_wide (path);
  if (w == NULL)
    return DX_EINVAL;
  static volatile LONG counter;
  size_t n = wcslen (w) + 48;
  wchar_t *tmp = malloc (n * sizeof *tmp);
  if (tmp == NULL) {
    free (w);
    return DX_ENOMEM;
  }
  /* Beside the target so the rename stays on one volume (atomic). */
  _snwprintf (tmp, n, L"%ls.tmp-%lu-%ld", w, (unsigned long) GetCurrentProcessId (),
              (long) InterlockedIncrement (&counter));
  tmp[n - 1] = 0;
  int rc = 0;
  HANDLE h = CreateFileW (tmp, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    rc = dx__err_last_win32 ();
  } else {
    rc = write_all (h, data, len);
    /* Data on disk before the name points at it: a crash leaves the old
     * file or the new one, never a torn one. */
    if (rc == 0 && !FlushFileBuffers (h))
      rc = dx__err_last_win32 ();
    CloseHandle (h);
    if (rc == 0 && !MoveFileExW (tmp, w, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
      rc = dx__err_last_win32 ();
    if (rc != 0)
      DeleteFileW (tmp);
  }
  free (tmp);
  free (w);
  return rc;
}

static bool
app_name_ok (const char *app)
{
  if (app == NULL || app[0] == 0 || strcmp (app, ".") == 0 || strcmp (app, "..") == 0)
    return false;
  for (const char *p = app; *p; p++)
    if (*p == '/' || *p == '\\' || *p == ':')
      return false;
  return true;
}

int
dx_fs_default_data_dir (const char *app, char *buf, size_t len)
{
  if (!app_name_ok (app) || buf == NULL || len == 0)
    return DX_EINVAL;
  wchar_t base[MAX_PATH + 1];
  DWORD n = GetEnvironmentVariableW (L"LOCALAPPDATA", base, MAX_PATH + 1);
  if (n == 0 || n > MAX_PATH) {
    /* No LOCALAPPDATA (a bare service account, or Wine without a user
     * profile): fall back to the profile's AppData\Local. */
    wchar_t prof[MAX_PATH + 1];
    DWORD m = GetEnvironmentVariableW (L"USERPROFILE", prof, MAX_PATH + 1);
    if (m == 0 || m > MAX_PATH)
      return DX_ENOENT;
    if (_snwprintf (base, MAX_PATH + 1, L"%ls\\AppData\\Local", prof) < 0)
      return DX_EINVAL;
    base[MAX_PATH] = 0;
  }
  char base8[4 * (MAX_PATH + 1)];
  int rc = dx_win_wide_to_utf8 (base, base8, sizeof base8);
  if (rc != 0)
    return rc;
  return dx_fs_join (buf, len, base8, app);
}

int
dx_fs_join (char *buf, size_t len, const char *a, const char *b)
{
  if (buf == NULL || len == 0 || a == NULL || b == NULL)
    return DX_EINVAL;
  size_t la = strlen (a), lb = strlen (b);
  bool sep = la > 0 && a[la - 1] != '/' && a[la - 1] != '\\';
  if (la == 0) {
    sep = false;
  }
  size_t need = la + (sep ? 1 : 0) + lb + 1;
  if (need > len)
    return DX_ENOMEM; /* as on POSIX: the buffer is too small */
  memcpy (buf, a, la);
  if (sep)
    buf[la++] = '\\';
  memcpy (buf + la, b, lb + 1);
  return 0;
}

int
dx_fs_read_file (const char *path, size_t max, char **data, size_t *len)
{
  if (!path || !*path || !data || !len)
    return DX_EINVAL;
  wchar_t *w = dx_win_utf8_to_wide (path);
  if (w == NULL)
    return DX_EINVAL;
  HANDLE h = CreateFileW (w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                          FILE_ATTRIBUTE_NORMAL, NULL);
  free (w);
  if (h == INVALID_HANDLE_VALUE)
    return dx__err_last_win32 ();
  LARGE_INTEGER size;
  int rc = 0;
  char *buf = NULL;
  size_t n = 0;
  if (GetFileType (h) != FILE_TYPE_DISK || !GetFileSizeEx (h, &size) || size.QuadPart < 0
      || (uint64_t) size.QuadPart > max)
    rc = DX_EINVAL;
  else if ((buf = malloc ((size_t) size.QuadPart + 1)) == NULL)
    rc = DX_ENOMEM;
  /* The size seen above bounds the read: a file growing meanwhile is cut. */
  while (rc == 0 && n < (size_t) size.QuadPart) {
    size_t left = (size_t) size.QuadPart - n;
    DWORD got = 0;
    if (!ReadFile (h, buf + n, left > (1u << 30) ? (1u << 30) : (DWORD) left, &got, NULL))
      rc = dx__err_last_win32 ();
    else if (got == 0)
      break; /* shrank meanwhile */
    else
      n += got;
  }
  CloseHandle (h);
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
  wchar_t *w = dx_win_utf8_to_wide (path);
  if (w == NULL)
    return DX_EINVAL;
  WIN32_FILE_ATTRIBUTE_DATA fa;
  BOOL ok = GetFileAttributesExW (w, GetFileExInfoStandard, &fa);
  free (w);
  if (!ok)
    return dx__err_last_win32 ();
  if (fa.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
    return DX_EINVAL;
  /* FILETIME: 100 ns units since 1601-01-01; 11644473600 s before 1970. */
  int64_t t = (int64_t) (((uint64_t) fa.ftLastWriteTime.dwHighDateTime << 32)
                         | fa.ftLastWriteTime.dwLowDateTime);
  out->mtime_ns = (t - INT64_C (116444736000000000)) * 100;
  out->size = (int64_t) (((uint64_t) fa.nFileSizeHigh << 32) | fa.nFileSizeLow);
  return 0;
}
