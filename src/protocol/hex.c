#include "protocol/hex.h"

int
dx_hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char
dx_hex_digit (unsigned v)
{
  return "0123456789abcdef"[v & 15];
}

void
dx_hex_encode (const uint8_t *in, size_t n, char *out)
{
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = dx_hex_digit (in[i] >> 4);
    out[2 * i + 1] = dx_hex_digit (in[i]);
  }
}
