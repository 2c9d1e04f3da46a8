/* schema_run: the `run:` section of a scenario (duration, seed, network mode, policy, autoscaler and
 * their free-form parameters), read into cpn_run_spec_t and printed back.
 *
 * Owns the run table. Invariants: every key has a default, so an absent section is a run with every
 * default; a warm-up must end before the run does, or no request would be measured. */
#include "config/schema.h"

#include <stddef.h>
#include <stdio.h>

static const char *const NET_MODES[] = {"fluid", "flow", NULL};
static const char *const FLUID_SHARES[] = {"window", "concurrent", NULL};
/* The built-in autoscalers of sim/fleet/autoscaler.c, and "none". */
static const char *const AUTOSCALERS[] = {"none", "queue-threshold", NULL};
#define MAX_PARAMS 64             /* entries in run.policy_params / autoscaler_params (the engine's limit) */

_Static_assert(sizeof(cpn_net_mode_t) == sizeof(int), "enums are stored as int");

static const cpn_reader_field_t run_fields[] = {
    {CPN_FLD("duration_s", CPN_T_NUM, cpn_run_spec_t, duration_s), .def = 3600, CPN_GT(0)},
    {CPN_FLD("warmup_s", CPN_T_NUM, cpn_run_spec_t, warmup_s), .def = 0, CPN_GE(0)},
    {CPN_FLD("drain_s", CPN_T_NUM, cpn_run_spec_t, drain_s), .def = 3600, CPN_GE(0)},
    {CPN_FLD("seed", CPN_T_ULONG, cpn_run_spec_t, seed), .def = 1},
    {CPN_FLD("sample_interval_s", CPN_T_NUM, cpn_run_spec_t, sample_interval_s), .def = 60, CPN_GT(0)},
    {CPN_FLD("network_mode", CPN_T_ENUM, cpn_run_spec_t, network_mode), .enums = NET_MODES},
    {CPN_FLD("fluid_share", CPN_T_ENUM, cpn_run_spec_t, fluid_share), .enums = FLUID_SHARES},
    {CPN_FLD_STR("policy", cpn_run_spec_t, policy), .sdef = "least-loaded", .check = CPN_STR_NAME},
    {CPN_FLD("start_utc_h", CPN_T_NUM, cpn_run_spec_t, start_utc_h),
     .rng = CPN_RANGE_LO | CPN_RANGE_HI | CPN_RANGE_HI_OPEN, .lo = 0, .hi = 24},
    {CPN_FLD("max_requests", CPN_T_LONG, cpn_run_spec_t, max_requests), CPN_GE(0)},
    {CPN_FLD("record_fraction", CPN_T_NUM, cpn_run_spec_t, record_fraction), .def = 1,
     .rng = CPN_RANGE_LO | CPN_RANGE_LO_OPEN | CPN_RANGE_HI, .lo = 0, .hi = 1},
    {CPN_FLD("view_refresh_s", CPN_T_NUM, cpn_run_spec_t, view_refresh_s), CPN_GE(0)},
    {CPN_FLD("decision_latency_s", CPN_T_NUM, cpn_run_spec_t, decision_latency_s), CPN_GE(0)},
    {CPN_FLD("gateway_max_in_flight", CPN_T_INT, cpn_run_spec_t, gateway_max_in_flight), CPN_GE(0)},
    {CPN_FLD("decision_trace", CPN_T_BOOL, cpn_run_spec_t, decision_trace)},
    {CPN_FLD("affinity_slack", CPN_T_INT, cpn_run_spec_t, affinity_slack), .def = 4, CPN_IN(-1, 1000000)},
    {CPN_FLD_SENUM("autoscaler", cpn_run_spec_t, autoscaler, AUTOSCALERS), .sdef = "none"},
    {CPN_FLD("autoscaler_interval_s", CPN_T_NUM, cpn_run_spec_t, autoscaler_interval_s), .def = 30, CPN_GT(0)},
    /* An estimate: published confidential-computing overheads on H100 for LLM inference range from a few
     * per cent to about 10%; 0.1 is the pessimistic end. */
    {CPN_FLD("confidential_overhead", CPN_T_NUM, cpn_run_spec_t, confidential_overhead), .def = 0.1, CPN_GE(0)},
    {CPN_FLD_CUSTOM("policy_params", CPN_T_PARAMS)},
    {CPN_FLD_CUSTOM("autoscaler_params", CPN_T_PARAMS)},
};
const cpn_reader_section_t cpn_schema_run_section = CPN_SECTION(run_fields);

void cpn_schema_run_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_run_spec_t *run_spec)
{
  const cpn_reader_node_t *run = cpn_reader_get_map(c, root, "run", "run", "");
  if (run)
    cpn_reader_map_fields(c, run, "run", &cpn_schema_run_section, run_spec);
  else
    cpn_reader_apply_defaults(&cpn_schema_run_section, run_spec);
  char *keys = NULL;
  cpn_reader_map_params(c, run, "run", "policy_params", MAX_PARAMS, CPN_NAME_MAX, &keys, &run_spec->policy_param_values,
                        &run_spec->n_policy_params);
  run_spec->policy_param_keys = (char(*)[CPN_NAME_MAX])keys;
  keys = NULL;
  cpn_reader_map_params(c, run, "run", "autoscaler_params", MAX_PARAMS, CPN_NAME_MAX, &keys,
                        &run_spec->autoscaler_param_values, &run_spec->n_autoscaler_params);
  run_spec->autoscaler_param_keys = (char(*)[CPN_NAME_MAX])keys;
  if (run_spec->fluid_share == 1 && run_spec->network_mode == CPN_NET_FLOW)
    cpn_reader_report(c, cpn_reader_map_get(run, "fluid_share"), "run.fluid_share",
                      "'concurrent' has no effect with network_mode: flow (every transfer is a SimGrid flow there)");
  if (run_spec->warmup_s > 0 && run_spec->warmup_s >= run_spec->duration_s) {
    const cpn_reader_node_t *at = cpn_reader_map_get(run, "warmup_s");
    if (!at)
      at = run ? run : root;
    cpn_reader_report(c, at, "run.warmup_s", "must be < run.duration_s (%g), or no request would be measured (got %g)",
                      run_spec->duration_s, run_spec->warmup_s);
  }
}

void cpn_schema_run_print(FILE *f, const cpn_run_spec_t *run)
{
  fputs("run:\n", f);
  cpn_reader_print_block(f, &cpn_schema_run_section, run, "  ", "  ");
  cpn_reader_print_params(f, "  ", "policy_params", (const char *)run->policy_param_keys, CPN_NAME_MAX,
                          run->policy_param_values, run->n_policy_params);
  cpn_reader_print_params(f, "  ", "autoscaler_params", (const char *)run->autoscaler_param_keys, CPN_NAME_MAX,
                          run->autoscaler_param_values, run->n_autoscaler_params);
}
