/* engine: one simulation run. SimGrid is the clock and the platform; the token path (arrival, policy,
 * upload, site queue, prefill, continuous-batching decode, reply, record) runs in fluid mode inside one
 * SimGrid actor that sleeps until each event (DESIGN.md "fluid" mode).
 *
 * SimGrid allows one engine per process: cpn_engine_run may be called once per process. */
#ifndef CPN_RUN_ENGINE_H
#define CPN_RUN_ENGINE_H

#include <stdio.h>

#include "core/error.h"
#include "cpnsim/policy.h"
#include "output/record.h"
#include "config/scenario.h"

typedef struct {
  const cpn_scenario_t *sc;
  const cpn_policy_type_t *policy;
  const char *out_path;      /* HDF5 result file; NULL = none */
  FILE *report;              /* readable summary; NULL = none */
  int sg_argc;               /* extra SimGrid arguments (--cfg=..., --log=...) */
  char **sg_argv;
  /* Optional: called for every completed request before it is written (tests, embedding). */
  void (*on_record)(const cpn_record_t *rec, void *arg);
  void *on_record_arg;
} cpn_engine_config_t;

typedef struct {
  long arrived, completed, rejected, failed, timed_out;
  double arrived_prompt_tokens, arrived_output_tokens;
  double ended_prompt_tokens, ended_output_tokens;
  double events;             /* events processed */
  double wall_s;
  double sim_end_s;
  double mean_response_s;    /* over completed measured requests: t_done - t_arrival */
  long peak_rss_bytes;
  long preemptions;          /* decode outgrew the KV cache: a request was preempted (recompute) */
  long cold_starts;          /* replica loads (weights transfers) */
  long policy_violations;    /* decisions for an ineligible site (rejected, policy_violation) */
  long trace_skipped;        /* bad trace rows skipped (demand.trace.errors: skip) */
} cpn_engine_stats_t;

cpn_err_t cpn_engine_run(const cpn_engine_config_t *cfg, cpn_engine_stats_t *stats);

#endif
