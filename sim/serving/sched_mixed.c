/* sched_mixed: continuous batching whose iterations mix prefill and decode, in two flavours, `vllm` and
 * `trtllm` (the serving scheduler types of README "Serving schedulers").
 *
 * An iteration decodes one token for every request of the decode batch and, within a token budget per
 * iteration, prefills prompt tokens of the requests admitted since (cpn_perf_mixed_step_s). The decode
 * batch is scheduled first and the prompts get what is left of the budget, in admission order, as both
 * engines do.
 *
 * vllm (vLLM V1 scheduler, vllm/v1/core/sched/scheduler.py, and vllm/engine/arg_utils.py for defaults):
 *   - greedy admission: a request starts when its prompt (after a preemption, its prompt and the tokens
 *     it had generated) fits in the free KV cache now; its output grows into the cache as it decodes;
 *   - chunked prefill (on by default in V1): a prompt may be split across iterations, each iteration
 *     carrying at most max_num_batched_tokens tokens (default 8192: the OpenAI server on a GPU of 70 GiB
 *     or more); chunked_prefill = 0 turns it off (a prompt is then prefilled whole in one iteration);
 *   - recompute preemption: when decoding fills the cache, the most recently admitted member of the
 *     decode batch drops its KV and returns to the head of its queue (counted in /summary).
 * trtllm (TensorRT-LLM's in-flight batching with the GUARANTEED_NO_EVICT capacity policy, its default):
 *   - a request starts only when KV for its prompt plus its whole output can be reserved, so the cache
 *     never overflows and nothing is ever preempted;
 *   - whole prompts (no chunked context, TensorRT-LLM's default) are packed into an iteration within
 *     max_num_tokens (default 8192, TensorRT-LLM's BuildConfig default); a prompt longer than the budget
 *     runs alone.
 *
 * Owns, per replica: the decode batch (a min-heap on the virtual finish time, as sched_continuous.c),
 * the list of requests in prefill with the tokens each has left, the iteration in flight (its end and
 * its token shares), and the accumulators S and E (replica-seconds and energy per batch token). A
 * decode member receives one token per iteration; the virtual clock V counts them. Between iterations
 * that carry prefill the batch decodes alone, and its steps are planned in one event up to the next
 * completion (as sched_continuous.c). Invariants: the KV tokens in use never exceed the capacity
 * (trtllm: the reservations never do); an iteration in flight is never re-planned. */
#include <math.h>
#include <stdlib.h>

#include "serving/decode_batch.h"
#include "serving/scheduler.h"

enum { VLLM, TRTLLM };

typedef struct {
  int flavour;
  int chunked;              /* a prompt may be split across iterations */
  double budget;            /* tokens per iteration */
  double V, sum_ctx0, sum_vstart;
  double step_s;            /* duration of the current step (one iteration, or one decode step) */
  double slot_f;            /* share of the step's time per batch token */
  cpn_req_t **pf;           /* requests in prefill, in admission order */
  int npf;
  double pf_left;           /* prompt tokens left to prefill over pf */
  double kv_prefill;        /* KV tokens held by the requests in prefill */
  double kv_reserved;       /* trtllm: KV reserved (prompt + output) by every request in service */
  int in_step;              /* an iteration carrying prefill is in flight */
  double step_end, step_prefill, step_dt, step_e;
  double S, E;
  cpn_batch_t b;            /* min-heap on serve.v_finish (decode_batch.h); last, after the fields above */
} mixed_t;

static int mixed_init(void *state, const cpn_replica_info_t *info, int flavour, const cpn_sched_type_t *type)
{
  mixed_t *c = state;
  c->flavour = flavour;
  c->chunked = flavour == VLLM && cpn_sched_param(type, info, "chunked_prefill") != 0;
  c->budget = cpn_sched_param(type, info, flavour == VLLM ? "max_num_batched_tokens" : "max_num_tokens");
  if (!(c->budget >= 1))
    return 1;
  c->pf = calloc((size_t)info->max_batch, sizeof *c->pf);
  return c->pf ? 0 : -1;
}

