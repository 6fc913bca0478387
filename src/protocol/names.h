/* Names and limits of docs/protocol.md §2, checked in one place.
 * Every function takes (pointer, length) so it works on bytes that are not
 * NUL-terminated (URL path segments, JSON buffers); NULL is invalid. */
#ifndef DX_PROTOCOL_NAMES_H
#define DX_PROTOCOL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define DX_NICK_MAX 32                /* bytes, [A-Za-z0-9_.-] */
#define DX_ROOM_MAX 32                /* bytes, [a-z0-9_-] */
#define DX_TEXT_MAX 4096              /* bytes of UTF-8 after JSON decoding */
#define DX_CID_MAX 64                 /* printable ASCII 0x20..0x7E */
#define DX_LINE_MAX 16384             /* NDJSON line / assembled WebSocket message */
#define DX_WS_SUBPROTOCOL "duplex.v1" /* the WebSocket subprotocol (§5) */
/* Limits docs/protocol.md §2 adds to the original contract: */
#define DX_TOKEN_MAX 128    /* session token: printable ASCII, no space */
#define DX_PASSWORD_MAX 256 /* password: UTF-8, no NUL */
#define DX_EPOCH_MAX 64     /* store epoch: printable ASCII, no space */
#define DX_CODE_MAX 32      /* error code word: [a-z_] */
#define DX_SERVER_MAX 64    /* "duplexd/<version>": printable ASCII */

/* Each rule below in words, for error messages: "room names are "
 * DX_ROOM_RULE. Stated once, here. */
#define DX_NICK_RULE "1-32 characters of [A-Za-z0-9_.-]"
#define DX_ROOM_RULE "1-32 characters of [a-z0-9_-]"
#define DX_CID_RULE "1-64 printable ASCII characters"
#define DX_TOKEN_RULE "1-128 printable ASCII characters without spaces"
#define DX_EPOCH_RULE "1-64 printable ASCII characters without spaces"
#define DX_CODE_RULE "1-32 characters of [a-z_]"
#define DX_PASSWORD_RULE "at most 256 bytes of UTF-8 without NUL"

/* 1..32 of [A-Za-z0-9_.-]. Does not look at reservation. */
bool dx_nick_valid (const char *s, size_t len);
/* c is one of [A-Za-z0-9_.-], the characters of a nick. */
bool dx_nick_char (char c);
/* "ticker" or "server" (exact, case-sensitive): a client may not claim
 * these (hello / POST /api/v1/session); the server uses them itself. */
bool dx_nick_reserved (const char *s, size_t len);
/* 1..32 of [a-z0-9_-]. */
bool dx_room_valid (const char *s, size_t len);
/* Valid UTF-8, 1..4096 bytes, no NUL. */
bool dx_text_valid (const char *s, size_t len);
/* 1..64 printable ASCII (0x20..0x7E). */
bool dx_cid_valid (const char *s, size_t len);
/* 1..128 of 0x21..0x7E. */
bool dx_token_valid (const char *s, size_t len);
/* 1..64 of 0x21..0x7E. */
bool dx_epoch_valid (const char *s, size_t len);
/* Valid UTF-8, 0..256 bytes, no NUL. */
bool dx_password_valid (const char *s, size_t len);
/* 1..32 of [a-z_]: "bad_request", "too_large", ... */
bool dx_code_valid (const char *s, size_t len);

#endif
