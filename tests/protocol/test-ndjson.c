/* NDJSON line splitter: lines, CRLF, empty lines, the 16384-byte limit
 * (exactly at it, one over, and recovery on the next line), a small
 * custom limit, and the split property: feeding the input cut at every
 * possible byte (and byte by byte) gives the same events as feeding it
 * whole. */
#include <stdint.h>
#include <stdlib.h>

#include "protocol/names.h"
#include "protocol/ndjson.h"
#include "../tap.h"

/* malloc that never returns NULL (a test has no use for OOM handling). */
static void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (!p)
    abort ();
  return p;
}

/* The events of one run, flattened into a string: "L<len>:<bytes>|" per
 * line, "T|" per TOO_LARGE, "E|" per ERROR. */
static void
record (dx_buffer *ev, dx_ndjson_event e, const char *line, size_t len)
{
  if (e == DX_NDJSON_LINE) {
    dx_buffer_printf (ev, "L%zu:", len);
    dx_buffer_append (ev, line, len);
    dx_buffer_append_char (ev, '|');
  } else if (e == DX_NDJSON_TOO_LARGE) {
    dx_buffer_append_str (ev, "T|");
  } else if (e == DX_NDJSON_ERROR) {
    dx_buffer_append_str (ev, "E|");
  }
}

/* Feed data[0..len) in one call's worth of chunks; returns false if the
 * splitter ever misbehaved (consumed nothing without NEED_MORE, or more
 * than it was given). */
static bool
feed (dx_ndjson *sp, const char *data, size_t len, dx_buffer *ev)
{
  while (len > 0) {
    size_t used = 0;
    const char *line;
    size_t llen;
    dx_ndjson_event e = dx_ndjson_next (sp, data, len, &used, &line, &llen);
    if (used > len || (used == 0 && e == DX_NDJSON_NEED_MORE))
      return false;
    if (e == DX_NDJSON_NEED_MORE && used != len)
      return false;
    record (ev, e, line, llen);
    data += used;
    len -= used;
  }
  return true;
}

/* Events for the input cut at the given points (sorted offsets). */
static bool
run_split (const char *data, size_t len, size_t max_line, const size_t *cuts, size_t ncuts,
           dx_buffer *ev, size_t *pending)
{
  dx_ndjson sp;
  dx_ndjson_init (&sp, max_line);
  size_t at = 0;
  bool ok = true;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t to = i < ncuts ? cuts[i] : len;
    ok = ok && feed (&sp, data + at, to - at, ev);
    at = to;
  }
  if (pending)
    *pending = dx_ndjson_pending (&sp);
  dx_ndjson_free (&sp);
  return ok;
}

static void
check_whole (const char *name, const char *data, size_t len, size_t max_line, const char *want)
{
  dx_buffer ev;
  dx_buffer_init (&ev, 0);
  dx_buffer_append_str (&ev, "");
  OK (run_split (data, len, max_line, NULL, 0, &ev, NULL), "%s: splitter well-behaved", name);
  STR_IS (ev.data, want, "%s: events", name);
  dx_buffer_free (&ev);
}

/* The split property: every single cut point, and byte by byte, give the
 * same events as the whole input. */
