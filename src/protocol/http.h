/* HTTP/1.1 message parsing (RFC 9112) and response/request writing. One
 * public header for four units: http-parse.c (the parser), http-message.c
 * (lookups on a parsed message), http-query.c (percent-decoding, query
 * strings) and http-write.c (the writers); their shared grammar pieces are
 * in http-private.h. The codec knows HTTP only: it reports why it refused
 * a message (dx_http_error) and the caller chooses the answer and limits.
 *
 * One incremental parser type, in request mode (the server) or response
 * mode (duplex-bench, tests). It copies the head of the message (start
 * line + header fields) into its own bounded storage, so the caller may
 * reuse its read buffer at once, and it hands out NUL-terminated strings.
 *
 * Feeding: call dx_http_parser_feed() with whatever bytes arrived. It stops
 * at each event and says how many bytes it used (*consumed); feed the rest
 * again. Events:
 *   DX_HTTP_HEADERS  the head is complete and valid AND a body follows
 *                    (Content-Length > 0, chunked, or a response read to
 *                    EOF). The server can route now or answer "Expect:
 *                    100-continue"; a client can take over the body itself
 *                    (e.g. an endless chunked SSE stream: feed the rest to
 *                    dx_chunked_decoder + dx_sse_parser). When the head
 *                    ends the message (no body), DX_HTTP_DONE comes
 *                    directly, without DX_HTTP_HEADERS.
 *   DX_HTTP_DONE     the whole message (head + body) is complete; the
 *                    parser stopped exactly at its end, so pipelined bytes
 *                    that follow are NOT consumed.
 *   DX_HTTP_ERROR    dx_http_parser_error says what went wrong (a
 *                    dx_http_error) and dx_http_parser_error_message says
 *                    it in words; sticky. The caller chooses the status it
 *                    answers (a server then closes).
 * The next feed after DX_HTTP_DONE starts a new message (pointers from the
 * previous dx_http_message become invalid); dx_http_parser_reset() does the
 * same explicitly.
 *
 * Request-mode rules (the usual answer in brackets; the caller decides):
 *   - versions: HTTP/1.0 and HTTP/1.1; any other well-formed HTTP/d.d ->
 *     VERSION_NOT_SUPPORTED (505); a malformed version -> MALFORMED (400).
 *   - request line longer than max_request_line -> START_LINE_TOO_LONG
 *     (414).
 *   - header block (after the request line, blank line included) longer
 *     than max_header_block, or more than max_headers fields ->
 *     HEADERS_TOO_LARGE (431).
 *   - line ends CRLF or bare LF; a bare CR elsewhere -> MALFORMED. Empty
 *     lines before the request line are skipped (more than max_request_line
 *     bytes of them -> MALFORMED).
 *   - obs-fold (a line starting with SP/HT), whitespace before ':', a bad
 *     field-name character, or a control character in a value -> MALFORMED.
 *   - Content-Length: digits only; more than one Content-Length field, or
 *     a list value, -> MALFORMED; > max_body -> BODY_TOO_LARGE (413),
 *     decided from the header before any body byte is read.
 *   - Transfer-Encoding: exactly "chunked" is supported for request bodies
 *     (decoded into the body, same max_body limit -> BODY_TOO_LARGE); any
 *     other coding -> UNSUPPORTED_CODING (501); both Transfer-Encoding and
 *     Content-Length, or Transfer-Encoding on HTTP/1.0 -> MALFORMED.
 *   - POST, PUT and PATCH with neither Content-Length nor chunked ->
 *     LENGTH_REQUIRED (411). Other methods without them have an empty body.
 *   - a second Host field -> MALFORMED (a missing Host is tolerated).
 *   - keep_alive: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
 *     "Connection: keep-alive".
 *   - upgrade: true iff an Upgrade field is present and Connection lists
 *     the "upgrade" token. The message ends after the head then (unless
 *     it declares a body), and the bytes that follow are the new protocol.
 * Response mode: 1xx (incl. 101), 204 and 304 have no body, nor any reply
 * to HEAD (dx_http_parser_set_no_body); a response with neither
 * Content-Length nor chunked ends at EOF: call dx_http_parser_finish(). */
#ifndef DX_PROTOCOL_HTTP_H
#define DX_PROTOCOL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"

/* ---- limits ---- */

/* Generic defaults, of the order common servers use; an application sets
 * its own limits (dx_http_parser_new). */
#define DX_HTTP_DEFAULT_MAX_REQUEST_LINE 8192
#define DX_HTTP_DEFAULT_MAX_HEADER_BLOCK 16384
#define DX_HTTP_DEFAULT_MAX_HEADERS 100
#define DX_HTTP_DEFAULT_MAX_BODY 65536

typedef struct {
  size_t max_request_line; /* start line, line end not counted */
  size_t max_header_block; /* header fields + blank line */
  size_t max_headers;      /* number of header fields */
  uint64_t max_body;       /* body bytes, Content-Length or chunked */
} dx_http_limits;

