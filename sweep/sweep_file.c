/* sweep_file: the sweep file (YAML, read by config/reader's strict reader) and the points it expands
 * to; point identity (a hash of what the run depends on) and the paths of a point's files.
 *
 *   name: policies-seeds-loads          # optional: the sweep's name (default: the file's base name)
 *   scenario: ../scenarios/tiny.yaml    # required, relative to this file
 *   out: tiny-sweep                     # optional output directory, relative to the working directory
 *   set: {run.duration_s: 60}           # optional: --set overrides of every point
 *   grid:                               # optional: the product of these axes (first key varies slowest)
 *     policy: [least-loaded, nearest]   #   policy and seed are cpnsim's --policy and --seed;
 *     seed: [1, 2, 3]                   #   any other key is a --set key
 *     demand.scale: [0.5, 1, 2]
 *   points:                             # optional: more points, each a mapping of the same kind of keys
 *     - {policy: nearest, demand.scale: 3}
 *
 * Owns nothing beyond the cpn_sweep_t it fills. Every problem is reported with file:line:col and key,
 * all of them in one pass; a point's --set keys and policy are checked with the scenario loader before
 * anything runs. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "sweep.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/reader.h"
#include "config/scenario.h"
#include "placement/policy.h"

static char *read_text(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 65536, n = 0;
  char *s = malloc(cap);
  size_t k;
  while (s && (k = fread(s + n, 1, cap - n - 1, f)) > 0) {
    n += k;
    if (n + 1 == cap) {
      char *t = realloc(s, cap *= 2);
      if (!t) {
        free(s);
        s = NULL;
      }
      s = t;
    }
  }
  fclose(f);
  if (s)
    s[n] = 0;
  return s;
}

static uint64_t fnv(uint64_t h, const char *s)
{
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return (h ^ 0xff) * 0x100000001b3ULL; /* a separator, so "ab","c" differs from "a","bc" */
}

cpn_err_t cpn_sweep_init(cpn_sweep_t *sw, const char *name, const char *scenario, const char *dir,
                         const char *const *cols)
{
  memset(sw, 0, sizeof *sw);
  snprintf(sw->name, sizeof sw->name, "%s", name);
  if (!realpath(scenario, sw->scenario))
    return cpn_error_set(CPN_EIO, "%s: %s", scenario, strerror(errno));
  if (!(sw->scenario_text = read_text(sw->scenario)))
    return cpn_error_set(CPN_EIO, "%s: cannot read", scenario);
  snprintf(sw->dir, sizeof sw->dir, "%s", dir);
  for (const char *const *c = cols; c && *c; c++)
    sw->n_cols++;
  sw->cols = calloc(sw->n_cols ? sw->n_cols : 1, sizeof *sw->cols);
  if (!sw->cols)
    return cpn_error_set(CPN_ENOMEM, "out of memory");
  for (int i = 0; i < sw->n_cols; i++)
    snprintf(sw->cols[i], CPN_SWEEP_STR, "%s", cols[i]);
  return CPN_OK;
}

