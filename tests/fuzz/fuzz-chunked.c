/* libFuzzer target: the chunked decoder. Checks split invariance, that
 * consumed never exceeds the input, and that re-encoding the decoded body
 * decodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/chunked.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  dx_chunked_status status;
  dx_chunked_error error;
  size_t consumed;
  dx_buffer out;
} result;

static void
run (const uint8_t *data, size_t size, uint64_t max_body, const size_t *cuts, size_t n_cuts,
     result *r)
{
  dx_chunked_decoder d;
  dx_chunked_decoder_init (&d, max_body);
  dx_buffer_init (&r->out, 1 << 20);
  size_t pos = 0;
  for (size_t k = 0; k <= n_cuts; k++) {
    size_t end = k < n_cuts ? cuts[k] : size;
    size_t used = 0;
    r->status = dx_chunked_decoder_feed (&d, (const char *) data + pos, end - pos, &used, &r->out);
    if (used > end - pos)
      abort ();
    pos += used;
    if (r->status != DX_CHUNKED_NEED_MORE)
      break;
    if (pos != end)
      abort ();
  }
  r->consumed = pos;
  r->error = dx_chunked_decoder_error (&d);
  if (dx_chunked_decoder_total (&d) != r->out.len && r->error != DX_CHUNKED_ERR_OUTPUT)
    abort ();
}

static bool
same (result *a, result *b)
{
  return a->status == b->status && a->error == b->error
         && (a->status == DX_CHUNKED_ERROR || a->consumed == b->consumed)
         && a->out.len == b->out.len
         && (a->out.len == 0 || memcmp (a->out.data, b->out.data, a->out.len) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  uint64_t max_body = data[0] < 128 ? 0 : (uint64_t) data[0] * 4;
  size_t seed = data[1];
  data += 2;
  size -= 2;
  result whole, split;
  run (data, size, max_body, NULL, 0, &whole);
  size_t cuts[3] = { size ? (seed * 131) % (size + 1) : 0, 0, 0 };
  cuts[1] = cuts[0] + (size - cuts[0]) / 3;
  cuts[2] = cuts[1] + (size - cuts[1]) / 2;
  run (data, size, max_body, cuts, 3, &split);
  if (!same (&whole, &split))
    abort ();
  dx_buffer_free (&split.out);
  if (whole.status == DX_CHUNKED_DONE) {
    /* Round trip: encode what was decoded (in 2 chunks), decode again. */
    dx_buffer enc;
    dx_buffer_init (&enc, 0);
    size_t half = whole.out.len / 2;
    if (whole.out.len) {
      dx_chunked_encode (&enc, whole.out.data, half);
      dx_chunked_encode (&enc, whole.out.data + half, whole.out.len - half);
    }
    dx_chunked_encode_last (&enc);
    result again;
    run ((const uint8_t *) enc.data, enc.len, 0, NULL, 0, &again);
    if (again.status != DX_CHUNKED_DONE || again.consumed != enc.len
        || again.out.len != whole.out.len
        || (whole.out.len && memcmp (again.out.data, whole.out.data, whole.out.len) != 0))
      abort ();
    dx_buffer_free (&again.out);
    dx_buffer_free (&enc);
  }
  dx_buffer_free (&whole.out);
  return 0;
}
