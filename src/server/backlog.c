#include "server/backlog.h"

#include "platform/loop.h"
#include "protocol/names.h"
#include "server/strmap.h"

#include <stdlib.h>
#include <string.h>

const uint64_t dx_backlog_bounds_ms[DX_BACKLOG_BUCKETS] = {
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
};

typedef struct bl_room {
  char name[DX_ROOM_MAX + 1];
  /* Both lists in accept order (appended at the tail, unlinked anywhere),
   * so their heads are the oldest. */
  dx_delivery *head, *tail;           /* not done */
  dx_delivery *late_head, *late_tail; /* late */
} bl_room;

struct dx_delivery {
  dx_backlog *bl;
  bl_room *room;
  dx_delivery *prev, *next;
  dx_delivery *late_prev, *late_next;
  uint64_t accepted_us;
  size_t writes;  /* outstanding */
  size_t targets; /* writes the fan-out queued */
  size_t bytes;   /* of the outstanding writes */
  bool late, fanned, ended;
};

struct dx_backlog {
  dx_strmap rooms; /* name -> bl_room, while it has deliveries not done */
  uint64_t msgs, bytes;
  uint64_t late_bytes; /* of the late deliveries: the loop's work ahead */
  uint64_t expected;   /* bytes the fan-outs of the sends being stored will write */
  /* The drain rate: bytes written while there was late work, over the
   * time there was (see update_rate). */
  uint64_t (*clock) (void);
  uint64_t busy_since_us;       /* late work since then; 0: none now */
  uint64_t busy_us, busy_bytes; /* since the last measure */
  uint64_t mark_us;             /* the last measure */
  double rate;                  /* bytes a second; 0: not measured yet */
  uint64_t done, done_sum_us, done_le[DX_BACKLOG_BUCKETS];
  uint64_t most, most_sum_us, most_le[DX_BACKLOG_BUCKETS]; /* late -> not late */
  uint64_t refused;
  uint64_t refused_why[DX_BACKLOG_REFUSED_WHY];
};

dx_backlog *
dx_backlog_new (void)
{
  dx_backlog *bl = calloc (1, sizeof (dx_backlog));
  if (bl)
    bl->clock = dx_monotonic_us;
  return bl;
}

void
dx_backlog_set_clock (dx_backlog *bl, uint64_t (*now_us) (void))
{
  bl->clock = now_us;
}

/* late_bytes changes only here: the loop's busy time starts when late work
 * appears and stops when none is left. */
static void
late_add (dx_backlog *bl, size_t len)
{
  if (bl->late_bytes == 0 && len > 0)
    bl->busy_since_us = bl->clock ();
  bl->late_bytes += len;
}

static void
late_sub (dx_backlog *bl, size_t len)
{
  bl->late_bytes -= len;
  if (bl->late_bytes == 0 && bl->busy_since_us != 0) {
    uint64_t now = bl->clock ();
    bl->busy_us += now > bl->busy_since_us ? now - bl->busy_since_us : 0;
    bl->busy_since_us = 0;
  }
}

static void
room_free (void *value)
{
  bl_room *r = value;
  for (dx_delivery *d = r->head, *next; d; d = next) {
    next = d->next;
    free (d);
  }
  free (r);
}

void
dx_backlog_free (dx_backlog *bl)
{
  if (bl == NULL)
    return;
  dx_strmap_clear (&bl->rooms, room_free);
  free (bl);
}

dx_delivery *
dx_delivery_begin (dx_backlog *bl, const char *room, uint64_t accepted_us)
{
  size_t len = strlen (room);
  if (bl == NULL || len > DX_ROOM_MAX)
    return NULL;
  bl_room *r = dx_strmap_get (&bl->rooms, room);
  if (r == NULL) {
    r = calloc (1, sizeof *r);
    if (r == NULL)
      return NULL;
    memcpy (r->name, room, len + 1);
    if (!dx_strmap_put (&bl->rooms, r->name, r, NULL)) {
      free (r);
      return NULL;
    }
  }
  dx_delivery *d = calloc (1, sizeof *d);
  if (d == NULL) {
    if (r->head == NULL)
      free (dx_strmap_remove (&bl->rooms, r->name));
    return NULL;
  }
  d->bl = bl;
  d->room = r;
  d->accepted_us = accepted_us;
  /* Late until its fan-out has queued its writes. */
  d->late = true;
  d->prev = r->tail;
  if (r->tail)
    r->tail->next = d;
  else
    r->head = d;
  r->tail = d;
  d->late_prev = r->late_tail;
  if (r->late_tail)
    r->late_tail->late_next = d;
  else
    r->late_head = d;
  r->late_tail = d;
  bl->msgs++;
  return d;
}

