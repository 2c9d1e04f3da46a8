/* scenario: loads a scenario YAML file into cpn_scenario_t, with `extends:` inheritance and `--set`
 * overrides, and prints a resolved scenario back as YAML that loads again.
 *
 * Pipeline: the reader (reader.c) parses the files, merges the `extends:` chain and applies the `--set`
 * overrides; a `topology:` section (GraphML, SimGrid platform XML or a generator, read by the
 * importers of sim/topology/) is expanded into written-looking nodes, links, sites and origins; the tree
 * is then mapped into the plain structs of config/spec.h. The mapping is driven by one schema table per
 * section (key, type, struct offset, default, range). The same tables check --set paths, list the known
 * keys and print the scenario, so those cannot drift apart from what the loader accepts.
 *
 * What it owns: nothing beyond one load (the reader, the scenario being filled) and the list of known
 * keys, built once.
 * Invariants: validation never stops at the first problem; every problem is recorded with its input
 * location and key path, and the load fails if there was any. On failure *sc is zeroed and everything
 * allocated is freed; on success every array in *sc is owned by it and freed by cpn_scenario_destroy. */
#include "config/scenario.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "config/reader.h"
#include "topology/generate.h"
#include "topology/geo.h"
#include "topology/import_graphml.h"
#include "topology/import_simgrid_xml.h"

#define EARTH_RADIUS_M 6371.0e3   /* mean Earth radius, as cpn_topology_great_circle_m */
#define PI 3.14159265358979323846

static const char *const NET_MODES[] = {"fluid", "flow", NULL};
static const char *const ARRIVALS[] = {"poisson", "gamma", "weibull", "mmpp", NULL};
/* The first four are cpn_dist_kind_t values; the azure-* ones copy CPN_AZURE_*. */
static const char *const DISTS[] = {"constant",          "lognormal",         "geometric",
                                    "exponential",       "azure-conv-prompt", "azure-conv-output",
                                    "azure-code-prompt", "azure-code-output", NULL};
#define N_PLAIN_DISTS 4
static const cpn_dist_t *const AZURE_DISTS[] = {&CPN_AZURE_CONV_PROMPT, &CPN_AZURE_CONV_OUTPUT,
                                                &CPN_AZURE_CODE_PROMPT, &CPN_AZURE_CODE_OUTPUT};

/* The built-in autoscalers of sim/autoscaler.c, and "none". */
static const char *const AUTOSCALERS[] = {"none", "queue-threshold", NULL};
/* demand.trace: the mappings of cpn_trace_mapping() plus "custom" (columns given by the scenario). */
static const char *const TRACE_MAPPINGS[] = {"azure-2023", "vidur", "splitwise", "jsonl-ms", "custom", NULL};
static const char *const TRACE_FORMATS[] = {"csv", "jsonl", NULL};
static const char *const TRACE_TIME_UNITS[] = {"s", "ms", "us", "datetime", NULL};
static const char *const TRACE_ERRORS[] = {"stop", "skip", NULL}; /* index = trace_skip_errors */
#define MAX_PARAMS 64             /* entries in run.policy_params / autoscaler_params (the engine's limit) */

_Static_assert(sizeof(cpn_net_mode_t) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(cpn_arrival_kind_t) == sizeof(int), "enums are stored as int");

static const cpn_reader_field_t run_fields[] = {
    {CPN_FLD("duration_s", CPN_T_NUM, cpn_run_spec_t, duration_s), .def = 3600, CPN_GT(0)},
    {CPN_FLD("warmup_s", CPN_T_NUM, cpn_run_spec_t, warmup_s), .def = 0, CPN_GE(0)},
    {CPN_FLD("drain_s", CPN_T_NUM, cpn_run_spec_t, drain_s), .def = 3600, CPN_GE(0)},
    {CPN_FLD("seed", CPN_T_ULONG, cpn_run_spec_t, seed), .def = 1},
    {CPN_FLD("sample_interval_s", CPN_T_NUM, cpn_run_spec_t, sample_interval_s), .def = 60, CPN_GT(0)},
    {CPN_FLD("network_mode", CPN_T_ENUM, cpn_run_spec_t, network_mode), .enums = NET_MODES},
    {CPN_FLD_STR("policy", cpn_run_spec_t, policy), .sdef = "least-loaded", .check = CPN_STR_NAME},
    {CPN_FLD("start_utc_h", CPN_T_NUM, cpn_run_spec_t, start_utc_h),
     .rng = CPN_RANGE_LO | CPN_RANGE_HI | CPN_RANGE_HI_OPEN, .lo = 0, .hi = 24},
    {CPN_FLD("max_requests", CPN_T_LONG, cpn_run_spec_t, max_requests), CPN_GE(0)},
    {CPN_FLD("view_refresh_s", CPN_T_NUM, cpn_run_spec_t, view_refresh_s), CPN_GE(0)},
    {CPN_FLD("decision_latency_s", CPN_T_NUM, cpn_run_spec_t, decision_latency_s), CPN_GE(0)},
    {CPN_FLD("decision_trace", CPN_T_BOOL, cpn_run_spec_t, decision_trace)},
    {CPN_FLD_SENUM("autoscaler", cpn_run_spec_t, autoscaler, AUTOSCALERS), .sdef = "none"},
    {CPN_FLD("autoscaler_interval_s", CPN_T_NUM, cpn_run_spec_t, autoscaler_interval_s), .def = 30, CPN_GT(0)},
    /* An estimate: published confidential-computing overheads on H100 for LLM inference range from a few
     * per cent to about 10%; 0.1 is the pessimistic end. */
    {CPN_FLD("confidential_overhead", CPN_T_NUM, cpn_run_spec_t, confidential_overhead), .def = 0.1, CPN_GE(0)},
    {CPN_FLD_CUSTOM("policy_params", CPN_T_PARAMS)},
    {CPN_FLD_CUSTOM("autoscaler_params", CPN_T_PARAMS)},
};
static const cpn_reader_section_t run_section = CPN_SECTION(run_fields);

/* demand.trace maps straight into the trace_* fields of cpn_demand_spec_t. */
static const cpn_reader_field_t trace_fields[] = {
    {CPN_FLD_CUSTOM("file", CPN_T_STR), .req = 1},
    {CPN_FLD_SENUM("mapping", cpn_demand_spec_t, trace_mapping, TRACE_MAPPINGS), .sdef = "azure-2023"},
    {CPN_FLD_SENUM("format", cpn_demand_spec_t, trace_format, TRACE_FORMATS)},
    {CPN_FLD_SENUM("time_unit", cpn_demand_spec_t, trace_time_unit, TRACE_TIME_UNITS)},
    {CPN_FLD_STR("time_col", cpn_demand_spec_t, trace_time_col), .check = CPN_STR_NAME},
    {CPN_FLD_STR("prompt_col", cpn_demand_spec_t, trace_prompt_col), .check = CPN_STR_NAME},
    {CPN_FLD_STR("output_col", cpn_demand_spec_t, trace_output_col), .check = CPN_STR_NAME},
    {CPN_FLD_STR("model_col", cpn_demand_spec_t, trace_model_col), .check = CPN_STR_NAME},
    {CPN_FLD_STR("tenant_col", cpn_demand_spec_t, trace_tenant_col), .check = CPN_STR_NAME},
    {CPN_FLD_STR("origin_col", cpn_demand_spec_t, trace_origin_col), .check = CPN_STR_NAME},
    {CPN_FLD("time_scale", CPN_T_NUM, cpn_demand_spec_t, trace_time_scale), .def = 1, CPN_GT(0)},
    /* ceil(rate_scale) copies of the file are open at once; cpn_trace allows CPN_TRACE_COPIES_MAX (256). */
    {CPN_FLD("rate_scale", CPN_T_NUM, cpn_demand_spec_t, trace_rate_scale), .def = 1,
     .rng = CPN_RANGE_LO | CPN_RANGE_LO_OPEN | CPN_RANGE_HI, .lo = 0, .hi = 256},
    {CPN_FLD("shift_s", CPN_T_NUM, cpn_demand_spec_t, trace_shift_s), CPN_GE(0)},
    {CPN_FLD("start_offset_s", CPN_T_NUM, cpn_demand_spec_t, trace_start_offset_s), CPN_GE(0)},
    {CPN_FLD("loop", CPN_T_BOOL, cpn_demand_spec_t, trace_loop)},
    {CPN_FLD("errors", CPN_T_ENUM, cpn_demand_spec_t, trace_skip_errors), .enums = TRACE_ERRORS},
};
static const cpn_reader_section_t trace_section = CPN_SECTION(trace_fields);

static const cpn_reader_field_t demand_fields[] = {
    {CPN_FLD("scale", CPN_T_NUM, cpn_demand_spec_t, scale), .def = 1, CPN_GT(0)},
    {CPN_FLD("arrival", CPN_T_ENUM, cpn_demand_spec_t, arrival), .enums = ARRIVALS},
    {CPN_FLD("cv", CPN_T_NUM, cpn_demand_spec_t, cv), .def = 1, CPN_GT(0)},
    {CPN_FLD("burst_factor", CPN_T_NUM, cpn_demand_spec_t, burst_factor), .def = 4, CPN_GE(1)},
    {CPN_FLD("burst_mean_s", CPN_T_NUM, cpn_demand_spec_t, burst_mean_s), .def = 60, CPN_GT(0)},
    {CPN_FLD("calm_mean_s", CPN_T_NUM, cpn_demand_spec_t, calm_mean_s), .def = 600, CPN_GT(0)},
    {CPN_FLD_CUSTOM("diurnal", CPN_T_CUSTOM)},
    {CPN_FLD_CUSTOM("trace", CPN_T_MAP), .sub = &trace_section},
};
static const cpn_reader_section_t demand_section = CPN_SECTION(demand_fields);

