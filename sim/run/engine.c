/* engine: one simulation run in fluid network mode (see engine.h and DESIGN.md).
 *
 * Owns the run state: the event heap, the request pool, sites with their model queues and replicas, link
 * loads, the policy state and view, the output file and the summary. The SimGrid engine provides the
 * clock and the platform: a single actor pops events in time order and sleeps until each one.
 *
 * Invariants:
 * - every request is in exactly one place: in transit to a site (a SITE_ARRIVAL event), in a site queue,
 *   prefilling on a replica, or decoding in a replica's batch; all live requests are on the live list;
 * - a request ends exactly once (end_request), and the run checks that what arrived (count, prompt and
 *   output tokens) equals what ended;
 * - continuous batching uses a virtual clock per replica: V counts the tokens each batch member has
 *   received; a member finishes when V reaches its target, so a decode step costs O(log batch).
 *
 * Serving model (per replica): one prefill at a time, which pauses decoding (no chunked prefill); the
 * first token is produced by the prefill; then (output - 1) decode steps whose time comes from
 * models/cpn_perf with the batch size and the batch's total context. KV-cache for prompt + output
 * tokens is reserved at admission; a request waits in the site queue while it does not fit. */
#include "run/engine.h"

#include <assert.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <simgrid/actor.h>
#include <simgrid/semaphore.h>
#include <simgrid/engine.h>
#include <simgrid/host.h>
#include <simgrid/version.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <xbt/log.h>

#include "cpn_perf.h"
#include "fleet/autoscaler.h"
#include "cpn_workload.h"
#include "output/output.h"
#include "output/record.h"
#include "accounting/summary.h"
#include "topology/topology.h"
#include "sources/trace.h"

XBT_LOG_NEW_DEFAULT_CATEGORY(cpn_engine, "cpnsim engine: the token path");

#define CPN_FORMAT_VERSION "1.0"

/* ---------------------------------------------------------------- events */

typedef enum { EV_ARRIVAL, EV_SITE_ARRIVAL, EV_REPLICA, EV_SAMPLE, EV_LOAD_DONE, EV_AUTOSCALE, EV_DECIDE,
               EV_TRACE, EV_REFRESH, EV_REPLY_DONE } ev_kind_t;

typedef struct {
  double t;
  uint64_t seq; /* insertion order: equal times pop in the order they were pushed (determinism) */
  void *ptr;
  uint64_t gen;
  int kind;
  int idx;
} event_t;

typedef struct {
  event_t *v;
  size_t n, cap;
  uint64_t seq;
} heap_t;

static int ev_less(const event_t *a, const event_t *b)
{
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int heap_push(heap_t *h, double t, int kind, int idx, void *ptr, uint64_t gen)
{
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 1024;
    event_t *v = realloc(h->v, cap * sizeof *v);
    if (!v)
      return -1;
    h->v = v;
    h->cap = cap;
  }
  event_t e = {.t = t, .seq = h->seq++, .ptr = ptr, .gen = gen, .kind = kind, .idx = idx};
  size_t i = h->n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!ev_less(&e, &h->v[p]))
      break;
    h->v[i] = h->v[p];
    i = p;
  }
  h->v[i] = e;
  return 0;
}

static event_t heap_pop(heap_t *h)
{
  event_t top = h->v[0], last = h->v[--h->n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const event_t *best = &last;
    if (l < h->n && ev_less(&h->v[l], best))
      m = l, best = &h->v[l];
    if (r < h->n && ev_less(&h->v[r], best))
      m = r;
    if (m == i)
      break;
    h->v[i] = h->v[m];
    i = m;
  }
  if (h->n)
    h->v[i] = last;
  return top;
}

/* ---------------------------------------------------------------- requests */

typedef struct req req_t;
struct req {
  cpn_record_t rec;
  req_t *prev, *next; /* live list */
  req_t *qnext;       /* site queue */
  double v_finish;    /* replica virtual time at which the last token is out */
  double v_start, ctx0, s_start, e_start;
  double resume_ctx;  /* after a preemption: context to recompute (prompt + tokens generated) */
  double remaining;   /* after a preemption: output tokens still to generate */
  int resumed;
  double share_s;     /* replica-seconds attributed to this request */
  double energy_j;    /* accelerator energy attributed (before PUE) */
  double kv_tokens;
  double bytes_in, bytes_out;
  double t_site_done;  /* flow mode: when the last token left the site */
  int queue;          /* index of the queue it waits in */
  int origin_node;
};

#define POOL_SLAB 4096

typedef struct {
  req_t *free;
  req_t **slabs;
  size_t n_slabs;
} req_pool_t;

static req_t *req_alloc(req_pool_t *p)
{
  if (!p->free) {
    req_t *slab = calloc(POOL_SLAB, sizeof *slab);
    req_t **slabs = realloc(p->slabs, (p->n_slabs + 1) * sizeof *slabs);
    if (!slab || !slabs) {
      free(slab);
      if (slabs)
        p->slabs = slabs;
      return NULL;
    }
    p->slabs = slabs;
    p->slabs[p->n_slabs++] = slab;
    for (size_t i = 0; i < POOL_SLAB; i++) {
      slab[i].next = p->free;
      p->free = &slab[i];
    }
  }
  req_t *r = p->free;
  p->free = r->next;
  memset(r, 0, sizeof *r);
  return r;
}

static void req_release(req_pool_t *p, req_t *r)
{
  r->next = p->free;
  p->free = r;
}

/* ---------------------------------------------------------------- sites and replicas */

typedef struct {
  req_t *head, *tail;
  int len;
} queue_t;

typedef enum { REP_READY = 0, REP_UNLOADED, REP_LOADING, REP_DRAINING } rep_state_t;

typedef struct {
  int site, model, tp, max_batch, conf, index_in_site;
  int state;              /* rep_state_t */
  const cpn_accel_t *accel;
  cpn_perf_t perf;
  double slow;            /* time multiplier: 1 + confidential overhead on confidential pools */
  double kv_cap;          /* KV-cache capacity, tokens */
  double kv_prefill;      /* tokens held by the request in prefill */
  double idle_since;      /* when the replica last became idle (autoscaler) */
  double weight_bytes;    /* what a cold start transfers */
  uint64_t mark;          /* dispatch round in which it could not admit (KV full) */
  req_t **batch; /* min-heap on v_finish */
  int n;
  double V, sum_ctx0, sum_vstart;
  double step_s, t_last;
  req_t *prefill;
  double prefill_end;
  uint64_t gen;
  double S, E;            /* share and energy accumulators per batch slot */
  double busy_s, energy_total_j;
  int busy;               /* has work (prefill or batch) */
} replica_t;

typedef struct {
  int n_replicas;
  replica_t **replicas;   /* replicas of this (site, model) */
  queue_t q[2];           /* [0] ordinary, [1] confidential requests */
  double max_kv_cap;
  int conf_replicas;
  double low_since;       /* autoscaler view: since when the load has been low (-1: it is not) */
} site_model_t;

typedef struct {
  int total_accels;
  double kv_cap;
} site_t;

/* A bulk transfer (model weights for a cold start) carried by a SimGrid flow. */
typedef struct {
  int kind;               /* 0 = weights */
  int src, dst, model, replica;
  double bytes, start_s, end_s;
  int status;             /* 0 done, 1 in flight at the end of the run */
} transfer_t;

enum { EVK_LOAD_START, EVK_LOAD_DONE, EVK_UNLOAD };
static const char *const event_kind_names[] = {"load_start", "load_done", "unload"};
typedef struct {
  int kind, site, model, replica;
  double t_s;
} run_event_t;

/* ---------------------------------------------------------------- the run */

typedef struct {
  const cpn_engine_config_t *cfg;
  const cpn_scenario_t *sc;
  cpn_topology_t *topo;
  heap_t heap;
  req_pool_t pool;
  req_t live; /* sentinel of the live list */
  double now;
  double t_end_arrivals, t_end;
  uint64_t next_id;
  long max_requests;

  int n_sites, n_models, n_origins, n_links;
  site_t *sites;
  site_model_t *sm;       /* n_sites * n_models */
  replica_t *replicas;
  int n_replicas;

  /* workload */
  gsl_rng **arr_rng;      /* one stream per origin */
  gsl_rng *tok_rng;       /* classes, tenants, models, token counts */
  gsl_rng *pol_rng;       /* policy tie-breaks */
  cpn_arrival_t *arrivals;
  double *class_cdf, *tenant_cdf, *model_cdf;
  int *origin_node;

  /* network (fluid) */
  double *link_bytes_window, *link_load_bps;
  double *route_lat;      /* [origin * n_sites + site]: access + route, one way */

  /* policy */
  void *pstate;
  cpn_site_view_t *vsites;
  cpn_model_view_t *vmodels;
  double *vbw;
  cpn_view_t view;
  int *eligible;

  /* accounting */
  cpn_engine_stats_t st;
  cpn_output_t *out;
  cpn_summary_t *summary;
  double *site_busy_accel_s;
  double sample_dt;
  size_t n_samples;
  double *ts_sites;       /* rows: n_samples * n_sites, columns TS_COLS */
  double *ts_links;
  size_t ts_cap;
  cpn_err_t err;          /* first error inside the actor; stops the run */

  /* bulk transfers and replica life cycle */
  int *model_store;       /* per model: site index holding its weights, -1 = local */
  transfer_t *transfers;
  size_t n_transfers, cap_transfers;
  run_event_t *events;
  size_t n_events, cap_events;
  int loads_in_flight;
  /* Transfer actors post their completion to the heap and release this semaphore; the engine actor
   * waits on it with a timeout (the next event). SimGrid 3.32's sg_cond_wait_for aborts when another
   * actor notifies ("not the owner" of the mutex), so a semaphore it is. Actors are cooperative: no
   * lock is needed around the heap. */
  sg_sem_t wake;
  uint64_t dispatch_round;
  long pending_arrivals;  /* EV_ARRIVAL and EV_TRACE events in the heap */
  double *ts_replicas;    /* rows: n_samples * n_sites, columns 1 + n_models (t, ready replicas per model) */

  /* autoscaler */
  const cpn_autoscaler_type_t *scaler;
  void *scaler_state;
  double *slo_misses;     /* per (site, model) since the last autoscaler call */
  cpn_scale_view_t *scale_views;
  cpn_scale_action_t *scale_actions;

  /* trace replay */
  cpn_trace_t *trace;
  cpn_trace_row_t trace_row;  /* the row whose arrival is scheduled */
  gsl_rng *assign_rng;        /* origins/tenants/models for trace rows that lack them */
  double *origin_cdf;

  /* stale views and the decision trace */
  cpn_site_view_t *snap_sites;
  cpn_model_view_t *snap_models;
  double *decisions;          /* rows of DEC_COLS */
  size_t n_decisions, cap_decisions;
} run_t;

enum { DEC_COLS = 7 };
static const char *const dec_cols[DEC_COLS] = {"id", "t_s", "site", "latency_s", "load_tokens", "score", "chosen"};

static run_t *g_run; /* the actor's argument: SimGrid actors take argc/argv only */

static double uniform01(void *rng) { return gsl_rng_uniform(rng); }

/* Arrival events (generators and trace) are counted so periodic events (sampling, autoscaler, view
 * refresh) stop once nothing more can happen: no arrival pending, no request live, no transfer running. */
static int schedule_arrival(run_t *r, double t, int kind, int idx)
{
  if (heap_push(&r->heap, t, kind, idx, NULL, 0))
    return -1;
  r->pending_arrivals++;
  return 0;
}

