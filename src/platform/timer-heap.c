/* Timers: a binary min-heap of dx_timer_node ordered by (deadline, start
 * order), and the public dx_timer handle built on it.
 *
 * Deadlines are kept in microseconds from a fresh clock reading taken when
 * the timer starts, and the poll timeout is rounded up, so a timer never
 * fires early even though the API speaks milliseconds. */
#include "platform/loop-private.h"

#include <stdlib.h>

static bool
node_less (const dx_timer_node *a, const dx_timer_node *b)
{
  if (a->deadline_us != b->deadline_us)
    return a->deadline_us < b->deadline_us;
  return a->seq < b->seq;
}

static void
heap_set (dx_timer_heap *heap, size_t i, dx_timer_node *node)
{
  heap->items[i] = node;
  node->index = i;
}

static void
sift_up (dx_timer_heap *heap, size_t i)
{
  dx_timer_node *node = heap->items[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!node_less (node, heap->items[parent]))
      break;
    heap_set (heap, i, heap->items[parent]);
    i = parent;
  }
  heap_set (heap, i, node);
}

static void
sift_down (dx_timer_heap *heap, size_t i)
{
  dx_timer_node *node = heap->items[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= heap->len)
      break;
    if (child + 1 < heap->len && node_less (heap->items[child + 1], heap->items[child]))
      child++;
    if (!node_less (heap->items[child], node))
      break;
    heap_set (heap, i, heap->items[child]);
    i = child;
  }
  heap_set (heap, i, node);
}

static void
heap_remove (dx_timer_heap *heap, dx_timer_node *node)
{
  size_t i = node->index;
  node->index = SIZE_MAX;
  heap->len--;
  if (i == heap->len)
    return;
  heap_set (heap, i, heap->items[heap->len]);
  sift_down (heap, i);
  sift_up (heap, heap->items[i]->index);
}

static int
heap_insert (dx_timer_heap *heap, dx_timer_node *node)
{
  if (heap->len == heap->cap) {
    size_t cap = heap->cap ? heap->cap * 2 : 16;
    dx_timer_node **items = realloc (heap->items, cap * sizeof *items);
    if (!items)
      return DX_ENOMEM;
    heap->items = items;
    heap->cap = cap;
  }
  heap->items[heap->len] = node;
  node->index = heap->len++;
  sift_up (heap, node->index);
  return 0;
}

void
dx__timer_heap_free (dx_timer_heap *heap)
{
  free (heap->items);
  heap->items = NULL;
  heap->len = heap->cap = 0;
}

void
dx__timer_node_init (dx_timer_node *node, void (*fire) (dx_timer_node *))
{
  node->index = SIZE_MAX;
  node->deadline_us = 0;
  node->seq = 0;
  node->fire = fire;
}

static int
node_schedule (dx_loop *loop, dx_timer_node *node, uint64_t deadline_us)
{
  if (dx__timer_node_active (node))
    heap_remove (&loop->timers, node);
  node->deadline_us = deadline_us;
  node->seq = loop->timers.next_seq++;
  return heap_insert (&loop->timers, node);
}

int
dx__timer_node_start (dx_loop *loop, dx_timer_node *node, uint64_t timeout_ms)
{
  /* Saturate instead of wrapping: a huge timeout means "practically never". */
  uint64_t now = dx_monotonic_us ();
  uint64_t delta = timeout_ms > UINT64_MAX / 2000 ? UINT64_MAX / 2 : timeout_ms * 1000;
  return node_schedule (loop, node, now + delta);
}

void
dx__timer_node_stop (dx_loop *loop, dx_timer_node *node)
{
  if (dx__timer_node_active (node))
    heap_remove (&loop->timers, node);
}

void
dx__timers_run (dx_loop *loop)
{
  dx_timer_heap *heap = &loop->timers;
  while (heap->len > 0) {
    dx_timer_node *node = heap->items[0];
    if (node->deadline_us > loop->now_us)
      break;
    heap_remove (heap, node);
    node->fire (node);
  }
}

int
dx__timers_timeout_ms (const dx_loop *loop)
{
  if (loop->timers.len == 0)
    return -1;
  uint64_t deadline = loop->timers.items[0]->deadline_us;
  uint64_t now = dx_monotonic_us ();
  if (deadline <= now)
    return 0;
  uint64_t ms = (deadline - now + 999) / 1000; /* round up: never early */
  return ms > 1000000000 ? 1000000000 : (int) ms;
}

/* ---- dx_timer ----------------------------------------------------------- */

static void
timer_fire (dx_timer_node *node)
{
  dx_timer *t = DX_CONTAINER_OF (node, dx_timer, node);
  if (t->repeat_ms > 0) {
    /* Keep the rhythm (next = previous deadline + repeat) unless we fell
     * behind; then restart from now rather than firing in a burst. */
    uint64_t next = node->deadline_us + t->repeat_ms * 1000;
    if (next <= t->h.loop->now_us)
      next = t->h.loop->now_us + t->repeat_ms * 1000;
    node_schedule (t->h.loop, node, next);
  }
  t->cb (t); /* may stop, restart or close the timer */
}

dx_timer *
dx_timer_new (dx_loop *loop)
{
  dx_timer *t = dx__handle_new (loop, DX_HANDLE_TIMER, sizeof *t);
  if (t)
    dx__timer_node_init (&t->node, timer_fire);
  return t;
}

int
dx_timer_start (dx_timer *timer, uint64_t timeout_ms, uint64_t repeat_ms, dx_timer_cb cb)
{
  if (!timer || !cb || dx__is_closing (timer))
    return DX_EINVAL;
  if (repeat_ms > UINT64_MAX / 2000)
    return DX_EINVAL;
  timer->cb = cb;
  timer->repeat_ms = repeat_ms;
  return dx__timer_node_start (timer->h.loop, &timer->node, timeout_ms);
}

void
dx_timer_stop (dx_timer *timer)
{
  if (timer)
    dx__timer_node_stop (timer->h.loop, &timer->node);
}

bool
dx_timer_is_active (const dx_timer *timer)
{
  return timer && dx__timer_node_active (&timer->node);
}

void
dx__timer_close (dx_timer *timer)
{
  dx__timer_node_stop (timer->h.loop, &timer->node);
  dx__handle_close_done (&timer->h);
}
