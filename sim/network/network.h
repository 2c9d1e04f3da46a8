/* network: moves requests and bulk data between origins and sites.
 *
 * Fluid mode (default): a request's transfer time is computed from its route, latency plus size over the
 * bottleneck bandwidth left by the request traffic of the last sampling window, and its bytes are added
 * to the links' load. With run.fluid_share: concurrent, the bandwidth is instead shared with the request
 * transmissions under way on each link when the transfer begins, and SimGrid's flows get what the
 * request traffic of the last window leaves of each link. Flow mode: every upload and reply is a SimGrid
 * flow (started by the event core, no actor). Bulk
 * transfers (model weights) are always SimGrid flows, sharing bandwidth under SimGrid's flow model.
 *
 * Owns: origins' entry nodes, route latency and bandwidth tables, link loads, and the table of bulk
 * transfers (/transfers). It hands a request on through callbacks the run sets: `arrived` when an
 * upload reaches the site, `replied` when the reply reaches the user. */
#ifndef CPN_NETWORK_NETWORK_H
#define CPN_NETWORK_NETWORK_H

#include "config/scenario.h"
#include "core/event.h"
#include "output/eventlog.h"
#include "output/output.h"
#include "request/request.h"
#include "topology/topology.h"

typedef struct cpn_network cpn_network_t;

/* Where a request is on its path (q->net.phase), for the fault stage. */
typedef enum { CPN_NET_NONE = 0, CPN_NET_UPLOAD, CPN_NET_AT_SITE, CPN_NET_REPLY } cpn_net_phase_t;

typedef void (*cpn_net_deliver_fn)(void *ctx, cpn_req_t *q);
typedef void (*cpn_net_bulk_done_fn)(void *ctx, int tag);

cpn_err_t cpn_network_new(cpn_network_t **out, const cpn_scenario_t *sc, const cpn_topology_t *topo, cpn_sim_t *sim);
void cpn_network_free(cpn_network_t *net);
void cpn_network_on_arrived(cpn_network_t *net, cpn_net_deliver_fn fn, void *ctx);
void cpn_network_on_replied(cpn_network_t *net, cpn_net_deliver_fn fn, void *ctx);
/* Optional: called with a request whose arrival at its site is the next event (its lines have arrived),
 * to ask for the memory `arrived` will read there; must not change anything. */
void cpn_network_on_arrive_prefetch(cpn_network_t *net, void (*fn)(const void *ctx, const cpn_req_t *q), const void *ctx);

/* One-way latency from an origin to a site: access + route (seconds). */
double cpn_network_latency_s(const cpn_network_t *net, int origin, int site);
/* For cpn_topology_write_platform (ctx: the network): 1 if SimGrid flows may go from node src to node
 * dst (flow-mode uploads and replies; bulk flows from model stores and distribution sources to sites).
 * A bulk flow outside these pairs fails the run. */
int cpn_network_route_needed(void *ctx, int src, int dst);
/* Tables for the policies' view: [origin * n_sites + site]. */
const double *cpn_network_latency_table(const cpn_network_t *net);
const double *cpn_network_bw_table(const cpn_network_t *net);
int cpn_network_origin_node(const cpn_network_t *net, int origin);
/* The topology whose routes the tables above follow (borrowed). */
const cpn_topology_t *cpn_network_topology(const cpn_network_t *net);

/* The request's upload to its site (rec.site) starts now. */
void cpn_network_upload(cpn_network_t *net, cpn_req_t *q);
/* The request's last token leaves its site now: the reply travels back to the user. */
void cpn_network_reply(cpn_network_t *net, cpn_req_t *q);

/* A bulk transfer of `bytes` from node src to node dst (0 bytes when src == dst) starts now; `done` is
 * called with `tag` when it ends. `model` labels the row of /transfers. */
void cpn_network_bulk(cpn_network_t *net, int src, int dst, double bytes, int model, int tag,
                      cpn_net_bulk_done_fn done, void *ctx);

/* As cpn_network_bulk, with the row key of /transfers (a static string: "distribution", ...). */
void cpn_network_bulk_kind(cpn_network_t *net, const char *kind, int src, int dst, double bytes, int model, int tag,
                           cpn_net_bulk_done_fn done, void *ctx);

/* Sampling: link load of the window that ends now, written as (t, utilisation, bytes) per link into
 * row[link * 3 ...]; the window restarts. */
void cpn_network_sample(cpn_network_t *net, double now, double window_s, double *row);
int cpn_network_links(const cpn_network_t *net);

/* Faults. Replies become events (in fluid mode too) so that a reply in flight can be lost; call before
 * the run starts. */
void cpn_network_track_replies(cpn_network_t *net);
/* 1 if the current route from the origin to the site crosses `link`. */
int cpn_network_route_uses(const cpn_network_t *net, int origin, int site, int link);
/* The request's transfer in flight is lost: its pending event is skipped; it is on no path now. */
void cpn_network_abort(cpn_network_t *net, cpn_req_t *q);
/* Routes changed (the topology recomputed them): the latency and bandwidth tables are refreshed in
 * place (the views borrow them). */
void cpn_network_reroute(cpn_network_t *net);
/* Grows by one at each cpn_network_reroute: what was derived from the latency table is stale when it
 * changed. */
unsigned long cpn_network_routes_version(const cpn_network_t *net);
/* A link's bandwidth is cut to a fraction of its nominal one (1: whole; 0: cut): fluid transfers see the
 * rest, SimGrid flows (bulk, flow mode) are slowed to it. SimGrid's routes are fixed, so a bulk flow whose
 * route crosses a cut link does not go round it: it waits (a trickle of 1e-9 of the bandwidth) and goes
 * on from where it was when the link is repaired; each wait is a transfer_stalled and transfer_resumed row
 * of /events, its length the stalled_s column of /transfers (status 2: still waiting at the end). */
void cpn_network_set_bw_fraction(cpn_network_t *net, int link, double fraction);
/* Where transfer_stalled and transfer_resumed rows go (NULL: nowhere). */
void cpn_network_log_to(cpn_network_t *net, cpn_eventlog_t *log);
/* Bulk flows that began to wait on a cut link (each wait counted), and those still waiting now. */
void cpn_network_bulk_stalls(const cpn_network_t *net, long *stalls, long *waiting);

cpn_err_t cpn_network_write(const cpn_network_t *net, cpn_output_t *out);

#endif
