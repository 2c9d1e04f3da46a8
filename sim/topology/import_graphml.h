/* import_graphml: reads a GraphML network (Internet Topology Zoo style) into the plain nodes and links
 * of a scenario's topology section.
 *
 * It produces plain arrays (config/spec.h) and knows nothing of the scenario file or its reader. */
#ifndef CPN_TOPOLOGY_IMPORT_GRAPHML_H
#define CPN_TOPOLOGY_IMPORT_GRAPHML_H

#include "config/spec.h"
#include "core/error.h"

/* Reads a GraphML network (Internet Topology Zoo style: node attributes label, Latitude, Longitude)
 * into plain nodes and links for a scenario. Names are the labels trimmed, lowercased, white space
 * runs turned into '-', made unique with "-2", "-3"... ("node-<id>" when there is no label). Link
 * latency = great-circle distance x route_factor / CPN_FIBRE_SPEED_M_PER_S (topology/geo.h); a link touching a node without coordinates
 * gets 1 ms (logged as a warning; such nodes have NAN lat/lon). Country: the node attribute `Country`
 * (an English country name as the Topology Zoo writes it, or a 2-letter code) as its ISO code; an
 * unknown name is an error; empty when absent. Bandwidth: the edge attribute `LinkSpeedRaw` (bit/s), else
 * `LinkSpeed` x `LinkSpeedUnits` (K, M, G, T), else default_bw_bps; full duplex, line 0. Parallel edges
 * are merged into one link (bandwidths add, the least latency is kept); self-loops are skipped (warning). On success *nodes and *links are malloc'd arrays the caller
 * frees with free(). Cost: O(N^2) name comparisons + O(E). */
cpn_err_t cpn_topology_graphml_read(const char *path, cpn_node_spec_t **nodes, int *n_nodes,
                                    cpn_link_spec_t **links, int *n_links, double default_bw_bps, double route_factor);

#endif
