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

static const char *const INTERPS[] = {"step", "linear", NULL}; /* index = cpn_schedule_spec_t.linear */
static const cpn_reader_field_t schedule_fields[] = {
    {CPN_FLD("interp", CPN_T_ENUM, cpn_schedule_spec_t, linear), .enums = INTERPS},
    {CPN_FLD("period_s", CPN_T_NUM, cpn_schedule_spec_t, period_s), CPN_GE(0)},
    {CPN_FLD_CUSTOM("t_s", CPN_T_CUSTOM)},
    {CPN_FLD_CUSTOM("rate_rps", CPN_T_CUSTOM)},
    {CPN_FLD_CUSTOM("cv", CPN_T_CUSTOM)},
    {CPN_FLD_CUSTOM("file", CPN_T_STR)},
};
const cpn_reader_section_t cpn_schema_schedule_section = CPN_SECTION(schedule_fields);

static const cpn_reader_field_t origin_fields[] = {
    {CPN_FLD_STR("name", cpn_origin_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("node", cpn_origin_spec_t, node), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("country", cpn_origin_spec_t, country), .check = CPN_STR_COUNTRY},
    {CPN_FLD("tz_h", CPN_T_NUM, cpn_origin_spec_t, tz_h), CPN_IN(-12, 14)},
    {CPN_FLD("access_latency_s", CPN_T_NUM, cpn_origin_spec_t, access_latency_s), .def = 0.002, CPN_GE(0)},
    {CPN_FLD("rate_rps", CPN_T_NUM, cpn_origin_spec_t, rate_rps), CPN_GE(0)},
    {CPN_FLD_CUSTOM("residency", CPN_T_STRLIST)},
    {CPN_FLD("cv", CPN_T_NUM, cpn_origin_spec_t, cv), CPN_GT(0)},
    {CPN_FLD_CUSTOM("schedule", CPN_T_MAP), .sub = &cpn_schema_schedule_section},
};
const cpn_reader_section_t cpn_schema_origin_section = CPN_SECTION(origin_fields);

/* A schedule's table: t_s with rate_rps (inline lists or a CSV file with those columns). */
static const char *const RATE_COL[] = {"rate_rps", NULL};
static const char *const CV_COL[] = {"cv", NULL};

/* The CV of each window: the inline list cv (as long as t_s), or the file's column cv when its header
 * has one. Returns 1 (with *cv NULL when there is none) or 0 after reporting. */
static int map_schedule_cv(cpn_reader_t *c, const cpn_reader_node_t *m, const char *sp, int n, double **cv)
{
  *cv = NULL;
  const cpn_reader_node_t *fv = cpn_reader_map_get(m, "file");
  if (fv && !cpn_reader_map_get(m, "cv") && !cpn_table_has_column(c, m, sp, "cv"))
    return 1;
  if (!fv && !cpn_reader_map_get(m, "cv"))
    return 1;
  int n2, which;
  double *t2, *v;
  if (!cpn_table_read(c, m, sp, "t_s", CV_COL, &n2, &t2, &v, &which))
    return 0;
  const char *where = fv ? "the table in 'file'" : "cv";
  int ok = n2 == n;
  for (int i = 0; i < n2 && ok; i++)
    if (!(v[i] > 0)) {
      cpn_reader_report(c, m, sp, "%s: a window's cv must be > 0 (row %d: %g)", where, i + 1, v[i]);
      ok = 0;
    }
  if (ok && (*cv = malloc((size_t)n * sizeof **cv)) != NULL)
    memcpy(*cv, v, (size_t)n * sizeof **cv);
  else if (ok)
    cpn_reader_set_out_of_memory(c), ok = 0;
  free(t2);
  return ok;
}

void cpn_schema_schedule_map(cpn_reader_t *c, const cpn_reader_node_t *m, const char *sp, const cpn_scenario_t *sc,
                             const char *owner, cpn_schedule_spec_t *out)
{
  cpn_schedule_spec_t tmp = {0};
  cpn_reader_map_fields(c, m, sp, &cpn_schema_schedule_section, &tmp);
  int n, which;
  double *t, *r, *cv = NULL;
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
  if (ok && tmp.period_s > 0 && (t[0] != 0 || !(tmp.period_s > t[n - 1]))) {
    cpn_reader_report(c, m, sp, "a periodic schedule must start at t_s 0 and end before period_s (%g); its last "
                      "window starts at %g", tmp.period_s, t[n - 1]);
    ok = 0;
  }
  int any = 0;
  for (int i = 0; i < n; i++)
    any |= r[i] > 0;
  if (ok && !any) {
    cpn_reader_report(c, m, sp, "every rate is 0 (give %s rate_rps: 0 to switch it off)",
                      strcmp(owner, "an origin") == 0 ? "the origin" : "the class share: 0 and no schedule");
    ok = 0;
  }
  if (ok && sc->demand.diurnal_enabled) {
    cpn_reader_report(c, m, sp, "%s with a schedule does not follow demand.diurnal: set demand.diurnal to "
                      "flat, or write the profile into the schedule", owner);
    ok = 0;
  }
  if (ok && sc->demand.arrival == CPN_ARR_MMPP) {
    cpn_reader_report(c, m, sp, "demand.arrival mmpp cannot follow a schedule (its burst and calm times are in "
                      "seconds); use poisson, gamma or weibull");
    ok = 0;
  }
  if (ok && !map_schedule_cv(c, m, sp, n, &cv))
    ok = 0;
  if (ok && cv && sc->demand.arrival != CPN_ARR_GAMMA && sc->demand.arrival != CPN_ARR_WEIBULL) {
    char kp[CPN_PATH_LEN];
    cpn_reader_join(kp, sp, "cv");
    cpn_reader_report(c, cpn_reader_map_get(m, "cv") ? cpn_reader_map_get(m, "cv") : m, kp,
                      "a CV per window is only used by demand.arrival gamma or weibull (the arrival is poisson)");
    ok = 0;
  }
  if (!ok) {
    free(t);
    free(cv);
    return;
  }
  *out = (cpn_schedule_spec_t){.n = n, .t_s = t, .rate_rps = r, .cv = cv, .period_s = tmp.period_s,
                               .linear = tmp.linear};
}

void cpn_schema_schedule_print(FILE *f, const cpn_schedule_spec_t *s)
{
  fprintf(f, "{interp: %s, period_s: ", INTERPS[s->linear ? 1 : 0]);
  cpn_reader_print_num(f, s->period_s);
  for (int col = 0; col < 3; col++) {
    const double *v = col == 2 ? s->cv : col ? s->rate_rps : s->t_s;
    if (!v)
      continue;
    fputs(col == 2 ? "], cv: [" : col ? "], rate_rps: [" : ", t_s: [", f);
    for (int k = 0; k < s->n; k++) {
      if (k)
        fputs(", ", f);
      cpn_reader_print_num(f, v[k]);
    }
  }
  fputs("]}", f);
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
      cpn_schema_schedule_map(c, m, kp, sc, "an origin", &o->sched);
  }
  const cpn_reader_node_t *cv = cpn_reader_map_key(it, "cv");
  if (cv && sc->demand.trace_file[0]) {
    cpn_reader_join(kp, ip, "cv");
    cpn_reader_report(c, cv, kp, "cv has no effect when demand.trace replays a trace");
  } else if (cv && o->sched.cv) {
    cpn_reader_join(kp, ip, "cv");
    cpn_reader_report(c, cv, kp, "give cv or the schedule's cv per window, not both");
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

/* Classes with their own schedule (classes are read before origins): each `origin` names an origin;
 * without one the class's arrivals are spread by the origins' rate_rps, which must then not all be 0.
 * When every class has a schedule, the origins' own rates would make nothing: refused unless 0. */
static void map_class_origins(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_scenario_t *sc)
{
  const cpn_reader_node_t *cl = cpn_reader_map_get(root, "classes");
  if (!cl || cl->kind != CPN_READER_SEQ || cl->n != sc->n_classes)
    return;
  int scheduled = 0, drawn = 0;
  double weight = 0;
  for (int o = 0; o < sc->n_origins; o++)
    weight += sc->origins[o].rate_rps;
  for (int i = 0; i < sc->n_classes; i++) {
    cpn_class_spec_t *k = &sc->classes[i];
    if (!k->sched.n)
      continue;
    scheduled++;
    char ip[CPN_PATH_LEN], kp[CPN_PATH_LEN];
    cpn_reader_join_index(ip, "classes", i);
    k->sched_origin = -1;
    if (k->origin[0]) {
      cpn_reader_join(kp, ip, "origin");
      for (int o = 0; o < sc->n_origins && k->sched_origin < 0; o++)
        if (strcmp(sc->origins[o].name, k->origin) == 0)
          k->sched_origin = o;
      if (k->sched_origin < 0)
        cpn_reader_report(c, cpn_reader_map_get(cl->vals[i], "origin"), kp, "'%s' is not an origin of the scenario",
                          k->origin);
    } else if (drawn++, !(weight > 0)) {
      cpn_reader_join(kp, ip, "schedule");
      cpn_reader_report(c, cpn_reader_map_get(cl->vals[i], "schedule"), kp,
                        "name the class's origin (classes[].origin): every origin's rate_rps is 0, so none can "
                        "be drawn by rate");
    }
  }
  /* Every class on its own schedule: the origins' processes make nothing. Their rate_rps still weigh
   * where the classes without an origin arrive; otherwise they, and any origin schedule, are no-ops. */
  if (scheduled == sc->n_classes)
    for (int o = 0; o < sc->n_origins; o++)
      if (sc->origins[o].sched.n || (sc->origins[o].rate_rps > 0 && drawn == 0)) {
        cpn_reader_report(c, cl, "classes", "every class has its own schedule, so origins.%s's %s has no effect: "
                          "give it rate_rps: 0%s", sc->origins[o].name, sc->origins[o].sched.n ? "schedule" : "rate_rps",
                          sc->origins[o].sched.n ? "" : " (the origins' rates only weigh classes without an origin)");
        break;
      }
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
  map_class_origins(c, root, sc);
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
      if (fl->off == CPN_NOFF || (o->sched.n && strcmp(fl->key, "rate_rps") == 0) ||
          (!(o->cv > 0) && strcmp(fl->key, "cv") == 0))
        continue;
      fprintf(f, "%s%s: ", comma++ ? ", " : "", fl->key);
      cpn_reader_print_value(f, fl, o);
    }
    if (o->sched.n) {
      fputs(", schedule: ", f);
      cpn_schema_schedule_print(f, &o->sched);
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