static void
count_took (uint64_t now, uint64_t accepted_us, uint64_t *n, uint64_t *sum_us, uint64_t *le)
{
  uint64_t took = now > accepted_us ? now - accepted_us : 0;
  (*n)++;
  *sum_us += took;
  for (int i = 0; i < DX_BACKLOG_BUCKETS; i++)
    if (took <= dx_backlog_bounds_ms[i] * 1000)
      le[i]++;
}

/* d is no longer late: the time the bound judges is over. */
static void
unlink_late (dx_delivery *d)
{
  bl_room *r = d->room;
  dx_backlog *bl = d->bl;
  count_took (bl->clock (), d->accepted_us, &bl->most, &bl->most_sum_us, bl->most_le);
  late_sub (bl, d->bytes);
  if (d->late_prev)
    d->late_prev->late_next = d->late_next;
  else
    r->late_head = d->late_next;
  if (d->late_next)
    d->late_next->late_prev = d->late_prev;
  else
    r->late_tail = d->late_prev;
  d->late = false;
}

/* Late while more writes are outstanding than the slowest tenth of the
 * recipients (at least one): one member that does not read must not hold
 * a room's senders back; the per-connection bound cuts it (conn.h). */
static void
update_late (dx_delivery *d)
{
  if (!d->late || !d->fanned)
    return;
  size_t allowance = d->targets / 10 > 0 ? d->targets / 10 : 1;
  if (d->writes <= allowance)
    unlink_late (d);
}

static void
finish (dx_delivery *d)
{
  dx_backlog *bl = d->bl;
  bl_room *r = d->room;
  count_took (bl->clock (), d->accepted_us, &bl->done, &bl->done_sum_us, bl->done_le);
  if (d->late)
    unlink_late (d);
  if (d->prev)
    d->prev->next = d->next;
  else
    r->head = d->next;
  if (d->next)
    d->next->prev = d->prev;
  else
    r->tail = d->prev;
  bl->msgs--;
  free (d);
  if (r->head == NULL)
    free (dx_strmap_remove (&bl->rooms, r->name));
}

void
dx_delivery_write_add (dx_delivery *d, size_t len)
{
  d->writes++;
  d->bytes += len;
  d->bl->bytes += len;
  if (d->late)
    late_add (d->bl, len);
}

void
dx_delivery_write_done (dx_delivery *d, size_t len)
{
  d->writes--;
  d->bytes -= len;
  d->bl->bytes -= len;
  /* Written while the loop had late work: part of its drain rate. */
  if (d->bl->late_bytes > 0)
    d->bl->busy_bytes += len;
  if (d->late)
    late_sub (d->bl, len);
  update_late (d);
  if (d->ended && d->writes == 0)
    finish (d);
}

void
dx_delivery_fanned_out (dx_delivery *d)
{
  if (d->fanned)
    return;
  d->fanned = true;
  d->targets = d->writes;
  update_late (d);
}

void
dx_delivery_end (dx_delivery *d)
{
  dx_delivery_fanned_out (d);
  d->ended = true;
  if (d->writes == 0)
    finish (d);
}

static bool
room_behind (const bl_room *r, uint64_t max_delivery_ms, uint64_t now_us)
{
  if (max_delivery_ms == 0 || r->late_head == NULL || now_us <= r->late_head->accepted_us)
    return false;
  /* Half the bound: what is accepted now still waits for what is ahead
   * of it, about as long again. */
  return now_us - r->late_head->accepted_us > max_delivery_ms * 500;
}

void
dx_backlog_expect (dx_backlog *bl, size_t bytes)
{
  if (bl)
    bl->expected += bytes;
}

void
dx_backlog_unexpect (dx_backlog *bl, size_t bytes)
{
  if (bl)
    bl->expected -= bytes < bl->expected ? bytes : bl->expected;
}

/* Every DX_BACKLOG_RATE_MS, once the loop has had late work for at least
 * DX_BACKLOG_RATE_MIN_BUSY_US since the last measure: the bytes written in
 * that busy time over its length, averaged with the earlier estimate. This
 * is how fast the loop and the readers drain work when there is work, its
 * capacity: idle time is left out. It used to be the bytes written over
 * the whole span that began with late work, which at a rate the server
 * sustains measures the offer, not the capacity: when refusals slowed the
 * publishers the estimate fell with the offer, and fell further with every
 * refusal (sweeps refused most sends with the core half idle). Quiet spells
 * leave the estimate as it was. */
