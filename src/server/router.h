/* HTTP routing of docs/protocol.md §4: path + method -> route, or the error
 * status (400 invalid room name, 404 unknown path, 405 wrong method with
 * the Allow value). Pure, unit-tested. */
#ifndef DX_SERVER_ROUTER_H
#define DX_SERVER_ROUTER_H

#include "protocol/http.h"
#include "protocol/names.h"

typedef enum {
  DX_ROUTE_SESSION = 0,
  DX_ROUTE_ROOMS,
  DX_ROUTE_POST_MESSAGE,
  DX_ROUTE_MESSAGES,
  DX_ROUTE_EVENTS,
  DX_ROUTE_WS,
  DX_ROUTE_HEALTHZ,
  DX_ROUTE_METRICS,
  DX_ROUTE_TIME,
  DX_ROUTE_INFO,
  DX_ROUTE_WEB, /* the web client: "/" and "/web/..." (web-assets.c) */
  DX_ROUTE_OTHER,
  DX_ROUTE_COUNT,
} dx_route;

/* "session", "rooms", ... (the metrics label); "other" when out of range. */
const char *dx_route_name (dx_route r);

typedef struct {
  dx_route route;             /* DX_ROUTE_OTHER when status != 0 and no route matched */
  int status;                 /* 0: matched; else 400, 404 or 405 */
  const char *allow;          /* 405: the Allow header value */
  char room[DX_ROOM_MAX + 1]; /* room routes */
} dx_route_match;

void dx_router_match (dx_http_method method, const char *path, dx_route_match *out);

#endif
