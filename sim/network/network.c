/* network: fluid and flow transfers of requests, bulk transfers (see network.h).
 *
 * Invariants: a link's load_bps is the request traffic of the last complete sampling window; every flow
 * started (request or bulk) is one SimGrid activity of the event core until its completion is posted;
 * a link's bulk counts the bulk flows in flight on it that are not waiting on a cut link. */
#include "network/network.h"

#include "core/hugemem.h"

#include <math.h>
#include <simgrid/link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bulk transfer carried by a SimGrid flow. */
typedef struct {
  const char *kind; /* row key of /transfers: "weights", "distribution" */
  int src, dst, model, tag;
  int n_links;      /* the links of its SimGrid route (the platform's: faults do not change it) */
  int *links;
  double bytes, start_s, end_s;
  int status;       /* 0 done, 1 in flight at the end of the run */
  int stalled;      /* 1 while a link of its route is cut: it waits (at a trickle) until the repair */
  double stall_since_s, stalled_s;
  cpn_net_bulk_done_fn done;
  void *ctx;
} bulk_t;

/* Concurrent fluid share: the transmission of one request transfer over one direction of a link. */
typedef struct {
  double start_s, end_s;
} tx_t;
typedef struct {
  tx_t *v;
  int n, cap;
} txlist_t;

/* A link's state, all a fluid transfer reads and writes on each link of its route in one cache line (it
 * was five arrays and the scenario's link record: five cache misses per link at 10,000 sites). */
typedef struct {
  double bw_bps;             /* nominal (the scenario's) */
  double frac;               /* bandwidth left by faults (1: whole) */
  double load_bps;           /* request traffic of the last complete sampling window */
  double bytes_window;       /* request bytes of the window under way */
  int bulk;                  /* bulk flows in flight on the link, not counting stalled ones */
} link_state_t;

struct cpn_network {
  const cpn_scenario_t *sc;
  const cpn_topology_t *topo;
  cpn_sim_t *sim;
  int n_sites, n_origins, n_links, flow_mode;
  int *origin_node;
  unsigned char *node_role;  /* [topology nodes]: ROLE_ORIGIN | ROLE_BULK_SRC, for the platform's routes */
  double *route_lat; /* [origin * n_sites + site]: access + route, one way */
  double *route_bw;
  unsigned long routes_version; /* counts cpn_network_reroute calls: caches of the latency table check it */
  link_state_t *ls;          /* [n_links]: what a request's transfer reads and adds on each link */
  txlist_t *tx;              /* run.fluid_share concurrent: [link * 2 + direction] request transmissions */
  cpn_eventlog_t *log;       /* borrowed: the run's /events (transfer_stalled, transfer_resumed) */
  long bulk_stalls;          /* times a bulk flow began to wait on a cut link */
  uint64_t gen;              /* last transfer stamp given */
  int track_replies;
  bulk_t *bulk;
  size_t n_bulk, cap_bulk;
  int ev_arrive, ev_reply, ev_bulk;
  cpn_net_deliver_fn arrived, replied;
  void *arrived_ctx, *replied_ctx;
  void (*arrive_prefetch)(const void *ctx, const cpn_req_t *q); /* NULL, or cpn_network_on_arrive_prefetch's */
  const void *arrive_prefetch_ctx;
};

/* node_role bits: the node is some origin's entry node; bulk flows may leave it (a model's weight store
 * or a distribution's source site). */
#define ROLE_ORIGIN 1u
#define ROLE_BULK_SRC 2u

static void on_arrive(void *ctx, const cpn_event_t *e)
{
  cpn_network_t *net = ctx;
  cpn_req_t *q = e->ptr;
  if (e->gen != q->net.gen)
    return; /* lost to a fault */
  q->net.phase = CPN_NET_AT_SITE;
  if (net->flow_mode)
    q->rec.net_in_s = cpn_sim_now(net->sim) - q->rec.t_dispatch;
  net->arrived(net->arrived_ctx, q);
}

/* The next event is this request's arrival at its site: the lines of it that arrival, queueing and
 * dispatch read (its record's head, net, serve and prefix). */
