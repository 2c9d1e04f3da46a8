/* schema_origins: the `origins:` list of a scenario (where demand enters the network: entry node, rate
 * or rate schedule, burstiness, country, time zone, access latency, residency), read into
 * cpn_origin_spec_t and printed back.
 *
 * Owns the origin table. Invariants: at least one origin, names unique; an origin enters at an existing
 * site or node that links connect to some site; each residency entry is the region or country of some
 * site; country and time zone default to those of the entry place. Sites, nodes and links are read
 * before origins. */
#include "config/schema.h"
#include "config/table.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const INTERPS[] = {"step", "linear", NULL}; /* index = schedule_linear */
static const cpn_reader_field_t schedule_fields[] = {
    {CPN_FLD("interp", CPN_T_ENUM, cpn_origin_spec_t, schedule_linear), .enums = INTERPS},
    {CPN_FLD("period_s", CPN_T_NUM, cpn_origin_spec_t, schedule_period_s), CPN_GE(0)},
    {CPN_FLD_CUSTOM("t_s", CPN_T_CUSTOM)},
    {CPN_FLD_CUSTOM("rate_rps", CPN_T_CUSTOM)},
    {CPN_FLD_CUSTOM("file", CPN_T_STR)},
};
static const cpn_reader_section_t schedule_section = CPN_SECTION(schedule_fields);

static const cpn_reader_field_t origin_fields[] = {
    {CPN_FLD_STR("name", cpn_origin_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("node", cpn_origin_spec_t, node), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("country", cpn_origin_spec_t, country), .check = CPN_STR_COUNTRY},
    {CPN_FLD("tz_h", CPN_T_NUM, cpn_origin_spec_t, tz_h), CPN_IN(-12, 14)},
    {CPN_FLD("access_latency_s", CPN_T_NUM, cpn_origin_spec_t, access_latency_s), .def = 0.002, CPN_GE(0)},
    {CPN_FLD("rate_rps", CPN_T_NUM, cpn_origin_spec_t, rate_rps), CPN_GE(0)},
    {CPN_FLD_CUSTOM("residency", CPN_T_STRLIST)},
    {CPN_FLD("cv", CPN_T_NUM, cpn_origin_spec_t, cv), CPN_GT(0)},
    {CPN_FLD_CUSTOM("schedule", CPN_T_MAP), .sub = &schedule_section},
};
const cpn_reader_section_t cpn_schema_origin_section = CPN_SECTION(origin_fields);

/* origins[].schedule: windows of rates (inline lists t_s and rate_rps, or a CSV file with those columns). */
static const char *const RATE_COL[] = {"rate_rps", NULL};

/* The schedule of one origin: checked, then stored in o (window_t_s owns the block). */
static void map_schedule(cpn_reader_t *c, const cpn_reader_node_t *m, const char *sp, const cpn_scenario_t *sc,
                         cpn_origin_spec_t *o)
{
  cpn_origin_spec_t tmp = {0};
  cpn_reader_map_fields(c, m, sp, &schedule_section, &tmp);
  int n, which;
  double *t, *r;
  if (!cpn_table_read(c, m, sp, "t_s", RATE_COL, &n, &t, &r, &which))
    return;
  const cpn_reader_node_t *fv = cpn_reader_map_get(m, "file");
  const char *where = fv ? "the table in 'file'" : "t_s";
  int ok = 1;
  for (int i = 0; i < n && ok; i++) {
    if (!(t[i] >= 0) || (i > 0 && !(t[i] > t[i - 1]))) {
      cpn_reader_report(c, m, sp, "%s: window starts must be >= 0 and strictly increasing (row %d: %g after %g)", where,
                        i + 1, t[i], i ? t[i - 1] : 0.0);
      ok = 0;
    } else if (!(r[i] >= 0)) {
      cpn_reader_report(c, m, sp, "%s: rate_rps must be >= 0 (row %d: %g)", where, i + 1, r[i]);
      ok = 0;
    }
  }
  if (ok && tmp.schedule_period_s > 0 && (t[0] != 0 || !(tmp.schedule_period_s > t[n - 1]))) {
    cpn_reader_report(c, m, sp, "a periodic schedule must start at t_s 0 and end before period_s (%g); its last "
                      "window starts at %g", tmp.schedule_period_s, t[n - 1]);
    ok = 0;
  }
  int any = 0;
  for (int i = 0; i < n; i++)
    any |= r[i] > 0;
  if (ok && !any) {
    cpn_reader_report(c, m, sp, "every rate is 0 (give the origin rate_rps: 0 to switch it off)");
    ok = 0;
  }
  if (ok && sc->demand.diurnal_enabled) {
    cpn_reader_report(c, m, sp, "an origin with a schedule does not follow demand.diurnal: set demand.diurnal to "
                      "flat, or write the profile into the schedule");
    ok = 0;
  }
  if (ok && sc->demand.arrival == CPN_ARR_MMPP) {
    cpn_reader_report(c, m, sp, "demand.arrival mmpp cannot follow a schedule (its burst and calm times are in "
                      "seconds); use poisson, gamma or weibull");
    ok = 0;
  }
  if (!ok) {
    free(t);
    return;
  }
  o->n_windows = n;
  o->window_t_s = t;
  o->window_rate_rps = r;
  o->schedule_period_s = tmp.schedule_period_s;
  o->schedule_linear = tmp.schedule_linear;
}

/* rate_rps or schedule (one of them), and cv only where the arrival process uses it. */
static void map_workload(cpn_reader_t *c, const cpn_reader_node_t *it, const char *ip, uint64_t present,
                         const cpn_scenario_t *sc, cpn_origin_spec_t *o)
{
  char kp[CPN_PATH_LEN];
  int has_rate = (present & cpn_reader_bit(&cpn_schema_origin_section, "rate_rps")) != 0;
  const cpn_reader_node_t *sv = cpn_reader_map_get(it, "schedule");
  cpn_reader_join(kp, ip, "schedule");
  if (sv && cpn_reader_is_null(sv))
    sv = NULL;
  if (sv && has_rate)
    cpn_reader_report(c, cpn_reader_map_key(it, "rate_rps"), kp,
                      "give rate_rps or schedule, not both (the schedule's rate_rps are the origin's rates)");
  else if (!sv && !has_rate)
    cpn_reader_report(c, it, ip, "missing required key 'rate_rps' (or a 'schedule' of rates)");
  else if (sv && sc->demand.trace_file[0])
    cpn_reader_report(c, sv, kp, "a schedule has no effect when demand.trace replays a trace (its times are the "
                      "arrivals)");
  else if (sv) {
    const cpn_reader_node_t *m = cpn_reader_get_map(c, it, "schedule", kp, " like {interp: step, t_s: [0, 3600], rate_rps: [2, 5]}");
    if (m)
      map_schedule(c, m, kp, sc, o);
  }
  const cpn_reader_node_t *cv = cpn_reader_map_key(it, "cv");
  if (cv && sc->demand.trace_file[0]) {
    cpn_reader_join(kp, ip, "cv");
    cpn_reader_report(c, cv, kp, "cv has no effect when demand.trace replays a trace");
  } else if (cv && sc->demand.arrival != CPN_ARR_GAMMA && sc->demand.arrival != CPN_ARR_WEIBULL) {
    cpn_reader_join(kp, ip, "cv");
    cpn_reader_report(c, cv, kp, "cv is only used by demand.arrival gamma or weibull (the arrival is %s)",
                      sc->demand.arrival == CPN_ARR_MMPP ? "mmpp" : "poisson");
  }
}

/* Union-find over sites and nodes, to find origins that no link connects to any site. */
static int uf_find(int *parent, int i)
{
  while (parent[i] != i)
    i = parent[i] = parent[parent[i]];
  return i;
}

void cpn_schema_origins_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_schema_mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, root, "origins", "origins", &cpn_schema_origin_section, sizeof(cpn_origin_spec_t), &l))
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
    cpn_schema_endpoint_t a = cpn_schema_find_endpoint(mp, sc->links[i].a),
                          b = cpn_schema_find_endpoint(mp, sc->links[i].b);
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
    cpn_schema_endpoint_t e = {-1, -1};
    int found = o->node[0] && cpn_schema_resolve_endpoint(c, mp, cpn_reader_map_get(it, "node"), kp, o->node, &e);
    if (!(l.present[i] & cpn_reader_bit(&cpn_schema_origin_section, "country"))) {
      const char *cc = !found ? "CN" : e.site >= 0 ? sc->sites[e.site].country : sc->nodes[e.node].country;
      snprintf(o->country, sizeof o->country, "%s", cc);
    }
    if (!(l.present[i] & cpn_reader_bit(&cpn_schema_origin_section, "tz_h")))
      o->tz_h = found && e.site >= 0 ? sc->sites[e.site].tz_h : 8;
    if (found && e.site < 0 && !has_site[uf_find(parent, sc->n_sites + e.node)])
      cpn_reader_report(c, cpn_reader_map_get(it, "node"), kp, "node '%s' is not connected by links to any site",
                        o->node);
    map_workload(c, it, ip, l.present[i], sc, o);

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

