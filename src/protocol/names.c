#include "protocol/names.h"

#include <string.h>

#include "protocol/utf8.h"

/* Locale-free character classes: <ctype.h> depends on the C locale. */
static bool
is_lower_or_digit (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum (char c)
{
  return is_lower_or_digit (c) || (c >= 'A' && c <= 'Z');
}

bool
dx_nick_char (char c)
{
  return is_alnum (c) || c == '_' || c == '.' || c == '-';
}

bool
dx_nick_valid (const char *s, size_t len)
{
  if (!s || len < 1 || len > DX_NICK_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!dx_nick_char (s[i]))
      return false;
  return true;
}

bool
dx_nick_reserved (const char *s, size_t len)
{
  if (!s)
    return false;
  return (len == 6 && memcmp (s, "ticker", 6) == 0) || (len == 6 && memcmp (s, "server", 6) == 0);
}

bool
dx_room_valid (const char *s, size_t len)
{
  if (!s || len < 1 || len > DX_ROOM_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!is_lower_or_digit (s[i]) && s[i] != '_' && s[i] != '-')
      return false;
  return true;
}

bool
dx_text_valid (const char *s, size_t len)
{
  if (!s || len < 1 || len > DX_TEXT_MAX)
    return false;
  if (memchr (s, '\0', len))
    return false;
  return dx_utf8_valid (s, len);
}

static bool
ascii_range (const char *s, size_t len, size_t max, unsigned char lo)
{
  if (!s || len < 1 || len > max)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char) s[i];
    if (c < lo || c > 0x7E)
      return false;
  }
  return true;
}

bool
dx_cid_valid (const char *s, size_t len)
{
  return ascii_range (s, len, DX_CID_MAX, 0x20);
}

bool
dx_token_valid (const char *s, size_t len)
{
  return ascii_range (s, len, DX_TOKEN_MAX, 0x21);
}

bool
dx_epoch_valid (const char *s, size_t len)
{
  return ascii_range (s, len, DX_EPOCH_MAX, 0x21);
}

bool
dx_password_valid (const char *s, size_t len)
{
  if (!s || len > DX_PASSWORD_MAX)
    return false;
  if (len && memchr (s, '\0', len))
    return false;
  return dx_utf8_valid (s, len);
}

bool
dx_code_valid (const char *s, size_t len)
{
  if (!s || len < 1 || len > DX_CODE_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
      return false;
  return true;
}
