/* schema_topology: the `topology:` section of a scenario: nodes and links from GraphML, a SimGrid
 * platform or a generator (read by the importers of sim/topology/), added to the tree before it is
 * mapped, so that they are validated like written ones; with `sites: all`, every node becomes a site
 * made from site_template, and an origin when origins_per_site_rps is given.
 *
 * Owns the topology table. Invariants: exactly one source; a key that the source does not use is an
 * error; a value made here carries the location of the topology key that made it, so problems point at
 * the scenario line; the template is checked once, not once per site; when the section has a problem,
 * nothing is added, and the sites and origins it would have made are not also reported missing. */
#include "config/schema.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/generate.h"
#include "topology/geo.h"
#include "topology/import_graphml.h"
#include "topology/import_simgrid_xml.h"

static const char *const TOPO_GENERATORS[] = {"waxman", "barabasi", NULL};
static const char *const TOPO_SITES[] = {"none", "all", NULL};
typedef struct {
  int n;
  unsigned long seed;
  double bw_bps;
  double route_factor;
  int sites;                   /* index in TOPO_SITES */
  double origins_per_site_rps;
} topo_spec_t;
static const cpn_reader_field_t topology_fields[] = {
    {CPN_FLD_CUSTOM("graphml", CPN_T_STR)},
    {CPN_FLD_CUSTOM("simgrid_xml", CPN_T_STR)},
    {CPN_FLD_CUSTOM("generate", CPN_T_ENUM), .enums = TOPO_GENERATORS},
    {CPN_FLD("n", CPN_T_INT, topo_spec_t, n), CPN_IN(1, 100000)},
    {CPN_FLD("seed", CPN_T_ULONG, topo_spec_t, seed), .def = 1},
    {CPN_FLD("bw_bps", CPN_T_NUM, topo_spec_t, bw_bps), .def = 1e11, CPN_GE(CPN_MIN_BW_BPS)},
    {CPN_FLD("route_factor", CPN_T_NUM, topo_spec_t, route_factor), .def = CPN_ROUTE_FACTOR_DEFAULT,
     CPN_IN(1, CPN_ROUTE_FACTOR_MAX)},
    {CPN_FLD("sites", CPN_T_ENUM, topo_spec_t, sites), .enums = TOPO_SITES},
    {CPN_FLD_CUSTOM("site_template", CPN_T_MAP), .sub = &cpn_schema_site_template_section},
    {CPN_FLD("origins_per_site_rps", CPN_T_NUM, topo_spec_t, origins_per_site_rps), CPN_GE(0)},
};
const cpn_reader_section_t cpn_schema_topology_section = CPN_SECTION(topology_fields);

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

void cpn_schema_topology_expand(cpn_reader_t *c, cpn_reader_node_t *root)
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
  uint64_t p = cpn_reader_map_fields(c, t, "topology", &cpn_schema_topology_section, &ts);
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
                      "to replace an inherited source)", n_src);
  const struct {
    const char *key;
    int ok;
    const char *why;
  } rules[] = {{"n", which == 2, "only used by generate"},
               {"seed", which == 2, "only used by generate"},
               {"bw_bps", which != 1, "not used with simgrid_xml, whose links carry their bandwidth"},
               {"route_factor", which != 1, "not used with simgrid_xml, whose links carry their latency"},
               {"site_template", ts.sites == 1, "only used with sites: all"},
               {"origins_per_site_rps", ts.sites == 1, "only used with sites: all"}};
  for (size_t i = 0; i < sizeof rules / sizeof rules[0] && n_src == 1; i++) {
    const cpn_reader_node_t *k = cpn_reader_map_key(t, rules[i].key);
    char kp[CPN_PATH_LEN];
    cpn_reader_join(kp, "topology", rules[i].key);
    if (k && !rules[i].ok)
      cpn_reader_report(c, k, kp, "'%s' is %s", rules[i].key, rules[i].why);
  }
  if (which == 2 && !(p & cpn_reader_bit(&cpn_schema_topology_section, "n")))
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
      cpn_reader_map_fields(c, tmpl, "topology.site_template", &cpn_schema_site_template_section, &dummy);
      if (!cpn_reader_map_list(c, tmpl, "pools", "topology.site_template.pools", &cpn_schema_pool_section,
                               sizeof(cpn_pool_spec_t), &l)) {
        free(l.arr);
        cpn_reader_list_destroy(&l);
      }
      if (!cpn_reader_map_list(c, tmpl, "replicas", "topology.site_template.replicas", &cpn_schema_replica_section,
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
    for (int i = 0; i < nl && !err; i++) {
      links[i].bw_bps = ts.bw_bps;
      links[i].latency_s *= ts.route_factor; /* generated nodes all have coordinates */
    }
  } else {
    if (!cpn_reader_resolve_file(c, src, kp, which == 0 ? "the GraphML file" : "the SimGrid platform", path,
                                 sizeof path))
      return;
    if (which == 0)
      err = cpn_topology_graphml_read(path, &nodes, &nn, &links, &nl, ts.bw_bps, ts.route_factor);
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

  int all = ts.sites == 1,
      with_origins = all && (p & cpn_reader_bit(&cpn_schema_topology_section, "origins_per_site_rps"));
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
