/* libFuzzer target: what a trusted proxy says (protocol/proxy.h). The
 * PROXY v1 parser must agree with itself on the header alone, never use
 * more than 107 bytes, and give an address that survives formatting; IP,
 * CIDR and X-Forwarded-For parsing must round-trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/proxy.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_ip_round_trip (const dx_ip *ip)
{
  char text[64];
  dx_ip again;
  dx_ip_format (ip, text, sizeof text);
  if (!dx_ip_parse (text, strlen (text), &again) || memcmp (again.b, ip->b, 16) != 0)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *s = (const char *) data;
  size_t used = 0;
  dx_ip src, src2;
  bool unknown = false, unknown2 = false;
  dx_proxy_status st = dx_proxy_v1_parse (s, size, &used, &src, &unknown);
  if (st == DX_PROXY_OK) {
    if (used > size || used > DX_PROXY_V1_MAX || used < 2 || s[used - 2] != '\r'
        || s[used - 1] != '\n')
      abort ();
    if (dx_proxy_v1_parse (s, used, &used, &src2, &unknown2) != DX_PROXY_OK || unknown2 != unknown
        || (!unknown && memcmp (src.b, src2.b, 16) != 0))
      abort ();
    if (!unknown)
      check_ip_round_trip (&src);
  } else if (st == DX_PROXY_NEED_MORE && size >= DX_PROXY_V1_MAX) {
    abort ();
  }

  dx_ip ip;
  if (dx_ip_parse (s, size, &ip))
    check_ip_round_trip (&ip);

  char *z = malloc (size + 1);
  if (z == NULL)
    return 0;
  memcpy (z, data, size);
  z[size] = '\0';
  dx_cidr c;
  if (dx_cidr_parse (z, &c) && (c.bits > 128 || !dx_cidr_match (&c, &c.net)))
    abort ();
  if (dx_xff_last_hop (z, &ip))
    check_ip_round_trip (&ip);
  free (z);
  return 0;
}
