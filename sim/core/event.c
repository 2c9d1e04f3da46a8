/* event: the event core (see event.h). Owns the heap of events (4-ary: half the levels of a binary heap,
 * and a node's children sit side by side, which counts with millions of pending events), the clock, the
 * handler table and the SimGrid flows in flight (core/transfers.h) with the event each one schedules
 * when it ends.
 *
 * Invariants: the heap is ordered by (t, seq); `now` never decreases; a timer's event (gen has
 * TIMER_BIT set, the low bits the timer) is at heap position timer_pos[timer], which is -1 when it has
 * none pending; `activities` counts the SimGrid flows started and not yet ended; a flow's pending event is slot `tag` of `pend` until it ends, and
 * free slots are chained through `next_free`. */
#include "core/event.h"

#include <math.h>
#include <simgrid/actor.h>
#include <simgrid/engine.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/transfers.h"

typedef struct {
  const char *name;
  cpn_event_fn fn;
  void *ctx;
  double count;
  double wall_s; /* estimated wall time in the handler: sampled events, each weighted by profile_every */
} handler_t;

/* Wall time per kind is measured on a sample of events (about one in `profile_every`, at intervals drawn
 * from a generator of the core's own, so that no periodic pattern of events aliases with it and the
 * simulation's random streams are untouched), with the monotonic clock (vDSO: no system call, whose
 * mitigations would slow the sampled handler down). On a machine shared with other jobs a sample that
 * the scheduler preempts counts the time others ran: the estimates then add up to the loop's wall time,
 * preemptions included, with more noise. The clock reads' own cost (the least of 64 back-to-back pairs,
 * measured when the core is made) is taken off each sample. */
enum { PROFILE_EVERY_DEFAULT = 16 };

static double mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define TIMER_BIT (UINT64_C(1) << 63)

struct cpn_sim {
  cpn_event_t *v;
  size_t n, cap;
  long *timer_pos; /* heap position of each timer's pending event, -1: none */
  size_t n_timers, cap_timers;
  uint64_t seq;
  double now;
  double events;
  handler_t kinds[CPN_SIM_MAX_KINDS];
  int n_kinds;
  int activities;
  cpn_transfers_t *flows;
  struct pending {
    double delay_s;
    void *ptr;
    int kind, idx;
    long next_free;
  } *pend;
  size_t n_pend, cap_pend;
  long free_pend; /* first free slot of pend, -1 when none */
  int (*idle)(void *arg);
  void *idle_arg;
  int (*tick)(void *arg);
  void *tick_arg;
  uint64_t tick_every, tick_left;
  uint64_t profile_every, profile_left, profile_rng;
  double (*clock_s)(void);   /* the profile's clock (mono_s; tests set their own) */
  double profile_overhead_s; /* time of the clock reads themselves, taken off each sample */
  double run_wall_s;         /* wall time inside cpn_sim_run, all of it */
  cpn_err_t err;
};


/* The next sampling interval: uniform on 1 .. 2 profile_every - 1 (mean profile_every), xorshift64. */
static uint64_t profile_interval(cpn_sim_t *s)
{
  s->profile_rng ^= s->profile_rng << 13;
  s->profile_rng ^= s->profile_rng >> 7;
  s->profile_rng ^= s->profile_rng << 17;
  return 1 + s->profile_rng % (2 * s->profile_every - 1);
}