static void
check_split_property (const char *name, const char *data, size_t len, size_t max_line)
{
  dx_buffer whole, part;
  dx_buffer_init (&whole, 0);
  dx_buffer_init (&part, 0);
  dx_buffer_append_str (&whole, "");
  size_t pend_whole = 0, pend = 0;
  run_split (data, len, max_line, NULL, 0, &whole, &pend_whole);
  bool same = true;
  size_t bad_cut = 0;
  for (size_t cut = 0; cut <= len && same; cut++) {
    dx_buffer_reset (&part);
    dx_buffer_append_str (&part, "");
    if (!run_split (data, len, max_line, &cut, 1, &part, &pend)
        || strcmp (part.data, whole.data) != 0 || pend != pend_whole) {
      same = false;
      bad_cut = cut;
    }
  }
  if (!OK (same, "%s: every cut point (%zu of them) gives the same events", name, len + 1))
    printf ("#   differs at cut %zu\n", bad_cut);
  /* byte by byte */
  size_t *cuts = calloc (len + 1, sizeof *cuts);
  if (!cuts)
    abort ();
  for (size_t i = 0; i < len; i++)
    cuts[i] = i + 1;
  dx_buffer_reset (&part);
  dx_buffer_append_str (&part, "");
  bool ok = run_split (data, len, max_line, cuts, len ? len - 1 : 0, &part, &pend);
  OK (ok && strcmp (part.data, whole.data) == 0 && pend == pend_whole,
      "%s: byte by byte gives the same events", name);
  /* two cuts everywhere, on short inputs */
  if (len <= 64) {
    same = true;
    for (size_t a = 0; a <= len && same; a++)
      for (size_t b = a; b <= len && same; b++) {
        size_t two[2] = { a, b };
        dx_buffer_reset (&part);
        dx_buffer_append_str (&part, "");
        if (!run_split (data, len, max_line, two, 2, &part, &pend)
            || strcmp (part.data, whole.data) != 0)
          same = false;
      }
    OK (same, "%s: every pair of cut points gives the same events", name);
  }
  free (cuts);
  dx_buffer_free (&whole);
  dx_buffer_free (&part);
}

#define S(lit) lit, sizeof lit - 1

static void
test_basic (void)
{
  check_whole ("one line", S ("{\"a\":1}\n"), 0, "L7:{\"a\":1}|");
  check_whole ("two lines", S ("a\nbc\n"), 0, "L1:a|L2:bc|");
  check_whole ("CRLF stripped", S ("a\r\nbc\r\n"), 0, "L1:a|L2:bc|");
  check_whole ("only one CR stripped", S ("a\r\r\n"), 0, "L2:a\r|");
  check_whole ("CR inside a line kept", S ("a\rb\n"), 0, "L3:a\rb|");
  check_whole ("empty lines skipped", S ("\n\n\r\na\n\n\r\nb\n\n"), 0, "L1:a|L1:b|");
  check_whole ("unterminated last line held", S ("a\nbc"), 0, "L1:a|");
  check_whole ("nothing", S (""), 0, "");
  check_whole ("NUL bytes pass through", S ("a\0b\n"), 0, "L3:a\0b|");

  dx_ndjson sp;
  dx_ndjson_init (&sp, 0);
  size_t used = 99;
  const char *line = "x";
  size_t llen = 9;
  OK (dx_ndjson_next (&sp, "", 0, &used, &line, &llen) == DX_NDJSON_NEED_MORE && used == 0,
      "len 0 -> NEED_MORE, nothing used");
  OK (dx_ndjson_next (&sp, "abc", 3, &used, &line, &llen) == DX_NDJSON_NEED_MORE && used == 3
          && dx_ndjson_pending (&sp) == 3,
      "partial line: NEED_MORE, 3 pending");
  const char *chunk = "de\nfg\n";
  OK (dx_ndjson_next (&sp, chunk, 6, &used, &line, &llen) == DX_NDJSON_LINE && used == 3
          && llen == 5 && memcmp (line, "abcde", 5) == 0 && dx_ndjson_pending (&sp) == 0,
      "line assembled across chunks, consumed up to its '\\n'");
  const char *data = chunk + 3;
  OK (dx_ndjson_next (&sp, data, 3, &used, &line, &llen) == DX_NDJSON_LINE && used == 3
          && line == data && llen == 2,
      "a line inside one chunk is returned in place (zero-copy)");
  dx_ndjson_free (&sp);
}

static char *
make_line (size_t n, char fill, const char *end)
{
  size_t e = strlen (end);
  char *s = xmalloc (n + e + 1);
  memset (s, fill, n);
  memcpy (s + n, end, e + 1);
  return s;
}

