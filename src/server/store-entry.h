/* A message as the store keeps it in RAM (pending appends, the rings). */
#ifndef DX_SERVER_STORE_ENTRY_H
#define DX_SERVER_STORE_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/* One message as kept in RAM: a single allocation, strings inline after
 * the struct. Owned by a pending append, then by a room's ring. */
typedef struct {
  const char *room; /* points at the room's name (the room outlives it) */
  uint64_t id;
  uint64_t ts;
  char *from;
  char *text;
  size_t text_len;
  char *cid; /* NULL if none */
} dx_store_entry;

/* One allocation holding copies of the strings; NULL when out of memory. */
dx_store_entry *dx_store_entry_new (const char *room, uint64_t id, uint64_t ts, const char *from,
                                    const char *text, size_t text_len, const char *cid);
void dx_store_entry_free (dx_store_entry *e);

#endif
