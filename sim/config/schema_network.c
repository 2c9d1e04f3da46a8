/* schema_network: the `nodes:` and `links:` lists of a scenario (places that are not sites, and the
 * links between sites and nodes), read into cpn_node_spec_t and cpn_link_spec_t and printed back; the
 * lookup of a site or node by name that links and origins share.
 *
 * Owns the node and link tables. Invariants: sites and nodes share one namespace; a link joins two
 * different existing places, at most one link per pair; a link without latency_s gets the great-circle
 * distance between its ends times the route factor over the speed of light in fibre, which needs both
 * ends' lat and lon.
 * Sites are read before nodes, nodes before links. */
#include "config/schema.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/geo.h"

#define EARTH_RADIUS_M 6371.0e3 /* mean Earth radius, as cpn_topology_great_circle_m */
#define PI 3.14159265358979323846

static const cpn_reader_field_t node_fields[] = {
    {CPN_FLD_STR("name", cpn_node_spec_t, name), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("country", cpn_node_spec_t, country), .sdef = "CN", .check = CPN_STR_COUNTRY},
    {CPN_FLD("lat", CPN_T_NUM, cpn_node_spec_t, lat_deg), CPN_IN(-90, 90)},
    {CPN_FLD("lon", CPN_T_NUM, cpn_node_spec_t, lon_deg), CPN_IN(-180, 180)},
};
const cpn_reader_section_t cpn_schema_node_section = CPN_SECTION(node_fields);

static const cpn_reader_field_t link_fields[] = {
    {CPN_FLD_STR("a", cpn_link_spec_t, a), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD_STR("b", cpn_link_spec_t, b), .req = 1, .check = CPN_STR_NAME},
    {CPN_FLD("latency_s", CPN_T_NUM, cpn_link_spec_t, latency_s), CPN_GE(0)},
    {CPN_FLD("bw_bps", CPN_T_NUM, cpn_link_spec_t, bw_bps), .req = 1, CPN_GE(CPN_MIN_BW_BPS)},
    {CPN_FLD("shared", CPN_T_BOOL, cpn_link_spec_t, shared)},
    /* Read by hand (only without latency_s) and not printed back: a printed link carries its latency. */
    {CPN_FLD_CUSTOM("route_factor", CPN_T_NUM)},
};
const cpn_reader_section_t cpn_schema_link_section = CPN_SECTION(link_fields);

cpn_schema_endpoint_t cpn_schema_find_endpoint(cpn_schema_mapping_t *mp, const char *name)
{
  const cpn_scenario_t *sc = mp->sc;
  cpn_schema_endpoint_t e = {-1, -1};
  if (!mp->endpoints && (mp->endpoints = cpn_name_index_new(sc->n_sites + sc->n_nodes))) {
    /* Sites first, so that a name used by both (an error reported elsewhere) finds the site, as the
     * scan below does. */
    for (int i = 0; i < sc->n_sites + sc->n_nodes && mp->endpoints; i++)
      if (cpn_name_index_put(mp->endpoints, i < sc->n_sites ? sc->sites[i].name : sc->nodes[i - sc->n_sites].name,
                             i) == -2) {
        cpn_name_index_free(mp->endpoints);
        mp->endpoints = NULL;
      }
  }
  if (mp->endpoints) {
    int k = cpn_name_index_get(mp->endpoints, name);
    if (k >= 0 && k < sc->n_sites)
      e.site = k;
    else if (k >= 0)
      e.node = k - sc->n_sites;
    return e;
  }
  for (int i = 0; i < sc->n_sites && e.site < 0; i++)
    if (strcmp(sc->sites[i].name, name) == 0)
      e.site = i;
  for (int i = 0; i < sc->n_nodes && e.site < 0 && e.node < 0; i++)
    if (strcmp(sc->nodes[i].name, name) == 0)
      e.node = i;
  return e;
}

