/* Presence on the other nodes (presence.c): joins and leaves told once
 * per nick across nodes, heartbeats that replace a node's state, online
 * counts summed, and a silent node expiring with its nicks. */
#include "server/presence.h"

#include "../tap.h"

#include <stdio.h>
#include <string.h>

static char told[64][80];
static size_t n_told;

static void
tell (void *arg, const char *room, const char *nick, bool joined)
{
  (void) arg;
  if (n_told < 64)
    snprintf (told[n_told++], sizeof told[0], "%s %s %s", room, nick, joined ? "join" : "leave");
}

static bool
told_is (size_t i, const char *want)
{
  return i < n_told && strcmp (told[i], want) == 0;
}

static bool
count_room (void *arg, const char *room)
{
  (void) room;
  ++*(size_t *) arg;
  return true;
}

int
main (void)
{
  dx_presence *p = dx_presence_new (6000, tell, NULL);
  OK (p != NULL, "new");
  OK (!dx_presence_has (p, "lobby", "bob") && dx_presence_online (p, "lobby") == 0, "empty");

  dx_presence_update (p, "n1", "lobby", "bob", true, 1, 1000);
  OK (n_told == 1 && told_is (0, "lobby bob join"), "bob joins on n1: told");
  dx_presence_update (p, "n2", "lobby", "bob", true, 2, 1100);
  OK (n_told == 1, "bob on n2 too: no news");
  OK (dx_presence_has (p, "lobby", "bob") && dx_presence_online (p, "lobby") == 3,
      "bob is there; online summed over nodes (1 + 2)");
  dx_presence_update (p, "n1", "lobby", "bob", false, 0, 1200);
  OK (n_told == 1 && dx_presence_has (p, "lobby", "bob"), "bob leaves n1 but stays on n2");
  dx_presence_update (p, "n2", "lobby", "bob", false, 1, 1300);
  OK (n_told == 2 && told_is (1, "lobby bob leave") && !dx_presence_has (p, "lobby", "bob"),
      "bob leaves his last node: told");

  const char *a[] = { "ann", "cy", "ann" };
  dx_presence_sync (p, "n3", "hall", a, 3, 4, 2000);
  OK (n_told == 4 && told_is (2, "hall ann join") && told_is (3, "hall cy join"),
      "a heartbeat with new nicks tells each once (duplicates too)");
  OK (dx_presence_online (p, "hall") == 4, "its online count");
  const char *b[] = { "cy", "dee" };
  dx_presence_sync (p, "n3", "hall", b, 2, 2, 3000);
  OK (n_told == 6 && told_is (4, "hall ann leave") && told_is (5, "hall dee join"),
      "the next heartbeat replaces the state: ann left, dee joined");

  dx_presence_expire (p, 8000);
  OK (n_told == 6 && dx_presence_has (p, "hall", "cy"), "renewed at 3000: alive at 8000");
  dx_presence_expire (p, 9000);
  OK (n_told == 8 && dx_presence_online (p, "hall") == 0 && !dx_presence_has (p, "hall", "cy"),
      "silent for 6 s: its nicks leave (%zu told)", n_told);
  OK (dx_presence_online (p, "lobby") == 0, "n1 and n2 expired from lobby too (online 0)");

  dx_presence_update (p, "n5", "attic", "flo", true, 1, 8800);
  size_t rooms = 0;
  dx_presence_each_room (p, count_room, &rooms);
  OK (rooms == 1, "each room: the one with an entry (%zu)", rooms);
  dx_presence_update (p, "n5", "attic", "flo", false, 0, 8900);
  dx_presence_sync (p, "n4", "hall", NULL, 0, 0, 9500);
  OK (dx_presence_online (p, "hall") == 0 && n_told == 10, "an empty heartbeat leaves nothing");
  dx_presence_update (p, "n4", "hall", "eve", true, 1, 9600);
  dx_presence_clear (p);
  OK (!dx_presence_has (p, "hall", "eve") && n_told == 11, "clear forgets without telling");
  dx_presence_free (p);
  dx_presence_free (NULL);
  return tap_done ();
}
