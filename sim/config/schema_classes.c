/* schema_classes: the `classes:` list of a scenario (service classes: mix share, SLOs, timeout,
 * confidentiality, bytes per token, and the prompt and output token-length distributions), read into
 * cpn_class_spec_t and printed back.
 *
 * Owns the class and distribution tables. Invariants: an absent list is one class named "default" with
 * every default; a distribution takes exactly the parameters its kind uses; the azure-* kinds are the
 * published Azure LLM inference fits (cpn_workload.h), of which only min and max may be changed, and a
 * printed class names them again. */
#include "config/schema.h"

#include <stddef.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/table.h"

/* The first five are cpn_dist_kind_t values; the azure-* ones copy CPN_AZURE_*. */
static const char *const DISTS[] = {"constant",          "lognormal",         "geometric",
                                    "exponential",       "empirical",         "azure-conv-prompt",
                                    "azure-conv-output", "azure-code-prompt", "azure-code-output", NULL};
#define N_PLAIN_DISTS 5
_Static_assert(CPN_DIST_EMPIRICAL == 4, "DISTS lists the cpn_dist_kind_t values in order");
/* dist empirical: values with probs (discrete) or with cdf (continuous between the points). */
static const char *const TABLE_COLS[] = {"probs", "cdf", NULL};
static const cpn_dist_t *const AZURE_DISTS[] = {&CPN_AZURE_CONV_PROMPT, &CPN_AZURE_CONV_OUTPUT,
                                                &CPN_AZURE_CODE_PROMPT, &CPN_AZURE_CODE_OUTPUT};

static const cpn_reader_field_t dist_fields[] = {
    {CPN_FLD_CUSTOM("dist", CPN_T_ENUM), .req = 1, .enums = DISTS},
    {CPN_FLD("mu", CPN_T_NUM, cpn_dist_t, mu)},
    {CPN_FLD("sigma", CPN_T_NUM, cpn_dist_t, sigma), CPN_GT(0)},
    {CPN_FLD("mean", CPN_T_NUM, cpn_dist_t, mean), CPN_GT(0)},
    {CPN_FLD("min", CPN_T_NUM, cpn_dist_t, min), .def = 1, CPN_GE(0)},
    {CPN_FLD("max", CPN_T_NUM, cpn_dist_t, max), .def = 0, CPN_GE(0)},
    {CPN_FLD_CUSTOM("values", CPN_T_CUSTOM)},
    {CPN_FLD_CUSTOM("probs", CPN_T_CUSTOM)},
    {CPN_FLD_CUSTOM("cdf", CPN_T_CUSTOM)},
    {CPN_FLD_CUSTOM("file", CPN_T_STR)},
};
static const cpn_reader_section_t dist_section = CPN_SECTION(dist_fields);

/* classes[].session: turns (a distribution) and the mean think time. */
static const cpn_reader_field_t session_fields[] = {
    {CPN_FLD_CUSTOM("turns", CPN_T_MAP), .req = 1, .sub = &dist_section},
    {CPN_FLD("think_s", CPN_T_NUM, cpn_class_spec_t, session_think_s), .req = 1, CPN_GT(0)},
};
static const cpn_reader_section_t session_section = CPN_SECTION(session_fields);

/* classes[].fanout: calls (a distribution) and the children's class. */
static const cpn_reader_field_t fanout_fields[] = {
    {CPN_FLD_CUSTOM("calls", CPN_T_MAP), .req = 1, .sub = &dist_section},
    {CPN_FLD_STR("class", cpn_class_spec_t, fanout_class_name), .check = CPN_STR_NAME},
};
static const cpn_reader_section_t fanout_section = CPN_SECTION(fanout_fields);

