/* --ticker ROOM:MS: a demo source posting a generated line to ROOM every
 * MS milliseconds from the reserved nick "ticker". */
#ifndef DX_SERVER_TICKER_H
#define DX_SERVER_TICKER_H

#include <stdbool.h>

#include "platform/loop.h"
#include "server/config.h"
#include "server/poster.h"

typedef struct dx_ticker dx_ticker;

/* Starts one ticker per cfg->tickers entry, posting through poster, and
 * links them into *list; false on failure (those started stay linked). */
bool dx_tickers_start (dx_loop *loop, const dx_config *cfg, dx_poster *poster, dx_ticker **list);
/* Stops and frees every ticker of *list (their timers close
 * asynchronously); *list is left empty. */
void dx_tickers_stop (dx_ticker **list);

#endif