static const cpn_reader_field_t model_fields[] = {
    {CPN_FLD_STR("name", cpn_model_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("catalog", cpn_model_spec_t, catalog), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("share", CPN_T_NUM, cpn_model_spec_t, share), .def = 1, CPN_GE(0)},
    {CPN_FLD("prefill_eff", CPN_T_NUM, cpn_model_spec_t, prefill_eff),
     .rng = CPN_RANGE_LO | CPN_RANGE_LO_OPEN | CPN_RANGE_HI | CPN_RANGE_ZERO_OK, .hi = 1},
    {CPN_FLD("decode_eff", CPN_T_NUM, cpn_model_spec_t, decode_eff),
     .rng = CPN_RANGE_LO | CPN_RANGE_LO_OPEN | CPN_RANGE_HI | CPN_RANGE_ZERO_OK, .hi = 1},
    {CPN_FLD("step_overhead_s", CPN_T_NUM, cpn_model_spec_t, step_overhead_s), CPN_GE(0)},
    {CPN_FLD("fixed_step_s", CPN_T_NUM, cpn_model_spec_t, fixed_step_s), CPN_GE(0)},
    {CPN_FLD("fixed_prefill_s_per_token", CPN_T_NUM, cpn_model_spec_t, fixed_prefill_s_per_token), CPN_GE(0)},
    {CPN_FLD_STR("store", cpn_model_spec_t, store)}, /* "" = local; a site name, checked once sites are mapped */
};
static const cpn_reader_section_t model_section = CPN_SECTION(model_fields);

static const cpn_reader_field_t dist_fields[] = {
    {CPN_FLD_CUSTOM("dist", CPN_T_ENUM), .req = 1, .enums = DISTS},
    {CPN_FLD("mu", CPN_T_NUM, cpn_dist_t, mu)},
    {CPN_FLD("sigma", CPN_T_NUM, cpn_dist_t, sigma), CPN_GT(0)},
    {CPN_FLD("mean", CPN_T_NUM, cpn_dist_t, mean), CPN_GT(0)},
    {CPN_FLD("min", CPN_T_NUM, cpn_dist_t, min), .def = 1, CPN_GE(0)},
    {CPN_FLD("max", CPN_T_NUM, cpn_dist_t, max), .def = 0, CPN_GE(0)},
};
static const cpn_reader_section_t dist_section = CPN_SECTION(dist_fields);

static const cpn_reader_field_t class_fields[] = {
    {CPN_FLD_STR("name", cpn_class_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("share", CPN_T_NUM, cpn_class_spec_t, share), .def = 1, CPN_GE(0)},
    {CPN_FLD("ttft_slo_s", CPN_T_NUM, cpn_class_spec_t, ttft_slo_s), .def = 2, CPN_GT(0)},
    {CPN_FLD("tpot_slo_s", CPN_T_NUM, cpn_class_spec_t, tpot_slo_s), .def = 0.2, CPN_GT(0)},
    {CPN_FLD("timeout_s", CPN_T_NUM, cpn_class_spec_t, timeout_s), .def = 0, CPN_GE(0)},
    {CPN_FLD("confidential", CPN_T_BOOL, cpn_class_spec_t, confidential)},
    {CPN_FLD("request_bytes_per_token", CPN_T_NUM, cpn_class_spec_t, request_bytes_per_token), .def = 4, CPN_GE(0)},
    {CPN_FLD("reply_bytes_per_token", CPN_T_NUM, cpn_class_spec_t, reply_bytes_per_token), .def = 4, CPN_GE(0)},
    {CPN_FLD_CUSTOM("prompt_tokens", CPN_T_MAP), .sub = &dist_section},
    {CPN_FLD_CUSTOM("output_tokens", CPN_T_MAP), .sub = &dist_section},
};
static const cpn_reader_section_t class_section = CPN_SECTION(class_fields);

static const cpn_reader_field_t tenant_fields[] = {
    {CPN_FLD_STR("name", cpn_tenant_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("share", CPN_T_NUM, cpn_tenant_spec_t, share), .def = 1, CPN_GE(0)},
};
static const cpn_reader_section_t tenant_section = CPN_SECTION(tenant_fields);

static const cpn_reader_field_t pool_fields[] = {
    {CPN_FLD_STR("name", cpn_pool_spec_t, name), .check = CPN_STR_NAME},
    {CPN_FLD_STR("accel", cpn_pool_spec_t, accel), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("count", CPN_T_INT, cpn_pool_spec_t, count), .req = 1, CPN_GE(1)},
    {CPN_FLD("confidential", CPN_T_BOOL, cpn_pool_spec_t, confidential)},
};
static const cpn_reader_section_t pool_section = CPN_SECTION(pool_fields);

static const cpn_reader_field_t replica_fields[] = {
    {CPN_FLD_CUSTOM("model", CPN_T_STR), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_CUSTOM("pool", CPN_T_STR), .check = CPN_STR_NAME},
    {CPN_FLD("tp", CPN_T_INT, cpn_replica_spec_t, tp), .def = 1, CPN_GE(1)},
    {CPN_FLD("count", CPN_T_INT, cpn_replica_spec_t, count), .def = 1, CPN_GE(0)},
    {CPN_FLD("max_batch", CPN_T_INT, cpn_replica_spec_t, max_batch), .def = 64, CPN_GE(1)},
    {CPN_FLD("unloaded", CPN_T_INT, cpn_replica_spec_t, unloaded), CPN_GE(0)},
};
static const cpn_reader_section_t replica_section = CPN_SECTION(replica_fields);

/* name, lat and lon come first: topology.site_template takes the other keys (SITE_PER_ITEM). */
static const cpn_reader_field_t site_fields[] = {
    {CPN_FLD_STR("name", cpn_site_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("lat", CPN_T_NUM, cpn_site_spec_t, lat_deg), CPN_IN(-90, 90)},
    {CPN_FLD("lon", CPN_T_NUM, cpn_site_spec_t, lon_deg), CPN_IN(-180, 180)},
    {CPN_FLD_STR("region", cpn_site_spec_t, region), .check = CPN_STR_NAME},
    {CPN_FLD_STR("country", cpn_site_spec_t, country), .sdef = "CN", .check = CPN_STR_COUNTRY},
    {CPN_FLD("tz_h", CPN_T_NUM, cpn_site_spec_t, tz_h), .def = 8, CPN_IN(-12, 14)},
    {CPN_FLD("pue", CPN_T_NUM, cpn_site_spec_t, pue), .def = 1.2, CPN_IN(1, 3)},
    {CPN_FLD("price_usd_per_kwh", CPN_T_NUM, cpn_site_spec_t, price_usd_per_kwh), .def = 0.08, CPN_GE(0)},
    {CPN_FLD("co2_g_per_kwh", CPN_T_NUM, cpn_site_spec_t, co2_g_per_kwh), .def = 500, CPN_GE(0)},
    {CPN_FLD_CUSTOM("pools", CPN_T_LIST), .sub = &pool_section},
    {CPN_FLD_CUSTOM("replicas", CPN_T_LIST), .sub = &replica_section},
};
static const cpn_reader_section_t site_section = CPN_SECTION(site_fields);
#define SITE_PER_ITEM 3 /* name, lat, lon */
static const cpn_reader_section_t site_template_section = {
    site_fields + SITE_PER_ITEM, (int)(sizeof site_fields / sizeof site_fields[0]) - SITE_PER_ITEM};

static const cpn_reader_field_t node_fields[] = {
    {CPN_FLD_STR("name", cpn_node_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("country", cpn_node_spec_t, country), .sdef = "CN", .check = CPN_STR_COUNTRY},
    {CPN_FLD("lat", CPN_T_NUM, cpn_node_spec_t, lat_deg), CPN_IN(-90, 90)},
    {CPN_FLD("lon", CPN_T_NUM, cpn_node_spec_t, lon_deg), CPN_IN(-180, 180)},
};
static const cpn_reader_section_t node_section = CPN_SECTION(node_fields);

static const cpn_reader_field_t link_fields[] = {
    {CPN_FLD_STR("a", cpn_link_spec_t, a), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("b", cpn_link_spec_t, b), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("latency_s", CPN_T_NUM, cpn_link_spec_t, latency_s), CPN_GE(0)},
    {CPN_FLD("bw_bps", CPN_T_NUM, cpn_link_spec_t, bw_bps), .req = 1, CPN_GT(0)},
    {CPN_FLD("shared", CPN_T_BOOL, cpn_link_spec_t, shared)},
};
static const cpn_reader_section_t link_section = CPN_SECTION(link_fields);

static const cpn_reader_field_t origin_fields[] = {
    {CPN_FLD_STR("name", cpn_origin_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("node", cpn_origin_spec_t, node), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("country", cpn_origin_spec_t, country), .check = CPN_STR_COUNTRY},
    {CPN_FLD("tz_h", CPN_T_NUM, cpn_origin_spec_t, tz_h), CPN_IN(-12, 14)},
    {CPN_FLD("access_latency_s", CPN_T_NUM, cpn_origin_spec_t, access_latency_s), .def = 0.002, CPN_GE(0)},
    {CPN_FLD("rate_rps", CPN_T_NUM, cpn_origin_spec_t, rate_rps), .req = 1, CPN_GE(0)},
    {CPN_FLD_CUSTOM("residency", CPN_T_STRLIST)},
};
static const cpn_reader_section_t origin_section = CPN_SECTION(origin_fields);

/* topology: nodes and links imported or generated, expanded into the tree before mapping. */
static const char *const TOPO_GENERATORS[] = {"waxman", "barabasi", NULL};
static const char *const TOPO_SITES[] = {"none", "all", NULL};
typedef struct {
  int n;
  unsigned long seed;
  double bw_bps;
  int sites;                   /* index in TOPO_SITES */
  double origins_per_site_rps;
} topo_spec_t;
static const cpn_reader_field_t topology_fields[] = {
    {CPN_FLD_CUSTOM("graphml", CPN_T_STR)},
    {CPN_FLD_CUSTOM("simgrid_xml", CPN_T_STR)},
    {CPN_FLD_CUSTOM("generate", CPN_T_ENUM), .enums = TOPO_GENERATORS},
    {CPN_FLD("n", CPN_T_INT, topo_spec_t, n), CPN_IN(1, 100000)},
    {CPN_FLD("seed", CPN_T_ULONG, topo_spec_t, seed), .def = 1},
    {CPN_FLD("bw_bps", CPN_T_NUM, topo_spec_t, bw_bps), .def = 1e11, CPN_GT(0)},
    {CPN_FLD("sites", CPN_T_ENUM, topo_spec_t, sites), .enums = TOPO_SITES},
    {CPN_FLD_CUSTOM("site_template", CPN_T_MAP), .sub = &site_template_section},
    {CPN_FLD("origins_per_site_rps", CPN_T_NUM, topo_spec_t, origins_per_site_rps), CPN_GE(0)},
};
static const cpn_reader_section_t topology_section = CPN_SECTION(topology_fields);

static const cpn_reader_field_t root_fields[] = {
    {CPN_FLD_STR("name", cpn_scenario_t, name), .check = CPN_STR_NAME},
    {CPN_FLD_CUSTOM("extends", CPN_T_STR)},
    {CPN_FLD_CUSTOM("description", CPN_T_STR)},
    {CPN_FLD_CUSTOM("run", CPN_T_MAP), .sub = &run_section},
    {CPN_FLD_CUSTOM("demand", CPN_T_MAP), .sub = &demand_section},
    {CPN_FLD_CUSTOM("models", CPN_T_LIST), .req = 1, .sub = &model_section},
    {CPN_FLD_CUSTOM("classes", CPN_T_LIST), .sub = &class_section},
    {CPN_FLD_CUSTOM("tenants", CPN_T_LIST), .sub = &tenant_section},
    {CPN_FLD_CUSTOM("sites", CPN_T_LIST), .req = 1, .sub = &site_section},
    {CPN_FLD_CUSTOM("nodes", CPN_T_LIST), .sub = &node_section},
    {CPN_FLD_CUSTOM("links", CPN_T_LIST), .sub = &link_section},
    {CPN_FLD_CUSTOM("origins", CPN_T_LIST), .req = 1, .sub = &origin_section},
    {CPN_FLD_CUSTOM("topology", CPN_T_MAP), .sub = &topology_section},
};
static const cpn_reader_section_t root_section = CPN_SECTION(root_fields);

/* ------------------------------------------------------------------------------------------------
 * Mapping of the sections. */

static void map_diurnal(cpn_reader_t *c, const cpn_reader_node_t *demand, cpn_demand_spec_t *d)
{
  char buf[80];
  d->diurnal = CPN_DIURNAL_FLAT;
  d->diurnal_enabled = 0;
  const cpn_reader_node_t *v = demand ? cpn_reader_map_get(demand, "diurnal") : NULL;
  if (!v)
    return;
  if (v->kind == CPN_READER_SCALAR && strcmp(v->str, "flat") == 0)
    return;
  if (v->kind == CPN_READER_SCALAR && strcmp(v->str, "default") == 0) {
    d->diurnal = CPN_DIURNAL_DEFAULT;
    d->diurnal_enabled = 1;
    return;
  }
  if (v->kind != CPN_READER_SEQ) {
    cpn_reader_report(c, v, "demand.diurnal", "must be 'flat', 'default' or a list of 24 hourly multipliers (got %s)",
                      cpn_reader_show(v, buf, sizeof buf));
    return;
  }
  if (v->n != 24) {
    cpn_reader_report(c, v, "demand.diurnal",
                      "must list exactly 24 hourly multipliers, one per hour from 00:00 (got %d)", v->n);
    return;
  }
  static const cpn_reader_field_t nonneg = {.key = "diurnal", .type = CPN_T_NUM, CPN_GE(0)};
  double x[24], sum = 0;
  int ok = 1;
  for (int i = 0; i < 24; i++) {
    char ip[CPN_PATH_LEN];
    cpn_reader_join_index(ip, "demand.diurnal", i);
    if (cpn_reader_get_num(c, v->vals[i], ip, &x[i]) && cpn_reader_check_range(c, v->vals[i], ip, &nonneg, x[i]))
      sum += x[i];
    else
      ok = 0;
  }
  if (!ok)
    return;
  if (!(sum > 0)) {
    cpn_reader_report(c, v, "demand.diurnal", "every multiplier is 0; at least one must be > 0");
    return;
  }
  /* Normalised to mean 1 so demand.scale and the origins' rates keep their meaning. */
  double mean = sum / 24;
  for (int i = 0; i < 24; i++)
    d->diurnal.hourly[i] = x[i] / mean;
  d->diurnal_enabled = 1;
}

/* demand.trace: the trace_* fields of the demand spec; absent = generated workload. */
static void map_trace(cpn_reader_t *c, const cpn_reader_node_t *demand, cpn_demand_spec_t *d)
{
  cpn_reader_apply_defaults(&trace_section, d);
  d->trace_file[0] = '\0';
  const cpn_reader_node_t *m =
      demand ? cpn_reader_get_map(c, demand, "trace", "demand.trace", " like {file: trace.csv}") : NULL;
  if (!m)
    return;
  uint64_t p = cpn_reader_map_fields(c, m, "demand.trace", &trace_section, d);
  const cpn_reader_node_t *fv = cpn_reader_map_get(m, "file");
  if (fv)
    cpn_reader_resolve_file(c, fv, "demand.trace.file", "the trace", d->trace_file, sizeof d->trace_file);
  int custom = strcmp(d->trace_mapping, "custom") == 0;
  static const char *const custom_only[] = {"format", "time_unit"};
  static const char *const custom_required[] = {"time_col", "prompt_col", "output_col"};
  if (!custom) {
    for (int i = 0; i < 2; i++) {
      const cpn_reader_node_t *k = cpn_reader_map_key(m, custom_only[i]);
      char kp[CPN_PATH_LEN];
      cpn_reader_join(kp, "demand.trace", custom_only[i]);
      if (k)
        cpn_reader_report(c, k, kp, "'%s' is only used by mapping 'custom' (mapping '%s' fixes it)", custom_only[i],
                          d->trace_mapping);
    }
    return;
  }
  if (!(p & cpn_reader_bit(&trace_section, "format")))
    snprintf(d->trace_format, sizeof d->trace_format, "csv");
  if (!(p & cpn_reader_bit(&trace_section, "time_unit")))
    snprintf(d->trace_time_unit, sizeof d->trace_time_unit, "s");
  for (int i = 0; i < 3; i++)
    if (!(p & cpn_reader_bit(&trace_section, custom_required[i])))
      cpn_reader_report(c, m, "demand.trace",
                        "missing required key '%s' (mapping 'custom' needs time_col, prompt_col and "
                        "output_col)",
                        custom_required[i]);
}

static void map_dist(cpn_reader_t *c, const cpn_reader_node_t *cls, const char *key, const char *path, cpn_dist_t *out,
                     const cpn_dist_t *def)
{
  char kp[CPN_PATH_LEN];
  cpn_reader_join(kp, path, key);
  *out = *def;
  const cpn_reader_node_t *m = cpn_reader_get_map(c, cls, key, kp, " like {dist: lognormal, mu: 7, sigma: 1}");
  if (!m)
    return;
  cpn_dist_t d;
  uint64_t p = cpn_reader_map_fields(c, m, kp, &dist_section, &d);
  const cpn_reader_node_t *dv = cpn_reader_map_get(m, "dist");
  int kind;
  char dp[CPN_PATH_LEN];
  cpn_reader_join(dp, kp, "dist");
  if (!dv || !cpn_reader_get_enum(c, dv, dp, DISTS, &kind))
    return;
  /* Parameters the chosen distribution does not use are mistakes, not silently ignored. */
  static const char *const params[] = {"mu", "sigma", "mean"};
  const char *uses = kind == CPN_DIST_LOGNORMAL ? "mu, sigma, min, max"
                     : kind < N_PLAIN_DISTS     ? "mean, min, max"
                                                : "min, max";
  for (int i = 0; i < 3; i++) {
    int used = kind == CPN_DIST_LOGNORMAL ? i < 2 : kind < N_PLAIN_DISTS ? i == 2 : 0;
    const cpn_reader_node_t *k = cpn_reader_map_key(m, params[i]);
    if (k && !used) {
      char pp[CPN_PATH_LEN];
      cpn_reader_join(pp, kp, params[i]);
      cpn_reader_report(c, k, pp, "'%s' is not used by dist '%s' (it uses: %s)", params[i], DISTS[kind], uses);
    } else if (!k && used) {
      cpn_reader_report(c, m, kp, "missing required key '%s' (dist '%s' uses: %s)", params[i], DISTS[kind], uses);
    }
  }
  if (kind == CPN_DIST_GEOMETRIC && (p & cpn_reader_bit(&dist_section, "mean")) && d.mean < 1) {
    char pp[CPN_PATH_LEN];
    cpn_reader_join(pp, kp, "mean");
    cpn_reader_report(c, cpn_reader_map_get(m, "mean"), pp, "must be >= 1 for dist 'geometric' (got %s)",
                      cpn_reader_map_get(m, "mean")->str);
  }
  if (kind < N_PLAIN_DISTS) {
    d.kind = (cpn_dist_kind_t)kind;
  } else {
    cpn_dist_t a = *AZURE_DISTS[kind - N_PLAIN_DISTS];
    if (p & cpn_reader_bit(&dist_section, "min"))
      a.min = d.min;
    if (p & cpn_reader_bit(&dist_section, "max"))
      a.max = d.max;
    d = a;
  }
  if (d.max > 0 && d.max < d.min) {
    const cpn_reader_node_t *mx = cpn_reader_map_get(m, "max") ? cpn_reader_map_get(m, "max") : m;
    char pp[CPN_PATH_LEN];
    cpn_reader_join(pp, kp, "max");
    cpn_reader_report(c, mx, pp, "must be >= min (%g), or 0 for no upper clamp (got %g)", d.min, d.max);
  }
  *out = d;
}

/* A site or node found by name. */
typedef struct {
  int site, node;   /* index, or -1 */
} endpoint_t;

typedef struct {
  cpn_scenario_t *sc;
  unsigned char *site_geo, *node_geo; /* 1 where both lat and lon were given */
} mapping_t;

static endpoint_t find_endpoint(const cpn_scenario_t *sc, const char *name)
{
  endpoint_t e = {-1, -1};
  for (int i = 0; i < sc->n_sites && e.site < 0; i++)
    if (strcmp(sc->sites[i].name, name) == 0)
      e.site = i;
  for (int i = 0; i < sc->n_nodes && e.site < 0 && e.node < 0; i++)
    if (strcmp(sc->nodes[i].name, name) == 0)
      e.node = i;
  return e;
}

/* Reports a reference to a site or node that does not exist, with a suggestion. */
static int resolve_endpoint(cpn_reader_t *c, const cpn_scenario_t *sc, const cpn_reader_node_t *v, const char *path,
                            const char *name, endpoint_t *e)
{
  *e = find_endpoint(sc, name);
  if (e->site >= 0 || e->node >= 0)
    return 1;
  const char *best = NULL;
  int best_d = 3;
  for (int i = 0; i < sc->n_sites; i++)
    cpn_reader_suggest(name, sc->sites[i].name, &best, &best_d);
  for (int i = 0; i < sc->n_nodes; i++)
    cpn_reader_suggest(name, sc->nodes[i].name, &best, &best_d);
  if (best)
    cpn_reader_report(c, v, path, "no site or node named '%s'; did you mean '%s'?", name, best);
  else
    cpn_reader_report(c, v, path, "no site or node named '%s'", name);
  return 0;
}

double cpn_scenario_great_circle_m(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg)
{
  /* Haversine formula: numerically sound at short distances, where the law of cosines is not. */
  double p1 = lat1_deg * PI / 180, p2 = lat2_deg * PI / 180;
  double dp = p2 - p1, dl = (lon2_deg - lon1_deg) * PI / 180;
  double h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
  if (h > 1)
    h = 1;
  return 2 * EARTH_RADIUS_M * asin(sqrt(h));
}

static void map_sites(cpn_reader_t *c, const cpn_reader_node_t *root, mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, root, "sites", "sites", &site_section, sizeof(cpn_site_spec_t), &l))
    return;
  sc->sites = l.arr;
  sc->n_sites = l.n;
  cpn_reader_require_items(c, &l, "sites", "site");
  if (l.n && !(mp->site_geo = calloc((size_t)l.n, 1))) {
    cpn_reader_set_out_of_memory(c);
    cpn_reader_list_destroy(&l);
    return;
  }
  for (int i = 0; i < l.n; i++) {
    cpn_site_spec_t *s = &sc->sites[i];
    const cpn_reader_node_t *it = l.items[i];
    char sp[CPN_PATH_LEN];
    cpn_reader_join_index(sp, "sites", i);
    if (!it)
      continue;
    s->line = it->line;
    if (!(l.present[i] & cpn_reader_bit(&site_section, "region")))
      snprintf(s->region, sizeof s->region, "%s", s->name);
    mp->site_geo[i] =
        (l.present[i] & cpn_reader_bit(&site_section, "lat")) && (l.present[i] & cpn_reader_bit(&site_section, "lon"));

    char pp[CPN_PATH_LEN];
    cpn_reader_join(pp, sp, "pools");
    cpn_reader_list_t pl;
    if (cpn_reader_map_list(c, it, "pools", pp, &pool_section, sizeof(cpn_pool_spec_t), &pl))
      continue;
    s->pools = pl.arr;
    s->n_pools = pl.n;
    for (int j = 0; j < pl.n; j++)
      if (pl.items[j] && !(pl.present[j] & cpn_reader_bit(&pool_section, "name")))
        snprintf(s->pools[j].name, sizeof s->pools[j].name, "%s", s->pools[j].accel);
    cpn_reader_check_unique_names(c, &pl, sizeof(cpn_pool_spec_t), offsetof(cpn_pool_spec_t, name), pp, "pool");

    char rp[CPN_PATH_LEN];
    cpn_reader_join(rp, sp, "replicas");
    cpn_reader_list_t rl;
    if (cpn_reader_map_list(c, it, "replicas", rp, &replica_section, sizeof(cpn_replica_spec_t), &rl)) {
      cpn_reader_list_destroy(&pl);
      continue;
    }
    s->replicas = rl.arr;
    s->n_replicas = rl.n;
    for (int j = 0; j < rl.n; j++) {
      cpn_replica_spec_t *r = &s->replicas[j];
      const cpn_reader_node_t *ri = rl.items[j];
      r->model = -1;
      r->pool = -1;
      if (!ri)
        continue;
      char ip[CPN_PATH_LEN], kp[CPN_PATH_LEN];
      cpn_reader_join_index(ip, rp, j);
      if (r->unloaded > r->count && r->count >= 0) {
        cpn_reader_join(kp, ip, "unloaded");
        cpn_reader_report(c, cpn_reader_map_get(ri, "unloaded"), kp,
                          "must be <= count (%d): unloaded replicas are some of the "
                          "count replicas (got %d)",
                          r->count, r->unloaded);
      }
      char name[CPN_NAME_MAX];
      const cpn_reader_node_t *mv = cpn_reader_map_get(ri, "model"), *pv = cpn_reader_map_get(ri, "pool");
      cpn_reader_join(kp, ip, "model");
      if (mv && cpn_reader_get_str(c, mv, kp, name, sizeof name, CPN_STR_NAME)) {
        r->model = cpn_scenario_model_index(sc, name);
        if (r->model < 0) {
          const char *best = NULL;
          int best_d = 3;
          for (int k = 0; k < sc->n_models; k++)
            cpn_reader_suggest(name, sc->models[k].name, &best, &best_d);
          if (best)
            cpn_reader_report(c, mv, kp, "no model named '%s' in 'models'; did you mean '%s'?", name, best);
          else
            cpn_reader_report(c, mv, kp, "no model named '%s' in 'models'", name);
        }
      }
      cpn_reader_join(kp, ip, "pool");
      if (!pv) {
        if (s->n_pools > 0)
          r->pool = 0;
        else
          cpn_reader_report(c, ri, ip, "site '%s' has no pools to place this replica in", s->name);
      } else if (cpn_reader_get_str(c, pv, kp, name, sizeof name, CPN_STR_NAME)) {
        for (int k = 0; k < s->n_pools && r->pool < 0; k++)
          if (strcmp(s->pools[k].name, name) == 0)
            r->pool = k;
        if (r->pool < 0) {
          const char *best = NULL;
          int best_d = 3;
          cpn_reader_buf_t b = {0};
          for (int k = 0; k < s->n_pools; k++) {
            cpn_reader_suggest(name, s->pools[k].name, &best, &best_d);
            cpn_reader_buf_printf(&b, "%s%s", k ? ", " : "", s->pools[k].name);
          }
          cpn_reader_report(c, pv, kp, "site '%s' has no pool named '%s'%s%s%s (pools: %s)", s->name, name,
                            best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "", b.p ? b.p : "none");
          free(b.p);
        }
      }
    }
    /* Replicas must fit in their pool: sum of tp x count over the pool's replicas <= its count. */
    for (int k = 0; k < s->n_pools; k++) {
      long need = 0;
      for (int j = 0; j < s->n_replicas; j++)
        if (s->replicas[j].pool == k)
          need += (long)s->replicas[j].tp * s->replicas[j].count;
      if (pl.items[k] && s->pools[k].count >= 1 && need > s->pools[k].count) { /* count 0: already reported */
        char kp[CPN_PATH_LEN];
        cpn_reader_pathf(kp, "%s[%d].count", pp, k);
        const cpn_reader_node_t *cv = cpn_reader_map_get(pl.items[k], "count");
        cpn_reader_report(c, cv ? cv : pl.items[k], kp,
                          "pool '%s' of site '%s' has %d accelerators but its replicas need %ld (sum of tp x count)",
                          s->pools[k].name, s->name, s->pools[k].count, need);
      }
    }
    cpn_reader_list_destroy(&pl);
    cpn_reader_list_destroy(&rl);
  }
  cpn_reader_check_unique_names(c, &l, sizeof(cpn_site_spec_t), offsetof(cpn_site_spec_t, name), "sites", "site");
  cpn_reader_list_destroy(&l);
}

/* models[].store must name a site (sites are mapped after models). */
static void check_stores(cpn_reader_t *c, const cpn_reader_node_t *root, const cpn_scenario_t *sc)
{
  const cpn_reader_node_t *ml = cpn_reader_map_get(root, "models");
  if (!ml || ml->kind != CPN_READER_SEQ || ml->n != sc->n_models)
    return;
  for (int i = 0; i < sc->n_models; i++) {
    const char *store = sc->models[i].store;
    const cpn_reader_node_t *v = cpn_reader_map_get(ml->vals[i], "store");
    if (!store[0] || !v || cpn_scenario_site_index(sc, store) >= 0)
      continue;
    char kp[CPN_PATH_LEN];
    cpn_reader_pathf(kp, "models[%d].store", i);
    const char *best = NULL;
    int best_d = 3;
    for (int k = 0; k < sc->n_sites; k++)
      cpn_reader_suggest(store, sc->sites[k].name, &best, &best_d);
    cpn_reader_report(c, v, kp, "no site named '%s' (the store holds the weights cold starts fetch)%s%s%s", store,
                      best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
  }
}

static void map_nodes(cpn_reader_t *c, const cpn_reader_node_t *root, mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, root, "nodes", "nodes", &node_section, sizeof(cpn_node_spec_t), &l))
    return;
  sc->nodes = l.arr;
  sc->n_nodes = l.n;
  if (l.n && !(mp->node_geo = calloc((size_t)l.n, 1))) {
    cpn_reader_set_out_of_memory(c);
    cpn_reader_list_destroy(&l);
    return;
  }
  for (int i = 0; i < l.n; i++)
    mp->node_geo[i] =
        (l.present[i] & cpn_reader_bit(&node_section, "lat")) && (l.present[i] & cpn_reader_bit(&node_section, "lon"));
  cpn_reader_check_unique_names(c, &l, sizeof(cpn_node_spec_t), offsetof(cpn_node_spec_t, name), "nodes", "node");
  /* Sites and nodes share one namespace: links and origins name either. */
  for (int i = 0; i < l.n; i++) {
    if (!l.items[i] || !sc->nodes[i].name[0])
      continue;
    for (int j = 0; j < sc->n_sites; j++) {
      if (strcmp(sc->nodes[i].name, sc->sites[j].name) == 0) {
        char ip[CPN_PATH_LEN];
        cpn_reader_pathf(ip, "nodes[%d].name", i);
        cpn_reader_report(c, cpn_reader_map_get(l.items[i], "name"), ip,
                          "name '%s' is already used by site %d (sites and nodes share names)", sc->nodes[i].name, j);
        break;
      }
    }
  }
  cpn_reader_list_destroy(&l);
}

static void map_links(cpn_reader_t *c, const cpn_reader_node_t *root, mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, root, "links", "links", &link_section, sizeof(cpn_link_spec_t), &l))
    return;
  sc->links = l.arr;
  sc->n_links = l.n;
  for (int i = 0; i < l.n; i++) {
    cpn_link_spec_t *k = &sc->links[i];
    const cpn_reader_node_t *it = l.items[i];
    if (!it)
      continue;
    k->line = it->line;
    char ip[CPN_PATH_LEN], kp[CPN_PATH_LEN];
    cpn_reader_join_index(ip, "links", i);
    endpoint_t ea, eb;
    int ok = 1;
    cpn_reader_join(kp, ip, "a");
    if (k->a[0])
      ok &= resolve_endpoint(c, sc, cpn_reader_map_get(it, "a"), kp, k->a, &ea);
    else
      ok = 0;
    cpn_reader_join(kp, ip, "b");
    if (k->b[0])
      ok &= resolve_endpoint(c, sc, cpn_reader_map_get(it, "b"), kp, k->b, &eb);
    else
      ok = 0;
    if (!ok)
      continue;
    if (strcmp(k->a, k->b) == 0) {
      cpn_reader_report(c, cpn_reader_map_get(it, "b"), kp,
                        "a link must join two different places (a and b are both '%s')", k->a);
      continue;
    }
    for (int j = 0; j < i; j++) {
      const cpn_link_spec_t *o = &sc->links[j];
      if (l.items[j] && ((strcmp(o->a, k->a) == 0 && strcmp(o->b, k->b) == 0) ||
                         (strcmp(o->a, k->b) == 0 && strcmp(o->b, k->a) == 0))) {
        cpn_reader_report(c, it, ip, "a second link between '%s' and '%s' (the first is links[%d], line %d)", k->a,
                          k->b, j, o->line);
        break;
      }
    }
    if (!(l.present[i] & cpn_reader_bit(&link_section, "latency_s"))) {
      int ga = ea.site >= 0 ? mp->site_geo[ea.site] : mp->node_geo[ea.node];
      int gb = eb.site >= 0 ? mp->site_geo[eb.site] : mp->node_geo[eb.node];
      if (ga && gb) {
        double la = ea.site >= 0 ? sc->sites[ea.site].lat_deg : sc->nodes[ea.node].lat_deg;
        double oa = ea.site >= 0 ? sc->sites[ea.site].lon_deg : sc->nodes[ea.node].lon_deg;
        double lb = eb.site >= 0 ? sc->sites[eb.site].lat_deg : sc->nodes[eb.node].lat_deg;
        double ob = eb.site >= 0 ? sc->sites[eb.site].lon_deg : sc->nodes[eb.node].lon_deg;
        k->latency_s = cpn_scenario_great_circle_m(la, oa, lb, ob) / CPN_FIBRE_SPEED_M_PER_S;
      } else {
        cpn_reader_report(c, it, ip,
                          "missing required key 'latency_s' (it may be left out only when both '%s' and '%s' "
                          "have lat and lon)",
                          k->a, k->b);
      }
    }
  }
  cpn_reader_list_destroy(&l);
}

/* Union-find over sites and nodes, to find origins that no link connects to any site. */
static int uf_find(int *parent, int i)
{
  while (parent[i] != i)
    i = parent[i] = parent[parent[i]];
  return i;
}

static void map_origins(cpn_reader_t *c, const cpn_reader_node_t *root, mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, root, "origins", "origins", &origin_section, sizeof(cpn_origin_spec_t), &l))
    return;
  sc->origins = l.arr;
  sc->n_origins = l.n;
  cpn_reader_require_items(c, &l, "origins", "origin");
  int nv = sc->n_sites + sc->n_nodes;
  int *parent = malloc((size_t)(nv > 0 ? nv : 1) * sizeof *parent);
  unsigned char *has_site = calloc((size_t)(nv > 0 ? nv : 1), 1);
  if (!parent || !has_site) {
    free(parent);
    free(has_site);
    cpn_reader_list_destroy(&l);
    cpn_reader_set_out_of_memory(c);
    return;
  }
  for (int i = 0; i < nv; i++)
    parent[i] = i;
  for (int i = 0; i < sc->n_links; i++) {
    endpoint_t a = find_endpoint(sc, sc->links[i].a), b = find_endpoint(sc, sc->links[i].b);
    if ((a.site < 0 && a.node < 0) || (b.site < 0 && b.node < 0))
      continue;
    int ia = a.site >= 0 ? a.site : sc->n_sites + a.node, ib = b.site >= 0 ? b.site : sc->n_sites + b.node;
    parent[uf_find(parent, ia)] = uf_find(parent, ib);
  }
  for (int i = 0; i < sc->n_sites; i++)
    has_site[uf_find(parent, i)] = 1;

  for (int i = 0; i < l.n; i++) {
    cpn_origin_spec_t *o = &sc->origins[i];
    const cpn_reader_node_t *it = l.items[i];
    if (!it)
      continue;
    o->line = it->line;
    char ip[CPN_PATH_LEN], kp[CPN_PATH_LEN];
    cpn_reader_join_index(ip, "origins", i);
    cpn_reader_join(kp, ip, "node");
    endpoint_t e = {-1, -1};
    int found = o->node[0] && resolve_endpoint(c, sc, cpn_reader_map_get(it, "node"), kp, o->node, &e);
    if (!(l.present[i] & cpn_reader_bit(&origin_section, "country"))) {
      const char *cc = !found ? "CN" : e.site >= 0 ? sc->sites[e.site].country : sc->nodes[e.node].country;
      snprintf(o->country, sizeof o->country, "%s", cc);
    }
    if (!(l.present[i] & cpn_reader_bit(&origin_section, "tz_h")))
      o->tz_h = found && e.site >= 0 ? sc->sites[e.site].tz_h : 8;
    if (found && e.site < 0 && !has_site[uf_find(parent, sc->n_sites + e.node)])
      cpn_reader_report(c, cpn_reader_map_get(it, "node"), kp, "node '%s' is not connected by links to any site",
                        o->node);

    const cpn_reader_node_t *rv = cpn_reader_map_get(it, "residency");
    cpn_reader_join(kp, ip, "residency");
    char buf[80];
    if (!rv || cpn_reader_is_null(rv))
      continue;
    if (rv->kind != CPN_READER_SEQ) {
      cpn_reader_report(c, rv, kp, "expected a list of regions or country codes like [CN], got %s",
                        cpn_reader_show(rv, buf, sizeof buf));
      continue;
    }
    if (rv->n == 0)
      continue;
    if (!(o->allowed = calloc((size_t)rv->n, sizeof *o->allowed))) {
      cpn_reader_set_out_of_memory(c);
      break;
    }
    for (int j = 0; j < rv->n; j++) {
      char ep[CPN_PATH_LEN];
      cpn_reader_join_index(ep, kp, j);
      char *dst = o->allowed[o->n_allowed];
      if (!cpn_reader_get_str(c, rv->vals[j], ep, dst, CPN_NAME_MAX, CPN_STR_NAME))
        continue;
      /* An entry that no site matches would silently leave the origin with fewer (or no) sites. */
      int match = 0;
      for (int k = 0; k < sc->n_sites && !match; k++)
        match = strcmp(sc->sites[k].region, dst) == 0 || strcmp(sc->sites[k].country, dst) == 0;
      if (!match) {
        const char *best = NULL;
        int best_d = 3;
        for (int k = 0; k < sc->n_sites; k++)
          cpn_reader_suggest(dst, sc->sites[k].region, &best, &best_d);
        cpn_reader_report(c, rv->vals[j], ep, "'%s' is neither the region nor the country of any site%s%s%s", dst,
                          best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
        continue;
      }
      o->n_allowed++;
    }
  }
  cpn_reader_check_unique_names(c, &l, sizeof(cpn_origin_spec_t), offsetof(cpn_origin_spec_t, name), "origins",
                                "origin");
  free(parent);
  free(has_site);
  cpn_reader_list_destroy(&l);
}

