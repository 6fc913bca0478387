/* The --redis URL (docs/protocol.md §7): redis://[[USER]:PASSWORD@]HOST[:PORT][/DB].
 * Pure: parses a string, touches no socket; unit-tested directly. */
#ifndef DX_SERVER_REDIS_URL_H
#define DX_SERVER_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

#define DX_REDIS_DEFAULT_PORT 6379

typedef struct {
  char host[256];     /* without the brackets of an IPv6 literal */
  int port;           /* 1..65535; 6379 when the URL has none */
  char user[128];     /* "" unless the URL names an ACL user */
  char password[256]; /* "" when none */
  bool has_password;  /* AUTH is sent (an empty password is still one) */
  int db;             /* 0.. ; SELECT is sent when not 0 */
  char addr[300];     /* "HOST:PORT" / "[V6]:PORT", for dx_tcp_connect */
} dx_redis_url;

/* false with a one-line reason in err (e.g. "redis URL must start with
 * redis://"); out is then unspecified. Percent-escapes (%XX) are decoded
 * in the user and the password, so any byte can be given. */
bool dx_redis_url_parse (const char *s, dx_redis_url *out, char *err, size_t errlen);

#endif