static int run_idle(const run_t *r)
{
  return r->pending_arrivals == 0 && r->live.next == &r->live && r->loads_in_flight == 0;
}

/* splitmix64: derives independent stream seeds from the master seed. */
static unsigned long derive_seed(unsigned long master, unsigned long stream)
{
  uint64_t z = (uint64_t)master * 0x9E3779B97F4A7C15ull + (stream + 1) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (unsigned long)(z & 0xFFFFFFFFul) | 1ul;
}

static gsl_rng *stream(unsigned long master, unsigned long id)
{
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (r)
    gsl_rng_set(r, derive_seed(master, id));
  return r;
}

static int pick_cdf(const double *cdf, int n, double u)
{
  for (int i = 0; i < n; i++)
    if (u < cdf[i])
      return i;
  return n - 1;
}

static double *make_cdf(const double *w, size_t stride, int n)
{
  double *cdf = malloc((size_t)(n > 0 ? n : 1) * sizeof *cdf), sum = 0;
  if (!cdf)
    return NULL;
  for (int i = 0; i < n; i++)
    sum += *(const double *)((const char *)w + (size_t)i * stride);
  double acc = 0;
  for (int i = 0; i < n; i++) {
    acc += *(const double *)((const char *)w + (size_t)i * stride);
    cdf[i] = sum > 0 ? acc / sum : (double)(i + 1) / n;
  }
  return cdf;
}

static site_model_t *sm_at(run_t *r, int site, int model) { return &r->sm[(size_t)site * r->n_models + model]; }
static cpn_model_view_t *mv_at(run_t *r, int site, int model)
{
  return &r->vmodels[(size_t)site * r->n_models + model];
}

/* ------------------------------------------------------------- ending requests */

static void live_remove(req_t *q)
{
  q->prev->next = q->next;
  q->next->prev = q->prev;
}

static void end_request(run_t *r, req_t *q, cpn_status_t status, cpn_reason_t reason)
{
  cpn_record_t *rec = &q->rec;
  rec->status = (uint8_t)status;
  rec->reason = (uint8_t)reason;
  if (rec->site >= 0) {
    const cpn_site_spec_t *s = &r->sc->sites[rec->site];
    const cpn_origin_spec_t *o = &r->sc->origins[rec->origin];
    rec->cross_border = strcmp(s->country, o->country) != 0;
    if (status == CPN_STATUS_COMPLETED) {
      /* Facility energy = accelerator energy x PUE; cost = accelerator time + electricity. */
      const replica_t *rep = NULL;
      site_model_t *sm = sm_at(r, rec->site, rec->model);
      if (rec->replica >= 0 && rec->replica < sm->n_replicas)
        rep = sm->replicas[rec->replica];
      double energy_j = q->energy_j * s->pue;
      double kwh = energy_j / 3.6e6;
      rec->energy_j = energy_j;
      rec->co2_g = kwh * s->co2_g_per_kwh;
      rec->cost_usd = kwh * s->price_usd_per_kwh +
                      (rep ? q->share_s * rep->tp * rep->accel->usd_per_hour / 3600.0 : 0.0);
    }
  }
  r->st.ended_prompt_tokens += rec->prompt_tokens;
  r->st.ended_output_tokens += rec->output_tokens;
  switch (status) {
  case CPN_STATUS_COMPLETED: r->st.completed++; break;
  case CPN_STATUS_REJECTED: r->st.rejected++; break;
  case CPN_STATUS_FAILED: r->st.failed++; break;
  default: r->st.timed_out++; break;
  }
  if (r->out && !r->err)
    r->err = cpn_output_request(r->out, rec);
  if (rec->t_arrival >= r->sc->run.warmup_s) {
    const cpn_class_spec_t *c = &r->sc->classes[rec->cls];
    if (!r->err)
      r->err = cpn_summary_add(r->summary, rec, c->ttft_slo_s, c->tpot_slo_s, q->bytes_in + q->bytes_out);
    if (status == CPN_STATUS_COMPLETED)
      r->st.mean_response_s += rec->t_done - rec->t_arrival; /* divided at the end */
  }
  live_remove(q);
  req_release(&r->pool, q);
}

/* ------------------------------------------------------------- network (fluid) */

/* One-way transfer time of `bytes` between an origin's entry node and a site: access + route latency +
 * serialisation over the route's bottleneck bandwidth left by the current request traffic (CM02 without
 * TCP window, the model the platform is configured with). Adds the bytes to the links' load. */
static double transfer_s(run_t *r, int origin, int site, double bytes)
{
  const int *links;
  int nl = cpn_topology_route_links(r->topo, r->origin_node[origin], site, &links);
  double bw = INFINITY;
  for (int i = 0; i < nl; i++) {
    const cpn_link_spec_t *l = &r->sc->links[links[i]];
    double avail = l->bw_bps - r->link_load_bps[links[i]];
    if (avail < 0.01 * l->bw_bps)
      avail = 0.01 * l->bw_bps;
    if (avail < bw)
      bw = avail;
    r->link_bytes_window[links[i]] += bytes;
  }
  double t = r->route_lat[(size_t)origin * r->n_sites + site];
  if (isfinite(bw))
    t += bytes * 8.0 / bw;
  return t;
}

/* ------------------------------------------------------------- replicas */

static double prefill_time_s(const replica_t *p, double tokens)
{
  return p->slow * cpn_perf_prefill_s(&p->perf, tokens);
}

static double replica_power_w(const replica_t *p)
{
  if (p->state == REP_UNLOADED)
    return 0.0; /* its accelerators are back in the pool */
  if (p->prefill)
    return p->tp * cpn_perf_power_w(p->accel, 1.0);
  if (p->n == 0)
    return p->tp * cpn_perf_power_w(p->accel, 0.0);
  /* Decode is memory bound: power rises with batch from ~40% utilisation at batch 1 to full. */
  double u = 0.4 + 0.6 * (double)p->n / p->max_batch;
  return p->tp * cpn_perf_power_w(p->accel, u > 1 ? 1 : u);
}

/* KV-cache tokens in use now: the prefilling request's prompt, and every batch member's context. */
static double kv_now(const replica_t *p)
{
  return p->kv_prefill + p->sum_ctx0 - p->sum_vstart + p->n * p->V;
}

static void set_busy(run_t *r, replica_t *p)
{
  int busy = p->prefill != NULL || p->n > 0;
  if (busy != p->busy) {
    r->vsites[p->site].busy_accels += busy ? p->tp : -p->tp;
    p->busy = busy;
    if (!busy)
      p->idle_since = r->now;
  }
}

/* Brings the replica's accumulators to r->now. */
static void replica_advance(run_t *r, replica_t *p)
{
  double dt = r->now - p->t_last;
  if (dt <= 0)
    return;
  double w = replica_power_w(p);
  p->energy_total_j += w * dt;
  if (p->prefill) {
    p->busy_s += dt;
  } else if (p->n > 0) {
    p->V += dt / p->step_s;
    p->S += dt / p->n;
    p->E += w * dt / p->n;
    p->busy_s += dt;
  }
  p->t_last = r->now;
}

static void batch_sift_down(replica_t *p, int i)
{
  req_t *x = p->batch[i];
  for (;;) {
    int l = 2 * i + 1, rr = l + 1, m = i;
    double best = x->v_finish;
    if (l < p->n && p->batch[l]->v_finish < best)
      m = l, best = p->batch[l]->v_finish;
    if (rr < p->n && p->batch[rr]->v_finish < best)
      m = rr;
    if (m == i)
      break;
    p->batch[i] = p->batch[m];
    i = m;
  }
  p->batch[i] = x;
}

static void batch_push(replica_t *p, req_t *q)
{
  int i = p->n++;
  while (i > 0) {
    int par = (i - 1) / 2;
    if (p->batch[par]->v_finish <= q->v_finish)
      break;
    p->batch[i] = p->batch[par];
    i = par;
  }
  p->batch[i] = q;
}

/* Removes batch[i] and restores the heap (O(n) rebuild: only preemptions remove from the middle). */
static req_t *batch_remove(replica_t *p, int i)
{
  req_t *x = p->batch[i];
  p->batch[i] = p->batch[--p->n];
  for (int k = p->n / 2 - 1; k >= 0; k--)
    batch_sift_down(p, k);
  return x;
}

static void replica_schedule(run_t *r, replica_t *p)
{
  p->gen++;
  double t;
  if (p->prefill) {
    t = p->prefill_end;
  } else if (p->n > 0) {
    double k = p->batch[0]->v_finish - p->V;
    /* Steps until the KV cache is full (each step adds one token per member): a preemption point. */
    double k_full = (p->kv_cap - kv_now(p)) / p->n;
    if (k_full < k)
      k = k_full;
    if (k < 0)
      k = 0;
    /* Context grows by one token per member per step; the mean context over the next k steps makes the
     * sum of step times exact for the memory-bound (linear) part of the roofline. */
    double ctx = p->sum_ctx0 - p->sum_vstart + p->n * p->V;
    double mid = ctx + p->n * (k > 1 ? (k - 1) / 2.0 : 0.0);
    p->step_s = p->slow * cpn_perf_decode_step_s(&p->perf, p->n, mid);
    t = r->now + k * p->step_s;
  } else {
    return;
  }
  if (heap_push(&r->heap, t, EV_REPLICA, 0, p, p->gen))
    r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
}

static void start_flow(run_t *r, req_t *q, int upload);
static void finish_completed(run_t *r, req_t *q);

static void complete_request(run_t *r, replica_t *p, req_t *q)
{
  cpn_model_view_t *mv = mv_at(r, p->site, p->model);
  double tok = (double)q->rec.prompt_tokens + q->rec.output_tokens;
  mv->queued_tokens -= tok;
  r->vsites[p->site].queued_tokens -= tok;
  if (q->rec.t_first_token - q->rec.t_arrival > r->sc->classes[q->rec.cls].ttft_slo_s)
    r->slo_misses[(size_t)p->site * r->n_models + p->model] += 1;
  if (r->sc->run.network_mode == CPN_NET_FLOW) {
    /* The reply travels as a SimGrid flow; the request ends when it arrives (EV_REPLY_DONE). */
    q->t_site_done = r->now;
    start_flow(r, q, 0);
    return;
  }
  q->rec.net_out_s = transfer_s(r, q->rec.origin, p->site, q->bytes_out);
  q->rec.t_done = r->now + q->rec.net_out_s;
  finish_completed(r, q);
}

static void finish_completed(run_t *r, req_t *q)
{
  if (r->cfg->on_record)
    r->cfg->on_record(&q->rec, r->cfg->on_record_arg);
  end_request(r, q, CPN_STATUS_COMPLETED, CPN_REASON_NONE);
}

static void start_decode(run_t *r, replica_t *p, req_t *q, double ctx0, double tokens)
{
  q->v_start = p->V;
  q->v_finish = p->V + tokens;
  q->ctx0 = ctx0;
  q->s_start = p->S;
  q->e_start = p->E;
  p->sum_ctx0 += q->ctx0;
  p->sum_vstart += q->v_start;
  batch_push(p, q);
}

static void leave_batch(replica_t *p, req_t *q)
{
  p->sum_ctx0 -= q->ctx0;
  p->sum_vstart -= q->v_start;
  q->share_s += p->S - q->s_start;
  q->energy_j += p->E - q->e_start;
}

static void queue_push(queue_t *qq, req_t *q, int at_head)
{
  if (at_head) {
    q->qnext = qq->head;
    qq->head = q;
    if (!qq->tail)
      qq->tail = q;
  } else {
    q->qnext = NULL;
    if (qq->tail)
      qq->tail->qnext = q;
    else
      qq->head = q;
    qq->tail = q;
  }
  qq->len++;
}

