/* serving: replicas, queues and the scheduler plug-ins (see serving.h and scheduler.h).
 *
 * Invariants: a request in the serving stage is in exactly one (site, model) queue or in service on
 * exactly one replica; a replica has at most one pending step, its timer's event (core/event.h: moving
 * the step replaces it, no stale events); `busy` mirrors "the scheduler has work" and is reported to the views as busy
 * accelerators. */
#include "serving/serving.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hugemem.h"
#include "core/minset.h"
#include "serving/prefix_cache.h"
#include "serving/scheduler.h"

typedef struct {
  cpn_req_t *head, *tail;
  int len;
} queue_t;

typedef struct {
  int n_replicas;
  int *replicas;          /* indices of the replicas of this (site, model) */
  queue_t q[3];           /* [0] ordinary, [1] confidential requests, [2] requests whose KV arrived from a
                           * prefill replica (disaggregated serving) */
  double slo_misses;
  int n_ready, n_loading; /* replicas in those states */
  /* Ready replicas with a free slot, by (requests in service, position in the group): dispatch takes
   * the least loaded in O(1) instead of scanning the group (core/minset.h). */
  cpn_minset_t free;
} group_t;

/* Fields in the order a step reads them: the first two cache lines hold what every event of a replica
 * touches (its state, scheduler, accumulators, timer and free-set key); the rest is read on rarer paths.
 * `info` is shared by the replicas of one row of the scenario (sites[].replicas[k]): they are identical,
 * and a copy per replica cost two cache lines per step in national-2026-full's half a million. */
struct cpn_replica {
  _Alignas(64) const cpn_replica_info_t *info;
  const cpn_sched_type_t *type;
  void *st;
  cpn_serving_t *sv;
  int state;              /* cpn_rep_state_t */
  int busy;
  int timer;              /* its next step (an event-core timer) */
  int pos;                /* position in its group */
  double t_last;          /* accumulators are as of this time */
  double busy_s, energy_total_j;
  double energy_idle_j;   /* of energy_total_j, drawn with nothing in service (idle, loading) */
  int key;                /* requests in service when last placed in its group's free set */
  int in_free;            /* it is in that set */
  int role;               /* cpn_replica_spec_t.role: 0 both, 1 prefill, 2 decode */
  cpn_pcache_t *pc;       /* prefix caching: made when the first request with block hashes is taken */
  int peek_q;             /* the queue cpn_replica_peek took its answer from */
  int adapter_wait;       /* its last peek found the head request waiting for its adapter */
  double idle_since;      /* when the replica last became idle (autoscaler) */
  /* Colder: */
  int index_in_site;
  int decode_site;        /* prefill replicas: the site their prompts' KV goes to */
  double weight_bytes;    /* what a cold start transfers */
  double kv_bytes_per_token;
  /* Adapters (LoRA): the resident set, at most max_adapters; a slot with id 0 is empty. */
  struct adapter_slot { uint64_t id; int pins; double ready_s, used_s; } *ad;
  int n_ad;
  double adapter_load_s;
  long adapter_loads;
  double pc_requests, pc_prompt_tokens, pc_cached_tokens; /* first admissions of requests with hashes */
};

struct cpn_serving {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  cpn_views_t *views;
  cpn_network_t *net;
  cpn_accounting_t *acct;
  int n_sites, n_models, n_replicas;
  cpn_replica_t *reps;
  cpn_replica_info_t *infos; /* one per row of the scenario's sites[].replicas, shared by its replicas */
  char *st_pool;          /* the replicas' scheduler states, st_stride bytes apart (a multiple of 64): a
                             replica's state is found from its index without reading the replica, so
                             that a step fetches both at once */
  size_t st_stride;
  group_t *groups;        /* n_sites * n_models */
  double *site_kv_cap;
  int *aside;             /* scratch for dispatch: replicas stepped aside in this round */
  long preemptions;
  /* KV transfers in flight (disaggregated serving): the request and its decode site, by tag. */
  cpn_req_t **hand;
  uint64_t *hand_id;      /* the request's id when the transfer started */
  int *hand_dst, cap_hand, hand_free;
  double block_tokens;    /* tokens per block of the requests' hashes (demand.trace.block_tokens) */
  int ev_step, ev_adapter;
  void (*cold)(void *ctx, int replica);
  void (*unloaded)(void *ctx, int replica);
  void *fleet_ctx;
};

static group_t *group_at(const cpn_serving_t *sv, int site, int model)
{
  return &sv->groups[(size_t)site * sv->n_models + model];
}

static void free_remove(group_t *g, cpn_replica_t *p)
{
  cpn_minset_remove(&g->free, p->pos, p->key);
  p->in_free = 0;
}

/* Puts the replica in its group's free set, takes it out, or moves it, after anything that may have
 * changed its state, its free slot or its requests in service. O(1). */
static void sync(cpn_replica_t *p)
{
  cpn_serving_t *sv = p->sv;
  group_t *g = &sv->groups[(size_t)p->info->site * sv->n_models + p->info->model];
  int in = p->state == CPN_REP_READY && p->type->has_slot(p->st, p->info);
  int key = p->type->active(p->st);
  if (!in) {
    if (p->in_free)
      free_remove(g, p);
    return;
  }
  if (p->in_free) {
    if (key == p->key)
      return;
    free_remove(g, p);
  }
  p->key = key;
  if (cpn_minset_add(&g->free, p->pos, key)) {
    cpn_sim_fail(sv->sim, cpn_error_set(CPN_ENOMEM, "serving: out of memory (free replicas)"));
    return;
  }
  p->in_free = 1;
}

/* Life-cycle state changes keep the group's counts. */
static void set_state(cpn_replica_t *p, int state)
{
  group_t *g = &p->sv->groups[(size_t)p->info->site * p->sv->n_models + p->info->model];
  g->n_ready += (state == CPN_REP_READY) - (p->state == CPN_REP_READY);
  g->n_loading += (state == CPN_REP_LOADING) - (p->state == CPN_REP_LOADING);
  p->state = state;
}

/* ------------------------------------------------------------- queues */

static void queue_push(queue_t *qq, cpn_req_t *q, int at_head)
{
  if (at_head) {
    q->serve.qnext = qq->head;
    qq->head = q;
    if (!qq->tail)
      qq->tail = q;
  } else {
    q->serve.qnext = NULL;
    if (qq->tail)
      qq->tail->serve.qnext = q;
    else
      qq->head = q;
    qq->tail = q;
  }
  qq->len++;
}

static cpn_req_t *queue_pop(queue_t *qq)
{
  cpn_req_t *q = qq->head;
  qq->head = q->serve.qnext;
  if (!qq->head)
    qq->tail = NULL;
  qq->len--;
  return q;
}

/* ------------------------------------------------------------- replica bookkeeping */

static double power_w(const cpn_replica_t *p)
{
  if (p->state == CPN_REP_UNLOADED)
    return 0.0; /* its accelerators are back in the pool */
  return p->type->power_w(p->st, p->info);
}

