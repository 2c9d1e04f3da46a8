/* schema_origins: the `origins:` list of a scenario (where demand enters the network: entry node, rate,
 * country, time zone, access latency, residency), read into cpn_origin_spec_t and printed back.
 *
 * Owns the origin table. Invariants: at least one origin, names unique; an origin enters at an existing
 * site or node that links connect to some site; each residency entry is the region or country of some
 * site; country and time zone default to those of the entry place. Sites, nodes and links are read
 * before origins. */
#include "config/schema.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cpn_reader_field_t origin_fields[] = {
    {CPN_FLD_STR("name", cpn_origin_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("node", cpn_origin_spec_t, node), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("country", cpn_origin_spec_t, country), .check = CPN_STR_COUNTRY},
    {CPN_FLD("tz_h", CPN_T_NUM, cpn_origin_spec_t, tz_h), CPN_IN(-12, 14)},
    {CPN_FLD("access_latency_s", CPN_T_NUM, cpn_origin_spec_t, access_latency_s), .def = 0.002, CPN_GE(0)},
    {CPN_FLD("rate_rps", CPN_T_NUM, cpn_origin_spec_t, rate_rps), .req = 1, CPN_GE(0)},
    {CPN_FLD_CUSTOM("residency", CPN_T_STRLIST)},
};
const cpn_reader_section_t cpn_schema_origin_section = CPN_SECTION(origin_fields);

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
    cpn_schema_endpoint_t a = cpn_schema_find_endpoint(sc, sc->links[i].a),
                          b = cpn_schema_find_endpoint(sc, sc->links[i].b);
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
    int found = o->node[0] && cpn_schema_resolve_endpoint(c, sc, cpn_reader_map_get(it, "node"), kp, o->node, &e);
    if (!(l.present[i] & cpn_reader_bit(&cpn_schema_origin_section, "country"))) {
      const char *cc = !found ? "CN" : e.site >= 0 ? sc->sites[e.site].country : sc->nodes[e.node].country;
      snprintf(o->country, sizeof o->country, "%s", cc);
    }
    if (!(l.present[i] & cpn_reader_bit(&cpn_schema_origin_section, "tz_h")))
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

void cpn_schema_origins_print(FILE *f, const cpn_scenario_t *sc)
{
  fputs("origins:", f);
  fputs(sc->n_origins ? "\n" : " []\n", f);
  for (int i = 0; i < sc->n_origins; i++) {
    const cpn_origin_spec_t *o = &sc->origins[i];
    fputs("  - {", f);
    cpn_reader_print_flow(f, &cpn_schema_origin_section, o, 0);
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