/* The generic defaults above. */
void dx_http_limits_default (dx_http_limits *l);

/* ---- parsed message ---- */

typedef enum {
  DX_HTTP_METHOD_OTHER = 0, /* a valid token not listed: see method_name */
  DX_HTTP_GET,
  DX_HTTP_HEAD,
  DX_HTTP_POST,
  DX_HTTP_PUT,
  DX_HTTP_DELETE,
  DX_HTTP_OPTIONS,
  DX_HTTP_PATCH,
  DX_HTTP_CONNECT,
  DX_HTTP_TRACE,
} dx_http_method;

typedef struct {
  const char *name;  /* as received (case kept), NUL-terminated */
  const char *value; /* surrounding whitespace trimmed, NUL-terminated */
} dx_http_header;

typedef struct {
  /* request mode */
  dx_http_method method;
  const char *method_name; /* e.g. "GET" */
  const char *target;      /* raw request-target, e.g. "/a/b?since=3" */
  const char *path;        /* target up to '?', not percent-decoded; for
                              absolute-form the path part ("/" if empty) */
  const char *query;       /* after '?', not decoded; "" if none */
  bool has_query;          /* target contained '?' */
  /* response mode */
  int status;         /* 100..999 */
  const char *reason; /* reason phrase, may be "" */
  /* both */
  int version_minor; /* 0 or 1 (HTTP/1.x) */
  const dx_http_header *headers;
  size_t n_headers;
  bool has_content_length;
  uint64_t content_length;
  bool chunked;         /* Transfer-Encoding: chunked */
  bool keep_alive;      /* connection persists after this message */
  bool upgrade;         /* Upgrade present and Connection has "upgrade" */
  bool expect_continue; /* request has "Expect: 100-continue" */
  /* body: complete at DX_HTTP_DONE (chunked already decoded); NUL-terminated
     for convenience (the NUL is not counted) */
  const char *body;
  size_t body_len;
} dx_http_message;

/* Case-insensitive lookup: value of the first field named name, or NULL. */
const char *dx_http_message_header (const dx_http_message *m, const char *name);
/* Number of fields named name (case-insensitive). */
size_t dx_http_message_header_count (const dx_http_message *m, const char *name);
/* True if the comma-separated list value contains token (case-insensitive,
 * whitespace around elements ignored), e.g. ("keep-alive, Upgrade",
 * "upgrade") -> true. A NULL value -> false. */
bool dx_http_list_has_token (const char *value, const char *token);

/* ---- parser ---- */

typedef enum {
  DX_HTTP_PARSE_REQUEST,
  DX_HTTP_PARSE_RESPONSE,
} dx_http_parse_mode;

typedef enum {
  DX_HTTP_NEED_MORE = 0, /* all input consumed */
  DX_HTTP_HEADERS,       /* head complete, a body follows */
  DX_HTTP_DONE,          /* message complete */
  DX_HTTP_ERROR,         /* sticky */
} dx_http_status;

typedef struct dx_http_parser dx_http_parser;

/* limits NULL = dx_http_limits_default. Returns NULL on out of memory. */
dx_http_parser *dx_http_parser_new (dx_http_parse_mode mode, const dx_http_limits *limits);
void dx_http_parser_free (dx_http_parser *p);
/* Forget the current message (and any error); keeps the limits. */
void dx_http_parser_reset (dx_http_parser *p);
/* Response mode: the next response has no body whatever its headers say
 * (it answers a HEAD request). Cleared by reset / the next message. */
void dx_http_parser_set_no_body (dx_http_parser *p);

dx_http_status dx_http_parser_feed (dx_http_parser *p, const char *data, size_t len,
                                    size_t *consumed);
/* The peer closed the connection. Response mode: completes a body
 * delimited by EOF (-> DX_HTTP_DONE). If no byte of a new message was
 * received -> DX_HTTP_NEED_MORE (a clean close). Otherwise -> DX_HTTP_ERROR
 * (400, truncated message). */
dx_http_status dx_http_parser_finish (dx_http_parser *p);

/* True while a message is in progress: some of its bytes (empty lines
 * before a request included) have been consumed and it is not DONE yet.
 * False on a fresh parser and after DX_HTTP_DONE, so a server can tell a
 * slow request (408 timer) from an idle keep-alive connection. */
bool dx_http_parser_started (const dx_http_parser *p);
/* True once the head of the current message is complete (the slow-headers
 * timer can stop). */
bool dx_http_parser_headers_complete (const dx_http_parser *p);
/* The message; head fields valid once the head is complete (HEADERS or
 * DONE), body from DX_HTTP_DONE, until the next message starts. NULL
 * before the head is complete. */
const dx_http_message *dx_http_parser_message (const dx_http_parser *p);

