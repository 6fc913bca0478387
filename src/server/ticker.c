#include "server/ticker.h"

#include "server/log.h"

#include <stdio.h>
#include <stdlib.h>

struct dx_ticker {
  dx_ticker *next;
  dx_server *srv;
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
  dx_server *srv = tk->srv;
  if (srv->store == NULL || srv->shutting_down)
    return;
  char line[96];
  char when[32];

  dx_log_format_time (dx_wall_ms (), when, sizeof when);
  int n = snprintf (line, sizeof line, "tick %llu at %s",
                    (unsigned long long) ++tk->count, when);
  int rc = dx_server_post (srv, tk->room, "ticker", NULL, line, (size_t) n, NULL,
                           DX_TR_COUNT, on_tick_stored, tk);
  if (rc < 0)
    dx_log_warn ("ticker: cannot post to %s: %s", tk->room, dx_strerror (rc));
}

bool
dx_tickers_start (dx_server *srv)
{
  for (size_t i = 0; i < srv->cfg->n_tickers; i++)
    {
      const dx_ticker_spec *spec = &srv->cfg->tickers[i];
      dx_ticker *tk = calloc (1, sizeof *tk);
      if (tk == NULL)
        return false;
      tk->srv = srv;
      snprintf (tk->room, sizeof tk->room, "%s", spec->room);
      tk->timer = dx_timer_new (srv->loop);
      if (tk->timer == NULL)
        {
          free (tk);
          return false;
        }
      dx_handle_set_data (DX_HANDLE (tk->timer), tk);
      dx_timer_start (tk->timer, spec->ms, spec->ms, on_tick);
      tk->next = srv->tickers;
      srv->tickers = tk;
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
dx_tickers_stop (dx_server *srv)
{
  while (srv->tickers)
    {
      dx_ticker *tk = srv->tickers;
      srv->tickers = tk->next;
      dx_close (DX_HANDLE (tk->timer), on_ticker_closed);
    }
}
