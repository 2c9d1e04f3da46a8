/* run: one simulation run. Builds the stages of the request path from a scenario, wires them together
 * (ns-3's helpers), runs the event core inside one SimGrid actor, checks conservation and writes the
 * result file and the printed summary. See sim/README.md for the module map.
 *
 * SimGrid allows one engine per process: cpn_run may be called once per process. */
#ifndef CPN_RUN_RUN_H
#define CPN_RUN_RUN_H

#include <stdio.h>

#include "config/scenario.h"
#include "core/error.h"
#include "cpnsim/policy.h"
#include "output/record.h"

typedef struct {
  const cpn_scenario_t *sc;
  const cpn_policy_type_t *policy;
  const char *out_path;      /* HDF5 result file; NULL = none */
  FILE *report;              /* readable summary; NULL = none */
  FILE *progress;            /* a progress line, rewritten about once a second; NULL = none */
  int progress_lines;        /* 1: one line per interval, newline-terminated (a log, not a terminal) */
  double progress_every_s;   /* wall seconds between progress lines; 0 = 1 s, or 60 s with progress_lines */
  int sg_argc;               /* extra SimGrid arguments (--cfg=..., --log=...) */
  char **sg_argv;
  /* Optional: called for every completed request before it is written (tests, embedding). */
  void (*on_record)(const cpn_record_t *rec, void *arg);
  void *on_record_arg;
} cpn_run_config_t;

typedef struct {
  long arrived, completed, rejected, failed, timed_out;
  double arrived_prompt_tokens, arrived_output_tokens;
  double ended_prompt_tokens, ended_output_tokens;
  double events;             /* events processed */
  double wall_s;
  double sim_end_s;
  double mean_response_s;    /* over completed measured requests: t_done - t_arrival */
  long peak_rss_bytes;
  long peak_live_requests;   /* requests in flight at most */
  long preemptions;          /* decode outgrew the KV cache: a request was preempted (recompute) */
  long cold_starts;          /* replica loads (weights transfers) */
  long policy_violations;    /* decisions for an ineligible site (rejected, policy_violation) */
  long trace_skipped;        /* bad trace rows skipped (demand.trace.errors: skip) */
} cpn_run_stats_t;

cpn_err_t cpn_run(const cpn_run_config_t *cfg, cpn_run_stats_t *stats);

/* What --check adds to the loader's validation: the checks the stages make before building (limits on
 * counts and memory, catalog names), without building anything or starting SimGrid. */
cpn_err_t cpn_run_check(const cpn_scenario_t *sc);

#endif
