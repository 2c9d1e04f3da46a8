/* generate: random connected topologies (Waxman, Barabasi-Albert) as the plain nodes and links of a
 * scenario's topology section.
 *
 * It produces plain arrays (config/spec.h) and knows nothing of the scenario file or its reader. */
#ifndef CPN_TOPOLOGY_GENERATE_H
#define CPN_TOPOLOGY_GENERATE_H

#include "config/spec.h"
#include "core/error.h"

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
