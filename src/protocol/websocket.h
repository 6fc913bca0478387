/* WebSocket (RFC 6455): opening handshake (server and client side), frame
 * encoding, and an incremental frame decoder + message assembler.
 *
 * Decoder rules (each error names the close code to send, see
 * dx_ws_decoder_close_code):
 *   - RSV1..3 set (no extension is ever negotiated), unknown opcode,
 *     fragmented control frame, control payload > 125, a continuation with
 *     no message in progress, a new data frame while one is in progress,
 *     a 64-bit length with the top bit set, a close payload of 1 byte or
 *     with an invalid code (RFC 6455 section 7.4: 1000-1003, 1007-1014 and
 *     3000-4999 are valid) -> 1002 protocol error.
 *   - server role: an unmasked frame -> 1002; client role: a masked frame
 *     -> 1002.
 *   - text message not valid UTF-8 (checked as the bytes arrive, across
 *     fragments, failing fast), or a close reason not valid UTF-8 -> 1007.
 *   - assembled message over max_message (decided from frame headers,
 *     before the payload is read) -> 1009.
 *   Control frames (ping, pong, close) may arrive between the fragments of
 *   a message and are reported at once. Binary messages are assembled and
 *   reported like text ones (opcode DX_WS_OP_BINARY); a caller that takes
 *   only text closes with 1003 then. Non-minimal length encodings are accepted. */
#ifndef DX_PROTOCOL_WEBSOCKET_H
#define DX_PROTOCOL_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"
#include "protocol/http.h"

#define DX_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* Sec-WebSocket-Accept value: base64 of a SHA-1 digest, 28 chars + NUL. */
#define DX_WS_ACCEPT_LEN 28
/* Longest frame header: 2 + 8 (64-bit length) + 4 (mask). */
#define DX_WS_MAX_HEADER 14
#define DX_WS_MAX_CONTROL_PAYLOAD 125
/* A generic default for the largest assembled message; an application
 * sets its own (dx_ws_decoder_new). */
#define DX_WS_DEFAULT_MAX_MESSAGE 16384

typedef enum {
  DX_WS_OP_CONTINUATION = 0x0,
  DX_WS_OP_TEXT = 0x1,
  DX_WS_OP_BINARY = 0x2,
  DX_WS_OP_CLOSE = 0x8,
  DX_WS_OP_PING = 0x9,
  DX_WS_OP_PONG = 0xA,
} dx_ws_opcode;

enum {
  DX_WS_CLOSE_NORMAL = 1000,
  DX_WS_CLOSE_GOING_AWAY = 1001,
  DX_WS_CLOSE_PROTOCOL_ERROR = 1002,
  DX_WS_CLOSE_UNSUPPORTED_DATA = 1003,
  DX_WS_CLOSE_NO_STATUS = 1005, /* never sent: "close frame had no code" */
  DX_WS_CLOSE_ABNORMAL = 1006,  /* never sent */
  DX_WS_CLOSE_INVALID_PAYLOAD = 1007,
  DX_WS_CLOSE_POLICY = 1008,
  DX_WS_CLOSE_TOO_BIG = 1009,
  DX_WS_CLOSE_INTERNAL_ERROR = 1011,
};

/* True if code may appear in a close frame on the wire (RFC 6455 7.4). */
bool dx_ws_close_code_valid (unsigned code);

/* ---- handshake ---- */

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
 * out gets 28 characters + NUL. */
void dx_ws_accept_key (const char *key, size_t key_len, char out[DX_WS_ACCEPT_LEN + 1]);

/* Why a server-side opening handshake was refused (the usual answer in
 * brackets; the caller chooses). */
typedef enum {
  DX_WS_HS_ACCEPTED = 0,       /* (101) */
  DX_WS_HS_NOT_GET,            /* (405) */
  DX_WS_HS_MALFORMED,          /* (400) */
  DX_WS_HS_VERSION_UNSUPPORTED /* (426 with the extra header below) */
} dx_ws_handshake_result;

typedef struct {
  dx_ws_handshake_result result;
  const char *message; /* human text for the error body; NULL if accepted */
  /* on 426: the caller must add this field to its error response */
  const char *extra_header_name;  /* "Sec-WebSocket-Version" or NULL */
  const char *extra_header_value; /* "13" or NULL */
  const char *subprotocol;        /* the caller's subprotocol if the client offered it, else NULL */
  char accept[DX_WS_ACCEPT_LEN + 1];
} dx_ws_handshake;

/* Validate a server-side opening handshake (a request parsed by
 * dx_http_parser). Checks, in order: method GET (else NOT_GET), HTTP/1.1,
 * "Upgrade: websocket" (case-insensitive token), Connection listing
 * "upgrade", exactly one Sec-WebSocket-Key that base64-decodes to 16 bytes,
 * Sec-WebSocket-Version present (else MALFORMED) and equal to 13 (else
 * VERSION_UNSUPPORTED, with Sec-WebSocket-Version: 13 to send). Selects
 * subprotocol (NULL = none) if it is among the offered
 * Sec-WebSocket-Protocol values. Returns true iff accepted. The request
 * target is not checked (that is routing). */
bool dx_ws_server_handshake (const dx_http_message *req, const char *subprotocol,
                             dx_ws_handshake *hs);
/* Append the 101 Switching Protocols response for an accepted handshake
 * (Upgrade, Connection, Sec-WebSocket-Accept, and Sec-WebSocket-Protocol
 * if one was selected). */
