/* event: the event core (see event.h). Owns the queue of events, the clock, the handler table and the
 * SimGrid flows in flight (core/transfers.h) with the event each one schedules when it ends.
 *
 * The queue is a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990), which needs only that no event is
 * scheduled before the last one popped: true of a discrete-event loop. Keys are the bits of t (t >= 0,
 * whose IEEE-754 bits order as the values do). Bucket 0 holds the events at exactly the last popped time
 * in scheduling order (a queue: later pushes have later seq); bucket i >= 1 those whose key first differs
 * from it at bit i - 1. A push appends (O(1)); a pop from an empty bucket 0 empties the lowest non-empty
 * bucket, moving each of its events to a lower one, so an event moves at most 64 times and in practice
 * a few. Buckets are arrays scanned in order, where the 4-ary heap it replaces (22% of a run of
 * national-2026-full) missed the cache on every level with half a million events pending.
 *
 * Looking at the next event moves `last` to it before it is popped, and a SimGrid flow may end in
 * between; the few events scheduled before `last` go to a small binary heap, `early`, served first.
 * With prefetch hooks, `early` also holds the next LOOKAHEAD events, pulled off bucket 0 so that their
 * memory is asked for a few handlers before they run (it is then the loop's window on what comes).
 *
 * Invariants: events pop in (t, seq) order; `now` never decreases; every event in bucket i >= 1 has
 * 64 - clz(key ^ last) == i, and bit i - 1 of `occupied` is set exactly when bucket i is not empty;
 * bucket 0 holds key == last in increasing seq from head0; every event of `early` has key <= last,
 * and those with key == last were pulled off bucket 0 ahead of what it still holds (so every event of
 * `early` comes before every event of the buckets, and `last` may move on while `early` holds some:
 * a push with key >= last goes to the buckets, after them); a timer's event
 * (gen has TIMER_BIT set, bits 0-30 the timer, bits 31-62 the timer's version when it was set) is
 * current only when that version is tver[timer], others are stale and dropped when they reach the front
 * or move between buckets; a timer's version is odd while it has an event pending and even otherwise,
 * and each set adds 2 (a stale event would be taken for current only after 2^31 sets of its timer while
 * it waits in the queue); `activities` counts the
 * SimGrid flows started and not yet ended; a flow's pending event is slot `tag` of `pend` until it ends,
 * and free slots are chained through `next_free`. */
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
  cpn_event_fn ahead;    /* NULL, or asks for the memory the handler will read (cpn_sim_kind_prefetch) */
  cpn_event_fn next;     /* NULL, or asks for what that memory points to, one handler before */
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
#define TIMER_INDEX ((UINT64_C(1) << 31) - 1)
#define TIMER_VERSION_SHIFT 31

typedef struct {
  cpn_event_t *v;
  size_t n, cap;
} bucket_t;

enum { N_BUCKETS = 65 };

/* Events the loop keeps ahead once a kind has prefetch hooks: about the handlers it takes for memory
 * asked for to arrive (a few hundred nanoseconds of DRAM latency against some hundred per handler). */
enum { LOOKAHEAD = 8 };
enum { TVER_AHEAD = 16 }; /* events between asking for a timer's version and checking it when a bucket is emptied */

struct cpn_sim {
  bucket_t b[N_BUCKETS];
  uint64_t occupied; /* bit i - 1 set when bucket i >= 1 holds events: the lowest is one ctz away */
  size_t head0;    /* bucket 0's front */
  uint64_t last;   /* key of the front event (0 at first) */
  bucket_t early;  /* a binary heap by (t, seq) of events before all in the buckets: those scheduled before
                      `last` (front() moves `last` to the next event before it is popped, and a SimGrid
                      flow can end in between), and those pulled ahead (pull_ahead) */
  uint32_t *tver;  /* per timer: its version (4 bytes each, so that the checks of stale events, made
                      whenever an event moves between buckets, stay in cache with 500,000 timers) */
  size_t n_timers, cap_timers;
  uint64_t seq;
  double now;
  double events;
  handler_t kinds[CPN_SIM_MAX_KINDS];
  int n_kinds;
  int depth;       /* events kept pulled ahead into `early` (LOOKAHEAD once some kind has a prefetch hook) */
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
  free(sim->tver);
  for (int i = 0; i < N_BUCKETS; i++)
    free(sim->b[i].v);
  free(sim->early.v);
  free(sim);
}

int cpn_sim_kind(cpn_sim_t *sim, const char *name, cpn_event_fn fn, void *ctx)
{
  if (sim->n_kinds == CPN_SIM_MAX_KINDS)
    return -1;
  sim->kinds[sim->n_kinds] = (handler_t){.name = name, .fn = fn, .ctx = ctx};
  return sim->n_kinds++;
}

