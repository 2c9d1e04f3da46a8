/* topology: the network graph (igraph) of sites, nodes and links, routes by weighted shortest path
 * (weight = link latency), and the SimGrid platform built from it.
 *
 * Node numbering: sites first (node i = scenario site i), then plain nodes (node n_sites + j = scenario
 * node j). Link numbering = scenario link order. Routes are computed once, at build time, from every
 * node that is a site or an origin's entry node; lookups are O(1) for latency and O(route length) for
 * the link list. */
#ifndef CPN_TOPOLOGY_TOPOLOGY_H
#define CPN_TOPOLOGY_TOPOLOGY_H

#include "core/error.h"
#include "config/spec.h"

typedef struct cpn_topology cpn_topology_t;

cpn_err_t cpn_topology_new(cpn_topology_t **t, const cpn_scenario_t *sc);
void cpn_topology_free(cpn_topology_t *t);

int cpn_topology_node_count(const cpn_topology_t *t);
/* Node index of a site or node name; -1 if absent. */
int cpn_topology_node_index(const cpn_topology_t *t, const char *name);
const char *cpn_topology_node_name(const cpn_topology_t *t, int node);
/* One-way latency of the route from `src` to `dst` (sum of link latencies); INFINITY when unreachable
 * or when src was not a routing source. 0 when src == dst. */
double cpn_topology_route_latency_s(const cpn_topology_t *t, int src, int dst);
/* Links along the route, in order; returns the count and sets *links to internal storage valid until
 * the next call. 0 links when src == dst or when there is no route (check the latency for INFINITY). */
int cpn_topology_route_links(const cpn_topology_t *t, int src, int dst, const int **links);
/* Smallest bandwidth along the route (bits/s); INFINITY when src == dst, 0 when there is no route. */
double cpn_topology_route_bw_bps(const cpn_topology_t *t, int src, int dst);
/* Writes a SimGrid platform XML: one host per node, one link per scenario link (SHARED or
 * SPLITDUPLEX), routes from the igraph shortest paths between routing sources. */
cpn_err_t cpn_topology_write_platform(const cpn_topology_t *t, const char *xml_path);

/* 1 if routes were computed from `node` (a site, or an origin's entry node). */
int cpn_topology_is_routing_source(const cpn_topology_t *t, int node);
int cpn_topology_link_count(const cpn_topology_t *t);

/* ---- Making the nodes and links of a scenario --------------------------------------------------- */

/* Signal speed in optical fibre (about 2/3 c), turning distances into latencies. */
#define CPN_FIBRE_SPEED_M_PER_S 2e8

/* Great-circle distance (haversine, mean Earth radius 6371 km) in metres. */
double cpn_topology_great_circle_m(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg);

/* Reads a GraphML network (Internet Topology Zoo style: node attributes label, Latitude, Longitude)
 * into plain nodes and links for a scenario. Names are the labels trimmed, lowercased, white space
 * runs turned into '-', made unique with "-2", "-3"... ("node-<id>" when there is no label). Link
 * latency = great-circle distance / CPN_FIBRE_SPEED_M_PER_S; a link touching a node without coordinates
 * gets 1 ms (logged as a warning; such nodes have NAN lat/lon). Bandwidth = default_bw_bps, full duplex,
 * line 0; self-loops are skipped (warning). On success *nodes and *links are malloc'd arrays the caller
 * frees with free(). Cost: O(N^2) name comparisons + O(E). */
cpn_err_t cpn_topology_graphml_read(const char *path, cpn_node_spec_t **nodes, int *n_nodes,
                                    cpn_link_spec_t **links, int *n_links, double default_bw_bps);

/* Generates a connected random topology of `n` nodes named "n0".."n<n-1>" (country CN), links of
 * 1e11 bps, full duplex, latency = great-circle distance / CPN_FIBRE_SPEED_M_PER_S. Same kind, n and
 * seed = same output, on any machine (igraph's PCG32, privately seeded). Kinds:
 * - "waxman": points uniform in a 3000 km square mapped to about 21.5-48.5N, 88.5-121.5E; link
 *   probability alpha exp(-d / (beta L)), L the largest distance, beta 0.1 and alpha set for a mean
 *   degree near 4 (for small n: alpha 1 and beta raised instead); then each further component (by
 *   smallest node) is joined to the earlier ones by its closest pair. O(n^2) time.
 * - "barabasi": igraph_barabasi_game, 2 links per new node, no multi-links; coordinates drawn as for
 *   waxman.
 * Unknown kind: CPN_ENOTFOUND. On success the arrays are malloc'd, freed by the caller with free(). */
cpn_err_t cpn_topology_generate(const char *kind, int n, unsigned long seed, cpn_node_spec_t **nodes,
                                int *n_nodes, cpn_link_spec_t **links, int *n_links);

#endif