static req_t *queue_pop(queue_t *qq)
{
  req_t *q = qq->head;
  qq->head = q->qnext;
  if (!qq->head)
    qq->tail = NULL;
  qq->len--;
  return q;
}

/* The KV cache is full and decoding would outgrow it: the most recently admitted member is preempted
 * (vLLM's recompute policy): its KV is dropped and it returns to the head of its queue, to prefill its
 * prompt and the tokens it had generated again before decoding the rest. */
static void preempt_one(run_t *r, replica_t *p)
{
  int victim = 0;
  for (int i = 1; i < p->n; i++)
    if (p->batch[i]->v_start > p->batch[victim]->v_start ||
        (p->batch[i]->v_start == p->batch[victim]->v_start && p->batch[i]->rec.id > p->batch[victim]->rec.id))
      victim = i;
  req_t *q = batch_remove(p, victim);
  leave_batch(p, q);
  double generated = p->V - q->v_start;
  q->resume_ctx = q->ctx0 + generated;
  q->remaining = q->v_finish - p->V;
  q->resumed = 1;
  if (q->rec.preempted < 255)
    q->rec.preempted++;
  r->st.preemptions++;
  site_model_t *sm = sm_at(r, p->site, p->model);
  queue_push(&sm->q[q->queue], q, 1);
  mv_at(r, p->site, p->model)->queued_requests++;
  r->vsites[p->site].queued_requests++;
}

/* Starts work on an idle slot of the replica: the next request from its queue(s), if its prompt fits in
 * the KV cache now (its output grows into the cache as it decodes). */
static void replica_admit(run_t *r, replica_t *p)
{
  site_model_t *sm = sm_at(r, p->site, p->model);
  while (p->state == REP_READY && !p->prefill && p->n < p->max_batch && !r->err) {
    queue_t *qq = NULL;
    if (p->conf && sm->q[1].head)
      qq = &sm->q[1];
    else if (sm->q[0].head)
      qq = &sm->q[0];
    if (!qq)
      break;
    req_t *q = qq->head;
    const cpn_class_spec_t *c = &r->sc->classes[q->rec.cls];
    if (c->timeout_s > 0 && !q->resumed && r->now - q->rec.t_arrival > c->timeout_s) {
      queue_pop(qq);
      mv_at(r, p->site, p->model)->queued_requests--;
      r->vsites[p->site].queued_requests--;
      double tok = (double)q->rec.prompt_tokens + q->rec.output_tokens;
      mv_at(r, p->site, p->model)->queued_tokens -= tok;
      r->vsites[p->site].queued_tokens -= tok;
      end_request(r, q, CPN_STATUS_TIMED_OUT, CPN_REASON_QUEUE_TIMEOUT);
      continue;
    }
    double ctx = q->resumed ? q->resume_ctx : (double)q->rec.prompt_tokens;
    if (kv_now(p) + ctx + 1 > p->kv_cap)
      break; /* waits until KV is released */
    queue_pop(qq);
    mv_at(r, p->site, p->model)->queued_requests--;
    r->vsites[p->site].queued_requests--;
    q->rec.replica = p->index_in_site;
    double dur = prefill_time_s(p, ctx);
    p->prefill = q;
    p->kv_prefill = ctx + 1;
    p->prefill_end = r->now + dur;
    q->share_s += dur;
    q->energy_j += dur * p->tp * cpn_perf_power_w(p->accel, 1.0);
  }
  set_busy(r, p);
}

static void unload(run_t *r, replica_t *p);

static void on_replica(run_t *r, replica_t *p)
{
  replica_advance(r, p);
  if (p->prefill) {
    req_t *q = p->prefill;
    p->prefill = NULL;
    p->kv_prefill = 0;
    double ctx0 = (q->resumed ? q->resume_ctx : (double)q->rec.prompt_tokens) + 1.0;
    double tokens = q->resumed ? q->remaining : (double)q->rec.output_tokens - 1.0;
    if (!q->resumed) {
      /* The first token travels back to the user: one-way route latency (a token is a few bytes). */
      q->rec.t_first_token = r->now + r->route_lat[(size_t)q->rec.origin * r->n_sites + p->site];
    }
    if (tokens <= 0)
      complete_request(r, p, q);
    else
      start_decode(r, p, q, ctx0, tokens);
  } else {
    /* Everyone whose last token is out (tolerance: floating-point drift of V over many events). */
    while (p->n > 0 && p->batch[0]->v_finish <= p->V + 1e-9 * (1.0 + fabs(p->V))) {
      req_t *q = p->batch[0];
      p->batch[0] = p->batch[--p->n];
      if (p->n)
        batch_sift_down(p, 0);
      leave_batch(p, q);
      complete_request(r, p, q);
    }
    /* Decoding filled the KV cache: preempt until the next step fits. */
    while (p->n > 1 && kv_now(p) + p->n > p->kv_cap + 1e-6)
      preempt_one(r, p);
  }
  if (p->state == REP_DRAINING && p->n == 0 && !p->prefill) {
    unload(r, p);
    return;
  }
  replica_admit(r, p);
  replica_schedule(r, p);
}

/* ------------------------------------------------------------- replica life cycle */

static void log_event(run_t *r, int kind, const replica_t *p)
{
  if (r->n_events == r->cap_events) {
    size_t cap = r->cap_events ? r->cap_events * 2 : 64;
    run_event_t *v = realloc(r->events, cap * sizeof *v);
    if (!v) {
      r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (events)");
      return;
    }
    r->events = v;
    r->cap_events = cap;
  }
  r->events[r->n_events++] = (run_event_t){.kind = kind, .site = p->site, .model = p->model,
                                           .replica = p->index_in_site, .t_s = r->now};
}

/* The SimGrid side of a cold start: one actor per weights transfer, a blocking host-to-host send
 * (a SimGrid flow sharing bandwidth with every other bulk transfer), then the completion is posted to
 * the engine's event heap and the engine actor is woken. */
static void load_actor(int argc, char **argv)
{
  run_t *r = g_run;
  size_t i = (size_t)strtoul(argv[1], NULL, 10);
  transfer_t *x = &r->transfers[i];
  if (x->bytes > 0)
    sg_host_sendto(sg_host_by_name(cpn_topology_node_name(r->topo, x->src)),
                   sg_host_by_name(cpn_topology_node_name(r->topo, x->dst)), x->bytes);
  x->end_s = simgrid_get_clock();
  x->status = 0;
  r->loads_in_flight--;
  if (heap_push(&r->heap, x->end_s, EV_LOAD_DONE, (int)i, NULL, 0))
    r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
  sg_sem_release(r->wake);
}

/* Flow mode: one actor per request transfer (upload or reply), a SimGrid flow between the origin's
 * entry node and the site; the completion (plus the origin's access latency) is posted as an event. */
static void flow_actor(int argc, char **argv)
{
  run_t *r = g_run;
  req_t *q = (req_t *)(uintptr_t)strtoull(argv[1], NULL, 16);
  int upload = argv[2][0] == 'u';
  int a = r->origin_node[q->rec.origin], b = q->rec.site;
  if (a != b)
    sg_host_sendto(sg_host_by_name(cpn_topology_node_name(r->topo, upload ? a : b)),
                   sg_host_by_name(cpn_topology_node_name(r->topo, upload ? b : a)),
                   upload ? q->bytes_in : q->bytes_out);
  r->loads_in_flight--;
  double t = simgrid_get_clock() + r->sc->origins[q->rec.origin].access_latency_s;
  if (heap_push(&r->heap, t, upload ? EV_SITE_ARRIVAL : EV_REPLY_DONE, 0, q, 0))
    r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
  sg_sem_release(r->wake);
}

static void start_flow(run_t *r, req_t *q, int upload)
{
  char ptr[32];
  snprintf(ptr, sizeof ptr, "%llx", (unsigned long long)(uintptr_t)q);
  const char *argv[] = {"flow", ptr, upload ? "u" : "r", NULL};
  r->loads_in_flight++;
  sg_actor_create_("flow", sg_host_by_name(cpn_topology_node_name(r->topo, upload ? r->origin_node[q->rec.origin]
                                                                                      : q->rec.site)),
                   flow_actor, 3, argv);
}

static void start_load(run_t *r, replica_t *p)
{
  p->t_last = r->now;
  p->state = REP_LOADING;
  r->st.cold_starts++;
  log_event(r, EVK_LOAD_START, p);
  if (r->n_transfers == r->cap_transfers) {
    size_t cap = r->cap_transfers ? r->cap_transfers * 2 : 64;
    transfer_t *v = realloc(r->transfers, cap * sizeof *v);
    if (!v) {
      r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (transfers)");
      return;
    }
    r->transfers = v;
    r->cap_transfers = cap;
  }
  size_t i = r->n_transfers++;
  int src = r->model_store[p->model] >= 0 ? r->model_store[p->model] : p->site;
  r->transfers[i] = (transfer_t){.kind = 0, .src = src, .dst = p->site, .model = p->model,
                                 .replica = (int)(p - r->replicas), .bytes = src == p->site ? 0 : p->weight_bytes,
                                 .start_s = r->now, .end_s = NAN, .status = 1};
  char arg[32];
  snprintf(arg, sizeof arg, "%zu", i);
  const char *argv[] = {"load", arg, NULL};
  r->loads_in_flight++;
  sg_actor_create_("load", sg_host_by_name(cpn_topology_node_name(r->topo, p->site)), load_actor, 2,
                   argv);
}

static void site_dispatch(run_t *r, int site, int model);

static void on_load_done(run_t *r, int i)
{
  replica_t *p = &r->replicas[r->transfers[i].replica];
  p->state = REP_READY;
  p->t_last = r->now;
  p->idle_since = r->now;
  log_event(r, EVK_LOAD_DONE, p);
  site_dispatch(r, p->site, p->model);
}

static void unload(run_t *r, replica_t *p)
{
  replica_advance(r, p);
  set_busy(r, p); /* a drained replica has just become idle */
  p->state = REP_UNLOADED;
  p->gen++;
  log_event(r, EVK_UNLOAD, p);
}

/* Finds a replica with a free slot for the (site, model) queues, the one with the smallest batch, until
 * no replica can take the head request. Starts a cold load when nothing is loaded or loading. */
static void site_dispatch(run_t *r, int site, int model)
{
  site_model_t *sm = sm_at(r, site, model);
  if (!sm->q[0].head && !sm->q[1].head)
    return;
  int ready = 0, loading = 0;
  replica_t *cold = NULL;
  for (int i = 0; i < sm->n_replicas; i++) {
    replica_t *p = sm->replicas[i];
    ready += p->state == REP_READY;
    loading += p->state == REP_LOADING;
    if (p->state == REP_UNLOADED && !cold && (!sm->q[1].head || p->conf || sm->q[0].head))
      cold = p;
  }
  if (ready == 0 && loading == 0 && cold) {
    start_load(r, cold);
    return;
  }
  uint64_t round = ++r->dispatch_round;
  for (;;) {
    int best = -1;
    for (int i = 0; i < sm->n_replicas; i++) {
      replica_t *p = sm->replicas[i];
      if (p->mark == round || p->state != REP_READY || p->prefill || p->n >= p->max_batch)
        continue;
      if (!sm->q[0].head && !(p->conf && sm->q[1].head))
        continue;
      if (best < 0 || p->n < sm->replicas[best]->n)
        best = i;
    }
    if (best < 0)
      return;
    replica_t *p = sm->replicas[best];
    replica_advance(r, p);
    replica_admit(r, p);
    if (p->prefill)
      replica_schedule(r, p);
    else
      p->mark = round; /* its KV cache is full: try the others */
  }
}

