#include "server/strmap.h"

#include <stdlib.h>
#include <string.h>

struct dx_strmap_node {
  dx_strmap_node *next;
  uint32_t hash;
  void *value;
  char key[]; /* NUL-terminated */
};

uint32_t
dx_str_hash (const char *s)
{
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 16777619u;
  return h;
}

static dx_strmap_node *
find (const dx_strmap *m, const char *key, uint32_t h)
{
  if (m->nbuckets == 0)
    return NULL;
  for (dx_strmap_node *n = m->buckets[h & (m->nbuckets - 1)]; n; n = n->next)
    if (n->hash == h && strcmp (n->key, key) == 0)
      return n;
  return NULL;
}

void *
dx_strmap_get (const dx_strmap *m, const char *key)
{
  dx_strmap_node *n = find (m, key, dx_str_hash (key));
  return n ? n->value : NULL;
}

static bool
grow (dx_strmap *m)
{
  size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
  dx_strmap_node **b = calloc (nb, sizeof *b);
  if (b == NULL)
    return false;
  for (size_t i = 0; i < m->nbuckets; i++) {
    dx_strmap_node *n = m->buckets[i];
    while (n) {
      dx_strmap_node *next = n->next;
      n->next = b[n->hash & (nb - 1)];
      b[n->hash & (nb - 1)] = n;
      n = next;
    }
  }
  free (m->buckets);
  m->buckets = b;
  m->nbuckets = nb;
  return true;
}

bool
dx_strmap_put (dx_strmap *m, const char *key, void *value, void **old)
{
  uint32_t h = dx_str_hash (key);
  dx_strmap_node *n = find (m, key, h);
  if (old)
    *old = NULL;
  if (n) {
    if (old)
      *old = n->value;
    n->value = value;
    return true;
  }
  if (m->count + 1 > m->nbuckets && !grow (m))
    return false;
  size_t klen = strlen (key);
  n = malloc (sizeof *n + klen + 1);
  if (n == NULL)
    return false;
  n->hash = h;
  n->value = value;
  memcpy (n->key, key, klen + 1);
  n->next = m->buckets[h & (m->nbuckets - 1)];
  m->buckets[h & (m->nbuckets - 1)] = n;
  m->count++;
  return true;
}

void *
dx_strmap_remove (dx_strmap *m, const char *key)
{
  if (m->nbuckets == 0)
    return NULL;
  uint32_t h = dx_str_hash (key);
  for (dx_strmap_node **pp = &m->buckets[h & (m->nbuckets - 1)]; *pp; pp = &(*pp)->next) {
    dx_strmap_node *n = *pp;
    if (n->hash == h && strcmp (n->key, key) == 0) {
      void *v = n->value;
      *pp = n->next;
      free (n);
      m->count--;
      return v;
    }
  }
  return NULL;
}

void
dx_strmap_clear (dx_strmap *m, void (*free_value) (void *))
{
  for (size_t i = 0; i < m->nbuckets; i++) {
    dx_strmap_node *n = m->buckets[i];
    while (n) {
      dx_strmap_node *next = n->next;
      if (free_value)
        free_value (n->value);
      free (n);
      n = next;
    }
  }
  free (m->buckets);
  m->buckets = NULL;
  m->nbuckets = 0;
  m->count = 0;
}

bool
dx_strmap_each (const dx_strmap *m, bool (*visit) (void *arg, const char *key, void *value),
                void *arg)
{
  for (size_t i = 0; i < m->nbuckets; i++)
    for (dx_strmap_node *n = m->buckets[i]; n; n = n->next)
      if (!visit (arg, n->key, n->value))
        return false;
  return true;
}
