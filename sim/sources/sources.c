/* sources: generators and trace replay (see sources.h).
 *
 * Invariant: `pending` equals the arrival events (generators, classes' own processes, trace, session
 * turns, fan-outs) in the event core. Streams are
 * derived from the master seed by fixed ids (core/rng.h), so the workload never depends on the policy. */
#include "sources/sources.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "cpn_workload.h"
#include "sources/trace.h"

/* The rate schedule a process follows: an origin's or a class's windows (scaled by demand.scale), or
 * the diurnal profile as a one-day schedule in the origin's local time. The arrival process borrows `pw`,
 * the window CVs and the Weibull scratch `wk`. */
typedef struct {
  cpn_piecewise_t pw;
  double t24[24], r24[24];
  double *rates; /* scaled copy of the window rates, then 2 per window of Weibull scratch (one malloc) */
} origin_schedule_t;

/* A conversation between two turns: what the next turn carries. Slots are pooled (free list). */
typedef struct {
  int origin, cls, tenant, model;
  int64_t session;        /* the id of its first turn */
  int turns_left;         /* turns still to come after the one in flight */
  double context_tokens;  /* prompt + output of the turns so far */
  int next_free;          /* free list, -1 = end */
  uint64_t uid;           /* the id of its first request: its blocks' identity */
  int sys;                /* 1 + its shared system prompt (0: none) */
} session_t;

/* A fan-out parent waiting for its children (pooled slots, free list through `left`). */
typedef struct {
  cpn_req_t *parent;      /* NULL once the parent has ended (the end of the run may end it first) */
  int left;               /* children not ended yet; the next free slot when free */
  unsigned calls;         /* children to make when the parent's reply reaches its user */
  uint8_t bad_status, bad_reason; /* the first child that did not complete (status 0 = none) */
  double t_last_s;        /* the parent's own reply, then the latest reply of a child */
} fanout_t;

/* A turn in flight whose reply continues a session: request id -> slot, appended in id order. */
typedef struct {
  uint64_t id;
  int slot;               /* -1 once its reply came (removed lazily) */
} awaiting_t;

struct cpn_sources {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  cpn_reqs_t *reqs;
  cpn_accounting_t *acct;
  cpn_gateway_t *gw;
  double t_end_arrivals;
  uint64_t next_id;
  long max_requests;
  long pending;
  int n_origins;
  gsl_rng **arr_rng;        /* one stream per origin */
  gsl_rng *tok_rng;         /* classes, tenants, models, token counts */
  cpn_arrival_t *arrivals;
  origin_schedule_t *schedules; /* the rate schedule each origin's process follows (if any) */
  double *class_cdf, *tenant_cdf, *model_cdf;
  gsl_rng *adapter_rng;     /* adapters (models[].adapters): a stream of its own, so no other draw moves */
  double **adapter_cdf;     /* per model with adapters: Zipf(adapter_zipf_s) over 1 .. adapters */
  gsl_rng *sys_rng;         /* classes[].system_prompts: which one a request starts with (its own stream) */
  uint64_t *hash_buf;       /* scratch for generated block hashes */
  int hash_cap;
  /* trace replay */
  cpn_trace_t *trace;
  cpn_trace_row_t row;      /* the row whose arrival is scheduled */
  gsl_rng *assign_rng;      /* origins/tenants/models for trace rows that lack them */
  double *origin_cdf;
  int ev_arrival, ev_trace, ev_session, ev_class, ev_fanout;
  /* classes with their own schedule (classes[].schedule): one process and stream each (NULL otherwise) */
  cpn_arrival_t *class_arrivals;
  origin_schedule_t *class_schedules;
  gsl_rng **class_rng;
  int origins_make;         /* some class arrives with the origins' processes */
  /* sessions (classes[].session) */
  session_t *sessions;
  int n_sessions, cap_sessions, free_session;
  awaiting_t *awaiting;
  long n_awaiting, cap_awaiting, dead_awaiting;
  /* agent fan-out (classes[].fanout) */
  fanout_t *fanouts;
  int n_fanouts, cap_fanouts, free_fanout;
  int fanout_starting;      /* 1 + the slot whose children are being made (its end waits for the loop) */
};

static int budget_spent(const cpn_sources_t *src)
{
  return src->max_requests > 0 && (long)src->next_id >= src->max_requests;
}

static void schedule(cpn_sources_t *src, double t, int kind, int idx)
{
  if (cpn_sim_at(src->sim, t, kind, idx, NULL, 0) == 0)
    src->pending++;
}