static void on_site_arrival(run_t *r, req_t *q)
{
  int site = q->rec.site, model = q->rec.model;
  site_model_t *sm = sm_at(r, site, model);
  if (r->sc->run.network_mode == CPN_NET_FLOW)
    q->rec.net_in_s = r->now - q->rec.t_dispatch;
  queue_push(&sm->q[q->queue], q, 0);
  mv_at(r, site, model)->queued_requests++;
  r->vsites[site].queued_requests++;
  site_dispatch(r, site, model);
}


/* ------------------------------------------------------------- arrivals and placement */

static int residency_ok(const cpn_origin_spec_t *o, const cpn_site_spec_t *s)
{
  if (o->n_allowed == 0)
    return 1;
  for (int i = 0; i < o->n_allowed; i++)
    if (strcmp(o->allowed[i], s->region) == 0 || strcmp(o->allowed[i], s->country) == 0)
      return 1;
  return 0;
}

static int site_eligible(run_t *r, const req_t *q, int s, int conf, double need_kv)
{
  const site_model_t *sm = sm_at(r, s, q->rec.model);
  if (!r->vsites[s].up || sm->n_replicas == 0 || (conf && sm->conf_replicas == 0))
    return 0;
  if (sm->max_kv_cap < need_kv)
    return 0;
  return residency_ok(&r->sc->origins[q->rec.origin], &r->sc->sites[s]);
}

/* Creates a live request arriving now. Class, tenant and model are drawn unless given (>= 0); token
 * counts are drawn from the class unless given (trace). */
static req_t *new_request(run_t *r, int origin, int tenant, int model, long prompt, long output)
{
  const cpn_scenario_t *sc = r->sc;
  req_t *q = req_alloc(&r->pool);
  if (!q) {
    r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (request pool)");
    return NULL;
  }
  q->next = r->live.next;
  q->prev = &r->live;
  r->live.next->prev = q;
  r->live.next = q;
  cpn_record_t *rec = &q->rec;
  rec->id = r->next_id++;
  rec->origin = origin;
  rec->site = -1;
  rec->replica = -1;
  rec->t_arrival = r->now;
  rec->t_dispatch = rec->t_first_token = rec->t_done = NAN;
  rec->cls = pick_cdf(r->class_cdf, sc->n_classes, gsl_rng_uniform(r->tok_rng));
  double u_tenant = gsl_rng_uniform(r->tok_rng), u_model = gsl_rng_uniform(r->tok_rng);
  rec->tenant = tenant >= 0 ? tenant : pick_cdf(r->tenant_cdf, sc->n_tenants, u_tenant);
  rec->model = model >= 0 ? model : pick_cdf(r->model_cdf, sc->n_models, u_model);
  const cpn_class_spec_t *c = &sc->classes[rec->cls];
  if (prompt >= 0) {
    rec->prompt_tokens = (uint32_t)prompt;
    rec->output_tokens = (uint32_t)output;
  } else {
    rec->prompt_tokens = cpn_dist_draw(&c->prompt_tokens, r->tok_rng);
    rec->output_tokens = cpn_dist_draw(&c->output_tokens, r->tok_rng);
  }
  q->bytes_in = rec->prompt_tokens * c->request_bytes_per_token;
  q->bytes_out = rec->output_tokens * c->reply_bytes_per_token;
  q->queue = c->confidential ? 1 : 0;
  r->st.arrived++;
  r->st.arrived_prompt_tokens += rec->prompt_tokens;
  r->st.arrived_output_tokens += rec->output_tokens;
  return q;
}

static void trace_decision(run_t *r, const req_t *q, const cpn_request_view_t *rv, const cpn_decision_t *d)
{
  for (int i = 0; i < rv->n_eligible; i++) {
    if (r->n_decisions == r->cap_decisions) {
      size_t cap = r->cap_decisions ? r->cap_decisions * 2 : 4096;
      double *v = realloc(r->decisions, cap * DEC_COLS * sizeof *v);
      if (!v) {
        r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (decision trace)");
        return;
      }
      r->decisions = v;
      r->cap_decisions = cap;
    }
    int s = rv->eligible[i];
    const cpn_model_view_t *mv = &r->view.models[(size_t)s * r->n_models + q->rec.model];
    double score = r->cfg->policy->score ? r->cfg->policy->score(r->pstate, &r->view, rv, s) : NAN;
    double row[DEC_COLS] = {(double)q->rec.id, r->now, s, r->route_lat[(size_t)q->rec.origin * r->n_sites + s],
                            mv->queued_tokens / (mv->replicas > 0 ? mv->replicas : 1), score, d->site == s};
    memcpy(&r->decisions[r->n_decisions++ * DEC_COLS], row, sizeof row);
  }
}

/* The policy places the request (now = arrival + decision latency) on the view as of the last refresh. */
static void place(run_t *r, req_t *q)
{
  cpn_record_t *rec = &q->rec;
  const cpn_class_spec_t *c = &r->sc->classes[rec->cls];
  double need_kv = (double)rec->prompt_tokens + rec->output_tokens;
  int n_el = 0, too_large = 0;
  for (int s = 0; s < r->n_sites; s++) {
    if (site_eligible(r, q, s, c->confidential, need_kv))
      r->eligible[n_el++] = s;
    else if (sm_at(r, s, rec->model)->n_replicas > 0 && sm_at(r, s, rec->model)->max_kv_cap < need_kv)
      too_large = 1;
  }
  if (n_el == 0) {
    end_request(r, q, CPN_STATUS_REJECTED, too_large ? CPN_REASON_TOO_LARGE : CPN_REASON_NO_ELIGIBLE_SITE);
    return;
  }
  cpn_request_view_t rv = {.id = rec->id, .origin = rec->origin, .model = rec->model, .cls = rec->cls,
                           .class_name = c->name, .tenant = rec->tenant, .prompt_tokens = rec->prompt_tokens,
                           .output_tokens = rec->output_tokens, .ttft_slo_s = c->ttft_slo_s,
                           .tpot_slo_s = c->tpot_slo_s, .confidential = c->confidential, .n_eligible = n_el,
                           .eligible = r->eligible};
  cpn_decision_t d = {.site = -1, .replica = -1, .score = NAN};
  r->view.now_s = r->now;
  if (r->view.sites == r->vsites)
    r->view.view_time_s = r->now;
  r->cfg->policy->decide(r->pstate, &r->view, &rv, &d);
  if (r->sc->run.decision_trace)
    trace_decision(r, q, &rv, &d);
  if (d.site < 0) {
    end_request(r, q, CPN_STATUS_REJECTED, CPN_REASON_POLICY_REJECT);
    return;
  }
  int ok = 0;
  for (int i = 0; i < n_el; i++)
    ok |= r->eligible[i] == d.site;
  if (!ok) {
    r->st.policy_violations++;
    end_request(r, q, CPN_STATUS_REJECTED, CPN_REASON_POLICY_VIOLATION);
    return;
  }
  rec->site = d.site;
  rec->t_dispatch = r->now;
  mv_at(r, d.site, rec->model)->queued_tokens += need_kv;
  r->vsites[d.site].queued_tokens += need_kv;
  if (r->sc->run.network_mode == CPN_NET_FLOW) {
    start_flow(r, q, 1);
    return;
  }
  rec->net_in_s = transfer_s(r, rec->origin, d.site, q->bytes_in);
  if (heap_push(&r->heap, r->now + rec->net_in_s, EV_SITE_ARRIVAL, 0, q, 0))
    r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
}

static void admit(run_t *r, req_t *q)
{
  if (!q)
    return;
  if (r->sc->run.decision_latency_s > 0) {
    if (heap_push(&r->heap, r->now + r->sc->run.decision_latency_s, EV_DECIDE, 0, q, 0))
      r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
  } else {
    place(r, q);
  }
}

static int budget_spent(const run_t *r)
{
  return r->max_requests > 0 && (long)r->next_id >= r->max_requests;
}

static void on_arrival(run_t *r, int o)
{
  if (budget_spent(r))
    return; /* the request budget is spent: this origin's pending arrival never happens */
  req_t *q = new_request(r, o, -1, -1, -1, -1);
  /* Next arrival of this origin. */
  if (!budget_spent(r)) {
    double t = cpn_arrival_next(&r->arrivals[o], r->now, r->arr_rng[o]);
    if (t < r->t_end_arrivals && schedule_arrival(r, t, EV_ARRIVAL, o))
      r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
  }
  admit(r, q);
}

static int name_index(const char *name, const void *arr, size_t stride, int n)
{
  for (int i = 0; i < n; i++)
    if (strcmp((const char *)arr + (size_t)i * stride, name) == 0)
      return i;
  return -1;
}

/* Reads the next trace row and schedules its arrival; at the end of the trace, schedules nothing. */
static void trace_schedule(run_t *r)
{
  if (budget_spent(r))
    return;
  int rc = cpn_trace_next(r->trace, &r->trace_row);
  if (rc < 0) {
    r->err = CPN_EINVAL; /* the reader's message names the trace file, line, column and problem */
    return;
  }
  if (rc == 0 || r->trace_row.t_s >= r->t_end_arrivals)
    return;
  if (schedule_arrival(r, r->trace_row.t_s, EV_TRACE, 0))
    r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
}

static void on_trace(run_t *r)
{
  const cpn_scenario_t *sc = r->sc;
  const cpn_trace_row_t *row = &r->trace_row;
  /* Names the trace gives must exist; missing ones are drawn from their weights (assignment stream). */
  int o = -1, tenant = -1, model = -1;
  double u = gsl_rng_uniform(r->assign_rng);
  if (row->origin[0]) {
    o = name_index(row->origin, sc->origins[0].name, sizeof sc->origins[0], sc->n_origins);
    if (o < 0) {
      r->err = cpn_error_set(CPN_EINVAL, "%s:%ld: origin '%s' is not an origin of the scenario", sc->demand.trace_file,
                             row->line, row->origin);
      return;
    }
  } else {
    o = pick_cdf(r->origin_cdf, sc->n_origins, u);
  }
  if (row->tenant[0] && (tenant = name_index(row->tenant, sc->tenants[0].name, sizeof sc->tenants[0], sc->n_tenants)) < 0) {
    r->err = cpn_error_set(CPN_EINVAL, "%s:%ld: tenant '%s' is not a tenant of the scenario", sc->demand.trace_file,
                           row->line, row->tenant);
    return;
  }
  if (row->model[0] && (model = name_index(row->model, sc->models[0].name, sizeof sc->models[0], sc->n_models)) < 0) {
    r->err = cpn_error_set(CPN_EINVAL, "%s:%ld: model '%s' is not a model of the scenario", sc->demand.trace_file,
                           row->line, row->model);
    return;
  }
  req_t *q = new_request(r, o, tenant, model, row->prompt_tokens, row->output_tokens);
  trace_schedule(r);
  admit(r, q);
}

/* The stale view: every view_refresh_s the policy's copy of the site and model views is refreshed. */
static void on_refresh(run_t *r)
{
  memcpy(r->snap_sites, r->vsites, (size_t)r->n_sites * sizeof *r->vsites);
  memcpy(r->snap_models, r->vmodels, (size_t)r->n_sites * r->n_models * sizeof *r->vmodels);
  r->view.view_time_s = r->now;
  double t = r->now + r->sc->run.view_refresh_s;
  if (t <= r->t_end && !run_idle(r) && heap_push(&r->heap, t, EV_REFRESH, 0, NULL, 0))
    r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
}

