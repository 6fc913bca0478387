#include "server/http-errors.h"

void
dx_server_http_limits (dx_http_limits *l)
{
  l->max_request_line = DX_SERVER_MAX_REQUEST_LINE;
  l->max_header_block = DX_SERVER_MAX_HEADER_BLOCK;
  l->max_headers = DX_SERVER_MAX_HEADERS;
  l->max_body = DX_SERVER_MAX_BODY;
}

dx_http_error_answer
dx_http_error_answer_for (dx_http_error error)
{
  switch (error) {
  case DX_HTTP_ERR_START_LINE_TOO_LONG: return (dx_http_error_answer){ 414, "uri_too_long" };
  case DX_HTTP_ERR_HEADERS_TOO_LARGE: return (dx_http_error_answer){ 431, "headers_too_large" };
  case DX_HTTP_ERR_BODY_TOO_LARGE: return (dx_http_error_answer){ 413, "too_large" };
  case DX_HTTP_ERR_LENGTH_REQUIRED: return (dx_http_error_answer){ 411, "length_required" };
  case DX_HTTP_ERR_UNSUPPORTED_CODING: return (dx_http_error_answer){ 501, "not_implemented" };
  case DX_HTTP_ERR_VERSION_NOT_SUPPORTED:
    return (dx_http_error_answer){ 505, "version_not_supported" };
  case DX_HTTP_ERR_NONE:
  case DX_HTTP_ERR_MALFORMED:
  case DX_HTTP_ERR_NO_MEMORY:
  default:
    /* An allocation failure is answered as before: the request is
       refused as a whole. */
    return (dx_http_error_answer){ 400, "bad_request" };
  }
}

dx_http_error_answer
dx_ws_handshake_answer (dx_ws_handshake_result result)
{
  switch (result) {
  case DX_WS_HS_ACCEPTED: return (dx_http_error_answer){ 101, NULL };
  case DX_WS_HS_NOT_GET: return (dx_http_error_answer){ 405, "method_not_allowed" };
  case DX_WS_HS_VERSION_UNSUPPORTED: return (dx_http_error_answer){ 426, "upgrade_required" };
  case DX_WS_HS_MALFORMED:
  default: return (dx_http_error_answer){ 400, "bad_request" };
  }
}