/* ------------------------------------------------------------------------------------------------
 * topology: nodes and links from GraphML, a SimGrid platform or a generator, added to the tree before
 * it is mapped, so that they are validated like written ones. Each value made here carries the location
 * of the topology key that made it. */

static cpn_reader_node_t *gen_scalar(cpn_reader_t *c, const cpn_reader_node_t *at, const char *text, int plain)
{
  return cpn_reader_scalar_new(c, text, strlen(text), plain, at->file, at->line, at->col);
}

static int gen_put(cpn_reader_t *c, cpn_reader_node_t *m, const cpn_reader_node_t *at, const char *key,
                   cpn_reader_node_t *val)
{
  return val ? cpn_reader_map_put(c, m, key, at->file, at->line, at->col, val) : -1;
}

static int gen_put_num(cpn_reader_t *c, cpn_reader_node_t *m, const cpn_reader_node_t *at, const char *key, double x)
{
  char buf[40];
  snprintf(buf, sizeof buf, "%.17g", x); /* reads back to the same double */
  return gen_put(c, m, at, key, gen_scalar(c, at, buf, 1));
}

/* The root's list under `key`, created when absent or null; NULL when it is something else (mapping
 * reports that) or out of memory. */
static cpn_reader_node_t *root_list(cpn_reader_t *c, cpn_reader_node_t *root, const char *key,
                                    const cpn_reader_node_t *at)
{
  cpn_reader_node_t *v = cpn_reader_map_get(root, key);
  if (v && !cpn_reader_is_null(v))
    return v->kind == CPN_READER_SEQ ? v : NULL;
  cpn_reader_node_t *l = cpn_reader_node_new(c, CPN_READER_SEQ, at->file, at->line, at->col);
  if (!l || cpn_reader_map_put(c, root, key, at->file, at->line, at->col, l))
    return NULL;
  return l;
}

