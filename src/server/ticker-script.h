/* A ticker's script (--ticker ROOM:MS:FILE, docs/protocol.md §1): the
 * lines of a UTF-8 text file, each one chat message, played in order and
 * from the top again after the last. */
#ifndef DX_SERVER_TICKER_SCRIPT_H
#define DX_SERVER_TICKER_SCRIPT_H

#include <stddef.h>

/* The largest script file read. */
#define DX_TICKER_SCRIPT_MAX (1024u * 1024u)

typedef struct dx_ticker_script dx_ticker_script;

/* The lines of data[0..len): split at LF (a CR before it is dropped, as is
 * a UTF-8 byte-order mark at the start); lines that are empty or only
 * spaces and tabs, and lines whose first other character is '#', are skipped;
 * trailing spaces and tabs are trimmed. Every other line is posted as it
 * is and must be a valid message text: 1..4096 bytes of UTF-8 without
 * NUL. NULL with a one-line reason in err ("line 12: ...") if the data is
 * not UTF-8, holds a NUL or a line too long, or has no line to post. */
dx_ticker_script *dx_ticker_script_parse (const char *data, size_t len, char *err, size_t errlen);
/* Reads path (at most DX_TICKER_SCRIPT_MAX bytes) and parses it; NULL with
 * a one-line reason naming the file in err. */
dx_ticker_script *dx_ticker_script_load (const char *path, char *err, size_t errlen);
void dx_ticker_script_free (dx_ticker_script *s);

size_t dx_ticker_script_count (const dx_ticker_script *s);
/* Line i (< count), *len bytes, NUL-terminated. */
const char *dx_ticker_script_line (const dx_ticker_script *s, size_t i, size_t *len);

#endif
