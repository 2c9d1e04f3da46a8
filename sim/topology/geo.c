/* geo: great-circle distance (haversine) and the latency of a fibre link along it.
 *
 * Owns nothing. The haversine form is used because it stays accurate at short distances, where the
 * spherical law of cosines loses digits. */
#include "topology/geo.h"

#include <math.h>

#define PI 3.14159265358979323846
#define EARTH_RADIUS_M 6371.0e3

double cpn_topology_great_circle_m(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg)
{
  const double rad = PI / 180.0;
  double p1 = lat1_deg * rad, p2 = lat2_deg * rad;
  double dp = (lat2_deg - lat1_deg) * rad, dl = (lon2_deg - lon1_deg) * rad;
  double h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
  if (h > 1)
    h = 1;
  return 2 * EARTH_RADIUS_M * asin(sqrt(h));
}

double cpn_topology_fibre_latency_s(const cpn_node_spec_t *a, const cpn_node_spec_t *b, double route_factor)
{
  return cpn_topology_great_circle_m(a->lat_deg, a->lon_deg, b->lat_deg, b->lon_deg) * route_factor /
         CPN_FIBRE_SPEED_M_PER_S;
}