static int vllm_init(void *state, const cpn_replica_info_t *info)
{
  return mixed_init(state, info, VLLM, &cpn_sched_vllm);
}
static int trtllm_init(void *state, const cpn_replica_info_t *info)
{
  return mixed_init(state, info, TRTLLM, &cpn_sched_trtllm);
}

static void mixed_destroy(void *state)
{
  mixed_t *c = state;
  cpn_batch_free(&c->b);
  free(c->pf);
}

static double decode_ctx(const mixed_t *c) { return c->sum_ctx0 - c->sum_vstart + c->b.n * c->V; }
static double kv_now(const mixed_t *c) { return c->kv_prefill + decode_ctx(c); }
static double mixed_kv_used(const void *state) { return kv_now(state); }
static int mixed_active(const void *state)
{
  const mixed_t *c = state;
  return c->b.n + c->npf;
}
static int mixed_batch(const void *state) { return ((const mixed_t *)state)->b.n; }

static double mixed_power_w(const void *state, const cpn_replica_info_t *info)
{
  const mixed_t *c = state;
  if (c->in_step && c->step_prefill > 0)
    return info->tp * cpn_perf_power_w(info->accel, 1.0);
  if (c->b.n == 0)
    return info->tp * cpn_perf_power_w(info->accel, 0.0);
  double u = 0.4 + 0.6 * (double)c->b.n / info->max_batch;
  return info->tp * cpn_perf_power_w(info->accel, u > 1 ? 1 : u);
}

static void mixed_advance(void *state, const cpn_replica_info_t *info, double dt, double w)
{
  mixed_t *c = state;
  (void)info;
  if (c->b.n > 0 && c->step_s > 0)
    c->V += dt / c->step_s;
  c->S += dt * c->slot_f;
  c->E += w * dt * c->slot_f;
  if (c->in_step) {
    c->step_dt += dt;
    c->step_e += w * dt;
  }
}

static int mixed_has_slot(const void *state, const cpn_replica_info_t *info)
{
  const mixed_t *c = state;
  return c->b.n + c->npf < info->max_batch;
}

static void leave_batch(mixed_t *c, cpn_req_t *q)
{
  c->sum_ctx0 -= q->serve.ctx0;
  c->sum_vstart -= q->serve.v_start;
  q->acct.share_s += c->S - q->serve.s_start;
  q->acct.energy_j += c->E - q->serve.e_start;
}

static double ctx_of(const cpn_req_t *q)
{
  return q->serve.resumed ? q->serve.resume_ctx : (double)q->rec.prompt_tokens;
}
static double out_left_of(const cpn_req_t *q)
{
  return q->serve.resumed ? q->serve.remaining : (double)q->rec.output_tokens - 1.0;
}

static void preempt_one(mixed_t *c, cpn_replica_t *rep)
{
  cpn_req_t *q = cpn_batch_remove(&c->b, cpn_batch_newest(&c->b));
  leave_batch(c, q);
  cpn_batch_mark_preempted(q, c->V);
  cpn_replica_requeue(rep, q);
}

static void join_batch(mixed_t *c, cpn_replica_t *rep, cpn_req_t *q);

