#include "server/router.h"

#include <string.h>

static const char rooms_prefix[] = "/api/v1/rooms/";

static const char *const route_names[DX_ROUTE_COUNT] = {
  "session", "rooms",   "post_message", "messages", "events", "ws",
  "healthz", "metrics", "time",         "info",     "web",    "other",
};

const char *
dx_route_name (dx_route r)
{
  return (unsigned) r < DX_ROUTE_COUNT ? route_names[r] : "other";
}

static void
method_check (dx_http_method method, dx_route_match *out, dx_route route, bool get, bool post)
{
  out->route = route;
  /* HEAD is GET without the body (RFC 9110 9.3.2), except where GET
   * starts a stream or a protocol switch. */
  bool head = get && route != DX_ROUTE_EVENTS && route != DX_ROUTE_WS;
  if ((get && method == DX_HTTP_GET) || (head && method == DX_HTTP_HEAD)
      || (post && method == DX_HTTP_POST)) {
    out->status = 0;
    return;
  }
  out->status = 405;
  out->allow = get && post ? "GET, HEAD, POST" : head ? "GET, HEAD" : get ? "GET" : "POST";
}

void
dx_router_match (dx_http_method method, const char *path, dx_route_match *out)
{
  memset (out, 0, sizeof *out);
  out->route = DX_ROUTE_OTHER;
  out->status = 404;

  static const struct {
    const char *path;
    dx_route route;
    bool get, post;
  } fixed[] = {
    { "/api/v1/session", DX_ROUTE_SESSION, false, true },
    { "/api/v1/rooms", DX_ROUTE_ROOMS, true, false },
    { "/api/v1/ws", DX_ROUTE_WS, true, false },
    { "/healthz", DX_ROUTE_HEALTHZ, true, false },
    { "/metrics", DX_ROUTE_METRICS, true, false },
    { "/api/v1/time", DX_ROUTE_TIME, true, false },
    { "/api/v1/info", DX_ROUTE_INFO, true, false },
    { "/", DX_ROUTE_WEB, true, false },
  };
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (strcmp (path, fixed[i].path) == 0) {
      method_check (method, out, fixed[i].route, fixed[i].get, fixed[i].post);
      return;
    }

  /* Which files exist under /web/ is web-assets.c's business (404). */
  if (strncmp (path, "/web/", 5) == 0) {
    method_check (method, out, DX_ROUTE_WEB, true, false);
    return;
  }

  size_t plen = sizeof rooms_prefix - 1;
  if (strncmp (path, rooms_prefix, plen) != 0)
    return;
  const char *name = path + plen;
  const char *slash = strchr (name, '/');
  if (slash == NULL)
    return;
  const char *rest = slash + 1;
  dx_route route;
  bool post;
  if (strcmp (rest, "messages") == 0)
    route = DX_ROUTE_MESSAGES, post = true;
  else if (strcmp (rest, "events") == 0)
    route = DX_ROUTE_EVENTS, post = false;
  else
    return;
  size_t nlen = (size_t) (slash - name);
  if (!dx_room_valid (name, nlen)) {
    out->route = route;
    out->status = 400;
    return;
  }
  memcpy (out->room, name, nlen);
  out->room[nlen] = '\0';
  method_check (method, out, route, true, post);
  if (out->status == 0 && route == DX_ROUTE_MESSAGES && method == DX_HTTP_POST)
    out->route = DX_ROUTE_POST_MESSAGE;
}