/* ------------------------------------------------------------- sampling */

enum { TS_T, TS_BUSY, TS_QUEUE, TS_BATCH, TS_KV, TS_POWER, TS_COLS };
static const char *const ts_site_cols[TS_COLS] = {"t_s", "busy_accels", "queue_len", "batch", "kv_used_frac", "power_w"};
enum { TL_T, TL_UTIL, TL_BYTES, TL_COLS };
static const char *const ts_link_cols[TL_COLS] = {"t_s", "utilisation", "bytes"};

static void on_sample(run_t *r)
{
  if (r->n_samples == r->ts_cap) {
    size_t cap = r->ts_cap ? r->ts_cap * 2 : 64;
    double *a = realloc(r->ts_sites, cap * r->n_sites * TS_COLS * sizeof *a);
    if (a)
      r->ts_sites = a;
    double *b = realloc(r->ts_links, cap * (size_t)(r->n_links ? r->n_links : 1) * TL_COLS * sizeof *b);
    if (b)
      r->ts_links = b;
    double *c = realloc(r->ts_replicas, cap * r->n_sites * (1 + (size_t)r->n_models) * sizeof *c);
    if (c)
      r->ts_replicas = c;
    if (!a || !b || !c) {
      r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (time series)");
      return;
    }
    r->ts_cap = cap;
  }
  double *row = &r->ts_sites[r->n_samples * r->n_sites * TS_COLS];
  for (int s = 0; s < r->n_sites; s++) {
    double *x = &row[s * TS_COLS];
    memset(x, 0, TS_COLS * sizeof *x);
    x[TS_T] = r->now;
    x[TS_BUSY] = r->vsites[s].busy_accels;
    x[TS_QUEUE] = r->vsites[s].queued_requests;
  }
  size_t nrc = 1 + (size_t)r->n_models;
  double *rrow = &r->ts_replicas[r->n_samples * r->n_sites * nrc];
  memset(rrow, 0, (size_t)r->n_sites * nrc * sizeof *rrow);
  for (int i = 0; i < r->n_replicas; i++) {
    replica_t *p = &r->replicas[i];
    replica_advance(r, p);
    row[p->site * TS_COLS + TS_BATCH] += p->n;
    row[p->site * TS_COLS + TS_POWER] += replica_power_w(p);
    if (isfinite(p->kv_cap))
      row[p->site * TS_COLS + TS_KV] += kv_now(p);
    rrow[(size_t)p->site * nrc] = r->now;
    rrow[(size_t)p->site * nrc + 1 + (size_t)p->model] += p->state == REP_READY;
  }
  for (int s = 0; s < r->n_sites; s++) {
    double *x = &row[s * TS_COLS];
    x[TS_KV] = r->sites[s].kv_cap > 0 ? x[TS_KV] / r->sites[s].kv_cap : 0;
    r->vsites[s].kv_used_frac = x[TS_KV];
    rrow[(size_t)s * nrc] = r->now;
  }
  double *lrow = &r->ts_links[r->n_samples * (size_t)r->n_links * TL_COLS];
  for (int l = 0; l < r->n_links; l++) {
    r->link_load_bps[l] = r->link_bytes_window[l] * 8.0 / r->sample_dt;
    lrow[l * TL_COLS + TL_T] = r->now;
    lrow[l * TL_COLS + TL_UTIL] = r->link_load_bps[l] / r->sc->links[l].bw_bps;
    lrow[l * TL_COLS + TL_BYTES] = r->link_bytes_window[l];
    r->link_bytes_window[l] = 0;
  }
  r->n_samples++;
  double t = r->now + r->sample_dt;
  if (t <= r->t_end && !run_idle(r) && heap_push(&r->heap, t, EV_SAMPLE, 0, NULL, 0))
    r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
}

/* ------------------------------------------------------------- the actor */

static void on_autoscale(run_t *r)
{
  int n = 0;
  for (int s = 0; s < r->n_sites; s++)
    for (int m = 0; m < r->n_models; m++) {
      site_model_t *sm = sm_at(r, s, m);
      if (sm->n_replicas == 0)
        continue;
      cpn_scale_view_t *v = &r->scale_views[n++];
      *v = (cpn_scale_view_t){.site = s, .model = m, .queued_requests = sm->q[0].len + sm->q[1].len,
                              .slo_misses = r->slo_misses[(size_t)s * r->n_models + m]};
      r->slo_misses[(size_t)s * r->n_models + m] = 0;
      for (int i = 0; i < sm->n_replicas; i++) {
        const replica_t *p = sm->replicas[i];
        v->ready += p->state == REP_READY;
        v->loading += p->state == REP_LOADING;
        v->unloaded += p->state == REP_UNLOADED;
        if (p->state == REP_READY)
          v->active_requests += p->n + (p->prefill != NULL);
        if (p->state == REP_READY && !p->busy) {
          v->idle_ready++;
          if (r->now - p->idle_since > v->longest_idle_s)
            v->longest_idle_s = r->now - p->idle_since;
        }
      }
      int low = v->queued_requests == 0 && v->ready > 1 && v->active_requests <= 2 * (v->ready - 1);
      if (!low)
        sm->low_since = -1;
      else if (sm->low_since < 0)
        sm->low_since = r->now;
      v->low_load_s = low ? r->now - sm->low_since : 0;
    }
  int k = r->scaler->decide(r->scaler_state, r->now, r->scale_views, n, r->scale_actions, n);
  for (int a = 0; a < k && !r->err; a++) {
    const cpn_scale_action_t *act = &r->scale_actions[a];
    if (act->site < 0 || act->site >= r->n_sites || act->model < 0 || act->model >= r->n_models)
      continue;
    site_model_t *sm = sm_at(r, act->site, act->model);
    replica_t *pick = NULL;
    for (int i = 0; i < sm->n_replicas; i++) {
      replica_t *p = sm->replicas[i];
      if (act->delta > 0 && p->state == REP_UNLOADED) {
        pick = p;
        break;
      }
      /* Unload the ready replica with the least work (it drains first if it has any). */
      if (act->delta < 0 && p->state == REP_READY &&
          (!pick || p->n + (p->prefill != NULL) < pick->n + (pick->prefill != NULL)))
        pick = p;
    }
    if (pick && act->delta > 0) {
      start_load(r, pick);
    } else if (pick) {
      sm->low_since = -1;
      if (pick->busy)
        pick->state = REP_DRAINING;
      else
        unload(r, pick);
    }
  }
  double t = r->now + (r->sc->run.autoscaler_interval_s > 0 ? r->sc->run.autoscaler_interval_s : 30);
  if (t <= r->t_end && !run_idle(r) && heap_push(&r->heap, t, EV_AUTOSCALE, 0, NULL, 0))
    r->err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
}

static void engine_actor(int argc, char **argv)
{
  run_t *r = g_run;
  int cut = 0; /* stopped at t_end with work left */
  r->wake = sg_sem_init(0);
  while (!r->err) {
    double t = r->heap.n ? r->heap.v[0].t : INFINITY;
    double clock = simgrid_get_clock();
    if (t > r->t_end) {
      if (r->loads_in_flight == 0 || clock >= r->t_end) {
        cut = r->heap.n > 0 || r->loads_in_flight > 0;
        break;
      }
    }
    if (t > clock + 1e-12 * (1.0 + clock)) {
      /* Transfers in flight can post an earlier event: wait on the semaphore instead of sleeping. */
      if (r->loads_in_flight > 0) {
        double until = t < r->t_end ? t : r->t_end;
        sg_sem_acquire_timeout(r->wake, until - clock);
        continue;
      }
      sg_actor_sleep_until(t);
    }
    event_t e = heap_pop(&r->heap);
    r->now = e.t;
    r->st.events++;
    if (e.kind == EV_ARRIVAL || e.kind == EV_TRACE)
      r->pending_arrivals--;
    switch (e.kind) {
    case EV_ARRIVAL: on_arrival(r, e.idx); break;
    case EV_SITE_ARRIVAL: on_site_arrival(r, e.ptr); break;
    case EV_REPLICA: {
      replica_t *p = e.ptr;
      if (e.gen == p->gen && (p->state == REP_READY || p->state == REP_DRAINING))
        on_replica(r, p);
      break;
    }
    case EV_SAMPLE: on_sample(r); break;
    case EV_LOAD_DONE: on_load_done(r, e.idx); break;
    case EV_AUTOSCALE: on_autoscale(r); break;
    case EV_DECIDE: place(r, e.ptr); break;
    case EV_TRACE: on_trace(r); break;
    case EV_REFRESH: on_refresh(r); break;
    case EV_REPLY_DONE: {
      req_t *q = e.ptr;
      q->rec.t_done = r->now;
      q->rec.net_out_s = r->now - q->t_site_done;
      finish_completed(r, q);
      break;
    }
    default: break;
    }
  }
  /* The drain period is over: whatever is still in flight times out. */
  if (!r->err) {
    if (cut)
      r->now = r->t_end;
    for (int i = 0; i < r->n_replicas; i++)
      replica_advance(r, &r->replicas[i]);
    while (r->live.next != &r->live && !r->err)
      end_request(r, r->live.next, CPN_STATUS_TIMED_OUT, CPN_REASON_END_OF_RUN);
  }
  r->st.sim_end_s = r->now;
  /* Weights transfers still running would keep SimGrid going: stop them. */
  if (r->loads_in_flight > 0)
    sg_actor_kill_all();
  sg_sem_destroy(r->wake);
}

/* ------------------------------------------------------------- setup */