static void prefetch_arrive(void *ctx, const cpn_event_t *e)
{
  (void)ctx;
  const cpn_req_t *q = e->ptr;
  __builtin_prefetch(&q->rec.id);
  __builtin_prefetch(&q->rec.prompt_tokens);
  __builtin_prefetch(&q->net.gen);
  __builtin_prefetch(&q->serve.v_finish);
  __builtin_prefetch(&q->prefix.n);
}

/* The arrival runs next: the request's lines are in (prefetch_arrive); the stage it goes to asks for its
 * own memory. */
static void prefetch_arrive_next(void *ctx, const cpn_event_t *e)
{
  const cpn_network_t *net = ctx;
  const cpn_req_t *q = e->ptr;
  if (net->arrive_prefetch && e->gen == q->net.gen)
    net->arrive_prefetch(net->arrive_prefetch_ctx, q);
}

static void on_reply(void *ctx, const cpn_event_t *e)
{
  cpn_network_t *net = ctx;
  cpn_req_t *q = e->ptr;
  if (e->gen != q->net.gen)
    return; /* lost to a fault */
  q->net.phase = CPN_NET_NONE;
  q->rec.t_done = cpn_sim_now(net->sim);
  q->rec.net_out_s = q->rec.t_done - q->net.t_site_done;
  net->replied(net->replied_ctx, q);
}

/* Counts a bulk flow on (d = +1) or off (d = -1) the links of its route. */
static void bulk_count(cpn_network_t *net, const bulk_t *b, int d)
{
  for (int i = 0; i < b->n_links; i++)
    net->ls[b->links[i]].bulk += d;
}

/* Notes the links of a new bulk flow's route: the platform's route, the one SimGrid uses, even when a
 * fault has moved the topology's routes. */
static void bulk_note_route(cpn_network_t *net, bulk_t *b)
{
  if (b->bytes <= 0)
    return;
  const int *links;
  int nl = cpn_topology_platform_route_links(net->topo, b->src, b->dst, &links);
  b->links = malloc((size_t)(nl ? nl : 1) * sizeof *b->links);
  if (!b->links) {
    cpn_sim_fail(net->sim, cpn_error_set(CPN_ENOMEM, "network: out of memory (transfers)"));
    return;
  }
  memcpy(b->links, links, (size_t)nl * sizeof *links);
  b->n_links = nl;
}

/* A bulk flow in flight waits while a link of its route is cut (SimGrid's routes are fixed: it cannot
 * go round) and goes on when the last such link is repaired. A waiting flow moves almost nothing, so it
 * is not counted on its links (requests do not share with it). Each change is a row of /events
 * (transfer_stalled on the cut link, transfer_resumed; detail: the row of /transfers). */
static void bulk_update_stall(cpn_network_t *net, size_t i, int link)
{
  bulk_t *b = &net->bulk[i];
  int cut = 0;
  for (int k = 0; k < b->n_links; k++)
    cut |= net->ls[b->links[k]].frac <= 0;
  if (cut == b->stalled)
    return;
  double now = cpn_sim_now(net->sim);
  b->stalled = cut;
  bulk_count(net, b, cut ? -1 : +1);
  if (cut) {
    b->stall_since_s = now;
    net->bulk_stalls++;
  } else {
    b->stalled_s += now - b->stall_since_s;
  }
  if (net->log) {
    cpn_event_element_t e = {.site = -1, .model = b->model, .replica = -1, .link = link, .fault = -1};
    cpn_err_t err = cpn_eventlog_add(net->log, cut ? "transfer_stalled" : "transfer_resumed", now, e, (double)i);
    if (err)
      cpn_sim_fail(net->sim, err);
  }
}

static void on_bulk(void *ctx, const cpn_event_t *e)
{
  cpn_network_t *net = ctx;
  bulk_t *b = &net->bulk[e->idx];
  b->end_s = cpn_sim_now(net->sim);
  b->status = 0;
  if (b->stalled) {
    /* It finished on the trickle a cut link keeps (a few bytes were left). */
    b->stalled = 0;
    b->stalled_s += cpn_sim_now(net->sim) - b->stall_since_s;
  } else {
    bulk_count(net, b, -1);
  }
  free(b->links);
  b->links = NULL;
  b->n_links = 0;
  b->done(b->ctx, b->tag);
}