int cpn_schema_resolve_endpoint(cpn_reader_t *c, cpn_schema_mapping_t *mp, const cpn_reader_node_t *v, const char *path,
                                const char *name, cpn_schema_endpoint_t *e)
{
  const cpn_scenario_t *sc = mp->sc;
  *e = cpn_schema_find_endpoint(mp, name);
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

void cpn_schema_nodes_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_schema_mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, root, "nodes", "nodes", &cpn_schema_node_section, sizeof(cpn_node_spec_t), &l))
    return;
  sc->nodes = l.arr;
  sc->n_nodes = l.n;
  if (l.n && !(mp->node_geo = calloc((size_t)l.n, 1))) {
    cpn_reader_set_out_of_memory(c);
    cpn_reader_list_destroy(&l);
    return;
  }
  for (int i = 0; i < l.n; i++)
    mp->node_geo[i] = (l.present[i] & cpn_reader_bit(&cpn_schema_node_section, "lat")) &&
                      (l.present[i] & cpn_reader_bit(&cpn_schema_node_section, "lon"));
  cpn_reader_check_unique_names(c, &l, sizeof(cpn_node_spec_t), offsetof(cpn_node_spec_t, name), "nodes", "node");
  /* Sites and nodes share one namespace: links and origins name either. The sites' names in a hash index
   * (a GraphML or SimGrid topology may have many nodes and sites). */
  cpn_name_index_t *site_names = cpn_name_index_new(sc->n_sites);
  for (int j = 0; site_names && j < sc->n_sites; j++)
    if (cpn_name_index_put(site_names, sc->sites[j].name, j) == -2) {
      cpn_name_index_free(site_names);
      site_names = NULL;
    }
  if (!site_names)
    cpn_reader_set_out_of_memory(c);
  for (int i = 0; site_names && i < l.n; i++) {
    if (!l.items[i] || !sc->nodes[i].name[0])
      continue;
    int j = cpn_name_index_get(site_names, sc->nodes[i].name);
    if (j >= 0) {
      char ip[CPN_PATH_LEN];
      cpn_reader_pathf(ip, "nodes[%d].name", i);
      cpn_reader_report(c, cpn_reader_map_get(l.items[i], "name"), ip,
                        "name '%s' is already used by site %d (sites and nodes share names)", sc->nodes[i].name, j);
    }
  }
  cpn_name_index_free(site_names);
  cpn_reader_list_destroy(&l);
}