static void set_busy(cpn_replica_t *p)
{
  int busy = p->type->active(p->st) > 0;
  if (busy != p->busy) {
    cpn_views_busy(p->sv->views, p->info->site, busy ? p->info->tp : -p->info->tp);
    p->busy = busy;
    if (!busy)
      p->idle_since = cpn_sim_now(p->sv->sim);
  }
}

/* Brings the replica's accumulators to now. */
static void advance(cpn_replica_t *p)
{
  double now = cpn_sim_now(p->sv->sim), dt = now - p->t_last;
  if (dt <= 0)
    return;
  double w = power_w(p);
  p->energy_total_j += w * dt;
  if (p->type->active(p->st) > 0) {
    p->type->advance(p->st, p->info, dt, w);
    p->busy_s += dt;
  } else {
    p->energy_idle_j += w * dt;
  }
  p->t_last = now;
}

static void schedule(cpn_replica_t *p)
{
  double t = p->type->next_s(p->st, p->info, cpn_sim_now(p->sv->sim));
  if (t < INFINITY)
    cpn_sim_timer_set(p->sv->sim, p->timer, t, p->sv->ev_step, 0, p);
  else
    cpn_sim_timer_cancel(p->sv->sim, p->timer);
}

static int admit(cpn_replica_t *p)
{
  int started = 0;
  if (p->state == CPN_REP_READY && !cpn_sim_error(p->sv->sim))
    started = p->type->admit(p->st, p, p->info);
  set_busy(p);
  return started;
}

static void unload(cpn_replica_t *p)
{
  advance(p);
  set_busy(p); /* a drained replica has just become idle */
  set_state(p, CPN_REP_UNLOADED);
  sync(p);
  cpn_sim_timer_cancel(p->sv->sim, p->timer);
  if (p->sv->unloaded)
    p->sv->unloaded(p->sv->fleet_ctx, (int)(p - p->sv->reps));
}

static void prefix_trim(cpn_replica_t *p);

/* Fetches replica i's scheduler state while its struct is being read: the two misses overlap instead of
 * following each other (the state's address does not depend on the struct's contents). */
static void prefetch_state(const cpn_serving_t *sv, size_t i)
{
  const char *st = sv->st_pool + i * sv->st_stride;
  /* Up to four lines: the scheduler's fields and, for the batching ones, the top of their batch. */
  for (size_t off = 0; off < sv->st_stride && off < 256; off += 64)
    __builtin_prefetch(st + off);
}

/* Replica i's two hot lines and its scheduler state. */
static void prefetch_replica(const cpn_serving_t *sv, size_t i)
{
  const char *p = (const char *)&sv->reps[i];
  __builtin_prefetch(p);
  __builtin_prefetch(p + 64);
  prefetch_state(sv, i);
}

/* A step of this replica was pulled into the event window: its struct and state, some events ahead. */
static void prefetch_step(void *ctx, const cpn_event_t *e)
{
  const cpn_serving_t *sv = ctx;
  prefetch_replica(sv, (size_t)((const cpn_replica_t *)e->ptr - sv->reps));
}

/* The step runs next: its state has arrived (prefetch_step, some events ago); the scheduler asks for
 * the request it will finish. */
static void prefetch_step_next(void *ctx, const cpn_event_t *e)
{
  (void)ctx;
  const cpn_replica_t *p = e->ptr;
  if (p->type->prefetch)
    p->type->prefetch(p->st);
}

static void on_step(void *ctx, const cpn_event_t *e)
{
  (void)ctx;
  cpn_replica_t *p = e->ptr;
  if (p->state != CPN_REP_READY && p->state != CPN_REP_DRAINING)
    return;
  advance(p);
  if (p->pc)
    prefix_trim(p); /* the KV memory decoding filled since the last event is no longer free for cached blocks */
  p->type->step(p->st, p, p->info);
  if (p->state == CPN_REP_DRAINING && p->type->active(p->st) == 0) {
    unload(p);
    return;
  }
  admit(p);
  schedule(p);
  sync(p);
}

/* Can replica p take a request from its group's queues? Prefill replicas take new prompts, decode ones
 * only requests whose KV arrived, replicas of role both either (KV arrivals first). */
static int can_serve(const cpn_replica_t *p, const group_t *g)
{
  int fresh = g->q[0].head || (p->info->conf && g->q[1].head);
  return p->role == 2 ? g->q[2].head != NULL : p->role == 1 ? fresh : fresh || g->q[2].head;
}

static int prefix_blocks(const cpn_serving_t *sv, const cpn_req_t *q);

static int adapter_resident(const cpn_replica_t *p, uint64_t id, int *empty);

/* Affinity within a site, for the next waiting request (new prompts only), among the ready replicas with a
 * free slot that serve at most run.affinity_slack requests more than the least loaded one (`least`;
 * -1: off): with block hashes, the one caching the longest prefix of it; else, with an adapter that
 * `least` does not hold, one that holds it, or failing that one with an empty adapter slot (so that
 * replicas specialise instead of evicting each other's adapters). Ties keep the least loaded, then the
 * lower position. */
static cpn_replica_t *affinity(cpn_serving_t *sv, group_t *g, cpn_replica_t *least)
{
  const cpn_req_t *q = g->q[0].head;
  if (sv->sc->run.affinity_slack < 0 || g->free.count < 2 || !q || (q->prefix.n == 0 && q->adapter == 0) ||
      g->q[2].head || (least->info->conf && g->q[1].head))
    return least;
  int limit = least->type->active(least->st) + sv->sc->run.affinity_slack;
  cpn_replica_t *best = least;
  if (q->prefix.n > 0) {
    int n = prefix_blocks(sv, q), best_hits = least->pc ? cpn_pcache_lookup(least->pc, q->prefix.ids, n) : 0;
    for (int k = 0, at = cpn_minset_next(&g->free, -1, 0, &k); at >= 0; at = cpn_minset_next(&g->free, at, k, &k)) {
      cpn_replica_t *p = &sv->reps[g->replicas[at]];
      if (p == least || !p->pc || p->role == 2 || p->type->active(p->st) > limit)
        continue;
      int h = cpn_pcache_lookup(p->pc, q->prefix.ids, n);
      if (h > best_hits || (h == best_hits && best != least && p->pos < best->pos)) {
        best = p;
        best_hits = h;
      }
    }
    return best;
  }
  int empty;
  if (adapter_resident(least, q->adapter, &empty))
    return least;
  int best_rank = empty ? 1 : 0; /* 2: resident, 1: an empty slot, 0: must evict */
  for (int k = 0, at = cpn_minset_next(&g->free, -1, 0, &k); at >= 0; at = cpn_minset_next(&g->free, at, k, &k)) {
    cpn_replica_t *p = &sv->reps[g->replicas[at]];
    if (p == least || p->role == 2 || p->type->active(p->st) > limit)
      continue;
    int rank = adapter_resident(p, q->adapter, &empty) ? 2 : empty ? 1 : 0;
    if (rank > best_rank || (rank == best_rank && best != least && p->pos < best->pos)) {
      best = p;
      best_rank = rank;
    }
  }
  return best;
}