cpn_err_t cpn_network_new(cpn_network_t **out, const cpn_scenario_t *sc, const cpn_topology_t *topo, cpn_sim_t *sim)
{
  cpn_network_t *net = calloc(1, sizeof *net);
  if (!net)
    return cpn_error_set(CPN_ENOMEM, "network: out of memory");
  net->sc = sc;
  net->topo = topo;
  net->sim = sim;
  net->n_sites = sc->n_sites;
  net->n_origins = sc->n_origins;
  net->n_links = sc->n_links;
  net->flow_mode = sc->run.network_mode == CPN_NET_FLOW;
  size_t nl = (size_t)(net->n_links ? net->n_links : 1), no = (size_t)(net->n_origins ? net->n_origins : 1);
  net->origin_node = calloc(no, sizeof(int));
  net->ls = calloc(nl, sizeof *net->ls);
  /* Filled by cpn_network_reroute below. */
  net->route_lat = cpn_huge_alloc(no * (size_t)net->n_sites * sizeof(double));
  net->route_bw = cpn_huge_alloc(no * (size_t)net->n_sites * sizeof(double));
  if (!net->origin_node || !net->ls || !net->route_lat || !net->route_bw) {
    cpn_network_free(net);
    return cpn_error_set(CPN_ENOMEM, "network: out of memory");
  }
  for (int l = 0; l < net->n_links; l++)
    net->ls[l] = (link_state_t){.bw_bps = sc->links[l].bw_bps, .frac = 1.0};
  if (!net->flow_mode && sc->run.fluid_share == 1 && !(net->tx = calloc(2 * nl, sizeof *net->tx))) {
    cpn_network_free(net);
    return cpn_error_set(CPN_ENOMEM, "network: out of memory");
  }
  for (int o = 0; o < net->n_origins; o++)
    net->origin_node[o] = cpn_topology_node_index(topo, sc->origins[o].node);
  net->node_role = calloc((size_t)cpn_topology_node_count(topo) + 1, 1);
  if (!net->node_role) {
    cpn_network_free(net);
    return cpn_error_set(CPN_ENOMEM, "network: out of memory");
  }
  for (int o = 0; o < net->n_origins; o++)
    if (net->origin_node[o] >= 0)
      net->node_role[net->origin_node[o]] |= ROLE_ORIGIN;
  for (int m = 0; m < sc->n_models; m++) {
    int s = sc->models[m].store[0] ? cpn_scenario_site_index(sc, sc->models[m].store) : -1;
    if (s >= 0)
      net->node_role[s] |= ROLE_BULK_SRC;
  }
  for (int i = 0; i < sc->n_distributions; i++)
    if (sc->distributions[i].from_site >= 0)
      net->node_role[sc->distributions[i].from_site] |= ROLE_BULK_SRC;
  /* Training rings (all-reduce between neighbours) and disaggregated serving (KV from a prefill site). */
  for (int j = 0; j < sc->n_trainings; j++)
    for (int k = 0; k < sc->trainings[j].n_sites; k++)
      net->node_role[sc->trainings[j].sites[k]] |= ROLE_BULK_SRC;
  for (int st = 0; st < sc->n_sites; st++)
    for (int r = 0; r < sc->sites[st].n_replicas; r++)
      if (sc->sites[st].replicas[r].role == 1)
        net->node_role[st] |= ROLE_BULK_SRC;
  cpn_network_reroute(net);
  net->ev_arrive = cpn_sim_kind(sim, "network.arrive", on_arrive, net);
  cpn_sim_kind_prefetch(sim, net->ev_arrive, prefetch_arrive, prefetch_arrive_next);
  net->ev_reply = cpn_sim_kind(sim, "network.reply", on_reply, net);
  net->ev_bulk = cpn_sim_kind(sim, "network.bulk", on_bulk, net);
  *out = net;
  return CPN_OK;
}

void cpn_network_free(cpn_network_t *net)
{
  if (!net)
    return;
  free(net->origin_node);
  free(net->node_role);
  free(net->ls);
  for (int l = 0; net->tx && l < 2 * net->n_links; l++)
    free(net->tx[l].v);
  free(net->tx);
  free(net->route_lat);
  free(net->route_bw);
  for (size_t i = 0; net->bulk && i < net->n_bulk; i++)
    free(net->bulk[i].links);
  free(net->bulk);
  free(net);
}