static int ev_less(const cpn_event_t *a, const cpn_event_t *b)
{
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

cpn_err_t cpn_sim_new(cpn_sim_t **out)
{
  cpn_sim_t *s = calloc(1, sizeof *s);
  if (!s)
    return cpn_error_set(CPN_ENOMEM, "event core: out of memory");
  s->free_pend = -1;
  s->profile_rng = 0x9e3779b97f4a7c15ull;
  s->profile_every = PROFILE_EVERY_DEFAULT;
  s->profile_left = profile_interval(s);
  cpn_sim_set_profile_clock(s, mono_s);
  *out = s;
  return CPN_OK;
}

void cpn_sim_free(cpn_sim_t *sim)
{
  if (!sim)
    return;
  cpn_transfers_free(sim->flows);
  free(sim->pend);
  free(sim->timer_pos);
  free(sim->v);
  free(sim);
}

int cpn_sim_kind(cpn_sim_t *sim, const char *name, cpn_event_fn fn, void *ctx)
{
  if (sim->n_kinds == CPN_SIM_MAX_KINDS)
    return -1;
  sim->kinds[sim->n_kinds] = (handler_t){.name = name, .fn = fn, .ctx = ctx};
  return sim->n_kinds++;
}

/* Puts e at position i of the heap, keeping its timer's position. */
static inline void heap_put(cpn_sim_t *h, size_t i, const cpn_event_t *e)
{
  h->v[i] = *e;
  if (e->gen & TIMER_BIT)
    h->timer_pos[e->gen & ~TIMER_BIT] = (long)i;
}

/* Moves e up from the hole at i to its place. */
static void sift_up(cpn_sim_t *h, size_t i, const cpn_event_t *e)
{
  while (i > 0) {
    size_t p = (i - 1) / 4;
    if (!ev_less(e, &h->v[p]))
      break;
    heap_put(h, i, &h->v[p]);
    i = p;
  }
  heap_put(h, i, e);
}

/* Moves e down from the hole at i (h->n excludes e) to its place. */
static void sift_down(cpn_sim_t *h, size_t i, const cpn_event_t *e)
{
  for (;;) {
    size_t c = 4 * i + 1, m = i, end = c + 4 < h->n ? c + 4 : h->n;
    const cpn_event_t *best = e;
    for (; c < end; c++)
      if (ev_less(&h->v[c], best))
        m = c, best = &h->v[c];
    if (m == i)
      break;
    heap_put(h, i, &h->v[m]);
    i = m;
  }
  heap_put(h, i, e);
}

static int heap_grow(cpn_sim_t *sim)
{
  if (sim->n < sim->cap)
    return 0;
  size_t cap = sim->cap ? sim->cap * 2 : 1024;
  cpn_event_t *v = realloc(sim->v, cap * sizeof *v);
  if (!v) {
    cpn_sim_fail(sim, cpn_error_set(CPN_ENOMEM, "event core: out of memory (event heap)"));
    return -1;
  }
  sim->v = v;
  sim->cap = cap;
  return 0;
}

int cpn_sim_at(cpn_sim_t *sim, double t, int kind, int idx, void *ptr, uint64_t gen)
{
  if (heap_grow(sim))
    return -1;
  cpn_event_t e = {.t = t, .seq = sim->seq++, .ptr = ptr, .gen = gen & ~TIMER_BIT, .kind = kind, .idx = idx};
  sift_up(sim, sim->n++, &e);
  return 0;
}

static cpn_event_t heap_pop(cpn_sim_t *h)
{
  cpn_event_t top = h->v[0], last = h->v[--h->n];
  if (h->n)
    sift_down(h, 0, &last);
  if (top.gen & TIMER_BIT)
    h->timer_pos[top.gen & ~TIMER_BIT] = -1;
  return top;
}

/* Removes the event at heap position i. */
static void heap_remove(cpn_sim_t *h, size_t i)
{
  cpn_event_t gone = h->v[i], last = h->v[--h->n];
  if (gone.gen & TIMER_BIT)
    h->timer_pos[gone.gen & ~TIMER_BIT] = -1;
  if (i == h->n)
    return;
  if (i > 0 && ev_less(&last, &h->v[(i - 1) / 4]))
    sift_up(h, i, &last);
  else
    sift_down(h, i, &last);
}

int cpn_sim_timer_new(cpn_sim_t *sim)
{
  if (sim->n_timers == sim->cap_timers) {
    size_t cap = sim->cap_timers ? sim->cap_timers * 2 : 64;
    long *v = realloc(sim->timer_pos, cap * sizeof *v);
    if (!v) {
      cpn_sim_fail(sim, cpn_error_set(CPN_ENOMEM, "event core: out of memory (timers)"));
      return -1;
    }
    sim->timer_pos = v;
    sim->cap_timers = cap;
  }
  sim->timer_pos[sim->n_timers] = -1;
  return (int)sim->n_timers++;
}

int cpn_sim_timer_set(cpn_sim_t *sim, int timer, double t, int kind, int idx, void *ptr)
{
  long at = sim->timer_pos[timer];
  cpn_event_t e = {.t = t, .seq = sim->seq++, .ptr = ptr, .gen = TIMER_BIT | (uint64_t)timer, .kind = kind, .idx = idx};
  if (at >= 0) { /* a later key than the pending one moves down, an earlier one up */
    size_t i = (size_t)at;
    if (i > 0 && ev_less(&e, &sim->v[(i - 1) / 4]))
      sift_up(sim, i, &e);
    else
      sift_down(sim, i, &e);
    return 0;
  }
  if (heap_grow(sim))
    return -1;
  sift_up(sim, sim->n++, &e);
  return 0;
}

void cpn_sim_timer_cancel(cpn_sim_t *sim, int timer)
{
  if (sim->timer_pos[timer] >= 0)
    heap_remove(sim, (size_t)sim->timer_pos[timer]);
}

int cpn_sim_timer_pending(const cpn_sim_t *sim, int timer) { return sim->timer_pos[timer] >= 0; }

double cpn_sim_now(const cpn_sim_t *sim) { return sim->now; }

void cpn_sim_fail(cpn_sim_t *sim, cpn_err_t err)
{
  if (!sim->err)
    sim->err = err;
}

cpn_err_t cpn_sim_error(const cpn_sim_t *sim) { return sim->err; }

/* While no flow is in flight the loop does not follow SimGrid's clock (nothing in SimGrid can act before
 * the next event); a flow must start at the simulated now, so the clock is brought there first. Called
 * from a handler, that is from the engine actor. */
void cpn_sim_transfer(cpn_sim_t *sim, const char *from, const char *to, double bytes, double delay_s, int kind,
                      int idx, void *ptr)
{
  if (bytes <= 0 || strcmp(from, to) == 0) {
    cpn_sim_at(sim, sim->now + delay_s, kind, idx, ptr, 0);
    return;
  }
  if (!sim->flows && !(sim->flows = cpn_transfers_new())) {
    cpn_sim_fail(sim, cpn_error_set(CPN_ENOMEM, "event core: out of memory (flows)"));
    return;
  }
  if (sim->free_pend < 0) {
    if (sim->n_pend == sim->cap_pend) {
      size_t cap = sim->cap_pend ? sim->cap_pend * 2 : 64;
      struct pending *v = realloc(sim->pend, cap * sizeof *v);
      if (!v) {
        cpn_sim_fail(sim, cpn_error_set(CPN_ENOMEM, "event core: out of memory (flows)"));
        return;
      }
      sim->pend = v;
      sim->cap_pend = cap;
    }
    sim->pend[sim->n_pend].next_free = -1;
    sim->free_pend = (long)sim->n_pend++;
  }
  size_t tag = (size_t)sim->free_pend;
  struct pending *p = &sim->pend[tag];
  sim->free_pend = p->next_free;
  *p = (struct pending){.delay_s = delay_s, .ptr = ptr, .kind = kind, .idx = idx, .next_free = -1};
  if (simgrid_get_clock() < sim->now)
    sg_actor_sleep_until(sim->now);
  if (cpn_transfers_start(sim->flows, from, to, bytes, tag) != 0) {
    cpn_sim_fail(sim, cpn_error_set(CPN_EINVAL, "event core: no SimGrid host '%s' or '%s'", from, to));
    return;
  }
  sim->activities++;
}

int cpn_sim_activities(const cpn_sim_t *sim) { return sim->activities; }

void cpn_sim_set_idle_check(cpn_sim_t *sim, int (*idle)(void *arg), void *arg)
{
  sim->idle = idle;
  sim->idle_arg = arg;
}

void cpn_sim_set_tick(cpn_sim_t *sim, unsigned every, int (*tick)(void *arg), void *arg)
{
  sim->tick = tick;
  sim->tick_arg = arg;
  sim->tick_every = sim->tick_left = every ? every : 1;
}

int cpn_sim_idle(const cpn_sim_t *sim) { return sim->idle ? sim->idle(sim->idle_arg) : 0; }

int cpn_sim_run(cpn_sim_t *sim, double t_end)
{
  int cut = 0;
  double wall0 = mono_s();
  while (!sim->err) {
    double t = sim->n ? sim->v[0].t : INFINITY;
    double clock = simgrid_get_clock();
    if (t > t_end) {
      if (sim->activities == 0 || clock >= t_end) {
        cut = sim->n > 0 || sim->activities > 0;
        break;
      }
    }
    /* Flows in flight can end before the next event: wait for them until the next event instead of
     * processing it; a flow's end schedules its event. With none in flight, SimGrid has nothing to do
     * before the next event: the event is processed without a context switch (the clock catches up when
     * a flow starts). */
    if (sim->activities > 0 && t > clock + 1e-12 * (1.0 + clock)) {
      double until = t < t_end ? t : t_end;
      size_t tag;
      if (cpn_transfers_wait_any_for(sim->flows, until - clock, &tag)) {
        struct pending *p = &sim->pend[tag];
        sim->activities--;
        cpn_sim_at(sim, simgrid_get_clock() + p->delay_s, p->kind, p->idx, p->ptr, 0);
        p->next_free = sim->free_pend;
        sim->free_pend = (long)tag;
      }
      continue;
    }
    cpn_event_t e = heap_pop(sim);
    sim->now = e.t;
    sim->events++;
    handler_t *h = &sim->kinds[e.kind];
    h->count++;
    if (--sim->profile_left == 0) {
      double t0 = sim->clock_s();
      h->fn(h->ctx, &e);
      h->wall_s += (sim->clock_s() - t0 - sim->profile_overhead_s) * (double)sim->profile_every;
      sim->profile_left = profile_interval(sim);
    } else {
      h->fn(h->ctx, &e);
    }
    if (sim->tick && --sim->tick_left == 0) {
      sim->tick_left = sim->tick_every;
      if (sim->tick(sim->tick_arg))
        break;
    }
  }
  if (!sim->err && cut)
    sim->now = t_end;
  /* Flows still in flight end with the run. */
  if (sim->flows)
    cpn_transfers_cancel_all(sim->flows);
  sim->activities = 0;
  sim->run_wall_s += mono_s() - wall0;
  return cut;
}

double cpn_sim_events(const cpn_sim_t *sim) { return sim->events; }
int cpn_sim_kinds(const cpn_sim_t *sim) { return sim->n_kinds; }
const char *cpn_sim_kind_name(const cpn_sim_t *sim, int kind) { return sim->kinds[kind].name; }
double cpn_sim_kind_events(const cpn_sim_t *sim, int kind) { return sim->kinds[kind].count; }
double cpn_sim_kind_wall_s(const cpn_sim_t *sim, int kind) { return sim->kinds[kind].wall_s; }
double cpn_sim_wall_s(const cpn_sim_t *sim) { return sim->run_wall_s; }

void cpn_sim_set_profile_clock(cpn_sim_t *sim, double (*clock_s)(void))
{
  sim->clock_s = clock_s;
  sim->profile_overhead_s = INFINITY;
  for (int i = 0; i < 64; i++) {
    double t0 = clock_s(), t1 = clock_s();
    if (t1 - t0 < sim->profile_overhead_s)
      sim->profile_overhead_s = t1 - t0;
  }
}

void cpn_sim_set_profile_every(cpn_sim_t *sim, unsigned every)
{
  sim->profile_every = every ? every : 1;
  sim->profile_left = profile_interval(sim);
}
