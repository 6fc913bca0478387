/* Uncached clocks: monotonic (for timers and timeouts) and wall (for
 * message timestamps). */
#include "platform/loop-private.h"

#ifdef _WIN32
#include <windows.h>

uint64_t
dx_monotonic_us (void)
{
  static LARGE_INTEGER freq; /* constant after boot; a benign race */
  LARGE_INTEGER now;
  if (freq.QuadPart == 0)
    QueryPerformanceFrequency (&freq);
  QueryPerformanceCounter (&now);
  /* Split to avoid overflow of now * 1e6. */
  uint64_t q = (uint64_t) now.QuadPart / (uint64_t) freq.QuadPart;
  uint64_t r = (uint64_t) now.QuadPart % (uint64_t) freq.QuadPart;
  return q * 1000000u + r * 1000000u / (uint64_t) freq.QuadPart;
}

uint64_t
dx_wall_ms (void)
{
  FILETIME ft;
  GetSystemTimeAsFileTime (&ft);
  uint64_t t = ((uint64_t) ft.dwHighDateTime << 32) | ft.dwLowDateTime;
  /* 100 ns ticks since 1601-01-01 -> ms since 1970-01-01. */
  return (t - 116444736000000000ull) / 10000u;
}

#else
#include <time.h>

uint64_t
dx_monotonic_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

uint64_t
dx_wall_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}
#endif

uint64_t
dx_monotonic_ms (void)
{
  return dx_monotonic_us () / 1000u;
}
