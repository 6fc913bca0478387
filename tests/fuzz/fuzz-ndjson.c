/* libFuzzer target: the NDJSON line splitter.
 *
 * Input layout: byte 0 picks the line limit (0 = DX_LINE_MAX, else 1..255
 * so short inputs reach the limit), bytes 1-2 pick a split point, the rest
 * is the stream. The events from feeding the stream whole, split at that
 * point, and (for short streams) byte by byte must all be equal, and equal
 * to a simple reference model of the rules in ndjson.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/names.h"
#include "protocol/ndjson.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      abort ();                                                                                    \
  } while (0)

/* Events as text: "L<len>:<bytes>|" or "T|". */
static void
emit_line (dx_buffer *ev, const char *line, size_t len)
{
  CHECK (dx_buffer_printf (ev, "L%zu:", len) && dx_buffer_append (ev, line, len)
         && dx_buffer_append_char (ev, '|'));
}

static void
emit_too_large (dx_buffer *ev)
{
  CHECK (dx_buffer_append (ev, "T|", 2));
}

static void
feed (dx_ndjson *sp, const char *p, size_t len, size_t max_line, dx_buffer *ev)
{
  while (len > 0) {
    size_t used = 0;
    const char *line;
    size_t llen;
    dx_ndjson_event e = dx_ndjson_next (sp, p, len, &used, &line, &llen);
    CHECK (used <= len);
    CHECK (e != DX_NDJSON_ERROR);
    if (e == DX_NDJSON_NEED_MORE)
      CHECK (used == len);
    if (e == DX_NDJSON_LINE) {
      CHECK (llen > 0 && llen <= max_line && !memchr (line, '\n', llen));
      emit_line (ev, line, llen);
    } else if (e == DX_NDJSON_TOO_LARGE) {
      emit_too_large (ev);
    }
    CHECK (used > 0 || e != DX_NDJSON_NEED_MORE);
    p += used;
    len -= used;
  }
  CHECK (dx_ndjson_pending (sp) <= max_line + 1);
}

/* Equal event logs (an empty log may have no storage at all). */
static bool
same (const dx_buffer *a, const dx_buffer *b)
{
  return a->len == b->len && (a->len == 0 || memcmp (a->data, b->data, a->len) == 0);
}

static void
run (const char *p, size_t len, size_t max_line, const size_t *cuts, size_t ncuts, dx_buffer *ev,
     size_t *pending)
{
  dx_ndjson sp;
  dx_ndjson_init (&sp, max_line == DX_LINE_MAX ? 0 : max_line);
  size_t at = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t to = i < ncuts ? cuts[i] : len;
    feed (&sp, p + at, to - at, max_line, ev);
    at = to;
  }
  *pending = dx_ndjson_pending (&sp);
  dx_ndjson_free (&sp);
}

/* The rules, whole-input: a terminated line whose content (one trailing
 * '\r' stripped) is over the limit is one TOO_LARGE, an empty one is
 * skipped; an unterminated tail is TOO_LARGE once it is certainly over
 * (max+2 bytes, or max+1 not ending in '\r'), else pending. */
static void
reference (const char *p, size_t len, size_t max_line, dx_buffer *ev, size_t *pending)
{
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] != '\n')
      continue;
    size_t n = i - start;
    if (n && p[start + n - 1] == '\r')
      n--;
    if (n > max_line)
      emit_too_large (ev);
    else if (n > 0)
      emit_line (ev, p + start, n);
    start = i + 1;
  }
  size_t tail = len - start;
  *pending = tail;
  if (tail >= max_line + 2 || (tail == max_line + 1 && p[start + max_line] != '\r')) {
    emit_too_large (ev);
    *pending = 0;
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 3)
    return 0;
  size_t max_line = data[0] ? data[0] : DX_LINE_MAX;
  size_t cut_seed = (size_t) data[1] << 8 | data[2];
  const char *p = (const char *) data + 3;
  size_t len = size - 3;
  size_t cut = cut_seed % (len + 1);

  dx_buffer want, whole, split;
  dx_buffer_init (&want, 0);
  dx_buffer_init (&whole, 0);
  dx_buffer_init (&split, 0);
  size_t pend_ref, pend_whole, pend_split;
  reference (p, len, max_line, &want, &pend_ref);
  run (p, len, max_line, NULL, 0, &whole, &pend_whole);
  run (p, len, max_line, &cut, 1, &split, &pend_split);
  CHECK (same (&whole, &want));
  CHECK (same (&split, &want));
  CHECK (pend_whole == pend_ref && pend_split == pend_ref);

  if (len <= 4096) {
    size_t *cuts = malloc ((len + 1) * sizeof *cuts);
    CHECK (cuts);
    for (size_t i = 0; i < len; i++)
      cuts[i] = i + 1;
    dx_buffer bytes;
    dx_buffer_init (&bytes, 0);
    size_t pend_bytes;
    run (p, len, max_line, cuts, len ? len - 1 : 0, &bytes, &pend_bytes);
    CHECK (same (&bytes, &want));
    CHECK (pend_bytes == pend_ref);
    dx_buffer_free (&bytes);
    free (cuts);
  }
  dx_buffer_free (&want);
  dx_buffer_free (&whole);
  dx_buffer_free (&split);
  return 0;
}
