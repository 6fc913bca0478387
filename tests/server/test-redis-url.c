/* The --redis URL (docs/protocol.md §7): every part, defaults, escapes,
 * and every kind of bad URL (false with a one-line reason). */
#include "server/redis-url.h"

#include "../tap.h"

#include <string.h>

int
main (void)
{
  dx_redis_url u;
  char err[200];

  OK (dx_redis_url_parse ("redis://127.0.0.1:6380", &u, err, sizeof err), "host:port");
  OK (strcmp (u.host, "127.0.0.1") == 0 && u.port == 6380 && u.db == 0 && !u.has_password,
      "host, port, db 0, no password");
  OK (strcmp (u.addr, "127.0.0.1:6380") == 0, "addr for dx_tcp_connect");

  OK (dx_redis_url_parse ("redis://localhost", &u, err, sizeof err) && u.port == 6379
          && strcmp (u.addr, "localhost:6379") == 0,
      "default port 6379");
  OK (dx_redis_url_parse ("redis://:s3cret@h:1/7", &u, err, sizeof err) && u.has_password
          && strcmp (u.password, "s3cret") == 0 && u.user[0] == '\0' && u.db == 7,
      ":password@ and /db");
  OK (dx_redis_url_parse ("redis://app:p%40ss%3A@h:2/", &u, err, sizeof err)
          && strcmp (u.user, "app") == 0 && strcmp (u.password, "p@ss:") == 0 && u.db == 0,
      "ACL user, %%-escapes, empty db path");
  OK (dx_redis_url_parse ("redis://:a@b@h:3", &u, err, sizeof err)
          && strcmp (u.password, "a@b") == 0 && strcmp (u.host, "h") == 0,
      "a password may hold '@' (the last one ends it)");
  OK (dx_redis_url_parse ("redis://[::1]:6390/1", &u, err, sizeof err)
          && strcmp (u.host, "::1") == 0 && u.port == 6390 && u.db == 1
          && strcmp (u.addr, "[::1]:6390") == 0,
      "[IPv6]:port");
  OK (dx_redis_url_parse ("redis://:@h", &u, err, sizeof err) && u.has_password
          && u.password[0] == '\0',
      "an empty password is still sent");

  static const char *const bad[] = {
    NULL,
    "",
    "http://h:1",
    "redis:/h:1",
    "redis://",
    "redis://:1",
    "redis://h:0",
    "redis://h:65536",
    "redis://h:12x",
    "redis://h:",
    "redis://h:1/x",
    "redis://h:1/-1",
    "redis://pw@h:1",
    "redis://:p%4@h",
    "redis://:p%00@h",
    "redis://[::1",
    "redis://[]:1",
    "redis://[::1]x",
    "redis://h h:1",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    bool ok = dx_redis_url_parse (bad[i], &u, err, sizeof err);
    OK (!ok && err[0] != '\0' && strchr (err, '\n') == NULL, "refused: %s (%s)",
        bad[i] ? bad[i] : "(null)", err);
  }
  char longhost[400];
  memset (longhost, 'a', sizeof longhost);
  memcpy (longhost, "redis://", 8);
  longhost[sizeof longhost - 1] = '\0';
  OK (!dx_redis_url_parse (longhost, &u, err, sizeof err), "a host too long (%s)", err);
  return tap_done ();
}
