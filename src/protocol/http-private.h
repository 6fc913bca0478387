/* Internals shared by the HTTP units (http-message.c, http-parse.c,
 * http-query.c, http-write.c). Not for other code: use http.h. */
#ifndef DX_PROTOCOL_HTTP_PRIVATE_H
#define DX_PROTOCOL_HTTP_PRIVATE_H

#include "protocol/http.h"

/* tchar of RFC 9110 5.6.2: the characters of a method or field name. */
bool dx_http_is_tchar (unsigned char c);
/* ASCII case-insensitive equality of two strings, and of a[0..n) with b. */
bool dx_http_ieq (const char *a, const char *b);
bool dx_http_ieq_n (const char *a, size_t n, const char *b);
/* Strict decimal: digits only (no sign, no space), fits uint64. */
bool dx_http_parse_u64 (const char *s, uint64_t *out);

#endif