static int mixed_admit(void *state, cpn_replica_t *rep, const cpn_replica_info_t *info)
{
  mixed_t *c = state;
  int started = 0;
  while (c->b.n + c->npf < info->max_batch) {
    /* Prompt tokens the next iteration has room for after the decode batch and the prompts admitted. */
    double room = c->budget - c->b.n - c->pf_left;
    if (c->chunked ? room < 1 : (c->npf > 0 && room < 1))
      break;
    cpn_req_t *q = cpn_replica_peek(rep);
    if (!q)
      break;
    double ctx = ctx_of(q);
    if (!c->chunked && c->npf > 0 && ctx > room)
      break; /* whole prompts only: it waits for the next iteration */
    if (c->flavour == TRTLLM ? c->kv_reserved + ctx + 1 + out_left_of(q) > info->kv_cap
                             : kv_now(c) + ctx + 1 > info->kv_cap)
      break; /* waits until KV is released */
    cpn_replica_take(rep, q);
    if (c->flavour == TRTLLM)
      c->kv_reserved += ctx + 1 + out_left_of(q);
    started++;
    if (q->serve.kv_in) { /* its KV arrived from a prefill replica: straight into the decode batch */
      join_batch(c, rep, q);
      continue;
    }
    /* Prompt tokens found in the prefix cache are not prefilled; their KV is held all the same. */
    q->serve.prefill_left = ctx - q->serve.cached;
    q->serve.chunk = 0;
    c->pf[c->npf++] = q;
    c->pf_left += q->serve.prefill_left;
    c->kv_prefill += ctx + 1;
  }
  return started;
}

static void complete(mixed_t *c, cpn_replica_t *rep, cpn_req_t *q, double reserved)
{
  if (c->flavour == TRTLLM)
    c->kv_reserved -= reserved;
  cpn_replica_complete(rep, q);
}

/* q's prompt is in the KV cache (prefilled here, or arrived from a prefill replica): it decodes its
 * remaining tokens with the batch, or completes when none is left. */
static void join_batch(mixed_t *c, cpn_replica_t *rep, cpn_req_t *q)
{
  double ctx = ctx_of(q), tokens = out_left_of(q);
  if (tokens <= 0) {
    complete(c, rep, q, ctx + 1);
    return;
  }
  q->serve.v_start = c->V;
  q->serve.v_finish = c->V + tokens;
  q->serve.ctx0 = ctx + 1;
  q->serve.s_start = c->S;
  q->serve.e_start = c->E;
  c->sum_ctx0 += q->serve.ctx0;
  c->sum_vstart += q->serve.v_start;
  if (cpn_batch_push(&c->b, q))
    cpn_replica_fail(rep, cpn_error_set(CPN_ENOMEM, "serving: out of memory (decode batch)"));
}

/* The iteration in flight ends: prompt tokens are credited, finished prompts emit their first token and
 * join the decode batch (on a prefill replica: leave for their decode site). */
static void end_iteration(mixed_t *c, cpn_replica_t *rep, const cpn_replica_info_t *info)
{
  c->in_step = 0;
  int k = 0;
  for (int i = 0; i < c->npf; i++) {
    cpn_req_t *q = c->pf[i];
    if (q->serve.chunk > 0) {
      double f = c->step_prefill > 0 ? q->serve.chunk * c->slot_f : 0.0;
      q->acct.share_s += f * c->step_dt;
      q->acct.energy_j += f * c->step_e;
      q->serve.prefill_left -= q->serve.chunk;
      c->pf_left -= q->serve.chunk;
      q->serve.chunk = 0;
    }
    if (q->serve.prefill_left > 0.5) {
      c->pf[k++] = q;
      continue;
    }
    double ctx = ctx_of(q);
    c->kv_prefill -= ctx + 1;
    if (info->prefill_only) {
      if (c->flavour == TRTLLM)
        c->kv_reserved -= ctx + 1 + out_left_of(q);
      cpn_replica_handoff(rep, q);
      continue;
    }
    if (!q->serve.resumed)
      cpn_replica_first_token(rep, q);
    join_batch(c, rep, q);
  }
  c->npf = k;
  if (k == 0)
    c->pf_left = 0; /* no drift left behind */
}

static void mixed_step(void *state, cpn_replica_t *rep, const cpn_replica_info_t *info)
{
  mixed_t *c = state;
  if (c->in_step)
    end_iteration(c, rep, info);
  while (c->b.n > 0 && cpn_batch_e(&c->b)[0].v_finish <= c->V + 1e-9 * (1.0 + fabs(c->V))) {
    cpn_req_t *q = cpn_batch_pop(&c->b);
    leave_batch(c, q);
    complete(c, rep, q, q->serve.ctx0 + (q->serve.v_finish - q->serve.v_start));
  }
  if (c->b.n == 0) {
    c->sum_ctx0 = c->sum_vstart = 0; /* no drift left behind */
    c->V = 0;
  }
  if (c->flavour == VLLM)
    while (c->b.n > 1 && kv_now(c) + c->b.n > info->kv_cap + 1e-6)
      preempt_one(c, rep);
}