static cpn_err_t build_sites(run_t *r)
{
  const cpn_scenario_t *sc = r->sc;
  r->n_sites = sc->n_sites;
  r->n_models = sc->n_models;
  r->sites = calloc((size_t)r->n_sites, sizeof *r->sites);
  r->sm = calloc((size_t)r->n_sites * r->n_models, sizeof *r->sm);
  r->vsites = calloc((size_t)r->n_sites, sizeof *r->vsites);
  r->vmodels = calloc((size_t)r->n_sites * r->n_models, sizeof *r->vmodels);
  r->site_busy_accel_s = calloc((size_t)r->n_sites, sizeof(double));
  r->eligible = calloc((size_t)r->n_sites, sizeof(int));
  if (!r->sites || !r->sm || !r->vsites || !r->vmodels || !r->site_busy_accel_s || !r->eligible)
    return cpn_error_set(CPN_ENOMEM, "engine: out of memory (sites)");
  int n_rep = 0;
  for (int s = 0; s < sc->n_sites; s++)
    for (int k = 0; k < sc->sites[s].n_replicas; k++)
      n_rep += sc->sites[s].replicas[k].count;
  r->n_replicas = n_rep;
  r->replicas = calloc((size_t)(n_rep ? n_rep : 1), sizeof *r->replicas);
  if (!r->replicas)
    return cpn_error_set(CPN_ENOMEM, "engine: out of memory (replicas)");
  /* Per (site, model) replica lists: count first, then fill. */
  for (int s = 0; s < sc->n_sites; s++)
    for (int k = 0; k < sc->sites[s].n_replicas; k++) {
      const cpn_replica_spec_t *rs = &sc->sites[s].replicas[k];
      sm_at(r, s, rs->model)->n_replicas += rs->count;
    }
  for (int i = 0; i < r->n_sites * r->n_models; i++) {
    r->sm[i].replicas = calloc((size_t)(r->sm[i].n_replicas ? r->sm[i].n_replicas : 1), sizeof(replica_t *));
    if (!r->sm[i].replicas)
      return cpn_error_set(CPN_ENOMEM, "engine: out of memory (replicas)");
    r->sm[i].n_replicas = 0;
    r->sm[i].low_since = -1;
  }
  int idx = 0;
  for (int s = 0; s < sc->n_sites; s++) {
    const cpn_site_spec_t *ss = &sc->sites[s];
    int in_site = 0;
    for (int k = 0; k < ss->n_pools; k++)
      r->sites[s].total_accels += ss->pools[k].count;
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
      cpn_perf_t perf;
      cpn_perf_init(&perf, llm, acc, rs->tp);
      if (ms->prefill_eff > 0) perf.prefill_eff = ms->prefill_eff;
      if (ms->decode_eff > 0) perf.decode_eff = ms->decode_eff;
      if (ms->step_overhead_s > 0) perf.step_overhead_s = ms->step_overhead_s;
      if (ms->fixed_step_s > 0) {
        perf.fixed_step_s = ms->fixed_step_s;
        perf.fixed_prefill_s_per_token = ms->fixed_prefill_s_per_token;
      }
      double kv = ms->fixed_step_s > 0 ? INFINITY : cpn_perf_kv_capacity_tokens(&perf);
      if (!(kv > 0))
        return cpn_error_set(CPN_EINVAL, "%s:%d: sites.%s.replicas: model '%s' does not fit on %d x %s (tp too small)",
                             sc->file, ss->line, ss->name, ms->name, rs->tp, acc->name);
      site_model_t *sm = sm_at(r, s, rs->model);
      for (int c = 0; c < rs->count; c++) {
        replica_t *p = &r->replicas[idx++];
        p->site = s;
        p->model = rs->model;
        p->tp = rs->tp;
        p->max_batch = rs->max_batch;
        p->conf = pool->confidential;
        p->slow = 1.0 + (p->conf ? sc->run.confidential_overhead : 0.0);
        p->accel = acc;
        p->perf = perf;
        p->kv_cap = kv;
        p->weight_bytes = cpn_perf_weight_bytes(llm);
        p->state = c < rs->count - rs->unloaded ? REP_READY : REP_UNLOADED;
        p->index_in_site = in_site++;
        p->batch = calloc((size_t)rs->max_batch, sizeof(req_t *));
        if (!p->batch)
          return cpn_error_set(CPN_ENOMEM, "engine: out of memory (batches)");
        sm->replicas[sm->n_replicas++] = p;
        if (kv > sm->max_kv_cap)
          sm->max_kv_cap = kv;
        sm->conf_replicas += p->conf;
        if (isfinite(kv))
          r->sites[s].kv_cap += kv;
        cpn_model_view_t *mv = mv_at(r, s, rs->model);
        mv->replicas++;
        mv->prefill_s_per_ktok = p->slow * cpn_perf_prefill_s(&perf, 1000);
        mv->decode_step_s = p->slow * cpn_perf_decode_step_s(&perf, 1, 1000);
        mv->energy_j_per_token = mv->decode_step_s * p->tp * cpn_perf_power_w(acc, 0.4);
        mv->usd_per_hour = p->tp * acc->usd_per_hour;
      }
    }
    cpn_site_view_t *v = &r->vsites[s];
    v->name = ss->name;
    v->region = ss->region;
    v->country = ss->country;
    v->up = 1;
    v->total_accels = r->sites[s].total_accels;
    v->price_usd_per_kwh = ss->price_usd_per_kwh;
    v->co2_g_per_kwh = ss->co2_g_per_kwh;
    v->pue = ss->pue;
  }
  r->model_store = calloc((size_t)r->n_models, sizeof(int));
  r->slo_misses = calloc((size_t)r->n_sites * r->n_models, sizeof(double));
  r->scale_views = calloc((size_t)r->n_sites * r->n_models, sizeof *r->scale_views);
  r->scale_actions = calloc((size_t)r->n_sites * r->n_models, sizeof *r->scale_actions);
  if (!r->model_store || !r->slo_misses || !r->scale_views || !r->scale_actions)
    return cpn_error_set(CPN_ENOMEM, "engine: out of memory (models)");
  for (int m = 0; m < r->n_models; m++) {
    r->model_store[m] = -1;
    if (sc->models[m].store[0]) {
      r->model_store[m] = cpn_scenario_site_index(sc, sc->models[m].store);
      if (r->model_store[m] < 0)
        return cpn_error_set(CPN_EINVAL, "%s: models.%s.store: no site named '%s'", sc->file, sc->models[m].name,
                             sc->models[m].store);
    }
  }
  const char *as = sc->run.autoscaler;
  if (as[0] && strcmp(as, "none") != 0) {
    r->scaler = cpn_autoscaler_find(as);
    if (!r->scaler)
      return cpn_error_set(CPN_EINVAL, "%s: run.autoscaler: unknown autoscaler '%s' (known: none, queue-threshold)",
                           sc->file, as);
    r->scaler_state = calloc(1, r->scaler->state_size ? r->scaler->state_size : 1);
    if (!r->scaler_state)
      return cpn_error_set(CPN_ENOMEM, "engine: out of memory (autoscaler)");
    const char *keys[64];
    int n = sc->run.n_autoscaler_params < 64 ? sc->run.n_autoscaler_params : 64;
    for (int i = 0; i < n; i++)
      keys[i] = sc->run.autoscaler_param_keys[i];
    cpn_policy_params_t prm = {.n = n, .keys = keys, .values = sc->run.autoscaler_param_values};
    if (r->scaler->init && r->scaler->init(r->scaler_state, &prm) != 0)
      return cpn_error_set(CPN_EINVAL, "%s: run.autoscaler_params: refused by autoscaler '%s'", sc->file, as);
    double dt = sc->run.autoscaler_interval_s > 0 ? sc->run.autoscaler_interval_s : 30;
    if (heap_push(&r->heap, dt, EV_AUTOSCALE, 0, NULL, 0))
      return cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
  }
  return CPN_OK;
}

static cpn_err_t build_workload(run_t *r)
{
  const cpn_scenario_t *sc = r->sc;
  unsigned long seed = sc->run.seed;
  r->n_origins = sc->n_origins;
  r->arr_rng = calloc((size_t)(r->n_origins ? r->n_origins : 1), sizeof(gsl_rng *));
  r->arrivals = calloc((size_t)(r->n_origins ? r->n_origins : 1), sizeof *r->arrivals);
  r->origin_node = calloc((size_t)(r->n_origins ? r->n_origins : 1), sizeof(int));
  r->tok_rng = stream(seed, 1000000);
  r->pol_rng = stream(seed, 2000000);
  r->class_cdf = make_cdf(&sc->classes[0].share, sizeof sc->classes[0], sc->n_classes);
  r->tenant_cdf = make_cdf(&sc->tenants[0].share, sizeof sc->tenants[0], sc->n_tenants);
  r->model_cdf = make_cdf(&sc->models[0].share, sizeof sc->models[0], sc->n_models);
  if (!r->arr_rng || !r->arrivals || !r->origin_node || !r->tok_rng || !r->pol_rng || !r->class_cdf ||
      !r->tenant_cdf || !r->model_cdf)
    return cpn_error_set(CPN_ENOMEM, "engine: out of memory (workload)");
  for (int o = 0; o < r->n_origins; o++) {
    const cpn_origin_spec_t *os = &sc->origins[o];
    r->arr_rng[o] = stream(seed, (unsigned long)o);
    if (!r->arr_rng[o])
      return cpn_error_set(CPN_ENOMEM, "engine: out of memory (streams)");
    cpn_arrival_t *a = &r->arrivals[o];
    a->kind = sc->demand.arrival;
    a->rate_rps = os->rate_rps * sc->demand.scale;
    a->cv = sc->demand.cv;
    a->diurnal = sc->demand.diurnal_enabled ? &sc->demand.diurnal : NULL;
    a->tz_offset_h = os->tz_h;
    a->start_utc_h = sc->run.start_utc_h;
    a->burst_factor = sc->demand.burst_factor;
    a->burst_mean_s = sc->demand.burst_mean_s;
    a->calm_mean_s = sc->demand.calm_mean_s;
    a->mmpp_state = 0;
    a->mmpp_switch_s = -1;
    if (cpn_arrival_prepare(a) != 0)
      return cpn_error_set(CPN_EINVAL, "%s:%d: origins.%s: invalid arrival process parameters", sc->file, os->line,
                           os->name);
    r->origin_node[o] = cpn_topology_node_index(r->topo, os->node);
    if (a->rate_rps > 0 && !sc->demand.trace_file[0]) {
      double t = cpn_arrival_next(a, 0.0, r->arr_rng[o]);
      if (t < r->t_end_arrivals && schedule_arrival(r, t, EV_ARRIVAL, o))
        return cpn_error_set(CPN_ENOMEM, "engine: out of memory (event heap)");
    }
  }
  return CPN_OK;
}

static cpn_err_t build_trace(run_t *r)
{
  const cpn_demand_spec_t *d = &r->sc->demand;
  r->assign_rng = stream(r->sc->run.seed, 3000000);
  r->origin_cdf = make_cdf(&r->sc->origins[0].rate_rps, sizeof r->sc->origins[0], r->sc->n_origins);
  if (!r->assign_rng || !r->origin_cdf)
    return cpn_error_set(CPN_ENOMEM, "engine: out of memory (trace)");
  cpn_trace_options_t o;
  const char *mapping = d->trace_mapping[0] ? d->trace_mapping : "azure-2023";
  if (strcmp(mapping, "custom") == 0) {
    cpn_trace_options_default(&o);
    o.format = strcmp(d->trace_format, "jsonl") == 0 ? CPN_TRACE_JSONL : CPN_TRACE_CSV;
    const char *u = d->trace_time_unit;
    o.time_kind = !strcmp(u, "ms") ? CPN_TRACE_TIME_MS : !strcmp(u, "us") ? CPN_TRACE_TIME_US
                : !strcmp(u, "datetime") ? CPN_TRACE_TIME_DATETIME : CPN_TRACE_TIME_S;
  } else if (cpn_trace_mapping(mapping, &o) != CPN_OK) {
  {
    char why[512]; /* copied: the message buffer is also the destination */
    snprintf(why, sizeof why, "%s", cpn_error_message());
    return cpn_error_set(CPN_EINVAL, "%s: demand.trace.mapping: %s", r->sc->file, why);
  }
  }
#define COL(field, spec)                                                                                               \
  if (d->spec[0])                                                                                                      \
    snprintf(o.field, sizeof o.field, "%s", d->spec);
  COL(time_col, trace_time_col)
  COL(prompt_col, trace_prompt_col)
  COL(output_col, trace_output_col)
  COL(model_col, trace_model_col)
  COL(tenant_col, trace_tenant_col)
  COL(origin_col, trace_origin_col)
#undef COL
  o.time_scale = d->trace_time_scale > 0 ? d->trace_time_scale : 1.0;
  o.rate_scale = d->trace_rate_scale > 0 ? d->trace_rate_scale : 1.0;
  o.shift_s = d->trace_shift_s;
  o.loop = d->trace_loop;
  o.start_offset_s = d->trace_start_offset_s;
  o.skip_errors = d->trace_skip_errors;
  o.seed = derive_seed(r->sc->run.seed, 4000000);
  cpn_err_t err = cpn_trace_open(&r->trace, d->trace_file, &o);
  if (err)
    return err;
  trace_schedule(r);
  return r->err;
}

