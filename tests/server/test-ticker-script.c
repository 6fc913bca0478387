/* ticker-script: which lines a --ticker script posts (docs/protocol.md §1),
 * and the files it refuses, with the line that is wrong. */
#include "protocol/names.h"
#include "server/ticker-script.h"

#include "../tap.h"

#include <stdlib.h>
#include <string.h>

static char err[256];

static dx_ticker_script *
parse (const char *data, size_t len)
{
  err[0] = '\0';
  return dx_ticker_script_parse (data, len, err, sizeof err);
}

static bool
line_is (const dx_ticker_script *s, size_t i, const char *want)
{
  size_t len;
  const char *got = dx_ticker_script_line (s, i, &len);
  return len == strlen (want) && memcmp (got, want, len) == 0 && got[len] == '\0';
}

static void
refused (const char *data, size_t len, const char *why, const char *needle)
{
  dx_ticker_script *s = parse (data, len);
  OK (s == NULL && strstr (err, needle) != NULL && strchr (err, '\n') == NULL, "refused: %s (%s)",
      why, err);
  dx_ticker_script_free (s);
}

int
main (void)
{
  const char text[] = "\xEF\xBB\xBF# a comment\r\n"
                      "\n"
                      "[1회초] 플레이볼!\r\n"
                      "   \t\n"
                      "  # an indented comment\n"
                      "  indented line  \t\n"
                      "last line without LF";
  dx_ticker_script *s = parse (text, sizeof text - 1);
  OK (s != NULL, "a script parses (%s)", err);
  IS (dx_ticker_script_count (s), 3, "three lines to post");
  OK (line_is (s, 0, "[1회초] 플레이볼!"), "BOM, comment, blank and CR dropped");
  OK (line_is (s, 1, "  indented line"), "leading space kept, trailing trimmed");
  OK (line_is (s, 2, "last line without LF"), "a last line without LF");
  dx_ticker_script_free (s);

  char *big = malloc (DX_TEXT_MAX + 16);
  memset (big, 'x', DX_TEXT_MAX);
  big[DX_TEXT_MAX] = '\n';
  s = parse (big, DX_TEXT_MAX + 1);
  OK (s && dx_ticker_script_count (s) == 1, "a line of exactly %d bytes", DX_TEXT_MAX);
  dx_ticker_script_free (s);
  memcpy (big, "ok\n", 3);
  memset (big + 3, 'y', DX_TEXT_MAX + 1);
  refused (big, DX_TEXT_MAX + 4, "a line over the message limit", "line 2 is 4097 bytes");
  free (big);

  refused ("fine\n\xC3\x28 broken\n", 13, "invalid UTF-8", "line 2 is not valid UTF-8");
  refused ("fine\nha\xED\xA0\x80\n", 10, "a UTF-16 surrogate", "line 2 is not valid UTF-8");
  refused ("one\ntwo\0three\n", 14, "a NUL byte", "line 2 holds a NUL");
  refused ("# only\n\n  \n# comments\n", 22, "no line to post", "no line to post");
  refused ("", 0, "an empty file", "no line to post");
  refused ("\xEF\xBB\xBF", 3, "only a byte-order mark", "no line to post");

  s = dx_ticker_script_load ("no-such-dir/no-such-script.txt", err, sizeof err);
  OK (s == NULL && strstr (err, "no-such-script.txt") != NULL, "a missing file is named (%s)", err);
  return tap_done ();
}
