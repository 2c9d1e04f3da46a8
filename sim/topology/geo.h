/* geo: distances on the Earth and the latencies of fibre links laid along them, used wherever a link
 * between two places with coordinates gets its latency (GraphML import, generated topologies).
 *
 * Pure functions of their arguments; no state. */
#ifndef CPN_TOPOLOGY_GEO_H
#define CPN_TOPOLOGY_GEO_H

#include "config/spec.h"

/* Signal speed in optical fibre (about 2/3 c), turning distances into latencies. */
#define CPN_FIBRE_SPEED_M_PER_S 2e8

/* Great-circle distance (haversine, mean Earth radius 6371 km) in metres. */
double cpn_topology_great_circle_m(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg);

/* One-way latency of a fibre link laid along the great circle between two nodes with coordinates:
 * distance / CPN_FIBRE_SPEED_M_PER_S. */
double cpn_topology_fibre_latency_s(const cpn_node_spec_t *a, const cpn_node_spec_t *b);

#endif
