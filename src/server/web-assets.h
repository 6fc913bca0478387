/* The web client (data/web/), compiled into duplexd at build time by
 * scripts/gen-web-assets.py, and its answers: GET and HEAD of "/" and
 * "/web/...", with Content-Type, strong ETags (If-None-Match -> 304),
 * Cache-Control, gzip when Accept-Encoding allows it (Vary), and the page's
 * security headers (docs/protocol.md §4, "The web client"). */
#ifndef DX_SERVER_WEB_ASSETS_H
#define DX_SERVER_WEB_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/http.h"

typedef struct {
  const char *path;      /* "/" or "/web/..." */
  const char *type;      /* Content-Type */
  const char *etag;      /* strong ETag of the identity body, quoted */
  const char *etag_gzip; /* of the gzip'd body */
  const unsigned char *body;
  size_t len;
  const unsigned char *gzip; /* NULL when gzip would not be smaller */
  size_t gzip_len;
} dx_web_asset;

/* The generated table (web-assets-data.c). */
extern const dx_web_asset dx_web_assets[];
extern const size_t dx_web_assets_count;

/* The asset served at path (without the query), or NULL. */
const dx_web_asset *dx_web_asset_find (const char *path);

/* Whether an Accept-Encoding value allows gzip (RFC 9110 12.5.3: "gzip",
 * "x-gzip" or "*" with a q-value above 0; NULL: no). */
bool dx_web_accepts_gzip (const char *accept_encoding);

/* Whether an If-None-Match value names one of the asset's ETags (weak
 * comparison, RFC 9110 13.1.2; "*" matches). */
bool dx_web_etag_matches (const char *if_none_match, const dx_web_asset *a);

/* The Content-Security-Policy of every page answer. */
extern const char dx_web_csp[];

typedef struct dx_http_conn dx_http_conn;

/* Answers a GET or HEAD routed to DX_ROUTE_WEB: the asset, 304, or 404
 * (an unknown path, or duplexd --no-web). */
void dx_web_assets_respond (dx_http_conn *hc, const dx_http_message *req);

#endif