/* A node or site item: name (quoted: a label such as "null" or "1" stays a name), then lat/lon when
 * known, country when known. */
static cpn_reader_node_t *gen_place(cpn_reader_t *c, const cpn_reader_node_t *at, const cpn_node_spec_t *nd)
{
  cpn_reader_node_t *m = cpn_reader_node_new(c, CPN_READER_MAP, at->file, at->line, at->col);
  if (!m || gen_put(c, m, at, "name", gen_scalar(c, at, nd->name, 0)))
    return NULL;
  if (isfinite(nd->lat_deg) && isfinite(nd->lon_deg) &&
      (gen_put_num(c, m, at, "lat", nd->lat_deg) || gen_put_num(c, m, at, "lon", nd->lon_deg)))
    return NULL;
  if (nd->country[0] && gen_put(c, m, at, "country", gen_scalar(c, at, nd->country, 0)))
    return NULL;
  return m;
}

static cpn_reader_node_t *gen_link(cpn_reader_t *c, const cpn_reader_node_t *at, const cpn_link_spec_t *l)
{
  cpn_reader_node_t *m = cpn_reader_node_new(c, CPN_READER_MAP, at->file, at->line, at->col);
  if (!m || gen_put(c, m, at, "a", gen_scalar(c, at, l->a, 0)) || gen_put(c, m, at, "b", gen_scalar(c, at, l->b, 0)) ||
      gen_put_num(c, m, at, "latency_s", l->latency_s) || gen_put_num(c, m, at, "bw_bps", l->bw_bps) ||
      (l->shared && gen_put(c, m, at, "shared", gen_scalar(c, at, "true", 1))))
    return NULL;
  return m;
}

