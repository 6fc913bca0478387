/* A small string-keyed hash map (chained, power-of-two buckets, grows at
 * load factor 1) and the one string hash of the server. Keys are copied;
 * values are the caller's. Used by the store (rooms, tokens, dedup
 * windows) and the hub (live rooms). */
#ifndef DX_SERVER_STRMAP_H
#define DX_SERVER_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dx_strmap_node dx_strmap_node;

typedef struct {
  dx_strmap_node **buckets;
  size_t nbuckets; /* a power of two, or 0 */
  size_t count;
} dx_strmap;

/* FNV-1a: short keys (names are bounded), no adversarial pressure beyond
 * what the bound on names and the load factor allow. */
uint32_t dx_str_hash (const char *s);

/* A zeroed dx_strmap is an empty map. */
void *dx_strmap_get (const dx_strmap *m, const char *key);
/* Inserts or replaces (the old value, if any, in *old when old != NULL).
 * false when out of memory (the map is unchanged). */
bool dx_strmap_put (dx_strmap *m, const char *key, void *value, void **old);
/* Removes key; returns its value (NULL if absent). */
void *dx_strmap_remove (dx_strmap *m, const char *key);
/* Empties the map, passing every value to free_value (may be NULL). */
void dx_strmap_clear (dx_strmap *m, void (*free_value) (void *));
/* Visits every entry, any order, until visit returns false (the map must
 * not change meanwhile). Returns false if a visit stopped it. */
bool dx_strmap_each (const dx_strmap *m, bool (*visit) (void *arg, const char *key, void *value),
                     void *arg);

#endif