/* Why the parser stopped at DX_HTTP_ERROR. */
typedef enum {
  DX_HTTP_ERR_NONE = 0,
  DX_HTTP_ERR_MALFORMED,             /* bad syntax or ambiguous framing, or the
                                      peer closed mid-message */
  DX_HTTP_ERR_START_LINE_TOO_LONG,   /* over max_request_line */
  DX_HTTP_ERR_HEADERS_TOO_LARGE,     /* over max_header_block or max_headers,
                                      or a chunked trailer section too large */
  DX_HTTP_ERR_BODY_TOO_LARGE,        /* over max_body */
  DX_HTTP_ERR_LENGTH_REQUIRED,       /* POST/PUT/PATCH without a length */
  DX_HTTP_ERR_UNSUPPORTED_CODING,    /* a Transfer-Encoding other than chunked */
  DX_HTTP_ERR_VERSION_NOT_SUPPORTED, /* HTTP/d.d other than 1.0 and 1.1 */
  DX_HTTP_ERR_NO_MEMORY,             /* an allocation failed */
} dx_http_error;

/* After DX_HTTP_ERROR: what went wrong, and a human sentence saying so.
 * DX_HTTP_ERR_NONE / NULL when there is no error. */
dx_http_error dx_http_parser_error (const dx_http_parser *p);
const char *dx_http_parser_error_message (const dx_http_parser *p);

/* ---- query strings and percent-decoding ---- */

typedef enum {
  DX_HTTP_QUERY_NOT_FOUND = 0,
  DX_HTTP_QUERY_FOUND,
  DX_HTTP_QUERY_INVALID, /* bad %-escape, decodes to NUL, too long, not a number */
} dx_http_query_result;

/* Percent-decode in[0..n) into out (capacity cap, NUL-terminated, so cap
 * must exceed the decoded length). plus_is_space: '+' decodes to ' ' (query
 * strings) or stays '+' (paths). Fails on a malformed escape, an escape
 * that decodes to NUL, or lack of room. */
bool dx_http_percent_decode (const char *in, size_t n, bool plus_is_space, char *out, size_t cap,
                             size_t *out_len);

/* Find key in an application/x-www-form-urlencoded query ("a=1&b=x%20y",
 * without the '?'). Keys are compared after decoding; the first occurrence
 * wins; "key" without '=' has the value "". Pairs under other keys are
 * skipped even if malformed. On FOUND the decoded value is in out
 * (NUL-terminated; *out_len if not NULL); INVALID if that value has a bad
 * escape, decodes to NUL or does not fit in cap. */
dx_http_query_result dx_http_query_get (const char *query, const char *key, char *out, size_t cap,
                                        size_t *out_len);
/* Same, for an unsigned decimal value (digits only, no sign, fits uint64);
 * anything else is INVALID. */
dx_http_query_result dx_http_query_get_u64 (const char *query, const char *key, uint64_t *out);

/* ---- writing ---- */

/* Standard reason phrase ("Not Found"); "Unknown" for unlisted codes. */
const char *dx_http_status_reason (int status);

/* "HTTP/1.1 <status> <reason>\r\n"; reason NULL = dx_http_status_reason.
 * All writers return false and mark out failed if the buffer's ceiling is
 * hit, or (appending nothing) if an argument would break the framing
 * (status outside 100..999; CR, LF or NUL in a value/reason/target; an
 * empty or non-token name or method). A failed buffer must not be sent. */
bool dx_http_write_status_line (dx_buffer *out, int status, const char *reason);
/* "<METHOD> <target> HTTP/1.1\r\n" (client side). */
bool dx_http_write_request_line (dx_buffer *out, const char *method, const char *target);
/* "<name>: <value>\r\n". */
bool dx_http_write_header (dx_buffer *out, const char *name, const char *value);
bool dx_http_write_header_u64 (dx_buffer *out, const char *name, uint64_t value);
/* "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" (IMF-fixdate) for the given
 * seconds since the Unix epoch (computed without the C library clock). */
bool dx_http_write_date (dx_buffer *out, int64_t unix_seconds);
/* The blank line that ends the head. */
bool dx_http_write_end_headers (dx_buffer *out);

/* A complete response: status line, Content-Type (omitted if NULL),
 * Content-Length, "Connection: close" when !keep_alive, the extra fields
 * (may be NULL/0), blank line, body. Status 1xx/204/304 get no
 * Content-Length and no body. */
bool dx_http_write_response (dx_buffer *out, int status, const char *content_type,
                             const dx_http_header *extra, size_t n_extra, bool keep_alive,
                             const void *body, size_t body_len);
/* The head of a chunked response (Transfer-Encoding: chunked), ending in
 * the blank line; follow with dx_chunked_encode / dx_chunked_encode_last. */
bool dx_http_write_chunked_head (dx_buffer *out, int status, const char *content_type,
                                 const dx_http_header *extra, size_t n_extra, bool keep_alive);

#endif