void cpn_schema_origins_print(FILE *f, const cpn_scenario_t *sc)
{
  fputs("origins:", f);
  fputs(sc->n_origins ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_origins; i++) {
    const cpn_origin_spec_t *o = &sc->origins[i];
    fputs("  - {", f);
    int comma = 0;
    for (int k = 0; k < cpn_schema_origin_section.n; k++) {
      const cpn_reader_field_t *fl = &cpn_schema_origin_section.f[k];
      if (fl->off == CPN_NOFF || (o->n_windows && strcmp(fl->key, "rate_rps") == 0) ||
          (!(o->cv > 0) && strcmp(fl->key, "cv") == 0))
        continue;
      fprintf(f, "%s%s: ", comma++ ? ", " : "", fl->key);
      cpn_reader_print_value(f, fl, o);
    }
    if (o->n_windows) {
      fprintf(f, ", schedule: {interp: %s, period_s: ", INTERPS[o->schedule_linear ? 1 : 0]);
      cpn_reader_print_num(f, o->schedule_period_s);
      for (int col = 0; col < 2; col++) {
        fputs(col ? "], rate_rps: [" : ", t_s: [", f);
        const double *v = col ? o->window_rate_rps : o->window_t_s;
        for (int k = 0; k < o->n_windows; k++) {
          if (k)
            fputs(", ", f);
          cpn_reader_print_num(f, v[k]);
        }
      }
      fputs("]}", f);
    }
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
}