/* Reports a problem the SimGrid platform reader found, at its place in the XML file. */
static void platform_problem(void *arg, const char *file, int line, int col, const char *message)
{
  cpn_reader_t *c = arg;
  cpn_reader_report_at(c, cpn_reader_intern(c, file), line, col, "topology.simgrid_xml", "%s", message);
}

static void expand_topology(cpn_reader_t *c, cpn_reader_node_t *root)
{
  if (!cpn_reader_get_map(c, root, "topology", "topology", " like {graphml: FILE} or {generate: waxman, n: 100}"))
    return;
  cpn_reader_node_t *t = cpn_reader_map_get(root, "topology");
  /* A key set to null is absent, so that an extending file can drop an inherited one (`n: ~`). */
  for (int i = t->n - 1; i >= 0; i--)
    if (cpn_reader_is_null(t->vals[i]))
      cpn_reader_node_remove(t, i);
  int problems = cpn_reader_problem_count(c);
  topo_spec_t ts;
  uint64_t p = cpn_reader_map_fields(c, t, "topology", &topology_section, &ts);
  static const char *const sources[] = {"graphml", "simgrid_xml", "generate"};
  const cpn_reader_node_t *src = NULL;
  int which = -1, n_src = 0;
  for (int i = 0; i < 3; i++) {
    const cpn_reader_node_t *v = cpn_reader_map_get(t, sources[i]);
    if (v) {
      if (!src) {
        src = v;
        which = i;
      }
      n_src++;
    }
  }
  if (n_src == 0)
    cpn_reader_report(c, t, "topology", "missing the source: one of graphml, simgrid_xml or generate");
  else if (n_src > 1)
    cpn_reader_report(c, t, "topology",
                      "give only one of graphml, simgrid_xml and generate (got %d; set the others to null "
                      "to replace an inherited source)",
                      n_src);
  const struct {
    const char *key;
    int ok;
    const char *why;
  } rules[] = {{"n", which == 2, "only used by generate"},
               {"seed", which == 2, "only used by generate"},
               {"bw_bps", which != 1, "not used with simgrid_xml, whose links carry their bandwidth"},
               {"site_template", ts.sites == 1, "only used with sites: all"},
               {"origins_per_site_rps", ts.sites == 1, "only used with sites: all"}};
  for (size_t i = 0; i < sizeof rules / sizeof rules[0] && n_src == 1; i++) {
    const cpn_reader_node_t *k = cpn_reader_map_key(t, rules[i].key);
    char kp[CPN_PATH_LEN];
    cpn_reader_join(kp, "topology", rules[i].key);
    if (k && !rules[i].ok)
      cpn_reader_report(c, k, kp, "'%s' is %s", rules[i].key, rules[i].why);
  }
  if (which == 2 && !(p & cpn_reader_bit(&topology_section, "n")))
    cpn_reader_report(c, t, "topology", "missing required key 'n' (generate makes n nodes)");
  const cpn_reader_node_t *tmpl = NULL;
  if (ts.sites == 1) {
    tmpl = cpn_reader_get_map(c, t, "site_template", "topology.site_template", " of site keys such as {pools: [...]}");
    if (!cpn_reader_map_get(t, "site_template"))
      cpn_reader_report(c, t, "topology",
                        "missing required key 'site_template' (sites: all makes every node a site from it)");
    if (tmpl) { /* checked once here, so that its problems are not reported for every site */
      cpn_site_spec_t dummy;
      cpn_reader_list_t l;
      cpn_reader_map_fields(c, tmpl, "topology.site_template", &site_template_section, &dummy);
      if (!cpn_reader_map_list(c, tmpl, "pools", "topology.site_template.pools", &pool_section, sizeof(cpn_pool_spec_t),
                               &l)) {
        free(l.arr);
        cpn_reader_list_destroy(&l);
      }
      if (!cpn_reader_map_list(c, tmpl, "replicas", "topology.site_template.replicas", &replica_section,
                               sizeof(cpn_replica_spec_t), &l)) {
        free(l.arr);
        cpn_reader_list_destroy(&l);
      }
    }
  }
  if (cpn_reader_problem_count(c) > problems || cpn_reader_out_of_memory(c) || n_src != 1) {
    /* The sites and origins this section would have made are not missing as well: a null value counts
     * as present for the required-key check and as an empty list for mapping. */
    static const char *const made[] = {"sites", "origins"};
    for (int i = 0; i < 2 && ts.sites == 1; i++)
      if (!cpn_reader_map_get(root, made[i]))
        cpn_reader_map_put(c, root, made[i], t->file, t->line, t->col, gen_scalar(c, t, "", 1));
    return;
  }

  cpn_node_spec_t *nodes = NULL;
  cpn_link_spec_t *links = NULL;
  int nn = 0, nl = 0;
  char kp[CPN_PATH_LEN], path[4096];
  cpn_reader_join(kp, "topology", sources[which]);
  cpn_err_t err = CPN_OK;
  if (which == 2) {
    int kind;
    if (!cpn_reader_get_enum(c, src, kp, TOPO_GENERATORS, &kind))
      return;
    err = cpn_topology_generate(TOPO_GENERATORS[kind], ts.n, ts.seed, &nodes, &nn, &links, &nl);
    for (int i = 0; i < nl && !err; i++)
      links[i].bw_bps = ts.bw_bps;
  } else {
    if (!cpn_reader_resolve_file(c, src, kp, which == 0 ? "the GraphML file" : "the SimGrid platform", path,
                                 sizeof path))
      return;
    if (which == 0)
      err = cpn_topology_graphml_read(path, &nodes, &nn, &links, &nl, ts.bw_bps);
    else if ((err = cpn_topology_simgrid_xml_read(path, &nodes, &nn, &links, &nl, platform_problem, c))) {
      if (err == CPN_EIO)
        cpn_reader_set_io_error(c);
      if (err == CPN_ENOMEM)
        cpn_reader_set_out_of_memory(c);
      return;
    }
  }
  if (err) {
    cpn_reader_report(c, src, kp, "%s", cpn_error_message());
    if (err == CPN_EIO)
      cpn_reader_set_io_error(c);
    return;
  }

  int all = ts.sites == 1, with_origins = all && (p & cpn_reader_bit(&topology_section, "origins_per_site_rps"));
  cpn_reader_node_t *places = root_list(c, root, all ? "sites" : "nodes", src);
  cpn_reader_node_t *lk = nl ? root_list(c, root, "links", src) : NULL;
  cpn_reader_node_t *orig = with_origins ? root_list(c, root, "origins", src) : NULL;
  char rate[40];
  snprintf(rate, sizeof rate, "%.17g", ts.origins_per_site_rps);
  for (int i = 0; places && i < nn && !cpn_reader_out_of_memory(c); i++) {
    cpn_reader_node_t *m = gen_place(c, src, &nodes[i]);
    for (int k = 0; m && tmpl && k < tmpl->n; k++) /* the template's values are shared, not copied */
      if (cpn_reader_map_put(c, m, tmpl->keys[k]->str, tmpl->keys[k]->file, tmpl->keys[k]->line, tmpl->keys[k]->col,
                             tmpl->vals[k]))
        m = NULL;
    if (!m || cpn_reader_node_add(c, places, NULL, m))
      break;
    if (orig) {
      cpn_reader_node_t *o = cpn_reader_node_new(c, CPN_READER_MAP, src->file, src->line, src->col);
      if (!o || gen_put(c, o, src, "name", gen_scalar(c, src, nodes[i].name, 0)) ||
          gen_put(c, o, src, "node", gen_scalar(c, src, nodes[i].name, 0)) ||
          gen_put(c, o, src, "rate_rps", gen_scalar(c, src, rate, 1)) || cpn_reader_node_add(c, orig, NULL, o))
        break;
    }
  }
  for (int i = 0; lk && i < nl && !cpn_reader_out_of_memory(c); i++) {
    cpn_reader_node_t *m = gen_link(c, src, &links[i]);
    if (!m || cpn_reader_node_add(c, lk, NULL, m))
      break;
  }
  free(nodes);
  free(links);
}

