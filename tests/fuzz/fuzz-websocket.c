/* libFuzzer target: the WebSocket frame decoder / message assembler, in
 * both roles. Checks split invariance, that consumed never exceeds the
 * input, that every error maps to 1002/1007/1009, and that every text
 * message and close reason it reports is valid UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/utf8.h"
#include "protocol/websocket.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static uint64_t
mix (uint64_t h, const void *p, size_t n)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

static uint64_t
run (dx_ws_role role, size_t max, const uint8_t *data, size_t size, const size_t *cuts,
     size_t n_cuts)
{
  dx_ws_decoder *d = dx_ws_decoder_new (role, max);
  uint64_t h = 0xcbf29ce484222325ull;
  size_t pos = 0;
  bool done = false;
  for (size_t k = 0; k <= n_cuts && !done; k++) {
    size_t end = k < n_cuts ? cuts[k] : size;
    for (;;) {
      size_t used = 0;
      dx_ws_status st = dx_ws_decoder_feed (d, data + pos, end - pos, &used);
      if (used > end - pos)
        abort ();
      pos += used;
      if (st != DX_WS_NEED_MORE)
        h = mix (h, &st, sizeof st);
      const dx_ws_event *e = dx_ws_decoder_event (d);
      if (st == DX_WS_NEED_MORE) {
        if (pos != end)
          abort ();
        break;
      }
      if (st == DX_WS_ERROR) {
        unsigned code = dx_ws_decoder_close_code (d);
        if (code != 1002 && code != 1007 && code != 1009)
          abort ();
        if (strlen (dx_ws_decoder_error_message (d)) > 123)
          abort ();
        h = mix (h, &code, sizeof code);
        done = true;
        break;
      }
      if (st == DX_WS_FINISHED)
        abort (); /* we stop at CLOSE/ERROR ourselves */
      if (st == DX_WS_MESSAGE && e->opcode == DX_WS_OP_TEXT && !dx_utf8_valid (e->data, e->len))
        abort ();
      if (st == DX_WS_MESSAGE && e->len > max)
        abort ();
      if (st != DX_WS_MESSAGE && e->len > 125)
        abort ();
      h = mix (h, &e->opcode, sizeof e->opcode);
      h = mix (h, e->data, e->len);
      h = mix (h, &pos, sizeof pos);
      if (st == DX_WS_CLOSE) {
        if (e->close_code != 1005 && !dx_ws_close_code_valid (e->close_code))
          abort ();
        if (!dx_utf8_valid (e->data, e->len))
          abort ();
        h = mix (h, &e->close_code, sizeof e->close_code);
        size_t more;
        if (dx_ws_decoder_feed (d, data + pos, size - pos, &more) != DX_WS_FINISHED || more)
          abort ();
        done = true;
        break;
      }
    }
  }
  dx_ws_decoder_free (d);
  return h;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  dx_ws_role role = (data[0] & 1) ? DX_WS_ROLE_CLIENT : DX_WS_ROLE_SERVER;
  size_t max = (data[0] & 2) ? 64 : DX_WS_DEFAULT_MAX_MESSAGE;
  size_t seed = data[1];
  data += 2;
  size -= 2;
  uint64_t whole = run (role, max, data, size, NULL, 0);
  size_t cuts[2] = { size ? (seed * 4099) % (size + 1) : 0, 0 };
  cuts[1] = cuts[0] + (size - cuts[0]) / 2;
  if (run (role, max, data, size, cuts, 2) != whole)
    abort ();
  if (size <= 512) {
    size_t all[512];
    for (size_t i = 0; i < size; i++)
      all[i] = i;
    if (run (role, max, data, size, all, size) != whole)
      abort ();
  }
  return 0;
}