int cpn_sweep_add_point(cpn_sweep_t *sw, const char *const *sets, int n, const char *const *params,
                        const char *policy, const char *seed)
{
  uint64_t h = fnv(0xcbf29ce484222325ULL, sw->scenario_text);
  for (int i = 0; i < n; i++)
    h = fnv(h, sets[i]);
  h = fnv(fnv(h, policy ? policy : ""), seed ? seed : "");
  char id[17];
  snprintf(id, sizeof id, "%016llx", (unsigned long long)h);
  for (int i = 0; i < sw->n_points; i++)
    if (!strcmp(sw->points[i].id, id))
      return i;
  if (sw->n_points == sw->cap_points) {
    int cap = sw->cap_points ? 2 * sw->cap_points : 16;
    cpn_sweep_point_t *p = realloc(sw->points, (size_t)cap * sizeof *p);
    if (!p)
      return -1;
    sw->points = p;
    sw->cap_points = cap;
  }
  cpn_sweep_point_t *p = &sw->points[sw->n_points];
  memset(p, 0, sizeof *p);
  p->sets = calloc(n ? (size_t)n : 1, sizeof *p->sets);
  p->params = calloc(sw->n_cols ? (size_t)sw->n_cols : 1, sizeof *p->params);
  if (!p->sets || !p->params) {
    free(p->sets);
    free(p->params);
    return -1;
  }
  p->n_sets = n;
  for (int i = 0; i < n; i++)
    snprintf(p->sets[i], CPN_SWEEP_STR, "%s", sets[i]);
  for (int i = 0; i < sw->n_cols; i++)
    snprintf(p->params[i], CPN_SWEEP_STR, "%s", params && params[i] ? params[i] : "");
  snprintf(p->policy, sizeof p->policy, "%s", policy ? policy : "");
  snprintf(p->seed, sizeof p->seed, "%s", seed ? seed : "");
  memcpy(p->id, id, sizeof id);
  p->exit_code = -1;
  p->wall_s = 0.0 / 0.0;
  return sw->n_points++;
}

void cpn_sweep_destroy(cpn_sweep_t *sw)
{
  if (!sw)
    return;
  for (int i = 0; i < sw->n_points; i++) {
    free(sw->points[i].sets);
    free(sw->points[i].params);
  }
  free(sw->points);
  free(sw->cols);
  free(sw->file_text);
  free(sw->scenario_text);
  memset(sw, 0, sizeof *sw);
}

void cpn_sweep_result_path(const cpn_sweep_t *sw, const cpn_sweep_point_t *p, char *out)
{
  snprintf(out, CPN_SWEEP_PATH, "%s/points/%s.h5", sw->dir, p->id);
}

void cpn_sweep_log_path(const cpn_sweep_t *sw, const cpn_sweep_point_t *p, char *out)
{
  snprintf(out, CPN_SWEEP_PATH, "%s/points/%s.log", sw->dir, p->id);
}

/* ---- Reading the file ----------------------------------------------------------------------------- */

static const char *const root_keys[] = {"name", "scenario", "out", "set", "grid", "points", NULL};

/* A scalar as a --set value: plain text as written, quoted text quoted again (the value is YAML). */
static int scalar_value(cpn_reader_t *r, const cpn_reader_node_t *v, const char *path, char *out, size_t size)
{
  if (!v || v->kind != CPN_READER_SCALAR || cpn_reader_is_null(v)) {
    char buf[64];
    cpn_reader_report(r, v, path, "expected a value (number or text), got %s", cpn_reader_show(v, buf, sizeof buf));
    return 0;
  }
  if (v->plain)
    snprintf(out, size, "%s", v->str);
  else
    snprintf(out, size, "\"%s\"", v->str);
  return 1;
}

typedef struct {
  const char *key;
  char val[CPN_SWEEP_STR];
} kv_t;

/* Turns one combination (key/value pairs) into a point. */
static int add_combo(cpn_sweep_t *sw, cpn_reader_t *r, const kv_t *common, int n_common, const kv_t *kv, int n,
                     int line)
{
  const char *sets[256], *params[256];
  char setbuf[256][CPN_SWEEP_STR];
  int ns = 0;
  const char *policy = "", *seed = "";
  for (int i = 0; i < sw->n_cols; i++)
    params[i] = "";
  for (int i = 0; i < n_common && ns < 256; i++) {
    snprintf(setbuf[ns], CPN_SWEEP_STR, "%s=%s", common[i].key, common[i].val);
    sets[ns] = setbuf[ns];
    ns++;
  }
  for (int i = 0; i < n; i++) {
    for (int c = 0; c < sw->n_cols; c++)
      if (!strcmp(sw->cols[c], kv[i].key))
        params[c] = kv[i].val;
    if (!strcmp(kv[i].key, "policy"))
      policy = kv[i].val;
    else if (!strcmp(kv[i].key, "seed"))
      seed = kv[i].val;
    else if (ns < 256) {
      snprintf(setbuf[ns], CPN_SWEEP_STR, "%s=%s", kv[i].key, kv[i].val);
      sets[ns] = setbuf[ns];
      ns++;
    }
  }
  int k = cpn_sweep_add_point(sw, sets, ns, params, policy, seed);
  if (k < 0) {
    cpn_reader_set_out_of_memory(r);
    return 0;
  }
  if (k == sw->n_points - 1)
    sw->points[k].line = line;
  return 1;
}