/* Finds a replica with a free slot for the (site, model) queues, the one with the fewest requests in
 * service, until no replica can take the head request. Asks the fleet for a cold load when nothing is
 * loaded or loading. */
static void dispatch(cpn_serving_t *sv, int site, int model)
{
  group_t *g = group_at(sv, site, model);
  if (!g->q[0].head && !g->q[1].head && !g->q[2].head)
    return;
  if (g->n_ready == 0 && g->n_loading == 0) {
    for (int i = 0; i < g->n_replicas; i++) {
      cpn_replica_t *p = &sv->reps[g->replicas[i]];
      if (p->state == CPN_REP_UNLOADED && (!g->q[1].head || p->info->conf || g->q[0].head)) {
        if (sv->cold)
          sv->cold(sv->fleet_ctx, (int)(p - sv->reps));
        return;
      }
    }
  }
  /* The least loaded ready replica with a free slot (lowest position among equals), until none can take
   * the head request. Replicas that cannot serve the waiting queue, or whose KV cache is full, step aside
   * for this round and come back after it. */
  int n_aside = 0;
  for (;;) {
    cpn_replica_t *best = NULL;
    /* An empty queue ends the round: without this every free replica of the group would step aside (and
     * come back) once the last request was taken, O(n) per dispatch for n free replicas. The set's
     * order (requests in service, position) is total, so the replicas chosen do not depend on it. */
    if (!g->q[0].head && !g->q[1].head && !g->q[2].head)
      break;
    while (g->free.count > 0) {
      int key, at = cpn_minset_min(&g->free, &key);
      prefetch_state(sv, (size_t)g->replicas[at]);
      cpn_replica_t *p = &sv->reps[g->replicas[at]];
      if (can_serve(p, g)) {
        best = p;
        break;
      }
      free_remove(g, p);
      sv->aside[n_aside++] = (int)(p - sv->reps);
    }
    if (!best)
      break;
    best = affinity(sv, g, best);
    advance(best);
    if (admit(best)) {
      schedule(best);
      sync(best);
    } else {
      free_remove(g, best); /* its KV cache is full: try the others */
      sv->aside[n_aside++] = (int)(best - sv->reps);
      if (best->adapter_wait)
        break; /* the head request waits for its adapter on this replica: no other one loads it too */
    }
  }
  for (int i = 0; i < n_aside; i++)
    sync(&sv->reps[sv->aside[i]]);
}

/* ------------------------------------------------------------- prefix caching */

/* The blocks of q's hash list that lie within its prompt and output (a longer list is cut). A trace's list
 * covers the prompt; a generated one (classes[].block_hashes) also the output, whose blocks the next turn
 * of its conversation finds. */
static int prefix_blocks(const cpn_serving_t *sv, const cpn_req_t *q)
{
  double n = ceil(((double)q->rec.prompt_tokens + q->rec.output_tokens) / sv->block_tokens);
  return q->prefix.n < n ? q->prefix.n : (int)n;
}

/* Prompt tokens of q covered by `hits` leading cached blocks: at least one prompt token is always
 * prefilled (it produces the first token's logits, as vLLM recomputes the last token of a fully cached
 * prompt). */
static double prefix_tokens(const cpn_serving_t *sv, const cpn_req_t *q, int hits)
{
  double t = hits * sv->block_tokens, most = (double)q->rec.prompt_tokens - 1.0;
  return t < most ? t : most > 0 ? most : 0.0;
}

/* Evicts the unheld blocks that no longer fit in the replica's free KV memory. */
static void prefix_trim(cpn_replica_t *p)
{
  double cap = isfinite(p->info->kv_cap) ? p->info->kv_cap : cpn_perf_kv_capacity_tokens(&p->info->perf);
  double used = p->type->kv_used(p->st);
  cpn_pcache_trim(p->pc, floor((cap - (isfinite(used) ? used : 0.0)) / p->sv->block_tokens));
}

/* q starts on replica p: its leading cached blocks are not prefilled, and it holds all its blocks. */
static void prefix_take(cpn_replica_t *p, cpn_req_t *q)
{
  cpn_serving_t *sv = p->sv;
  cpn_err_t err = p->pc ? CPN_OK : cpn_pcache_new(&p->pc);
  int hits = 0, n = prefix_blocks(sv, q);
  if (!err) {
    prefix_trim(p);
    err = cpn_pcache_acquire(p->pc, q->prefix.ids, n, &hits);
  }
  if (err) {
    cpn_sim_fail(sv->sim, err);
    return;
  }
  q->serve.held = n;
  q->serve.cached = prefix_tokens(sv, q, hits);
  if (!q->serve.resumed) {
    q->rec.cached_tokens = (uint32_t)q->serve.cached;
    p->pc_requests += 1;
    p->pc_prompt_tokens += q->rec.prompt_tokens;
    p->pc_cached_tokens += q->serve.cached;
  }
}

static void prefix_release(cpn_replica_t *p, cpn_req_t *q)
{
  if (q->serve.held > 0 && p->pc)
    cpn_pcache_release(p->pc, q->prefix.ids, q->serve.held);
  q->serve.held = 0;
  q->serve.cached = 0;
}

double cpn_serving_prefix_tokens(const cpn_serving_t *sv, const cpn_req_t *q, int site)
{
  if (q->prefix.n == 0)
    return 0.0;
  const group_t *g = group_at(sv, site, q->rec.model);
  int n = prefix_blocks(sv, q), best = 0;
  for (int i = 0; i < g->n_replicas; i++) {
    const cpn_replica_t *p = &sv->reps[g->replicas[i]];
    if (p->pc && p->state == CPN_REP_READY) {
      int h = cpn_pcache_lookup(p->pc, q->prefix.ids, n);
      if (h > best)
        best = h;
    }
  }
  return prefix_tokens(sv, q, best);
}

void cpn_serving_prefix_stats(const cpn_serving_t *sv, int replica, double *requests, double *prompt_tokens,
                              double *cached_tokens, double *evictions)
{
  const cpn_replica_t *p = &sv->reps[replica];
  *requests = p->pc_requests;
  *prompt_tokens = p->pc_prompt_tokens;
  *cached_tokens = p->pc_cached_tokens;
  *evictions = p->pc ? (double)cpn_pcache_evictions(p->pc) : 0.0;
}

/* ------------------------------------------------------------- adapters */

/* Is q's adapter resident and loaded on p? When it is not resident, a load starts into an empty slot or
 * the least recently used slot no request in service pins (none free: it waits for one). */
