/* msg-peek: the type of a refused message, a ping with any "t", and the
 * raw pong. */
#include "server/msg-peek.h"

#include "server-tap.h"

#include <string.h>

static bool
ping (const char *json, const char *want_t)
{
  const char *t;
  size_t n;
  if (!dx_peek_ping (json, strlen (json), &t, &n))
    return false;
  if (want_t == NULL)
    return t == NULL;
  return t && n == strlen (want_t) && memcmp (t, want_t, n) == 0;
}

int
main (void)
{
  char type[16];
  const char *j = "{\"room\":\"x\",\"type\":\"join\",\"since\":-1}";
  TAP_OK (dx_peek_type (j, strlen (j), type, sizeof type) && strcmp (type, "join") == 0,
          "type found after other members");
  j = "{\"room\":\"x\"}";
  TAP_OK (!dx_peek_type (j, strlen (j), type, sizeof type), "no type");
  j = "[1,2]";
  TAP_OK (!dx_peek_type (j, strlen (j), type, sizeof type), "not an object");
  j = "{\"type\":\"hel";
  TAP_OK (!dx_peek_type (j, strlen (j), type, sizeof type), "cut string");

  TAP_OK (ping ("{\"type\":\"ping\",\"t\":{\"k\":[1,2]}}", "{\"k\":[1,2]}"), "object t");
  TAP_OK (ping ("{\"type\":\"ping\",\"t\":null}", "null"), "null t");
  TAP_OK (ping ("{\"t\" :  [ 1 , \"a\" ]  ,\"type\":\"ping\"}", "[ 1 , \"a\" ]"),
          "t before type, whitespace trimmed, inner kept");
  TAP_OK (ping ("{\"type\":\"ping\"}", NULL), "no t");
  TAP_OK (!ping ("{\"type\":\"pong\",\"t\":1}", "1"), "not a ping");
  TAP_OK (!ping ("{\"type\":\"ping\",\"t\":1,\"t\":2}", "1"), "two t refused");
  TAP_OK (!ping ("{\"type\":\"ping\",\"t\":{]}", NULL), "bad JSON refused");
  TAP_OK (!ping ("{\"type\":\"ping\",\"t\":1} x", "1"), "trailing garbage refused");

  dx_buffer b;
  dx_buffer_init (&b, 0);
  TAP_OK (dx_encode_pong_raw (&b, "{\"k\":1}", 7, 42)
              && strcmp (b.data, "{\"type\":\"pong\",\"t\":{\"k\":1},\"ts\":42}") == 0,
          "pong with raw t: %s", b.data);
  dx_buffer_reset (&b);
  TAP_OK (dx_encode_pong_raw (&b, NULL, 0, 7)
              && strcmp (b.data, "{\"type\":\"pong\",\"ts\":7}") == 0,
          "pong without t: %s", b.data);
  dx_buffer_free (&b);
  TAP_DONE ();
}