void cpn_sim_kind_prefetch(cpn_sim_t *sim, int kind, cpn_event_fn ahead, cpn_event_fn next)
{
  if (kind >= 0 && kind < sim->n_kinds) {
    sim->kinds[kind].ahead = ahead;
    sim->kinds[kind].next = next;
    sim->depth = LOOKAHEAD;
  }
}

static inline uint64_t key_of(double t)
{
  uint64_t k;
  t += 0.0; /* -0 -> +0 */
  memcpy(&k, &t, sizeof k);
  return k;
}

static inline int bucket_of(uint64_t key, uint64_t last)
{
  return key == last ? 0 : 64 - __builtin_clzll(key ^ last);
}

static int bucket_grow(cpn_sim_t *sim, bucket_t *b)
{
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    cpn_event_t *v = realloc(b->v, cap * sizeof *v);
    if (!v) {
      cpn_sim_fail(sim, cpn_error_set(CPN_ENOMEM, "event core: out of memory (event queue)"));
      return -1;
    }
    b->v = v;
    b->cap = cap;
  }
  return 0;
}

static int bucket_push(cpn_sim_t *sim, int i, const cpn_event_t *e)
{
  bucket_t *b = &sim->b[i];
  if (bucket_grow(sim, b))
    return -1;
  b->v[b->n++] = *e;
  if (i > 0)
    sim->occupied |= UINT64_C(1) << (i - 1);
  return 0;
}

