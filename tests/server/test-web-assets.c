/* The web client's table and the header logic of its answers
 * (docs/protocol.md §4, "The web client"): Accept-Encoding with q-values,
 * If-None-Match, the compiled-in assets. The answers themselves are tested
 * end to end in tests/integration/test_web_assets.py. */
#include "server/web-assets.h"

#include "../tap.h"

#include <string.h>

int
main (void)
{
  static const struct {
    const char *ae;
    bool gzip;
  } ae[] = {
    { NULL, false },
    { "", false },
    { "gzip", true },
    { "GZip", true },
    { "x-gzip", true },
    { "deflate, gzip", true },
    { "gzip;q=0.5", true },
    { "gzip; q=1", true },
    { "gzip;q=0.001", true },
    { "gzip;q=0", false },
    { "gzip;q=0.0", false },
    { "gzip ; q=0.000", false },
    { "identity", false },
    { "br, deflate", false },
    { "*", true },
    { "*;q=0", false },
    { "*, gzip;q=0", false },
    { "gzip;q=0, *", false },
    { "gzipx", false },
    { "br;q=1.0, gzip;q=0.8, *;q=0.1", true },
  };
  for (size_t i = 0; i < sizeof ae / sizeof ae[0]; i++)
    OK (dx_web_accepts_gzip (ae[i].ae) == ae[i].gzip, "Accept-Encoding \"%s\": gzip %s",
        ae[i].ae ? ae[i].ae : "(none)", ae[i].gzip ? "yes" : "no");

  const dx_web_asset *index = dx_web_asset_find ("/");
  OK (index != NULL && strstr (index->type, "text/html") != NULL, "/ is the HTML page");
  OK (index && index->gzip != NULL && index->gzip_len < index->len, "the page has a smaller gzip");
  OK (dx_web_asset_find ("/web/js/main.js") != NULL, "main.js is compiled in");
  OK (dx_web_asset_find ("/web/i18n/ko.json") != NULL, "the Korean catalog is compiled in");
  OK (dx_web_asset_find ("/web/icon.svg") != NULL, "the icon is compiled in");
  OK (dx_web_asset_find ("/index.html") == NULL, "/index.html is not an asset");
  OK (dx_web_asset_find ("/web/") == NULL, "/web/ is not an asset");
  for (size_t i = 0; i < dx_web_assets_count; i++) {
    const dx_web_asset *a = &dx_web_assets[i];
    OK (a->etag[0] == '"' && strcmp (a->etag, a->etag_gzip) != 0, "%s: two strong ETags", a->path);
  }

  if (index) {
    char buf[128];
    OK (dx_web_etag_matches (index->etag, index), "its own ETag matches");
    OK (dx_web_etag_matches (index->etag_gzip, index), "the gzip ETag matches");
    snprintf (buf, sizeof buf, "W/%s", index->etag);
    OK (dx_web_etag_matches (buf, index), "weak comparison: W/ matches");
    snprintf (buf, sizeof buf, "\"a\", \"b\",%s", index->etag);
    OK (dx_web_etag_matches (buf, index), "a list with it matches");
    OK (dx_web_etag_matches ("*", index), "* matches");
    OK (!dx_web_etag_matches ("\"nope\"", index), "another ETag does not");
    OK (!dx_web_etag_matches (NULL, index), "no header does not");
    OK (!dx_web_etag_matches ("garbage", index), "a malformed header does not");
    OK (!dx_web_etag_matches ("\"unterminated", index), "an unterminated tag does not");
  }
  OK (strstr (dx_web_csp, "unsafe-inline") == NULL && strstr (dx_web_csp, "frame-ancestors 'none'"),
      "the CSP forbids inline code and framing");
  return tap_done ();
}
