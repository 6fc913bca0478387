#include "server/web-assets.h"

#include "server/http-conn.h"

#include <string.h>

/* No inline script or style anywhere (the page has none, and none may be
 * injected); the page talks to its own origin only: 'self' in connect-src
 * covers ws:// and wss:// of the same host and port (CSP Level 3; the web
 * suite checks it in Chromium). docs/protocol.md §4.10. */
const char dx_web_csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                          "base-uri 'none'; form-action 'self'";

const dx_web_asset *
dx_web_asset_find (const char *path)
{
  for (size_t i = 0; i < dx_web_assets_count; i++)
    if (strcmp (dx_web_assets[i].path, path) == 0)
      return &dx_web_assets[i];
  return NULL;
}

static bool
is_ows (char c)
{
  return c == ' ' || c == '\t';
}

static bool
token_is (const char *s, size_t n, const char *word)
{
  size_t wn = strlen (word);
  if (n != wn)
    return false;
  for (size_t i = 0; i < n; i++)
    if ((s[i] | 0x20) != word[i])
      return false;
  return true;
}

/* The q-value of one list member's parameters ("; q=0.5"): 0 only for
 * "0", "0.", "0.0", ... (RFC 9110 12.4.2); no q: 1. */
static bool
q_positive (const char *p, const char *end)
{
  while (p < end) {
    while (p < end && (is_ows (*p) || *p == ';'))
      p++;
    if (end - p >= 2 && (p[0] | 0x20) == 'q' && p[1] == '=') {
      p += 2;
      if (p < end && *p != '0')
        return true; /* "1", "1.000", or junk: not a refusal */
      p++;
      if (p < end && *p == '.')
        p++;
      while (p < end && *p == '0')
        p++;
      return p < end && *p >= '1' && *p <= '9';
    }
    while (p < end && *p != ';')
      p++;
  }
  return true;
}

bool
dx_web_accepts_gzip (const char *ae)
{
  if (ae == NULL)
    return false;
  int gzip = -1, star = -1; /* -1: not named; else 0 or 1 */
  const char *p = ae;
  while (*p) {
    const char *end = strchr (p, ',');
    if (end == NULL)
      end = p + strlen (p);
    const char *t = p;
    while (t < end && is_ows (*t))
      t++;
    const char *te = t;
    while (te < end && !is_ows (*te) && *te != ';')
      te++;
    bool pos = q_positive (te, end);
    if (token_is (t, (size_t) (te - t), "gzip") || token_is (t, (size_t) (te - t), "x-gzip"))
      gzip = gzip == 1 ? 1 : pos;
    else if (te - t == 1 && *t == '*')
      star = pos;
    p = *end ? end + 1 : end;
  }
  return gzip >= 0 ? gzip == 1 : star == 1;
}

static bool
opaque_is (const char *t, size_t n, const char *etag)
{
  return strlen (etag) == n && memcmp (t, etag, n) == 0;
}

bool
dx_web_etag_matches (const char *inm, const dx_web_asset *a)
{
  if (inm == NULL)
    return false;
  const char *p = inm;
  while (*p) {
    while (is_ows (*p) || *p == ',')
      p++;
    if (*p == '*')
      return true;
    if (p[0] == 'W' && p[1] == '/')
      p += 2;
    if (*p != '"')
      return false; /* malformed: no match, the full answer is safe */
    const char *close = strchr (p + 1, '"');
    if (close == NULL)
      return false;
    size_t n = (size_t) (close - p) + 1;
    if (opaque_is (p, n, a->etag) || opaque_is (p, n, a->etag_gzip))
      return true;
    p = close + 1;
  }
  return false;
}

void
dx_web_assets_respond (dx_http_conn *hc, const dx_http_message *req)
{
  const dx_web_asset *a = hc->base.ctx->cfg->no_web ? NULL : dx_web_asset_find (req->path);
  if (a == NULL) {
    dx_http_respond_error (hc, 404, "not_found", "no such resource");
    return;
  }
  bool gz = a->gzip && dx_web_accepts_gzip (dx_http_message_header (req, "Accept-Encoding"));
  bool fresh = dx_web_etag_matches (dx_http_message_header (req, "If-None-Match"), a);
  /* no-cache: the names are not fingerprinted, so a browser must ask
   * (If-None-Match, a 304 of a few hundred bytes) before it reuses a copy;
   * a new duplexd's page is then seen at once. */
  dx_http_header h[7] = {
    { "Cache-Control", "no-cache" },           { "ETag", gz ? a->etag_gzip : a->etag },
    { "Content-Security-Policy", dx_web_csp }, { "X-Content-Type-Options", "nosniff" },
    { "Referrer-Policy", "no-referrer" },
  };
  size_t n = 5;
  if (a->gzip)
    h[n++] = (dx_http_header){ "Vary", "Accept-Encoding" };
  if (fresh) {
    dx_http_respond (hc, 304, NULL, h, n, NULL, 0);
    return;
  }
  if (gz)
    h[n++] = (dx_http_header){ "Content-Encoding", "gzip" };
  dx_http_respond (hc, 200, a->type, h, n, (const char *) (gz ? a->gzip : a->body),
                   gz ? a->gzip_len : a->len);
}
