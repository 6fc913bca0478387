/* How duplexd answers a request its HTTP codecs refuse: the request limits
 * it sets (docs/protocol.md §4) and, for each dx_http_error and each
 * refused WebSocket handshake, the status and error word of the answer.
 * The codecs know neither. Pure, unit-tested. */
#ifndef DX_SERVER_HTTP_ERRORS_H
#define DX_SERVER_HTTP_ERRORS_H

#include "protocol/http.h"
#include "protocol/websocket.h"

/* docs/protocol.md §4: request line 8 KiB, header block 16 KiB and 100
 * fields, body 64 KiB. */
#define DX_SERVER_MAX_REQUEST_LINE 8192
#define DX_SERVER_MAX_HEADER_BLOCK 16384
#define DX_SERVER_MAX_HEADERS 100
#define DX_SERVER_MAX_BODY 65536

typedef struct {
  int status;       /* 400, 405, 411, 413, 414, 426, 431, 501 or 505 */
  const char *code; /* "bad_request", "too_large", ... */
} dx_http_error_answer;

/* The limits above, for dx_http_parser_new. */
void dx_server_http_limits (dx_http_limits *l);

/* The answer to a request the parser refused with error. */
dx_http_error_answer dx_http_error_answer_for (dx_http_error error);

/* The answer to a refused WebSocket opening handshake (docs/protocol.md
 * §5); 101 with no word for an accepted one. */
dx_http_error_answer dx_ws_handshake_answer (dx_ws_handshake_result result);

#endif
