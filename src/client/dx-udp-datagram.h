/* The client's side of the UDP datagram rules (docs/protocol.md §8) that
 * the socket objects of §5 do not cover: the first hello padded to exactly
 * 1200 bytes, the cookie every later datagram carries, the welcome's
 * cookie and /api/v1/info's "udp_port". Pure functions over the protocol
 * module's JSON reader and buffers. */
#pragma once

#include <glib.h>

#include "protocol/buffer.h"

G_BEGIN_DECLS

/* No datagram either way is larger (docs/protocol.md §8). */
#define DX_UDP_DATAGRAM_MAX 1200
/* The longest cookie the client keeps; a longer one is refused. */
#define DX_UDP_COOKIE_MAX 256

/* {"type":"hello","token":..,"password":..,"pad":"…"} of exactly
 * DX_UDP_DATAGRAM_MAX bytes appended to b (password NULL: none). FALSE if
 * the token or password is invalid or too long to pad. */
gboolean dx_udp_encode_hello (dx_buffer *b, const char *token, const char *password);
/* b holds exactly one JSON object: add "cookie" as its last member. */
gboolean dx_udp_add_cookie (dx_buffer *b, const char *cookie);
/* The "cookie" string member of a JSON object (a welcome). */
gboolean dx_udp_read_cookie (const char *json, gsize len, char cookie[DX_UDP_COOKIE_MAX + 1]);
/* /api/v1/info's "udp_port"; 0 when absent (the server runs without UDP)
 * or not a port. */
guint16 dx_udp_read_port (const char *json, gsize len);

G_END_DECLS
