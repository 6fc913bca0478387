/* Writing HTTP/1.1 heads and responses into a dx_buffer (http.h). */
#include "protocol/http-private.h"

#include <string.h>

const char *
dx_http_status_reason (int status)
{
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 426: return "Upgrade Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

static bool
bad_arg (dx_buffer *out)
{
  out->failed = true;
  return false;
}

static bool
valid_token (const char *s)
{
  if (!s || !*s)
    return false;
  for (; *s; s++)
    if (!dx_http_is_tchar ((unsigned char) *s))
      return false;
  return true;
}

static bool
valid_text (const char *s)
{
  /* NUL cannot occur inside a C string; CR and LF would split the line. */
  return s && strpbrk (s, "\r\n") == NULL;
}

bool
dx_http_write_status_line (dx_buffer *out, int status, const char *reason)
{
  if (!reason)
    reason = dx_http_status_reason (status);
  if (status < 100 || status > 999 || !valid_text (reason))
    return bad_arg (out);
  return dx_buffer_printf (out, "HTTP/1.1 %d %s\r\n", status, reason);
}

bool
dx_http_write_request_line (dx_buffer *out, const char *method, const char *target)
{
  if (!valid_token (method) || !target || !*target)
    return bad_arg (out);
  for (const char *c = target; *c; c++)
    if ((unsigned char) *c <= 0x20 || (unsigned char) *c >= 0x7f)
      return bad_arg (out);
  return dx_buffer_append_str (out, method) && dx_buffer_append_char (out, ' ')
         && dx_buffer_append_str (out, target) && dx_buffer_append_str (out, " HTTP/1.1\r\n");
}

bool
dx_http_write_header (dx_buffer *out, const char *name, const char *value)
{
  if (!valid_token (name) || !valid_text (value))
    return bad_arg (out);
  return dx_buffer_append_str (out, name) && dx_buffer_append (out, ": ", 2)
         && dx_buffer_append_str (out, value) && dx_buffer_append (out, "\r\n", 2);
}

bool
dx_http_write_header_u64 (dx_buffer *out, const char *name, uint64_t value)
{
  if (!valid_token (name))
    return bad_arg (out);
  return dx_buffer_append_str (out, name) && dx_buffer_append (out, ": ", 2)
         && dx_buffer_append_u64 (out, value) && dx_buffer_append (out, "\r\n", 2);
}

bool
dx_http_write_date (dx_buffer *out, int64_t t)
{
  static const char wd[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
  static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  int64_t days = t / 86400, secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    days--;
  }
  int64_t weekday = days % 7;
  if (weekday < 0)
    weekday += 7;
  /* civil_from_days (H. Hinnant): proleptic Gregorian calendar. */
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2)
    y++;
  if (y < 0 || y > 9999)
    return bad_arg (out);
  return dx_buffer_printf (out, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", wd[weekday],
                           (int) d, mon[m - 1], (int) y, (int) (secs / 3600),
                           (int) (secs / 60 % 60), (int) (secs % 60));
}

bool
dx_http_write_end_headers (dx_buffer *out)
{
  return dx_buffer_append (out, "\r\n", 2);
}

static bool
write_head (dx_buffer *out, int status, const char *content_type, const dx_http_header *extra,
            size_t n_extra, bool keep_alive, bool chunked, const uint64_t *content_length)
{
  if (status < 100 || status > 999 || (content_type && !valid_text (content_type)))
    return bad_arg (out);
  for (size_t i = 0; i < n_extra; i++)
    if (!valid_token (extra[i].name) || !valid_text (extra[i].value))
      return bad_arg (out);
  bool ok = dx_http_write_status_line (out, status, NULL);
  if (content_type)
    ok = ok && dx_http_write_header (out, "Content-Type", content_type);
  if (content_length)
    ok = ok && dx_http_write_header_u64 (out, "Content-Length", *content_length);
  if (chunked)
    ok = ok && dx_http_write_header (out, "Transfer-Encoding", "chunked");
  if (!keep_alive)
    ok = ok && dx_http_write_header (out, "Connection", "close");
  for (size_t i = 0; i < n_extra; i++)
    ok = ok && dx_http_write_header (out, extra[i].name, extra[i].value);
  return ok && dx_http_write_end_headers (out);
}

bool
dx_http_write_response (dx_buffer *out, int status, const char *content_type,
                        const dx_http_header *extra, size_t n_extra, bool keep_alive,
                        const void *body, size_t body_len)
{
  bool bodyless = (status >= 100 && status < 200) || status == 204 || status == 304;
  uint64_t cl = body_len;
  if (!write_head (out, status, content_type, extra, n_extra, keep_alive, false,
                   bodyless ? NULL : &cl))
    return false;
  if (bodyless || !body_len)
    return true;
  return dx_buffer_append (out, body, body_len);
}

bool
dx_http_write_chunked_head (dx_buffer *out, int status, const char *content_type,
                            const dx_http_header *extra, size_t n_extra, bool keep_alive)
{
  return write_head (out, status, content_type, extra, n_extra, keep_alive, true, NULL);
}
