/* Hexadecimal digits, both ways: the one table every codec and the server
 * use (chunk sizes, JSON \u escapes, percent-escapes, tokens). */
#ifndef DX_PROTOCOL_HEX_H
#define DX_PROTOCOL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (either case), or -1 if c is not one. */
int dx_hex_value (char c);

/* The lower-case digit of v & 15. */
char dx_hex_digit (unsigned v);

/* in[0..n) as 2n lower-case digits, most significant nibble first, into
 * out (2n bytes; no NUL is written). */
void dx_hex_encode (const uint8_t *in, size_t n, char *out);

#endif