void cpn_network_on_arrive_prefetch(cpn_network_t *net, void (*fn)(const void *ctx, const cpn_req_t *q), const void *ctx)
{
  net->arrive_prefetch = fn;
  net->arrive_prefetch_ctx = ctx;
}

void cpn_network_on_arrived(cpn_network_t *net, cpn_net_deliver_fn fn, void *ctx)
{
  net->arrived = fn;
  net->arrived_ctx = ctx;
}

void cpn_network_on_replied(cpn_network_t *net, cpn_net_deliver_fn fn, void *ctx)
{
  net->replied = fn;
  net->replied_ctx = ctx;
}

double cpn_network_latency_s(const cpn_network_t *net, int origin, int site)
{
  return net->route_lat[(size_t)origin * net->n_sites + site];
}

int cpn_network_route_needed(void *ctx, int src, int dst)
{
  const cpn_network_t *net = ctx;
  if (src == dst)
    return 0;
  /* Bulk flows: from a store, a distribution source, a training site or a prefill site to any site. */
  if ((net->node_role[src] & ROLE_BULK_SRC) && dst < net->n_sites)
    return 1;
  /* Flow mode: uploads (origin -> site) and replies (site -> origin). */
  return net->flow_mode && ((src < net->n_sites && (net->node_role[dst] & ROLE_ORIGIN)) ||
                            ((net->node_role[src] & ROLE_ORIGIN) && dst < net->n_sites));
}

const double *cpn_network_latency_table(const cpn_network_t *net) { return net->route_lat; }
const double *cpn_network_bw_table(const cpn_network_t *net) { return net->route_bw; }
int cpn_network_origin_node(const cpn_network_t *net, int origin) { return net->origin_node[origin]; }
const cpn_topology_t *cpn_network_topology(const cpn_network_t *net) { return net->topo; }
int cpn_network_links(const cpn_network_t *net) { return net->n_links; }

/* Drops the transmissions that ended by `now` and counts those under way at `t`. O(list). */
static int tx_count(txlist_t *L, double now, double t)
{
  int k = 0, c = 0;
  for (int i = 0; i < L->n; i++) {
    if (L->v[i].end_s <= now)
      continue;
    c += L->v[i].start_s <= t && t < L->v[i].end_s;
    L->v[k++] = L->v[i];
  }
  L->n = k;
  return c;
}

/* run.fluid_share concurrent: a transfer's rate on each link of its route is the link's bandwidth over
 * 1 + the request transmissions under way in the same direction when its own begins (after the route's
 * latency, as in CM02) + the bulk flows on the link, and stays so (frozen at its start). Under Poisson
 * arrivals an arrival sees the time-average count, so the mean matches processor sharing's
 * size / (C (1 - load)) like the window share does, and the spread of the count gives the spread of
 * transfer times that the window share, a mean, leaves out. */
static double fluid_concurrent_s(cpn_network_t *net, int origin, int site, double bytes, int upload)
{
  const int *links;
  int nl = cpn_topology_route_links(net->topo, net->origin_node[origin], site, &links);
  double now = cpn_sim_now(net->sim), lat = net->route_lat[(size_t)origin * net->n_sites + site];
  double t_tx = now + lat, bw = INFINITY;
  int node = net->origin_node[origin], dir[64];
  for (int i = 0; i < nl; i++) {
    int a, b;
    cpn_topology_link_ends(net->topo, links[i], &a, &b);
    int d = net->sc->links[links[i]].shared ? 0 : (a == node) == !upload; /* route order is origin -> site */
    node = a == node ? b : a;
    if (i < 64)
      dir[i] = d;
    int n = tx_count(&net->tx[links[i] * 2 + d], now, t_tx);
    link_state_t *ls = &net->ls[links[i]];
    double cap = ls->bw_bps * ls->frac;
    double avail = cap / (1 + n + ls->bulk);
    if (avail < bw)
      bw = avail;
    ls->bytes_window += bytes;
  }
  double t = lat + (isfinite(bw) && bw > 0 ? bytes * 8.0 / bw : 0);
  for (int i = 0; i < nl && i < 64 && isfinite(bw); i++) {
    txlist_t *L = &net->tx[links[i] * 2 + dir[i]];
    if (L->n == L->cap) {
      int cap = L->cap ? L->cap * 2 : 16;
      tx_t *v = realloc(L->v, (size_t)cap * sizeof *v);
      if (!v) {
        cpn_sim_fail(net->sim, cpn_error_set(CPN_ENOMEM, "network: out of memory (transmissions)"));
        return t;
      }
      L->v = v;
      L->cap = cap;
    }
    L->v[L->n++] = (tx_t){t_tx, now + t};
  }
  return t;
}

