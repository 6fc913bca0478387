/* Hub and rooms: membership, online counts, presence (once per nick),
 * fan-out to every subscriber, a subscriber leaving from inside its own
 * delivery, rooms dropped when empty. */
#include "server/hub.h"

#include "../tap.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  dx_sub sub;
  char log[512];
  bool leave_on_message;
  dx_hub *hub;
} fake;

static void
fake_message (dx_sub *sub, dx_shared_event *e)
{
  fake *f = (fake *) sub;
  char one[32];
  snprintf (one, sizeof one, "m%llu ", (unsigned long long) e->id);
  strncat (f->log, one, sizeof f->log - strlen (f->log) - 1);
  if (f->leave_on_message)
    dx_hub_unsubscribe (f->hub, sub);
}

static void
fake_presence (dx_sub *sub, dx_shared_event *e)
{
  fake *f = (fake *) sub;
  const char *json = e->json->data;
  char one[64];
  const char *nick = strstr (json, "\"nick\":\"");
  const char *state = strstr (json, "\"state\":\"");
  snprintf (one, sizeof one, "%c%.*s ", state && state[9] == 'j' ? '+' : '-',
            nick ? (int) (strchr (nick + 8, '"') - (nick + 8)) : 0, nick ? nick + 8 : "");
  strncat (f->log, one, sizeof f->log - strlen (f->log) - 1);
}

static const dx_sub_ops ops = { fake_message, fake_presence, NULL };

static void
init (fake *f, dx_hub *hub, dx_sub_kind kind, const char *nick)
{
  memset (f, 0, sizeof *f);
  f->sub.ops = &ops;
  f->sub.kind = kind;
  f->hub = hub;
  snprintf (f->sub.nick, sizeof f->sub.nick, "%s", nick);
}

static void
publish (dx_hub *hub, const char *room, uint64_t id)
{
  dx_stored_msg m = { room, id, 1000 + id, "alice", "hi", 2, NULL };
  dx_hub_publish (hub, &m);
}

int
main (void)
{
  dx_hub *hub = dx_hub_new ();
  fake a, b, a2, sse, lp;
  init (&a, hub, DX_SUB_SOCKET, "alice");
  init (&b, hub, DX_SUB_SOCKET, "bob");
  init (&a2, hub, DX_SUB_SOCKET, "alice");
  init (&sse, hub, DX_SUB_SSE, "");
  init (&lp, hub, DX_SUB_LONGPOLL, "");

  OK (dx_hub_find (hub, "lobby") == NULL, "no room before a subscriber");
  OK (!dx_hub_subscribe (hub, &a.sub, "Bad Room"), "invalid room name refused");
  OK (dx_hub_subscribe (hub, &a.sub, "lobby"), "alice joins");
  OK (dx_hub_online (hub, "lobby") == 1, "online 1");
  OK (a.log[0] == '\0', "the joiner gets no presence of itself");
  dx_hub_subscribe (hub, &sse.sub, "lobby");
  dx_hub_subscribe (hub, &b.sub, "lobby");
  OK (strcmp (a.log, "+bob ") == 0, "alice sees bob join (%s)", a.log);
  OK (strcmp (sse.log, "+bob ") == 0, "an SSE stream sees presence (%s)", sse.log);
  OK (dx_hub_online (hub, "lobby") == 3, "online counts sessions and SSE streams");
  dx_hub_subscribe (hub, &a2.sub, "lobby");
  OK (strcmp (b.log, "") == 0, "a second connection of alice: no presence (%s)", b.log);
  dx_hub_subscribe (hub, &lp.sub, "lobby");
  OK (dx_hub_online (hub, "lobby") == 4, "a long poll is not online");

  lp.leave_on_message = true;
  publish (hub, "lobby", 1);
  OK (strcmp (a.log, "+bob m1 ") == 0, "alice got m1 (%s)", a.log);
  OK (strcmp (lp.log, "m1 ") == 0 && lp.sub.room == NULL,
      "the long poll got m1 and left from inside its delivery");
  OK (strcmp (b.log, "m1 ") == 0 && strcmp (sse.log, "+bob m1 ") == 0
          && strcmp (a2.log, "m1 ") == 0,
      "everybody else got m1 too");
  publish (hub, "lobby", 2);
  OK (strcmp (lp.log, "m1 ") == 0, "the long poll got nothing more");
  publish (hub, "other", 1);
  OK (strcmp (b.log, "m1 m2 ") == 0, "no delivery from another room (%s)", b.log);

  dx_hub_unsubscribe (hub, &a.sub);
  OK (strcmp (b.log, "m1 m2 ") == 0, "alice still there on another connection");
  dx_hub_unsubscribe (hub, &a2.sub);
  OK (strcmp (b.log, "m1 m2 -alice ") == 0, "bob sees alice leave once (%s)", b.log);
  dx_hub_unsubscribe (hub, &b.sub);
  dx_hub_unsubscribe (hub, &b.sub);
  OK (dx_hub_online (hub, "lobby") == 1, "unsubscribing twice is harmless");
  dx_hub_unsubscribe (hub, &sse.sub);
  OK (dx_hub_find (hub, "lobby") == NULL, "the empty room is dropped");
  dx_hub_free (hub);
  return tap_done ();
}