/* classes[].token_windows[]. */
static const cpn_reader_field_t window_fields[] = {
    {CPN_FLD("from_s", CPN_T_NUM, cpn_token_window_t, from_s), .req = 1, CPN_GE(0)},
    {CPN_FLD_CUSTOM("prompt_tokens", CPN_T_MAP), .sub = &dist_section},
    {CPN_FLD_CUSTOM("output_tokens", CPN_T_MAP), .sub = &dist_section},
};
static const cpn_reader_section_t window_section = CPN_SECTION(window_fields);

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
    {CPN_FLD_CUSTOM("session", CPN_T_MAP), .sub = &session_section},
    {CPN_FLD_CUSTOM("token_windows", CPN_T_LIST), .sub = &window_section},
    {CPN_FLD_CUSTOM("schedule", CPN_T_MAP), .sub = &cpn_schema_schedule_section},
    {CPN_FLD_STR("origin", cpn_class_spec_t, origin), .check = CPN_STR_NAME},
    {CPN_FLD("cv", CPN_T_NUM, cpn_class_spec_t, cv), CPN_GT(0)},
    {CPN_FLD_CUSTOM("fanout", CPN_T_MAP), .sub = &fanout_section},
    {CPN_FLD("block_hashes", CPN_T_BOOL, cpn_class_spec_t, block_hashes)},
    {CPN_FLD("system_prompts", CPN_T_INT, cpn_class_spec_t, system_prompts), CPN_IN(0, 1000000)},
    {CPN_FLD("system_prompt_tokens", CPN_T_INT, cpn_class_spec_t, system_prompt_tokens), CPN_IN(0, 1000000)},
};
const cpn_reader_section_t cpn_schema_class_section = CPN_SECTION(class_fields);

/* The table of a dist empirical: a block of 3n doubles (values, cdf, probs as given) owned by d.values
 * (cpn_scenario_destroy frees it). probs are normalised by their sum, which must be 1 within 1e-6 (a
 * table that does not sum to 1 is a mistake more often than a weight list). */
