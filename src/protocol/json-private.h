/* Internals shared by the JSON reader (json-read.c) and writer
 * (json-write.c). Not for other code: use json.h. */
#ifndef DX_PROTOCOL_JSON_PRIVATE_H
#define DX_PROTOCOL_JSON_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Word-at-a-time tests on 8 bytes (exact "is there any such byte"
 * answers, from the well-known bit tricks): they let the string scanner
 * and the writer skip plain text 8 bytes per step. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static inline uint64_t
load8 (const char *p)
{
  uint64_t w;
  memcpy (&w, p, sizeof w);
  return w;
}

/* Some byte of w is below n (n <= 128). */
static inline uint64_t
has_less (uint64_t w, unsigned n)
{
  return (w - ONES * n) & ~w & HIGHS;
}

/* Some byte of w equals c. */
static inline uint64_t
has_byte (uint64_t w, unsigned c)
{
  uint64_t x = w ^ (ONES * c);
  return (x - ONES) & ~x & HIGHS;
}

/* Some byte ends a plain run inside a string: '"', '\\' or a control. */
static inline bool
word_ends_run (const char *p)
{
  uint64_t w = load8 (p);
  return (has_less (w, 0x20) | has_byte (w, '"') | has_byte (w, '\\')) != 0;
}

#endif
