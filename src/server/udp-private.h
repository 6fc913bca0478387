/* What udp-server.c (the socket, the session table, hellos, expiry) and
 * udp-session.c (one session: a dx_conn and a socket client whose output
 * goes out as datagrams, paced for replays) share. */
#ifndef DX_SERVER_UDP_PRIVATE_H
#define DX_SERVER_UDP_PRIVATE_H

#include "server/socket-client.h"
#include "server/udp-metrics.h"
#include "server/udp-rules.h"
#include "server/conn.h"

#include <stdbool.h>
#include <stdint.h>

/* At most this many sessions live at once (under 2 KiB each): a hello
 * over the bound gets no answer (dropped, reason sessions_full). */
#define DX_UDP_SESSIONS_MAX 16384
/* A session is forgotten after this long without a datagram bearing its
 * cookie (or a valid hello) ... */
#define DX_UDP_IDLE_MS 30000
/* ... found by a sweep every DX_UDP_SWEEP_MS: so between 30 and 32 s
 * (docs/protocol.md §8 asks for 30 to 40). */
#define DX_UDP_SWEEP_MS 2000
/* Replays (join with since) go out one message per datagram, at most
 * DX_UDP_PACE_BURST datagrams per session every DX_UDP_PACE_MS: 2,000 a
 * second, over the 100 a second §8 asks for, and slow enough for a
 * client's default socket buffer. */
#define DX_UDP_PACE_MS 10
#define DX_UDP_PACE_BURST 20

typedef struct dx_udp_server dx_udp_server; /* udp-server.h */
typedef struct dx_udp_session dx_udp_session;
typedef struct udp_paced udp_paced;

struct dx_udp_session {
  dx_conn base; /* first: a dx_conn * is a dx_udp_session * */
  dx_socket_client client;
  dx_udp_server *srv;
  dx_addr addr;
  uint64_t hash;
  dx_udp_session *hnext;       /* hash chain */
  dx_udp_session *prev, *next; /* every session, for the sweep */
  bool linked;
  dx_udp_session *pnext; /* sessions with paced output */
  bool pacing;
  uint64_t last_seen_ms;
  dx_udp_budget budget;
  char cookie[DX_UDP_COOKIE_LEN + 1];
  char token[DX_TOKEN_MAX + 1];
  dx_shared_buf *welcome; /* sent again for a repeated hello */
  udp_paced *paced_head, *paced_tail;
};

struct dx_udp_server {
  dx_conn_ctx *ctx;
  dx_udp_metrics *m;
  dx_udp *sock;
  int port;
  char name[64];
  bool stopped;             /* shutting down: datagrams are dropped */
  dx_udp_session **buckets; /* DX_UDP_BUCKETS chains */
  dx_udp_session *all;
  size_t n_sessions;
  dx_udp_session *paced; /* sessions with paced output */
  dx_timer *sweep, *pace;
  unsigned handles_open;
};

/* ---- udp-session.c, for udp-server.c ---- */

/* A validated hello of hello_len bytes from addr: a new session (welcome
 * sent), or NULL when out of memory. */
dx_udp_session *dx_udp_session_new (dx_udp_server *us, const dx_addr *addr, size_t hello_len,
                                    const char *nick, const char *token);
/* Sends the welcome again (a repeated hello: the first was lost). */
void dx_udp_session_rewelcome (dx_udp_session *s);
/* One datagram of json (no newline) to the session, within the budget
 * and the size limit; false when it was not sent (counted). */
bool dx_udp_session_send (dx_udp_session *s, const char *json, size_t len, dx_shared_buf *hold);
/* Sends up to DX_UDP_PACE_BURST paced datagrams; false when nothing is
 * left to pace. */
bool dx_udp_session_pace (dx_udp_session *s);

/* ---- udp-server.c, for udp-session.c ---- */

/* The session joins the table / leaves it (on close). */
void dx_udp_server_link (dx_udp_server *us, dx_udp_session *s);
void dx_udp_server_unlink (dx_udp_server *us, dx_udp_session *s);
/* The session has paced output: the pace timer runs until it is sent. */
void dx_udp_server_want_pacing (dx_udp_server *us, dx_udp_session *s);

#endif
