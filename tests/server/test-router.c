/* HTTP routing: every route of docs/protocol.md §4, 404, 405 + Allow, 400 for
 * an invalid room name. */
#include "server/router.h"

#include "../tap.h"

#include <string.h>

static dx_route_match m;

static int
route (dx_http_method method, const char *path)
{
  dx_router_match (method, path, &m);
  return m.status;
}

int
main (void)
{
  static const struct {
    dx_http_method method;
    const char *path;
    dx_route route;
  } ok[] = {
    { DX_HTTP_POST, "/api/v1/session", DX_ROUTE_SESSION },
    { DX_HTTP_GET, "/api/v1/rooms", DX_ROUTE_ROOMS },
    { DX_HTTP_GET, "/api/v1/rooms/lobby/messages", DX_ROUTE_MESSAGES },
    { DX_HTTP_POST, "/api/v1/rooms/lobby/messages", DX_ROUTE_POST_MESSAGE },
    { DX_HTTP_GET, "/api/v1/rooms/a_b-9/events", DX_ROUTE_EVENTS },
    { DX_HTTP_GET, "/api/v1/ws", DX_ROUTE_WS },
    { DX_HTTP_GET, "/healthz", DX_ROUTE_HEALTHZ },
    { DX_HTTP_GET, "/metrics", DX_ROUTE_METRICS },
    { DX_HTTP_GET, "/api/v1/time", DX_ROUTE_TIME },
    { DX_HTTP_GET, "/api/v1/info", DX_ROUTE_INFO },
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    OK (route (ok[i].method, ok[i].path) == 0 && m.route == ok[i].route, "%s routes", ok[i].path);
  route (DX_HTTP_GET, "/api/v1/rooms/lobby/messages");
  OK (strcmp (m.room, "lobby") == 0, "room name extracted");
  route (DX_HTTP_GET, "/api/v1/rooms/abcdefghijklmnopqrstuvwxyz012345/events");
  OK (m.status == 0 && strlen (m.room) == 32, "32-character room");

  OK (route (DX_HTTP_GET, "/api/v1/session") == 405 && strcmp (m.allow, "POST") == 0,
      "GET session: 405 Allow: POST");
  OK (route (DX_HTTP_DELETE, "/api/v1/rooms/x/messages") == 405
          && strcmp (m.allow, "GET, HEAD, POST") == 0,
      "DELETE messages: 405 Allow: GET, HEAD, POST");
  OK (route (DX_HTTP_POST, "/healthz") == 405 && strcmp (m.allow, "GET, HEAD") == 0,
      "POST healthz: 405 Allow: GET, HEAD");
  OK (route (DX_HTTP_HEAD, "/healthz") == 0 && m.route == DX_ROUTE_HEALTHZ, "HEAD healthz routes");
  OK (route (DX_HTTP_HEAD, "/api/v1/rooms/x/messages") == 0 && m.route == DX_ROUTE_MESSAGES,
      "HEAD messages is a poll");
  OK (route (DX_HTTP_HEAD, "/api/v1/ws") == 405 && strcmp (m.allow, "GET") == 0,
      "HEAD ws: 405 Allow: GET");
  OK (route (DX_HTTP_HEAD, "/api/v1/rooms/x/events") == 405, "HEAD events: 405");
  OK (route (DX_HTTP_POST, "/api/v1/rooms/x/events") == 405, "POST events: 405");

  OK (route (DX_HTTP_GET, "/") == 0 && m.route == DX_ROUTE_WEB, "GET / is the web client");
  OK (route (DX_HTTP_HEAD, "/web/js/main.js") == 0 && m.route == DX_ROUTE_WEB,
      "HEAD /web/... is the web client");
  OK (route (DX_HTTP_POST, "/") == 405 && strcmp (m.allow, "GET, HEAD") == 0,
      "POST /: 405 Allow: GET, HEAD");
  OK (strcmp (dx_route_name (DX_ROUTE_WEB), "web") == 0, "the web route's metrics label");

  static const char *const missing[] = {
    "/index.html",
    "/web",
    "/favicon.ico",
    "/api",
    "/api/v1",
    "/api/v1/rooms/",
    "/api/v1/rooms/lobby",
    "/api/v1/rooms/lobby/",
    "/api/v1/rooms/lobby/other",
    "/api/v1/rooms/lobby/messages/x",
    "/healthz/",
    "/api/v1/wss",
    "/api/v2/rooms",
  };
  for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
    OK (route (DX_HTTP_GET, missing[i]) == 404, "%s is 404", missing[i]);

  static const char *const badroom[] = {
    "/api/v1/rooms/Lobby/messages", "/api/v1/rooms//messages",
    "/api/v1/rooms/a.b/events",     "/api/v1/rooms/abcdefghijklmnopqrstuvwxyz0123456/messages",
    "/api/v1/rooms/l%20b/messages",
  };
  for (size_t i = 0; i < sizeof badroom / sizeof badroom[0]; i++)
    OK (route (DX_HTTP_GET, badroom[i]) == 400, "%s is 400", badroom[i]);
  return tap_done ();
}
