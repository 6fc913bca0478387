/* Duplex platform layer: the operating system's cryptographic random
 * number generator (session tokens, store epochs). */
#ifndef DX_PLATFORM_RANDOM_H
#define DX_PLATFORM_RANDOM_H

#include <stddef.h>

/* Fills buf with len bytes from the OS CSPRNG: getrandom(2) or
 * /dev/urandom on POSIX, BCryptGenRandom on Windows. 0, or a negative
 * DX_E* code if the OS could not provide them (buf is then unspecified). */
int dx_random_bytes (void *buf, size_t len);

#endif
