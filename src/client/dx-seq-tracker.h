/* DxSeqTracker: what a stream of ids from a carrier that promises nothing
 * (UDP, docs/protocol.md §8) looks like against the room's numbering
 * 1, 2, 3, … — which ids came in order, which skipped ahead (the ids in
 * between are now missing), which came late and filled a hole, which came
 * twice. Pure bookkeeping: no I/O, no clock, no GObject. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  DX_SEQ_IN_ORDER,  /* the id right after the highest one seen */
  DX_SEQ_AHEAD,     /* beyond it: the ids in between are missing (a gap) */
  DX_SEQ_LATE,      /* below the highest and missing: it fills a hole */
  DX_SEQ_DUPLICATE, /* held already (or at or below the starting point) */
} DxSeqVerdict;

/* How far above the contiguous point the tracker remembers single ids.
 * A hole older than that is given up (stays counted as missing), so a long
 * lossy session does not grow the set without bound. */
#define DX_SEQ_WINDOW 8192

typedef struct _DxSeqTracker DxSeqTracker;

/* Ids up to and including `since` count as held. */
DxSeqTracker *dx_seq_tracker_new (guint64 since);
void dx_seq_tracker_free (DxSeqTracker *self);
/* Forget everything; start again after `since` (a new join). */
void dx_seq_tracker_reset (DxSeqTracker *self, guint64 since);

/* Record one arrival. For DX_SEQ_AHEAD, *gap_first..*gap_last (may be
 * NULL) are the ids it skipped. */
DxSeqVerdict dx_seq_tracker_add (DxSeqTracker *self, guint64 id, guint64 *gap_first,
                                 guint64 *gap_last);
/* id is above the contiguous point, at or below the highest, and not held. */
gboolean dx_seq_tracker_is_missing (const DxSeqTracker *self, guint64 id);

/* Every id up to this one is held (or was given up). */
guint64 dx_seq_tracker_get_contiguous (const DxSeqTracker *self);
/* The highest id seen (the starting point if none). */
guint64 dx_seq_tracker_get_highest (const DxSeqTracker *self);
/* Ids ever found missing (skipped by an AHEAD arrival). */
guint64 dx_seq_tracker_get_skipped (const DxSeqTracker *self);
/* Of those, how many arrived later (LATE). */
guint64 dx_seq_tracker_get_filled (const DxSeqTracker *self);
guint64 dx_seq_tracker_get_duplicates (const DxSeqTracker *self);
/* Missing right now: skipped - filled. */
guint64 dx_seq_tracker_get_missing (const DxSeqTracker *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DxSeqTracker, dx_seq_tracker_free)

G_END_DECLS
