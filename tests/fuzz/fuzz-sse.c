/* libFuzzer target: the SSE parser. Checks split invariance and that every
 * dispatched event survives a trip through the encoder and back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/sse.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static uint64_t
mix (uint64_t h, const void *p, size_t n)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

static void
round_trip (const dx_sse_event *e)
{
  /* A type starting with NUL reads as "" in C: not representable. */
  if (memchr (e->data, '\0', e->data_len) || e->type[0] == '\0' || strpbrk (e->type, "\r\n")
      || strpbrk (e->last_id, "\r\n"))
    return;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  if (!dx_sse_encode_event (&b, e->last_id, e->type, e->data, e->data_len))
    abort ();
  dx_sse_parser *p = dx_sse_parser_new (0, 0);
  size_t used;
  if (dx_sse_parser_feed (p, b.data, b.len, &used) != DX_SSE_EVENT || used != b.len)
    abort ();
  const dx_sse_event *e2 = dx_sse_parser_event (p);
  /* The parser reads one leading space away; the encoder writes one. */
  if (e2->data_len != e->data_len || memcmp (e2->data, e->data, e->data_len) != 0
      || strcmp (e2->type, e->type) != 0 || strcmp (e2->last_id, e->last_id) != 0)
    abort ();
  dx_sse_parser_free (p);
  dx_buffer_free (&b);
}

static uint64_t
run (const uint8_t *data, size_t size, size_t max_line, size_t max_data, const size_t *cuts,
     size_t n_cuts, bool check)
{
  dx_sse_parser *p = dx_sse_parser_new (max_line, max_data);
  uint64_t h = 0xcbf29ce484222325ull;
  size_t pos = 0;
  bool error = false;
  for (size_t k = 0; k <= n_cuts && !error; k++) {
    size_t end = k < n_cuts ? cuts[k] : size;
    for (;;) {
      size_t used = 0;
      dx_sse_status st = dx_sse_parser_feed (p, (const char *) data + pos, end - pos, &used);
      if (used > end - pos)
        abort ();
      pos += used;
      if (st != DX_SSE_NEED_MORE)
        h = mix (h, &st, sizeof st);
      if (st == DX_SSE_EVENT) {
        const dx_sse_event *e = dx_sse_parser_event (p);
        h = mix (h, e->type, strlen (e->type));
        h = mix (h, e->data, e->data_len);
        h = mix (h, e->last_id, strlen (e->last_id));
        if (check)
          round_trip (e);
      } else if (st == DX_SSE_COMMENT) {
        const char *c = dx_sse_parser_comment (p);
        h = mix (h, c, strlen (c));
      } else if (st == DX_SSE_ERROR) {
        error = true;
        break;
      } else {
        if (pos != end)
          abort ();
        break;
      }
    }
  }
  int64_t retry = dx_sse_parser_retry (p);
  h = mix (h, &retry, sizeof retry);
  const char *id = dx_sse_parser_last_event_id (p);
  h = mix (h, id, strlen (id));
  dx_sse_parser_free (p);
  return h;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  size_t max_line = (data[0] & 1) ? 64 : 0;
  size_t max_data = (data[0] & 2) ? 256 : 0;
  size_t seed = data[1];
  data += 2;
  size -= 2;
  uint64_t whole = run (data, size, max_line, max_data, NULL, 0, true);
  size_t cuts[2] = { size ? (seed * 257) % (size + 1) : 0, 0 };
  cuts[1] = cuts[0] + (size - cuts[0]) / 2;
  if (run (data, size, max_line, max_data, cuts, 2, false) != whole)
    abort ();
  if (size <= 256) {
    size_t all[256];
    for (size_t i = 0; i < size; i++)
      all[i] = i;
    if (run (data, size, max_line, max_data, all, size, false) != whole)
      abort ();
  }
  return 0;
}