static void default_name(const char *path, char *out, size_t size)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  if (len >= size)
    len = size - 1;
  memcpy(out, base, len);
  out[len] = '\0';
}

static void map_scenario(cpn_reader_t *c, cpn_reader_node_t *root, const char *path, cpn_scenario_t *sc)
{
  char buf[80];
  if (root->kind != CPN_READER_MAP) {
    cpn_reader_report(c, root, "",
                      "the top level must be a mapping of sections (name, run, demand, models, ...), got %s",
                      cpn_reader_show(root, buf, sizeof buf));
    return;
  }
  expand_topology(c, root);
  mapping_t mp = {sc, NULL, NULL};
  uint64_t p = cpn_reader_map_fields(c, root, "", &root_section, sc);
  if (!(p & cpn_reader_bit(&root_section, "name")))
    default_name(path, sc->name, sizeof sc->name);
  const cpn_reader_node_t *dv = cpn_reader_map_get(root, "description");
  if (dv && !cpn_reader_is_null(dv))
    cpn_reader_get_str(c, dv, "description", NULL, 0, CPN_STR_ANY);

  const cpn_reader_node_t *run = cpn_reader_get_map(c, root, "run", "run", "");
  if (run)
    cpn_reader_map_fields(c, run, "run", &run_section, &sc->run);
  else
    cpn_reader_apply_defaults(&run_section, &sc->run);
  char *keys = NULL;
  cpn_reader_map_params(c, run, "run", "policy_params", MAX_PARAMS, CPN_NAME_MAX, &keys, &sc->run.policy_param_values,
                        &sc->run.n_policy_params);
  sc->run.policy_param_keys = (char(*)[CPN_NAME_MAX])keys;
  keys = NULL;
  cpn_reader_map_params(c, run, "run", "autoscaler_params", MAX_PARAMS, CPN_NAME_MAX, &keys,
                        &sc->run.autoscaler_param_values, &sc->run.n_autoscaler_params);
  sc->run.autoscaler_param_keys = (char(*)[CPN_NAME_MAX])keys;
  if (sc->run.warmup_s > 0 && sc->run.warmup_s >= sc->run.duration_s)
    cpn_reader_report(c,
                      cpn_reader_map_get(run, "warmup_s") ? cpn_reader_map_get(run, "warmup_s")
                      : run                               ? run
                                                          : root,
                      "run.warmup_s", "must be < run.duration_s (%g), or no request would be measured (got %g)",
                      sc->run.duration_s, sc->run.warmup_s);

  const cpn_reader_node_t *demand = cpn_reader_get_map(c, root, "demand", "demand", "");
  if (demand)
    cpn_reader_map_fields(c, demand, "demand", &demand_section, &sc->demand);
  else
    cpn_reader_apply_defaults(&demand_section, &sc->demand);
  map_diurnal(c, demand, &sc->demand);
  map_trace(c, demand, &sc->demand);

  cpn_reader_list_t l;
  if (!cpn_reader_map_list(c, root, "models", "models", &model_section, sizeof(cpn_model_spec_t), &l)) {
    sc->models = l.arr;
    sc->n_models = l.n;
    cpn_reader_require_items(c, &l, "models", "model");
    cpn_reader_check_unique_names(c, &l, sizeof(cpn_model_spec_t), offsetof(cpn_model_spec_t, name), "models", "model");
    cpn_reader_check_shares(c, &l, sizeof(cpn_model_spec_t), offsetof(cpn_model_spec_t, share), "models");
    cpn_reader_list_destroy(&l);
  }

  if (!cpn_reader_map_list(c, root, "classes", "classes", &class_section, sizeof(cpn_class_spec_t), &l)) {
    sc->classes = l.arr;
    sc->n_classes = l.n;
    cpn_reader_require_items(c, &l, "classes", "class");
    for (int i = 0; i < l.n; i++) {
      char ip[CPN_PATH_LEN];
      cpn_reader_join_index(ip, "classes", i);
      sc->classes[i].prompt_tokens = CPN_AZURE_CONV_PROMPT;
      sc->classes[i].output_tokens = CPN_AZURE_CONV_OUTPUT;
      if (!l.items[i])
        continue;
      map_dist(c, l.items[i], "prompt_tokens", ip, &sc->classes[i].prompt_tokens, &CPN_AZURE_CONV_PROMPT);
      map_dist(c, l.items[i], "output_tokens", ip, &sc->classes[i].output_tokens, &CPN_AZURE_CONV_OUTPUT);
    }
    cpn_reader_check_unique_names(c, &l, sizeof(cpn_class_spec_t), offsetof(cpn_class_spec_t, name), "classes",
                                  "class");
    cpn_reader_check_shares(c, &l, sizeof(cpn_class_spec_t), offsetof(cpn_class_spec_t, share), "classes");
    cpn_reader_list_destroy(&l);
  }
  if (!l.list && !cpn_reader_out_of_memory(c)) { /* absent: one class with every default */
    if (!(sc->classes = calloc(1, sizeof *sc->classes))) {
      cpn_reader_set_out_of_memory(c);
    } else {
      sc->n_classes = 1;
      cpn_reader_apply_defaults(&class_section, &sc->classes[0]);
      snprintf(sc->classes[0].name, sizeof sc->classes[0].name, "default");
      sc->classes[0].prompt_tokens = CPN_AZURE_CONV_PROMPT;
      sc->classes[0].output_tokens = CPN_AZURE_CONV_OUTPUT;
    }
  }

  if (!cpn_reader_map_list(c, root, "tenants", "tenants", &tenant_section, sizeof(cpn_tenant_spec_t), &l)) {
    sc->tenants = l.arr;
    sc->n_tenants = l.n;
    cpn_reader_require_items(c, &l, "tenants", "tenant");
    cpn_reader_check_unique_names(c, &l, sizeof(cpn_tenant_spec_t), offsetof(cpn_tenant_spec_t, name), "tenants",
                                  "tenant");
    cpn_reader_check_shares(c, &l, sizeof(cpn_tenant_spec_t), offsetof(cpn_tenant_spec_t, share), "tenants");
    cpn_reader_list_destroy(&l);
  }
  if (!l.list && !cpn_reader_out_of_memory(c)) { /* absent: one tenant */
    if (!(sc->tenants = calloc(1, sizeof *sc->tenants))) {
      cpn_reader_set_out_of_memory(c);
    } else {
      sc->n_tenants = 1;
      snprintf(sc->tenants[0].name, sizeof sc->tenants[0].name, "default");
      sc->tenants[0].share = 1;
    }
  }

  map_sites(c, root, &mp);
  check_stores(c, root, sc);
  map_nodes(c, root, &mp);
  map_links(c, root, &mp);
  map_origins(c, root, &mp);
  free(mp.site_geo);
  free(mp.node_geo);
}

