/* fs.h: mkdirs, write_atomic, read_file, check_writable_dir, join, data dir. */
#include "dxtest.h"
#include "platform/fs.h"

#include <errno.h>
#include <sys/stat.h>
#ifdef _WIN32
#include <direct.h>
#define SEP "\\"
#else
#define SEP "/"
#endif

static long
file_size (const char *path)
{
  FILE *f = fopen (path, "rb");
  if (!f)
    return -1;
  fseek (f, 0, SEEK_END);
  long n = ftell (f);
  fclose (f);
  return n;
}

static bool
file_equals (const char *path, const char *want)
{
  char buf[256];
  FILE *f = fopen (path, "rb");
  if (!f)
    return false;
  size_t n = fread (buf, 1, sizeof buf, f);
  fclose (f);
  return n == strlen (want) && memcmp (buf, want, n) == 0;
}

static void
test_fs (void)
{
  char base[512], dir[600], file[700], tmp[256];
  const char *t = getenv ("TMPDIR");
#ifdef _WIN32
  if (!t)
    t = getenv ("TEMP");
#endif
  if (!t)
    t = "/tmp";
  snprintf (tmp, sizeof tmp, "dx-fs-test-%llu", (unsigned long long) dx_monotonic_us ());
  IS (dx_fs_join (base, sizeof base, t, tmp), 0, "join tmp dir");
  IS (dx_fs_join (dir, sizeof dir, base, "a" SEP "b" SEP "c"), 0, "join nested");
  IS (dx_fs_mkdirs (dir), 0, "mkdirs creates every level");
  IS (dx_fs_mkdirs (dir), 0, "mkdirs again is fine");
  IS (dx_fs_check_writable_dir (dir), 0, "the new dir is writable");

  IS (dx_fs_join (file, sizeof file, dir, "state.json"), 0, "join file");
  IS (dx_fs_write_atomic (file, "first", 5), 0, "write_atomic creates");
  OK (file_equals (file, "first"), "content is there");
  IS (dx_fs_write_atomic (file, "second!", 7), 0, "write_atomic replaces");
  OK (file_equals (file, "second!"), "content replaced whole");
  IS (dx_fs_write_atomic (file, "", 0), 0, "empty write");
  IS (file_size (file), 0, "file is empty");

  IS (dx_fs_check_writable_dir (file), DX_ENOENT, "a file is not a writable dir");
  char missing[700];
  dx_fs_join (missing, sizeof missing, base, "nope");
  IS (dx_fs_check_writable_dir (missing), DX_ENOENT, "a missing dir is reported");
  char under_file[800];
  dx_fs_join (under_file, sizeof under_file, file, "x");
  OK (dx_fs_mkdirs (under_file) < 0, "mkdirs under a file fails (%s)",
      dx_err_name (dx_fs_mkdirs (under_file)));
  char in_missing[800];
  dx_fs_join (in_missing, sizeof in_missing, missing, "f");
  IS (dx_fs_write_atomic (in_missing, "x", 1), DX_ENOENT,
      "write_atomic into a missing dir -> DX_ENOENT");
  IS (dx_fs_mkdirs (""), DX_EINVAL, "empty path refused");
  IS (dx_fs_write_atomic (NULL, "x", 1), DX_EINVAL, "NULL path refused");

  char small[4];
  IS (dx_fs_join (small, sizeof small, "abc", "def"), DX_ENOMEM, "join too long -> DX_ENOMEM");
  char j[64];
  dx_fs_join (j, sizeof j, "a" SEP, "b");
  OK (strcmp (j, "a" SEP "b") == 0, "join does not double the separator (%s)", j);

  char dd[512];
  IS (dx_fs_default_data_dir ("duplex", dd, sizeof dd), 0, "default data dir");
  OK (strstr (dd, "duplex") != NULL, "data dir ends in the app name (%s)", dd);
#ifndef _WIN32
  setenv ("XDG_DATA_HOME", "/xdg/data", 1);
  dx_fs_default_data_dir ("duplex", dd, sizeof dd);
  OK (strcmp (dd, "/xdg/data/duplex") == 0, "XDG_DATA_HOME honoured (%s)", dd);
  setenv ("XDG_DATA_HOME", "relative", 1);
  setenv ("HOME", "/home/u", 1);
  dx_fs_default_data_dir ("duplex", dd, sizeof dd);
  OK (strcmp (dd, "/home/u/.local/share/duplex") == 0, "relative XDG ignored (%s)", dd);
  IS (dx_fs_default_data_dir ("a/b", dd, sizeof dd), DX_EINVAL, "app with a slash refused");
#endif

  /* Reading a file back whole. */
  IS (dx_fs_write_atomic (file, "read\nme", 7), 0, "write a file to read");
  char *data = NULL;
  size_t dlen = 0;
  IS (dx_fs_read_file (file, 7, &data, &dlen), 0, "read_file, exactly max bytes");
  OK (data && dlen == 7 && memcmp (data, "read\nme", 7) == 0 && data[7] == '\0',
      "read_file: the bytes, NUL-terminated");
  free (data);
  IS (dx_fs_read_file (file, 6, &data, &dlen), DX_EINVAL, "read_file over max refused");
  IS (dx_fs_write_atomic (file, "", 0), 0, "empty file");
  IS (dx_fs_read_file (file, 7, &data, &dlen), 0, "read_file of an empty file");
  OK (data && dlen == 0 && data[0] == '\0', "... is empty");
  free (data);
  IS (dx_fs_read_file (missing, 100, &data, &dlen), DX_ENOENT, "read_file: missing file");
  OK (dx_fs_read_file (dir, 100, &data, &dlen) < 0, "read_file: a directory is refused");
  IS (dx_fs_read_file (NULL, 100, &data, &dlen), DX_EINVAL, "read_file: NULL path");

  /* A file's stamp: its size, and it changes when the file is rewritten. */
  dx_file_stamp s1, s2;
  IS (dx_fs_write_atomic (file, "one", 3), 0, "write a file to stamp");
  IS (dx_fs_file_stamp (file, &s1), 0, "file_stamp");
  OK (s1.size == 3 && s1.mtime_ns > INT64_C (1500000000) * 1000000000,
      "stamp: size 3, a recent time");
  IS (dx_fs_file_stamp (file, &s2), 0, "file_stamp again");
  OK (s1.mtime_ns == s2.mtime_ns && s1.size == s2.size, "an unchanged file keeps its stamp");
  IS (dx_fs_write_atomic (file, "three", 5), 0, "rewrite it");
  IS (dx_fs_file_stamp (file, &s2), 0, "file_stamp after the rewrite");
  OK (s2.size == 5, "the stamp has the new size");
  IS (dx_fs_file_stamp (missing, &s1), DX_ENOENT, "file_stamp: missing file");
  IS (dx_fs_file_stamp (dir, &s1), DX_EINVAL, "file_stamp: a directory is refused");

  /* Clean up. */
  remove (file);
  const char *levels[] = { "a" SEP "b" SEP "c", "a" SEP "b", "a", "" };
  for (size_t i = 0; i < 4; i++) {
    char p[700];
    if (*levels[i])
      dx_fs_join (p, sizeof p, base, levels[i]);
    else
      snprintf (p, sizeof p, "%s", base);
#ifdef _WIN32
    _rmdir (p);
#else
    rmdir (p);
#endif
  }
}

int
main (int argc, char **argv)
{
  static const dxtest_case cases[] = {
    { "fs", test_fs },
  };
  return dxtest_main (argc, argv, cases, DXTEST_COUNT (cases));
}
