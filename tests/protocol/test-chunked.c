/* Chunked transfer coding: decoding (RFC 9112 7.1) split at every byte,
 * every error, limits, and the encoder. */
#include <stdlib.h>
#include <string.h>

#include "protocol/chunked.h"
#include "../tap.h"

typedef struct {
  dx_chunked_status status;
  dx_chunked_error error;
  size_t consumed;
  char out[256];
  size_t out_len;
} result;

/* Feed input in pieces that end at the given cut positions (sorted). */
static result
run (const char *in, size_t len, uint64_t max_body, const size_t *cuts, size_t n_cuts)
{
  result r;
  memset (&r, 0, sizeof r);
  dx_chunked_decoder d;
  dx_buffer out;
  dx_chunked_decoder_init (&d, max_body);
  dx_buffer_init (&out, 200);
  size_t pos = 0;
  for (size_t k = 0; k <= n_cuts; k++) {
    size_t end = k < n_cuts ? cuts[k] : len;
    size_t used = 0;
    r.status = dx_chunked_decoder_feed (&d, in + pos, end - pos, &used, &out);
    pos += used;
    if (r.status != DX_CHUNKED_NEED_MORE)
      break;
    pos = end;
  }
  r.consumed = pos;
  r.error = dx_chunked_decoder_error (&d);
  r.out_len = out.len < sizeof r.out ? out.len : sizeof r.out - 1;
  if (out.len)
    memcpy (r.out, out.data, r.out_len);
  dx_buffer_free (&out);
  return r;
}

static bool
same (const result *a, const result *b)
{
  return a->status == b->status && a->error == b->error && a->consumed == b->consumed
         && a->out_len == b->out_len && memcmp (a->out, b->out, a->out_len) == 0;
}

/* One-shot result, checked equal under every 2-way split and byte by byte. */
static result
run_all (const char *in, size_t len, uint64_t max_body, bool *split_ok)
{
  result whole = run (in, len, max_body, NULL, 0);
  *split_ok = true;
  for (size_t cut = 0; cut <= len; cut++) {
    result r = run (in, len, max_body, &cut, 1);
    if (!same (&r, &whole))
      *split_ok = false;
  }
  size_t *cuts = malloc ((len + 1) * sizeof *cuts);
  for (size_t i = 0; i <= len; i++)
    cuts[i] = i;
  result bytes = run (in, len, max_body, cuts, len + 1);
  free (cuts);
  if (!same (&bytes, &whole))
    *split_ok = false;
  return whole;
}

static void
expect_ok (const char *name, const char *in, const char *body, size_t consumed)
{
  bool split;
  result r = run_all (in, strlen (in), 0, &split);
  OK (r.status == DX_CHUNKED_DONE && r.out_len == strlen (body)
          && memcmp (r.out, body, r.out_len) == 0 && r.consumed == consumed,
      "%s: decodes", name);
  OK (split, "%s: same result for every split", name);
}

static void
expect_err (const char *name, const char *in, uint64_t max_body, dx_chunked_error want)
{
  bool split;
  result r = run_all (in, strlen (in), max_body, &split);
  OK (r.status == DX_CHUNKED_ERROR && r.error == want, "%s: error %s", name,
      dx_chunked_error_message (want));
  OK (split, "%s: same error for every split", name);
}

