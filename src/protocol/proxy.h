/* What a trusted proxy says about the client (docs/protocol.md §9), sans
 * I/O: CIDR ranges for --trusted-proxy, the PROXY protocol v1 header that
 * starts a raw TCP connection, and the last X-Forwarded-For hop. */
#ifndef DX_PROTOCOL_PROXY_H
#define DX_PROTOCOL_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 or IPv6 address (IPv4 as ::ffff:a.b.c.d), network byte order. */
typedef struct {
  uint8_t b[16];
} dx_ip;

/* "10.0.0.7", "::1", "2001:db8::5", "::ffff:10.0.0.7": true and *out. */
bool dx_ip_parse (const char *text, size_t len, dx_ip *out);
/* Canonical text (IPv4 mapped addresses as a.b.c.d); buf >= 46 bytes. */
void dx_ip_format (const dx_ip *ip, char *buf, size_t len);

typedef struct {
  dx_ip net;
  unsigned bits; /* prefix length over the 128-bit form */
} dx_cidr;

/* "10.0.0.0/8", "::1/128", "192.168.1.4" (a single host): true and *out. */
bool dx_cidr_parse (const char *text, dx_cidr *out);
bool dx_cidr_match (const dx_cidr *c, const dx_ip *ip);

/* PROXY protocol v1: "PROXY TCP4 SRC DST SPORT DPORT\r\n" or
 * "PROXY UNKNOWN ...\r\n", at most 107 bytes. */
#define DX_PROXY_V1_MAX 107
typedef enum {
  DX_PROXY_NEED_MORE, /* not a whole line yet (and none of it wrong) */
  DX_PROXY_OK,        /* *used bytes were the header; *src set unless unknown */
  DX_PROXY_INVALID,   /* not a valid v1 header: close the connection */
} dx_proxy_status;

/* Parses the start of a connection's bytes. On DX_PROXY_OK: *used is the
 * header's length, *unknown true for "PROXY UNKNOWN" (then *src is not
 * set: the connection counts as the proxy itself). */
dx_proxy_status dx_proxy_v1_parse (const char *data, size_t len, size_t *used, dx_ip *src,
                                   bool *unknown);

/* The last hop of an X-Forwarded-For value ("a, b, c" -> c): true and *out
 * if it is an IP address. */
bool dx_xff_last_hop (const char *value, dx_ip *out);

#endif