void cpn_schema_links_map(cpn_reader_t *c, const cpn_reader_node_t *root, cpn_schema_mapping_t *mp)
{
  cpn_scenario_t *sc = mp->sc;
  cpn_reader_list_t l;
  if (cpn_reader_map_list(c, root, "links", "links", &cpn_schema_link_section, sizeof(cpn_link_spec_t), &l))
    return;
  sc->links = l.arr;
  sc->n_links = l.n;
  /* Links seen so far by their two ends ("lower:higher" endpoint numbers), so that a second link between
   * the same places is found in O(1), not by a scan of the links before it. */
  char (*pair_keys)[24] = malloc(sizeof *pair_keys * ((size_t)l.n + 1));
  cpn_name_index_t *pairs = cpn_name_index_new(l.n);
  if (!pair_keys || !pairs) {
    free(pair_keys);
    cpn_name_index_free(pairs);
    cpn_reader_list_destroy(&l);
    cpn_reader_set_out_of_memory(c);
    return;
  }
  for (int i = 0; i < l.n; i++) {
    cpn_link_spec_t *k = &sc->links[i];
    const cpn_reader_node_t *it = l.items[i];
    if (!it)
      continue;
    k->line = it->line;
    char ip[CPN_PATH_LEN], kp[CPN_PATH_LEN];
    cpn_reader_join_index(ip, "links", i);
    cpn_schema_endpoint_t ea, eb;
    int ok = 1;
    cpn_reader_join(kp, ip, "a");
    if (k->a[0])
      ok &= cpn_schema_resolve_endpoint(c, mp, cpn_reader_map_get(it, "a"), kp, k->a, &ea);
    else
      ok = 0;
    cpn_reader_join(kp, ip, "b");
    if (k->b[0])
      ok &= cpn_schema_resolve_endpoint(c, mp, cpn_reader_map_get(it, "b"), kp, k->b, &eb);
    else
      ok = 0;
    if (!ok)
      continue;
    if (strcmp(k->a, k->b) == 0) {
      cpn_reader_report(c, cpn_reader_map_get(it, "b"), kp,
                        "a link must join two different places (a and b are both '%s')", k->a);
      continue;
    }
    int va = ea.site >= 0 ? ea.site : sc->n_sites + ea.node, vb = eb.site >= 0 ? eb.site : sc->n_sites + eb.node;
    snprintf(pair_keys[i], sizeof pair_keys[i], "%d:%d", va < vb ? va : vb, va < vb ? vb : va);
    int j = cpn_name_index_put(pairs, pair_keys[i], i);
    if (j == -2)
      cpn_reader_set_out_of_memory(c);
    else if (j >= 0)
      cpn_reader_report(c, it, ip, "a second link between '%s' and '%s' (the first is links[%d], line %d)", k->a,
                        k->b, j, sc->links[j].line);
    const cpn_reader_node_t *rf = cpn_reader_map_get(it, "route_factor");
    double route_factor = CPN_ROUTE_FACTOR_DEFAULT;
    if (rf) {
      cpn_reader_join(kp, ip, "route_factor");
      if (l.present[i] & cpn_reader_bit(&cpn_schema_link_section, "latency_s")) {
        cpn_reader_report(c, rf, kp, "'route_factor' has no effect on a link with latency_s (it scales the "
                          "latency made from the ends' coordinates)");
        continue;
      }
      if (!cpn_reader_get_num(c, rf, kp, &route_factor))
        continue;
      if (!(route_factor >= 1 && route_factor <= CPN_ROUTE_FACTOR_MAX)) {
        cpn_reader_report(c, rf, kp, "must be in [1, %g] (a fibre route is no shorter than the great circle), "
                          "got %g", CPN_ROUTE_FACTOR_MAX, route_factor);
        continue;
      }
    }
    if (!(l.present[i] & cpn_reader_bit(&cpn_schema_link_section, "latency_s"))) {
      int ga = ea.site >= 0 ? mp->site_geo[ea.site] : mp->node_geo[ea.node];
      int gb = eb.site >= 0 ? mp->site_geo[eb.site] : mp->node_geo[eb.node];
      if (ga && gb) {
        double la = ea.site >= 0 ? sc->sites[ea.site].lat_deg : sc->nodes[ea.node].lat_deg;
        double oa = ea.site >= 0 ? sc->sites[ea.site].lon_deg : sc->nodes[ea.node].lon_deg;
        double lb = eb.site >= 0 ? sc->sites[eb.site].lat_deg : sc->nodes[eb.node].lat_deg;
        double ob = eb.site >= 0 ? sc->sites[eb.site].lon_deg : sc->nodes[eb.node].lon_deg;
        k->latency_s = cpn_scenario_great_circle_m(la, oa, lb, ob) * route_factor / CPN_FIBRE_SPEED_M_PER_S;
      } else {
        cpn_reader_report(c, it, ip,
                          "missing required key 'latency_s' (it may be left out only when both '%s' and '%s' "
                          "have lat and lon)", k->a, k->b);
      }
    }
  }
  free(pair_keys);
  cpn_name_index_free(pairs);
  cpn_reader_list_destroy(&l);
}

void cpn_schema_network_print(FILE *f, const cpn_scenario_t *sc)
{
  cpn_reader_print_flow_list(f, "nodes", &cpn_schema_node_section, sc->nodes, sizeof *sc->nodes, sc->n_nodes);
  cpn_reader_print_flow_list(f, "links", &cpn_schema_link_section, sc->links, sizeof *sc->links, sc->n_links);
}
