#include "dx-config.h"

#include "dx-random.h"

#ifdef G_OS_WIN32
#include <windows.h>
#include <bcrypt.h>

gboolean
dx_random_fill (void *buf, gsize len)
{
  guint8 *p = buf;

  while (len > 0) {
    ULONG n = (ULONG) MIN (len, 0x40000000u);
    if (!BCRYPT_SUCCESS (BCryptGenRandom (NULL, p, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
      return FALSE;
    p += n;
    len -= n;
  }
  return TRUE;
}

#else
#include <errno.h>
#include <stdio.h>
#ifdef __linux__
#include <sys/random.h>
#endif

gboolean
dx_random_fill (void *buf, gsize len)
{
  guint8 *p = buf;
  FILE *f;
  gsize got;

#ifdef __linux__
  /* No file descriptor, and blocks only before the pool is first seeded. */
  while (len > 0) {
    ssize_t n = getrandom (p, len, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break; /* ENOSYS on an old kernel: the device below */
    }
    p += n;
    len -= (gsize) n;
  }
  if (len == 0)
    return TRUE;
#endif
  f = fopen ("/dev/urandom", "rb");
  if (f == NULL)
    return FALSE;
  got = fread (p, 1, len, f);
  fclose (f);
  return got == len;
}
#endif
