/* Server-Sent Events: the encoder's exact bytes, and the parser against
 * the WHATWG processing model, split at every byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/sse.h"
#include "../tap.h"

/* Parse in[0..len) in pieces ending at cuts[]; describe every event. */
static void
parse_cuts (const char *in, size_t len, const size_t *cuts, size_t n_cuts, size_t max_line,
            size_t max_data, char *out, size_t cap)
{
  dx_sse_parser *p = dx_sse_parser_new (max_line, max_data);
  size_t pos = 0, o = 0;
  bool error = false;
  out[0] = '\0';
  for (size_t k = 0; k <= n_cuts && !error; k++) {
    size_t end = k < n_cuts ? cuts[k] : len;
    while (pos < end || end == len) {
      size_t used = 0;
      dx_sse_status st = dx_sse_parser_feed (p, in + pos, end - pos, &used);
      pos += used;
      if (st == DX_SSE_EVENT) {
        const dx_sse_event *e = dx_sse_parser_event (p);
        o += (size_t) snprintf (out + o, cap - o, "E[%s|%.*s|%s]", e->type, (int) e->data_len,
                                e->data, e->last_id);
      } else if (st == DX_SSE_COMMENT) {
        o += (size_t) snprintf (out + o, cap - o, "C[%s]", dx_sse_parser_comment (p));
      } else if (st == DX_SSE_ERROR) {
        o += (size_t) snprintf (out + o, cap - o, "ERROR");
        error = true;
        break;
      } else {
        break;
      }
    }
  }
  snprintf (out + o, cap - o, " retry=%lld last=%s", (long long) dx_sse_parser_retry (p),
            dx_sse_parser_last_event_id (p));
  dx_sse_parser_free (p);
}

static bool
parse_check_len (const char *name, const char *in, size_t len, const char *want, size_t max_line,
                 size_t max_data)
{
  char whole[2048], other[2048];
  parse_cuts (in, len, NULL, 0, max_line, max_data, whole, sizeof whole);
  bool ok = strcmp (whole, want) == 0;
  if (!OK (ok, "%s", name))
    printf ("#   got  %s\n#   want %s\n", whole, want);
  bool split = true;
  for (size_t cut = 0; cut <= len && split; cut++) {
    parse_cuts (in, len, &cut, 1, max_line, max_data, other, sizeof other);
    if (strcmp (other, whole) != 0) {
      printf ("# split at %zu: %s\n", cut, other);
      split = false;
    }
  }
  size_t *cuts = malloc ((len + 1) * sizeof *cuts);
  for (size_t i = 0; i <= len; i++)
    cuts[i] = i;
  parse_cuts (in, len, cuts, len + 1, max_line, max_data, other, sizeof other);
  free (cuts);
  if (strcmp (other, whole) != 0) {
    printf ("# byte by byte: %s\n", other);
    split = false;
  }
  OK (split, "%s: same events for every split", name);
  return ok && split;
}

/* Inputs are literals, and may hold a NUL. */
#define parse_check(name, in, ...) parse_check_len (name, in, sizeof (in) - 1, __VA_ARGS__)

static void
test_encoder (void)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  const char *json = "{\"type\":\"message\",\"id\":42}";
  OK (dx_sse_encode_event_u64 (&b, 42, "message", json, strlen (json)), "encode an event");
  STR_IS (b.data, "id: 42\nevent: message\ndata: {\"type\":\"message\",\"id\":42}\n\n",
          "docs/protocol.md §4 event bytes");
  dx_buffer_reset (&b);
  OK (dx_sse_encode_event (&b, NULL, NULL, "a\nb\r\nc\rd", 8), "multi-line data");
  STR_IS (b.data, "data: a\ndata: b\ndata: c\ndata: d\n\n", "one data line per line");
  dx_buffer_reset (&b);
  OK (dx_sse_encode_event (&b, NULL, NULL, "", 0), "empty data");
  STR_IS (b.data, "data: \n\n", "empty data is one empty data line");
  dx_buffer_reset (&b);
  OK (dx_sse_encode_event (&b, "7", NULL, "x\n", 2), "trailing newline");
  STR_IS (b.data, "id: 7\ndata: x\ndata: \n\n", "a trailing newline keeps an empty last line");
  dx_buffer_reset (&b);
  OK (dx_sse_encode_event (&b, NULL, NULL, "\n\n", 2), "only newlines");
  STR_IS (b.data, "data: \ndata: \ndata: \n\n", "two newlines are three empty lines");
  dx_buffer_reset (&b);
  OK (dx_sse_encode_comment (&b, "ping") && strcmp (b.data, ": ping\n\n") == 0, "comment ': ping'");
  dx_buffer_reset (&b);
  OK (dx_sse_encode_retry (&b, 3000) && strcmp (b.data, "retry: 3000\n\n") == 0, "retry");
  dx_buffer_reset (&b);
  OK (!dx_sse_encode_event (&b, "1\n2", NULL, "x", 1) && b.len == 0 && !b.failed,
      "newline in id refused, buffer unchanged");
  OK (!dx_sse_encode_event (&b, NULL, "a\rb", "x", 1) && b.len == 0, "CR in event refused");
  OK (!dx_sse_encode_event (&b, NULL, NULL, "a\0b", 3) && b.len == 0, "NUL in data refused");
  OK (!dx_sse_encode_comment (&b, "a\nb") && b.len == 0, "newline in a comment refused");
  dx_buffer_free (&b);
  dx_buffer_init (&b, 10);
  OK (!dx_sse_encode_event (&b, NULL, NULL, "0123456789", 10) && b.failed,
      "buffer ceiling reported");
  dx_buffer_free (&b);

  /* Round trip through the parser, with awkward payloads. */
  const char *payloads[] = { "hello", "", "a\nb", "a\r\nb\rc", "\n", "x\n\ny", " leading space" };
  const char *expect[] = { "hello", "", "a\nb", "a\nb\nc", "\n", "x\n\ny", " leading space" };
  for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
    dx_buffer_init (&b, 0);
    dx_sse_encode_event_u64 (&b, i + 1, "message", payloads[i], strlen (payloads[i]));
    dx_sse_parser *p = dx_sse_parser_new (0, 0);
    size_t used;
    dx_sse_status st = dx_sse_parser_feed (p, b.data, b.len, &used);
    const dx_sse_event *e = dx_sse_parser_event (p);
    OK (st == DX_SSE_EVENT && used == b.len && strcmp (e->data, expect[i]) == 0
            && strcmp (e->type, "message") == 0 && atoi (e->last_id) == (int) i + 1,
        "round trip %u", (unsigned) i);
    dx_sse_parser_free (p);
    dx_buffer_free (&b);
  }
}

