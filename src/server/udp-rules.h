/* The rules of docs/protocol.md §8 that need no socket, kept apart so they
 * are unit-tested directly (tests/server/test-udp-rules.c):
 *
 *  - what a datagram is: one JSON object of at most DX_UDP_DATAGRAM_MAX
 *    bytes; its "type" and "cookie" members are read here (the rest of
 *    the object is the socket protocol's, decoded by socket-client.c);
 *  - the cookie: DX_UDP_COOKIE_LEN lowercase hex characters of 16 random
 *    bytes from the system's generator, one per session;
 *  - the anti-amplification budget: until a datagram carrying the right
 *    cookie arrives from an address, the bytes sent to it stay at most
 *    DX_UDP_AMPLIFICATION times the bytes received from it (every
 *    datagram's UDP payload counts, dropped ones included). */
#ifndef DX_SERVER_UDP_RULES_H
#define DX_SERVER_UDP_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DX_UDP_DATAGRAM_MAX 1200 /* and the exact size of a hello */
#define DX_UDP_COOKIE_LEN 32
#define DX_UDP_AMPLIFICATION 3

typedef enum {
  DX_UDP_DGRAM_MALFORMED = 0, /* not one JSON object (or a bad "cookie") */
  DX_UDP_DGRAM_HELLO,         /* "type":"hello" */
  DX_UDP_DGRAM_OTHER,         /* any other object (socket-client.c judges it) */
} dx_udp_dgram_kind;

typedef struct {
  dx_udp_dgram_kind kind;
  bool has_cookie;
  char cookie[DX_UDP_COOKIE_LEN + 1]; /* "" unless has_cookie and it fits */
  bool cookie_too_long;               /* present, but longer than any we give */
} dx_udp_dgram;

/* Reads the datagram's shape: one well-formed JSON object (else
 * MALFORMED), whether it is a hello, and its cookie. len must already be
 * at most DX_UDP_DATAGRAM_MAX. */
void dx_udp_dgram_read (const char *data, size_t len, dx_udp_dgram *out);

/* A fresh cookie into out (DX_UDP_COOKIE_LEN chars + NUL). 0 or DX_E*. */
int dx_udp_cookie_new (char out[DX_UDP_COOKIE_LEN + 1]);
/* true iff the datagram carries exactly this cookie (constant time in
 * the cookie's length). */
bool dx_udp_cookie_matches (const dx_udp_dgram *d, const char *cookie);

typedef struct {
  uint64_t received; /* bytes of every datagram from the address */
  uint64_t sent;     /* bytes sent to it while not validated */
  bool validated;    /* a datagram carried the right cookie */
} dx_udp_budget;

/* Counts a datagram of n bytes from the address. */
void dx_udp_budget_received (dx_udp_budget *b, size_t n);
/* The address proved it reads what we send (the right cookie came back):
 * no bound from now on. */
void dx_udp_budget_validate (dx_udp_budget *b);
/* May n more bytes go to the address? If so they are counted as sent. */
bool dx_udp_budget_spend (dx_udp_budget *b, size_t n);

#endif