/* One-way transfer time of `bytes` between an origin's entry node and a site: access + route latency +
 * serialisation over the route's bottleneck bandwidth left by the current request traffic (CM02 without
 * TCP window, the model the platform is configured with). Adds the bytes to the links' load. */
static double fluid_s(cpn_network_t *net, int origin, int site, double bytes, int upload)
{
  if (net->tx)
    return fluid_concurrent_s(net, origin, site, bytes, upload);
  const int *links;
  int nl = cpn_topology_route_links(net->topo, net->origin_node[origin], site, &links);
  double bw = INFINITY;
  for (int i = 0; i < nl; i++) {
    link_state_t *ls = &net->ls[links[i]];
    double cap = ls->bw_bps * ls->frac;
    double avail = cap - ls->load_bps;
    if (avail < 0.01 * cap)
      avail = 0.01 * cap;
    /* Bulk flows on the link take what requests leave; under max-min sharing a request's flow gets an
     * equal share with each of them. */
    avail /= 1 + ls->bulk;
    if (avail < bw)
      bw = avail;
    ls->bytes_window += bytes;
  }
  double t = net->route_lat[(size_t)origin * net->n_sites + site];
  if (isfinite(bw))
    t += bytes * 8.0 / bw;
  return t;
}

/* Flow mode: each request transfer (upload or reply) is a SimGrid flow between the origin's entry node
 * and the site, started by the event core; its end plus the origin's access latency is the event. */
static void start_flow(cpn_network_t *net, cpn_req_t *q, int upload)
{
  int a = net->origin_node[q->rec.origin], b = q->rec.site;
  const char *from = cpn_topology_node_name(net->topo, upload ? a : b);
  const char *to = cpn_topology_node_name(net->topo, upload ? b : a);
  cpn_sim_transfer(net->sim, from, to, a == b ? 0 : upload ? q->net.bytes_in : q->net.bytes_out,
                   net->sc->origins[q->rec.origin].access_latency_s, upload ? net->ev_arrive : net->ev_reply, 0, q);
}

void cpn_network_upload(cpn_network_t *net, cpn_req_t *q)
{
  q->net.phase = CPN_NET_UPLOAD;
  if (net->flow_mode) {
    q->net.gen = 0; /* flow-mode completions are posted without a stamp (link faults are fluid only) */
    start_flow(net, q, 1);
    return;
  }
  q->net.gen = ++net->gen;
  q->rec.net_in_s = fluid_s(net, q->rec.origin, q->rec.site, q->net.bytes_in, 1);
  cpn_sim_at(net->sim, cpn_sim_now(net->sim) + q->rec.net_in_s, net->ev_arrive, 0, q, q->net.gen);
}

void cpn_network_reply(cpn_network_t *net, cpn_req_t *q)
{
  if (net->flow_mode) {
    /* The reply travels as a SimGrid flow; the request ends when it arrives. */
    q->net.phase = CPN_NET_REPLY;
    q->net.gen = 0;
    q->net.t_site_done = cpn_sim_now(net->sim);
    start_flow(net, q, 0);
    return;
  }
  if (net->track_replies) {
    /* With link faults a reply in flight can be lost: it ends at its own event. */
    q->net.phase = CPN_NET_REPLY;
    q->net.gen = ++net->gen;
    q->net.t_site_done = cpn_sim_now(net->sim);
    double dt = fluid_s(net, q->rec.origin, q->rec.site, q->net.bytes_out, 0);
    cpn_sim_at(net->sim, q->net.t_site_done + dt, net->ev_reply, 0, q, q->net.gen);
    return;
  }
  q->net.phase = CPN_NET_NONE;
  q->rec.net_out_s = fluid_s(net, q->rec.origin, q->rec.site, q->net.bytes_out, 0);
  q->rec.t_done = cpn_sim_now(net->sim) + q->rec.net_out_s;
  net->replied(net->replied_ctx, q);
}

