/* --trusted-proxy's pieces (docs/protocol.md §9): IP and CIDR parsing and
 * matching, the PROXY protocol v1 header, the last X-Forwarded-For hop. */
#include <string.h>

#include "protocol/proxy.h"
#include "../tap.h"

static bool
ip_is (const char *text, const char *want)
{
  dx_ip ip;
  char buf[64];
  if (!dx_ip_parse (text, strlen (text), &ip))
    return want == NULL;
  dx_ip_format (&ip, buf, sizeof buf);
  return want && strcmp (buf, want) == 0;
}

static bool
in (const char *cidr, const char *ip)
{
  dx_cidr c;
  dx_ip a;
  return dx_cidr_parse (cidr, &c) && dx_ip_parse (ip, strlen (ip), &a) && dx_cidr_match (&c, &a);
}

int
main (void)
{
  OK (ip_is ("10.0.0.7", "10.0.0.7"), "IPv4");
  OK (ip_is ("::1", "0:0:0:0:0:0:0:1"), "IPv6 loopback");
  OK (ip_is ("2001:db8::5", "2001:db8:0:0:0:0:0:5"), "IPv6 with ::");
  OK (ip_is ("::ffff:10.0.0.7", "10.0.0.7"), "an IPv4-mapped address is the IPv4 one");
  OK (ip_is ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), "eight words");
  const char *bad[] = { "",    "1.2.3",   "1.2.3.4.5",         "256.1.1.1", "01.2.3.4", "1.2.3.4 ",
                        ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::",   "g::1",     "1:",
                        ":1",  "a.b.c.d" };
  int wrong = 0;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (!ip_is (bad[i], NULL))
      wrong++;
  IS (wrong, 0, "malformed addresses are refused");

  OK (in ("10.0.0.0/8", "10.200.3.4") && !in ("10.0.0.0/8", "11.0.0.1"), "IPv4 /8");
  OK (in ("192.168.1.4", "192.168.1.4") && !in ("192.168.1.4", "192.168.1.5"), "a single host");
  OK (in ("0.0.0.0/0", "8.8.8.8") && !in ("0.0.0.0/0", "::1"), "/0 is all IPv4, not IPv6");
  OK (in ("::1/128", "::1") && !in ("::1/128", "::2"), "IPv6 host");
  OK (in ("2001:db8::/32", "2001:db8:ffff::1") && !in ("2001:db8::/32", "2001:db9::1"), "IPv6 /32");
  OK (in ("10.1.2.3/16", "10.1.99.1"), "host bits in the network are ignored");
  dx_cidr c;
  OK (!dx_cidr_parse ("10.0.0.0/33", &c) && !dx_cidr_parse ("::/129", &c)
          && !dx_cidr_parse ("10.0.0.0/", &c) && !dx_cidr_parse ("10.0.0.0/x", &c)
          && !dx_cidr_parse ("nope/8", &c),
      "bad CIDRs are refused");

  size_t used = 0;
  dx_ip src;
  bool unknown = true;
  char buf[64];
  const char *h4 = "PROXY TCP4 203.0.113.9 10.0.0.1 51234 8081\r\n{\"type\":\"hello\"}";
  OK (dx_proxy_v1_parse (h4, strlen (h4), &used, &src, &unknown) == DX_PROXY_OK && !unknown
          && used == strlen (h4) - strlen ("{\"type\":\"hello\"}"),
      "TCP4 header, bytes after it untouched");
  dx_ip_format (&src, buf, sizeof buf);
  STR_IS (buf, "203.0.113.9", "the source is the client");
  const char *h6 = "PROXY TCP6 2001:db8::9 ::1 1 65535\r\n";
  OK (dx_proxy_v1_parse (h6, strlen (h6), &used, &src, &unknown) == DX_PROXY_OK
          && used == strlen (h6),
      "TCP6 header");
  const char *hu = "PROXY UNKNOWN ffff:f...f:ffff 1 2\r\n";
  OK (dx_proxy_v1_parse (hu, strlen (hu), &used, &src, &unknown) == DX_PROXY_OK && unknown,
      "UNKNOWN: the proxy itself");
  int need = 0;
  for (size_t n = 0; n < strlen (h4) - 18; n++)
    if (dx_proxy_v1_parse (h4, n, &used, &src, &unknown) != DX_PROXY_NEED_MORE)
      need++;
  IS (need, 0, "every prefix of a header needs more");
  const char *invalid[] = {
    "{\"type\":\"hello\"}\n",
    "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
    "PROXY TCP4 ::1 1.2.3.4 1 2\r\n",
    "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
    "PROXY TCP4 1.2.3.4 1.2.3.4 1 65536\r\n",
    "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n",
    "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n",
    "PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n",
    "PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n",
    "PROXY \r\n",
  };
  OK (dx_proxy_v1_parse ("PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n\n", 33, &used, &src, &unknown)
          == DX_PROXY_NEED_MORE,
      "LF alone is no line end (it waits, up to 107 bytes)");
  wrong = 0;
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
    if (dx_proxy_v1_parse (invalid[i], strlen (invalid[i]), &used, &src, &unknown)
        != DX_PROXY_INVALID)
      wrong++;
  IS (wrong, 0, "malformed headers are invalid");
  char longer[200];
  memset (longer, 'x', sizeof longer);
  memcpy (longer, "PROXY ", 6);
  OK (dx_proxy_v1_parse (longer, sizeof longer, &used, &src, &unknown) == DX_PROXY_INVALID,
      "no line end within 107 bytes is invalid");

  OK (dx_xff_last_hop ("203.0.113.9", &src), "one hop");
  OK (dx_xff_last_hop ("1.1.1.1, 10.0.0.2 , 198.51.100.7 ", &src), "the last of several");
  dx_ip_format (&src, buf, sizeof buf);
  STR_IS (buf, "198.51.100.7", "the last hop is the one the trusted proxy saw");
  OK (!dx_xff_last_hop ("1.1.1.1, unknown", &src) && !dx_xff_last_hop ("", &src),
      "a last hop that is no address is refused");
  return tap_done ();
}
