/* Names of docs/protocol.md §2: the character sets byte by byte, the
 * length limits at their edges, and the reserved nicks. */
#include <string.h>

#include "protocol/names.h"
#include "../tap.h"

static bool
in_set (char c, const char *extra, bool upper)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (upper && c >= 'A' && c <= 'Z')
         || (c != '\0' && strchr (extra, c) != NULL);
}

int
main (void)
{
  int nick_wrong = 0, room_wrong = 0;
  for (int i = 0; i < 256; i++) {
    char c = (char) i;
    if (dx_nick_char (c) != in_set (c, "_.-", true))
      nick_wrong++;
    if (dx_nick_valid (&c, 1) != in_set (c, "_.-", true))
      nick_wrong++;
    if (dx_room_valid (&c, 1) != in_set (c, "_-", false))
      room_wrong++;
  }
  OK (nick_wrong == 0, "nick characters are [A-Za-z0-9_.-] (%d wrong)", nick_wrong);
  OK (room_wrong == 0, "room characters are [a-z0-9_-] (%d wrong)", room_wrong);

  char name[DX_ROOM_MAX + 2];
  memset (name, 'a', sizeof name);
  OK (dx_room_valid (name, DX_ROOM_MAX) && !dx_room_valid (name, DX_ROOM_MAX + 1)
          && !dx_room_valid (name, 0),
      "a room name is 1 to 32 bytes");
  OK (dx_nick_valid (name, DX_NICK_MAX) && !dx_nick_valid (name, DX_NICK_MAX + 1)
          && !dx_nick_valid (name, 0) && !dx_nick_valid (NULL, 1),
      "a nick is 1 to 32 bytes; NULL is invalid");
  OK (dx_nick_reserved ("ticker", 6) && dx_nick_reserved ("server", 6)
          && !dx_nick_reserved ("Ticker", 6) && !dx_nick_reserved ("tick", 4),
      "ticker and server are reserved, exactly");
  STR_IS (DX_ROOM_RULE, "1-32 characters of [a-z0-9_-]", "the room rule in words");
  return tap_done ();
}