static cpn_err_t build_network(run_t *r)
{
  const cpn_scenario_t *sc = r->sc;
  r->n_links = sc->n_links;
  size_t nl = (size_t)(r->n_links ? r->n_links : 1);
  r->link_bytes_window = calloc(nl, sizeof(double));
  r->link_load_bps = calloc(nl, sizeof(double));
  size_t no = (size_t)(r->n_origins ? r->n_origins : 1) * (size_t)r->n_sites;
  r->route_lat = calloc(no, sizeof(double));
  r->vbw = calloc(no, sizeof(double));
  if (!r->link_bytes_window || !r->link_load_bps || !r->route_lat || !r->vbw)
    return cpn_error_set(CPN_ENOMEM, "engine: out of memory (network)");
  for (int o = 0; o < r->n_origins; o++)
    for (int s = 0; s < r->n_sites; s++) {
      double lat = cpn_topology_route_latency_s(r->topo, r->origin_node[o], s);
      r->route_lat[(size_t)o * r->n_sites + s] = sc->origins[o].access_latency_s + lat;
      r->vbw[(size_t)o * r->n_sites + s] = cpn_topology_route_bw_bps(r->topo, r->origin_node[o], s);
    }
  return CPN_OK;
}

static long peak_rss_bytes(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss * 1024L;
}

static cpn_err_t write_names(run_t *r)
{
  const cpn_scenario_t *sc = r->sc;
  int n_max = sc->n_sites;
  if (sc->n_models > n_max) n_max = sc->n_models;
  if (sc->n_classes > n_max) n_max = sc->n_classes;
  if (sc->n_tenants > n_max) n_max = sc->n_tenants;
  if (sc->n_origins > n_max) n_max = sc->n_origins;
  if (sc->n_links > n_max) n_max = sc->n_links;
  const char **names = calloc((size_t)(n_max ? n_max : 1), sizeof *names);
  char (*lnames)[2 * CPN_NAME_MAX + 2] = calloc((size_t)(sc->n_links ? sc->n_links : 1), sizeof *lnames);
  if (!names || !lnames) {
    free(names);
    free(lnames);
    return cpn_error_set(CPN_ENOMEM, "engine: out of memory (names)");
  }
  cpn_err_t err = CPN_OK;
#define NAMES(arr, n, what)                                                                                            \
  if (!err) {                                                                                                          \
    for (int i = 0; i < (n); i++)                                                                                      \
      names[i] = sc->arr[i].name;                                                                                      \
    err = cpn_output_names(r->out, what, names, (size_t)(n));                                                          \
  }
  NAMES(sites, sc->n_sites, "sites")
  NAMES(models, sc->n_models, "models")
  NAMES(classes, sc->n_classes, "classes")
  NAMES(tenants, sc->n_tenants, "tenants")
  NAMES(origins, sc->n_origins, "origins")
#undef NAMES
  if (!err) {
    for (int i = 0; i < sc->n_links; i++) {
      snprintf(lnames[i], sizeof lnames[i], "%s--%s", sc->links[i].a, sc->links[i].b);
      names[i] = lnames[i];
    }
    err = cpn_output_names(r->out, "links", names, (size_t)sc->n_links);
  }
  free(names);
  free(lnames);
  return err;
}

static cpn_err_t write_transfers_and_events(run_t *r)
{
  static const char *const tcols[] = {"src_site", "dst_site", "model", "bytes", "start_s", "end_s", "status"};
  static const char *const ecols[] = {"t_s", "site", "model", "replica"};
  size_t nt = r->n_transfers, ne = r->n_events;
  double *tv = calloc(nt ? nt * 7 : 1, sizeof *tv), *ev = calloc(ne ? ne * 4 : 1, sizeof *ev);
  const char **tk = calloc(nt ? nt : 1, sizeof *tk), **ek = calloc(ne ? ne : 1, sizeof *ek);
  cpn_err_t err = CPN_OK;
  if (!tv || !ev || !tk || !ek)
    err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (transfers)");
  for (size_t i = 0; !err && i < nt; i++) {
    const transfer_t *x = &r->transfers[i];
    tk[i] = "weights";
    double row[7] = {x->src, x->dst, x->model, x->bytes, x->start_s, x->end_s, x->status};
    memcpy(&tv[i * 7], row, sizeof row);
  }
  for (size_t i = 0; !err && i < ne; i++) {
    const run_event_t *x = &r->events[i];
    ek[i] = event_kind_names[x->kind];
    double row[4] = {x->t_s, x->site, x->model, x->replica};
    memcpy(&ev[i * 4], row, sizeof row);
  }
  if (!err) {
    cpn_table_t t = {.path = "/transfers", .n_rows = nt, .n_cols = 7, .col_names = tcols, .keys = tk, .values = tv};
    err = cpn_output_table(r->out, &t);
  }
  if (!err) {
    cpn_table_t t = {.path = "/events", .n_rows = ne, .n_cols = 4, .col_names = ecols, .keys = ek, .values = ev};
    err = cpn_output_table(r->out, &t);
  }
  free(tv), free(ev), free(tk), free(ek);
  return err;
}

static cpn_err_t write_timeseries(run_t *r)
{
  const cpn_scenario_t *sc = r->sc;
  size_t ns = r->n_samples * (size_t)r->n_sites, nl = r->n_samples * (size_t)r->n_links;
  const char **keys = calloc(ns > nl ? (ns ? ns : 1) : nl, sizeof *keys);
  if (!keys)
    return cpn_error_set(CPN_ENOMEM, "engine: out of memory (time series)");
  for (size_t i = 0; i < ns; i++)
    keys[i] = sc->sites[i % (size_t)r->n_sites].name;
  cpn_table_t t = {.path = "/timeseries/sites", .n_rows = ns, .n_cols = TS_COLS, .col_names = ts_site_cols,
                   .keys = keys, .values = r->ts_sites};
  cpn_err_t err = cpn_output_table(r->out, &t);
  if (!err) {
    /* Link rows are keyed by the link's position in /names/links. */
    char **lk = calloc(nl ? nl : 1, sizeof *lk);
    char *buf = calloc(nl ? nl : 1, 24);
    if (!lk || !buf) {
      err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (time series)");
    } else {
      for (size_t i = 0; i < nl; i++) {
        lk[i] = buf + i * 24;
        snprintf(lk[i], 24, "l%zu", i % (size_t)r->n_links);
      }
      cpn_table_t tl = {.path = "/timeseries/links", .n_rows = nl, .n_cols = TL_COLS, .col_names = ts_link_cols,
                        .keys = (const char *const *)lk, .values = r->ts_links};
      err = cpn_output_table(r->out, &tl);
    }
    free(lk);
    free(buf);
  }
  if (!err) {
    /* Ready replicas per model at each sample: columns t_s and one per model name. */
    const char **cols = calloc(1 + (size_t)r->n_models, sizeof *cols);
    if (!cols)
      err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (time series)");
    else {
      cols[0] = "t_s";
      for (int m = 0; m < r->n_models; m++)
        cols[1 + m] = sc->models[m].name;
      cpn_table_t tr = {.path = "/timeseries/replicas", .n_rows = ns, .n_cols = 1 + (size_t)r->n_models,
                        .col_names = cols, .keys = keys, .values = r->ts_replicas};
      err = cpn_output_table(r->out, &tr);
      free(cols);
    }
  }
  free(keys);
  if (!err)
    err = write_transfers_and_events(r);
  return err;
}

static void run_free(run_t *r)
{
  for (int i = 0; i < r->n_replicas; i++)
    free(r->replicas[i].batch);
  free(r->replicas);
  if (r->sm)
    for (int i = 0; i < r->n_sites * r->n_models; i++)
      free(r->sm[i].replicas);
  free(r->sm);
  free(r->sites);
  free(r->vsites);
  free(r->vmodels);
  free(r->vbw);
  free(r->site_busy_accel_s);
  free(r->eligible);
  if (r->arr_rng)
    for (int o = 0; o < r->n_origins; o++)
      if (r->arr_rng[o])
        gsl_rng_free(r->arr_rng[o]);
  free(r->arr_rng);
  if (r->tok_rng)
    gsl_rng_free(r->tok_rng);
  if (r->pol_rng)
    gsl_rng_free(r->pol_rng);
  free(r->arrivals);
  free(r->origin_node);
  free(r->class_cdf);
  free(r->tenant_cdf);
  free(r->model_cdf);
  free(r->link_bytes_window);
  free(r->link_load_bps);
  free(r->route_lat);
  free(r->ts_sites);
  free(r->ts_links);
  free(r->ts_replicas);
  free(r->model_store);
  free(r->slo_misses);
  free(r->scale_views);
  free(r->scale_actions);
  free(r->scaler_state);
  free(r->transfers);
  free(r->events);
  cpn_trace_close(r->trace);
  if (r->assign_rng)
    gsl_rng_free(r->assign_rng);
  free(r->origin_cdf);
  free(r->snap_sites);
  free(r->snap_models);
  free(r->decisions);
  free(r->heap.v);
  for (size_t i = 0; i < r->pool.n_slabs; i++)
    free(r->pool.slabs[i]);
  free(r->pool.slabs);
  if (r->pstate && r->cfg->policy->destroy)
    r->cfg->policy->destroy(r->pstate);
  free(r->pstate);
  cpn_summary_free(r->summary);
  cpn_topology_free(r->topo);
}

static cpn_err_t setup_simgrid(run_t *r, const char *platform)
{
  /* CM02 without the TCP window bound: transfer time = latency + size / bandwidth, which is what the
   * fluid path computes (SIMGRID-NOTES.md "Network model choice matters"). */
  char *argv[64];
  int argc = 0;
  argv[argc++] = "cpnsim";
  argv[argc++] = "--cfg=network/model:CM02";
  argv[argc++] = "--cfg=network/TCP-gamma:0";
  argv[argc++] = "--log=root.thres:warning";
  argv[argc++] = "--log=root.app:stdout";
  for (int i = 0; i < r->cfg->sg_argc && argc < 63; i++)
    argv[argc++] = r->cfg->sg_argv[i];
  argv[argc] = NULL;
  simgrid_init(&argc, argv);
  simgrid_load_platform(platform);
  if (sg_host_count() != (size_t)cpn_topology_node_count(r->topo))
    return cpn_error_set(CPN_EINVARIANT, "engine: SimGrid platform has %zu hosts, topology %d nodes", sg_host_count(),
                         cpn_topology_node_count(r->topo));
  return CPN_OK;
}

