#include "server/room.h"

#include <string.h>

size_t
dx_room_nick_count (const dx_room *room, const char *nick)
{
  size_t n = 0;
  for (const dx_sub *s = room->subs; s; s = s->next)
    if (s->kind == DX_SUB_SOCKET && strcmp (s->nick, nick) == 0)
      n++;
  return n;
}