void cpn_network_bulk(cpn_network_t *net, int src, int dst, double bytes, int model, int tag,
                      cpn_net_bulk_done_fn done, void *ctx)
{
  cpn_network_bulk_kind(net, "weights", src, dst, bytes, model, tag, done, ctx);
}

void cpn_network_bulk_kind(cpn_network_t *net, const char *kind, int src, int dst, double bytes, int model, int tag,
                           cpn_net_bulk_done_fn done, void *ctx)
{
  if (net->n_bulk == net->cap_bulk) {
    size_t cap = net->cap_bulk ? net->cap_bulk * 2 : 64;
    bulk_t *v = realloc(net->bulk, cap * sizeof *v);
    if (!v) {
      cpn_sim_fail(net->sim, cpn_error_set(CPN_ENOMEM, "network: out of memory (transfers)"));
      return;
    }
    net->bulk = v;
    net->cap_bulk = cap;
  }
  if (src != dst && !cpn_network_route_needed(net, src, dst)) {
    /* A new kind of bulk flow must be declared in cpn_network_route_needed, or SimGrid has no route. */
    cpn_sim_fail(net->sim, cpn_error_set(CPN_EINVAL, "network: a %s flow from %s to %s has no route in the platform",
                                         kind, cpn_topology_node_name(net->topo, src),
                                         cpn_topology_node_name(net->topo, dst)));
    return;
  }
  size_t i = net->n_bulk++;
  net->bulk[i] = (bulk_t){.kind = kind, .src = src, .dst = dst, .model = model, .tag = tag, .bytes = src == dst ? 0 : bytes,
                          .start_s = cpn_sim_now(net->sim), .end_s = NAN, .status = 1, .done = done, .ctx = ctx};
  bulk_note_route(net, &net->bulk[i]);
  bulk_count(net, &net->bulk[i], +1);
  for (int k = 0; k < net->bulk[i].n_links; k++)
    if (net->ls[net->bulk[i].links[k]].frac <= 0) {
      bulk_update_stall(net, i, net->bulk[i].links[k]);
      break;
    }
  /* A SimGrid flow sharing bandwidth with every other flow; its end is the network.bulk event. */
  cpn_sim_transfer(net->sim, cpn_topology_node_name(net->topo, src), cpn_topology_node_name(net->topo, dst),
                   net->bulk[i].bytes, 0, net->ev_bulk, (int)i, NULL);
}

void cpn_network_track_replies(cpn_network_t *net) { net->track_replies = 1; }

void cpn_network_log_to(cpn_network_t *net, cpn_eventlog_t *log) { net->log = log; }

void cpn_network_bulk_stalls(const cpn_network_t *net, long *stalls, long *waiting)
{
  *stalls = net->bulk_stalls;
  *waiting = 0;
  for (size_t i = 0; i < net->n_bulk; i++)
    *waiting += net->bulk[i].stalled;
}

int cpn_network_route_uses(const cpn_network_t *net, int origin, int site, int link)
{
  const int *links;
  int nl = cpn_topology_route_links(net->topo, net->origin_node[origin], site, &links);
  for (int i = 0; i < nl; i++)
    if (links[i] == link)
      return 1;
  return 0;
}

void cpn_network_abort(cpn_network_t *net, cpn_req_t *q)
{
  q->net.gen = ++net->gen;
  q->net.phase = CPN_NET_NONE;
}

unsigned long cpn_network_routes_version(const cpn_network_t *net) { return net->routes_version; }

void cpn_network_reroute(cpn_network_t *net)
{
  net->routes_version++;
  for (int o = 0; o < net->n_origins; o++) {
    double *lat = net->route_lat + (size_t)o * net->n_sites, access_s = net->sc->origins[o].access_latency_s;
    double *bw = net->route_bw + (size_t)o * net->n_sites;
    cpn_topology_route_rows(net->topo, net->origin_node[o], net->n_sites, lat, bw);
    for (int s = 0; s < net->n_sites; s++)
      lat[s] = access_s + lat[s];
  }
}