cpn_err_t cpn_engine_run(const cpn_engine_config_t *cfg, cpn_engine_stats_t *stats)
{
  const cpn_scenario_t *sc = cfg->sc;
  if (sc->n_sites == 0 || sc->n_models == 0 || sc->n_classes == 0 || sc->n_tenants == 0)
    return cpn_error_set(CPN_EINVAL, "%s: a scenario needs at least one site, model, class and tenant", sc->file);
  struct timespec w0, w1;
  clock_gettime(CLOCK_MONOTONIC, &w0);
  run_t *r = calloc(1, sizeof *r);
  if (!r)
    return cpn_error_set(CPN_ENOMEM, "engine: out of memory");
  r->cfg = cfg;
  r->sc = sc;
  r->live.next = r->live.prev = &r->live;
  r->t_end_arrivals = sc->run.duration_s;
  r->t_end = sc->run.duration_s + sc->run.drain_s;
  r->max_requests = sc->run.max_requests;
  r->sample_dt = sc->run.sample_interval_s;
  char platform[] = "/tmp/cpnsim-platform-XXXXXX";
  int pfd = -1;
  cpn_err_t err = cpn_topology_new(&r->topo, sc);
  if (!err)
    err = build_sites(r);
  if (!err)
    err = build_workload(r);
  if (!err)
    err = build_network(r);
  if (!err && sc->demand.trace_file[0])
    err = build_trace(r);
  if (!err) {
    const char *const *names[CPN_GROUP_KINDS] = {NULL, NULL, NULL, NULL};
    const char **sn = calloc((size_t)sc->n_sites, sizeof *sn), **cn = calloc((size_t)sc->n_classes, sizeof *cn),
               **tn = calloc((size_t)sc->n_tenants, sizeof *tn);
    if (!sn || !cn || !tn) {
      free(sn), free(cn), free(tn);
      err = cpn_error_set(CPN_ENOMEM, "engine: out of memory");
    } else {
      for (int i = 0; i < sc->n_sites; i++) sn[i] = sc->sites[i].name;
      for (int i = 0; i < sc->n_classes; i++) cn[i] = sc->classes[i].name;
      for (int i = 0; i < sc->n_tenants; i++) tn[i] = sc->tenants[i].name;
      names[CPN_GROUP_SITE] = sn;
      names[CPN_GROUP_CLASS] = cn;
      names[CPN_GROUP_TENANT] = tn;
      int n[CPN_GROUP_KINDS] = {1, sc->n_sites, sc->n_classes, sc->n_tenants};
      err = cpn_summary_new(&r->summary, names, n);
      free(sn), free(cn), free(tn);
    }
  }
  if (!err) {
    r->pstate = calloc(1, cfg->policy->state_size ? cfg->policy->state_size : 1);
    if (!r->pstate)
      err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (policy state)");
  }
  if (!err) {
    r->view = (cpn_view_t){.n_sites = r->n_sites, .sites = r->vsites, .n_models = r->n_models,
                           .models = r->vmodels, .n_origins = r->n_origins, .route_latency_s = r->route_lat,
                           .route_bw_bps = r->vbw, .uniform01 = uniform01, .rng = r->pol_rng};
    if (sc->run.view_refresh_s > 0) {
      /* Stale views: the policy reads copies refreshed every view_refresh_s (first at time 0). */
      r->snap_sites = calloc((size_t)r->n_sites, sizeof *r->snap_sites);
      r->snap_models = calloc((size_t)r->n_sites * r->n_models, sizeof *r->snap_models);
      if (!r->snap_sites || !r->snap_models || heap_push(&r->heap, 0.0, EV_REFRESH, 0, NULL, 0))
        err = cpn_error_set(CPN_ENOMEM, "engine: out of memory (views)");
      r->view.sites = r->snap_sites;
      r->view.models = r->snap_models;
      if (!err) {
        memcpy(r->snap_sites, r->vsites, (size_t)r->n_sites * sizeof *r->vsites);
        memcpy(r->snap_models, r->vmodels, (size_t)r->n_sites * r->n_models * sizeof *r->vmodels);
      }
    }
    const char *keys[64];
    int np = sc->run.n_policy_params < 64 ? sc->run.n_policy_params : 64;
    for (int i = 0; i < np; i++)
      keys[i] = sc->run.policy_param_keys[i];
    cpn_policy_params_t prm = {.n = np, .keys = keys, .values = sc->run.policy_param_values};
    if (!err && cfg->policy->init && cfg->policy->init(r->pstate, &prm, &r->view) != 0)
      err = cpn_error_set(CPN_EINVAL, "%s: run.policy_params: policy '%s' refused its parameters", sc->file,
                          cfg->policy->name);
  }
  if (!err && r->sample_dt > 0 && heap_push(&r->heap, 0.0, EV_SAMPLE, 0, NULL, 0))
    err = cpn_error_set(CPN_ENOMEM, "engine: out of memory");
  if (!err && cfg->out_path)
    err = cpn_output_open(&r->out, cfg->out_path);
  if (!err) {
    pfd = mkstemp(platform);
    if (pfd < 0)
      err = cpn_error_set(CPN_EIO, "engine: cannot create a temporary platform file in /tmp");
    else
      close(pfd);
  }
  if (!err)
    err = cpn_topology_write_platform(r->topo, platform);
  if (!err)
    err = setup_simgrid(r, platform);
  if (pfd >= 0)
    unlink(platform);
  if (!err) {
    g_run = r;
    sg_actor_create("cpn-engine", sg_host_by_name(cpn_topology_node_name(r->topo, 0)), engine_actor, 0, NULL);
    simgrid_run();
    err = r->err;
  }
  clock_gettime(CLOCK_MONOTONIC, &w1);
  r->st.wall_s = (double)(w1.tv_sec - w0.tv_sec) + 1e-9 * (double)(w1.tv_nsec - w0.tv_nsec);
  if (r->trace)
    r->st.trace_skipped = cpn_trace_skipped(r->trace);
  r->st.peak_rss_bytes = peak_rss_bytes();

  /* Conservation: what arrived ended, exactly once, with a status. */
  if (!err) {
    long ended = r->st.completed + r->st.rejected + r->st.failed + r->st.timed_out;
    if (ended != r->st.arrived || r->st.ended_prompt_tokens != r->st.arrived_prompt_tokens ||
        r->st.ended_output_tokens != r->st.arrived_output_tokens)
      err = cpn_error_set(CPN_EINVARIANT,
                          "conservation broken: arrived %ld requests (%.0f prompt, %.0f output tokens), ended %ld "
                          "(%.0f prompt, %.0f output tokens)",
                          r->st.arrived, r->st.arrived_prompt_tokens, r->st.arrived_output_tokens, ended,
                          r->st.ended_prompt_tokens, r->st.ended_output_tokens);
  }
  if (!err) {
    double measured = sc->run.duration_s - sc->run.warmup_s;
    int *accels = calloc((size_t)r->n_sites, sizeof(int));
    if (!accels)
      err = cpn_error_set(CPN_ENOMEM, "engine: out of memory");
    else {
      for (int i = 0; i < r->n_replicas; i++)
        r->site_busy_accel_s[r->replicas[i].site] += r->replicas[i].busy_s * r->replicas[i].tp;
      for (int s = 0; s < r->n_sites; s++) {
        accels[s] = r->sites[s].total_accels;
        /* Busy time over the whole run, normalised to the measured window's length. */
        r->site_busy_accel_s[s] *= measured / (r->st.sim_end_s > 0 ? r->st.sim_end_s : 1);
      }
      cpn_summary_finish(r->summary, measured, r->site_busy_accel_s, accels);
      free(accels);
    }
    double n_meas = cpn_summary_get(r->summary, CPN_GROUP_OVERALL, 0, CPN_M_COMPLETED);
    r->st.mean_response_s = n_meas > 0 ? r->st.mean_response_s / n_meas : NAN;
  }
  if (!err && r->out) {
    char commit[64];
    snprintf(commit, sizeof commit, "%s", CPN_GIT_COMMIT);
    err = cpn_output_attr_str(r->out, "format_version", CPN_FORMAT_VERSION);
    if (!err) err = cpn_output_attr_str(r->out, "cpnsim_version", CPN_VERSION);
    if (!err) err = cpn_output_attr_str(r->out, "git_commit", commit);
    if (!err) err = cpn_output_attr_str(r->out, "simgrid_version", SIMGRID_VERSION_STRING);
    if (!err) err = cpn_output_attr_int(r->out, "seed", (int64_t)sc->run.seed);
    if (!err) err = cpn_output_attr_str(r->out, "policy", cfg->policy->name);
    if (!err) err = cpn_output_attr_str(r->out, "scenario", sc->name);
    if (!err) err = cpn_output_attr_str(r->out, "network_mode", sc->run.network_mode == CPN_NET_FLOW ? "flow" : "fluid");
    if (!err) err = cpn_output_attr_double(r->out, "duration_s", sc->run.duration_s);
    if (!err) err = cpn_output_attr_double(r->out, "warmup_s", sc->run.warmup_s);
    if (!err) err = cpn_output_attr_double(r->out, "wall_seconds", r->st.wall_s);
    if (!err) err = cpn_output_attr_double(r->out, "events_processed", r->st.events);
    if (!err) err = cpn_output_attr_int(r->out, "peak_rss_bytes", r->st.peak_rss_bytes);
    if (!err) err = cpn_output_attr_int(r->out, "preemptions", r->st.preemptions);
    if (!err) err = cpn_output_attr_int(r->out, "cold_starts", r->st.cold_starts);
    if (!err) err = cpn_output_scenario_text(r->out, sc->text ? sc->text : "");
    if (!err) err = write_names(r);
    if (!err) err = write_timeseries(r);
    if (!err) err = cpn_summary_write(r->summary, r->out);
    if (!err && sc->run.decision_trace) {
      cpn_table_t t = {.path = "/decisions", .n_rows = r->n_decisions, .n_cols = DEC_COLS, .col_names = dec_cols,
                       .values = r->decisions};
      err = cpn_output_table(r->out, &t);
    }
    if (!err && r->trace) {
      static const char *const cols[] = {"rows_replayed", "skipped_rows", "rows_valid", "rows_before_start",
                                         "rows_thinned", "passes_done"};
      cpn_trace_stats_t ts;
      cpn_trace_stats(r->trace, &ts);
      double v[6] = {ts.rows_returned, ts.bad_lines, ts.rows_valid, ts.rows_before_start, ts.rows_thinned,
                     ts.passes_done};
      static const char *const key[] = {"trace"};
      cpn_table_t t = {.path = "/summary/trace", .n_rows = 1, .n_cols = 6, .col_names = cols, .keys = key,
                       .values = v};
      err = cpn_output_table(r->out, &t);
    }
  }
  if (!err && cfg->report) {
    FILE *f = cfg->report;
    fprintf(f, "cpnsim %s: scenario '%s', policy '%s', seed %lu, arrivals for %.0f s, simulated to %.0f s, in %.2f s wall\n",
            CPN_VERSION, sc->name, cfg->policy->name, sc->run.seed, sc->run.duration_s, r->st.sim_end_s, r->st.wall_s);
    fprintf(f, "  %ld requests arrived, %ld completed, %ld rejected, %ld failed, %ld timed out; %.0f events, "
               "%.0f requests/s of wall time, peak RSS %.1f MiB\n",
            r->st.arrived, r->st.completed, r->st.rejected, r->st.failed, r->st.timed_out, r->st.events,
            r->st.wall_s > 0 ? r->st.arrived / r->st.wall_s : 0, r->st.peak_rss_bytes / 1048576.0);
    fprintf(f, "  %ld preemptions (KV cache full), %ld cold starts (weights transfers), %ld policy violations\n",
            r->st.preemptions, r->st.cold_starts, r->st.policy_violations);
    if (r->trace)
      fprintf(f, "  trace %s: %ld rows replayed, %ld bad rows skipped%s%s\n", sc->demand.trace_file,
              cpn_trace_rows_read(r->trace), r->st.trace_skipped, r->st.trace_skipped ? ", first: " : "",
              cpn_trace_first_skip_message(r->trace));
    fprintf(f, "  measured after %.0f s warm-up (times in seconds):\n", sc->run.warmup_s);
    cpn_summary_print(r->summary, f);
  }
  /* On error the temporary file is removed; the first error's message is kept. */
  cpn_err_t cerr = cpn_output_close(r->out, !err);
  if (!err)
    err = cerr;
  if (stats)
    *stats = r->st;
  run_free(r);
  free(r);
  return err;
}