static double mixed_next_s(void *state, const cpn_replica_info_t *info, double now)
{
  mixed_t *c = state;
  if (c->in_step)
    return c->step_end;
  if (c->npf > 0) {
    /* Plan the next iteration: the decode batch first, then prompt tokens in admission order. */
    double room = c->budget - c->b.n, total = 0;
    for (int i = 0; i < c->npf; i++) {
      cpn_req_t *q = c->pf[i];
      double x = q->serve.prefill_left;
      if (c->chunked)
        x = x < room ? x : (room >= 1 ? floor(room) : 0);
      else if (x > room && total > 0)
        break; /* whole prompts only; the first one goes even when longer than the budget */
      q->serve.chunk = x;
      room -= x;
      total += x;
    }
    c->step_s = info->slow * cpn_perf_mixed_step_s(&info->perf, c->b.n, decode_ctx(c), total);
    c->slot_f = 1.0 / (c->b.n + total);
    c->step_prefill = total;
    c->step_dt = c->step_e = 0;
    c->in_step = 1;
    c->step_end = now + c->step_s;
    return c->step_end;
  }
  c->step_prefill = 0;
  if (c->b.n == 0) {
    c->slot_f = 0;
    return INFINITY;
  }
  c->slot_f = 1.0 / c->b.n;
  double k = cpn_batch_e(&c->b)[0].v_finish - c->V;
  if (c->flavour == VLLM) {
    double k_full = (info->kv_cap - kv_now(c)) / c->b.n; /* a preemption point */
    if (k_full < k)
      k = k_full;
  }
  if (k < 0)
    k = 0;
  double ctx = decode_ctx(c);
  double mid = ctx + c->b.n * (k > 1 ? (k - 1) / 2.0 : 0.0);
  c->step_s = info->slow * cpn_sched_token_s(info, c->b.n, mid); /* per token (speculative decoding: decode-only steps) */
  return now + k * c->step_s;
}

static const char *const VLLM_PARAMS[] = {"max_num_batched_tokens", "chunked_prefill", NULL};
static const double VLLM_DEFAULTS[] = {8192, 1};
static const char *const TRTLLM_PARAMS[] = {"max_num_tokens", NULL};
static const double TRTLLM_DEFAULTS[] = {8192};

const cpn_sched_type_t cpn_sched_vllm = {
  .abi = CPN_SCHED_ABI, .name = "vllm", .state_size = sizeof(mixed_t), .init = vllm_init,
  .destroy = mixed_destroy, .power_w = mixed_power_w, .advance = mixed_advance, .has_slot = mixed_has_slot,
  .admit = mixed_admit, .step = mixed_step, .next_s = mixed_next_s, .active = mixed_active,
  .batch = mixed_batch, .kv_used = mixed_kv_used, .param_names = VLLM_PARAMS, .param_defaults = VLLM_DEFAULTS,
  .param_rules = "max_num_batched_tokens must be >= 1"};

const cpn_sched_type_t cpn_sched_trtllm = {
  .abi = CPN_SCHED_ABI, .name = "trtllm", .state_size = sizeof(mixed_t), .init = trtllm_init,
  .destroy = mixed_destroy, .power_w = mixed_power_w, .advance = mixed_advance, .has_slot = mixed_has_slot,
  .admit = mixed_admit, .step = mixed_step, .next_s = mixed_next_s, .active = mixed_active,
  .batch = mixed_batch, .kv_used = mixed_kv_used, .param_names = TRTLLM_PARAMS,
  .param_defaults = TRTLLM_DEFAULTS, .param_rules = "max_num_tokens must be >= 1"};
