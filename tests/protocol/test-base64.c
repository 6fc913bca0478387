/* Base64: the RFC 4648 section 10 vectors, and every way strict decoding
 * must refuse input. */
#include <stdlib.h>
#include <string.h>

#include "protocol/base64.h"
#include "../tap.h"

static const struct {
  const char *plain, *encoded;
} vectors[] = {
  { "", "" },
  { "f", "Zg==" },
  { "fo", "Zm8=" },
  { "foo", "Zm9v" },
  { "foob", "Zm9vYg==" },
  { "fooba", "Zm9vYmE=" },
  { "foobar", "Zm9vYmFy" },
};

static bool
decodes_to (const char *in, const char *want)
{
  uint8_t out[64];
  size_t n = 999;
  if (!dx_base64_decode (in, strlen (in), out, sizeof out, &n))
    return false;
  return n == strlen (want) && memcmp (out, want, n) == 0;
}

static bool
rejected (const char *in)
{
  uint8_t out[64];
  size_t n = 12345;
  return !dx_base64_decode (in, strlen (in), out, sizeof out, &n) && n == 12345;
}

int
main (void)
{
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    char out[32];
    size_t n = dx_base64_encode (vectors[i].plain, strlen (vectors[i].plain), out);
    STR_IS (out, vectors[i].encoded, "encode \"%s\"", vectors[i].plain);
    OK (n == strlen (vectors[i].encoded) && n == DX_BASE64_ENCODED_LEN (strlen (vectors[i].plain)),
        "encoded length of \"%s\" is %u", vectors[i].plain, (unsigned) n);
    OK (decodes_to (vectors[i].encoded, vectors[i].plain), "decode \"%s\"", vectors[i].encoded);
  }

  /* All 256 byte values round-trip, at every length mod 3. */
  uint8_t all[256], back[256];
  for (int i = 0; i < 256; i++)
    all[i] = (uint8_t) i;
  bool rt = true;
  for (size_t len = 0; len <= 256; len++) {
    char enc[DX_BASE64_ENCODED_LEN (256) + 1];
    size_t n = dx_base64_encode (all + 256 - len, len, enc), m = 0;
    rt = rt && dx_base64_decode (enc, n, back, sizeof back, &m) && m == len
         && memcmp (back, all + 256 - len, len) == 0;
  }
  OK (rt, "every byte value round-trips at lengths 0..256");

  OK (rejected ("Zg="), "length not a multiple of 4");
  OK (rejected ("Zg"), "missing padding");
  OK (rejected ("Zh=="), "non-zero bits under '==' padding");
  OK (rejected ("Zm9="), "non-zero bits under '=' padding");
  OK (rejected ("Z==="), "three padding characters");
  OK (rejected ("===="), "only padding");
  OK (rejected ("Zg==Zg=="), "padding in the middle");
  OK (rejected ("Zg=a"), "data after padding");
  OK (rejected ("Zm9v\n"), "trailing newline");
  OK (rejected ("Zm 9v"), "embedded space");
  OK (rejected ("Zm-v"), "URL-safe alphabet character");
  OK (rejected ("Zm_v"), "URL-safe alphabet character '_'");
  OK (rejected ("Zm9\x80"), "byte outside ASCII");
  OK (!dx_base64_decode ("Zm9v\0Zm9v", 9, back, sizeof back, &(size_t){ 0 }), "embedded NUL");

  size_t n = 7;
  OK (!dx_base64_decode ("Zm9vYmFy", 8, back, 5, &n) && n == 7,
      "output capacity too small is refused");
  OK (dx_base64_decode ("Zm9vYmFy", 8, back, 6, &n) && n == 6, "exact output capacity is enough");

  dx_buffer b;
  dx_buffer_init (&b, 0);
  OK (dx_base64_append (&b, "foob", 4) && b.len == 8 && strcmp (b.data, "Zm9vYg==") == 0,
      "append to a dx_buffer");
  dx_buffer_free (&b);
  dx_buffer_init (&b, 7);
  OK (!dx_base64_append (&b, "foob", 4) && b.failed, "append over the ceiling fails");
  dx_buffer_free (&b);
  return tap_done ();
}
