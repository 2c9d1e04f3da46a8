/* sched_fcfs: one request at a time, first come first served, no batching and no preemption: the
 * server of queueing theory (M/M/c, M/G/c checks).
 *
 * A request's service is its prefill, which produces the first token, then (output - 1) decode steps
 * at batch 1 whose context grows by one token a step (the mean context over the steps makes the sum
 * exact for the linear part of the roofline). The replica runs at full power while it serves.
 *
 * Parameters: step_s > 0 replaces the performance model by fixed times, every decode step taking step_s
 * and a prefill prefill_s_per_token x prompt tokens, with no memory limit: the service time of queueing
 * theory (tests/data/mmc.yaml). prefill_s_per_token without step_s would have no effect: refused. */
#include <math.h>

#include "serving/scheduler.h"

typedef struct {
  double step_s, prefill_s_per_token; /* fixed times (step_s > 0), else the performance model */
  cpn_req_t *cur;
  int decoding;     /* 0: prefilling, 1: decoding */
  double t_next;    /* end of the current phase */
} fcfs_t;

static int fcfs_init(void *state, const cpn_replica_info_t *info)
{
  fcfs_t *f = state;
  f->step_s = cpn_sched_param(&cpn_sched_fcfs, info, "step_s");
  f->prefill_s_per_token = cpn_sched_param(&cpn_sched_fcfs, info, "prefill_s_per_token");
  if (!(f->step_s >= 0 && f->prefill_s_per_token >= 0) || (f->step_s == 0 && f->prefill_s_per_token != 0))
    return 1;
  return 0;
}

static void fcfs_figures(const void *state, const cpn_replica_info_t *info, double *kv_cap, double *prefill_1000_s,
                         double *step_s)
{
  const fcfs_t *f = state;
  if (f->step_s > 0) {
    *kv_cap = INFINITY;
    *prefill_1000_s = info->slow * (f->prefill_s_per_token * 1000);
    *step_s = info->slow * f->step_s;
  }
}

static double prefill_s(const fcfs_t *f, const cpn_replica_info_t *info, double tokens)
{
  if (f->step_s > 0)
    return tokens > 0 ? f->prefill_s_per_token * tokens : 0.0;
  return cpn_perf_prefill_s(&info->perf, tokens);
}

static double fcfs_power_w(const void *state, const cpn_replica_info_t *info)
{
  return info->tp * cpn_perf_power_w(info->accel, ((const fcfs_t *)state)->cur ? 1.0 : 0.0);
}

static void fcfs_advance(void *state, const cpn_replica_info_t *info, double dt, double w) {}

static int fcfs_has_slot(const void *state, const cpn_replica_info_t *info) { return !((const fcfs_t *)state)->cur; }

static int fcfs_admit(void *state, cpn_replica_t *rep, const cpn_replica_info_t *info)
{
  fcfs_t *f = state;
  if (f->cur)
    return 0;
  cpn_req_t *q = cpn_replica_peek(rep);
  if (!q || (double)q->rec.prompt_tokens + q->rec.output_tokens > info->kv_cap)
    return 0;
  cpn_replica_take(rep, q);
  double dur = info->slow * prefill_s(f, info, (double)q->rec.prompt_tokens - q->serve.cached); /* cached: skipped */
  f->cur = q;
  f->decoding = 0;
  f->t_next = cpn_replica_now(rep) + dur;
  q->acct.share_s += dur;
  q->acct.energy_j += dur * fcfs_power_w(f, info);
  return 1;
}

static void fcfs_step(void *state, cpn_replica_t *rep, const cpn_replica_info_t *info)
{
  fcfs_t *f = state;
  cpn_req_t *q = f->cur;
  if (!f->decoding && info->prefill_only) { /* disaggregated: the KV leaves for the decode site */
    f->cur = NULL;
    cpn_replica_handoff(rep, q);
    return;
  }
  if (!f->decoding) {
    if (!q->serve.kv_in) /* else the first token was reported when the KV arrived */
      cpn_replica_first_token(rep, q);
    double steps = (double)q->rec.output_tokens - 1.0;
    if (steps > 0) {
      double mid = (double)q->rec.prompt_tokens + 1.0 + (steps - 1.0) / 2.0;
      double dur = steps * info->slow *
                   (f->step_s > 0 ? cpn_sched_spec_token_s(info, f->step_s, f->step_s) : cpn_sched_token_s(info, 1, mid));
      f->decoding = 1;
      f->t_next = cpn_replica_now(rep) + dur;
      q->acct.share_s += dur;
      q->acct.energy_j += dur * fcfs_power_w(f, info);
      return;
    }
  }
  f->cur = NULL;
  cpn_replica_complete(rep, q);
}

static double fcfs_next_s(void *state, const cpn_replica_info_t *info, double now)
{
  const fcfs_t *f = state;
  return f->cur ? f->t_next : INFINITY;
}

static int fcfs_active(const void *state) { return ((const fcfs_t *)state)->cur != NULL; }
static int fcfs_batch(const void *state) { return ((const fcfs_t *)state)->decoding; }
static double fcfs_kv_used(const void *state)
{
  const cpn_req_t *q = ((const fcfs_t *)state)->cur;
  return q ? (double)q->rec.prompt_tokens + q->rec.output_tokens : 0.0;
}

static const char *const FCFS_PARAMS[] = {"step_s", "prefill_s_per_token", NULL};
static const double FCFS_DEFAULTS[] = {0, 0};

const cpn_sched_type_t cpn_sched_fcfs = {
  .abi = CPN_SCHED_ABI, .name = "fcfs", .state_size = sizeof(fcfs_t), .init = fcfs_init, .power_w = fcfs_power_w,
  .advance = fcfs_advance, .has_slot = fcfs_has_slot, .admit = fcfs_admit, .step = fcfs_step,
  .next_s = fcfs_next_s, .active = fcfs_active, .batch = fcfs_batch, .kv_used = fcfs_kv_used,
  .param_names = FCFS_PARAMS, .param_defaults = FCFS_DEFAULTS,
  .param_rules = "step_s and prefill_s_per_token must be >= 0, and prefill_s_per_token needs step_s > 0",
  .figures = fcfs_figures};
