#include "server/ticker.h"

#include "server/log.h"

#include <stdio.h>
#include <stdlib.h>

struct dx_ticker {
  dx_ticker *next;
  dx_poster *poster;
  dx_timer *timer;
  char room[33];
  uint64_t count;
};

static void
on_tick_stored (void *arg, int status, const dx_stored_msg *msg, bool duplicate)
{
  (void) arg;
  (void) msg;
  (void) duplicate;
  if (status < 0)
    dx_log_warn ("ticker: the store refused a line: %s", dx_strerror (status));
}

static void
on_tick (dx_timer *t)
{
  dx_ticker *tk = dx_handle_data (DX_HANDLE (t));
  if (tk->poster->store == NULL)
    return;
  char line[96];
  char when[32];

  dx_log_format_time (dx_wall_ms (), when, sizeof when);
  int n = snprintf (line, sizeof line, "tick %llu at %s", (unsigned long long) ++tk->count, when);
  int rc = dx_poster_post (tk->poster, tk->room, "ticker", NULL, line, (size_t) n, NULL,
                           DX_TR_COUNT, on_tick_stored, tk);
  if (rc < 0)
    dx_log_warn ("ticker: cannot post to %s: %s", tk->room, dx_strerror (rc));
}

bool
dx_tickers_start (dx_loop *loop, const dx_config *cfg, dx_poster *poster, dx_ticker **list)
{
  for (size_t i = 0; i < cfg->n_tickers; i++) {
    const dx_ticker_spec *spec = &cfg->tickers[i];
    dx_ticker *tk = calloc (1, sizeof *tk);
    if (tk == NULL)
      return false;
    tk->poster = poster;
    snprintf (tk->room, sizeof tk->room, "%s", spec->room);
    tk->timer = dx_timer_new (loop);
    if (tk->timer == NULL) {
      free (tk);
      return false;
    }
    dx_handle_set_data (DX_HANDLE (tk->timer), tk);
    dx_timer_start (tk->timer, spec->ms, spec->ms, on_tick);
    tk->next = *list;
    *list = tk;
    dx_log_info ("ticker: room %s every %u ms", tk->room, spec->ms);
  }
  return true;
}

static void
on_ticker_closed (dx_handle *h)
{
  free (dx_handle_data (h));
}

void
dx_tickers_stop (dx_ticker **list)
{
  while (*list) {
    dx_ticker *tk = *list;
    *list = tk->next;
    dx_close (DX_HANDLE (tk->timer), on_ticker_closed);
  }
}
