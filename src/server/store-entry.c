#include "server/store-entry.h"

#include <stdlib.h>
#include <string.h>

void
dx_store_entry_free (dx_store_entry *e)
{
  free (e);
}

dx_store_entry *
dx_store_entry_new (const char *room, uint64_t id, uint64_t ts, const char *from, const char *text,
                    size_t text_len, const char *cid)
{
  size_t flen = strlen (from), clen = cid ? strlen (cid) : 0;
  dx_store_entry *e = malloc (sizeof *e + flen + 1 + text_len + 1 + (cid ? clen + 1 : 0));
  if (!e)
    return NULL;
  char *p = (char *) (e + 1);
  e->room = room;
  e->id = id;
  e->ts = ts;
  e->from = p;
  memcpy (p, from, flen + 1);
  p += flen + 1;
  e->text = p;
  memcpy (p, text, text_len);
  p[text_len] = '\0';
  p += text_len + 1;
  e->text_len = text_len;
  e->cid = NULL;
  if (cid) {
    e->cid = p;
    memcpy (p, cid, clen + 1);
  }
  return e;
}
