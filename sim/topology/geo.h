/* geo: distances on the Earth and the latencies of fibre links laid along them, used wherever a link
 * between two places with coordinates gets its latency (GraphML import, generated topologies).
 *
 * Pure functions of their arguments; no state. */
#ifndef CPN_TOPOLOGY_GEO_H
#define CPN_TOPOLOGY_GEO_H

#include "config/spec.h"

/* Signal speed in optical fibre (about 2/3 c), turning distances into latencies: 5 us per km. */
#define CPN_FIBRE_SPEED_M_PER_S 2e8

/* Route factor: the length of a fibre route over the great-circle distance between its ends (cables
 * follow roads, railways and coasts, not the great circle). The default applies wherever a link's
 * latency comes from its ends' coordinates (links without latency_s, GraphML imports, generated
 * topologies) unless the scenario sets links[].route_factor or topology.route_factor.
 *
 * 1.3: Bozkurt et al., "Dissecting Latency in the Internet's Fiber Infrastructure" (2018,
 * arXiv:1811.10737): shortest paths through the long-haul fibre conduits of the InterTubes map
 * (Durairajan et al., SIGCOMM 2015) between the 120 largest US population centres are 1.3 times the
 * line-of-sight distance, in the median. Their end-to-end rule of thumb, 2.1, also counts routing
 * detours, which the topology's own links and routes model here; so the per-link factor is the conduit
 * one. A US figure: no such map of Chinese or submarine routes is published (estimate elsewhere). */
#define CPN_ROUTE_FACTOR_DEFAULT 1.3
#define CPN_ROUTE_FACTOR_MAX 10.0

/* Great-circle distance (haversine, mean Earth radius 6371 km) in metres. */
double cpn_topology_great_circle_m(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg);

/* One-way latency of a fibre link between two nodes with coordinates: great-circle distance x
 * route_factor / CPN_FIBRE_SPEED_M_PER_S (5 us per km of route). */
double cpn_topology_fibre_latency_s(const cpn_node_spec_t *a, const cpn_node_spec_t *b, double route_factor);

#endif