static void
test_limit (void)
{
  /* the real limit: DX_LINE_MAX = 16384 */
  OK (DX_LINE_MAX == 16384, "DX_LINE_MAX is 16384");
  size_t n = DX_LINE_MAX;
  char *buf = xmalloc (3 * (n + 16));
  char *want = xmalloc (3 * (n + 32));
  dx_buffer ev;
  dx_buffer_init (&ev, 0);

  /* exactly 16384 bytes + "\n", then "ok\n" */
  memset (buf, 'x', n);
  memcpy (buf + n, "\nok\n", 4);
  dx_buffer_reset (&ev);
  dx_buffer_append_str (&ev, "");
  run_split (buf, n + 4, 0, NULL, 0, &ev, NULL);
  OK (ev.len > 6 && strncmp (ev.data, "L16384:", 7) == 0
          && strcmp (ev.data + ev.len - 6, "L2:ok|") == 0,
      "16384 bytes: one line, then the next");

  /* 16384 + "\r\n" is still 16384 bytes of line */
  memcpy (buf + n, "\r\nok\n", 5);
  dx_buffer_reset (&ev);
  dx_buffer_append_str (&ev, "");
  run_split (buf, n + 5, 0, NULL, 0, &ev, NULL);
  OK (strncmp (ev.data, "L16384:", 7) == 0 && strcmp (ev.data + ev.len - 6, "L2:ok|") == 0,
      "16384 bytes + CRLF: one line");

  /* 16385 bytes: exactly one TOO_LARGE, then the next line works */
  memset (buf, 'x', n + 1);
  memcpy (buf + n + 1, "\nok\n", 4);
  dx_buffer_reset (&ev);
  dx_buffer_append_str (&ev, "");
  run_split (buf, n + 5, 0, NULL, 0, &ev, NULL);
  STR_IS (ev.data, "T|L2:ok|", "16385 bytes: one TOO_LARGE, next line OK");
  check_split_property ("16385-byte line then ok", buf, n + 5, 0);

  /* 16384 + "\r" + "x" + "\n": the CR is content, so 16386 -> TOO_LARGE */
  memset (buf, 'x', n);
  memcpy (buf + n, "\rx\nok\n", 6);
  dx_buffer_reset (&ev);
  dx_buffer_append_str (&ev, "");
  run_split (buf, n + 6, 0, NULL, 0, &ev, NULL);
  STR_IS (ev.data, "T|L2:ok|", "16384 + CR + x: TOO_LARGE");

  /* a very long line (50000 bytes) gives exactly one event however fed */
  size_t big = 50000;
  char *huge = make_line (big, 'y', "\n{}\n");
  dx_buffer_reset (&ev);
  dx_buffer_append_str (&ev, "");
  run_split (huge, big + 4, 0, NULL, 0, &ev, NULL);
  STR_IS (ev.data, "T|L2:{}|", "50000 bytes: one TOO_LARGE");
  size_t cuts[50];
  for (size_t i = 0; i < 50; i++)
    cuts[i] = (i + 1) * 997;
  dx_buffer_reset (&ev);
  dx_buffer_append_str (&ev, "");
  run_split (huge, big + 4, 0, cuts, 50, &ev, NULL);
  STR_IS (ev.data, "T|L2:{}|", "50000 bytes in 51 chunks: one TOO_LARGE");
  free (huge);

  /* an over-long unterminated line holds nothing */
  dx_ndjson sp;
  dx_ndjson_init (&sp, 0);
  memset (buf, 'z', n + 10);
  size_t used;
  const char *line;
  size_t llen;
  OK (dx_ndjson_next (&sp, buf, n + 10, &used, &line, &llen) == DX_NDJSON_TOO_LARGE
          && used == n + 10 && dx_ndjson_pending (&sp) == 0,
      "over-long line without '\\n': TOO_LARGE, all consumed, nothing pending");
  OK (dx_ndjson_next (&sp, buf, 100, &used, &line, &llen) == DX_NDJSON_NEED_MORE && used == 100,
      "the rest of it is dropped silently");
  OK (dx_ndjson_next (&sp, "zz\nnext\n", 8, &used, &line, &llen) == DX_NDJSON_LINE && llen == 4
          && memcmp (line, "next", 4) == 0,
      "the line after it is read");
  OK (sp.partial.cap <= 2 * (n + 3), "buffered memory stays near the limit");
  dx_ndjson_free (&sp);

  free (buf);
  free (want);
  dx_buffer_free (&ev);
}

