/* Session tokens: 20 bytes from the OS CSPRNG, as 40 hex characters. */
#ifndef DX_SERVER_TOKEN_H
#define DX_SERVER_TOKEN_H

#define DX_TOKEN_LEN 40

/* Writes DX_TOKEN_LEN hex characters and a NUL: 0, or a negative DX_E*
 * code when the OS random source failed. There is no fallback: a token
 * made from guessable inputs (clocks, counters) would let anyone post
 * under another nick, so no token is issued at all (see dx_poster_new_token
 * for what the client is told). */
int dx_token_generate (char out[DX_TOKEN_LEN + 1]);

#endif
