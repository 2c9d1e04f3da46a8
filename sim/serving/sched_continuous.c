/* sched_continuous: continuous batching with one prefill at a time and recompute preemption.
 *
 * Admission is greedy on the prompt: a request starts when its prompt (or, after a preemption, its
 * prompt and the tokens it had generated) fits in the KV cache now; its output grows into the cache as
 * it decodes. Prefill runs alone and pauses decoding (no chunked prefill); it produces the first token.
 * Then (output - 1) decode steps whose time comes from models/cpn_perf with the batch size and the
 * batch's total context. When decoding fills the cache, the most recently admitted member is preempted
 * (vLLM's recompute policy): its KV is dropped and it returns to the head of its queue.
 *
 * Owns, per replica: the prefilling request, the decode batch (decode_batch.h: a min-heap on the virtual finish time),
 * and the virtual clock V (tokens each batch member has received); a member finishes when V reaches
 * its target, so a decode step costs O(log batch). S and E accumulate replica-seconds and energy per
 * batch slot, from which each member's share is taken when it leaves. */
#include <math.h>
#include <stdlib.h>

#include "serving/decode_batch.h"
#include "serving/scheduler.h"

typedef struct {
  double V, sum_ctx0, sum_vstart;
  double step_s;
  cpn_req_t *prefill;
  double prefill_end;
  double kv_prefill;        /* tokens held by the request in prefill */
  double S, E;              /* share and energy accumulators per batch slot */
  cpn_batch_t b;            /* min-heap on serve.v_finish; last, so that its top follows the fields above */
} cont_t;

static int cont_init(void *state, const cpn_replica_info_t *info)
{
  (void)state;
  (void)info;
  return 0;
}

static void cont_destroy(void *state) { cpn_batch_free(&((cont_t *)state)->b); }

/* KV-cache tokens in use now: the prefilling request's prompt, and every batch member's context. */
static double kv_now(const cont_t *c) { return c->kv_prefill + c->sum_ctx0 - c->sum_vstart + c->b.n * c->V; }

static double cont_kv_used(const void *state) { return kv_now(state); }
static int cont_active(const void *state)
{
  const cont_t *c = state;
  return c->b.n + (c->prefill != NULL);
}
static int cont_batch(const void *state) { return ((const cont_t *)state)->b.n; }

static double cont_power_w(const void *state, const cpn_replica_info_t *info)
{
  const cont_t *c = state;
  if (c->prefill)
    return info->tp * cpn_perf_power_w(info->accel, 1.0);
  if (c->b.n == 0)
    return info->tp * cpn_perf_power_w(info->accel, 0.0);
  /* Decode is memory bound: power rises with batch from ~40% utilisation at batch 1 to full. */
  double u = 0.4 + 0.6 * (double)c->b.n / info->max_batch;
  return info->tp * cpn_perf_power_w(info->accel, u > 1 ? 1 : u);
}

static void cont_advance(void *state, const cpn_replica_info_t *info, double dt, double w)
{
  cont_t *c = state;
  if (!c->prefill && c->b.n > 0) {
    c->V += dt / c->step_s;
    c->S += dt / c->b.n;
    c->E += w * dt / c->b.n;
  }
}

static int cont_has_slot(const void *state, const cpn_replica_info_t *info)
{
  const cont_t *c = state;
  return !c->prefill && c->b.n < info->max_batch;
}

static void start_decode(cont_t *c, cpn_replica_t *rep, cpn_req_t *q, double ctx0, double tokens)
{
  q->serve.v_start = c->V;
  q->serve.v_finish = c->V + tokens;
  q->serve.ctx0 = ctx0;
  q->serve.s_start = c->S;
  q->serve.e_start = c->E;
  c->sum_ctx0 += q->serve.ctx0;
  c->sum_vstart += q->serve.v_start;
  if (cpn_batch_push(&c->b, q))
    cpn_replica_fail(rep, cpn_error_set(CPN_ENOMEM, "serving: out of memory (decode batch)"));
}

static void leave_batch(cont_t *c, cpn_req_t *q)
{
  c->sum_ctx0 -= q->serve.ctx0;
  c->sum_vstart -= q->serve.v_start;
  q->acct.share_s += c->S - q->serve.s_start;
  q->acct.energy_j += c->E - q->serve.e_start;
}

/* The most recently admitted member (the highest virtual start, then the highest id) is preempted. */
static void preempt_one(cont_t *c, cpn_replica_t *rep)
{
  cpn_req_t *q = cpn_batch_remove(&c->b, cpn_batch_newest(&c->b));
  leave_batch(c, q);
  cpn_batch_mark_preempted(q, c->V);
  cpn_replica_requeue(rep, q);
}

