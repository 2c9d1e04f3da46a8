/* scheduler: the serving scheduler plug-in type, how one replica admits, batches and preempts.
 *
 * Like policies (STYLE.md, GSL's rng types): a versioned const struct of a name, the size of the state
 * the serving stage allocates per replica, and function pointers, listed in one table
 * (schedulers.c) and found by name. A scheduler sees its replica's figures (cpn_replica_info_t) and
 * reaches the rest of the serving stage only through the cpn_replica_* services below: it takes
 * requests from the replica's queues, hands back preempted ones, reports first tokens and completions,
 * and attributes replica time and energy to each request (req->acct). It never calls SimGrid.
 *
 * Adding a type: one file with its functions and a const cpn_sched_type_t, one line in schedulers.c. */
#ifndef CPN_SERVING_SCHEDULER_H
#define CPN_SERVING_SCHEDULER_H

#include <stddef.h>

#include "cpn_perf.h"
#include "request/request.h"

#define CPN_SCHED_ABI 1u

/* What a scheduler knows of its replica (read-only). */
typedef struct {
  int site, model;
  int tp;                   /* accelerators of the replica (tensor parallel) */
  int max_batch;
  int conf;                 /* on a confidential pool */
  const cpn_accel_t *accel;
  cpn_perf_t perf;
  double slow;              /* time multiplier: 1 + confidential overhead on confidential pools */
  double kv_cap;            /* KV-cache capacity, tokens (INFINITY when the type has no memory limit) */
  /* Appended: the replica group's scheduler_params (names already checked against the type's). */
  int n_params;
  const char (*param_keys)[64];
  const double *param_values;
  /* Appended: a prefill replica of disaggregated serving: when a prompt's prefill ends the scheduler
   * hands the request on (cpn_replica_handoff) instead of decoding it. */
  int prefill_only;
  /* Appended: speculative decoding, draft tokens per step (0 = off), acceptance rate, draft cost. */
  int spec_tokens;
  double spec_acceptance, spec_draft_cost;
} cpn_replica_info_t;

typedef struct cpn_replica cpn_replica_t;

typedef struct cpn_sched_type {
  unsigned abi;             /* CPN_SCHED_ABI */
  const char *name;
  size_t state_size;        /* zeroed bytes the serving stage allocates per replica */
  /* Optional; 0, or non-zero to refuse the replica (the run stops with an error). */
  int (*init)(void *state, const cpn_replica_info_t *info);
  /* Optional: frees what init allocated (not the state block). */
  void (*destroy)(void *state);
  /* Required. Accelerator power now (W, all tp accelerators), from the work in service. */
  double (*power_w)(const void *state, const cpn_replica_info_t *info);
  /* Required. Brings the scheduler's own accumulators forward by dt seconds at power_w. */
  void (*advance)(void *state, const cpn_replica_info_t *info, double dt, double power_w);
  /* Required. Can it start work on another request now? */
  int (*has_slot)(const void *state, const cpn_replica_info_t *info);
  /* Required. Starts work from the replica's queues (cpn_replica_peek / cpn_replica_take) while it can;
   * returns how many requests it started. */
  int (*admit)(void *state, cpn_replica_t *rep, const cpn_replica_info_t *info);
  /* Required. Its planned time has come: finish what is due (first tokens, completions, preemptions). */
  void (*step)(void *state, cpn_replica_t *rep, const cpn_replica_info_t *info);
  /* Required. The time of its next step, planned now; INFINITY when it has nothing to do. */
  double (*next_s)(void *state, const cpn_replica_info_t *info, double now);
  /* Required. Requests in service (prefill and decode), decode batch size, KV tokens in use. */
  int (*active)(const void *state);
  int (*batch)(const void *state);
  double (*kv_used)(const void *state);
  /* Appended: the names scheduler_params may use (NULL-terminated; NULL = none), and the default of each
   * (same order), printed in messages. */
  const char *const *param_names;
  const double *param_defaults;
  /* The rule its parameters must follow, printed when init refuses them (returns > 0). */
  const char *param_rules;
  /* Optional, called after init: the replica's KV capacity in tokens (INFINITY: no memory limit) and the
   * estimates the placement views show (prefill of 1,000 tokens, one decode step at batch 1 and 1,000
   * tokens of context), when the type does not take its times from the performance model. */
  void (*figures)(const void *state, const cpn_replica_info_t *info, double *kv_cap_tokens, double *prefill_1000_s,
                  double *step_s);
  /* Optional: asks for the memory its next step will read beyond the state (the request it finishes,
   * cpn_prefetch_req), one event before the step; must not change anything. */
  void (*prefetch)(const void *state);
} cpn_sched_type_t;

