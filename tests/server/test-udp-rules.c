/* The socket-free rules of docs/protocol.md §8 (server/udp-rules.h): what a
 * datagram is, its cookie, and the anti-amplification budget; and the UDP
 * families of /metrics. */
#include "server/metrics.h"
#include "server/udp-rules.h"

#include "../tap.h"

#include <stdio.h>
#include <string.h>

static dx_udp_dgram
read_str (const char *s)
{
  dx_udp_dgram d;
  dx_udp_dgram_read (s, strlen (s), &d);
  return d;
}

static void
test_dgram_shapes (void)
{
  IS (read_str ("{\"type\":\"ping\",\"t\":1}").kind, DX_UDP_DGRAM_OTHER, "a ping is an object");
  IS (read_str ("{\"type\":\"hello\",\"token\":\"x\",\"pad\":\"ppp\"}").kind, DX_UDP_DGRAM_HELLO,
      "a hello");
  IS (read_str ("{\"pad\":\"\",\"type\":\"hello\"}").kind, DX_UDP_DGRAM_HELLO,
      "type in any position");
  IS (read_str ("{}").kind, DX_UDP_DGRAM_OTHER, "an empty object is judged later, not dropped");
  const char *bad[] = { "",
                        "[1]",
                        "\"hello\"",
                        "{\"type\":\"ping\"",
                        "{\"type\":\"ping\"}x",
                        "{\"type\":\"ping\"}{\"type\":\"ping\"}",
                        "{'type':'ping'}",
                        "\xff" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    IS (read_str (bad[i]).kind, DX_UDP_DGRAM_MALFORMED, "malformed #%zu", i);
  char big[DX_UDP_DATAGRAM_MAX + 10];
  memset (big, ' ', sizeof big);
  memcpy (big, "{}", 2);
  dx_udp_dgram d;
  dx_udp_dgram_read (big, sizeof big, &d);
  IS (d.kind, DX_UDP_DGRAM_MALFORMED, "over 1200 bytes: never read");
}

static void
test_cookie (void)
{
  char c1[DX_UDP_COOKIE_LEN + 1], c2[DX_UDP_COOKIE_LEN + 1];
  OK (dx_udp_cookie_new (c1) == 0 && dx_udp_cookie_new (c2) == 0, "two cookies");
  IS (strlen (c1), DX_UDP_COOKIE_LEN, "32 characters");
  OK (strspn (c1, "0123456789abcdef") == DX_UDP_COOKIE_LEN, "lowercase hex");
  OK (strcmp (c1, c2) != 0, "different each time");
  char json[200];
  snprintf (json, sizeof json, "{\"type\":\"ping\",\"cookie\":\"%s\"}", c1);
  dx_udp_dgram d = read_str (json);
  OK (d.has_cookie && dx_udp_cookie_matches (&d, c1), "the right cookie matches");
  OK (!dx_udp_cookie_matches (&d, c2), "another session's does not");
  d = read_str ("{\"type\":\"ping\"}");
  OK (!d.has_cookie && !dx_udp_cookie_matches (&d, c1), "no cookie: no match");
  snprintf (json, sizeof json, "{\"type\":\"ping\",\"cookie\":\"%.31s\"}", c1);
  d = read_str (json);
  OK (!dx_udp_cookie_matches (&d, c1), "a prefix does not match");
  snprintf (json, sizeof json, "{\"type\":\"ping\",\"cookie\":\"%sx\"}", c1);
  d = read_str (json);
  OK (d.cookie_too_long && !dx_udp_cookie_matches (&d, c1), "longer does not match");
  snprintf (json, sizeof json, "{\"type\":\"ping\",\"cookie\":7}");
  d = read_str (json);
  OK (d.kind == DX_UDP_DGRAM_OTHER && !d.has_cookie, "a non-string cookie is no cookie");
}

static void
test_budget (void)
{
  dx_udp_budget b = { 0 };
  OK (!dx_udp_budget_spend (&b, 1), "nothing received: nothing may be sent");
  dx_udp_budget_received (&b, 1200);
  OK (dx_udp_budget_spend (&b, 3000), "3000 of 3600");
  OK (dx_udp_budget_spend (&b, 600), "exactly 3x");
  OK (!dx_udp_budget_spend (&b, 1), "not one byte more");
  IS (b.sent, 3600, "a refused send is not counted");
  dx_udp_budget_received (&b, 10);
  OK (dx_udp_budget_spend (&b, 30), "each datagram received widens the budget");
  OK (!dx_udp_budget_spend (&b, 1), "by exactly 3x its size");
  dx_udp_budget_validate (&b);
  OK (dx_udp_budget_spend (&b, 1000000), "validated: no bound");
}

static void
test_metrics (void)
{
  dx_metrics m;
  dx_metrics_init (&m);
  m.udp.datagrams_in = 5;
  m.udp.datagrams_out = 4;
  m.udp.dropped[DX_UDP_DROP_BAD_COOKIE] = 2;
  m.udp.sessions_expired = 1;
  m.conn_open[DX_TR_UDP] = 3;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_metrics_render (&m, NULL, &b);
  const char *t = b.data;
  OK (strstr (t, "duplex_udp_datagrams_in_total 5\n") != NULL, "datagrams in");
  OK (strstr (t, "duplex_udp_datagrams_out_total 4\n") != NULL, "datagrams out");
  OK (strstr (t, "duplex_udp_dropped_total{reason=\"bad_cookie\"} 2\n") != NULL, "drops by reason");
  OK (strstr (t, "duplex_udp_dropped_total{reason=\"amplification\"} 0\n") != NULL,
      "every reason listed");
  OK (strstr (t, "duplex_udp_sessions 3\n") != NULL, "sessions gauge");
  OK (strstr (t, "duplex_udp_sessions_expired_total 1\n") != NULL, "expired sessions");
  OK (strstr (t, "duplex_connections_open{transport=\"udp\"} 3\n") != NULL, "udp transport label");
  dx_buffer_free (&b);
}

int
main (void)
{
  test_dgram_shapes ();
  test_cookie ();
  test_budget ();
  test_metrics ();
  return tap_done ();
}