/* The class's token window open at time t (the last with from_s <= t), or NULL before the first. */
static const cpn_token_window_t *token_window(const cpn_class_spec_t *c, double t)
{
  int lo = 0, hi = c->n_token_windows; /* answer: hi - 1 after the search */
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (c->token_windows[mid].from_s <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo > 0 ? &c->token_windows[lo - 1] : NULL;
}

/* Mixes two 64-bit values (the SplitMix64 finalizer over a combination), for block identities. */
static uint64_t hash2(uint64_t a, uint64_t b)
{
  uint64_t z = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

#define GEN_BLOCK_TOKENS 512.0

/* Block hashes of a generated request (classes[].block_hashes): the 512-token blocks of its conversation's
 * tokens up to its prompt + output (the next turn's prompt starts with them). A full block inside the
 * shared system prompt is named by (class, prompt, block), so every request with that prompt shares it; a
 * full block past it by (conversation, block), so the turns of one conversation share it; the last,
 * partial block is the request's own. */
static void make_hashes(cpn_sources_t *src, cpn_req_t *q)
{
  const cpn_class_spec_t *c = &src->sc->classes[q->rec.cls];
  double total = (double)q->rec.prompt_tokens + q->rec.output_tokens;
  double sys_tokens = q->prefix.sys > 0 ? c->system_prompt_tokens : 0;
  int n = (int)ceil(total / GEN_BLOCK_TOKENS);
  if (n > src->hash_cap) {
    uint64_t *b = realloc(src->hash_buf, (size_t)n * sizeof *b);
    if (!b) {
      cpn_sim_fail(src->sim, cpn_error_set(CPN_ENOMEM, "sources: out of memory (block hashes)"));
      return;
    }
    src->hash_buf = b;
    src->hash_cap = n;
  }
  for (int j = 0; j < n; j++) {
    double end = (j + 1) * GEN_BLOCK_TOKENS;
    if (end > total)
      src->hash_buf[j] = hash2(hash2(hash2(3, q->prefix.uid), (uint64_t)j), (uint64_t)total);
    else if (end <= sys_tokens)
      src->hash_buf[j] = hash2(hash2(hash2(2, (uint64_t)q->rec.cls), (uint64_t)q->prefix.sys), (uint64_t)j);
    else
      src->hash_buf[j] = hash2(hash2(1, q->prefix.uid), (uint64_t)j);
  }
  if (cpn_reqs_set_prefix(q, src->hash_buf, n) != CPN_OK)
    cpn_sim_fail(src->sim, CPN_ENOMEM);
}

/* Creates a live request arriving now. Class, tenant and model are drawn unless given (>= 0; the draws
 * are made either way, so that naming one in a trace does not shift the others); token
 * counts are drawn from the class unless given (trace). */
static cpn_req_t *new_request(cpn_sources_t *src, int origin, int cls, int tenant, int model, long prompt,
                              long output)
{
  const cpn_scenario_t *sc = src->sc;
  cpn_req_t *q = cpn_reqs_alloc(src->reqs);
  if (!q) {
    cpn_sim_fail(src->sim, cpn_error_set(CPN_ENOMEM, "sources: out of memory (request pool)"));
    return NULL;
  }
  cpn_record_t *rec = &q->rec;
  rec->id = src->next_id++;
  rec->origin = origin;
  rec->site = -1;
  rec->replica = -1;
  rec->t_arrival = cpn_sim_now(src->sim);
  rec->t_dispatch = rec->t_first_token = rec->t_done = NAN;
  rec->session = rec->parent = -1;
  double u_class = gsl_rng_uniform(src->tok_rng);
  rec->cls = cls >= 0 ? cls : cpn_rng_pick(src->class_cdf, sc->n_classes, u_class);
  double u_tenant = gsl_rng_uniform(src->tok_rng), u_model = gsl_rng_uniform(src->tok_rng);
  rec->tenant = tenant >= 0 ? tenant : cpn_rng_pick(src->tenant_cdf, sc->n_tenants, u_tenant);
  rec->model = model >= 0 ? model : cpn_rng_pick(src->model_cdf, sc->n_models, u_model);
  const cpn_class_spec_t *c = &sc->classes[rec->cls];
  if (prompt >= 0) {
    rec->prompt_tokens = (uint32_t)prompt;
    rec->output_tokens = (uint32_t)output;
  } else {
    const cpn_dist_t *pd = &c->prompt_tokens, *od = &c->output_tokens;
    const cpn_token_window_t *w = token_window(c, rec->t_arrival);
    if (w)
      pd = &w->prompt_tokens, od = &w->output_tokens;
    rec->prompt_tokens = cpn_dist_draw(pd, src->tok_rng);
    rec->output_tokens = cpn_dist_draw(od, src->tok_rng);
    if (c->system_prompts > 0) { /* a shared system prompt ahead of its own tokens */
      int m = (int)(gsl_rng_uniform(src->sys_rng) * c->system_prompts);
      q->prefix.sys = 1 + (m < c->system_prompts ? m : c->system_prompts - 1);
      double p = (double)rec->prompt_tokens + c->system_prompt_tokens;
      rec->prompt_tokens = p > 4294967295.0 ? 4294967295u : (uint32_t)p;
    }
    if (c->block_hashes) {
      q->prefix.uid = rec->id;
      make_hashes(src, q);
    }
  }
  if (src->adapter_cdf && src->adapter_cdf[rec->model]) {
    /* The first cumulative weight above u (binary search: a model may have many adapters). */
    const double *cdf = src->adapter_cdf[rec->model];
    double u = gsl_rng_uniform(src->adapter_rng);
    int lo = 0, hi = sc->models[rec->model].adapters - 1;
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      if (cdf[mid] > u)
        hi = mid;
      else
        lo = mid + 1;
    }
    q->adapter = (uint64_t)lo + 1;
  }
  q->net.bytes_in = rec->prompt_tokens * c->request_bytes_per_token;
  q->net.bytes_out = rec->output_tokens * c->reply_bytes_per_token;
  cpn_accounting_arrive(src->acct, q);
  return q;
}

/* A free session slot (grown by doubling), or -1 when out of memory. */
static int session_alloc(cpn_sources_t *src)
{
  if (src->free_session < 0) {
    if (src->n_sessions == src->cap_sessions) {
      int cap = src->cap_sessions ? 2 * src->cap_sessions : 256;
      session_t *s = realloc(src->sessions, (size_t)cap * sizeof *s);
      if (!s)
        return -1;
      src->sessions = s;
      src->cap_sessions = cap;
    }
    src->sessions[src->n_sessions].next_free = -1;
    src->free_session = src->n_sessions++;
  }
  int i = src->free_session;
  src->free_session = src->sessions[i].next_free;
  return i;
}

static void session_release(cpn_sources_t *src, int i)
{
  src->sessions[i].next_free = src->free_session;
  src->free_session = i;
}

/* Request q (a session's turn) continues in slot `slot` when its reply comes. Ids grow, so appending
 * keeps the table sorted; replies remove entries lazily and the table is compacted when half is dead. */
static int await_reply(cpn_sources_t *src, const cpn_req_t *q, int slot)
{
  if (src->dead_awaiting > 64 && 2 * src->dead_awaiting > src->n_awaiting) {
    long k = 0;
    for (long i = 0; i < src->n_awaiting; i++)
      if (src->awaiting[i].slot >= 0)
        src->awaiting[k++] = src->awaiting[i];
    src->n_awaiting = k;
    src->dead_awaiting = 0;
  }
  if (src->n_awaiting == src->cap_awaiting) {
    long cap = src->cap_awaiting ? 2 * src->cap_awaiting : 256;
    awaiting_t *a = realloc(src->awaiting, (size_t)cap * sizeof *a);
    if (!a)
      return -1;
    src->awaiting = a;
    src->cap_awaiting = cap;
  }
  src->awaiting[src->n_awaiting++] = (awaiting_t){q->rec.id, slot};
  return 0;
}

/* After a request of a session class is made: opens the conversation (first turn) or carries it on, and
 * waits for the reply when turns are left. The slot is released when the conversation ends. */
static void session_continue(cpn_sources_t *src, cpn_req_t *q, int slot)
{
  const cpn_class_spec_t *c = &src->sc->classes[q->rec.cls];
  if (slot < 0) {
    unsigned turns = cpn_dist_draw(&c->session_turns, src->tok_rng);
    if (turns < 2)
      return;
    if ((slot = session_alloc(src)) < 0) {
      cpn_sim_fail(src->sim, cpn_error_set(CPN_ENOMEM, "sources: out of memory (sessions)"));
      return;
    }
    src->sessions[slot] = (session_t){.origin = q->rec.origin, .cls = q->rec.cls, .tenant = q->rec.tenant,
                                      .model = q->rec.model, .session = (int64_t)q->rec.id,
                                      .turns_left = (int)turns - 1, .next_free = -1, .uid = q->rec.id,
                                      .sys = q->prefix.sys};
    q->rec.session = (int64_t)q->rec.id;
  } else {
    q->rec.session = src->sessions[slot].session;
    if (src->sessions[slot].turns_left <= 0) {
      session_release(src, slot);
      return;
    }
  }
  src->sessions[slot].context_tokens = (double)q->rec.prompt_tokens + q->rec.output_tokens;
  if (await_reply(src, q, slot) != 0)
    cpn_sim_fail(src->sim, cpn_error_set(CPN_ENOMEM, "sources: out of memory (sessions)"));
}

static void fanout_finish(cpn_sources_t *src, int slot);

/* A free fan-out slot (grown by doubling), or -1 when out of memory. */
static int fanout_alloc(cpn_sources_t *src)
{
  if (src->free_fanout < 0) {
    if (src->n_fanouts == src->cap_fanouts) {
      int cap = src->cap_fanouts ? 2 * src->cap_fanouts : 64;
      fanout_t *f = realloc(src->fanouts, (size_t)cap * sizeof *f);
      if (!f)
        return -1;
      src->fanouts = f;
      src->cap_fanouts = cap;
    }
    src->fanouts[src->n_fanouts].left = -1;
    src->free_fanout = src->n_fanouts++;
  }
  int i = src->free_fanout;
  src->free_fanout = src->fanouts[i].left;
  return i;
}

/* The reply of a request of a fan-out class reached the site's side: q is held, and its children are
 * made when its reply reaches its user (t_done; in fluid mode that is already known). Returns 1 when q
 * is held, 0 when it completes now (the request budget is spent, or it makes no call). */
static int fanout_start(cpn_sources_t *src, cpn_req_t *q)
{
  const cpn_class_spec_t *c = &src->sc->classes[q->rec.cls];
  unsigned n = cpn_dist_draw(&c->fanout_calls, src->tok_rng);
  if (budget_spent(src) || n == 0)
    return 0;
  int slot = fanout_alloc(src);
  if (slot < 0) {
    cpn_sim_fail(src->sim, cpn_error_set(CPN_ENOMEM, "sources: out of memory (fan-out)"));
    return 0;
  }
  double now = cpn_sim_now(src->sim), t = q->rec.t_done > now ? q->rec.t_done : now;
  src->fanouts[slot] = (fanout_t){.parent = q, .left = 0, .calls = n, .t_last_s = t};
  q->src.fanout_parent = slot + 1;
  schedule(src, t, src->ev_fanout, slot);
  return 1;
}

/* The parent's reply reached its user: its children arrive now, at its origin, tenant and model. */
static void on_fanout(void *ctx, const cpn_event_t *e)
{
  cpn_sources_t *src = ctx;
  src->pending--;
  int slot = e->idx;
  fanout_t *f = &src->fanouts[slot];
  cpn_req_t *q = f->parent;
  if (!q) { /* ended meanwhile */
    fanout_finish(src, slot);
    return;
  }
  const cpn_class_spec_t *c = &src->sc->classes[q->rec.cls];
  const cpn_class_spec_t *cc = &src->sc->classes[c->fanout_class];
  double context = (double)q->rec.prompt_tokens + q->rec.output_tokens;
  src->fanout_starting = slot + 1;
  for (unsigned i = 0; i < f->calls && !budget_spent(src); i++) {
    const cpn_token_window_t *w = token_window(cc, cpn_sim_now(src->sim));
    double prompt = context + cpn_dist_draw(w ? &w->prompt_tokens : &cc->prompt_tokens, src->tok_rng);
    long output = cpn_dist_draw(w ? &w->output_tokens : &cc->output_tokens, src->tok_rng);
    if (prompt > 4294967295.0)
      prompt = 4294967295.0;
    cpn_req_t *k = new_request(src, q->rec.origin, c->fanout_class, q->rec.tenant, q->rec.model, (long)prompt, output);
    if (!k)
      break;
    k->rec.parent = (int64_t)q->rec.id;
    k->rec.session = q->rec.session;
    k->src.fanout_child = slot + 1;
    k->src.no_fanout = c->fanout_class == q->rec.cls;
    src->fanouts[slot].left++;
    cpn_gateway_admit(src->gw, k);
    f = &src->fanouts[slot];
  }
  src->fanout_starting = 0;
  if (src->fanouts[slot].left == 0) /* no child in flight: none made, or all ended at once (rejected) */
    fanout_finish(src, slot);
}

static void fanout_finish(cpn_sources_t *src, int slot)
{
  fanout_t *f = &src->fanouts[slot];
  cpn_req_t *p = f->parent;
  uint8_t status = f->bad_status, reason = f->bad_reason;
  double f_t_last = f->t_last_s;
  f->parent = NULL;
  f->left = src->free_fanout;
  src->free_fanout = slot;
  if (!p)
    return;
  p->src.fanout_parent = 0;
  double now = cpn_sim_now(src->sim);
  p->rec.t_done = f_t_last > now ? f_t_last : now;
  if (status == CPN_STATUS_COMPLETED)
    cpn_accounting_complete(src->acct, p);
  else
    cpn_accounting_end(src->acct, p, (cpn_status_t)status, (cpn_reason_t)reason);
}

void cpn_sources_ended(cpn_sources_t *src, const cpn_req_t *q)
{
  if (!src)
    return;
  if (q->src.fanout_parent) { /* a parent ended before its children (the end of the run) */
    fanout_t *f = &src->fanouts[q->src.fanout_parent - 1];
    if (f->parent == q)
      f->parent = NULL;
  }
  if (!q->src.fanout_child)
    return;
  int slot = q->src.fanout_child - 1;
  fanout_t *f = &src->fanouts[slot];
  if (q->rec.status != CPN_STATUS_COMPLETED && !f->bad_status)
    f->bad_status = q->rec.status, f->bad_reason = q->rec.reason;
  if (q->rec.t_done > f->t_last_s) /* NaN (never replied) is not later */
    f->t_last_s = q->rec.t_done;
  if (--f->left > 0 || src->fanout_starting == slot + 1)
    return;
  fanout_finish(src, slot);
}

int cpn_sources_replied(cpn_sources_t *src, cpn_req_t *q)
{
  if (!src)
    return 0;
  if (src->sc->classes[q->rec.cls].fanout && !q->src.no_fanout)
    return fanout_start(src, q);
  if (src->n_awaiting == 0)
    return 0;
  long lo = 0, hi = src->n_awaiting - 1;
  while (lo < hi) {
    long mid = lo + (hi - lo) / 2;
    if (src->awaiting[mid].id < q->rec.id)
      lo = mid + 1;
    else
      hi = mid;
  }
  awaiting_t *w = &src->awaiting[lo];
  if (w->id != q->rec.id || w->slot < 0)
    return 0;
  int slot = w->slot;
  w->slot = -1;
  src->dead_awaiting++;
  const cpn_class_spec_t *c = &src->sc->classes[src->sessions[slot].cls];
  /* The think time starts when the reply reaches the user (t_done: in fluid mode the reply is handed over
   * when it leaves the site, with its arrival already known). */
  double now = cpn_sim_now(src->sim), reply = q->rec.t_done > now ? q->rec.t_done : now;
  double t = reply - c->session_think_s * log(gsl_rng_uniform_pos(src->tok_rng));
  if (t < src->t_end_arrivals && !budget_spent(src))
    schedule(src, t, src->ev_session, slot);
  else
    session_release(src, slot); /* the conversation ends with the arrivals */
  return 0;
}

static void on_session(void *ctx, const cpn_event_t *e)
{
  cpn_sources_t *src = ctx;
  src->pending--;
  int slot = e->idx;
  if (budget_spent(src)) {
    session_release(src, slot);
    return;
  }
  session_t *s = &src->sessions[slot];
  const cpn_class_spec_t *c = &src->sc->classes[s->cls];
  const cpn_token_window_t *w = token_window(c, cpn_sim_now(src->sim));
  double prompt = s->context_tokens + cpn_dist_draw(w ? &w->prompt_tokens : &c->prompt_tokens, src->tok_rng);
  long output = cpn_dist_draw(w ? &w->output_tokens : &c->output_tokens, src->tok_rng);
  if (prompt > 4294967295.0)
    prompt = 4294967295.0;
  s->turns_left--;
  cpn_req_t *q = new_request(src, s->origin, s->cls, s->tenant, s->model, (long)prompt, output);
  if (!q) {
    session_release(src, slot);
    return;
  }
  if (c->block_hashes) { /* the turn's tokens continue its conversation's */
    q->prefix.uid = s->uid;
    q->prefix.sys = s->sys;
    make_hashes(src, q);
  }
  session_continue(src, q, slot);
  cpn_gateway_admit(src->gw, q);
}

static void on_arrival(void *ctx, const cpn_event_t *e)
{
  cpn_sources_t *src = ctx;
  src->pending--;
  if (budget_spent(src))
    return; /* the request budget is spent: this origin's pending arrival never happens */
  int o = e->idx;
  cpn_req_t *q = new_request(src, o, -1, -1, -1, -1, -1);
  /* Next arrival of this origin. */
  if (!budget_spent(src)) {
    double t = cpn_arrival_next(&src->arrivals[o], cpn_sim_now(src->sim), src->arr_rng[o]);
    if (t < src->t_end_arrivals)
      schedule(src, t, src->ev_arrival, o);
  }
  if (q && src->sc->classes[q->rec.cls].session)
    session_continue(src, q, -1);
  if (q)
    cpn_gateway_admit(src->gw, q);
}

/* An arrival of class k's own process: it enters at the class's origin, or at one drawn by the
 * origins' rate_rps (class stream); tenant, model and tokens are drawn as for any request. */
static void on_class_arrival(void *ctx, const cpn_event_t *e)
{
  cpn_sources_t *src = ctx;
  src->pending--;
  if (budget_spent(src))
    return;
  int k = e->idx;
  const cpn_class_spec_t *c = &src->sc->classes[k];
  double u = gsl_rng_uniform(src->class_rng[k]);
  int o = c->sched_origin >= 0 ? c->sched_origin : cpn_rng_pick(src->origin_cdf, src->sc->n_origins, u);
  cpn_req_t *q = new_request(src, o, k, -1, -1, -1, -1);
  if (!budget_spent(src)) {
    double t = cpn_arrival_next(&src->class_arrivals[k], cpn_sim_now(src->sim), src->class_rng[k]);
    if (t < src->t_end_arrivals)
      schedule(src, t, src->ev_class, k);
  }
  if (q && c->session)
    session_continue(src, q, -1);
  if (q)
    cpn_gateway_admit(src->gw, q);
}

static int name_index(const char *name, const void *arr, size_t stride, int n)
{
  for (int i = 0; i < n; i++)
    if (strcmp((const char *)arr + (size_t)i * stride, name) == 0)
      return i;
  return -1;
}

/* Reads the next trace row and schedules its arrival; at the end of the trace, schedules nothing. */
static void trace_schedule(cpn_sources_t *src)
{
  if (budget_spent(src))
    return;
  int rc = cpn_trace_next(src->trace, &src->row);
  if (rc < 0) {
    cpn_sim_fail(src->sim, CPN_EINVAL); /* the reader's message names the file, line, column and problem */
    return;
  }
  if (rc == 0)
    return;
  if (src->row.t_s >= src->t_end_arrivals) {
    cpn_trace_unread(src->trace); /* read to see its time, never replayed: not counted as replayed */
    return;
  }
  schedule(src, src->row.t_s, src->ev_trace, 0);
}

static void on_trace(void *ctx, const cpn_event_t *e)
{
  cpn_sources_t *src = ctx;
  const cpn_scenario_t *sc = src->sc;
  const cpn_trace_row_t *row = &src->row;
  src->pending--;
  /* Names the trace gives must exist; missing ones are drawn from their weights (assignment stream). */
  int o = -1, cls = -1, tenant = -1, model = -1;
  double u = gsl_rng_uniform(src->assign_rng);
  if (row->origin[0]) {
    o = name_index(row->origin, sc->origins[0].name, sizeof sc->origins[0], sc->n_origins);
    if (o < 0) {
      cpn_sim_fail(src->sim, cpn_error_set(CPN_EINVAL, "%s:%ld: origin '%s' is not an origin of the scenario",
                                           sc->demand.trace_file, row->line, row->origin));
      return;
    }
  } else {
    o = cpn_rng_pick(src->origin_cdf, sc->n_origins, u);
  }
  if (row->tenant[0] && (tenant = name_index(row->tenant, sc->tenants[0].name, sizeof sc->tenants[0], sc->n_tenants)) < 0) {
    cpn_sim_fail(src->sim, cpn_error_set(CPN_EINVAL, "%s:%ld: tenant '%s' is not a tenant of the scenario",
                                         sc->demand.trace_file, row->line, row->tenant));
    return;
  }
  if (row->model[0] && (model = name_index(row->model, sc->models[0].name, sizeof sc->models[0], sc->n_models)) < 0) {
    cpn_sim_fail(src->sim, cpn_error_set(CPN_EINVAL, "%s:%ld: model '%s' is not a model of the scenario",
                                         sc->demand.trace_file, row->line, row->model));
    return;
  }
  if (row->cls[0] && (cls = name_index(row->cls, sc->classes[0].name, sizeof sc->classes[0], sc->n_classes)) < 0) {
    cpn_sim_fail(src->sim, cpn_error_set(CPN_EINVAL, "%s:%ld: class '%s' is not a class of the scenario",
                                         sc->demand.trace_file, row->line, row->cls));
    return;
  }
  cpn_req_t *q = new_request(src, o, cls, tenant, model, row->prompt_tokens, row->output_tokens);
  if (q && sc->demand.trace_adapter_col[0]) {
    /* The trace names the adapter (none: the base model). A name's FNV-1a hash is its identity on the
     * replicas (never 0: 0 is the base model). */
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = row->adapter; *p; p++)
      h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    q->adapter = !row->adapter[0] ? 0 : h ? h : 1;
  }
  if (q && row->n_hashes > 0 && cpn_reqs_set_prefix(q, row->hashes, row->n_hashes) != CPN_OK) {
    cpn_sim_fail(src->sim, CPN_ENOMEM);
    return;
  }
  trace_schedule(src);
  if (q)
    cpn_gateway_admit(src->gw, q);
}

