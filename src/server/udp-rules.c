#include "server/udp-rules.h"

#include "platform/random.h"
#include "protocol/json.h"

#include <string.h>

/* Reads a string member into buf, which holds any string a datagram can
 * carry (so the reader never fails for want of room). */
static bool
read_member_string (dx_json_reader *r, char *buf, size_t cap, size_t *len, bool *has_nul)
{
  *has_nul = false;
  *len = 0;
  return dx_json_read_string (r, buf, cap, len, has_nul);
}

void
dx_udp_dgram_read (const char *data, size_t len, dx_udp_dgram *out)
{
  memset (out, 0, sizeof *out);
  if (len > DX_UDP_DATAGRAM_MAX)
    return;
  char buf[DX_UDP_DATAGRAM_MAX + 1];
  dx_udp_dgram_kind kind = DX_UDP_DGRAM_OTHER;
  bool seen_type = false;
  dx_json_reader r;
  dx_json_reader_init (&r, data, len, NULL);
  if (!dx_json_object_begin (&r))
    return;
  char key[16];
  int k;
  while ((k = dx_json_object_next (&r, key, sizeof key, NULL)) > 0) {
    bool is_type = strcmp (key, "type") == 0 && !seen_type;
    bool is_cookie = strcmp (key, "cookie") == 0 && !out->has_cookie;
    if ((is_type || is_cookie) && dx_json_peek (&r) == DX_JSON_STRING) {
      size_t slen;
      bool has_nul;
      if (!read_member_string (&r, buf, sizeof buf, &slen, &has_nul))
        return;
      if (is_type) {
        seen_type = true;
        if (!has_nul && strcmp (buf, "hello") == 0)
          kind = DX_UDP_DGRAM_HELLO;
      } else {
        out->has_cookie = true;
        if (has_nul || slen > DX_UDP_COOKIE_LEN)
          out->cookie_too_long = true; /* never one of ours */
        else
          memcpy (out->cookie, buf, slen + 1);
      }
    } else if (!dx_json_skip (&r)) {
      return;
    }
  }
  if (k < 0 || !dx_json_finish (&r))
    return;
  out->kind = kind;
}

int
dx_udp_cookie_new (char out[DX_UDP_COOKIE_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char raw[DX_UDP_COOKIE_LEN / 2];
  int rc = dx_random_bytes (raw, sizeof raw);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < sizeof raw; i++) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 15];
  }
  out[DX_UDP_COOKIE_LEN] = '\0';
  return 0;
}

bool
dx_udp_cookie_matches (const dx_udp_dgram *d, const char *cookie)
{
  if (!d->has_cookie || d->cookie_too_long || strlen (d->cookie) != DX_UDP_COOKIE_LEN
      || strlen (cookie) != DX_UDP_COOKIE_LEN)
    return false;
  unsigned diff = 0;
  for (size_t i = 0; i < DX_UDP_COOKIE_LEN; i++)
    diff |= (unsigned) (d->cookie[i] ^ cookie[i]);
  return diff == 0;
}

void
dx_udp_budget_received (dx_udp_budget *b, size_t n)
{
  b->received += n;
}

void
dx_udp_budget_validate (dx_udp_budget *b)
{
  b->validated = true;
}

bool
dx_udp_budget_spend (dx_udp_budget *b, size_t n)
{
  if (b->validated)
    return true;
  if (b->sent + n > DX_UDP_AMPLIFICATION * b->received)
    return false;
  b->sent += n;
  return true;
}
