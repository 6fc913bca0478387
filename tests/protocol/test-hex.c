/* Hex digits: every byte's value (or refusal), the digit of every nibble,
 * and encoding bytes most significant nibble first. */
#include <string.h>

#include "protocol/hex.h"
#include "../tap.h"

int
main (void)
{
  int wrong = 0;
  for (int c = 0; c < 256; c++) {
    int want = -1;
    if (c >= '0' && c <= '9')
      want = c - '0';
    else if (c >= 'a' && c <= 'f')
      want = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      want = c - 'A' + 10;
    if (dx_hex_value ((char) c) != want)
      wrong++;
  }
  OK (wrong == 0, "the value of every byte: 0-9, a-f and A-F, else -1 (%d wrong)", wrong);

  char digits[17] = { 0 };
  for (unsigned v = 0; v < 16; v++)
    digits[v] = dx_hex_digit (v);
  STR_IS (digits, "0123456789abcdef", "the digit of each nibble, lower case");
  OK (dx_hex_digit (0x1234a) == 'a', "only the low nibble counts");

  const uint8_t bytes[] = { 0x00, 0x0f, 0xa5, 0xff };
  char out[9];
  memset (out, '#', sizeof out);
  dx_hex_encode (bytes, sizeof bytes, out);
  OK (memcmp (out, "000fa5ff", 8) == 0 && out[8] == '#', "bytes encode high nibble first, no NUL");
  for (unsigned v = 0; v < 16; v++)
    if (dx_hex_value (dx_hex_digit (v)) != (int) v)
      wrong++;
  OK (wrong == 0, "value and digit are inverses");
  return tap_done ();
}