static int adapter_ready(cpn_replica_t *p, const cpn_req_t *q)
{
  double now = cpn_sim_now(p->sv->sim);
  int empty = -1, lru = -1;
  for (int i = 0; i < p->n_ad; i++) {
    const struct adapter_slot *a = &p->ad[i];
    if (a->id == q->adapter)
      return a->ready_s <= now; /* resident, or still loading */
    if (a->id == 0) {
      if (empty < 0)
        empty = i;
    } else if (a->pins == 0 && a->ready_s <= now && (lru < 0 || a->used_s < p->ad[lru].used_s)) {
      lru = i;
    }
  }
  int v = empty >= 0 ? empty : lru;
  if (v < 0)
    return 0;
  p->ad[v] = (struct adapter_slot){.id = q->adapter, .ready_s = now + p->adapter_load_s, .used_s = now};
  p->adapter_loads++;
  if (p->adapter_load_s <= 0)
    return 1;
  cpn_sim_at(p->sv->sim, p->ad[v].ready_s, p->sv->ev_adapter, 0, p, 0);
  return 0;
}

static void adapter_take(cpn_replica_t *p, cpn_req_t *q)
{
  for (int i = 0; i < p->n_ad; i++)
    if (p->ad[i].id == q->adapter) {
      p->ad[i].pins++;
      p->ad[i].used_s = cpn_sim_now(p->sv->sim);
      q->serve.adapter_slot = i + 1;
      return;
    }
  assert(!"taken without its adapter"); /* cpn_replica_peek returned it, so the adapter was ready */
}

static void adapter_release(cpn_replica_t *p, cpn_req_t *q)
{
  if (q->serve.adapter_slot > 0) {
    struct adapter_slot *a = &p->ad[q->serve.adapter_slot - 1];
    a->pins--;
    a->used_s = cpn_sim_now(p->sv->sim);
  }
  q->serve.adapter_slot = 0;
}

/* Does p hold adapter id (loaded or loading)? *empty: it has an empty slot. */
static int adapter_resident(const cpn_replica_t *p, uint64_t id, int *empty)
{
  *empty = 0;
  for (int i = 0; i < p->n_ad; i++) {
    if (p->ad[i].id == id)
      return 1;
    *empty |= p->ad[i].id == 0;
  }
  return 0;
}

/* An adapter finished loading on the replica: it serves what waited for it. */
static void on_adapter(void *ctx, const cpn_event_t *e)
{
  (void)ctx;
  cpn_replica_t *p = e->ptr;
  if (p->state != CPN_REP_READY)
    return;
  advance(p);
  if (admit(p))
    schedule(p);
  sync(p);
}

long cpn_serving_adapter_loads(const cpn_serving_t *sv)
{
  long n = 0;
  for (int i = 0; i < sv->n_replicas; i++)
    n += sv->reps[i].adapter_loads;
  return n;
}

/* ------------------------------------------------------------- services to schedulers */

double cpn_replica_now(const cpn_replica_t *rep) { return cpn_sim_now(rep->sv->sim); }
void cpn_replica_fail(cpn_replica_t *rep, cpn_err_t err) { cpn_sim_fail(rep->sv->sim, err); }

cpn_req_t *cpn_replica_peek(cpn_replica_t *p)
{
  p->adapter_wait = 0;
  cpn_serving_t *sv = p->sv;
  group_t *g = group_at(sv, p->info->site, p->info->model);
  for (;;) {
    int k = p->role != 1 && g->q[2].head ? 2 : p->role == 2 ? -1 : p->info->conf && g->q[1].head ? 1 : g->q[0].head ? 0 : -1;
    if (k < 0)
      return NULL;
    cpn_req_t *q = g->q[k].head;
    const cpn_class_spec_t *c = &sv->sc->classes[q->rec.cls];
    if (c->timeout_s > 0 && !q->serve.resumed && cpn_sim_now(sv->sim) - q->rec.t_arrival > c->timeout_s) {
      queue_pop(&g->q[k]);
      cpn_views_queued(sv->views, p->info->site, p->info->model, -1);
      cpn_views_tokens(sv->views, p->info->site, p->info->model,
                       -((double)q->rec.prompt_tokens + q->rec.output_tokens));
      cpn_accounting_end(sv->acct, q, CPN_STATUS_TIMED_OUT, CPN_REASON_QUEUE_TIMEOUT);
      continue;
    }
    if (q->adapter && !adapter_ready(p, q)) {
      p->adapter_wait = 1;
      return NULL; /* it waits for its adapter (loading, or every slot pinned by other adapters' requests) */
    }
    p->peek_q = k;
    return q;
  }
}

void cpn_replica_take(cpn_replica_t *p, cpn_req_t *q)
{
  group_t *g = group_at(p->sv, p->info->site, p->info->model);
  cpn_req_t *x = queue_pop(&g->q[p->peek_q]);
  (void)x;
  cpn_views_queued(p->sv->views, p->info->site, p->info->model, -1);
  q->rec.replica = p->index_in_site; /* with rec.site: after a KV transfer, the decode replica */
  if (q->adapter)
    adapter_take(p, q);
  if (q->serve.kv_in)
    q->serve.cached = q->serve.resume_ctx; /* its KV came with it: nothing to prefill */
  if (q->prefix.n > 0 && !q->serve.kv_in)
    prefix_take(p, q);
}

void cpn_replica_requeue(cpn_replica_t *p, cpn_req_t *q)
{
  cpn_serving_t *sv = p->sv;
  sv->preemptions++;
  prefix_release(p, q);
  adapter_release(p, q);
  q->serve.kv_in = 0; /* its KV is dropped: recomputed here when it is taken again */
  queue_push(&group_at(sv, p->info->site, p->info->model)->q[q->serve.queue], q, 1);
  cpn_views_queued(sv->views, p->info->site, p->info->model, 1);
}

void cpn_replica_first_token(cpn_replica_t *p, cpn_req_t *q)
{
  /* The first token travels back to the user: one-way route latency (a token is a few bytes). */
  q->rec.t_first_token = cpn_sim_now(p->sv->sim) + cpn_network_latency_s(p->sv->net, q->rec.origin, p->info->site);
}

void cpn_replica_complete(cpn_replica_t *p, cpn_req_t *q)
{
  cpn_serving_t *sv = p->sv;
  cpn_views_tokens(sv->views, p->info->site, p->info->model, -((double)q->rec.prompt_tokens + q->rec.output_tokens));
  if (q->rec.t_first_token - q->rec.t_arrival > sv->sc->classes[q->rec.cls].ttft_slo_s)
    group_at(sv, p->info->site, p->info->model)->slo_misses += 1;
  q->acct.accel_usd = q->acct.share_s * p->info->tp * p->info->accel->usd_per_hour / 3600.0;
  prefix_release(p, q);
  adapter_release(p, q);
  cpn_network_reply(sv->net, q);
}

static void kv_arrived(void *ctx, int tag)
{
  cpn_serving_t *sv = ctx;
  cpn_req_t *q = sv->hand[tag];
  int site = sv->hand_dst[tag], model = q->rec.model;
  int current = q->rec.id == sv->hand_id[tag] && q->serve.hand_tag == tag + 1;
  sv->hand_dst[tag] = sv->hand_free; /* the slot goes back on the free list */
  sv->hand_free = tag;
  if (!current)
    return; /* the decode site failed meanwhile: the fault stage placed the request again (or ended it) */
  q->serve.hand_tag = 0;
  /* The decode replica streams the first token (computed by the prefill) as soon as the KV is there. */
  q->rec.t_first_token = cpn_sim_now(sv->sim) + cpn_network_latency_s(sv->net, q->rec.origin, site);
  q->serve.resumed = 1;
  q->serve.resume_ctx = q->rec.prompt_tokens;
  q->serve.remaining = (double)q->rec.output_tokens - 1.0;
  q->serve.kv_in = 1;
  q->serve.queue = 2;
  queue_push(&group_at(sv, site, model)->q[2], q, 0);
  cpn_views_queued(sv->views, site, model, 1);
  dispatch(sv, site, model);
}

