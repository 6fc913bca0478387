/* --ticker ROOM:MS[:FILE]: a demo source posting to ROOM every MS
 * milliseconds from the reserved nick "ticker": a generated line, or the
 * next line of a script (ticker-script.h), from the top again after the
 * last (docs/protocol.md §1). */
#ifndef DX_SERVER_TICKER_H
#define DX_SERVER_TICKER_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/loop.h"
#include "server/config.h"
#include "server/poster.h"

typedef struct dx_ticker dx_ticker;

/* Makes one ticker per cfg->tickers entry and reads their scripts, before
 * the server binds or opens anything, and links them into *list. false
 * with a one-line reason in err (those made stay linked). */
bool dx_tickers_prepare (const dx_config *cfg, dx_ticker **list, char *err, size_t errlen);
/* Starts the timers of the prepared tickers, which post through poster;
 * false on failure. */
bool dx_tickers_start (dx_loop *loop, dx_poster *poster, dx_ticker *list);
/* Stops and frees every ticker of *list (their timers close
 * asynchronously); *list is left empty. */
void dx_tickers_stop (dx_ticker **list);

#endif
