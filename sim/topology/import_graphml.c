/* import_graphml: GraphML (Internet Topology Zoo) to scenario nodes and links, through igraph's GraphML
 * reader.
 *
 * Owns nothing beyond one call: the igraph graph lives while the file is converted. igraph's attribute
 * table and error and warning handlers are global; they are set for the read and restored before
 * returning, whatever happens.
 * Invariants: node names are unique and non-empty; a link's latency comes from its ends' coordinates
 * (or NO_COORD_LATENCY_S when one end has none); no self-loops. */
#include "topology/import_graphml.h"

#include <ctype.h>
#include <errno.h>
#include <igraph.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xbt/log.h>

#include "topology/geo.h"

XBT_LOG_NEW_DEFAULT_SUBCATEGORY(cpn_topology_graphml, cpn_topology, "cpnsim GraphML topology import");

/* Links touching a GraphML node without coordinates get this latency. */
#define NO_COORD_LATENCY_S 1e-3

/* Makes a node name from a label: trimmed, lowercased, each run of white space turned into one '-';
 * "node-<id>" when nothing is left. Cuts at CPN_NAME_MAX - 1 bytes without splitting a UTF-8
 * character. */
static void name_from_label(char *out, const char *label, long id)
{
  size_t k = 0;
  const char *p = label;
  while (*p && isspace((unsigned char)*p))
    p++;
  while (*p && k < CPN_NAME_MAX - 1) {
    unsigned char c = (unsigned char)*p;
    if (isspace(c)) {
      while (*p && isspace((unsigned char)*p))
        p++;
      if (*p)
        out[k++] = '-';
      continue;
    }
    out[k++] = (char)tolower(c);
    p++;
  }
  if (((unsigned char)*p & 0xC0) == 0x80) { /* cut inside a character: drop its first bytes too */
    while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
      k--;
    if (k > 0)
      k--;
  }
  out[k] = '\0';
  if (k == 0)
    snprintf(out, CPN_NAME_MAX, "node-%ld", id);
}

static int name_taken(const cpn_node_spec_t *nodes, int n, const char *name)
{
  for (int i = 0; i < n; i++)
    if (strcmp(nodes[i].name, name) == 0)
      return 1;
  return 0;
}

/* Makes nodes[n].name unique among nodes[0..n-1] by appending "-2", "-3", ... */
static void make_unique(cpn_node_spec_t *nodes, int n)
{
  char base[CPN_NAME_MAX];
  if (!name_taken(nodes, n, nodes[n].name))
    return;
  memcpy(base, nodes[n].name, sizeof base);
  for (int k = 2;; k++) {
    char suffix[16];
    int len = snprintf(suffix, sizeof suffix, "-%d", k);
    size_t keep = strlen(base);
    if (keep + (size_t)len > CPN_NAME_MAX - 1)
      keep = CPN_NAME_MAX - 1 - (size_t)len;
    snprintf(nodes[n].name, CPN_NAME_MAX, "%.*s%s", (int)keep, base, suffix);
    if (!name_taken(nodes, n, nodes[n].name))
      return;
  }
}

/* igraph's GraphML reader warns about things that do not matter here (e.g. "Could not add vertex ids,
 * there is already an 'id' vertex attribute"): keep them, at debug level. */
static void igraph_warning_to_log(const char *reason, const char *file, int line)
{
  XBT_DEBUG("igraph warning (%s:%d): %s", file, line, reason);
}

