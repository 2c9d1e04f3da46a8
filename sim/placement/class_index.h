/* class_index: the eligible sites of a request without a look at every site, and an index over them for
 * the policies (cpnsim/policy.h's cpn_site_index_t), so that a placement decision costs O(log n) in the
 * number of sites n instead of O(n).
 *
 * Most of eligibility is static: the model has replicas at the site, confidential pools for a
 * confidential class, residency allows the site for the origin. Those sites form a class, one per (model,
 * confidential or not, residency group); origins with the same list of allowed regions share a group.
 * When nothing dynamic rules a class site out (no site is down, the request fits in the KV of every one
 * of them, every one is reachable from the origin), the request's eligible sites are exactly its class,
 * and the engine's scan (placement.c) is replaced by the class's list.
 *
 * Owns, per class (made on first use): the ascending site list, the smallest largest-KV capacity, a
 * tournament tree of the sites keyed by load in the policies' view (queued tokens of the model per
 * replica, bit for bit as the policies compute it) with the count of sites at the minimum, and per origin
 * whether every class site is reachable (on first use) and the sites in (latency, site) order as far as
 * asked (16 sites at the origin's first ask, then doubling; found by a search of the graph near the
 * origin, or, without the topology, by scans of the origin's latency row in site order).
 * Invariants: the tree's leaves equal the loads of the view the policies read (updated through the views'
 * load hook: each change when live, everything after a refresh when stale); the reachability flags and
 * latency orders belong to the network's current routes version (dropped when it changes).
 * Memory: O(sites + origins) per class, and per origin that asked the prefix of its order that was
 * read, at most twice as many ints as the deepest rank asked (64 bytes per origin when the policies read
 * the first few sites; the whole orders took 400 MB at 10,000 sites each with an origin). */
#ifndef CPN_PLACEMENT_CLASS_INDEX_H
#define CPN_PLACEMENT_CLASS_INDEX_H

#include "config/scenario.h"
#include "core/error.h"
#include "cpnsim/policy.h"
#include "network/network.h"
#include "placement/view.h"
#include "topology/topology.h"

typedef struct cpn_class_index cpn_class_index_t;

/* Residency: does origin o's list of allowed regions or countries admit site s (an empty list admits
 * every site)? The one rule, for the class index and the engine's scan alike. */
int cpn_residency_allows(const cpn_origin_spec_t *o, const cpn_site_spec_t *s);

/* Builds nothing yet (classes are made on first use); sets the views' load hook. `view` is the view the
 * policies read (cpn_views_policy), borrowed like views, net and topo; a NULL net: routes never change
 * (tests). With topo (the topology whose routes give the view's latencies, access latency added), an
 * origin's first sites in latency order come from a search of the graph near it, not a scan of the
 * class; NULL: scans. */
cpn_err_t cpn_class_index_new(cpn_class_index_t **out, const cpn_scenario_t *sc, cpn_views_t *views,
                              const cpn_view_t *view, const cpn_network_t *net, const cpn_topology_t *topo);
/* Accepts NULL. Unsets the views' hook. */
void cpn_class_index_free(cpn_class_index_t *ix);

/* When the eligible sites of a request from `origin` for `model` (`conf`: needs confidential pools)
 * needing `need_kv` tokens of KV are its class (see the head of this file), returns the index over them
 * and sets *n and *sites (ascending, owned by the index, valid until the next call); else NULL (the caller
 * scans every site). The request must not carry an avoided site (the caller checks). Amortised O(1); the
 * first call for a class costs O(n log n), the first for an (origin, class) O(n log n). */
const cpn_site_index_t *cpn_class_index_find(cpn_class_index_t *ix, int origin, int model, int conf, double need_kv,
                                             int *n, const int **sites);

/* Non-zero when memory ran out while a policy read the index (it then saw fewer sites): the run must stop. */
int cpn_class_index_failed(const cpn_class_index_t *ix);

/* The views' load hook (see cpn_views_on_load). O(classes of the model x log n). */
void cpn_class_index_load_changed(void *ctx, int site, int model);

#endif