static int map_table(cpn_reader_t *c, const cpn_reader_node_t *m, const char *kp, cpn_dist_t *d)
{
  int n, which;
  double *v, *col;
  if (!cpn_table_read(c, m, kp, "values", TABLE_COLS, &n, &v, &col, &which))
    return 0;
  double *blk = realloc(v, (size_t)n * 3 * sizeof *blk);
  if (!blk) {
    free(v);
    cpn_reader_set_out_of_memory(c);
    return 0;
  }
  double *cdf = blk + n, *probs = blk + 2 * n;
  memcpy(probs, cdf, (size_t)n * sizeof *probs); /* the second column, as read */
  const char *why = NULL;
  if (which == 0) {
    double s = 0;
    for (int i = 0; i < n && !why; i++) {
      if (!(probs[i] >= 0))
        why = "probs must be >= 0";
      s += probs[i];
    }
    if (!why && fabs(s - 1) > 1e-6)
      why = "probs must sum to 1";
    double acc = 0;
    for (int i = 0; !why && i < n; i++)
      cdf[i] = i == n - 1 ? 1.0 : (acc += probs[i]) / s;
  } else {
    memset(probs, 0, (size_t)n * sizeof *probs);
  }
  if (!why)
    cpn_dist_check_table(n, blk, cdf, &why);
  if (why) {
    cpn_reader_report(c, m, kp, "dist 'empirical': %s%s", why,
                      which == 0 && strstr(why, "sum") ? " (within 1e-6)" : "");
    free(blk);
    return 0;
  }
  d->n = n;
  d->values = blk;
  d->cdf = cdf;
  d->interpolate = which == 1;
  return 1;
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
  cpn_dist_t d = {0};
  uint64_t p = cpn_reader_map_fields(c, m, kp, &dist_section, &d);
  const cpn_reader_node_t *dv = cpn_reader_map_get(m, "dist");
  int kind;
  char dp[CPN_PATH_LEN];
  cpn_reader_join(dp, kp, "dist");
  if (!dv || !cpn_reader_get_enum(c, dv, dp, DISTS, &kind))
    return;
  /* Parameters the chosen distribution does not use are mistakes, not silently ignored. */
  static const char *const params[] = {"mu", "sigma", "mean", "values", "probs", "cdf", "file"};
  int emp = kind == CPN_DIST_EMPIRICAL;
  const char *uses = kind == CPN_DIST_LOGNORMAL ? "mu, sigma, min, max"
                     : emp                      ? "values with probs or cdf, or file; min, max"
                     : kind < N_PLAIN_DISTS     ? "mean, min, max"
                                                : "min, max";
  for (int i = 0; i < 7; i++) {
    int used = kind == CPN_DIST_LOGNORMAL ? i < 2 : emp ? i >= 3 : kind < N_PLAIN_DISTS ? i == 2 : 0;
    if (emp && i >= 3) { /* the table's keys are checked by cpn_table_read */
      continue;
    }
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
  if (emp) {
    d.kind = CPN_DIST_EMPIRICAL;
    if (!map_table(c, m, kp, &d))
      return;
  } else if (kind < N_PLAIN_DISTS) {
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

/* A copy of d that owns its table (a window that inherits the class's empirical table gets its own, so
 * that every table has one owner). 0 when out of memory. */
static int dist_copy(cpn_reader_t *c, const cpn_dist_t *d, cpn_dist_t *out)
{
  *out = *d;
  if (d->kind != CPN_DIST_EMPIRICAL || !d->values)
    return 1;
  double *blk = malloc((size_t)d->n * 3 * sizeof *blk);
  if (!blk) {
    cpn_reader_set_out_of_memory(c);
    out->values = out->cdf = NULL;
    out->n = 0;
    return 0;
  }
  memcpy(blk, d->values, (size_t)d->n * 3 * sizeof *blk);
  out->values = blk;
  out->cdf = blk + d->n;
  return 1;
}

/* classes[].token_windows: time-varying token lengths (see cpn_token_window_t). */
static void map_windows(cpn_reader_t *c, const cpn_reader_node_t *cls, const char *ip, cpn_scenario_t *sc,
                        cpn_class_spec_t *k)
{
  char wp[CPN_PATH_LEN];
  cpn_reader_join(wp, ip, "token_windows");
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, cls, "token_windows", wp, &window_section, sizeof(cpn_token_window_t), &l))
    return;
  if (!l.list)
    return;
  k->token_windows = l.arr;
  k->n_token_windows = l.n;
  cpn_reader_require_items(c, &l, wp, "window");
  for (int w = 0; w < l.n; w++) {
    cpn_token_window_t *tw = &k->token_windows[w];
    char ep[CPN_PATH_LEN];
    cpn_reader_join_index(ep, wp, w);
    if (!dist_copy(c, &k->prompt_tokens, &tw->prompt_tokens) || !dist_copy(c, &k->output_tokens, &tw->output_tokens))
      continue;
    if (!l.items[w])
      continue;
    if (cpn_reader_map_get(l.items[w], "prompt_tokens")) {
      free((void *)tw->prompt_tokens.values);
      map_dist(c, l.items[w], "prompt_tokens", ep, &tw->prompt_tokens, &CPN_AZURE_CONV_PROMPT);
    }
    if (cpn_reader_map_get(l.items[w], "output_tokens")) {
      free((void *)tw->output_tokens.values);
      map_dist(c, l.items[w], "output_tokens", ep, &tw->output_tokens, &CPN_AZURE_CONV_OUTPUT);
    }
    if (w > 0 && !(tw->from_s > k->token_windows[w - 1].from_s)) {
      char fp[CPN_PATH_LEN];
      cpn_reader_join(fp, ep, "from_s");
      cpn_reader_report(c, cpn_reader_map_get(l.items[w], "from_s") ? cpn_reader_map_get(l.items[w], "from_s") : l.items[w],
                        fp, "windows must open at strictly increasing times (%g after %g)", tw->from_s,
                        k->token_windows[w - 1].from_s);
    }
  }
  if (sc->demand.trace_file[0] && l.n)
    cpn_reader_report(c, l.list, wp, "has no effect when demand.trace replays a trace (its rows give the tokens)");
  cpn_reader_list_destroy(&l);
}

/* classes[].session, when given: a conversation of `turns` requests (see cpn_class_spec_t). */
static void map_session(cpn_reader_t *c, const cpn_reader_node_t *cls, const char *ip, cpn_class_spec_t *k)
{
  char kp[CPN_PATH_LEN];
  cpn_reader_join(kp, ip, "session");
  const cpn_reader_node_t *m = cpn_reader_get_map(c, cls, "session", kp, " like {turns: {dist: geometric, mean: 3}, think_s: 30}");
  if (!m)
    return;
  cpn_class_spec_t tmp = {0};
  uint64_t p = cpn_reader_map_fields(c, m, kp, &session_section, &tmp);
  static const cpn_dist_t one = {.kind = CPN_DIST_CONSTANT, .mean = 1, .min = 1};
  if (!(p & cpn_reader_bit(&session_section, "turns")))
    return;
  map_dist(c, m, "turns", kp, &k->session_turns, &one);
  if (k->session_turns.kind == CPN_DIST_EMPIRICAL) {
    /* The table would be owned twice (scenario.c frees prompt and output tables only). */
    char tp[CPN_PATH_LEN];
    cpn_reader_join(tp, kp, "turns");
    cpn_reader_report(c, cpn_reader_map_get(m, "turns"), tp, "dist 'empirical' is not available for turns");
    free((void *)k->session_turns.values);
    k->session_turns = one;
    return;
  }
  k->session = 1;
  k->session_think_s = tmp.session_think_s;
}

/* classes[].schedule, origin and cv: a class arriving by its own process (see cpn_class_spec_t). Keys
 * that would have no effect are refused: share with a schedule, origin or cv without one, cv with an
 * arrival process that has none, any of them with a trace. */
static void map_class_schedule(cpn_reader_t *c, const cpn_reader_node_t *it, const char *ip, uint64_t present,
                               const cpn_scenario_t *sc, cpn_class_spec_t *k)
{
  char kp[CPN_PATH_LEN];
  const cpn_reader_node_t *sv = cpn_reader_map_get(it, "schedule");
  k->sched_origin = -1;
  if (sv && cpn_reader_is_null(sv))
    sv = NULL;
  if (sv && sc->demand.trace_file[0]) {
    cpn_reader_join(kp, ip, "schedule");
    cpn_reader_report(c, sv, kp, "has no effect when demand.trace replays a trace (its times are the arrivals)");
    return;
  }
  if (sv) {
    cpn_reader_join(kp, ip, "schedule");
    const cpn_reader_node_t *m = cpn_reader_get_map(c, it, "schedule", kp, " like {interp: step, t_s: [0, 3600], rate_rps: [2, 5]}");
    if (m)
      cpn_schema_schedule_map(c, m, kp, sc, "a class", &k->sched);
    if (present & cpn_reader_bit(&cpn_schema_class_section, "share")) {
      cpn_reader_join(kp, ip, "share");
      cpn_reader_report(c, cpn_reader_map_key(it, "share"), kp,
                        "has no effect on a class with a schedule (the schedule gives its rate)");
    }
    k->share = 0; /* the origins' processes never draw it */
  }
  static const char *const own[] = {"origin", "cv"};
  for (int j = 0; j < 2; j++) {
    const cpn_reader_node_t *v = cpn_reader_map_key(it, own[j]);
    if (!v)
      continue;
    cpn_reader_join(kp, ip, own[j]);
    if (!sv)
      cpn_reader_report(c, v, kp, "has no effect without classes[].schedule (the class then arrives with the "
                        "origins' processes)");
    else if (j == 1 && sc->demand.arrival != CPN_ARR_GAMMA && sc->demand.arrival != CPN_ARR_WEIBULL)
      cpn_reader_report(c, v, kp, "cv is only used by demand.arrival gamma or weibull (the arrival is %s)",
                        sc->demand.arrival == CPN_ARR_MMPP ? "mmpp" : "poisson");
    else if (j == 1 && k->sched.cv)
      cpn_reader_report(c, v, kp, "give cv or the schedule's cv per window, not both");
  }
}

/* classes[].fanout, when given (see cpn_class_spec_t); the children's class is resolved once every class
 * is read (resolve_fanout). */
static void map_fanout(cpn_reader_t *c, const cpn_reader_node_t *cls, const char *ip, const cpn_scenario_t *sc,
                       cpn_class_spec_t *k)
{
  char kp[CPN_PATH_LEN];
  cpn_reader_join(kp, ip, "fanout");
  const cpn_reader_node_t *m = cpn_reader_get_map(c, cls, "fanout", kp, " like {calls: {dist: constant, mean: 4}}");
  if (!m)
    return;
  uint64_t p = cpn_reader_map_fields(c, m, kp, &fanout_section, k);
  static const cpn_dist_t one = {.kind = CPN_DIST_CONSTANT, .mean = 1, .min = 1};
  if (!(p & cpn_reader_bit(&fanout_section, "calls")))
    return;
  map_dist(c, m, "calls", kp, &k->fanout_calls, &one);
  if (k->fanout_calls.kind == CPN_DIST_EMPIRICAL) {
    char tp[CPN_PATH_LEN];
    cpn_reader_join(tp, kp, "calls");
    cpn_reader_report(c, cpn_reader_map_get(m, "calls"), tp, "dist 'empirical' is not available for calls");
    free((void *)k->fanout_calls.values);
    k->fanout_calls = one;
    return;
  }
  if (sc->demand.trace_file[0])
    cpn_reader_report(c, m, kp, "has no effect when demand.trace replays a trace (its rows are the requests)");
  else if (k->session)
    cpn_reader_report(c, m, kp, "a class cannot both fan out and hold sessions (give the fan-out to another class)");
  else if (sc->run.gateway_max_in_flight > 0)
    cpn_reader_report(c, m, kp, "not with run.gateway_max_in_flight: parents waiting for their children would hold "
                      "the gateway's places the children wait for");
  k->fanout = 1;
}

/* Each fanout.class names a class. Fan-outs may chain (a planner's calls to agents that call tools: a
 * tree of requests), but not in a cycle of classes, which would never end; a class's fan-out into itself
 * is one level (those children do not fan out again). */
static void resolve_fanout(cpn_reader_t *c, const cpn_reader_list_t *l, cpn_scenario_t *sc)
{
  int ok = 1;
  for (int i = 0; i < sc->n_classes; i++) {
    cpn_class_spec_t *k = &sc->classes[i];
    if (!k->fanout)
      continue;
    k->fanout_class = i;
    if (!k->fanout_class_name[0])
      continue;
    char ip[CPN_PATH_LEN], kp[CPN_PATH_LEN];
    cpn_reader_join_index(ip, "classes", i);
    cpn_reader_join(kp, ip, "fanout.class");
    const cpn_reader_node_t *fm = l->items[i] ? cpn_reader_map_get(l->items[i], "fanout") : NULL;
    const cpn_reader_node_t *v = fm ? cpn_reader_map_get(fm, "class") : NULL;
    int j = 0;
    while (j < sc->n_classes && strcmp(sc->classes[j].name, k->fanout_class_name) != 0)
      j++;
    if (j == sc->n_classes) {
      cpn_reader_report(c, v ? v : l->list, kp, "'%s' is not a class of the scenario", k->fanout_class_name);
      ok = 0;
    } else {
      k->fanout_class = j;
    }
  }
  for (int i = 0; ok && i < sc->n_classes; i++) {
    int cur = i;
    for (int step = 0; step < sc->n_classes && sc->classes[cur].fanout && sc->classes[cur].fanout_class != cur; step++) {
      cur = sc->classes[cur].fanout_class;
      if (cur == i) {
        char ip[CPN_PATH_LEN], kp[CPN_PATH_LEN];
        cpn_reader_join_index(ip, "classes", i);
        cpn_reader_join(kp, ip, "fanout.class");
        const cpn_reader_node_t *fm = l->items[i] ? cpn_reader_map_get(l->items[i], "fanout") : NULL;
        const cpn_reader_node_t *v = fm ? cpn_reader_map_get(fm, "class") : NULL;
        cpn_reader_report(c, v ? v : l->list, kp, "the fan-outs from class '%s' come back to it: a cycle of "
                          "classes would never end", sc->classes[i].name);
        ok = 0;
        break;
      }
    }
  }
}

void cpn_schema_classes_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_scenario_t *sc)
{
  cpn_reader_list_t l;
  if (!cpn_reader_map_list(c, root, "classes", "classes", &cpn_schema_class_section, sizeof(cpn_class_spec_t), &l)) {
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
      map_session(c, l.items[i], ip, &sc->classes[i]);
      map_windows(c, l.items[i], ip, sc, &sc->classes[i]);
      sc->classes[i].line = l.items[i]->line;
      map_class_schedule(c, l.items[i], ip, l.present[i], sc, &sc->classes[i]);
      if (cpn_reader_map_get(l.items[i], "fanout") && !cpn_reader_is_null(cpn_reader_map_get(l.items[i], "fanout")))
        map_fanout(c, l.items[i], ip, sc, &sc->classes[i]);
      const cpn_class_spec_t *k = &sc->classes[i];
      char kp2[CPN_PATH_LEN];
      if ((k->system_prompts > 0) != (k->system_prompt_tokens > 0)) {
        const char *key = k->system_prompts > 0 ? "system_prompts" : "system_prompt_tokens";
        cpn_reader_join(kp2, ip, key);
        cpn_reader_report(c, cpn_reader_map_get(l.items[i], key), kp2,
                          "system_prompts and system_prompt_tokens go together (how many shared prompts, and "
                          "their length)");
      }
      static const char *const gen_only[] = {"block_hashes", "system_prompts"};
      for (int g = 0; g < 2 && sc->demand.trace_file[0]; g++)
        if (g ? k->system_prompts > 0 : k->block_hashes) {
          cpn_reader_join(kp2, ip, gen_only[g]);
          cpn_reader_report(c, cpn_reader_map_get(l.items[i], gen_only[g]), kp2,
                            "has no effect when demand.trace replays a trace (its rows are the requests; "
                            "demand.trace.hash_col gives their block hashes)");
        }
      if (sc->classes[i].session && sc->demand.trace_file[0]) {
        char sp[CPN_PATH_LEN];
        cpn_reader_join(sp, ip, "session");
        cpn_reader_report(c, cpn_reader_map_get(l.items[i], "session"), sp,
                          "has no effect when demand.trace replays a trace (its rows are the requests)");
      }
    }
    cpn_reader_check_unique_names(c, &l, sizeof(cpn_class_spec_t), offsetof(cpn_class_spec_t, name), "classes",
                                  "class");
    resolve_fanout(c, &l, sc);
    /* The shares are those of the classes that the origins' processes make (every class without a
     * schedule); when every class has its own schedule, there is no share to check. */
    int unscheduled = 0;
    for (int i = 0; i < l.n; i++)
      unscheduled += sc->classes[i].sched.n == 0;
    if (unscheduled)
      cpn_reader_check_shares(c, &l, sizeof(cpn_class_spec_t), offsetof(cpn_class_spec_t, share), "classes");
    cpn_reader_list_destroy(&l);
  }
  if (!l.list && !cpn_reader_out_of_memory(c)) { /* absent: one class with every default */
    if (!(sc->classes = calloc(1, sizeof *sc->classes))) {
      cpn_reader_set_out_of_memory(c);
    } else {
      sc->n_classes = 1;
      cpn_reader_apply_defaults(&cpn_schema_class_section, &sc->classes[0]);
      snprintf(sc->classes[0].name, sizeof sc->classes[0].name, "default");
      sc->classes[0].sched_origin = -1;
      sc->classes[0].prompt_tokens = CPN_AZURE_CONV_PROMPT;
      sc->classes[0].output_tokens = CPN_AZURE_CONV_OUTPUT;
    }
  }
}

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
  if (d->kind == CPN_DIST_EMPIRICAL) {
    /* A table read from a file is printed inline, so the printed scenario stands alone. */
    const double *second = d->interpolate ? d->cdf : d->cdf + d->n; /* probs as given follow cdf */
    for (int col = 0; col < 2; col++) {
      fputs(col ? (d->interpolate ? "], cdf: [" : "], probs: [") : "values: [", f);
      for (int i = 0; i < d->n; i++) {
        if (i)
          fputs(", ", f);
        cpn_reader_print_num(f, col ? second[i] : d->values[i]);
      }
    }
    fputs("]", f);
  } else if (d->kind == CPN_DIST_LOGNORMAL) {
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

void cpn_schema_classes_print(FILE *f, const cpn_scenario_t *sc)
{
  fputs("classes:", f);
  fputs(sc->n_classes ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_classes; i++) {
    const cpn_class_spec_t *k = &sc->classes[i];
    int nf = 0;
    for (int j = 0; j < cpn_schema_class_section.n; j++) {
      const cpn_reader_field_t *fl = &cpn_schema_class_section.f[j];
      if (fl->off == CPN_NOFF || (k->sched.n && strcmp(fl->key, "share") == 0) ||
          (!k->origin[0] && strcmp(fl->key, "origin") == 0) || (!(k->cv > 0) && strcmp(fl->key, "cv") == 0))
        continue;
      fprintf(f, "%s%s: ", nf++ ? "    " : "  - ", fl->key);
      cpn_reader_print_value(f, fl, k);
      fputc('\n', f);
    }
    if (k->sched.n) {
      fputs("    schedule: ", f);
      cpn_schema_schedule_print(f, &k->sched);
      fputc('\n', f);
    }
    fputs("    prompt_tokens: ", f);
    put_dist(f, &sc->classes[i].prompt_tokens);
    fputs("\n    output_tokens: ", f);
    put_dist(f, &sc->classes[i].output_tokens);
    fputc('\n', f);
    if (sc->classes[i].n_token_windows) {
      fputs("    token_windows:\n", f);
      for (int w = 0; w < sc->classes[i].n_token_windows; w++) {
        const cpn_token_window_t *tw = &sc->classes[i].token_windows[w];
        fputs("      - {from_s: ", f);
        cpn_reader_print_num(f, tw->from_s);
        fputs(", prompt_tokens: ", f);
        put_dist(f, &tw->prompt_tokens);
        fputs(", output_tokens: ", f);
        put_dist(f, &tw->output_tokens);
        fputs("}\n", f);
      }
    }
    if (k->fanout) {
      fputs("    fanout: {calls: ", f);
      put_dist(f, &k->fanout_calls);
      fputs(", class: ", f);
      cpn_reader_print_str(f, sc->classes[k->fanout_class].name);
      fputs("}\n", f);
    }
    if (sc->classes[i].session) {
      fputs("    session: {turns: ", f);
      put_dist(f, &sc->classes[i].session_turns);
      fputs(", think_s: ", f);
      cpn_reader_print_num(f, sc->classes[i].session_think_s);
      fputs("}\n", f);
    }
  }
}
