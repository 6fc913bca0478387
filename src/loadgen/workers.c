/* duplex-bench --workers N: the subscribers of a run spread over N worker
 * processes, so that the generator is never the bottleneck where the
 * machine has cores for it. The parent process is the publisher; each
 * worker runs its share of the subscribers on a loop of its own
 * (bench_run_part, run.c). They meet in one block of shared memory:
 *
 *   worker -> publisher   "my subscribers are in" (ready/failed counts),
 *                         "I am done" (then its counters and histogram)
 *   publisher -> workers  the first send's time, acknowledgements so far,
 *                         "every publication is answered" (drain), "stop"
 *
 * Each process looks at the block every BENCH_SYNC_MS on a timer; nothing
 * on the delivery path touches it. The result is the workers' counters
 * summed and their latency histograms merged bucket by bucket (exact
 * percentiles of every sample, not averages of percentiles), and the CPU
 * of every process. Monotonic time is the machine's, so send stamps and
 * receive times compare across processes. POSIX only (fork); elsewhere a
 * run is one process. */
#include "loadgen/run-private.h"

#include <stdio.h>
#include <string.h>

#ifndef _WIN32
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  pid_t pid;
  bool reaped;
  atomic_int in;   /* its subscribers are all in or failed */
  atomic_int done; /* its part is over: the fields below are final */
  unsigned ready, failed, n_lost;
  uint64_t lost_delivered, t_last_deliver_us;
  bench_result r; /* the worker's counters and histogram */
} worker_slot;

struct bench_shared {
  pid_t parent;
  unsigned n;
  atomic_uint_fast64_t t_start_us; /* the first send; 0 before */
  atomic_uint_fast64_t acked;
  atomic_int drain; /* every publication answered: acked is final */
  atomic_int stop;
  /* The publisher's, for the report. */
  uint64_t seq_sent, refused;
  bool drain_timed_out;
  worker_slot w[];
};

static worker_slot *
slot_of (run *R)
{
  return &R->sh->w[R->wid];
}

void
bench_worker_report_in (run *R)
{
  worker_slot *w = slot_of (R);
  w->ready = R->r->ready;
  w->failed = R->n_failed;
  atomic_store (&w->in, 1);
  /* Waiting for the publisher now: its deadline bounds that. */
  R->phase = PHASE_PUBLISH;
  dx_timer_stop (R->deadline);
}

void
bench_worker_share (run *R)
{
  atomic_store (&R->sh->t_start_us, R->t_start_us);
  atomic_store (&R->sh->acked, R->acked);
}

void
bench_worker_drain (run *R)
{
  atomic_store (&R->sh->acked, R->acked);
  atomic_store (&R->sh->drain, 1);
}

void
bench_worker_finish (run *R)
{
  bench_shared *sh = R->sh;
  if (R->wid < 0) {
    sh->seq_sent = R->seq_sent;
    sh->refused = R->refused;
    sh->drain_timed_out = R->drain_timed_out;
    atomic_store (&sh->stop, 1);
    return;
  }
  worker_slot *w = slot_of (R);
  w->ready = R->r->ready;
  w->failed = R->n_failed;
  w->n_lost = R->n_lost;
  w->lost_delivered = R->lost_delivered;
  w->t_last_deliver_us = R->t_last_deliver_us;
  atomic_store (&w->done, 1);
}

/* A worker: follow the publisher. */
static void
worker_sync (run *R)
{
  bench_shared *sh = R->sh;
  if (atomic_load (&sh->stop) || getppid () != sh->parent) {
    bench_run_finish (R);
    return;
  }
  uint64_t t0 = atomic_load (&sh->t_start_us);
  if (t0 && !R->t_start_us) {
    R->t_start_us = t0;
    R->self_cpu_before = bench_self_cpu_ms ();
    R->self_wait_before = bench_self_wait_ms ();
  }
  R->acked = atomic_load (&sh->acked);
  if (R->phase == PHASE_PUBLISH && atomic_load (&sh->drain)) {
    R->phase = PHASE_DRAIN;
    R->t_drain_us = dx_monotonic_us ();
    R->total = R->acked;
    bench_maybe_finish (R);
  }
  if (R->phase == PHASE_DRAIN && R->o->transport == BENCH_UDP && bench_udp_quiet (R))
    bench_run_finish (R);
}

/* The publisher: start once every worker is in; end once all are done
 * (or gone). */