static void
update_rate (dx_backlog *bl, uint64_t now_us)
{
  if (bl->mark_us != 0 && now_us - bl->mark_us < DX_BACKLOG_RATE_MS * 1000)
    return;
  bl->mark_us = now_us;
  uint64_t busy = bl->busy_us;
  if (bl->busy_since_us != 0 && now_us > bl->busy_since_us)
    busy += now_us - bl->busy_since_us;
  if (busy < DX_BACKLOG_RATE_MIN_BUSY_US)
    return; /* too little to tell: keep adding up */
  double inst = (double) bl->busy_bytes * 1e6 / (double) busy;
  bl->rate = bl->rate > 0 ? 0.7 * bl->rate + 0.3 * inst : inst;
  bl->busy_us = 0;
  bl->busy_bytes = 0;
  if (bl->busy_since_us != 0)
    bl->busy_since_us = now_us;
}

uint64_t
dx_backlog_refuse_ms (dx_backlog *bl, const char *room, uint64_t max_delivery_ms, uint64_t now_us)
{
  if (bl == NULL || max_delivery_ms == 0)
    return 0;
  update_rate (bl, now_us);
  uint64_t half = max_delivery_ms / 2 > 0 ? max_delivery_ms / 2 : 1;
  uint64_t retry = 0;
  /* The work queued ahead of a new message (bytes of the late deliveries,
   * and bytes the sends being stored will write) at the drain rate: over
   * half the bound, the message would wait too long.
   * This acts before anything is late, so a burst read in one go is cut
   * short; it waits for a first measure of the rate. What waits for the slowest members only is not counted: it
   * delays nobody else. */
  uint64_t work = bl->late_bytes + bl->expected;
  double allowed = bl->rate * (double) half / 1e3;
  if (bl->rate > 0 && work > DX_BACKLOG_MIN_BYTES && (double) work > allowed) {
    double excess_ms = ((double) work - allowed) * 1e3 / bl->rate;
    retry = excess_ms < (double) half ? (uint64_t) excess_ms + 1 : half;
  }
  dx_backlog_refused_why why = DX_BACKLOG_REFUSED_QUEUED;
  /* What is late already (the readers, not the loop, are behind). */
  bl_room *r = dx_strmap_get (&bl->rooms, room);
  if (r && room_behind (r, max_delivery_ms, now_us)) {
    retry = half;
    why = DX_BACKLOG_REFUSED_BEHIND;
  }
  if (bl->bytes > DX_BACKLOG_MAX_BYTES) {
    retry = half;
    why = DX_BACKLOG_REFUSED_MEMORY;
  }
  if (retry) {
    bl->refused++;
    bl->refused_why[why]++;
  }
  return retry;
}

typedef struct {
  dx_backlog_stats *st;
  uint64_t now_us, max_delivery_ms;
} stats_ctx;

static bool
room_stats (void *arg, const char *key, void *value)
{
  stats_ctx *c = arg;
  const bl_room *r = value;
  (void) key;
  if (r->head && c->now_us > r->head->accepted_us
      && c->now_us - r->head->accepted_us > c->st->oldest_us)
    c->st->oldest_us = c->now_us - r->head->accepted_us;
  if (r->late_head && c->now_us > r->late_head->accepted_us
      && c->now_us - r->late_head->accepted_us > c->st->oldest_late_us)
    c->st->oldest_late_us = c->now_us - r->late_head->accepted_us;
  if (room_behind (r, c->max_delivery_ms, c->now_us))
    c->st->rooms_behind++;
  return true;
}

void
dx_backlog_get_stats (const dx_backlog *bl, uint64_t now_us, uint64_t max_delivery_ms,
                      dx_backlog_stats *out)
{
  memset (out, 0, sizeof *out);
  if (bl == NULL)
    return;
  out->msgs = bl->msgs;
  out->bytes = bl->bytes;
  out->done = bl->done;
  out->done_sum_us = bl->done_sum_us;
  memcpy (out->done_le, bl->done_le, sizeof out->done_le);
  out->most = bl->most;
  out->most_sum_us = bl->most_sum_us;
  memcpy (out->most_le, bl->most_le, sizeof out->most_le);
  out->refused = bl->refused;
  memcpy (out->refused_why, bl->refused_why, sizeof out->refused_why);
  out->drain_rate = bl->rate;
  stats_ctx c = { out, now_us, max_delivery_ms };
  dx_strmap_each (&bl->rooms, room_stats, &c);
}