/* The value of scheduler parameter `name` for this replica, or the type's default for it. */
double cpn_sched_param(const cpn_sched_type_t *type, const cpn_replica_info_t *info, const char *name);

/* Time per decoded token of each of `batch` sequences with `ctx_tokens` of context in all (seconds,
 * before the confidential slow-down info->slow): one decode step of the performance model, or with speculative
 * decoding (info->spec_tokens = k > 0, acceptance a, draft cost c) one verification step over k + 1
 * tokens per sequence plus k draft steps, divided by the tokens a step yields on average,
 *     E = (1 - a^(k+1)) / (1 - a)   (k + 1 when a = 1; Leviathan, Kalman and Matias, ICML 2023),
 *     token_s = (decode_step(batch x (k + 1), ctx) + k c decode_step(batch, ctx)) / E.
 * cpn_sched_spec_token_s applies the same to given step times (fixed-time schedulers). */
double cpn_sched_token_s(const cpn_replica_info_t *info, int batch, double ctx_tokens);
double cpn_sched_spec_token_s(const cpn_replica_info_t *info, double verify_step_s, double step_s);
/* E above: tokens a decode step yields per sequence (1 without speculative decoding). */
double cpn_sched_spec_tokens_per_step(const cpn_replica_info_t *info);

/* The built-in type named `name`, or NULL; the table's i-th type, or NULL past the end. */
const cpn_sched_type_t *cpn_sched_find(const char *name);
const cpn_sched_type_t *cpn_sched_at(size_t i);

/* Services of the serving stage to schedulers. */
double cpn_replica_now(const cpn_replica_t *rep);
/* The request that would be served next from the replica's queues (requests past their class timeout
 * are ended on the way), or NULL when nothing waits. */
cpn_req_t *cpn_replica_peek(cpn_replica_t *rep);
/* Takes the request cpn_replica_peek returned off its queue: it is now in service on this replica. */
void cpn_replica_take(cpn_replica_t *rep, cpn_req_t *q);
/* A request in service is preempted: it goes back to the head of its queue (counted). */
void cpn_replica_requeue(cpn_replica_t *rep, cpn_req_t *q);
/* The request's first token leaves the replica now. */
void cpn_replica_first_token(cpn_replica_t *rep, cpn_req_t *q);
/* The request's last token leaves the replica now: it leaves the serving stage. */
void cpn_replica_complete(cpn_replica_t *rep, cpn_req_t *q);
/* Prefill replicas (info->prefill_only): q's prefill has ended; its KV leaves for the decode site and q
 * leaves this replica. A request whose KV arrived (q->serve.kv_in) is taken with serve.cached equal to
 * its whole context: nothing to prefill, it joins the decode batch at once (its first token was
 * reported when the KV arrived). */
void cpn_replica_handoff(cpn_replica_t *rep, cpn_req_t *q);
/* The scheduler cannot go on (out of memory): the run stops with err before the next event. */
void cpn_replica_fail(cpn_replica_t *rep, cpn_err_t err);

extern const cpn_sched_type_t cpn_sched_continuous;
extern const cpn_sched_type_t cpn_sched_fcfs;
extern const cpn_sched_type_t cpn_sched_vllm;
extern const cpn_sched_type_t cpn_sched_trtllm;

#endif