static void
publisher_sync (run *R)
{
  bench_shared *sh = R->sh;
  unsigned in = 0, done = 0, ready = 0, failed = 0;
  for (unsigned i = 0; i < sh->n; i++) {
    worker_slot *w = &sh->w[i];
    int status;
    if (!w->reaped && w->pid > 0 && waitpid (w->pid, &status, WNOHANG) == w->pid) {
      w->reaped = true;
      if (!atomic_load (&w->done)) {
        R->r->errors++;
        if (!R->r->error[0])
          snprintf (R->r->error, sizeof R->r->error, "worker %u ended without its figures", i);
        atomic_store (&w->done, 1); /* (its counters stay as they were) */
      }
    }
    bool is_done = atomic_load (&w->done);
    if (atomic_load (&w->in) || is_done) {
      in++;
      ready += w->ready;
      failed += w->failed;
    }
    done += is_done;
  }
  if (R->phase == PHASE_CONNECT && in == sh->n) {
    R->r->ready = ready;
    R->n_failed = failed;
    if (ready == 0) {
      if (!R->r->error[0])
        snprintf (R->r->error, sizeof R->r->error, "no subscriber is ready");
      bench_run_finish (R);
      return;
    }
    bench_publisher_start (R);
  }
  if (done == sh->n && R->phase != PHASE_DONE)
    bench_run_finish (R);
}

void
bench_worker_sync (dx_timer *t)
{
  run *R = dx_handle_data (DX_HANDLE (t));
  if (R->phase == PHASE_DONE)
    return;
  if (R->wid < 0)
    publisher_sync (R);
  else
    worker_sync (R);
}

/* The workers' figures into the publisher's result. */
static void
merge (bench_shared *sh, bench_result *r, uint64_t t_start_us)
{
  double cpu = r->bench_cpu_ms, wait = r->bench_wait_ms, busiest = r->bench_busiest;
  uint64_t last = 0;
  r->ready = 0;
  for (unsigned i = 0; i < sh->n; i++) {
    worker_slot *w = &sh->w[i];
    w->r.ready = w->ready; /* (what it had when it reported in, or at its end) */
    bench_result_merge (r, &w->r);
    if (w->r.bench_cpu_ms >= 0 && cpu >= 0)
      cpu += w->r.bench_cpu_ms;
    if (w->r.bench_wait_ms >= 0 && wait >= 0)
      wait += w->r.bench_wait_ms;
    if (w->r.bench_busiest > busiest)
      busiest = w->r.bench_busiest;
    if (w->t_last_deliver_us > last)
      last = w->t_last_deliver_us;
  }
  r->bench_cpu_ms = cpu;
  r->bench_wait_ms = wait;
  r->bench_busiest = busiest;
  if (t_start_us && last > t_start_us)
    r->deliver_seconds = (double) (last - t_start_us) / 1e6;
  uint64_t refused_gaps = sh->refused * r->ready;
  r->gaps = r->gaps > refused_gaps ? r->gaps - refused_gaps : 0;
  if (sh->drain_timed_out && !r->error[0] && r->transport != BENCH_UDP)
    bench_drain_error (r, r->sent, sh->seq_sent - sh->refused);
}

int
bench_run_workers (const bench_opts *o, bench_result *r, unsigned n, const char *room)
{
  size_t size = sizeof (bench_shared) + n * sizeof (worker_slot);
  bench_shared *sh = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED)
    return bench_run_part (o, r, NULL, -1, o->subscribers, room);
  memset (sh, 0, size);
  sh->parent = getpid ();
  sh->n = n;
  fflush (NULL); /* nothing buffered may be written twice */
  unsigned started = 0;
  for (; started < n; started++) {
    worker_slot *w = &sh->w[started];
    /* An even share each, the first ones one more. */
    unsigned subs = o->subscribers / n + (started < o->subscribers % n);
    bench_result_init (&w->r);
    pid_t pid = fork ();
    if (pid == 0) {
      bench_run_part (o, &w->r, sh, (int) started, subs, room);
      fflush (NULL);
      _exit (0);
    }
    if (pid < 0)
      break;
    w->pid = pid;
  }
  if (started < n) {
    /* fork failed: the ones started stop at once; run in one process. */
    atomic_store (&sh->stop, 1);
    for (unsigned i = 0; i < started; i++)
      waitpid (sh->w[i].pid, NULL, 0);
    munmap (sh, size);
    return bench_run_part (o, r, NULL, -1, o->subscribers, room);
  }
  bench_run_part (o, r, sh, -1, 0, room);
  atomic_store (&sh->stop, 1);
  for (unsigned i = 0; i < n; i++)
    if (!sh->w[i].reaped)
      waitpid (sh->w[i].pid, NULL, 0);
  merge (sh, r, atomic_load (&sh->t_start_us));
  r->workers = n;
  r->bench_cores = bench_cpus_available ();
  bench_judge_saturation (r);
  munmap (sh, size);
  return r->error[0] ? 1 : 0;
}

#else /* _WIN32: no fork; a run is one process */

int
bench_run_workers (const bench_opts *o, bench_result *r, unsigned n, const char *room)
{
  (void) n;
  return bench_run_part (o, r, NULL, -1, o->subscribers, room);
}

void
bench_worker_sync (dx_timer *t)
{
  (void) t;
}

void
bench_worker_report_in (run *R)
{
  (void) R;
}

void
bench_worker_share (run *R)
{
  (void) R;
}

void
bench_worker_drain (run *R)
{
  (void) R;
}

void
bench_worker_finish (run *R)
{
  (void) R;
}

#endif