static int add_col(cpn_sweep_t *sw, const char *key)
{
  for (int i = 0; i < sw->n_cols; i++)
    if (!strcmp(sw->cols[i], key))
      return 1;
  char(*c)[CPN_SWEEP_STR] = realloc(sw->cols, (size_t)(sw->n_cols + 1) * sizeof *c);
  if (!c)
    return 0;
  sw->cols = c;
  snprintf(sw->cols[sw->n_cols++], CPN_SWEEP_STR, "%s", key);
  return 1;
}

/* A seed must be what cpnsim --seed takes: checked here so that the message names the sweep file. */
static int check_axis_value(cpn_reader_t *r, const cpn_reader_node_t *v, const char *key, const char *path,
                            const char *val)
{
  if (strcmp(key, "seed"))
    return 1;
  char *end;
  strtoul(val, &end, 10);
  if (!*val || *end || val[0] == '-') {
    cpn_reader_report(r, v, path, "a seed is a non-negative integer, got '%s'", val);
    return 0;
  }
  return 1;
}

/* Checks each point's overrides and policy with the scenario loader; the message names the line of the
 * sweep file that made the point. */
/* The line that wrote override `set` ("key=value"): its key in the grid, else in `set`, else `line`. */
static int line_of_set(const cpn_reader_node_t *root, const char *set, int line)
{
  char key[CPN_SWEEP_STR];
  snprintf(key, sizeof key, "%s", set);
  key[strcspn(key, "=")] = 0;
  const char *sections[] = {"grid", "set"};
  for (int i = 0; i < 2; i++) {
    const cpn_reader_node_t *m = cpn_reader_map_get(root, sections[i]), *k;
    if (m && (k = cpn_reader_map_key(m, key)))
      return k->line;
  }
  return line;
}

static void check_points(cpn_sweep_t *sw, cpn_reader_t *r, const char *file, const cpn_reader_node_t *root)
{
  cpn_policy_registry_t *reg = NULL;
  if (cpn_policy_registry_new(&reg)) {
    cpn_reader_set_out_of_memory(r);
    return;
  }
  int reported = 0;
  for (int i = 0; i < sw->n_points && reported < 5; i++) {
    cpn_sweep_point_t *p = &sw->points[i];
    const char *sets[260];
    char seedset[64];
    int n = 0;
    for (int k = 0; k < p->n_sets && n < 256; k++)
      sets[n++] = p->sets[k];
    if (p->seed[0]) {
      snprintf(seedset, sizeof seedset, "run.seed=%s", p->seed);
      sets[n++] = seedset;
    }
    cpn_scenario_t sc;
    cpn_err_t err = cpn_scenario_load(&sc, sw->scenario, sets, n);
    if (err) {
      /* The loader names the override as --set:<n>: point at the line of the sweep file that wrote it. */
      const char *m = strstr(cpn_error_message(), "--set:");
      int k = m ? atoi(m + 6) : 0, line = k >= 1 && k <= p->n_sets ? line_of_set(root, p->sets[k - 1], p->line) : p->line;
      cpn_reader_report_at(r, cpn_reader_intern(r, file), line, 1, "points",
                           "point %d: the scenario %s refuses its overrides:\n%s", i, sw->scenario,
                           cpn_error_message());
      reported++;
      continue;
    }
    const char *policy = p->policy[0] ? p->policy : sc.run.policy;
    if (cpn_policy_check_spec(reg, policy)) {
      cpn_reader_report_at(r, cpn_reader_intern(r, file), p->line, 1, "policy", "point %d: %s", i,
                           cpn_error_message());
      reported++;
    }
    cpn_scenario_destroy(&sc);
  }
  cpn_policy_registry_free(reg);
}

