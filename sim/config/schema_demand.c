/* schema_demand: the `demand:` section of a scenario (arrival process, scale, diurnal profile and trace
 * replay), read into cpn_demand_spec_t and printed back.
 *
 * Owns the demand and demand.trace tables. Invariants: a diurnal profile is stored normalised to mean 1,
 * so demand.scale and the origins' rates keep their meaning; every arrival process but MMPP follows it
 * (MMPP with a profile is refused), linearly or in hourly steps (diurnal_interp); a trace file is stored as an absolute path
 * that was readable at load time; format and time_unit are kept only for mapping `custom`, which needs
 * its three columns. */
#include "config/schema.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const ARRIVALS[] = {"poisson", "gamma", "weibull", "mmpp", NULL};
/* demand.trace: the mappings of cpn_trace_mapping() plus "custom" (columns given by the scenario). */
static const char *const TRACE_MAPPINGS[] = {"azure-2023", "vidur", "splitwise", "jsonl-ms", "custom", NULL};
static const char *const TRACE_FORMATS[] = {"csv", "jsonl", NULL};
static const char *const TRACE_TIME_UNITS[] = {"s", "ms", "us", "datetime", NULL};
/* demand.diurnal_interp: index = diurnal_step. */
static const char *const DIURNAL_INTERPS[] = {"linear", "step", NULL};
static const char *const TRACE_ERRORS[] = {"stop", "skip", NULL}; /* index = trace_skip_errors */

_Static_assert(sizeof(cpn_arrival_kind_t) == sizeof(int), "enums are stored as int");

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
    {CPN_FLD_STR("class_col", cpn_demand_spec_t, trace_class_col), .check = CPN_STR_NAME},
    {CPN_FLD("time_scale", CPN_T_NUM, cpn_demand_spec_t, trace_time_scale), .def = 1, CPN_GT(0)},
    /* ceil(rate_scale) copies of the file are open at once; cpn_trace allows CPN_TRACE_COPIES_MAX (256). */
    {CPN_FLD("rate_scale", CPN_T_NUM, cpn_demand_spec_t, trace_rate_scale), .def = 1,
     .rng = CPN_RANGE_LO | CPN_RANGE_LO_OPEN | CPN_RANGE_HI, .lo = 0, .hi = 256},
    {CPN_FLD("shift_s", CPN_T_NUM, cpn_demand_spec_t, trace_shift_s), CPN_GE(0)},
    {CPN_FLD("start_offset_s", CPN_T_NUM, cpn_demand_spec_t, trace_start_offset_s), CPN_GE(0)},
    {CPN_FLD("loop", CPN_T_BOOL, cpn_demand_spec_t, trace_loop)},
    {CPN_FLD("errors", CPN_T_ENUM, cpn_demand_spec_t, trace_skip_errors), .enums = TRACE_ERRORS},
    {CPN_FLD_STR("hash_col", cpn_demand_spec_t, trace_hash_col), .check = CPN_STR_NAME},
    {CPN_FLD_STR("adapter_col", cpn_demand_spec_t, trace_adapter_col), .check = CPN_STR_NAME},
    {CPN_FLD("block_tokens", CPN_T_INT, cpn_demand_spec_t, trace_block_tokens), .def = 512, CPN_GE(1)},
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
    {CPN_FLD_CUSTOM("diurnal_interp", CPN_T_ENUM), .enums = DIURNAL_INTERPS},
    {CPN_FLD_CUSTOM("trace", CPN_T_MAP), .sub = &trace_section},
};
const cpn_reader_section_t cpn_schema_demand_section = CPN_SECTION(demand_fields);

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

/* demand.diurnal_interp (linear by default: the 24 values are points joined by lines; step: hour i runs
 * at hourly[i] throughout). Only with a profile; an MMPP cannot follow one (see cpn_arrival_t). */
static void map_diurnal_interp(cpn_reader_t *c, const cpn_reader_node_t *demand, cpn_demand_spec_t *d)
{
  d->diurnal_step = 0;
  const cpn_reader_node_t *v = demand ? cpn_reader_map_get(demand, "diurnal_interp") : NULL;
  if (v && cpn_reader_get_enum(c, v, "demand.diurnal_interp", DIURNAL_INTERPS, &d->diurnal_step) &&
      !d->diurnal_enabled)
    cpn_reader_report(c, v, "demand.diurnal_interp", "has no effect without a diurnal profile (demand.diurnal is flat)");
  if (d->diurnal_enabled && d->arrival == CPN_ARR_MMPP)
    cpn_reader_report(c, cpn_reader_map_get(demand, "diurnal"), "demand.diurnal",
                      "demand.arrival mmpp cannot follow a diurnal profile (its burst and calm times are in seconds, "
                      "which a time change would stretch); use poisson, gamma or weibull, or diurnal: flat");
}

/* Does the trace's mapping read block hashes (so that block_tokens has an effect)? */
static int reads_hashes(const cpn_demand_spec_t *d)
{
  return strcmp(d->trace_hash_col, "none") != 0 && (d->trace_hash_col[0] || strcmp(d->trace_mapping, "jsonl-ms") == 0);
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
  /* block_tokens only sizes the blocks of a hash list: without one it would have no effect. */
  const cpn_reader_node_t *bk = cpn_reader_map_key(m, "block_tokens");
  if (bk && !reads_hashes(d))
    cpn_reader_report(c, bk, "demand.trace.block_tokens",
                      "has no effect without block hashes (set hash_col, or use mapping jsonl-ms, whose rows carry "
                      "hash_ids)");
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
                        "missing required key '%s' (mapping 'custom' needs time_col, prompt_col and output_col)",
                        custom_required[i]);
}

void cpn_schema_demand_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_demand_spec_t *d)
{
  const cpn_reader_node_t *demand = cpn_reader_get_map(c, root, "demand", "demand", "");
  if (demand)
    cpn_reader_map_fields(c, demand, "demand", &cpn_schema_demand_section, d);
  else
    cpn_reader_apply_defaults(&cpn_schema_demand_section, d);
  map_diurnal(c, demand, d);
  map_diurnal_interp(c, demand, d);
  map_trace(c, demand, d);
}

/* demand.trace, when a trace is replayed: format and time_unit only for mapping custom, empty column
 * names not at all, block_tokens only when block hashes are read (all would be rejected on reload). */
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
    if (!reads_hashes(d) && strcmp(fl->key, "block_tokens") == 0)
      continue;
    fprintf(f, "    %s: ", fl->key);
    cpn_reader_print_value(f, fl, d);
    fputc('\n', f);
  }
}

void cpn_schema_demand_print(FILE *f, const cpn_demand_spec_t *d)
{
  fputs("demand:\n", f);
  cpn_reader_print_block(f, &cpn_schema_demand_section, d, "  ", "  ");
  put_trace(f, d);
  fputs("  diurnal: ", f);
  if (!d->diurnal_enabled) {
    fputs("flat", f);
  } else if (memcmp(&d->diurnal, &CPN_DIURNAL_DEFAULT, sizeof CPN_DIURNAL_DEFAULT) == 0) {
    fputs("default", f);
  } else {
    fputc('[', f);
    for (int h = 0; h < 24; h++) {
      if (h)
        fputs(", ", f);
      cpn_reader_print_num(f, d->diurnal.hourly[h]);
    }
    fputc(']', f);
  }
  fputc('\n', f);
  if (d->diurnal_enabled && d->diurnal_step)
    fputs("  diurnal_interp: step\n", f);
}
