#include "protocol/base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
dx_base64_encode (const void *in, size_t n, char *out)
{
  const uint8_t *p = in;
  size_t o = 0;
  while (n >= 3) {
    uint32_t v = (uint32_t) p[0] << 16 | (uint32_t) p[1] << 8 | p[2];
    out[o++] = alphabet[v >> 18];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = alphabet[(v >> 6) & 63];
    out[o++] = alphabet[v & 63];
    p += 3;
    n -= 3;
  }
  if (n) {
    uint32_t v = (uint32_t) p[0] << 16 | (n == 2 ? (uint32_t) p[1] << 8 : 0);
    out[o++] = alphabet[v >> 18];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = n == 2 ? alphabet[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  out[o] = '\0';
  return o;
}

bool
dx_base64_append (dx_buffer *out, const void *in, size_t n)
{
  if (n > (SIZE_MAX / 2) / 4 * 3) {
    out->failed = true;
    return false;
  }
  size_t need = DX_BASE64_ENCODED_LEN (n);
  if (!dx_buffer_reserve (out, need))
    return false;
  /* reserve() left room for need + NUL. */
  out->len += dx_base64_encode (in, n, out->data + out->len);
  return true;
}

static int
value_of (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

bool
dx_base64_decode (const char *in, size_t n, uint8_t *out, size_t out_cap, size_t *out_len)
{
  if (n % 4)
    return false;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 4) {
    bool last = i + 4 == n;
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; j++) {
      char c = in[i + j];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        pad++;
        continue;
      }
      if (pad) /* data after padding */
        return false;
      v[j] = value_of (c);
      if (v[j] < 0)
        return false;
    }
    uint32_t bits =
        (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 | (uint32_t) v[2] << 6 | (uint32_t) v[3];
    size_t produce = (size_t) (3 - pad);
    /* Canonical form: the bits the padding hides must be zero. */
    if ((pad == 1 && (bits & 0xFF)) || (pad == 2 && (bits & 0xFFFF)))
      return false;
    if (out_cap - o < produce)
      return false;
    out[o++] = (uint8_t) (bits >> 16);
    if (produce > 1)
      out[o++] = (uint8_t) (bits >> 8);
    if (produce > 2)
      out[o++] = (uint8_t) bits;
  }
  *out_len = o;
  return true;
}