cpn_err_t cpn_topology_graphml_read(const char *path, cpn_node_spec_t **nodes_out, int *n_nodes_out,
                                    cpn_link_spec_t **links_out, int *n_links_out, double default_bw_bps)
{
  if (!(isfinite(default_bw_bps) && default_bw_bps > 0))
    return cpn_error_set(CPN_EINVAL, "%s: default bandwidth %g bps is not a finite value > 0", path, default_bw_bps);
  FILE *f = fopen(path, "r");
  if (!f)
    return cpn_error_set(CPN_EIO, "%s: cannot open: %s", path, strerror(errno));

  cpn_err_t err = CPN_OK;
  cpn_node_spec_t *nodes = NULL;
  cpn_link_spec_t *links = NULL;
  igraph_t g;
  /* Without the C attribute handler igraph drops every GraphML attribute. Both settings are global
   * to igraph, so they are restored before returning; the graph is destroyed under the table that
   * built it. */
  igraph_attribute_table_t *old_table = igraph_set_attribute_table(&igraph_cattribute_table);
  igraph_error_handler_t *old_handler = igraph_set_error_handler(igraph_error_handler_ignore);
  igraph_warning_handler_t *old_warning = igraph_set_warning_handler(igraph_warning_to_log);
  igraph_error_t rc = igraph_read_graph_graphml(&g, f, 0);
  fclose(f);
  if (rc != IGRAPH_SUCCESS) {
    err = cpn_error_set(CPN_EINVAL, "%s: not a readable GraphML graph: %s", path, igraph_strerror(rc));
    goto restore;
  }

  int n = (int)igraph_vcount(&g), m = (int)igraph_ecount(&g);
  int has_label = igraph_cattribute_has_attr(&g, IGRAPH_ATTRIBUTE_VERTEX, "label");
  int has_lat = igraph_cattribute_has_attr(&g, IGRAPH_ATTRIBUTE_VERTEX, "Latitude");
  int has_lon = igraph_cattribute_has_attr(&g, IGRAPH_ATTRIBUTE_VERTEX, "Longitude");
  nodes = calloc((size_t)n + 1, sizeof *nodes);
  links = calloc((size_t)m + 1, sizeof *links);
  if (!nodes || !links) {
    err = cpn_error_set(CPN_ENOMEM, "%s: out of memory for %d nodes and %d links", path, n, m);
    goto destroy;
  }
  for (int v = 0; v < n; v++) {
    name_from_label(nodes[v].name, has_label ? VAS(&g, "label", v) : "", v);
    make_unique(nodes, v);
    nodes[v].lat_deg = has_lat ? VAN(&g, "Latitude", v) : NAN;
    nodes[v].lon_deg = has_lon ? VAN(&g, "Longitude", v) : NAN;
    if (!isfinite(nodes[v].lat_deg) || !isfinite(nodes[v].lon_deg)) {
      nodes[v].lat_deg = nodes[v].lon_deg = NAN;
      XBT_WARN("%s: node %d '%s' has no coordinates: its links get latency %g ms", path, v, nodes[v].name,
               NO_COORD_LATENCY_S * 1e3);
    }
  }
  int k = 0;
  for (int e = 0; e < m; e++) {
    int a = (int)IGRAPH_FROM(&g, e), b = (int)IGRAPH_TO(&g, e);
    if (a == b) {
      XBT_WARN("%s: edge %d joins '%s' to itself: skipped", path, e, nodes[a].name);
      continue;
    }
    cpn_link_spec_t *l = &links[k++];
    memcpy(l->a, nodes[a].name, CPN_NAME_MAX);
    memcpy(l->b, nodes[b].name, CPN_NAME_MAX);
    l->latency_s = isnan(nodes[a].lat_deg) || isnan(nodes[b].lat_deg)
                       ? NO_COORD_LATENCY_S
                       : cpn_topology_fibre_latency_s(&nodes[a], &nodes[b]);
    l->bw_bps = default_bw_bps;
    l->shared = 0;
    l->line = 0;
  }
  XBT_DEBUG("%s: %d nodes, %d links", path, n, k);
  *nodes_out = nodes;
  *n_nodes_out = n;
  *links_out = links;
  *n_links_out = k;
  nodes = NULL;
  links = NULL;
destroy:
  igraph_destroy(&g);
restore:
  free(nodes);
  free(links);
  igraph_set_warning_handler(old_warning);
  igraph_set_error_handler(old_handler);
  igraph_set_attribute_table(old_table);
  return err;
}
