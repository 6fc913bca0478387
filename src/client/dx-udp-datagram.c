#include <string.h>

#include "protocol/json.h"
#include "protocol/message.h"

#include "dx-udp-datagram.h"

/* Replace the closing '}' of the one object in b by `,"key":"value"}`. */
static gboolean
append_member (dx_buffer *b, const char *key, const char *value, gsize value_len)
{
  gsize before = b->len;

  if (b->len < 2 || b->data[b->len - 1] != '}')
    return FALSE;
  b->len--;
  if (!dx_buffer_append_char (b, ',') || !dx_json_write_key (b, key)
      || !dx_json_write_string (b, value, value_len) || !dx_buffer_append_char (b, '}')) {
    b->len = before;
    b->data[before - 1] = '}';
    return FALSE;
  }
  return TRUE;
}

gboolean
dx_udp_encode_hello (dx_buffer *b, const char *token, const char *password)
{
  gsize start = b->len, used, pad;
  g_autofree char *filler = NULL;
  /* ,"pad":"" around the filler */
  const gsize overhead = strlen (",\"pad\":\"\"");

  if (!dx_encode_hello (b, NULL, token, password))
    return FALSE;
  used = b->len - start;
  if (used + overhead > DX_UDP_DATAGRAM_MAX) {
    b->len = start;
    return FALSE;
  }
  /* The server answers only a hello of exactly 1200 bytes: a small
   * spoofed datagram cannot buy a larger answer (no amplification). */
  pad = DX_UDP_DATAGRAM_MAX - used - overhead;
  filler = g_malloc (pad + 1);
  memset (filler, ' ', pad);
  filler[pad] = '\0';
  if (!append_member (b, "pad", filler, pad)) {
    b->len = start;
    return FALSE;
  }
  g_assert (b->len - start == DX_UDP_DATAGRAM_MAX);
  return TRUE;
}

gboolean
dx_udp_add_cookie (dx_buffer *b, const char *cookie)
{
  return append_member (b, "cookie", cookie, strlen (cookie));
}

gboolean
dx_udp_read_cookie (const char *json, gsize len, char cookie[DX_UDP_COOKIE_MAX + 1])
{
  dx_json_reader r;
  char key[16];
  int k;
  gboolean found = FALSE;
  bool has_nul = false;

  dx_json_reader_init (&r, json, len, NULL);
  if (!dx_json_object_begin (&r))
    return FALSE;
  while ((k = dx_json_object_next (&r, key, sizeof key, NULL)) > 0) {
    if (strcmp (key, "cookie") == 0 && !found) {
      if (!dx_json_read_string (&r, cookie, DX_UDP_COOKIE_MAX + 1, NULL, &has_nul) || has_nul)
        return FALSE;
      found = TRUE;
    } else if (!dx_json_skip (&r)) {
      return FALSE;
    }
  }
  return k == 0 && found && cookie[0] != '\0';
}

guint16
dx_udp_read_port (const char *json, gsize len)
{
  dx_json_reader r;
  char key[16];
  int k;
  uint64_t port = 0;

  dx_json_reader_init (&r, json, len, NULL);
  if (!dx_json_object_begin (&r))
    return 0;
  while ((k = dx_json_object_next (&r, key, sizeof key, NULL)) > 0) {
    if (strcmp (key, "udp_port") == 0 && dx_json_peek (&r) == DX_JSON_NUMBER) {
      if (!dx_json_read_u64 (&r, &port))
        return 0;
    } else if (!dx_json_skip (&r)) {
      return 0;
    }
  }
  return k == 0 && port <= 65535 ? (guint16) port : 0;
}
