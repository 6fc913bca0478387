/* --ticker ROOM:MS: a demo source posting a generated line to ROOM every
 * MS milliseconds from the reserved nick "ticker". */
#ifndef DX_SERVER_TICKER_H
#define DX_SERVER_TICKER_H

#include "server/server.h"

/* Starts one ticker per cfg->tickers entry; false on failure. */
bool dx_tickers_start (dx_server *srv);
/* Stops and frees them (their timers close asynchronously). */
void dx_tickers_stop (dx_server *srv);

#endif