void cpn_replica_handoff(cpn_replica_t *p, cpn_req_t *q)
{
  cpn_serving_t *sv = p->sv;
  double need = (double)q->rec.prompt_tokens + q->rec.output_tokens;
  prefix_release(p, q);
  adapter_release(p, q);
  if (sv->hand_free < 0) {
    int cap = sv->cap_hand ? 2 * sv->cap_hand : 64;
    cpn_req_t **h = realloc(sv->hand, (size_t)cap * sizeof *h);
    if (h)
      sv->hand = h;
    uint64_t *id = h ? realloc(sv->hand_id, (size_t)cap * sizeof *id) : NULL;
    if (id)
      sv->hand_id = id;
    int *d = id ? realloc(sv->hand_dst, (size_t)cap * sizeof *d) : NULL;
    if (!d) {
      cpn_sim_fail(sv->sim, cpn_error_set(CPN_ENOMEM, "serving: out of memory (KV transfers)"));
      return;
    }
    sv->hand_dst = d;
    for (int i = cap - 1; i >= sv->cap_hand; i--) {
      sv->hand_dst[i] = sv->hand_free;
      sv->hand_free = i;
    }
    sv->cap_hand = cap;
  }
  int tag = sv->hand_free;
  sv->hand_free = sv->hand_dst[tag];
  sv->hand[tag] = q;
  sv->hand_id[tag] = q->rec.id;
  sv->hand_dst[tag] = p->decode_site;
  q->serve.hand_tag = tag + 1;
  /* From now on the request is the decode site's (its load in the views, and the site a fault there
   * takes it from); its KV is released here at once (not held until the transfer ends). */
  cpn_views_tokens(sv->views, p->info->site, p->info->model, -need);
  q->rec.site = p->decode_site;
  cpn_views_tokens(sv->views, p->decode_site, p->info->model, need);
  /* The prompt's KV: every prompt token's keys and values in all layers (the model's KV bytes per token). */
  cpn_network_bulk_kind(sv->net, "kv", p->info->site, p->decode_site, q->rec.prompt_tokens * p->kv_bytes_per_token,
                        p->info->model, tag, kv_arrived, sv);
}

/* ------------------------------------------------------------- the stage */

void cpn_serving_arrive(cpn_serving_t *sv, cpn_req_t *q)
{
  int site = q->rec.site, model = q->rec.model;
  q->serve.queue = sv->sc->classes[q->rec.cls].confidential ? 1 : 0;
  queue_push(&group_at(sv, site, model)->q[q->serve.queue], q, 0);
  cpn_views_queued(sv->views, site, model, 1);
  dispatch(sv, site, model);
}

void cpn_serving_prefetch_arrive(const void *ctx, const cpn_req_t *q)
{
  const cpn_serving_t *sv = ctx;
  if (q->rec.site < 0)
    return;
  const group_t *g = group_at(sv, q->rec.site, q->rec.model);
  if (g->free.count > 0) {
    int key, at = cpn_minset_min(&g->free, &key);
    prefetch_replica(sv, (size_t)g->replicas[at]);
  }
}

/* ------------------------------------------------------------- faults */

void cpn_serving_site_fail(cpn_serving_t *sv, int site)
{
  for (int i = 0; i < sv->n_replicas; i++) {
    cpn_replica_t *p = &sv->reps[i];
    if (p->info->site != site)
      continue;
    advance(p);
    cpn_sim_timer_cancel(sv->sim, p->timer); /* its planned step is void */
    /* The scheduler starts again empty: what it served is lost with the site (the fault stage retries
     * those requests, their KV gone). */
    if (p->type->destroy)
      p->type->destroy(p->st);
    memset(p->st, 0, p->type->state_size ? p->type->state_size : 1);
    if (p->type->init && p->type->init(p->st, p->info) != 0) {
      cpn_sim_fail(sv->sim, cpn_error_set(CPN_ENOMEM, "serving: out of memory resetting a replica"));
      return;
    }
    set_busy(p);
    if (p->pc)
      cpn_pcache_clear(p->pc); /* the cached blocks are lost with the KV */
    for (int a = 0; a < p->n_ad; a++)
      p->ad[a].pins = 0; /* its requests are lost; the adapters stay loaded, like the weights */
    if (p->state == CPN_REP_DRAINING)
      unload(p);
  }
  for (int m = 0; m < sv->n_models; m++) {
    group_t *g = group_at(sv, site, m);
    for (int k = 0; k < 3; k++) {
      cpn_views_queued(sv->views, site, m, -g->q[k].len);
      g->q[k].head = g->q[k].tail = NULL;
      g->q[k].len = 0;
    }
  }
}

void cpn_serving_forget(cpn_req_t *q) { memset(&q->serve, 0, sizeof q->serve); }

/* The site a prefill group sends its prompts' KV to: decode_site, or its own site; -1 when unknown. */
static int decode_site_of(const cpn_scenario_t *sc, int s, const cpn_replica_spec_t *rs)
{
  if (!rs->decode_site[0])
    return s;
  for (int i = 0; i < sc->n_sites; i++)
    if (strcmp(sc->sites[i].name, rs->decode_site) == 0)
      return i;
  return -1;
}

/* Replicas of `model` at site d with role `role` (or both). */
static int count_role(const cpn_scenario_t *sc, int d, int model, int role)
{
  int n = 0;
  for (int k = 0; k < sc->sites[d].n_replicas; k++) {
    const cpn_replica_spec_t *rs = &sc->sites[d].replicas[k];
    if (rs->model == model && (rs->role == role || rs->role == 0))
      n += rs->count;
  }
  return n;
}

/* Disaggregated serving: a prefill group's decode site exists and decodes its model; a decode group is
 * fed by some prefill group (otherwise it would never get work). */