/* SimGrid names a scenario link l<i> (shared) or l<i>_UP and l<i>_DOWN (full duplex); bw in bytes/s. */
static void sg_set_bw(const cpn_network_t *net, int link, double bw_bps)
{
  char name[48];
  if (net->sc->links[link].shared) {
    snprintf(name, sizeof name, "l%d", link);
    sg_link_set_bandwidth(sg_link_by_name(name), bw_bps);
    return;
  }
  snprintf(name, sizeof name, "l%d_UP", link);
  sg_link_set_bandwidth(sg_link_by_name(name), bw_bps);
  snprintf(name, sizeof name, "l%d_DOWN", link);
  sg_link_set_bandwidth(sg_link_by_name(name), bw_bps);
}

/* The bandwidth SimGrid's flows (bulk, flow mode) get on a link: what faults leave of it; with the
 * concurrent fluid share, less the request traffic of the last sampling window (at least 1% of it), so
 * that bulk flows see the fluid requests as requests see them. A cut link keeps a trickle in SimGrid (a
 * zero bandwidth is refused): its flows stall, not abort. */
static void sg_apply_bw(const cpn_network_t *net, int link)
{
  double f = net->ls[link].frac > 1e-9 ? net->ls[link].frac : 1e-9;
  double bw = net->sc->links[link].bw_bps * f;
  if (net->tx && net->ls[link].frac > 0) {
    double left = bw - net->ls[link].load_bps;
    bw = left > 0.01 * bw ? left : 0.01 * bw;
  }
  sg_set_bw(net, link, bw / 8.0); /* SimGrid counts bytes per second */
}

void cpn_network_set_bw_fraction(cpn_network_t *net, int link, double fraction)
{
  int was_cut = net->ls[link].frac <= 0;
  net->ls[link].frac = fraction;
  if (was_cut != (fraction <= 0))
    for (size_t i = 0; i < net->n_bulk; i++)
      if (net->bulk[i].links)
        for (int k = 0; k < net->bulk[i].n_links; k++)
          if (net->bulk[i].links[k] == link) {
            bulk_update_stall(net, i, link);
            break;
          }
  sg_apply_bw(net, link);
}

void cpn_network_sample(cpn_network_t *net, double now, double window_s, double *row)
{
  for (int l = 0; l < net->n_links; l++) {
    net->ls[l].load_bps = net->ls[l].bytes_window * 8.0 / window_s;
    row[l * 3 + 0] = now;
    row[l * 3 + 1] = net->ls[l].load_bps / net->sc->links[l].bw_bps;
    row[l * 3 + 2] = net->ls[l].bytes_window;
    net->ls[l].bytes_window = 0;
    if (net->tx)
      sg_apply_bw(net, l);
  }
}

cpn_err_t cpn_network_write(const cpn_network_t *net, cpn_output_t *out)
{
  enum { NC = 8 };
  static const char *const cols[NC] = {"src_site", "dst_site", "model", "bytes", "start_s", "end_s", "status",
                                       "stalled_s"};
  size_t nt = net->n_bulk;
  double now = cpn_sim_now(net->sim);
  double *v = calloc(nt ? nt * NC : 1, sizeof *v);
  const char **keys = calloc(nt ? nt : 1, sizeof *keys);
  cpn_err_t err = CPN_OK;
  if (!v || !keys)
    err = cpn_error_set(CPN_ENOMEM, "network: out of memory (transfers)");
  for (size_t i = 0; !err && i < nt; i++) {
    const bulk_t *x = &net->bulk[i];
    keys[i] = x->kind;
    /* Status 2: still waiting on a cut link at the end of the run. */
    double row[NC] = {x->src, x->dst, x->model, x->bytes, x->start_s, x->end_s, x->stalled ? 2 : x->status,
                      x->stalled_s + (x->stalled ? now - x->stall_since_s : 0)};
    memcpy(&v[i * NC], row, sizeof row);
  }
  if (!err) {
    cpn_table_t t = {.path = "/transfers", .n_rows = nt, .n_cols = NC, .col_names = cols, .keys = keys, .values = v};
    err = cpn_output_table(out, &t);
  }
  free(v);
  free(keys);
  return err;
}
