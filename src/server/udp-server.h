/* --udp ADDR:PORT: the chat over UDP datagrams (docs/protocol.md §8). One
 * socket; sessions keyed by the client's address, each a socket-protocol
 * client (socket-client.c) whose bytes go out one object per datagram. */
#ifndef DX_SERVER_UDP_SERVER_H
#define DX_SERVER_UDP_SERVER_H

#include <stddef.h>

#include "server/conn.h"

typedef struct dx_udp_server dx_udp_server;

/* Binds addr and starts receiving. NULL with a one-line reason in err. */
dx_udp_server *dx_udp_server_new (dx_conn_ctx *ctx, const char *addr, char *err, size_t errlen);
int dx_udp_server_port (const dx_udp_server *us);
/* "IP:PORT" as bound. */
const char *dx_udp_server_name (const dx_udp_server *us);
/* Stops reading; the sessions say goodbye through dx_conn_shutdown_all
 * (they are connections of the context). */
void dx_udp_server_shutdown (dx_udp_server *us);
/* Closes the socket and the timers; the sessions must be closed already
 * (dx_conn_close_all). Frees us once the handles are gone. */
void dx_udp_server_free (dx_udp_server *us);

#endif