static cpn_err_t check_roles(const cpn_scenario_t *sc)
{
  for (int s = 0; s < sc->n_sites; s++)
    for (int k = 0; k < sc->sites[s].n_replicas; k++) {
      const cpn_replica_spec_t *rs = &sc->sites[s].replicas[k];
      const char *model = sc->models[rs->model].name;
      if (rs->role == 1) {
        int d = decode_site_of(sc, s, rs);
        if (d < 0)
          return cpn_error_set(CPN_EINVAL, "%s:%d: sites.%s.replicas.%d.decode_site: no site named '%s'", sc->file,
                               sc->sites[s].line, sc->sites[s].name, k, rs->decode_site);
        if (count_role(sc, d, rs->model, 2) == 0)
          return cpn_error_set(CPN_EINVAL,
                               "%s:%d: sites.%s.replicas.%d.decode_site: site '%s' has no replica of model '%s' that "
                               "decodes (role decode or both), so the prompts prefilled here could not finish",
                               sc->file, sc->sites[s].line, sc->sites[s].name, k, sc->sites[d].name, model);
      } else if (rs->role == 2) {
        int fed = 0;
        for (int a = 0; a < sc->n_sites && !fed; a++)
          for (int j = 0; j < sc->sites[a].n_replicas && !fed; j++) {
            const cpn_replica_spec_t *x = &sc->sites[a].replicas[j];
            fed = x->role == 1 && x->model == rs->model && x->count > 0 && decode_site_of(sc, a, x) == s;
          }
        if (!fed)
          return cpn_error_set(CPN_EINVAL,
                               "%s:%d: sites.%s.replicas.%d.role: decode replicas of model '%s' here get no work: no "
                               "prefill replica of it sends its KV to site '%s' (decode_site)",
                               sc->file, sc->sites[s].line, sc->sites[s].name, k, model, sc->sites[s].name);
      }
    }
  return CPN_OK;
}

cpn_err_t cpn_serving_check(const cpn_scenario_t *sc)
{
  /* Counts and their sums are checked against the memory they would take before anything is allocated
   * (a sum of int counts used to wrap around, and the replica array to be written past its end). */
  double n_rep = 0, bytes = 0;
  for (int s = 0; s < sc->n_sites; s++)
    for (int k = 0; k < sc->sites[s].n_replicas; k++) {
      const cpn_replica_spec_t *rs = &sc->sites[s].replicas[k];
      n_rep += rs->count;
      const cpn_sched_type_t *type = cpn_sched_find(rs->scheduler);
      bytes += (double)rs->count * (sizeof(cpn_replica_t) + sizeof(int) + (type ? type->state_size : 0) +
                                    (double)rs->max_batch * sizeof(cpn_req_t *));
      if (n_rep > CPN_SERVING_MAX_REPLICAS || bytes > CPN_SERVING_MAX_BYTES)
        return cpn_error_set(CPN_EINVAL,
                             "%s:%d: sites.%s.replicas.%d.count: the scenario's replicas would take %.3g replicas and "
                             "%.3g GB of memory, over the limits of %d replicas and %.3g GB",
                             sc->file, sc->sites[s].line, sc->sites[s].name, k, n_rep, bytes / 1e9,
                             CPN_SERVING_MAX_REPLICAS, CPN_SERVING_MAX_BYTES / 1e9);
    }
  for (int s = 0; s < sc->n_sites; s++) {
    const cpn_site_spec_t *ss = &sc->sites[s];
    for (int k = 0; k < ss->n_replicas; k++) {
      const cpn_replica_spec_t *rs = &ss->replicas[k];
      const cpn_pool_spec_t *pool = &ss->pools[rs->pool];
      const cpn_model_spec_t *ms = &sc->models[rs->model];
      const cpn_accel_t *acc = cpn_accel_find(pool->accel);
      const cpn_llm_t *llm = cpn_llm_find(ms->catalog);
      if (!acc)
        return cpn_error_set(CPN_EINVAL, "%s:%d: sites.%s.pools.%s.accel: unknown accelerator '%s'", sc->file,
                             ss->line, ss->name, pool->name, pool->accel);
      if (!llm)
        return cpn_error_set(CPN_EINVAL, "%s: models.%s.catalog: unknown model '%s'", sc->file, ms->name, ms->catalog);
      if (!cpn_sched_find(rs->scheduler)) {
        char known[256] = "";
        for (size_t i = 0; cpn_sched_at(i); i++)
          snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", cpn_sched_at(i)->name);
        return cpn_error_set(CPN_EINVAL, "%s:%d: sites.%s.replicas.%d.scheduler: unknown serving scheduler '%s' (known: %s)",
                             sc->file, ss->line, ss->name, k, rs->scheduler, known);
      }
      const cpn_sched_type_t *type = cpn_sched_find(rs->scheduler);
      for (int j = 0; j < rs->n_sched_params; j++) {
        size_t i = 0;
        while (type->param_names && type->param_names[i] && strcmp(type->param_names[i], rs->sched_param_keys[j]))
          i++;
        if (!type->param_names || !type->param_names[i]) {
          char known[256] = "";
          for (size_t m = 0; type->param_names && type->param_names[m]; m++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s (default %g)", m ? ", " : "",
                     type->param_names[m], type->param_defaults[m]);
          return cpn_error_set(CPN_EINVAL,
                               "%s:%d: sites.%s.replicas.%d.scheduler_params.%s: serving scheduler '%s' has no "
                               "parameter '%s' (its parameters: %s)",
                               sc->file, ss->line, ss->name, k, rs->sched_param_keys[j],
                               type->name, rs->sched_param_keys[j], known[0] ? known : "none");
        }
      }
      cpn_perf_t perf;
      cpn_perf_init(&perf, llm, acc, rs->tp);
      /* The type's own check of its parameters, on a state built and freed here (once per group). */
      cpn_replica_info_t info = {.site = s, .model = rs->model, .tp = rs->tp, .max_batch = rs->max_batch,
                                 .accel = acc, .perf = perf, .slow = 1.0, .kv_cap = cpn_perf_kv_capacity_tokens(&perf),
                                 .n_params = rs->n_sched_params, .param_keys = rs->sched_param_keys,
                                 .param_values = rs->sched_param_values};
      void *st = calloc(1, type->state_size ? type->state_size : 1);
      int rc = st && type->init ? type->init(st, &info) : 0;
      if (st && rc >= 0 && type->destroy)
        type->destroy(st);
      free(st);
      if (!st || rc < 0)
        return cpn_error_set(CPN_ENOMEM, "serving: out of memory (scheduler state)");
      if (rc > 0)
        return cpn_error_set(CPN_EINVAL, "%s:%d: sites.%s.replicas.%d.scheduler_params: serving scheduler '%s' "
                             "refuses these parameters: %s",
                             sc->file, ss->line, ss->name, k, type->name, type->param_rules ? type->param_rules : "");
      if (!(cpn_perf_kv_capacity_tokens(&perf) > 0))
        return cpn_error_set(CPN_EINVAL, "%s:%d: sites.%s.replicas: model '%s' does not fit on %d x %s (tp too small)",
                             sc->file, ss->line, ss->name, ms->name, rs->tp, acc->name);
    }
  }
  return check_roles(sc);
}

