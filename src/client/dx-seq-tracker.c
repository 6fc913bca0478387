#include "dx-seq-tracker.h"

struct _DxSeqTracker {
  guint64 contiguous; /* every id <= this is held or given up */
  guint64 highest;
  GHashTable *held; /* ids in (contiguous, highest] that arrived */
  guint64 skipped, filled, duplicates;
};

DxSeqTracker *
dx_seq_tracker_new (guint64 since)
{
  DxSeqTracker *self = g_new0 (DxSeqTracker, 1);

  self->held = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  dx_seq_tracker_reset (self, since);
  return self;
}

void
dx_seq_tracker_free (DxSeqTracker *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->held);
  g_free (self);
}

void
dx_seq_tracker_reset (DxSeqTracker *self, guint64 since)
{
  g_hash_table_remove_all (self->held);
  self->contiguous = self->highest = since;
  self->skipped = self->filled = self->duplicates = 0;
}

static gboolean
held (const DxSeqTracker *self, guint64 id)
{
  gint64 key = (gint64) id;

  return id <= self->contiguous || g_hash_table_contains (self->held, &key);
}

static void
hold (DxSeqTracker *self, guint64 id)
{
  gint64 *key = g_new (gint64, 1);

  *key = (gint64) id;
  g_hash_table_add (self->held, key);
}

/* Move the contiguous point over every held id right above it, and give
 * up holes that fell out of the window. */
static void
advance (DxSeqTracker *self)
{
  for (;;) {
    gint64 next = (gint64) self->contiguous + 1;
    if (self->highest - self->contiguous > DX_SEQ_WINDOW) {
      /* Too old to wait for: counted as missing for good. */
      g_hash_table_remove (self->held, &next);
      self->contiguous++;
    } else if (g_hash_table_remove (self->held, &next)) {
      self->contiguous++;
    } else {
      return;
    }
  }
}

DxSeqVerdict
dx_seq_tracker_add (DxSeqTracker *self, guint64 id, guint64 *gap_first, guint64 *gap_last)
{
  DxSeqVerdict verdict;

  if (held (self, id)) {
    self->duplicates++;
    return DX_SEQ_DUPLICATE;
  }
  if (id == self->highest + 1) {
    verdict = DX_SEQ_IN_ORDER;
  } else if (id > self->highest) {
    verdict = DX_SEQ_AHEAD;
    if (gap_first != NULL)
      *gap_first = self->highest + 1;
    if (gap_last != NULL)
      *gap_last = id - 1;
    self->skipped += id - self->highest - 1;
  } else {
    verdict = DX_SEQ_LATE;
    self->filled++;
  }
  self->highest = MAX (self->highest, id);
  hold (self, id);
  advance (self);
  return verdict;
}

gboolean
dx_seq_tracker_is_missing (const DxSeqTracker *self, guint64 id)
{
  return id > self->contiguous && id <= self->highest && !held (self, id);
}

guint64
dx_seq_tracker_get_contiguous (const DxSeqTracker *self)
{
  return self->contiguous;
}

guint64
dx_seq_tracker_get_highest (const DxSeqTracker *self)
{
  return self->highest;
}

guint64
dx_seq_tracker_get_skipped (const DxSeqTracker *self)
{
  return self->skipped;
}

guint64
dx_seq_tracker_get_filled (const DxSeqTracker *self)
{
  return self->filled;
}

guint64
dx_seq_tracker_get_duplicates (const DxSeqTracker *self)
{
  return self->duplicates;
}

guint64
dx_seq_tracker_get_missing (const DxSeqTracker *self)
{
  return self->skipped - self->filled;
}
