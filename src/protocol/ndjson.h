/* NDJSON framing (e.g. raw TCP, docs/protocol.md §5): an incremental line
 * splitter with a line limit, and a helper to append a line.
 *
 * Lines end in "\n"; one '\r' right before the '\n' is stripped too (so
 * `nc -C`, telnet and Windows tools work). The limit (the caller's, or
 * DX_NDJSON_DEFAULT_MAX_LINE) counts the line without its "\n" / "\r\n".
 * Empty lines (after stripping '\r') are skipped silently: they carry no
 * message.
 *
 * A line over the limit produces exactly one DX_NDJSON_TOO_LARGE event as
 * soon as the limit is exceeded, then every byte up to and including its
 * '\n' is dropped; the next line is read normally (the connection stays
 * usable). The result is the same whatever way the input is split into
 * chunks: feeding it byte by byte gives the same events as all at once.
 *
 * Memory: at most limit + 1 bytes are buffered per splitter (only when a
 * line spans chunks; a line wholly inside one chunk is returned in place,
 * zero-copy). At end of stream, bytes of an unterminated last line are
 * discarded (dx_ndjson_pending tells how many).
 *
 *   dx_ndjson sp; dx_ndjson_init (&sp, 0);
 *   on read (data, n):
 *     size_t used; const char *line; size_t llen;
 *     while (n > 0) {
 *       dx_ndjson_event ev = dx_ndjson_next (&sp, data, n, &used, &line, &llen);
 *       data += used; n -= used;
 *       if (ev == DX_NDJSON_LINE) handle (line, llen);
 *       else if (ev == DX_NDJSON_TOO_LARGE) send error too_large;
 *       else if (ev == DX_NDJSON_ERROR) close (out of memory);
 *       // DX_NDJSON_NEED_MORE: used == n, wait for more bytes
 *     }
 *   dx_ndjson_free (&sp); */
#ifndef DX_PROTOCOL_NDJSON_H
#define DX_PROTOCOL_NDJSON_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/buffer.h"

/* A generic default line limit; an application sets its own. */
#define DX_NDJSON_DEFAULT_MAX_LINE 16384

typedef enum {
  DX_NDJSON_NEED_MORE = 0, /* all input consumed, no complete line yet */
  DX_NDJSON_LINE,          /* *line / *line_len hold one line (no '\n', no '\r') */
  DX_NDJSON_TOO_LARGE,     /* the current line exceeds the limit; it is being skipped */
  DX_NDJSON_ERROR,         /* out of memory while buffering a partial line */
} dx_ndjson_event;

typedef struct {
  dx_buffer partial; /* bytes of a line that spans chunks */
  size_t max_line;
  bool skipping; /* inside an over-long line, dropping up to '\n' */
} dx_ndjson;

/* max_line 0 = DX_NDJSON_DEFAULT_MAX_LINE. */
void dx_ndjson_init (dx_ndjson *s, size_t max_line);
void dx_ndjson_free (dx_ndjson *s);
/* Consume data[0..len) up to the first event. *consumed gets the number of
 * bytes used (the caller passes the rest in the next call). For
 * DX_NDJSON_LINE, *line points either into data or into the splitter's own
 * buffer, valid until the next call on s. len 0 returns NEED_MORE. */
dx_ndjson_event dx_ndjson_next (dx_ndjson *s, const char *data, size_t len, size_t *consumed,
                                const char **line, size_t *line_len);
/* Bytes of an unterminated line held right now (0 while skipping). */
size_t dx_ndjson_pending (const dx_ndjson *s);

/* Append json[0..len) and '\n' (the caller vouches json is one JSON
 * document without a raw newline, which every dx_ encoder guarantees).
 * Returns false, leaving b->len unchanged, on a buffer failure. */
bool dx_ndjson_append_line (dx_buffer *b, const char *json, size_t len);

#endif