static cpn_err_t build(cpn_serving_t *sv)
{
  const cpn_scenario_t *sc = sv->sc;
  cpn_err_t err = cpn_serving_check(sc);
  if (err)
    return err;
  double n_rep = 0;
  for (int s = 0; s < sc->n_sites; s++)
    for (int k = 0; k < sc->sites[s].n_replicas; k++)
      n_rep += sc->sites[s].replicas[k].count;
  int n_rows = 0;
  for (int s = 0; s < sc->n_sites; s++)
    n_rows += sc->sites[s].n_replicas;
  sv->infos = calloc((size_t)(n_rows > 0 ? n_rows : 1), sizeof *sv->infos);
  size_t reps_bytes = (size_t)(n_rep > 0 ? n_rep : 1) * sizeof *sv->reps;
  sv->reps = sv->infos ? cpn_huge_calloc(reps_bytes) : NULL;
  sv->aside = calloc((size_t)(n_rep > 0 ? n_rep : 1), sizeof *sv->aside);
  size_t st_size = 1;
  for (int s = 0; s < sc->n_sites; s++)
    for (int k = 0; k < sc->sites[s].n_replicas; k++) {
      const cpn_sched_type_t *type = cpn_sched_find(sc->sites[s].replicas[k].scheduler);
      if (type && type->state_size > st_size)
        st_size = type->state_size;
    }
  sv->st_stride = (st_size + 63) / 64 * 64;
  size_t st_bytes = (size_t)(n_rep > 0 ? n_rep : 1) * sv->st_stride;
  sv->st_pool = cpn_huge_calloc(st_bytes);
  if (!sv->reps || !sv->aside || !sv->st_pool)
    return cpn_error_set(CPN_ENOMEM, "serving: out of memory (replicas)");
  /* Per (site, model) replica lists: count first, then fill. */
  for (int s = 0; s < sc->n_sites; s++)
    for (int k = 0; k < sc->sites[s].n_replicas; k++)
      group_at(sv, s, sc->sites[s].replicas[k].model)->n_replicas += sc->sites[s].replicas[k].count;
  for (int i = 0; i < sc->n_sites * sc->n_models; i++) {
    sv->groups[i].replicas = calloc((size_t)(sv->groups[i].n_replicas ? sv->groups[i].n_replicas : 1), sizeof(int));
    cpn_minset_init(&sv->groups[i].free, sv->groups[i].n_replicas);
    if (!sv->groups[i].replicas)
      return cpn_error_set(CPN_ENOMEM, "serving: out of memory (replicas)");
    sv->groups[i].n_replicas = 0;
  }
  cpn_replica_info_t *row = sv->infos;
  for (int s = 0; s < sc->n_sites; s++) {
    const cpn_site_spec_t *ss = &sc->sites[s];
    int in_site = 0;
    for (int k = 0; k < ss->n_replicas; k++, row++) {
      const cpn_replica_spec_t *rs = &ss->replicas[k];
      const cpn_pool_spec_t *pool = &ss->pools[rs->pool];
      const cpn_model_spec_t *ms = &sc->models[rs->model];
      const cpn_accel_t *acc = cpn_accel_find(pool->accel);
      const cpn_llm_t *llm = cpn_llm_find(ms->catalog);
      const cpn_sched_type_t *type = cpn_sched_find(rs->scheduler);
      assert(acc && llm && type); /* cpn_serving_check refused anything else before the build */
      cpn_perf_t perf;
      cpn_perf_init(&perf, llm, acc, rs->tp);
      if (ms->prefill_eff > 0) perf.prefill_eff = ms->prefill_eff;
      if (ms->decode_eff > 0) perf.decode_eff = ms->decode_eff;
      if (ms->step_overhead_s > 0) perf.step_overhead_s = ms->step_overhead_s;
      double kv0 = cpn_perf_kv_capacity_tokens(&perf);
      assert(kv0 > 0); /* checked by cpn_serving_check (KV capacity depends on memory, not efficiencies) */
      group_t *g = group_at(sv, s, rs->model);
      *row = (cpn_replica_info_t){.site = s, .model = rs->model, .tp = rs->tp, .max_batch = rs->max_batch,
                                  .conf = pool->confidential, .accel = acc, .perf = perf,
                                  .slow = 1.0 + (pool->confidential ? sc->run.confidential_overhead : 0.0),
                                  .n_params = rs->n_sched_params, .param_keys = rs->sched_param_keys,
                                  .param_values = rs->sched_param_values, .prefill_only = rs->role == 1,
                                  .spec_tokens = rs->spec_tokens, .spec_acceptance = rs->spec_acceptance,
                                  .spec_draft_cost = rs->spec_draft_cost};
      double kv_first = NAN; /* the KV capacity the type's figures give the row's first replica */
      for (int c = 0; c < rs->count; c++) {
        int i = sv->n_replicas++;
        cpn_replica_t *p = &sv->reps[i];
        p->sv = sv;
        if ((p->timer = cpn_sim_timer_new(sv->sim)) < 0)
          return cpn_error_set(CPN_ENOMEM, "serving: out of memory (replica timers)");
        row->kv_cap = kv0; /* as each replica's init sees it: before the type's figures */
        p->info = row;
        p->n_ad = rs->max_adapters > 0 ? rs->max_adapters : 1;
        p->ad = calloc((size_t)p->n_ad, sizeof *p->ad);
        if (!p->ad)
          return cpn_error_set(CPN_ENOMEM, "serving: out of memory (adapters)");
        p->adapter_load_s = ms->adapter_load_s;
        p->role = rs->role;
        p->decode_site = rs->role == 1 ? decode_site_of(sc, s, rs) : -1;
        p->kv_bytes_per_token = llm->kv_bytes_per_token;
        p->type = type;
        p->st = sv->st_pool + (size_t)i * sv->st_stride;
        int rc = type->init ? type->init(p->st, p->info) : 0;
        if (rc < 0)
          return cpn_error_set(CPN_ENOMEM, "serving: out of memory (scheduler state)");
        if (rc > 0)
          return cpn_error_set(CPN_EINVAL, "%s:%d: sites.%s.replicas.%d.scheduler_params: serving scheduler '%s' "
                               "refuses these parameters: %s",
                               sc->file, ss->line, ss->name, k, type->name, type->param_rules ? type->param_rules : "");
        double kv = kv0, prefill_est_s = p->info->slow * cpn_perf_prefill_s(&perf, 1000),
               step_s = p->info->slow * cpn_perf_decode_step_s(&perf, 1, 1000);
        if (type->figures)
          type->figures(p->st, p->info, &kv, &prefill_est_s, &step_s);
        /* A type's figures depend on the row only: every replica of it gets the same KV capacity. */
        if (c == 0)
          kv_first = kv;
        else if (!(kv == kv_first || (isnan(kv) && isnan(kv_first))))
          return cpn_error_set(CPN_EINVAL, "%s:%d: sites.%s.replicas.%d: serving scheduler '%s' gives replicas of "
                               "one row different KV capacities (%g, %g)",
                               sc->file, ss->line, ss->name, k, type->name, kv_first, kv);
        row->kv_cap = kv;
        p->weight_bytes = cpn_perf_weight_bytes(llm);
        p->state = CPN_REP_UNLOADED;
        p->index_in_site = in_site++;
        p->pos = g->n_replicas;
        g->replicas[g->n_replicas++] = i;
        set_state(p, c < rs->count - rs->unloaded ? CPN_REP_READY : CPN_REP_UNLOADED);
        sync(p);
        if (isfinite(kv))
          sv->site_kv_cap[s] += kv;
        /* Decode replicas take no new prompt: placement does not see them. */
        if (p->role != 2)
          cpn_views_add_replica(sv->views, s, rs->model, p->info->conf, kv, rs->tp, prefill_est_s, step_s,
                                step_s * p->info->tp * cpn_perf_power_w(acc, 0.4), p->info->tp * acc->usd_per_hour);
      }
    }
  }
  return CPN_OK;
}