static cpn_err_t open_trace(cpn_sources_t *src)
{
  const cpn_demand_spec_t *d = &src->sc->demand;
  src->assign_rng = cpn_rng_stream(src->sc->run.seed, CPN_STREAM_TRACE_ASSIGN);
  src->origin_cdf = cpn_rng_cdf(&src->sc->origins[0].rate_rps, sizeof src->sc->origins[0], src->sc->n_origins);
  if (!src->assign_rng || !src->origin_cdf)
    return cpn_error_set(CPN_ENOMEM, "sources: out of memory (trace)");
  cpn_trace_options_t o;
  const char *mapping = d->trace_mapping[0] ? d->trace_mapping : "azure-2023";
  if (strcmp(mapping, "custom") == 0) {
    cpn_trace_options_default(&o);
    o.format = strcmp(d->trace_format, "jsonl") == 0 ? CPN_TRACE_JSONL : CPN_TRACE_CSV;
    const char *u = d->trace_time_unit;
    o.time_kind = !strcmp(u, "ms") ? CPN_TRACE_TIME_MS : !strcmp(u, "us") ? CPN_TRACE_TIME_US
                : !strcmp(u, "datetime") ? CPN_TRACE_TIME_DATETIME : CPN_TRACE_TIME_S;
  } else if (cpn_trace_mapping(mapping, &o) != CPN_OK) {
    char why[512]; /* copied: the message buffer is also the destination */
    snprintf(why, sizeof why, "%s", cpn_error_message());
    return cpn_error_set(CPN_EINVAL, "%s: demand.trace.mapping: %s", src->sc->file, why);
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
  COL(class_col, trace_class_col)
  COL(hash_col, trace_hash_col)
  COL(adapter_col, trace_adapter_col)
#undef COL
  if (strcmp(d->trace_hash_col, "none") == 0)
    o.hash_col[0] = '\0'; /* the block hashes are ignored: no prefix caching */
  o.time_scale = d->trace_time_scale > 0 ? d->trace_time_scale : 1.0;
  o.rate_scale = d->trace_rate_scale > 0 ? d->trace_rate_scale : 1.0;
  o.shift_s = d->trace_shift_s;
  o.loop = d->trace_loop;
  o.start_offset_s = d->trace_start_offset_s;
  o.skip_errors = d->trace_skip_errors;
  o.seed = cpn_rng_seed(src->sc->run.seed, CPN_STREAM_TRACE_READER);
  o.require_rows = 1; /* an empty trace is an error, not a run of no request */
  return cpn_trace_open(&src->trace, d->trace_file, &o);
}

/* Points the process at the schedule `sp` (rates times scale, its window CVs). -1 when out of memory. */
static int schedule_init(origin_schedule_t *ss, const cpn_schedule_spec_t *sp, double scale, cpn_arrival_t *a)
{
  if (!(ss->rates = malloc((size_t)sp->n * 3 * sizeof *ss->rates)))
    return -1;
  for (int i = 0; i < sp->n; i++)
    ss->rates[i] = sp->rate_rps[i] * scale;
  ss->pw = (cpn_piecewise_t){.n = sp->n, .t_start_s = sp->t_s, .rate_rps = ss->rates, .period_s = sp->period_s,
                             .interp = sp->linear ? CPN_PW_LINEAR : CPN_PW_STEP};
  a->schedule = &ss->pw;
  a->diurnal = NULL;
  a->window_cv = sp->cv;
  a->window_weibull = sp->cv && a->kind == CPN_ARR_WEIBULL ? ss->rates + sp->n : NULL;
  return 0;
}

/* The process of class k (classes[].schedule): its schedule, its CV (or demand.cv). */
static cpn_err_t class_arrival_init(cpn_arrival_t *a, const cpn_scenario_t *sc, int k, origin_schedule_t *ss)
{
  const cpn_class_spec_t *c = &sc->classes[k];
  memset(a, 0, sizeof *a);
  a->kind = sc->demand.arrival;
  a->cv = c->cv > 0 ? c->cv : sc->demand.cv;
  if (schedule_init(ss, &c->sched, sc->demand.scale, a) != 0)
    return cpn_error_set(CPN_ENOMEM, "sources: out of memory (schedule)");
  if (cpn_arrival_prepare(a) != 0)
    return cpn_error_set(CPN_EINVAL, "%s: classes.%s.schedule: invalid arrival process parameters", sc->file, c->name);
  return CPN_OK;
}

/* The arrival process of origin o. An origin with rate 0 makes no request (it is valid: a demand
 * switched off with --set). Poisson with the linear diurnal profile keeps its thinning (the same draws
 * as before schedules existed); every other process with a profile, and every origin with a schedule,
 * follows a rate schedule by time change (cpn_arrival_t.schedule). */
static cpn_err_t arrival_init(cpn_arrival_t *a, const cpn_scenario_t *sc, int o, origin_schedule_t *ss)
{
  const cpn_origin_spec_t *os = &sc->origins[o];
  const cpn_demand_spec_t *d = &sc->demand;
  memset(a, 0, sizeof *a);
  a->kind = d->arrival;
  a->rate_rps = os->rate_rps * d->scale;
  a->cv = os->cv > 0 ? os->cv : d->cv;
  a->diurnal = d->diurnal_enabled ? &d->diurnal : NULL;
  a->tz_offset_h = os->tz_h;
  a->start_utc_h = sc->run.start_utc_h;
  a->burst_factor = d->burst_factor;
  a->burst_mean_s = d->burst_mean_s;
  a->calm_mean_s = d->calm_mean_s;
  a->mmpp_state = 0;
  a->mmpp_switch_s = -1;
  if (os->sched.n > 0) {
    if (schedule_init(ss, &os->sched, d->scale, a) != 0)
      return cpn_error_set(CPN_ENOMEM, "sources: out of memory (schedule)");
  } else if (a->diurnal && a->rate_rps > 0 && (a->kind != CPN_ARR_POISSON || d->diurnal_step)) {
    cpn_diurnal_schedule(a->diurnal, a->rate_rps, a->tz_offset_h, a->start_utc_h,
                         d->diurnal_step ? CPN_PW_STEP : CPN_PW_LINEAR, ss->t24, ss->r24, &ss->pw);
    a->schedule = &ss->pw;
    a->diurnal = NULL;
  }
  if ((a->schedule || a->rate_rps > 0) && cpn_arrival_prepare(a) != 0)
    return cpn_error_set(CPN_EINVAL, "%s:%d: origins.%s: invalid arrival process parameters", sc->file, os->line,
                         os->name);
  return CPN_OK;
}

/* An origin makes requests when it has a schedule or a positive rate. */
static int arrival_active(const cpn_arrival_t *a) { return a->schedule || a->rate_rps > 0; }

cpn_err_t cpn_sources_check(const cpn_scenario_t *sc)
{
  for (int o = 0; o < sc->n_origins + sc->n_classes; o++) {
    cpn_arrival_t a;
    origin_schedule_t ss = {0};
    cpn_err_t err = CPN_OK;
    if (o < sc->n_origins)
      err = arrival_init(&a, sc, o, &ss);
    else if (sc->classes[o - sc->n_origins].sched.n)
      err = class_arrival_init(&a, sc, o - sc->n_origins, &ss);
    free(ss.rates);
    if (err)
      return err;
  }
  if (sc->demand.trace_file[0]) { /* the trace opens and has a first row (an empty trace is an error) */
    cpn_sources_t tmp = {.sc = sc};
    cpn_trace_row_t row;
    cpn_err_t err = open_trace(&tmp);
    if (!err && cpn_trace_next(tmp.trace, &row) < 0)
      err = CPN_EINVAL; /* the reader's message names the file and the problem */
    cpn_trace_close(tmp.trace);
    if (tmp.assign_rng)
      gsl_rng_free(tmp.assign_rng);
    free(tmp.origin_cdf);
    if (err)
      return err;
  }
  return CPN_OK;
}

cpn_err_t cpn_sources_new(cpn_sources_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_reqs_t *reqs,
                          cpn_accounting_t *acct, cpn_gateway_t *gw, double t_end_arrivals)
{
  cpn_sources_t *src = calloc(1, sizeof *src);
  if (!src)
    return cpn_error_set(CPN_ENOMEM, "sources: out of memory");
  *src = (cpn_sources_t){.sc = sc, .sim = sim, .reqs = reqs, .acct = acct, .gw = gw, .t_end_arrivals = t_end_arrivals,
                         .max_requests = sc->run.max_requests, .n_origins = sc->n_origins};
  unsigned long seed = sc->run.seed;
  size_t no = (size_t)(src->n_origins ? src->n_origins : 1);
  src->arr_rng = calloc(no, sizeof(gsl_rng *));
  src->arrivals = calloc(no, sizeof *src->arrivals);
  src->schedules = calloc(no, sizeof *src->schedules);
  src->tok_rng = cpn_rng_stream(seed, CPN_STREAM_TOKENS);
  src->class_cdf = cpn_rng_cdf(&sc->classes[0].share, sizeof sc->classes[0], sc->n_classes);
  src->tenant_cdf = cpn_rng_cdf(&sc->tenants[0].share, sizeof sc->tenants[0], sc->n_tenants);
  src->model_cdf = cpn_rng_cdf(&sc->models[0].share, sizeof sc->models[0], sc->n_models);
  cpn_err_t err = CPN_OK;
  for (int k = 0; k < sc->n_classes && !err; k++)
    if (sc->classes[k].system_prompts > 0 && !src->sys_rng &&
        !(src->sys_rng = cpn_rng_stream(seed, CPN_STREAM_SYSTEM_PROMPTS)))
      err = cpn_error_set(CPN_ENOMEM, "sources: out of memory (system prompts)");
  for (int m = 0; m < sc->n_models && !err; m++) {
    int n = sc->models[m].adapters;
    if (n <= 0)
      continue;
    if (!src->adapter_cdf) {
      src->adapter_cdf = calloc((size_t)sc->n_models, sizeof *src->adapter_cdf);
      src->adapter_rng = cpn_rng_stream(seed, CPN_STREAM_ADAPTERS);
    }
    double *cdf = src->adapter_cdf ? malloc((size_t)n * sizeof *cdf) : NULL;
    if (!cdf || !src->adapter_rng) {
      free(cdf);
      err = cpn_error_set(CPN_ENOMEM, "sources: out of memory (adapters)");
      break;
    }
    double sum = 0;
    for (int i = 0; i < n; i++)
      cdf[i] = sum += pow(i + 1.0, -sc->models[m].adapter_zipf_s);
    for (int i = 0; i < n; i++)
      cdf[i] /= sum;
    cdf[n - 1] = 1.0;
    src->adapter_cdf[m] = cdf;
  }
  if (!err && (!src->arr_rng || !src->arrivals || !src->schedules || !src->tok_rng || !src->class_cdf || !src->tenant_cdf || !src->model_cdf))
    err = cpn_error_set(CPN_ENOMEM, "sources: out of memory (workload)");
  for (int o = 0; !err && o < src->n_origins; o++) {
    src->arr_rng[o] = cpn_rng_stream(seed, CPN_STREAM_ARRIVALS + (unsigned long)o);
    if (!src->arr_rng[o]) {
      err = cpn_error_set(CPN_ENOMEM, "sources: out of memory (streams)");
      break;
    }
    err = arrival_init(&src->arrivals[o], sc, o, &src->schedules[o]);
  }
  for (int k = 0; k < sc->n_classes; k++)
    src->origins_make |= sc->classes[k].sched.n == 0;
  for (int k = 0; !err && k < sc->n_classes; k++) {
    if (!sc->classes[k].sched.n)
      continue;
    if (!src->class_arrivals) {
      src->class_arrivals = calloc((size_t)sc->n_classes, sizeof *src->class_arrivals);
      src->class_schedules = calloc((size_t)sc->n_classes, sizeof *src->class_schedules);
      src->class_rng = calloc((size_t)sc->n_classes, sizeof *src->class_rng);
      src->origin_cdf = cpn_rng_cdf(&sc->origins[0].rate_rps, sizeof sc->origins[0], sc->n_origins);
      if (!src->class_arrivals || !src->class_schedules || !src->class_rng || !src->origin_cdf) {
        err = cpn_error_set(CPN_ENOMEM, "sources: out of memory (class schedules)");
        break;
      }
    }
    if (!(src->class_rng[k] = cpn_rng_stream(seed, CPN_STREAM_CLASS_ARRIVALS + (unsigned long)k)))
      err = cpn_error_set(CPN_ENOMEM, "sources: out of memory (streams)");
    else
      err = class_arrival_init(&src->class_arrivals[k], sc, k, &src->class_schedules[k]);
  }
  if (!err && sc->demand.trace_file[0])
    err = open_trace(src);
  if (err) {
    cpn_sources_free(src);
    return err;
  }
  src->ev_arrival = cpn_sim_kind(sim, "sources.arrival", on_arrival, src);
  src->ev_trace = cpn_sim_kind(sim, "sources.trace", on_trace, src);
  src->ev_session = cpn_sim_kind(sim, "sources.session", on_session, src);
  src->ev_class = cpn_sim_kind(sim, "sources.class_arrival", on_class_arrival, src);
  src->ev_fanout = cpn_sim_kind(sim, "sources.fanout", on_fanout, src);
  src->free_session = -1;
  src->free_fanout = -1;
  *out = src;
  return CPN_OK;
}

cpn_err_t cpn_sources_start(cpn_sources_t *src)
{
  for (int o = 0; o < src->n_origins; o++) {
    cpn_arrival_t *a = &src->arrivals[o];
    if (arrival_active(a) && src->origins_make && !src->sc->demand.trace_file[0]) {
      double t = cpn_arrival_next(a, 0.0, src->arr_rng[o]);
      if (t < src->t_end_arrivals)
        schedule(src, t, src->ev_arrival, o);
    }
  }
  for (int k = 0; src->class_arrivals && k < src->sc->n_classes; k++) {
    if (!src->class_rng[k])
      continue;
    double t = cpn_arrival_next(&src->class_arrivals[k], 0.0, src->class_rng[k]);
    if (t < src->t_end_arrivals)
      schedule(src, t, src->ev_class, k);
  }
  if (src->trace)
    trace_schedule(src);
  return cpn_sim_error(src->sim);
}

void cpn_sources_free(cpn_sources_t *src)
{
  if (!src)
    return;
  if (src->arr_rng)
    for (int o = 0; o < src->n_origins; o++)
      if (src->arr_rng[o])
        gsl_rng_free(src->arr_rng[o]);
  free(src->arr_rng);
  if (src->tok_rng)
    gsl_rng_free(src->tok_rng);
  free(src->arrivals);
  if (src->schedules)
    for (int o = 0; o < src->n_origins; o++)
      free(src->schedules[o].rates);
  free(src->schedules);
  free(src->class_cdf);
  free(src->tenant_cdf);
  free(src->model_cdf);
  if (src->adapter_cdf)
    for (int m = 0; m < src->sc->n_models; m++)
      free(src->adapter_cdf[m]);
  free(src->adapter_cdf);
  if (src->adapter_rng)
    gsl_rng_free(src->adapter_rng);
  if (src->sys_rng)
    gsl_rng_free(src->sys_rng);
  free(src->hash_buf);
  cpn_trace_close(src->trace);
  if (src->assign_rng)
    gsl_rng_free(src->assign_rng);
  free(src->origin_cdf);
  for (int k = 0; src->class_arrivals && k < src->sc->n_classes; k++) {
    if (src->class_rng[k])
      gsl_rng_free(src->class_rng[k]);
    free(src->class_schedules[k].rates);
  }
  free(src->class_arrivals);
  free(src->class_schedules);
  free(src->class_rng);
  free(src->sessions);
  free(src->awaiting);
  free(src->fanouts);
  free(src);
}

long cpn_sources_pending(const cpn_sources_t *src) { return src->pending; }
const struct cpn_trace *cpn_sources_trace(const cpn_sources_t *src) { return src->trace; }
