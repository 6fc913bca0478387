/* Looking into a socket message that dx_msg_decode refused, for the two
 * cases where the server still knows what to do:
 *  - the "type" word, so that anything but a hello before hello gets
 *    not_authenticated, even when it is malformed;
 *  - a ping whose "t" is any JSON value (an object, null, a long string):
 *    PROTOCOL.md §5 echoes "the same value".
 * TODO(src/protocol/message.c): dx_msg_decode / dx_encode_pong accept only
 * a number or string of at most DX_PING_T_MAX bytes as "t"; once they take
 * any JSON value, dx_peek_ping and dx_encode_pong_raw can go. Uses the
 * protocol module's JSON reader and writer: no second codec. */
#ifndef DX_SERVER_MSG_PEEK_H
#define DX_SERVER_MSG_PEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"

/* The top-level "type" string of a JSON object (first one), or false. */
bool dx_peek_type (const char *json, size_t len, char *type, size_t cap);
/* true iff json is a well-formed object with "type":"ping"; *t / *t_len
 * get the verbatim JSON text of "t" (*t NULL when absent). */
bool dx_peek_ping (const char *json, size_t len, const char **t, size_t *t_len);
/* {"type":"pong","t":<raw>,"ts":N}; raw must be valid JSON (it came from
 * the reader), NULL for none. */
bool dx_encode_pong_raw (dx_buffer *b, const char *t, size_t t_len, uint64_t ts);

#endif
