#include "server/token.h"

#include "platform/random.h"
#include "protocol/hex.h"

#include <stdint.h>

int
dx_token_generate (char out[DX_TOKEN_LEN + 1])
{
  uint8_t raw[DX_TOKEN_LEN / 2];
  int rc = dx_random_bytes (raw, sizeof raw);
  if (rc < 0)
    return rc;
  dx_hex_encode (raw, sizeof raw, out);
  out[DX_TOKEN_LEN] = '\0';
  return 0;
}