static void
test_parser (void)
{
  parse_check ("a simple event", "data: hello\n\n", "E[message|hello|] retry=-1 last=", 0, 0);
  parse_check ("docs/protocol.md §4 event",
               "id: 42\nevent: message\ndata: {\"id\":42}\n\n: ping\n\n",
               "E[message|{\"id\":42}|42]C[ ping] retry=-1 last=42", 0, 0);
  parse_check ("WHATWG: multi-line data joined with LF", "data: YHOO\ndata: +2\ndata: 10\n\n",
               "E[message|YHOO\n+2\n10|] retry=-1 last=", 0, 0);
  parse_check ("WHATWG: ids persist, empty id resets",
               ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third "
               "event\n\n",
               "C[ test stream]E[message|first event|1]E[message|second event|]"
               "E[message| third event|] retry=-1 last=",
               0, 0);
  parse_check ("WHATWG: empty data fields", "data\n\ndata\ndata\n\ndata:\n",
               "E[message||]E[message|\n|] retry=-1 last=", 0, 0);
  parse_check ("WHATWG: one space removed", "data:test\n\ndata: test\n\n",
               "E[message|test|]E[message|test|] retry=-1 last=", 0, 0);
  parse_check ("CR, LF and CRLF line ends", "data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\r",
               "E[message|a\nb\nc|]E[message|d|] retry=-1 last=", 0, 0);
  parse_check ("UTF-8 BOM skipped",
               "\xEF\xBB\xBF"
               "data: x\n\n",
               "E[message|x|] retry=-1 last=", 0, 0);
  parse_check ("only the first BOM is skipped",
               "\xEF\xBB\xBF\xEF\xBB\xBF"
               "data: x\n\n",
               " retry=-1 last=", 0, 0);
  parse_check ("a partial BOM is text",
               "\xEF\xBB"
               "data: x\n\ndata: y\n\n",
               "E[message|y|] retry=-1 last=", 0, 0);
  parse_check ("event type, reset after dispatch", "event: presence\ndata: a\n\ndata: b\n\n",
               "E[presence|a|]E[message|b|] retry=-1 last=", 0, 0);
  parse_check ("no dispatch without data", "id: 5\nevent: x\n\ndata: y\n\n",
               "E[message|y|5] retry=-1 last=5", 0, 0);
  parse_check ("an id with NUL is ignored", "id: 3\n\nid: 4\0x\ndata: z\n\n",
               "E[message|z|3] retry=-1 last=3", 0, 0);
  parse_check ("retry", "retry: 5000\n\nretry: 12x\n\nretry:\n\n", " retry=5000 last=", 0, 0);
  parse_check ("unknown fields and colons in values", "foo: bar\ndata: a:b: c\nDATA: no\n\n",
               "E[message|a:b: c|] retry=-1 last=", 0, 0);
  parse_check ("an incomplete event is not dispatched", "data: a\n\ndata: b\n",
               "E[message|a|] retry=-1 last=", 0, 0);
  parse_check ("line limit", "data: 0123456789\n\n", "ERROR retry=-1 last=", 10, 0);
  parse_check ("line of exactly the limit", "data: 0123\n\n", "E[message|0123|] retry=-1 last=", 10,
               0);
  parse_check ("data limit", "data: 0123\ndata: 4567\n\n", "ERROR retry=-1 last=", 0, 8);
  parse_check ("data of exactly the limit", "data: 0123\ndata: 456\n\n",
               "E[message|0123\n456|] retry=-1 last=", 0, 8);

  dx_sse_parser *p = dx_sse_parser_new (4, 0);
  size_t used;
  OK (dx_sse_parser_feed (p, "data: x\n", 8, &used) == DX_SSE_ERROR, "error");
  OK (dx_sse_parser_feed (p, "\n", 1, &used) == DX_SSE_ERROR && used == 0, "the error is sticky");
  dx_sse_parser_free (p);
}

int
main (void)
{
  test_encoder ();
  test_parser ();
  return tap_done ();
}