bool dx_ws_write_handshake_response (dx_buffer *out, const dx_ws_handshake *hs);

/* Client side (duplex-bench, tests): append an opening handshake request
 * for target on host ("127.0.0.1:8080"), with the caller's random 16-byte
 * nonce and an optional subprotocol (NULL = none); extra fields may be
 * NULL/0. expected_accept receives the Sec-WebSocket-Accept value the
 * server must answer. */
bool dx_ws_write_client_handshake (dx_buffer *out, const char *host, const char *target,
                                   const uint8_t nonce[16], const char *subprotocol,
                                   const dx_http_header *extra, size_t n_extra,
                                   char expected_accept[DX_WS_ACCEPT_LEN + 1]);
/* Validate the server's answer (parsed by a response-mode dx_http_parser):
 * status 101, Upgrade websocket, Connection upgrade, the expected accept
 * value, and a Sec-WebSocket-Protocol that is absent or the one offered.
 * On failure returns false and sets *why (if not NULL) to a static text. */
bool dx_ws_check_server_handshake (const dx_http_message *resp, const char *expected_accept,
                                   const char *offered_subprotocol, const char **why);

/* ---- frame encoding ---- */

/* Write a frame header into out and return its length (2..14). mask NULL =
 * unmasked (server to client); else the 4-byte masking key (client to
 * server), and the payload must be masked with dx_ws_mask. */
size_t dx_ws_frame_header (uint8_t out[DX_WS_MAX_HEADER], bool fin, dx_ws_opcode opcode,
                           uint64_t payload_len, const uint8_t *mask);
/* XOR data[0..len) with the key, starting at key position offset % 4
 * (so a payload can be masked piecewise). Masking twice unmasks. */
void dx_ws_mask (uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);
/* Append a complete frame (header + payload, masked if mask != NULL).
 * Control frames (opcode >= 8) must have payload <= 125 bytes and fin set
 * (else false, out unchanged). */
bool dx_ws_encode_frame (dx_buffer *out, bool fin, dx_ws_opcode opcode, const void *payload,
                         size_t len, const uint8_t *mask);
/* Append a close frame with code (must satisfy dx_ws_close_code_valid, or 0
 * for an empty close frame) and a UTF-8 reason of at most 123 bytes (NULL
 * = none). False on an invalid code, reason too long or not UTF-8. */
bool dx_ws_encode_close (dx_buffer *out, unsigned code, const char *reason, size_t reason_len,
                         const uint8_t *mask);

/* The fields of one frame header, as an inspector shows them. */
typedef struct {
  bool fin;
  dx_ws_opcode opcode;
  bool masked;
  uint64_t payload_len;
  size_t header_len; /* 2..14 */
} dx_ws_frame_info;

/* Read the frame header at the start of data[0..len) without validating
 * it (the decoder does that): if the whole header is there, fill *info and
 * return its length (2..14); return 0 if more bytes are needed. Lets a
 * caller see each frame's boundaries beside the decoder, which reports
 * assembled messages. */
size_t dx_ws_peek_frame_header (const uint8_t *data, size_t len, dx_ws_frame_info *info);

/* ---- decoding ---- */

typedef enum {
  DX_WS_ROLE_SERVER, /* decodes client frames: they must be masked */
  DX_WS_ROLE_CLIENT, /* decodes server frames: they must not be masked */
} dx_ws_role;

typedef enum {
  DX_WS_NEED_MORE = 0, /* all input consumed */
  DX_WS_MESSAGE,       /* a complete text or binary message */
  DX_WS_PING,
  DX_WS_PONG,
  DX_WS_CLOSE,    /* a valid close frame; the decoder is finished */
  DX_WS_ERROR,    /* protocol violation; the decoder is finished */
  DX_WS_FINISHED, /* fed after CLOSE or ERROR: nothing is consumed */
} dx_ws_status;

typedef struct {
  dx_ws_opcode opcode; /* TEXT/BINARY for MESSAGE, else PING/PONG/CLOSE */
  const uint8_t *data; /* unmasked payload (close: the reason only) */
  size_t len;
  unsigned close_code; /* CLOSE: the code, or 1005 if the frame had none */
} dx_ws_event;

typedef struct dx_ws_decoder dx_ws_decoder;

/* max_message: largest assembled message (0 = DX_WS_DEFAULT_MAX_MESSAGE).
 * NULL on out of memory. */
dx_ws_decoder *dx_ws_decoder_new (dx_ws_role role, size_t max_message);
void dx_ws_decoder_free (dx_ws_decoder *d);

/* Feed data[0..len). Stops after each event; *consumed says how many bytes
 * were used (for CLOSE: up to the end of the close frame; for ERROR: up to
 * the offending byte). Feed the rest again. */
dx_ws_status dx_ws_decoder_feed (dx_ws_decoder *d, const uint8_t *data, size_t len,
                                 size_t *consumed);
/* The event of the last MESSAGE/PING/PONG/CLOSE; valid until the next feed. */
const dx_ws_event *dx_ws_decoder_event (const dx_ws_decoder *d);
/* After DX_WS_ERROR: the close code to send (1002, 1007 or 1009) and a
 * human reason (<= 123 bytes, ASCII, fit for the close frame). */
unsigned dx_ws_decoder_close_code (const dx_ws_decoder *d);
const char *dx_ws_decoder_error_message (const dx_ws_decoder *d);

#endif