cpn_err_t cpn_sweep_load(cpn_sweep_t *sw, const char *path, const char *dir)
{
  memset(sw, 0, sizeof *sw);
  cpn_reader_t r;
  cpn_reader_init(&r);
  char *text = NULL;
  cpn_reader_node_t *root = cpn_reader_load(&r, path, NULL, &text);
  kv_t common[256];
  int n_common = 0;
  if (!root)
    goto done;
  if (root->kind != CPN_READER_MAP) {
    cpn_reader_report(&r, root, "", "a sweep file is a mapping (scenario, grid, points...)");
    goto done;
  }
  for (int i = 0; i < root->n; i++) {
    const char *k = root->keys[i]->str, *best = NULL;
    int known = 0, d = 3;
    for (const char *const *c = root_keys; *c; c++) {
      known |= !strcmp(k, *c);
      cpn_reader_suggest(k, *c, &best, &d);
    }
    if (!known)
      cpn_reader_report(&r, root->keys[i], k, "unknown key%s%s%s", best ? " (did you mean '" : "", best ? best : "",
                        best ? "'?)" : "");
  }
  char fname[CPN_SWEEP_PATH];
  snprintf(fname, sizeof fname, "%s", path);
  char *base = basename(fname), *dot = strrchr(base, '.');
  if (dot)
    *dot = 0;
  snprintf(sw->name, sizeof sw->name, "%s", base);
  const cpn_reader_node_t *v = cpn_reader_map_get(root, "name");
  if (v)
    cpn_reader_get_str(&r, v, "name", sw->name, sizeof sw->name, CPN_STR_NAME);
  v = cpn_reader_map_get(root, "scenario");
  char scen[CPN_SWEEP_PATH] = "";
  if (!v)
    cpn_reader_report_at(&r, cpn_reader_intern(&r, path), 0, 0, "scenario", "missing key: the scenario to sweep");
  else if (cpn_reader_resolve_file(&r, v, "scenario", "the scenario", scen, sizeof scen)) {
    if (!realpath(scen, sw->scenario) || !(sw->scenario_text = read_text(sw->scenario)))
      cpn_reader_report(&r, v, "scenario", "cannot read %s", scen);
  }
  snprintf(sw->dir, sizeof sw->dir, "%s", sw->name);
  if ((v = cpn_reader_map_get(root, "out")))
    cpn_reader_get_str(&r, v, "out", sw->dir, sizeof sw->dir, CPN_STR_NAME);
  if (dir)
    snprintf(sw->dir, sizeof sw->dir, "%s", dir);
  const cpn_reader_node_t *set = cpn_reader_get_map(&r, root, "set", "set", " of --set keys and values");
  for (int i = 0; set && i < set->n && n_common < 256; i++) {
    common[n_common].key = set->keys[i]->str;
    if (scalar_value(&r, set->vals[i], set->keys[i]->str, common[n_common].val, CPN_SWEEP_STR))
      n_common++;
  }
  const cpn_reader_node_t *grid = cpn_reader_get_map(&r, root, "grid", "grid", " of keys and lists of values");
  const cpn_reader_node_t *list = cpn_reader_map_get(root, "points");
  if (list && list->kind != CPN_READER_SEQ) {
    char buf[64];
    cpn_reader_report(&r, list, "points", "expected a list of mappings, got %s", cpn_reader_show(list, buf, sizeof buf));
    list = NULL;
  }
  if (!grid && !list)
    cpn_reader_report_at(&r, cpn_reader_intern(&r, path), 0, 0, "grid", "a sweep needs `grid` or `points`");
  if (!sw->scenario_text || cpn_reader_exhausted(&r))
    goto done;
  /* Parameter columns: the grid's keys, then keys that only the list has. */
  for (int i = 0; grid && i < grid->n; i++)
    if (!add_col(sw, grid->keys[i]->str))
      cpn_reader_set_out_of_memory(&r);
  for (int i = 0; list && i < list->n; i++) {
    const cpn_reader_node_t *m = list->vals[i];
    char kp[CPN_PATH_LEN];
    cpn_reader_join_index(kp, "points", i);
    if (m->kind != CPN_READER_MAP || m->n == 0) {
      char buf[64];
      cpn_reader_report(&r, m, kp, "expected a mapping of keys to values, got %s", cpn_reader_show(m, buf, sizeof buf));
      continue;
    }
    for (int k = 0; k < m->n; k++)
      if (!add_col(sw, m->keys[k]->str))
        cpn_reader_set_out_of_memory(&r);
  }
  /* The grid: a mixed-radix counter over its axes, the last axis varying fastest. */
  if (grid) {
    int n_ax = grid->n, total = 1, ok = 1;
    if (n_ax > 64)
      cpn_reader_report(&r, grid, "grid", "at most 64 axes");
    for (int a = 0; a < n_ax && a < 64; a++) {
      const cpn_reader_node_t *ax = grid->vals[a];
      const char *k = grid->keys[a]->str;
      if (ax->kind == CPN_READER_SCALAR) {
        ok &= scalar_value(&r, ax, k, (char[CPN_SWEEP_STR]){0}, CPN_SWEEP_STR); /* one value: an axis of one */
      } else if (ax->kind != CPN_READER_SEQ || ax->n == 0) {
        char buf[64];
        cpn_reader_report(&r, ax, k, "expected a list of values, got %s", cpn_reader_show(ax, buf, sizeof buf));
        ok = 0;
      } else {
        total *= ax->n;
        for (int j = 0; j < ax->n; j++) {
          char val[CPN_SWEEP_STR], kp[CPN_PATH_LEN];
          cpn_reader_join_index(kp, k, j);
          ok &= scalar_value(&r, ax->vals[j], kp, val, sizeof val) && check_axis_value(&r, ax->vals[j], k, kp, val);
        }
      }
      if (total > 1000000) {
        cpn_reader_report(&r, grid, "grid", "more than 1,000,000 points");
        ok = 0;
        break;
      }
    }
    for (int c = 0; ok && n_ax <= 64 && c < total; c++) {
      kv_t kv[64];
      int rem = c;
      for (int a = n_ax - 1; a >= 0; a--) {
        const cpn_reader_node_t *ax = grid->vals[a];
        const cpn_reader_node_t *val = ax->kind == CPN_READER_SEQ ? ax->vals[rem % ax->n] : ax;
        if (ax->kind == CPN_READER_SEQ)
          rem /= ax->n;
        kv[a].key = grid->keys[a]->str;
        scalar_value(&r, val, kv[a].key, kv[a].val, sizeof kv[a].val);
      }
      if (!add_combo(sw, &r, common, n_common, kv, n_ax, grid->line))
        break;
    }
  }
  for (int i = 0; list && i < list->n; i++) {
    const cpn_reader_node_t *m = list->vals[i];
    if (m->kind != CPN_READER_MAP || m->n == 0 || m->n > 64)
      continue;
    kv_t kv[64];
    int ok = 1;
    for (int k = 0; k < m->n; k++) {
      char kp[CPN_PATH_LEN];
      cpn_reader_pathf(kp, "points[%d].%s", i, m->keys[k]->str);
      kv[k].key = m->keys[k]->str;
      ok &= scalar_value(&r, m->vals[k], kp, kv[k].val, sizeof kv[k].val) &&
            check_axis_value(&r, m->vals[k], kv[k].key, kp, kv[k].val);
    }
    if (ok && !add_combo(sw, &r, common, n_common, kv, m->n, m->line))
      break;
  }
  if (!cpn_reader_failed(&r))
    check_points(sw, &r, path, root);
done:;
  cpn_err_t err = CPN_OK;
  if (cpn_reader_failed(&r) || !root) {
    err = cpn_reader_fail(&r);
    cpn_sweep_destroy(sw);
    free(text);
  } else {
    snprintf(sw->file, sizeof sw->file, "%s", path);
    sw->file_text = text;
  }
  cpn_reader_destroy(&r);
  return err;
}
