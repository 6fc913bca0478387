#include "platform/random.h"

#include "platform/loop.h"

#ifdef _WIN32
#include <windows.h>
#include <bcrypt.h>

int
dx_random_bytes (void *buf, size_t len)
{
  unsigned char *p = buf;
  while (len > 0) {
    ULONG n = len > 0x40000000u ? 0x40000000u : (ULONG) len;
    if (!BCRYPT_SUCCESS (BCryptGenRandom (NULL, p, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
      return DX_EIO;
    p += n;
    len -= n;
  }
  return 0;
}

#else
#include <errno.h>
#include <stdio.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

int
dx_random_bytes (void *buf, size_t len)
{
  unsigned char *p = buf;
#if defined(__linux__)
  /* getrandom blocks only until the pool is first seeded (early boot),
   * and needs no file descriptor. */
  while (len > 0) {
    ssize_t n = getrandom (p, len, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break; /* e.g. ENOSYS under an old kernel: try the device */
    }
    p += n;
    len -= (size_t) n;
  }
  if (len == 0)
    return 0;
#endif
  FILE *f = fopen ("/dev/urandom", "rb");
  if (!f)
    return DX_EIO;
  size_t got = fread (p, 1, len, f);
  fclose (f);
  return got == len ? 0 : DX_EIO;
}
#endif
