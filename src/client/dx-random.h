/* Unpredictable bytes from the operating system's generator, for what an
 * attacker must not guess: WebSocket masking keys and handshake nonces
 * (RFC 6455 §5.3, §4.1). g_random_* is a Mersenne Twister seeded once:
 * its output is predictable from what it has produced. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Fill buf with len random bytes: getrandom() on Linux (else
 * /dev/urandom), BCryptGenRandom on Windows. FALSE if the system gave
 * none (buf is then unusable). */
gboolean dx_random_fill (void *buf, gsize len);

G_END_DECLS