static int cont_admit(void *state, cpn_replica_t *rep, const cpn_replica_info_t *info)
{
  cont_t *c = state;
  int started = 0;
  while (!c->prefill && c->b.n < info->max_batch) {
    cpn_req_t *q = cpn_replica_peek(rep);
    if (!q)
      break;
    double ctx = q->serve.resumed ? q->serve.resume_ctx : (double)q->rec.prompt_tokens;
    if (kv_now(c) + ctx + 1 > info->kv_cap)
      break; /* waits until KV is released */
    cpn_replica_take(rep, q);
    if (q->serve.kv_in) { /* its KV arrived from a prefill replica: straight into the decode batch */
      double tokens = q->serve.remaining;
      if (tokens <= 0)
        cpn_replica_complete(rep, q);
      else
        start_decode(c, rep, q, ctx + 1, tokens);
      started++;
      continue;
    }
    double now = cpn_replica_now(rep);
    double dur = info->slow * cpn_perf_prefill_s(&info->perf, ctx - q->serve.cached); /* cached: not prefilled */
    c->prefill = q;
    c->kv_prefill = ctx + 1;
    c->prefill_end = now + dur;
    q->acct.share_s += dur;
    q->acct.energy_j += dur * info->tp * cpn_perf_power_w(info->accel, 1.0);
    started++;
  }
  return started;
}

static void cont_step(void *state, cpn_replica_t *rep, const cpn_replica_info_t *info)
{
  cont_t *c = state;
  if (c->prefill) {
    cpn_req_t *q = c->prefill;
    c->prefill = NULL;
    c->kv_prefill = 0;
    double ctx0 = (q->serve.resumed ? q->serve.resume_ctx : (double)q->rec.prompt_tokens) + 1.0;
    double tokens = q->serve.resumed ? q->serve.remaining : (double)q->rec.output_tokens - 1.0;
    if (info->prefill_only) { /* disaggregated: the KV leaves for the decode site */
      cpn_replica_handoff(rep, q);
      return;
    }
    if (!q->serve.resumed)
      cpn_replica_first_token(rep, q);
    if (tokens <= 0)
      cpn_replica_complete(rep, q);
    else
      start_decode(c, rep, q, ctx0, tokens);
    return;
  }
  /* Everyone whose last token is out (tolerance: floating-point drift of V over many events). */
  while (c->b.n > 0 && cpn_batch_e(&c->b)[0].v_finish <= c->V + 1e-9 * (1.0 + fabs(c->V))) {
    cpn_req_t *q = cpn_batch_pop(&c->b);
    leave_batch(c, q);
    cpn_replica_complete(rep, q);
  }
  /* Decoding filled the KV cache: preempt until the next step fits. */
  while (c->b.n > 1 && kv_now(c) + c->b.n > info->kv_cap + 1e-6)
    preempt_one(c, rep);
}

static double cont_next_s(void *state, const cpn_replica_info_t *info, double now)
{
  cont_t *c = state;
  if (c->prefill)
    return c->prefill_end;
  if (c->b.n == 0)
    return INFINITY;
  double k = cpn_batch_e(&c->b)[0].v_finish - c->V;
  /* Steps until the KV cache is full (each step adds one token per member): a preemption point. */
  double k_full = (info->kv_cap - kv_now(c)) / c->b.n;
  if (k_full < k)
    k = k_full;
  if (k < 0)
    k = 0;
  /* Context grows by one token per member per step; the mean context over the next k steps makes the
   * sum of step times exact for the memory-bound (linear) part of the roofline. */
  double ctx = c->sum_ctx0 - c->sum_vstart + c->b.n * c->V;
  double mid = ctx + c->b.n * (k > 1 ? (k - 1) / 2.0 : 0.0);
  c->step_s = info->slow * cpn_sched_token_s(info, c->b.n, mid); /* per token: a decode step, or speculative decoding's */
  return now + k * c->step_s;
}

/* The step to come reads the prefilling request, or the batch member that finishes first. */
static void cont_prefetch(const void *state)
{
  const cont_t *c = state;
  if (c->prefill)
    cpn_prefetch_req(c->prefill);
  else if (c->b.n)
    cpn_prefetch_req(cpn_batch_ce(&c->b)[0].q);
}

const cpn_sched_type_t cpn_sched_continuous = {
  .abi = CPN_SCHED_ABI, .name = "continuous", .state_size = sizeof(cont_t), .init = cont_init,
  .destroy = cont_destroy, .power_w = cont_power_w, .advance = cont_advance, .has_slot = cont_has_slot,
  .admit = cont_admit, .step = cont_step, .next_s = cont_next_s, .active = cont_active, .batch = cont_batch,
  .kv_used = cont_kv_used, .prefetch = cont_prefetch};
