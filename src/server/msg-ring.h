/* The store's per-room RAM ring of durable messages: consecutive ids, the
 * oldest dropped when full. It starts small and doubles up to its bound,
 * so a room costs little until it holds messages. Owns its entries. */
#ifndef DX_SERVER_MSG_RING_H
#define DX_SERVER_MSG_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store-entry.h"

typedef struct {
  dx_store_entry **slots;
  size_t cap, max, head, count; /* cap grows up to max */
} dx_msg_ring;

/* false when out of memory. max >= 1. */
bool dx_msg_ring_init (dx_msg_ring *r, size_t max);
/* Frees the ring and every entry in it. */
void dx_msg_ring_free (dx_msg_ring *r);
/* Appends e (its id follows the newest's); the ring owns it. */
void dx_msg_ring_push (dx_msg_ring *r, dx_store_entry *e);
/* The oldest id kept; 0 when empty. */
uint64_t dx_msg_ring_first_id (const dx_msg_ring *r);
/* The entry with this id, or NULL if not kept. */
const dx_store_entry *dx_msg_ring_get (const dx_msg_ring *r, uint64_t id);

#endif