static int ev_less(const cpn_event_t *a, const cpn_event_t *b)
{
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int early_push(cpn_sim_t *sim, const cpn_event_t *e)
{
  bucket_t *h = &sim->early;
  if (bucket_grow(sim, h))
    return -1;
  size_t i = h->n++;
  while (i > 0 && ev_less(e, &h->v[(i - 1) / 2])) {
    h->v[i] = h->v[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h->v[i] = *e;
  return 0;
}

static void early_pop(cpn_sim_t *sim)
{
  bucket_t *h = &sim->early;
  cpn_event_t last = h->v[--h->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n)
      break;
    if (c + 1 < h->n && ev_less(&h->v[c + 1], &h->v[c]))
      c++;
    if (!ev_less(&h->v[c], &last))
      break;
    h->v[i] = h->v[c];
    i = c;
  }
  if (h->n)
    h->v[i] = last;
}

static int push(cpn_sim_t *sim, cpn_event_t *e)
{
  if (!(e->t >= sim->now))
    e->t = sim->now; /* never before the clock (a flow ending within SimGrid's precision of it) */
  uint64_t k = key_of(e->t);
  return k < sim->last ? early_push(sim, e) : bucket_push(sim, bucket_of(k, sim->last), e);
}

static int seq_cmp(const void *a, const void *b)
{
  uint64_t x = ((const cpn_event_t *)a)->seq, y = ((const cpn_event_t *)b)->seq;
  return (x > y) - (x < y);
}

static int stale(const cpn_sim_t *sim, const cpn_event_t *e)
{
  if (!(e->gen & TIMER_BIT))
    return 0;
  return sim->tver[e->gen & TIMER_INDEX] != (uint32_t)(e->gen >> TIMER_VERSION_SHIFT);
}

/* The front of the radix heap proper: bucket 0's head (stale timer events dropped), emptying the lowest
 * bucket into lower ones when bucket 0 is empty; NULL when the heap is empty. */
static const cpn_event_t *radix_front(cpn_sim_t *sim)
{
  for (;;) {
    bucket_t *b0 = &sim->b[0];
    while (sim->head0 < b0->n && stale(sim, &b0->v[sim->head0]))
      sim->head0++;
    if (sim->head0 < b0->n)
      return &b0->v[sim->head0];
    b0->n = sim->head0 = 0;
    if (!sim->occupied)
      return NULL;
    int i = 1 + __builtin_ctzll(sim->occupied);
    sim->occupied &= ~(UINT64_C(1) << (i - 1)); /* it is emptied below, into lower buckets */
    bucket_t *bi = &sim->b[i];
    uint64_t min = UINT64_MAX;
    for (size_t j = 0; j < bi->n; j++) {
      uint64_t k = key_of(bi->v[j].t);
      min = k < min ? k : min;
    }
    sim->last = min;
    size_t n = bi->n;
    bi->n = 0;
    for (size_t j = 0; j < n; j++) {
      /* The version a stale check reads is at a random place: asked for some events ahead. */
      if (j + TVER_AHEAD < n && (bi->v[j + TVER_AHEAD].gen & TIMER_BIT))
        __builtin_prefetch(&sim->tver[bi->v[j + TVER_AHEAD].gen & TIMER_INDEX]);
      const cpn_event_t *e = &bi->v[j];
      if (!stale(sim, e) && bucket_push(sim, bucket_of(key_of(e->t), min), e))
        return NULL;
    }
    if (b0->n > 1)
      qsort(b0->v, b0->n, sizeof *b0->v, seq_cmp); /* equal times: scheduling order */
  }
}

/* Pulls events off the radix heap into `early` until it holds `depth`, each announced to its kind's
 * `ahead` hook: its memory is asked for some handlers before it runs. */
static void pull_ahead(cpn_sim_t *sim)
{
  while (sim->early.n < (size_t)sim->depth) {
    const cpn_event_t *f = radix_front(sim);
    if (!f)
      return;
    cpn_event_t e = *f;
    sim->head0++;
    if (early_push(sim, &e))
      return;
    const handler_t *h = &sim->kinds[e.kind];
    if (h->ahead)
      h->ahead(h->ctx, &e);
  }
}

/* The next event (the top of `early`, else the front of the radix heap; stale timer events dropped), or
 * NULL when none is left. With a lookahead, `early` is kept at `depth` events and the next one is its
 * top. The loop takes it off. */
static const cpn_event_t *front(cpn_sim_t *sim)
{
  pull_ahead(sim); /* nothing without a lookahead */
  while (sim->early.n && stale(sim, &sim->early.v[0])) {
    early_pop(sim);
    pull_ahead(sim);
  }
  return sim->early.n ? &sim->early.v[0] : radix_front(sim);
}

int cpn_sim_at(cpn_sim_t *sim, double t, int kind, int idx, void *ptr, uint64_t gen)
{
  cpn_event_t e = {.t = t, .seq = sim->seq++, .ptr = ptr, .gen = gen & ~TIMER_BIT, .kind = kind, .idx = idx};
  return push(sim, &e);
}

int cpn_sim_timer_new(cpn_sim_t *sim)
{
  if (sim->n_timers > TIMER_INDEX) {
    cpn_sim_fail(sim, cpn_error_set(CPN_ENOMEM, "event core: more than %llu timers", (unsigned long long)TIMER_INDEX + 1));
    return -1;
  }
  if (sim->n_timers == sim->cap_timers) {
    size_t cap = sim->cap_timers ? sim->cap_timers * 2 : 64;
    uint32_t *v = realloc(sim->tver, cap * sizeof *v);
    if (!v) {
      cpn_sim_fail(sim, cpn_error_set(CPN_ENOMEM, "event core: out of memory (timers)"));
      return -1;
    }
    sim->tver = v;
    sim->cap_timers = cap;
  }
  sim->tver[sim->n_timers] = 0;
  return (int)sim->n_timers++;
}

int cpn_sim_timer_set(cpn_sim_t *sim, int timer, double t, int kind, int idx, void *ptr)
{
  uint32_t v = (sim->tver[timer] | 1u) + 2u; /* the event it had pending, if any, is stale */
  sim->tver[timer] = v;
  cpn_event_t e = {.t = t, .seq = sim->seq++, .ptr = ptr, .kind = kind, .idx = idx,
                   .gen = TIMER_BIT | (uint64_t)v << TIMER_VERSION_SHIFT | (uint64_t)timer};
  return push(sim, &e);
}

void cpn_sim_timer_cancel(cpn_sim_t *sim, int timer) { sim->tver[timer] &= ~1u; }

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
    const cpn_event_t *next = front(sim);
    if (sim->err)
      break;
    double t = next ? next->t : INFINITY;
    double clock = sim->activities > 0 || t > t_end ? simgrid_get_clock() : 0.0; /* only read when used */
    if (t > t_end) {
      if (sim->activities == 0 || clock >= t_end) {
        cut = next != NULL || sim->activities > 0;
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
    cpn_event_t e = *next;
    if (sim->early.n)
      early_pop(sim);
    else
      sim->head0++;
    if (e.gen & TIMER_BIT) {
      e.gen &= TIMER_BIT | TIMER_INDEX; /* the handler sees the timer, not its version */
      sim->tver[e.gen & TIMER_INDEX] &= ~1u;
    }
    sim->now = e.t;
    sim->events++;
    /* The event after this one is found now rather than after the handler (front() moves `last` to it;
     * what the handler schedules before it goes to `early`, and the top of the loop looks again), so
     * that its memory is on its way while this handler runs. */
    if (sim->depth) {
      const cpn_event_t *nx = front(sim);
      if (nx && sim->kinds[nx->kind].next)
        sim->kinds[nx->kind].next(sim->kinds[nx->kind].ctx, nx);
    }
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