cpn_err_t cpn_scenario_load(cpn_scenario_t *sc, const char *path, const char *const *sets, int n_sets)
{
  /* The scenario name is not inherited: a child without one is named after its own file. */
  static const char *const own_keys[] = {"name", NULL};
  cpn_reader_t c;
  cpn_scenario_t tmp = {0};
  assert(sc && path && n_sets >= 0 && (n_sets == 0 || sets));
  memset(sc, 0, sizeof *sc);
  cpn_reader_init(&c);
  cpn_reader_node_t *root = cpn_reader_load(&c, path, own_keys, &tmp.text);
  if (root) {
    if (root->kind == CPN_READER_MAP)
      for (int i = 0; i < n_sets; i++)
        cpn_reader_apply_set(&c, root, &root_section, sets[i], i);
    if (!cpn_reader_exhausted(&c))
      map_scenario(&c, root, path, &tmp);
  }
  snprintf(tmp.file, sizeof tmp.file, "%s", path);
  if (cpn_reader_failed(&c) || !root) {
    cpn_err_t code = cpn_reader_fail(&c);
    cpn_reader_destroy(&c);
    cpn_scenario_destroy(&tmp);
    return code;
  }
  cpn_reader_destroy(&c);
  *sc = tmp;
  return CPN_OK;
}

