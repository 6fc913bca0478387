/* HTTP routing of PROTOCOL.md §4: path + method -> route, or the error
 * status (400 invalid room name, 404 unknown path, 405 wrong method with
 * the Allow value). Pure, unit-tested. */
#ifndef DX_SERVER_ROUTER_H
#define DX_SERVER_ROUTER_H

#include "protocol/http.h"
#include "protocol/names.h"
#include "server/metrics.h"

typedef struct {
  dx_route route;      /* DX_ROUTE_OTHER when status != 0 and no route matched */
  int status;          /* 0: matched; else 400, 404 or 405 */
  const char *allow;   /* 405: the Allow header value */
  char room[DX_ROOM_MAX + 1]; /* room routes */
} dx_route_match;

void dx_router_match (dx_http_method method, const char *path,
                      dx_route_match *out);

#endif
