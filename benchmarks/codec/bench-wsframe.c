/* WebSocket frame decoder throughput (a tool, not a test).
 *
 * Builds a stream of masked client frames (what duplexd decodes), then
 * times dx_ws_decoder over it, fed in 64 KiB pieces as a socket read would
 * hand them over. Reports MB/s of wire bytes and messages/s, best of
 * several runs. Cases: small text frames (a typical chat JSON), 16 KiB text
 * frames (the Duplex maximum: unmasking + UTF-8 validation dominate),
 * 16 KiB binary frames (unmasking only), and fragmented text messages.
 *
 *   bench-wsframe [--mib N] [--runs R]   (docs/benchmarks.md)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/names.h"
#include "protocol/websocket.h"

static double
now_s (void)
{
#ifdef TIME_UTC
  struct timespec ts;
  timespec_get (&ts, TIME_UTC);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
#else /* older C libraries (mingw-w64 on msvcrt): processor time will do */
  return (double) clock () / CLOCKS_PER_SEC;
#endif
}

static const uint8_t MASK[4] = { 0x12, 0x34, 0x56, 0x78 };

/* Fill out with masked frames of payload_len bytes until about target bytes. */
static size_t
build (dx_buffer *out, size_t target, dx_ws_opcode op, size_t payload_len, size_t fragments,
       bool ascii)
{
  char *payload = malloc (payload_len);
  /* Chat JSON; the mixed variant has two multi-byte characters every 60
     bytes (valid UTF-8), the ASCII one none. */
  static const char mixed[] =
      "{\"type\":\"send\",\"room\":\"lobby\",\"text\":\"h\xC3\xA9llo w\xE2\x82\xACrld\"}";
  static const char plain[] = "{\"type\":\"send\",\"room\":\"lobby\",\"text\":\"hello world\"}";
  const char *pattern = ascii ? plain : mixed;
  size_t plen = strlen (pattern);
  for (size_t i = 0; i < payload_len; i++)
    payload[i] = pattern[i % plen];
  /* Do not cut a multi-byte character at the end of the message. */
  size_t end = payload_len;
  while (end > 0 && ((unsigned char) payload[end - 1] & 0x80))
    payload[--end] = ' ';
  size_t messages = 0;
  size_t piece = payload_len / fragments;
  while (out->len < target) {
    size_t off = 0;
    for (size_t f = 0; f < fragments; f++) {
      size_t n = f + 1 == fragments ? payload_len - off : piece;
      dx_ws_encode_frame (out, f + 1 == fragments, f == 0 ? op : DX_WS_OP_CONTINUATION,
                          payload + off, n, MASK);
      off += n;
    }
    messages++;
  }
  free (payload);
  return messages;
}

static double
decode_once (const dx_buffer *in, size_t expect_messages)
{
  dx_ws_decoder *d = dx_ws_decoder_new (DX_WS_ROLE_SERVER, DX_LINE_MAX);
  const uint8_t *p = (const uint8_t *) in->data;
  size_t pos = 0, messages = 0;
  double t0 = now_s ();
  while (pos < in->len) {
    size_t end = pos + 65536 < in->len ? pos + 65536 : in->len;
    while (pos < end) {
      size_t used;
      dx_ws_status st = dx_ws_decoder_feed (d, p + pos, end - pos, &used);
      pos += used;
      if (st == DX_WS_MESSAGE)
        messages++;
      else if (st != DX_WS_NEED_MORE) {
        fprintf (stderr, "decoder stopped: %d (%s)\n", (int) st,
                 dx_ws_decoder_error_message (d) ? dx_ws_decoder_error_message (d) : "");
        exit (1);
      }
    }
  }
  double dt = now_s () - t0;
  dx_ws_decoder_free (d);
  if (messages != expect_messages) {
    fprintf (stderr, "decoded %zu messages, expected %zu\n", messages, expect_messages);
    exit (1);
  }
  return dt;
}

int
main (int argc, char **argv)
{
  size_t mib = 64;
  int runs = 5;
  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--mib") == 0 && i + 1 < argc)
      mib = (size_t) strtoul (argv[++i], NULL, 10);
    else if (strcmp (argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi (argv[++i]);
    else {
      fprintf (stderr, "usage: %s [--mib N] [--runs R]\n", argv[0]);
      return 2;
    }
  }
  if (mib == 0 || runs <= 0) {
    fprintf (stderr, "--mib and --runs must be positive\n");
    return 2;
  }
  static const struct {
    const char *name;
    dx_ws_opcode op;
    size_t len;
    size_t fragments;
    bool ascii;
  } cases[] = {
    { "text 64 B ASCII", DX_WS_OP_TEXT, 64, 1, true },
    { "text 200 B ASCII", DX_WS_OP_TEXT, 200, 1, true },
    { "text 200 B UTF-8", DX_WS_OP_TEXT, 200, 1, false },
    { "text 16 KiB ASCII", DX_WS_OP_TEXT, 16384, 1, true },
    { "text 16 KiB UTF-8", DX_WS_OP_TEXT, 16384, 1, false },
    { "binary 16 KiB", DX_WS_OP_BINARY, 16384, 1, true },
    { "text 16 KiB ASCII, 16 fragments", DX_WS_OP_TEXT, 16384, 16, true },
  };
  printf ("%-34s %8s %12s %11s\n", "case (masked client frames)", "MB/s", "messages/s",
          "ns/message");
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    dx_buffer in;
    dx_buffer_init (&in, 0);
    size_t messages =
        build (&in, mib << 20, cases[c].op, cases[c].len, cases[c].fragments, cases[c].ascii);
    double best = 1e30;
    for (int r = 0; r < runs; r++) {
      double dt = decode_once (&in, messages);
      if (dt < best)
        best = dt;
    }
    printf ("%-34s %8.0f %12.0f %11.1f\n", cases[c].name, (double) in.len / best / 1e6,
            (double) messages / best, best * 1e9 / (double) messages);
    dx_buffer_free (&in);
  }
  return 0;
}
