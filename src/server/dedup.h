/* Client-id (cid) dedup for the store: per sender and room, a window of
 * the sender's last DX_STORE_DEDUP_WINDOW cids with the id and ts each
 * got, so a retried send is answered with the original message. */
#ifndef DX_SERVER_DEDUP_H
#define DX_SERVER_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store-limits.h"
#include "server/strmap.h"

typedef struct {
  uint32_t hash;
  uint64_t id;
  uint64_t ts;
  char cid[DX_STORE_NAME_MAX + 1];
} dx_dedup_entry;

/* One sender's recent cids in one room: a ring of at most
 * DX_STORE_DEDUP_WINDOW, grown on demand. */
typedef struct {
  dx_dedup_entry *e;
  size_t cap, head, count;
  uint64_t newest_id; /* the newest id in the window (0 if empty) */
  uint64_t used;      /* the owner's use clock when last used (LRU order) */
} dx_dedup_window;

/* Records cid -> (id, ts), forgetting the oldest when full. false when
 * out of memory. */
bool dx_dedup_add (dx_dedup_window *w, const char *cid, uint64_t id, uint64_t ts);
/* The entry of cid, or NULL. */
const dx_dedup_entry *dx_dedup_find (const dx_dedup_window *w, const char *cid);
/* Frees a window made with calloc (a dx_strmap value). */
void dx_dedup_window_free (void *w);

/* Drops from windows (sender key -> dx_dedup_window) the least recently
 * used window whose messages are all durable (newest_id <= durable_id).
 * false if every window has a message in flight. */
bool dx_dedup_evict_lru (dx_strmap *windows, uint64_t durable_id);

#endif