cpn_err_t cpn_serving_new(cpn_serving_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_views_t *views,
                          cpn_network_t *net, cpn_accounting_t *acct)
{
  cpn_serving_t *sv = calloc(1, sizeof *sv);
  if (!sv)
    return cpn_error_set(CPN_ENOMEM, "serving: out of memory");
  *sv = (cpn_serving_t){.sc = sc, .sim = sim, .views = views, .net = net, .acct = acct, .n_sites = sc->n_sites,
                        .n_models = sc->n_models,
                        .block_tokens = sc->demand.trace_block_tokens > 0 ? sc->demand.trace_block_tokens : 512,
                        .hand_free = -1};
  sv->groups = calloc((size_t)sc->n_sites * sc->n_models, sizeof *sv->groups);
  sv->site_kv_cap = calloc((size_t)sc->n_sites, sizeof *sv->site_kv_cap);
  cpn_err_t err = sv->groups && sv->site_kv_cap ? build(sv) : cpn_error_set(CPN_ENOMEM, "serving: out of memory");
  if (err) {
    cpn_serving_free(sv);
    return err;
  }
  sv->ev_step = cpn_sim_kind(sim, "serving.step", on_step, sv);
  cpn_sim_kind_prefetch(sim, sv->ev_step, prefetch_step, prefetch_step_next);
  sv->ev_adapter = cpn_sim_kind(sim, "serving.adapter", on_adapter, sv);
  *out = sv;
  return CPN_OK;
}

void cpn_serving_free(cpn_serving_t *sv)
{
  if (!sv)
    return;
  for (int i = 0; i < sv->n_replicas; i++) {
    cpn_replica_t *p = &sv->reps[i];
    if (p->st && p->type->destroy)
      p->type->destroy(p->st);
    cpn_pcache_free(p->pc);
    free(p->ad);
  }
  free(sv->reps);
  free(sv->infos);
  free(sv->st_pool);
  free(sv->aside);
  if (sv->groups)
    for (int i = 0; i < sv->n_sites * sv->n_models; i++) {
      free(sv->groups[i].replicas);
      cpn_minset_free(&sv->groups[i].free);
    }
  free(sv->groups);
  free(sv->site_kv_cap);
  free(sv->hand);
  free(sv->hand_id);
  free(sv->hand_dst);
  free(sv);
}

void cpn_serving_on_fleet(cpn_serving_t *sv, void (*cold)(void *ctx, int replica),
                          void (*unloaded)(void *ctx, int replica), void *ctx)
{
  sv->cold = cold;
  sv->unloaded = unloaded;
  sv->fleet_ctx = ctx;
}

int cpn_serving_replicas(const cpn_serving_t *sv) { return sv->n_replicas; }
int cpn_serving_site(const cpn_serving_t *sv, int i) { return sv->reps[i].info->site; }
int cpn_serving_model(const cpn_serving_t *sv, int i) { return sv->reps[i].info->model; }
int cpn_serving_index_in_site(const cpn_serving_t *sv, int i) { return sv->reps[i].index_in_site; }
cpn_rep_state_t cpn_serving_state(const cpn_serving_t *sv, int i) { return (cpn_rep_state_t)sv->reps[i].state; }
int cpn_serving_busy(const cpn_serving_t *sv, int i) { return sv->reps[i].busy; }
int cpn_serving_active(const cpn_serving_t *sv, int i) { return sv->reps[i].type->active(sv->reps[i].st); }
double cpn_serving_idle_since(const cpn_serving_t *sv, int i) { return sv->reps[i].idle_since; }
double cpn_serving_weight_bytes(const cpn_serving_t *sv, int i) { return sv->reps[i].weight_bytes; }
int cpn_serving_group_size(const cpn_serving_t *sv, int site, int model) { return group_at(sv, site, model)->n_replicas; }
int cpn_serving_group_replica(const cpn_serving_t *sv, int site, int model, int k)
{
  return group_at(sv, site, model)->replicas[k];
}
int cpn_serving_queue_len(const cpn_serving_t *sv, int site, int model)
{
  const group_t *g = group_at(sv, site, model);
  return g->q[0].len + g->q[1].len + g->q[2].len;
}

double cpn_serving_take_slo_misses(cpn_serving_t *sv, int site, int model)
{
  group_t *g = group_at(sv, site, model);
  double x = g->slo_misses;
  g->slo_misses = 0;
  return x;
}

void cpn_serving_load_start(cpn_serving_t *sv, int i)
{
  cpn_replica_t *p = &sv->reps[i];
  p->t_last = cpn_sim_now(sv->sim);
  set_state(p, CPN_REP_LOADING);
}

void cpn_serving_load_done(cpn_serving_t *sv, int i)
{
  cpn_replica_t *p = &sv->reps[i];
  set_state(p, CPN_REP_READY);
  p->t_last = cpn_sim_now(sv->sim);
  p->idle_since = p->t_last;
  sync(p);
  dispatch(sv, p->info->site, p->info->model);
}

void cpn_serving_drain(cpn_serving_t *sv, int i)
{
  cpn_replica_t *p = &sv->reps[i];
  if (p->busy) {
    set_state(p, CPN_REP_DRAINING);
    sync(p);
  } else {
    unload(p);
  }
}

void cpn_serving_unload(cpn_serving_t *sv, int i) { unload(&sv->reps[i]); }

void cpn_serving_advance(cpn_serving_t *sv, int i) { advance(&sv->reps[i]); }

void cpn_serving_figures(const cpn_serving_t *sv, int i, int *batch, double *pw, double *kv_tokens)
{
  const cpn_replica_t *p = &sv->reps[i];
  *batch = p->type->batch(p->st);
  *pw = power_w(p);
  *kv_tokens = isfinite(p->info->kv_cap) ? p->type->kv_used(p->st) : 0.0;
}

double cpn_serving_site_kv_cap(const cpn_serving_t *sv, int site) { return sv->site_kv_cap[site]; }

void cpn_serving_busy_accel_s(const cpn_serving_t *sv, double *busy_accel_s)
{
  for (int i = 0; i < sv->n_replicas; i++)
    busy_accel_s[sv->reps[i].info->site] += sv->reps[i].busy_s * sv->reps[i].info->tp;
}

void cpn_serving_energy_j(const cpn_serving_t *sv, int i, double *total_j, double *idle_j)
{
  *total_j = sv->reps[i].energy_total_j;
  *idle_j = sv->reps[i].energy_idle_j;
}

long cpn_serving_preemptions(const cpn_serving_t *sv) { return sv->preemptions; }
