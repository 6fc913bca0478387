/* Duplex platform layer: file-system helpers that differ between POSIX
 * and Windows. */
#ifndef DX_PLATFORM_FS_H
#define DX_PLATFORM_FS_H

#include <stddef.h>
#include <stdint.h>

/* Creates dir and its parents (like mkdir -p). 0 or DX_E*. */
int dx_fs_mkdirs (const char *dir);
/* 0 if dir exists and a file can be created in it, else DX_E*. */
int dx_fs_check_writable_dir (const char *dir);
/* Writes data to path atomically: a temp file beside it, then a rename
 * that replaces path. 0 or DX_E*. */
int dx_fs_write_atomic (const char *path, const void *data, size_t len);
/* Reads the whole regular file at path into *data (malloc'd, with a NUL
 * after the *len bytes; free it). 0, DX_ENOENT, DX_EACCES, DX_ENOMEM, or
 * DX_EINVAL: not a regular file, or larger than max bytes. */
int dx_fs_read_file (const char *path, size_t max, char **data, size_t *len);
/* The per-user data directory for app (e.g. $XDG_DATA_HOME/app,
 * ~/.local/share/app, %LOCALAPPDATA%\app). 0 or DX_E*. */
int dx_fs_default_data_dir (const char *app, char *buf, size_t len);
/* What tells that a file was rewritten or replaced: its last-write time
 * (nanoseconds since the Unix epoch, to the file system's resolution:
 * 100 ns on NTFS) and its size. */
typedef struct dx_file_stamp {
  int64_t mtime_ns;
  int64_t size;
} dx_file_stamp;
/* The stamp of the regular file at path (links followed). 0, DX_ENOENT,
 * DX_EACCES, or DX_EINVAL (not a regular file). */
int dx_fs_file_stamp (const char *path, dx_file_stamp *out);
/* Path separator joined: "a" + "b" -> "a/b" (or "a\b" on Windows). */
int dx_fs_join (char *buf, size_t len, const char *a, const char *b);

#endif
