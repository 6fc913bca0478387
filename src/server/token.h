/* Session tokens: opaque random strings (SHA-1 of gathered entropy, hex). */
#ifndef DX_SERVER_TOKEN_H
#define DX_SERVER_TOKEN_H

#include <stdint.h>

#define DX_TOKEN_LEN 40

/* Writes DX_TOKEN_LEN hex characters and a NUL. counter must differ
 * between calls (the server passes a running count). */
void dx_token_generate (char out[DX_TOKEN_LEN + 1], uint64_t counter);

#endif
