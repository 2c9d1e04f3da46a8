/* topology: the network graph (igraph) of sites, nodes and links, routes by weighted shortest path
 * (weight = link latency), and the SimGrid platform built from it.
 *
 * Node numbering: sites first (node i = scenario site i), then plain nodes (node n_sites + j = scenario
 * node j). Link numbering = scenario link order. Routes are computed once, at build time, from every
 * node that is a site or an origin's entry node and kept as one tree per source (the last link of the
 * route to each node); lookups are O(route length), a whole row of latencies or bandwidths O(nodes). */
#ifndef CPN_TOPOLOGY_TOPOLOGY_H
#define CPN_TOPOLOGY_TOPOLOGY_H

#include "core/error.h"
#include <stdio.h>

#include "config/spec.h"

typedef struct cpn_topology cpn_topology_t;

cpn_err_t cpn_topology_new(cpn_topology_t **t, const cpn_scenario_t *sc);
void cpn_topology_free(cpn_topology_t *t);

int cpn_topology_node_count(const cpn_topology_t *t);
/* Node index of a site or node name; -1 if absent. */
int cpn_topology_node_index(const cpn_topology_t *t, const char *name);
const char *cpn_topology_node_name(const cpn_topology_t *t, int node);
/* One-way latency of the route from `src` to `dst` (sum of link latencies, in route order); INFINITY when
 * unreachable or when src was not a routing source. 0 when src == dst. O(route length): no latency is
 * stored, the routes' trees give them. */
double cpn_topology_route_latency_s(const cpn_topology_t *t, int src, int dst);
/* lat[v] = cpn_topology_route_latency_s(t, src, v), bit for bit, for the first n nodes, in O(n_nodes). */
void cpn_topology_route_latency_row(const cpn_topology_t *t, int src, int n, double *lat);
/* Links along the route, in order; returns the count and sets *links to internal storage valid until
 * the next call. 0 links when src == dst or when there is no route (check the latency for INFINITY). */
int cpn_topology_route_links(const cpn_topology_t *t, int src, int dst, const int **links);
/* As cpn_topology_route_links, for the route that SimGrid flows take: the route when the platform was
 * written, which faults do not change (SimGrid's routes are fixed once the platform is loaded). */
int cpn_topology_platform_route_links(const cpn_topology_t *t, int src, int dst, const int **links);
/* The end nodes of a link (a -> b is its UP direction). */
void cpn_topology_link_ends(const cpn_topology_t *t, int link, int *a, int *b);
/* Smallest bandwidth along the route (bits/s); INFINITY when src == dst, 0 when there is no route. */
double cpn_topology_route_bw_bps(const cpn_topology_t *t, int src, int dst);
/* bw[v] = cpn_topology_route_bw_bps(t, src, v) for the first n nodes (e.g. n = the site count), in
 * O(n_nodes) time instead of one route walk per node. */
void cpn_topology_route_bw_row(const cpn_topology_t *t, int src, int n, double *bw);
/* Both rows in one pass over the tree (either may be NULL). */
void cpn_topology_route_rows(const cpn_topology_t *t, int src, int n, double *lat, double *bw);
/* Nodes in order of least latency from a node (Dijkstra over the current routing weights, where a link
 * that is down weighs 1e30 s, settled one at a time): a caller-owned search with O(nodes + links) scratch, for
 * those who want a source's nearest nodes without a pass over them all. Each route's latency is at
 * least the distance given for its destination (both are sums of the same links, and rounding is
 * monotone), and the distances come in ascending order. new: NULL when out of memory or when routes were
 * not computed (cpn_topology_check); valid while t lives (faults change the weights it reads). start:
 * O(nodes touched by the last search); next: the next node and its distance *d_s, -1 when every
 * reachable node was given; O(degree log links) each. */
typedef struct cpn_topology_near cpn_topology_near_t;
cpn_topology_near_t *cpn_topology_near_new(const cpn_topology_t *t);
void cpn_topology_near_free(cpn_topology_near_t *nr);
void cpn_topology_near_start(cpn_topology_near_t *nr, int src);
int cpn_topology_near_next(cpn_topology_near_t *nr, double *d_s);

/* Which routes the platform needs: 1 if SimGrid traffic may go from node src to node dst. */
typedef int (*cpn_topology_route_need_fn)(void *ctx, int src, int dst);
/* Writes a SimGrid platform XML: one host per node, one link per scenario link (SHARED or
 * SPLITDUPLEX), routes from the igraph shortest paths between routing sources where one end is a site;
 * with `need`, only the routes it accepts (SimGrid loads every route it is given: a million of them at
 * 1,000 sites took seconds, while a fluid run without bulk flows uses none). */
cpn_err_t cpn_topology_write_platform(const cpn_topology_t *t, const char *xml_path, cpn_topology_route_need_fn need,
                                      void *ctx);

/* 1 if routes were computed from `node` (a site, or an origin's entry node). */
int cpn_topology_is_routing_source(const cpn_topology_t *t, int node);
int cpn_topology_link_count(const cpn_topology_t *t);
/* --check: validates the topology as cpn_topology_new does (names, links, origins' nodes) without
 * computing routes, and warns (to f, naming the scenario's file and line) about sites that no route
 * reaches from some or all origins, and origins from which no site is reachable; *warnings (may be NULL)
 * gets their number. O(N log N + E + S + O): a 100,000-site topology is checked in seconds. */
cpn_err_t cpn_topology_check(const cpn_scenario_t *sc, FILE *f, int *warnings);
/* Faults: a link goes down (up = 0: no route uses it) or comes back; every route is computed again by
 * the same rule (routes that only a down link joined become unreachable). The SimGrid platform written
 * before is not changed. Cost: one Dijkstra per routing source. */
cpn_err_t cpn_topology_set_link_up(cpn_topology_t *t, int link, int up);
int cpn_topology_link_up(const cpn_topology_t *t, int link);

#endif