int
main (void)
{
  static const char wiki[] = "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
  expect_ok ("three chunks", wiki, "Wikipedia in\r\n\r\nchunks.", strlen (wiki));
  expect_ok ("chunk extensions ignored", "4;name=value;x=\"q\"\r\nWiki\r\n0;last\r\n\r\n", "Wiki",
             36);
  expect_ok ("whitespace before extension", "4 ;a\r\nWiki\r\n0\r\n\r\n", "Wiki", 17);
  expect_ok ("trailers discarded", "4\r\nWiki\r\n0\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n", "Wiki",
             42);
  expect_ok ("bare LF line ends", "4\nWiki\n0\n\n", "Wiki", 10);
  expect_ok ("upper and lower hex, leading zeros",
             "000a\r\n0123456789\r\n0A\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij", 39);
  expect_ok ("empty body", "0\r\n\r\n", "", 5);
  expect_ok ("stops at the end of the message (pipelining)",
             "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "abc", 13);

  expect_err ("no size", "\r\nabc", 0, DX_CHUNKED_ERR_SYNTAX);
  expect_err ("non-hex size", "g\r\n", 0, DX_CHUNKED_ERR_SYNTAX);
  expect_err ("sign in size", "+4\r\nWiki\r\n", 0, DX_CHUNKED_ERR_SYNTAX);
  expect_err ("junk after size", "4x\r\nWiki\r\n", 0, DX_CHUNKED_ERR_SYNTAX);
  expect_err ("bare CR after size", "4\rWiki", 0, DX_CHUNKED_ERR_SYNTAX);
  expect_err ("data longer than its size", "4\r\nWikipedia\r\n", 0, DX_CHUNKED_ERR_SYNTAX);
  expect_err ("CR not followed by LF after data", "4\r\nWiki\rX", 0, DX_CHUNKED_ERR_SYNTAX);
  expect_err ("control character in an extension", "4;a\001\r\nWiki", 0, DX_CHUNKED_ERR_SYNTAX);
  expect_err ("obs-fold in trailers", "0\r\nA: 1\r\n  more\r\n\r\n", 0, DX_CHUNKED_ERR_SYNTAX);
  expect_err ("bare CR in trailers", "0\r\nA: 1\rB\r\n\r\n", 0, DX_CHUNKED_ERR_SYNTAX);
  expect_err ("final CR without LF", "0\r\n\rX", 0, DX_CHUNKED_ERR_SYNTAX);
  expect_err ("size overflows 64 bits", "10000000000000000\r\n", 0, DX_CHUNKED_ERR_TOO_LARGE);
  expect_err ("one chunk over max_body", "b\r\n0123456789a\r\n0\r\n\r\n", 10,
              DX_CHUNKED_ERR_TOO_LARGE);
  expect_err ("chunks adding up over max_body", "6\r\n012345\r\n5\r\n6789a\r\n0\r\n\r\n", 10,
              DX_CHUNKED_ERR_TOO_LARGE);
  {
    bool split;
    result r = run_all ("5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", 26, 10, &split);
    OK (r.status == DX_CHUNKED_DONE && r.out_len == 10, "a body of exactly max_body is accepted");
  }

  /* Long size line (extensions) and large trailers. */
  {
    size_t n = DX_CHUNKED_MAX_SIZE_LINE + 10;
    char *in = malloc (n + 1);
    memset (in, 'x', n);
    memcpy (in, "4;", 2);
    in[n] = '\0';
    dx_chunked_decoder d;
    dx_buffer out;
    size_t used;
    dx_chunked_decoder_init (&d, 0);
    dx_buffer_init (&out, 0);
    OK (dx_chunked_decoder_feed (&d, in, n, &used, &out) == DX_CHUNKED_ERROR
            && dx_chunked_decoder_error (&d) == DX_CHUNKED_ERR_LINE_TOO_LONG,
        "a chunk-size line over %d bytes is refused", DX_CHUNKED_MAX_SIZE_LINE);
    OK (dx_chunked_decoder_feed (&d, "0\r\n\r\n", 5, &used, &out) == DX_CHUNKED_ERROR && used == 0,
        "the error is sticky and consumes nothing");
    free (in);

    n = 20000;
    in = malloc (n + 1);
    memset (in, 'a', n);
    memcpy (in, "0\r\nX: ", 6);
    in[n] = '\0';
    dx_chunked_decoder_init (&d, 0);
    OK (dx_chunked_decoder_feed (&d, in, n, &used, &out) == DX_CHUNKED_ERROR
            && dx_chunked_decoder_error (&d) == DX_CHUNKED_ERR_TRAILERS_TOO_LARGE,
        "a trailer section over 16 KiB is refused");
    free (in);
    dx_buffer_free (&out);
  }

  /* After DONE nothing more is taken; a full output buffer is an error. */
  {
    dx_chunked_decoder d;
    dx_buffer out;
    size_t used;
    dx_chunked_decoder_init (&d, 0);
    dx_buffer_init (&out, 0);
    OK (dx_chunked_decoder_feed (&d, "0\r\n\r\n", 5, &used, &out) == DX_CHUNKED_DONE && used == 5,
        "done");
    OK (dx_chunked_decoder_feed (&d, "1\r\n", 3, &used, &out) == DX_CHUNKED_DONE && used == 0,
        "after DONE the decoder consumes nothing");
    dx_buffer_free (&out);
    dx_buffer_init (&out, 3);
    dx_chunked_decoder_init (&d, 0);
    OK (dx_chunked_decoder_feed (&d, wiki, strlen (wiki), &used, &out) == DX_CHUNKED_ERROR
            && dx_chunked_decoder_error (&d) == DX_CHUNKED_ERR_OUTPUT,
        "an output buffer over its ceiling stops the decoder");
    dx_buffer_free (&out);
  }

  /* Encoder. */
  {
    dx_buffer b;
    dx_buffer_init (&b, 0);
    OK (dx_chunked_encode (&b, "hello", 5) && strcmp (b.data, "5\r\nhello\r\n") == 0,
        "encode one chunk");
    OK (dx_chunked_encode (&b, "", 0) && b.len == 10, "an empty chunk writes nothing");
    char big[300];
    memset (big, 'z', sizeof big);
    OK (dx_chunked_encode (&b, big, sizeof big) && memcmp (b.data + 10, "12c\r\n", 5) == 0,
        "hex size of a 300-byte chunk");
    OK (dx_chunked_encode_last (&b) && memcmp (b.data + b.len - 5, "0\r\n\r\n", 5) == 0,
        "last chunk");
    dx_chunked_decoder d;
    dx_buffer out;
    size_t used;
    dx_buffer_init (&out, 0);
    dx_chunked_decoder_init (&d, 0);
    OK (dx_chunked_decoder_feed (&d, b.data, b.len, &used, &out) == DX_CHUNKED_DONE && used == b.len
            && out.len == 305 && memcmp (out.data, "hello", 5) == 0,
        "the decoder reads what the encoder wrote");
    char p[DX_CHUNKED_PREFIX_MAX];
    size_t n = dx_chunked_prefix (p, UINT64_MAX);
    OK (n == 18 && memcmp (p, "ffffffffffffffff\r\n", 18) == 0,
        "longest prefix fits DX_CHUNKED_PREFIX_MAX");
    dx_buffer_free (&out);
    dx_buffer_free (&b);
    dx_buffer_init (&b, 8);
    OK (!dx_chunked_encode (&b, "hello", 5) && b.failed, "encoding over the buffer ceiling fails");
    dx_buffer_free (&b);
  }
  return tap_done ();
}
