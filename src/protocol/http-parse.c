/* The incremental HTTP/1.1 message parser (http.h). */
#include "protocol/http-private.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/chunked.h"

/* ---- character classes ---- */

static bool
is_field_vchar (unsigned char c)
{
  /* VCHAR, SP, HTAB and obs-text; every other control character is out. */
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* ---- limits ---- */

void
dx_http_limits_default (dx_http_limits *l)
{
  l->max_request_line = DX_HTTP_DEFAULT_MAX_REQUEST_LINE;
  l->max_header_block = DX_HTTP_DEFAULT_MAX_HEADER_BLOCK;
  l->max_headers = DX_HTTP_DEFAULT_MAX_HEADERS;
  l->max_body = DX_HTTP_DEFAULT_MAX_BODY;
}

/* ---- parser ---- */

enum {
  ST_START,    /* reading the start line (or skipping empty lines) */
  ST_HEADERS,  /* reading header lines */
  ST_BODY_LEN, /* Content-Length body */
  ST_BODY_CHUNKED,
  ST_BODY_EOF, /* response body delimited by the connection close */
  ST_DONE,
  ST_ERROR,
};

typedef struct {
  size_t name_off;
  size_t value_off;
} header_offsets;

struct dx_http_parser {
  dx_http_parse_mode mode;
  dx_http_limits lim;
  int state;
  bool started;
  bool no_body;
  bool head_done;

  dx_buffer head;        /* start line + header lines, NUL-separated */
  size_t line_start;     /* offset in head of the line being read */
  size_t skipped;        /* bytes of empty lines before the start line */
  size_t block_len;      /* bytes of header lines so far */
  size_t start_line_end; /* offset just past the start line */

  header_offsets *offs;
  dx_http_header *headers;
  size_t n_headers;
  size_t headers_cap;

  /* start-line offsets into head */
  size_t method_off, target_off, reason_off;

  dx_buffer aux; /* path and query copies */
  dx_buffer body;
  uint64_t body_left;
  dx_chunked_decoder chunked;

  dx_http_message msg;
  dx_http_error err;
  const char *err_msg;
};

static void
set_limits (dx_http_parser *p, const dx_http_limits *l)
{
  dx_http_limits_default (&p->lim);
  if (!l)
    return;
  if (l->max_request_line)
    p->lim.max_request_line = l->max_request_line;
  if (l->max_header_block)
    p->lim.max_header_block = l->max_header_block;
  if (l->max_headers)
    p->lim.max_headers = l->max_headers;
  if (l->max_body)
    p->lim.max_body = l->max_body;
}

dx_http_parser *
dx_http_parser_new (dx_http_parse_mode mode, const dx_http_limits *limits)
{
  dx_http_parser *p = calloc (1, sizeof *p);
  if (!p)
    return NULL;
  p->mode = mode;
  set_limits (p, limits);
  if (p->lim.max_body > SIZE_MAX / 4)
    p->lim.max_body = SIZE_MAX / 4;
  /* head holds the start line and the header block, NUL-terminated. */
  dx_buffer_init (&p->head, p->lim.max_request_line + p->lim.max_header_block + 4);
  dx_buffer_init (&p->aux, 2 * p->lim.max_request_line + 8);
  dx_buffer_init (&p->body, (size_t) p->lim.max_body + 1);
  dx_http_parser_reset (p);
  return p;
}

void
dx_http_parser_free (dx_http_parser *p)
{
  if (!p)
    return;
  dx_buffer_free (&p->head);
  dx_buffer_free (&p->aux);
  dx_buffer_free (&p->body);
  free (p->offs);
  free (p->headers);
  free (p);
}

/* Keep small buffers for the next message; give big ones back, so an idle
   keep-alive connection does not pin the memory of its largest request. */
static void
reset_buffer (dx_buffer *b)
{
  if (b->cap > 4096)
    dx_buffer_free (b);
  dx_buffer_reset (b);
}

void
dx_http_parser_reset (dx_http_parser *p)
{
  p->state = ST_START;
  p->started = false;
  p->no_body = false;
  p->head_done = false;
  reset_buffer (&p->head);
  reset_buffer (&p->aux);
  reset_buffer (&p->body);
  p->line_start = 0;
  p->skipped = 0;
  p->block_len = 0;
  p->start_line_end = 0;
  p->n_headers = 0;
  p->body_left = 0;
  memset (&p->msg, 0, sizeof p->msg);
  p->err = DX_HTTP_ERR_NONE;
  p->err_msg = NULL;
}

void
dx_http_parser_set_no_body (dx_http_parser *p)
{
  p->no_body = true;
}

bool
dx_http_parser_started (const dx_http_parser *p)
{
  return p->started && p->state != ST_DONE;
}

bool
dx_http_parser_headers_complete (const dx_http_parser *p)
{
  return p->head_done;
}

const dx_http_message *
dx_http_parser_message (const dx_http_parser *p)
{
  return p->head_done ? &p->msg : NULL;
}

dx_http_error
dx_http_parser_error (const dx_http_parser *p)
{
  return p->err;
}

const char *
dx_http_parser_error_message (const dx_http_parser *p)
{
  return p->err_msg;
}

static dx_http_status
fail (dx_http_parser *p, dx_http_error error, const char *msg)
{
  p->state = ST_ERROR;
  p->err = error;
  p->err_msg = msg;
  return DX_HTTP_ERROR;
}

/* "HTTP/1.1" -> minor version; -1 malformed (400); -2 unsupported (505). */
static int
parse_version (const char *s, size_t n)
{
  if (n != 8 || memcmp (s, "HTTP/", 5) != 0 || s[6] != '.')
    return -1;
  if (s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9')
    return -1;
  if (s[5] != '1' || s[7] > '1')
    return -2;
  return s[7] - '0';
}

static dx_http_method
method_of (const char *m)
{
  static const struct {
    const char *name;
    dx_http_method method;
  } known[] = {
    { "GET", DX_HTTP_GET },     { "HEAD", DX_HTTP_HEAD },       { "POST", DX_HTTP_POST },
    { "PUT", DX_HTTP_PUT },     { "DELETE", DX_HTTP_DELETE },   { "OPTIONS", DX_HTTP_OPTIONS },
    { "PATCH", DX_HTTP_PATCH }, { "CONNECT", DX_HTTP_CONNECT }, { "TRACE", DX_HTTP_TRACE },
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp (m, known[i].name) == 0) /* methods are case-sensitive */
      return known[i].method;
  return DX_HTTP_METHOD_OTHER;
}

/* line = head.data + off, n bytes, already NUL-terminated at n. */
static dx_http_status
parse_request_line (dx_http_parser *p, size_t off, size_t n)
{
  char *line = p->head.data + off;
  char *sp1 = memchr (line, ' ', n);
  if (!sp1 || sp1 == line)
    return fail (p, DX_HTTP_ERR_MALFORMED, "malformed request line");
  char *target = sp1 + 1;
  char *sp2 = memchr (target, ' ', n - (size_t) (target - line));
  if (!sp2 || sp2 == target)
    return fail (p, DX_HTTP_ERR_MALFORMED, "malformed request line");
  for (char *c = line; c < sp1; c++)
    if (!dx_http_is_tchar ((unsigned char) *c))
      return fail (p, DX_HTTP_ERR_MALFORMED, "malformed method");
  for (char *c = target; c < sp2; c++)
    if ((unsigned char) *c <= 0x20 || (unsigned char) *c >= 0x7f)
      return fail (p, DX_HTTP_ERR_MALFORMED, "malformed request target");
  int minor = parse_version (sp2 + 1, n - (size_t) (sp2 + 1 - line));
  if (minor == -1)
    return fail (p, DX_HTTP_ERR_MALFORMED, "malformed HTTP version");
  if (minor == -2)
    return fail (p, DX_HTTP_ERR_VERSION_NOT_SUPPORTED, "HTTP version not supported");
  *sp1 = '\0';
  *sp2 = '\0';
  p->method_off = off;
  p->target_off = off + (size_t) (target - line);
  p->msg.version_minor = minor;
  p->msg.method = method_of (line);
  size_t tlen = (size_t) (sp2 - target);
  if (target[0] != '/' && !(tlen == 1 && target[0] == '*')) {
    /* absolute-form is accepted (RFC 9112 3.2.2); authority-form is not. */
    bool http = tlen > 7 && dx_http_ieq_n (target, 7, "http://");
    bool https = tlen > 8 && dx_http_ieq_n (target, 8, "https://");
    if (!http && !https)
      return fail (p, DX_HTTP_ERR_MALFORMED, "malformed request target");
  }
  if (tlen == 1 && target[0] == '*' && p->msg.method != DX_HTTP_OPTIONS)
    return fail (p, DX_HTTP_ERR_MALFORMED, "malformed request target");
  return DX_HTTP_NEED_MORE;
}

static dx_http_status
parse_status_line (dx_http_parser *p, size_t off, size_t n)
{
  char *line = p->head.data + off;
  /* "HTTP/1.1 200 OK" or "HTTP/1.1 200" */
  if (n < 12 || line[8] != ' ')
    return fail (p, DX_HTTP_ERR_MALFORMED, "malformed status line");
  int minor = parse_version (line, 8);
  if (minor == -1)
    return fail (p, DX_HTTP_ERR_MALFORMED, "malformed HTTP version");
  if (minor == -2)
    return fail (p, DX_HTTP_ERR_VERSION_NOT_SUPPORTED, "HTTP version not supported");
  int status = 0;
  for (int i = 9; i < 12; i++) {
    if (line[i] < '0' || line[i] > '9')
      return fail (p, DX_HTTP_ERR_MALFORMED, "malformed status code");
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100)
    return fail (p, DX_HTTP_ERR_MALFORMED, "malformed status code");
  if (n > 12 && line[12] != ' ')
    return fail (p, DX_HTTP_ERR_MALFORMED, "malformed status line");
  for (size_t i = 13; i < n; i++)
    if (!is_field_vchar ((unsigned char) line[i]))
      return fail (p, DX_HTTP_ERR_MALFORMED, "malformed reason phrase");
  p->msg.version_minor = minor;
  p->msg.status = status;
  line[8] = '\0';
  p->reason_off = n > 12 ? off + 13 : off + n;
  return DX_HTTP_NEED_MORE;
}

static dx_http_status
parse_header_line (dx_http_parser *p, size_t off, size_t n)
{
  char *line = p->head.data + off;
  if (line[0] == ' ' || line[0] == '\t')
    return fail (p, DX_HTTP_ERR_MALFORMED, "obsolete line folding is not accepted");
  char *colon = memchr (line, ':', n);
  if (!colon || colon == line)
    return fail (p, DX_HTTP_ERR_MALFORMED, "malformed header field");
  for (char *c = line; c < colon; c++)
    if (!dx_http_is_tchar ((unsigned char) *c))
      return fail (p, DX_HTTP_ERR_MALFORMED, "malformed header field name");
  char *v = colon + 1;
  char *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  for (char *c = v; c < end; c++)
    if (!is_field_vchar ((unsigned char) *c))
      return fail (p, DX_HTTP_ERR_MALFORMED, "invalid character in header field value");
  if (p->n_headers >= p->lim.max_headers)
    return fail (p, DX_HTTP_ERR_HEADERS_TOO_LARGE, "too many header fields");
  if (p->n_headers == p->headers_cap) {
    size_t cap = p->headers_cap ? p->headers_cap * 2 : 16;
    if (cap > p->lim.max_headers)
      cap = p->lim.max_headers;
    header_offsets *o = realloc (p->offs, cap * sizeof *o);
    if (!o)
      return fail (p, DX_HTTP_ERR_NO_MEMORY, "out of memory");
    p->offs = o;
    dx_http_header *h = realloc (p->headers, cap * sizeof *h);
    if (!h)
      return fail (p, DX_HTTP_ERR_NO_MEMORY, "out of memory");
    p->headers = h;
    p->headers_cap = cap;
  }
  *colon = '\0';
  *end = '\0';
  p->offs[p->n_headers].name_off = off;
  p->offs[p->n_headers].value_off = off + (size_t) (v - line);
  p->n_headers++;
  return DX_HTTP_NEED_MORE;
}

static bool
set_path_query (dx_http_parser *p)
{
  const char *t = p->msg.target;
  const char *path = t;
  if (t[0] != '/' && t[0] != '*') {
    /* absolute-form: skip "scheme://authority" */
    const char *auth = strstr (t, "://") + 3;
    path = auth + strcspn (auth, "/?");
  }
  const char *q = strchr (path, '?');
  size_t plen = q ? (size_t) (q - path) : strlen (path);
  size_t path_off = p->aux.len;
  if (plen == 0)
    dx_buffer_append (&p->aux, "/", 1);
  else
    dx_buffer_append (&p->aux, path, plen);
  dx_buffer_append (&p->aux, "", 1); /* the NUL separator */
  size_t query_off = p->aux.len;
  if (q)
    dx_buffer_append_str (&p->aux, q + 1);
  dx_buffer_append (&p->aux, "", 1);
  if (p->aux.failed)
    return false;
  p->msg.path = p->aux.data + path_off;
  p->msg.query = p->aux.data + query_off;
  p->msg.has_query = q != NULL;
  return true;
}

/* The head is complete: pointers, framing, limits, connection semantics. */
static dx_http_status
finish_head (dx_http_parser *p)
{
  dx_http_message *m = &p->msg;
  for (size_t i = 0; i < p->n_headers; i++) {
    p->headers[i].name = p->head.data + p->offs[i].name_off;
    p->headers[i].value = p->head.data + p->offs[i].value_off;
  }
  m->headers = p->headers;
  m->n_headers = p->n_headers;
  m->body = "";
  bool request = p->mode == DX_HTTP_PARSE_REQUEST;
  if (request) {
    m->method_name = p->head.data + p->method_off;
    m->target = p->head.data + p->target_off;
    if (!set_path_query (p))
      return fail (p, DX_HTTP_ERR_NO_MEMORY, "out of memory");
  } else {
    m->reason = p->head.data + p->reason_off;
  }

  size_t n_cl = dx_http_message_header_count (m, "Content-Length");
  size_t n_te = dx_http_message_header_count (m, "Transfer-Encoding");
  if (n_cl > 1)
    return fail (p, DX_HTTP_ERR_MALFORMED, "duplicate Content-Length");
  if (n_cl) {
    if (!dx_http_parse_u64 (dx_http_message_header (m, "Content-Length"), &m->content_length))
      return fail (p, DX_HTTP_ERR_MALFORMED, "malformed Content-Length");
    m->has_content_length = true;
  }
  if (n_te) {
    if (m->version_minor == 0)
      return fail (p, DX_HTTP_ERR_MALFORMED, "Transfer-Encoding in an HTTP/1.0 message");
    if (n_cl)
      return fail (p, DX_HTTP_ERR_MALFORMED, "both Transfer-Encoding and Content-Length");
    if (n_te > 1)
      return fail (p, DX_HTTP_ERR_MALFORMED, "duplicate Transfer-Encoding");
    if (!dx_http_ieq (dx_http_message_header (m, "Transfer-Encoding"), "chunked"))
      return fail (p, DX_HTTP_ERR_UNSUPPORTED_CODING, "unsupported Transfer-Encoding");
    m->chunked = true;
  }
  if (request && dx_http_message_header_count (m, "Host") > 1)
    return fail (p, DX_HTTP_ERR_MALFORMED, "duplicate Host");

  /* Connection may be split over several fields: check each. */
  bool close = false, keep = false, upgrade_tok = false;
  for (size_t i = 0; i < m->n_headers; i++) {
    if (!dx_http_ieq (m->headers[i].name, "Connection"))
      continue;
    close |= dx_http_list_has_token (m->headers[i].value, "close");
    keep |= dx_http_list_has_token (m->headers[i].value, "keep-alive");
    upgrade_tok |= dx_http_list_has_token (m->headers[i].value, "upgrade");
  }
  m->keep_alive = m->version_minor >= 1 ? !close : (keep && !close);
  m->upgrade = upgrade_tok && dx_http_message_header (m, "Upgrade") != NULL;
  if (request) {
    const char *expect = dx_http_message_header (m, "Expect");
    m->expect_continue = expect && dx_http_ieq (expect, "100-continue");
  }

  /* Body framing. */
  bool body_none = false;
  if (!request) {
    int s = m->status;
    if (p->no_body || (s >= 100 && s < 200) || s == 204 || s == 304)
      body_none = true;
  }
  p->head_done = true;
  if (body_none) {
    p->state = ST_DONE;
    return DX_HTTP_DONE;
  }
  if (m->chunked) {
    dx_chunked_decoder_init (&p->chunked, p->lim.max_body);
    p->state = ST_BODY_CHUNKED;
    return DX_HTTP_HEADERS;
  }
  if (m->has_content_length) {
    if (m->content_length > p->lim.max_body)
      return fail (p, DX_HTTP_ERR_BODY_TOO_LARGE, "body too large");
    if (m->content_length == 0) {
      p->state = ST_DONE;
      return DX_HTTP_DONE;
    }
    p->body_left = m->content_length;
    p->state = ST_BODY_LEN;
    return DX_HTTP_HEADERS;
  }
  if (request) {
    dx_http_method me = m->method;
    if (me == DX_HTTP_POST || me == DX_HTTP_PUT || me == DX_HTTP_PATCH)
      return fail (p, DX_HTTP_ERR_LENGTH_REQUIRED, "Content-Length required");
    p->state = ST_DONE;
    return DX_HTTP_DONE;
  }
  m->keep_alive = false; /* the body ends with the connection */
  p->state = ST_BODY_EOF;
  return DX_HTTP_HEADERS;
}

/* A full line (LF included) now sits at head[line_start .. head.len). */
static dx_http_status
process_line (dx_http_parser *p)
{
  size_t off = p->line_start;
  size_t n = p->head.len - off - 1; /* without the LF */
  char *line = p->head.data + off;
  if (n && line[n - 1] == '\r')
    n--;
  if (memchr (line, '\r', n))
    return fail (p, DX_HTTP_ERR_MALFORMED, "bare CR in message head");
  line[n] = '\0';

  if (p->state == ST_START) {
    if (n == 0) { /* empty line before the start line: skip it */
      p->head.len = off;
      p->head.data[off] = '\0';
      return DX_HTTP_NEED_MORE;
    }
    dx_http_status st = p->mode == DX_HTTP_PARSE_REQUEST ? parse_request_line (p, off, n)
                                                         : parse_status_line (p, off, n);
    if (st != DX_HTTP_NEED_MORE)
      return st;
    p->state = ST_HEADERS;
    p->line_start = p->head.len;
    p->start_line_end = p->head.len;
    return DX_HTTP_NEED_MORE;
  }
  p->line_start = p->head.len;
  if (n == 0)
    return finish_head (p);
  return parse_header_line (p, off, n);
}

static dx_http_status
feed_head (dx_http_parser *p, const char *data, size_t len, size_t *used)
{
  size_t i = 0;
  while (i < len) {
    const char *lf = memchr (data + i, '\n', len - i);
    size_t seg = lf ? (size_t) (lf - (data + i)) + 1 : len - i;
    size_t line_so_far = p->head.len - p->line_start + seg;
    if (p->state == ST_START) {
      /* The limit is on the line's content: LF and a CR before it are
         not counted (a partial line may still end in that CR). */
      bool too_long;
      if (lf) {
        size_t content = line_so_far - 1;
        char prev = seg >= 2                      ? data[i + seg - 2]
                    : p->head.len > p->line_start ? p->head.data[p->head.len - 1]
                                                  : 0;
        if (content && prev == '\r')
          content--;
        too_long = content > p->lim.max_request_line;
        if (content == 0)
          p->skipped += line_so_far;
      } else {
        too_long = line_so_far > p->lim.max_request_line + 1;
      }
      if (too_long) {
        *used = i;
        return fail (p, DX_HTTP_ERR_START_LINE_TOO_LONG, "request line too long");
      }
      if (p->skipped > p->lim.max_request_line) {
        *used = i;
        return fail (p, DX_HTTP_ERR_MALFORMED, "too many empty lines before the request");
      }
    } else {
      if (p->block_len + seg > p->lim.max_header_block) {
        *used = i;
        return fail (p, DX_HTTP_ERR_HEADERS_TOO_LARGE, "header block too large");
      }
      p->block_len += seg;
    }
    if (!dx_buffer_append (&p->head, data + i, seg)) {
      *used = i;
      return fail (p, DX_HTTP_ERR_HEADERS_TOO_LARGE, "header block too large");
    }
    i += seg;
    if (lf) {
      dx_http_status st = process_line (p);
      if (st != DX_HTTP_NEED_MORE) {
        *used = st == DX_HTTP_ERROR ? i - seg : i;
        return st;
      }
    }
  }
  *used = len;
  return DX_HTTP_NEED_MORE;
}

static dx_http_status
done (dx_http_parser *p)
{
  p->state = ST_DONE;
  p->msg.body = p->body.data ? p->body.data : "";
  p->msg.body_len = p->body.len;
  return DX_HTTP_DONE;
}

dx_http_status
dx_http_parser_feed (dx_http_parser *p, const char *data, size_t len, size_t *consumed)
{
  size_t used = 0;
  *consumed = 0;
  if (p->state == ST_ERROR)
    return DX_HTTP_ERROR;
  if (p->state == ST_DONE)
    dx_http_parser_reset (p);
  if (len && !p->started)
    p->started = true;

  switch (p->state) {
  case ST_START:
  case ST_HEADERS: {
    dx_http_status st = feed_head (p, data, len, &used);
    *consumed = used;
    if (st != DX_HTTP_NEED_MORE)
      return st;
    return DX_HTTP_NEED_MORE;
  }
  case ST_BODY_LEN: {
    size_t take = len;
    if ((uint64_t) take > p->body_left)
      take = (size_t) p->body_left;
    if (!dx_buffer_append (&p->body, data, take))
      return fail (p, DX_HTTP_ERR_BODY_TOO_LARGE, "body too large");
    p->body_left -= take;
    *consumed = take;
    return p->body_left ? DX_HTTP_NEED_MORE : done (p);
  }
  case ST_BODY_CHUNKED: {
    dx_chunked_status st = dx_chunked_decoder_feed (&p->chunked, data, len, &used, &p->body);
    *consumed = used;
    if (st == DX_CHUNKED_DONE)
      return done (p);
    if (st == DX_CHUNKED_NEED_MORE)
      return DX_HTTP_NEED_MORE;
    switch (dx_chunked_decoder_error (&p->chunked)) {
    case DX_CHUNKED_ERR_TOO_LARGE:
    case DX_CHUNKED_ERR_OUTPUT: return fail (p, DX_HTTP_ERR_BODY_TOO_LARGE, "body too large");
    case DX_CHUNKED_ERR_TRAILERS_TOO_LARGE:
      return fail (p, DX_HTTP_ERR_HEADERS_TOO_LARGE, "trailer section too large");
    default: return fail (p, DX_HTTP_ERR_MALFORMED, "malformed chunked body");
    }
  }
  case ST_BODY_EOF:
    if (p->body.len + len > p->lim.max_body)
      return fail (p, DX_HTTP_ERR_BODY_TOO_LARGE, "body too large");
    if (!dx_buffer_append (&p->body, data, len))
      return fail (p, DX_HTTP_ERR_BODY_TOO_LARGE, "body too large");
    *consumed = len;
    return DX_HTTP_NEED_MORE;
  default: return fail (p, DX_HTTP_ERR_MALFORMED, "parser in an invalid state");
  }
}

dx_http_status
dx_http_parser_finish (dx_http_parser *p)
{
  switch (p->state) {
  case ST_ERROR: return DX_HTTP_ERROR;
  case ST_DONE: return DX_HTTP_NEED_MORE;
  case ST_BODY_EOF: return done (p);
  case ST_START:
    if (p->head.len == 0)
      return DX_HTTP_NEED_MORE; /* only empty lines, if anything: clean */
    return fail (p, DX_HTTP_ERR_MALFORMED, "connection closed in the middle of a message");
  default: return fail (p, DX_HTTP_ERR_MALFORMED, "connection closed in the middle of a message");
  }
}
