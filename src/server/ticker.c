#include "server/ticker.h"

#include "server/log.h"
#include "server/ticker-script.h"

#include <stdio.h>
#include <stdlib.h>

struct dx_ticker {
  dx_ticker *next;
  dx_poster *poster;
  dx_timer *timer; /* NULL until started */
  char room[33];
  unsigned ms;
  uint64_t count;
  dx_ticker_script *script; /* NULL: generated lines */
  const char *script_path;
  size_t script_next; /* the line posted next */
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

/* The next line of the script; after the last, the first again. */
static const char *
next_script_line (dx_ticker *tk, size_t *len)
{
  const char *line = dx_ticker_script_line (tk->script, tk->script_next, len);
  if (++tk->script_next == dx_ticker_script_count (tk->script)) {
    tk->script_next = 0;
    dx_log_debug ("ticker: room %s: the script's last line; from the top next", tk->room);
  }
  return line;
}

static void
on_tick (dx_timer *t)
{
  dx_ticker *tk = dx_handle_data (DX_HANDLE (t));
  if (tk->poster->store == NULL)
    return;
  char buf[96];
  const char *line = buf;
  size_t len;
  if (tk->script)
    line = next_script_line (tk, &len);
  else {
    char when[32];
    dx_log_format_time (dx_wall_ms (), when, sizeof when);
    len = (size_t) snprintf (buf, sizeof buf, "tick %llu at %s", (unsigned long long) ++tk->count,
                             when);
  }
  int rc = dx_poster_post (tk->poster, tk->room, "ticker", NULL, line, len, NULL, DX_TR_COUNT,
                           on_tick_stored, tk);
  if (rc < 0)
    dx_log_warn ("ticker: cannot post to %s: %s", tk->room, dx_strerror (rc));
}

static void
ticker_free (dx_ticker *tk)
{
  dx_ticker_script_free (tk->script);
  free (tk);
}

bool
dx_tickers_prepare (const dx_config *cfg, dx_ticker **list, char *err, size_t errlen)
{
  for (size_t i = 0; i < cfg->n_tickers; i++) {
    const dx_ticker_spec *spec = &cfg->tickers[i];
    dx_ticker *tk = calloc (1, sizeof *tk);
    if (tk == NULL) {
      snprintf (err, errlen, "out of memory");
      return false;
    }
    snprintf (tk->room, sizeof tk->room, "%s", spec->room);
    tk->ms = spec->ms;
    tk->script_path = spec->script;
    tk->next = *list;
    *list = tk;
    if (spec->script) {
      char why[400];
      tk->script = dx_ticker_script_load (spec->script, why, sizeof why);
      if (tk->script == NULL) {
        snprintf (err, errlen, "--ticker %s: %s", tk->room, why);
        return false;
      }
    }
  }
  return true;
}

bool
dx_tickers_start (dx_loop *loop, dx_poster *poster, dx_ticker *list)
{
  for (dx_ticker *tk = list; tk; tk = tk->next) {
    tk->poster = poster;
    tk->timer = dx_timer_new (loop);
    if (tk->timer == NULL)
      return false;
    dx_handle_set_data (DX_HANDLE (tk->timer), tk);
    dx_timer_start (tk->timer, tk->ms, tk->ms, on_tick);
    if (tk->script)
      dx_log_info ("ticker: room %s every %u ms, %zu lines of %s (then from the top)", tk->room,
                   tk->ms, dx_ticker_script_count (tk->script), tk->script_path);
    else
      dx_log_info ("ticker: room %s every %u ms", tk->room, tk->ms);
  }
  return true;
}

static void
on_ticker_closed (dx_handle *h)
{
  ticker_free (dx_handle_data (h));
}

void
dx_tickers_stop (dx_ticker **list)
{
  while (*list) {
    dx_ticker *tk = *list;
    *list = tk->next;
    if (tk->timer)
      dx_close (DX_HANDLE (tk->timer), on_ticker_closed);
    else
      ticker_free (tk);
  }
}
