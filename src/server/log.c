#include "server/log.h"

#include "platform/loop.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The level is set once at start-up, before any thread exists; the store's
 * writer thread only reads it. */
static dx_log_level current_level = DX_LOG_INFO;

void
dx_log_set_level (dx_log_level level)
{
  current_level = level;
}

dx_log_level
dx_log_get_level (void)
{
  return current_level;
}

int
dx_log_level_parse (const char *name)
{
  static const char *const names[] = { "error", "warn", "info", "debug" };
  for (int i = 0; i < 4; i++)
    if (strcmp (name, names[i]) == 0)
      return i;
  return -1;
}

/* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm):
 * no gmtime_r, which is POSIX and not on Windows. */
static void
civil_from_days (long long z, int *y, unsigned *m, unsigned *d)
{
  z += 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned) (z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long yy = (long long) yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int) (yy + (*m <= 2));
}

void
dx_log_format_time (unsigned long long wall_ms, char *out, unsigned long size)
{
  unsigned long long secs = wall_ms / 1000;
  int y;
  unsigned mo, d;
  civil_from_days ((long long) (secs / 86400), &y, &mo, &d);
  unsigned sod = (unsigned) (secs % 86400);
  snprintf (out, size, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", y, mo, d, sod / 3600, sod / 60 % 60,
            sod % 60, (unsigned) (wall_ms % 1000));
}

void
dx_log (dx_log_level level, const char *fmt, ...)
{
  static const char *const tags[] = { "ERROR", "WARN", "INFO", "DEBUG" };
  if (level > current_level)
    return;
  char when[32];
  dx_log_format_time (dx_wall_ms (), when, sizeof when);
  char line[1024];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (line, sizeof line, fmt, ap);
  va_end (ap);
  /* One fprintf per line so lines from two threads do not interleave. */
  fprintf (stderr, "%s %s %s\n", when, tags[level], line);
  fflush (stderr);
}
