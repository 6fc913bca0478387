/* Posting and tokens (poster.c over a memory store and a hub): the
 * sender's answer comes before the fan-out, a retried cid is answered as
 * a duplicate and not fanned out again, messages are counted on their
 * transport, tokens are 40 hex characters bound to a nick, and nothing is
 * posted or issued once the poster is closed. */
#include "server/hub.h"
#include "server/poster.h"
#include "server/token.h"

#include "../tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char log[256];
  int answers;
  bool last_duplicate;
  uint64_t last_id;
} recorder;

static void
note (recorder *r, const char *what)
{
  strncat (r->log, what, sizeof r->log - strlen (r->log) - 1);
}

static void
on_posted (void *arg, int status, const dx_stored_msg *msg, bool duplicate)
{
  recorder *r = arg;
  note (r, status == 0 ? "answer " : "error ");
  r->answers++;
  r->last_duplicate = duplicate;
  r->last_id = msg ? msg->id : 0;
}

typedef struct {
  dx_sub sub; /* first */
  recorder *rec;
} fake_sub;

static void
fake_message (dx_sub *sub, dx_shared_event *e)
{
  fake_sub *f = (fake_sub *) sub;
  char one[32];
  snprintf (one, sizeof one, "fanout%llu ", (unsigned long long) e->id);
  note (f->rec, one);
}

static const dx_sub_ops fake_ops = { fake_message, NULL, NULL };

/* Runs the loop until want answers have arrived (at most 10 s). */
typedef struct {
  recorder *rec;
  int want;
  uint64_t deadline;
} waiter;

static void
tick (dx_timer *t)
{
  waiter *w = dx_handle_data (DX_HANDLE (t));
  if (w->rec->answers >= w->want || dx_monotonic_ms () > w->deadline)
    dx_loop_stop (dx_handle_loop (DX_HANDLE (t)));
}

static bool
wait_answers (dx_loop *loop, recorder *rec, int want)
{
  waiter w = { rec, want, dx_monotonic_ms () + 10000 };
  dx_timer *t = dx_timer_new (loop);
  dx_handle_set_data (DX_HANDLE (t), &w);
  dx_timer_start (t, 1, 1, tick);
  dx_loop_run (loop);
  dx_close (DX_HANDLE (t), NULL);
  return rec->answers >= want;
}

static bool
all_hex (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return s[n] == '\0';
}

static void
test_tokens_generated (void)
{
  char a[DX_TOKEN_LEN + 1], b[DX_TOKEN_LEN + 1];
  OK (dx_token_generate (a) == 0 && dx_token_generate (b) == 0, "two tokens generated");
  OK (strlen (a) == DX_TOKEN_LEN && all_hex (a, DX_TOKEN_LEN), "40 lower-case hex characters");
  OK (strcmp (a, b) != 0, "tokens differ");
}

int
main (void)
{
  test_tokens_generated ();

  int err = 0;
  dx_loop *loop = dx_loop_new (&err);
  if (loop == NULL) {
    printf ("Bail out! dx_loop_new: %s\n", dx_strerror (err));
    return 1;
  }
  dx_store_config sc;
  dx_store_config_init (&sc);
  char why[256];
  dx_store *store = dx_store_open (loop, &sc, why, sizeof why);
  dx_hub *hub = dx_hub_new ();
  if (store == NULL || hub == NULL) {
    printf ("Bail out! store or hub: %s\n", store ? "out of memory" : why);
    return 1;
  }
  dx_metrics metrics;
  dx_metrics_init (&metrics);
  dx_poster poster;
  dx_poster_init (&poster, store, hub, &metrics);

  char token[DX_TOKEN_LEN + 1];
  OK (dx_poster_new_token (&poster, "alice", token, sizeof token) == 0, "token issued");
  const char *nick = dx_poster_token_nick (&poster, token);
  OK (nick != NULL && strcmp (nick, "alice") == 0, "the token names its nick");
  OK (dx_poster_token_nick (&poster, "0000000000000000000000000000000000000000") == NULL,
      "an unknown token names nobody");
  OK (dx_poster_new_token (&poster, "alice", token, 8) == DX_EINVAL, "no room for a token");

  recorder rec;
  memset (&rec, 0, sizeof rec);
  fake_sub listener;
  memset (&listener, 0, sizeof listener);
  listener.sub.ops = &fake_ops;
  listener.sub.kind = DX_SUB_SSE;
  listener.sub.next_id = 1;
  listener.rec = &rec;
  OK (dx_hub_subscribe (hub, &listener.sub, "lobby"), "a listener in lobby");

  OK (dx_poster_post (&poster, "lobby", "alice", token, "hi", 2, "c-1", DX_TR_TCP, on_posted, &rec)
          == 0,
      "post accepted");
  OK (wait_answers (loop, &rec, 1), "post answered");
  OK (strcmp (rec.log, "answer fanout1 ") == 0, "the sender's answer before the fan-out (%s)",
      rec.log);
  OK (!rec.last_duplicate && rec.last_id == 1, "a new message, id 1");
  OK (metrics.msgs_in[DX_TR_TCP] == 1, "counted on its transport");

  rec.log[0] = '\0';
  OK (dx_poster_post (&poster, "lobby", "alice", token, "hi", 2, "c-1", DX_TR_TCP, on_posted, &rec)
          == 0,
      "retry accepted");
  OK (wait_answers (loop, &rec, 2), "retry answered");
  OK (rec.last_duplicate && rec.last_id == 1, "the retry is the original message");
  OK (strcmp (rec.log, "answer ") == 0, "a retry is not fanned out again (%s)", rec.log);
  OK (metrics.msgs_in[DX_TR_TCP] == 1, "a retry is not counted again");

  rec.log[0] = '\0';
  OK (dx_poster_post (&poster, "lobby", "ticker", NULL, "tick", 4, NULL, DX_TR_COUNT, on_posted,
                      &rec)
          == 0,
      "a post without transport (the ticker)");
  OK (wait_answers (loop, &rec, 3), "answered");
  OK (strcmp (rec.log, "answer fanout2 ") == 0, "fanned out (%s)", rec.log);
  uint64_t total = 0;
  for (int t = 0; t < DX_TR_COUNT; t++)
    total += metrics.msgs_in[t];
  OK (total == 1, "and counted on no transport");

  OK (dx_poster_post (&poster, "lobby", "alice", token, "", 0, NULL, DX_TR_TCP, on_posted, &rec)
          == DX_EINVAL,
      "an empty text is refused at once");

  dx_hub_unsubscribe (hub, &listener.sub);
  dx_poster_close (&poster);
  OK (poster.store == NULL, "closed");
  OK (dx_poster_post (&poster, "lobby", "alice", token, "late", 4, NULL, DX_TR_TCP, on_posted, &rec)
          == DX_ECANCELED,
      "no post once closed");
  OK (dx_poster_new_token (&poster, "bob", token, sizeof token) == DX_ECANCELED,
      "no token once closed");
  OK (dx_poster_token_nick (&poster, token) == NULL, "no token lookup once closed");
  OK (rec.answers == 3, "no late answer");

  dx_hub_free (hub);
  dx_loop_run (loop); /* lets the store's handle close */
  dx_loop_free (loop);
  return tap_done ();
}