static void
test_split_property (void)
{
  /* small limit (8) so every edge fits in a short input */
  static const struct {
    const char *name;
    const char *data;
    size_t len;
    const char *want;
  } c[] = {
    { "mixed", S ("ab\n\r\ncdefgh\r\n12345678\n123456789\nx\n"),
      "L2:ab|L6:cdefgh|L8:12345678|T|L1:x|" },
    { "limit with CRLF", S ("12345678\r\n1234567\r\r\n"), "L8:12345678|L8:1234567\r|" },
    { "CR at the limit then more", S ("12345678\rz\nok\n"), "T|L2:ok|" },
    { "two over-long lines", S ("123456789abc\n123456789\nq\n"), "T|T|L1:q|" },
    { "over-long unterminated", S ("a\n123456789xyz"), "L1:a|T|" },
    { "exactly the limit unterminated", S ("a\n12345678"), "L1:a|" },
    { "limit + CR unterminated", S ("a\n12345678\r"), "L1:a|" },
    { "only newlines", S ("\n\r\n\n\r\n"), "" },
    { "JSON lines", S ("{\"a\":1}\r\n{}\n[]\n"), "L7:{\"a\":1}|L2:{}|L2:[]|" },
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    check_whole (c[i].name, c[i].data, c[i].len, 8, c[i].want);
    check_split_property (c[i].name, c[i].data, c[i].len, 8);
  }

  /* a realistic stream at the default limit */
  const char *stream =
      "{\"type\":\"hello\",\"nick\":\"alice\"}\r\n"
      "\n"
      "{\"type\":\"join\",\"room\":\"lobby\",\"since\":0}\n"
      "{\"type\":\"send\",\"room\":\"lobby\",\"text\":\"h\xc3\xa9\",\"cid\":\"c-1\"}\n"
      "{\"type\":\"ping\",\"t\":1}";
  check_whole (
      "stream", stream, strlen (stream), 0,
      "L31:{\"type\":\"hello\",\"nick\":\"alice\"}|"
      "L40:{\"type\":\"join\",\"room\":\"lobby\",\"since\":0}|"
      "L55:{\"type\":\"send\",\"room\":\"lobby\",\"text\":\"h\xc3\xa9\",\"cid\":\"c-1\"}|");
  check_split_property ("stream", stream, strlen (stream), 0);

  /* pseudo-random inputs over a 4-symbol alphabet, limit 5 */
  uint32_t seed = 12345;
  bool all = true;
  for (int round = 0; round < 300 && all; round++) {
    char data[40];
    size_t len = (size_t) (round % 40);
    for (size_t i = 0; i < len; i++) {
      seed = seed * 1103515245u + 12345u;
      data[i] = "ab\r\n"[(seed >> 16) & 3];
    }
    dx_buffer whole, part;
    dx_buffer_init (&whole, 0);
    dx_buffer_init (&part, 0);
    dx_buffer_append_str (&whole, "");
    run_split (data, len, 5, NULL, 0, &whole, NULL);
    for (size_t a = 0; a <= len && all; a++)
      for (size_t b = a; b <= len && all; b++) {
        size_t two[2] = { a, b };
        dx_buffer_reset (&part);
        dx_buffer_append_str (&part, "");
        if (!run_split (data, len, 5, two, 2, &part, NULL) || strcmp (part.data, whole.data) != 0)
          all = false;
      }
    dx_buffer_free (&whole);
    dx_buffer_free (&part);
  }
  OK (all, "300 random inputs: every pair of cuts gives the same events");
}

static void
test_append_line (void)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  OK (dx_ndjson_append_line (&b, "{}", 2) && dx_ndjson_append_line (&b, "[1]", 3),
      "append two lines");
  STR_IS (b.data, "{}\n[1]\n", "lines text");
  dx_buffer_free (&b);
  dx_buffer_init (&b, 4);
  dx_buffer_append_str (&b, "ab");
  OK (!dx_ndjson_append_line (&b, "{}", 2) && b.len == 2, "over the ceiling: false, length kept");
  dx_buffer_free (&b);
}

int
main (void)
{
  test_basic ();
  test_limit ();
  test_split_property ();
  test_append_line ();
  return tap_done ();
}