static void
histogram (dx_buffer *out, const char *name, uint64_t n, uint64_t sum_us, const uint64_t *le)
{
  for (int i = 0; i < DX_BACKLOG_BUCKETS; i++)
    dx_buffer_printf (out, "%s_bucket{le=\"%g\"} %llu\n", name,
                      (double) dx_backlog_bounds_ms[i] / 1e3, (unsigned long long) le[i]);
  dx_buffer_printf (out,
                    "%s_bucket{le=\"+Inf\"} %llu\n"
                    "%s_sum %.6f\n"
                    "%s_count %llu\n",
                    name, (unsigned long long) n, name, (double) sum_us / 1e6, name,
                    (unsigned long long) n);
}

void
dx_backlog_render_metrics (const dx_backlog *bl, uint64_t now_us, uint64_t max_delivery_ms,
                           dx_buffer *out)
{
  dx_backlog_stats st;
  dx_backlog_get_stats (bl, now_us, max_delivery_ms, &st);
  dx_buffer_printf (
      out,
      "# HELP duplex_delivery_backlog_messages Accepted messages whose fan-out is not all "
      "written yet (docs/protocol.md 9).\n"
      "# TYPE duplex_delivery_backlog_messages gauge\n"
      "duplex_delivery_backlog_messages %llu\n"
      "# HELP duplex_delivery_backlog_bytes Bytes of fan-out writes queued and not written yet.\n"
      "# TYPE duplex_delivery_backlog_bytes gauge\n"
      "duplex_delivery_backlog_bytes %llu\n"
      "# HELP duplex_delivery_oldest_seconds Age of the oldest accepted message not yet "
      "written to every member.\n"
      "# TYPE duplex_delivery_oldest_seconds gauge\n"
      "duplex_delivery_oldest_seconds %.6f\n"
      "# HELP duplex_delivery_oldest_late_seconds Age of the oldest accepted message not yet "
      "written to all but the slowest tenth of its members (what the bound judges).\n"
      "# TYPE duplex_delivery_oldest_late_seconds gauge\n"
      "duplex_delivery_oldest_late_seconds %.6f\n"
      "# HELP duplex_delivery_bound_seconds --max-delivery-ms (0: off).\n"
      "# TYPE duplex_delivery_bound_seconds gauge\n"
      "duplex_delivery_bound_seconds %.3f\n"
      "# HELP duplex_delivery_rooms_behind Rooms refusing sends now (delivery bound).\n"
      "# TYPE duplex_delivery_rooms_behind gauge\n"
      "duplex_delivery_rooms_behind %llu\n"
      "# HELP duplex_delivery_drain_rate_bytes Bytes a second the loop and the readers write "
      "while there is late work (the bound judges queued work by it; 0: not measured yet).\n"
      "# TYPE duplex_delivery_drain_rate_bytes gauge\n"
      "duplex_delivery_drain_rate_bytes %.0f\n"
      "# HELP duplex_delivery_refused_total Sends refused by the delivery bound "
      "(rate_limited / 429 with a retry time).\n"
      "# TYPE duplex_delivery_refused_total counter\n"
      "duplex_delivery_refused_total %llu\n"
      "# HELP duplex_delivery_seconds Time from accepting a message to its last fan-out write.\n"
      "# TYPE duplex_delivery_seconds histogram\n",
      (unsigned long long) st.msgs, (unsigned long long) st.bytes, (double) st.oldest_us / 1e6,
      (double) st.oldest_late_us / 1e6, (double) max_delivery_ms / 1e3,
      (unsigned long long) st.rooms_behind, st.drain_rate, (unsigned long long) st.refused);
  static const char *const why[DX_BACKLOG_REFUSED_WHY] = { "queued", "behind", "memory" };
  dx_buffer_printf (out, "# HELP duplex_delivery_refused_why_total Sends refused by the delivery "
                         "bound, by the test that refused them (docs/protocol.md 9.1: queued "
                         "work, a room behind, the memory guard).\n"
                         "# TYPE duplex_delivery_refused_why_total counter\n");
  for (int i = 0; i < DX_BACKLOG_REFUSED_WHY; i++)
    dx_buffer_printf (out, "duplex_delivery_refused_why_total{why=\"%s\"} %llu\n", why[i],
                      (unsigned long long) st.refused_why[i]);
  histogram (out, "duplex_delivery_seconds", st.done, st.done_sum_us, st.done_le);
  dx_buffer_printf (out, "# HELP duplex_delivery_most_seconds Time from accepting a message to "
                         "its write to all but the slowest tenth of its members (what the bound "
                         "judges).\n"
                         "# TYPE duplex_delivery_most_seconds histogram\n");
  histogram (out, "duplex_delivery_most_seconds", st.most, st.most_sum_us, st.most_le);
}
