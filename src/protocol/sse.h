/* Server-Sent Events (WHATWG HTML "Server-sent events", text/event-stream).
 *
 * Encoder: builds one event (id, event, data split into one "data:" line
 * per line of the payload) or a comment, always ending with the blank line.
 *
 * Parser (client side, duplex-bench, tests): incremental over the decoded
 * body of the stream (after chunked decoding); any split gives the same
 * events. Follows the WHATWG processing model: an optional UTF-8 BOM at the
 * very start is skipped; lines end in CRLF, LF or CR (a CR at the end of
 * one feed followed by LF at the start of the next is one line end); lines
 * starting with ':' are comments; fields "event", "data", "id", "retry";
 * other fields are ignored; one optional space after the colon is removed;
 * "data" lines are joined with '\n'; a blank line dispatches the event if
 * the data buffer is not empty (otherwise just clears it); "id" containing
 * NUL is ignored; "retry" must be all digits. The last event id persists
 * across events (and is what a reconnecting client sends as Last-Event-ID). */
#ifndef DX_PROTOCOL_SSE_H
#define DX_PROTOCOL_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"

/* ---- encoder ---- */

/* Append an event: "id: <id>\n" (if id != NULL), "event: <event>\n" (if
 * event != NULL), one "data: <line>\n" per line of data[0..len) (lines split
 * on LF, CRLF or CR; an empty payload gives one "data: \n", which a
 * parser dispatches as an event with empty data), then "\n". Returns false and leaves out unchanged (not marked failed) if
 * id or event contains CR, LF or NUL, or data contains NUL; returns false
 * (out marked failed) if out's ceiling is hit. */
bool dx_sse_encode_event (dx_buffer *out, const char *id, const char *event, const char *data,
                          size_t len);
/* Same with a numeric id (the Duplex message id). */
bool dx_sse_encode_event_u64 (dx_buffer *out, uint64_t id, const char *event, const char *data,
                              size_t len);
/* Append a comment ": <text>\n\n" (e.g. text "ping"); text must not contain
 * CR, LF or NUL (else false, out unchanged). */
bool dx_sse_encode_comment (dx_buffer *out, const char *text);
/* Append "retry: <ms>\n\n". */
bool dx_sse_encode_retry (dx_buffer *out, uint64_t ms);

/* ---- parser ---- */

typedef enum {
  DX_SSE_NEED_MORE = 0, /* all input consumed */
  DX_SSE_EVENT,         /* an event was dispatched: dx_sse_parser_event() */
  DX_SSE_COMMENT,       /* a comment line: dx_sse_parser_comment() */
  DX_SSE_ERROR,         /* a line or the event data exceeded its limit; sticky */
} dx_sse_status;

typedef struct {
  const char *type; /* "message" unless an event field said otherwise */
  const char *data; /* lines joined with '\n', NUL-terminated */
  size_t data_len;
  const char *last_id; /* last event id at dispatch ("" if none yet) */
} dx_sse_event;

typedef struct dx_sse_parser dx_sse_parser;

/* max_line: longest line accepted (0 = 64 KiB); max_data: longest event
 * data (0 = 1 MiB). Either exceeded -> DX_SSE_ERROR. NULL on out of memory. */
dx_sse_parser *dx_sse_parser_new (size_t max_line, size_t max_data);
void dx_sse_parser_free (dx_sse_parser *p);

/* Feed data[0..len). Stops after each event or comment; *consumed says how
 * many bytes were used: feed the rest again. */
dx_sse_status dx_sse_parser_feed (dx_sse_parser *p, const char *data, size_t len, size_t *consumed);
/* Valid after DX_SSE_EVENT until the next feed. */
const dx_sse_event *dx_sse_parser_event (const dx_sse_parser *p);
/* Text after the ':' of the last comment (leading space kept), NUL-
 * terminated; valid after DX_SSE_COMMENT until the next feed. */
const char *dx_sse_parser_comment (const dx_sse_parser *p);
/* Current last event id ("" if none). */
const char *dx_sse_parser_last_event_id (const dx_sse_parser *p);
/* Last valid "retry" value in ms, or -1 if none was received. */
int64_t dx_sse_parser_retry (const dx_sse_parser *p);

#endif