void cpn_scenario_destroy(cpn_scenario_t *sc)
{
  if (!sc)
    return;
  for (int i = 0; sc->sites && i < sc->n_sites; i++) {
    free(sc->sites[i].pools);
    free(sc->sites[i].replicas);
  }
  for (int i = 0; sc->origins && i < sc->n_origins; i++)
    free(sc->origins[i].allowed);
  free(sc->sites);
  free(sc->nodes);
  free(sc->links);
  free(sc->models);
  free(sc->classes);
  free(sc->tenants);
  free(sc->origins);
  free(sc->text);
  free(sc->run.policy_param_keys);
  free(sc->run.policy_param_values);
  free(sc->run.autoscaler_param_keys);
  free(sc->run.autoscaler_param_values);
  memset(sc, 0, sizeof *sc);
}

int cpn_scenario_site_index(const cpn_scenario_t *sc, const char *name)
{
  for (int i = 0; i < sc->n_sites; i++)
    if (strcmp(sc->sites[i].name, name) == 0)
      return i;
  return -1;
}

int cpn_scenario_model_index(const cpn_scenario_t *sc, const char *name)
{
  for (int i = 0; i < sc->n_models; i++)
    if (strcmp(sc->models[i].name, name) == 0)
      return i;
  return -1;
}

/* ------------------------------------------------------------------------------------------------
 * Known keys. */

#define KNOWN_MAX 256
static const char *known_ptr[KNOWN_MAX + 1];
static char known_text[KNOWN_MAX * 56];
static size_t n_known;
static once_flag known_once = ONCE_FLAG_INIT;

static size_t known_used;

static void add_known_key(void *arg, const char *path)
{
  (void)arg;
  size_t len = strlen(path);
  if (n_known >= KNOWN_MAX || known_used + len + 1 > sizeof known_text)
    abort(); /* the tables outgrew the buffers: a programming error */
  memcpy(known_text + known_used, path, len + 1);
  known_ptr[n_known++] = known_text + known_used;
  known_used += len + 1;
}

static void init_known_keys(void)
{
  cpn_reader_walk_keys(&root_section, add_known_key, NULL);
  known_ptr[n_known] = NULL;
}

const char *const *cpn_scenario_known_keys(size_t *n)
{
  call_once(&known_once, init_known_keys);
  if (n)
    *n = n_known;
  return known_ptr;
}

/* ------------------------------------------------------------------------------------------------
 * Printing. */

static void put_dist(FILE *f, const cpn_dist_t *d)
{
  for (int i = 0; i < 4; i++) {
    const cpn_dist_t *a = AZURE_DISTS[i];
    if (d->kind == a->kind && d->mu == a->mu && d->sigma == a->sigma && d->mean == a->mean) {
      fprintf(f, "{dist: %s, min: ", DISTS[N_PLAIN_DISTS + i]);
      cpn_reader_print_num(f, d->min);
      fputs(", max: ", f);
      cpn_reader_print_num(f, d->max);
      fputs("}", f);
      return;
    }
  }
  int kind = (int)d->kind;
  fprintf(f, "{dist: %s, ", kind >= 0 && kind < N_PLAIN_DISTS ? DISTS[kind] : "?");
  if (d->kind == CPN_DIST_LOGNORMAL) {
    fputs("mu: ", f);
    cpn_reader_print_num(f, d->mu);
    fputs(", sigma: ", f);
    cpn_reader_print_num(f, d->sigma);
  } else {
    fputs("mean: ", f);
    cpn_reader_print_num(f, d->mean);
  }
  fputs(", min: ", f);
  cpn_reader_print_num(f, d->min);
  fputs(", max: ", f);
  cpn_reader_print_num(f, d->max);
  fputs("}", f);
}

/* demand.trace, when a trace is replayed: format and time_unit only for mapping custom, empty column
 * names not at all (both would be rejected on reload). */
static void put_trace(FILE *f, const cpn_demand_spec_t *d)
{
  if (!d->trace_file[0])
    return;
  int custom = strcmp(d->trace_mapping, "custom") == 0;
  fputs("  trace:\n    file: ", f);
  cpn_reader_print_str(f, d->trace_file);
  fputc('\n', f);
  for (int i = 0; i < trace_section.n; i++) {
    const cpn_reader_field_t *fl = &trace_section.f[i];
    if (fl->off == CPN_NOFF || (fl->type == CPN_T_STR && !((const char *)d + fl->off)[0]))
      continue;
    if (!custom && (strcmp(fl->key, "format") == 0 || strcmp(fl->key, "time_unit") == 0))
      continue;
    fprintf(f, "    %s: ", fl->key);
    cpn_reader_print_value(f, fl, d);
    fputc('\n', f);
  }
}

cpn_err_t cpn_scenario_print(const cpn_scenario_t *sc, FILE *f)
{
  fputs("# cpnsim scenario, fully resolved: defaults filled in, extends and --set applied.\n# from: ", f);
  for (const char *p = sc->file; *p; p++)
    fputc((unsigned char)*p < 0x20 ? '?' : *p, f);
  fputs("\nname: ", f);
  cpn_reader_print_str(f, sc->name);
  fputs("\nrun:\n", f);
  cpn_reader_print_block(f, &run_section, &sc->run, "  ", "  ");
  cpn_reader_print_params(f, "  ", "policy_params", (const char *)sc->run.policy_param_keys, CPN_NAME_MAX,
                          sc->run.policy_param_values, sc->run.n_policy_params);
  cpn_reader_print_params(f, "  ", "autoscaler_params", (const char *)sc->run.autoscaler_param_keys, CPN_NAME_MAX,
                          sc->run.autoscaler_param_values, sc->run.n_autoscaler_params);
  fputs("demand:\n", f);
  cpn_reader_print_block(f, &demand_section, &sc->demand, "  ", "  ");
  put_trace(f, &sc->demand);
  fputs("  diurnal: ", f);
  if (!sc->demand.diurnal_enabled) {
    fputs("flat", f);
  } else if (memcmp(&sc->demand.diurnal, &CPN_DIURNAL_DEFAULT, sizeof CPN_DIURNAL_DEFAULT) == 0) {
    fputs("default", f);
  } else {
    fputc('[', f);
    for (int h = 0; h < 24; h++) {
      if (h)
        fputs(", ", f);
      cpn_reader_print_num(f, sc->demand.diurnal.hourly[h]);
    }
    fputc(']', f);
  }
  fputs("\nmodels:", f);
  fputs(sc->n_models ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_models; i++)
    cpn_reader_print_block(f, &model_section, &sc->models[i], "  - ", "    ");
  fputs("classes:", f);
  fputs(sc->n_classes ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_classes; i++) {
    cpn_reader_print_block(f, &class_section, &sc->classes[i], "  - ", "    ");
    fputs("    prompt_tokens: ", f);
    put_dist(f, &sc->classes[i].prompt_tokens);
    fputs("\n    output_tokens: ", f);
    put_dist(f, &sc->classes[i].output_tokens);
    fputc('\n', f);
  }
  cpn_reader_print_flow_list(f, "tenants", &tenant_section, sc->tenants, sizeof *sc->tenants, sc->n_tenants);
  fputs("sites:", f);
  fputs(sc->n_sites ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_sites; i++) {
    const cpn_site_spec_t *s = &sc->sites[i];
    cpn_reader_print_block(f, &site_section, s, "  - ", "    ");
    fputs(s->n_pools ? "    pools:\n" : "    pools: []\n", f);
    for (int j = 0; j < s->n_pools; j++) {
      fputs("      - {", f);
      cpn_reader_print_flow(f, &pool_section, &s->pools[j], 0);
      fputs("}\n", f);
    }
    fputs(s->n_replicas ? "    replicas:\n" : "    replicas: []\n", f);
    for (int j = 0; j < s->n_replicas; j++) {
      const cpn_replica_spec_t *r = &s->replicas[j];
      fputs("      - {model: ", f);
      cpn_reader_print_str(f, r->model >= 0 && r->model < sc->n_models ? sc->models[r->model].name : "");
      fputs(", pool: ", f);
      cpn_reader_print_str(f, r->pool >= 0 && r->pool < s->n_pools ? s->pools[r->pool].name : "");
      cpn_reader_print_flow(f, &replica_section, r, 1);
      fputs("}\n", f);
    }
  }
  cpn_reader_print_flow_list(f, "nodes", &node_section, sc->nodes, sizeof *sc->nodes, sc->n_nodes);
  cpn_reader_print_flow_list(f, "links", &link_section, sc->links, sizeof *sc->links, sc->n_links);
  fputs("origins:", f);
  fputs(sc->n_origins ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_origins; i++) {
    const cpn_origin_spec_t *o = &sc->origins[i];
    fputs("  - {", f);
    cpn_reader_print_flow(f, &origin_section, o, 0);
    if (o->n_allowed) {
      fputs(", residency: [", f);
      for (int j = 0; j < o->n_allowed; j++) {
        if (j)
          fputs(", ", f);
        cpn_reader_print_str(f, o->allowed[j]);
      }
      fputc(']', f);
    }
    fputs("}\n", f);
  }
  if (fflush(f) != 0 || ferror(f))
    return cpn_error_set(CPN_EIO, "cannot write the scenario: %s", strerror(errno));
  return CPN_OK;
}