/* topology: the network graph of sites, plain nodes and links (igraph), the routes between them, and the
 * SimGrid platform written from it. The nodes and links of a scenario may come from import_graphml.c,
 * import_simgrid_xml.c or generate.c; this file only reads them from the finished cpn_scenario_t.
 *
 * A cpn_topology_t owns a copy of every node name and link attribute, and for each routing source
 * (every site, then every origin's entry node not already listed) one row of predecessor links over all
 * nodes, its shortest-path tree: a route is the chain of parents, a latency its sum (no latency is
 * stored: a table of them took 800 MB at 10,000 sites, and the network keeps the rows it needs). The
 * igraph graph lives only while routes are computed.
 *
 * Invariants kept:
 * - Routes are prefix-closed: the route to v is the route to the other end of pred[v], then pred[v].
 *   Each predecessor row is therefore a tree rooted at its source, and a route is rebuilt by walking
 *   back from the destination.
 * - A route's latency is the sum of its links' latencies added in route order, as SimGrid adds them,
 *   so the platform and the fluid model agree to the last bit.
 * - Ties are broken by a rule that depends only on the scenario, not on igraph's heap order: igraph's
 *   Dijkstra gives the least latency d(v); among routes within 1e-12 (relative) of d(v) the one with the
 *   fewest links wins, then, walking back from the destination, the lowest-numbered link at each step.
 *
 * Cost: building is one Dijkstra per routing source (a binary heap of this file over igraph's incidence
 * lists, copied once into flat arrays), O(S (E + N log N)) time and S N ints of memory (on huge pages);
 * a latency or a link list is O(route length), the list read from a direct-mapped cache of recent routes
 * (of one cache line each, 16,384 or 32 per routing source, at most 2^20; emptied when routes are
 * recomputed) when the route is there. */
#include "topology/topology.h"

#include "core/hugemem.h"

#include <assert.h>
#include <errno.h>
#include <igraph.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xbt/log.h>

XBT_LOG_NEW_DEFAULT_CATEGORY(cpn_topology, "cpnsim network graph, routes and SimGrid platform");

/* Two route latencies closer than this (relative) are a tie. Sums of the same latencies in another
 * order differ by a few ulps (1e-16 relative); real differences are far larger. */
#define TIE_REL 1e-12

/* The routing weight of a link that is down (cut): routes that would need it sum to at least this and
 * are then marked unreachable. Finite, so that igraph's Dijkstra takes it like any weight. */
#define DOWN_WEIGHT_S 1e30

typedef struct {
  const char *name;
  int node;
} name_entry_t;

/* A cached route of cpn_topology_route_links: one cache line. The fluid network walks a request's route
 * twice (upload, reply); walking pred_link reads one scattered cell of an O(sources x nodes) table per
 * hop, a cache miss each at a thousand sites, while the routes requests take are few and recur. Routes
 * longer than RC_LINKS are walked every time. The cache is emptied whenever routes are recomputed. */
enum { RC_LINKS = 13, RC_SLOTS_MIN = 1 << 14, RC_SLOTS_MAX = 1 << 20 };
typedef struct {
  int src, dst, n;
  int links[RC_LINKS];
} route_slot_t;

/* The graph's incidences as flat arrays (compressed rows), made from igraph's incidence lists at each
 * route computation and kept for cpn_topology_near: node u's links are link[off[u] .. off[u + 1]), to[k]
 * the other end of link[k] and w[k] its routing weight. The per-source loops below read these in order
 * instead of calling igraph for each list and looking each link's ends up (most of the set-up at 10,000
 * sites). */
typedef struct {
  int *off, *link, *to;
  double *w;
} adj_t;

struct cpn_topology {
  int n_nodes, n_sites, n_links;
  char (*names)[CPN_NAME_MAX];
  name_entry_t *by_name;       /* sorted by name, for cpn_topology_node_index */
  int *link_a, *link_b;        /* endpoints; a -> b is the UP direction of a SPLITDUPLEX link */
  double *link_latency_s, *link_bw_bps;
  double *link_weight_s;       /* routing weight: the latency, or DOWN_WEIGHT_S while the link is down */
  int *link_shared;
  int n_sources;
  int *source_node;            /* [n_sources] */
  int *source_row;             /* [n_nodes]: row of a routing source, -1 for other nodes */
  int *pred_link;              /* [n_sources * n_nodes]: last link of the route; -1 at the source or
                                * when unreachable */
  int *route_buf;              /* [n_nodes]: storage returned by cpn_topology_route_links */
  int *platform_pred_link;     /* the routes of the SimGrid platform (as first computed), kept once a
                                * fault changes pred_link; NULL before */
  double *bw_memo, *lat_memo;  /* [n_nodes]: scratch of cpn_topology_route_rows */
  route_slot_t *rcache;        /* [rcache_mask + 1]: recent routes of cpn_topology_route_links */
  adj_t adj;                   /* the graph with the current routing weights (once routes were computed) */
  unsigned rcache_mask;
};

/* ------------------------------------------------------------------------------------------------ */
/* Small helpers                                                                                     */

static cpn_err_t igraph_failed(igraph_error_t rc, const char *what)
{
  return cpn_error_set(rc == IGRAPH_ENOMEM ? CPN_ENOMEM : CPN_EINVAL, "topology: %s failed: %s", what,
                       igraph_strerror(rc));
}

static int cmp_name_entry(const void *a, const void *b)
{
  const name_entry_t *x = a, *y = b;
  return strcmp(x->name, y->name);
}

static int other_end(const cpn_topology_t *t, int link, int node)
{
  return t->link_a[link] == node ? t->link_b[link] : t->link_a[link];
}

static int is_tight(double du, double w, double dv)
{
  return isfinite(du) && isfinite(dv) && du + w <= dv + TIE_REL * dv;
}

/* Writes the shortest decimal form of x that reads back as the same double ("0.006", not
 * "0.0060000000000000001"). */
static void fmt_double(char *buf, size_t size, double x)
{
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, x);
    if (strtod(buf, NULL) == x)
      return;
  }
}

static void xml_put_escaped(FILE *f, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&apos;", f); break;
    default: fputc(*s, f);
    }
  }
}

static const char *scenario_file(const cpn_scenario_t *sc)
{
  return sc->file[0] ? sc->file : "<scenario>";
}

/* ------------------------------------------------------------------------------------------------ */
/* Building                                                                                          */

static cpn_err_t copy_nodes(cpn_topology_t *t, const cpn_scenario_t *sc)
{
  const char *file = scenario_file(sc);
  for (int i = 0; i < t->n_nodes; i++) {
    const char *name = i < sc->n_sites ? sc->sites[i].name : sc->nodes[i - sc->n_sites].name;
    if (name[0] == '\0') {
      if (i < sc->n_sites)
        return cpn_error_set(CPN_EINVAL, "%s:%d: site %d has no name", file, sc->sites[i].line, i);
      return cpn_error_set(CPN_EINVAL, "%s: node %d has no name", file, i - sc->n_sites);
    }
    memcpy(t->names[i], name, CPN_NAME_MAX);
    t->names[i][CPN_NAME_MAX - 1] = '\0';
    t->by_name[i].name = t->names[i];
    t->by_name[i].node = i;
  }
  qsort(t->by_name, (size_t)t->n_nodes, sizeof *t->by_name, cmp_name_entry);
  for (int i = 1; i < t->n_nodes; i++) {
    if (strcmp(t->by_name[i - 1].name, t->by_name[i].name) == 0) {
      /* Point at the later of the two if it is a site (nodes carry no line). */
      int first = t->by_name[i - 1].node < t->by_name[i].node ? t->by_name[i - 1].node : t->by_name[i].node;
      int second = t->by_name[i - 1].node ^ t->by_name[i].node ^ first;
      int line = second < sc->n_sites ? sc->sites[second].line : first < sc->n_sites ? sc->sites[first].line : 0;
      return cpn_error_set(CPN_EINVAL, "%s:%d: name '%s' is used by two sites or nodes", file, line,
                           t->by_name[i].name);
    }
  }
  return CPN_OK;
}

static cpn_err_t copy_links(cpn_topology_t *t, const cpn_scenario_t *sc)
{
  const char *file = scenario_file(sc);
  for (int i = 0; i < t->n_links; i++) {
    const cpn_link_spec_t *l = &sc->links[i];
    int a = cpn_topology_node_index(t, l->a), b = cpn_topology_node_index(t, l->b);
    if (a < 0 || b < 0)
      return cpn_error_set(CPN_EINVAL, "%s:%d: link %d (%s - %s): '%s' is not a site or node", file, l->line,
                           i, l->a, l->b, a < 0 ? l->a : l->b);
    if (a == b)
      return cpn_error_set(CPN_EINVAL, "%s:%d: link %d joins '%s' to itself", file, l->line, i, l->a);
    if (!(isfinite(l->latency_s) && l->latency_s >= 0))
      return cpn_error_set(CPN_EINVAL, "%s:%d: link %d (%s - %s): latency_s %g is not a finite value >= 0",
                           file, l->line, i, l->a, l->b, l->latency_s);
    if (!(isfinite(l->bw_bps) && l->bw_bps > 0))
      return cpn_error_set(CPN_EINVAL, "%s:%d: link %d (%s - %s): bw_bps %g is not a finite value > 0", file,
                           l->line, i, l->a, l->b, l->bw_bps);
    t->link_a[i] = a;
    t->link_b[i] = b;
    t->link_latency_s[i] = l->latency_s;
    t->link_weight_s[i] = l->latency_s;
    t->link_bw_bps[i] = l->bw_bps;
    t->link_shared[i] = l->shared != 0;
  }
  return CPN_OK;
}

static cpn_err_t pick_sources(cpn_topology_t *t, const cpn_scenario_t *sc)
{
  for (int i = 0; i < t->n_nodes; i++)
    t->source_row[i] = -1;
  for (int i = 0; i < sc->n_sites; i++) {
    t->source_row[i] = t->n_sources;
    t->source_node[t->n_sources++] = i;
  }
  for (int i = 0; i < sc->n_origins; i++) {
    const cpn_origin_spec_t *o = &sc->origins[i];
    int v = cpn_topology_node_index(t, o->node);
    if (v < 0)
      return cpn_error_set(CPN_EINVAL, "%s:%d: origin '%s': node '%s' is not a site or node", scenario_file(sc),
                           o->line, o->name, o->node);
    if (t->source_row[v] < 0) {
      t->source_row[v] = t->n_sources;
      t->source_node[t->n_sources++] = v;
    }
  }
  return CPN_OK;
}

/* Chooses the route tree of one source from the least latencies `d` (d[v]: from the source to v) by the
 * tie rule of the file comment: a breadth-first search over tight links gives each node its fewest
 * links among near-shortest routes, then each node takes the lowest-numbered tight link from a node
 * one link closer. Latencies are then summed down the tree in route order (into `lat`, scratch), only
 * to find the routes that cross a link that is down. */
static void choose_routes(cpn_topology_t *t, const adj_t *g, const double *d, int row, int *hops, int *queue,
                          double *lat)
{
  int n = t->n_nodes, s = t->source_node[row];
  int *pred = t->pred_link + (size_t)row * n;

  for (int v = 0; v < n; v++) {
    hops[v] = -1;
    pred[v] = -1;
    lat[v] = INFINITY;
  }
  hops[s] = 0;
  int head = 0, tail = 0;
  queue[tail++] = s;
  while (head < tail) {
    int u = queue[head++];
    double du = d[u];
    for (int k = g->off[u]; k < g->off[u + 1]; k++) {
      int v = g->to[k];
      if (hops[v] < 0 && is_tight(du, g->w[k], d[v])) {
        hops[v] = hops[u] + 1;
        queue[tail++] = v;
      }
    }
  }
  /* Queue order has parents before children (hops never decrease along it). */
  lat[s] = 0;
  for (int i = 1; i < tail; i++) {
    int v = queue[i], best = -1, from = -1;
    double dv = d[v];
    for (int k = g->off[v]; k < g->off[v + 1]; k++) {
      int e = g->link[k], u = g->to[k];
      if (hops[u] == hops[v] - 1 && is_tight(d[u], g->w[k], dv) && (best < 0 || e < best)) {
        best = e;
        from = u;
      }
    }
    assert(best >= 0);
    pred[v] = best;
    lat[v] = lat[from] + t->link_weight_s[best];
  }
  /* A route through a link that is down is no route (queue order: parents are fixed before children). */
  for (int i = 1; i < tail; i++) {
    int v = queue[i];
    if (lat[v] >= DOWN_WEIGHT_S)
      pred[v] = -1;
  }
}

/* A pending entry of the Dijkstra heap: a tentative distance of a node (stale once the node is settled
 * or a shorter one was pushed). */
typedef struct {
  double d;
  int v;
} dist_ent_t;

static void dist_push(dist_ent_t *h, size_t *n, double d, int v)
{
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (h[p].d <= d)
      break;
    h[i] = h[p];
    i = p;
  }
  h[i] = (dist_ent_t){d, v};
}

static dist_ent_t dist_pop(dist_ent_t *h, size_t *n)
{
  dist_ent_t top = h[0], last = h[--*n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    double best = last.d;
    if (l < *n && h[l].d < best)
      m = l, best = h[l].d;
    if (l + 1 < *n && h[l + 1].d < best)
      m = l + 1;
    if (m == i)
      break;
    h[i] = h[m];
    i = m;
  }
  if (*n)
    h[i] = last;
  return top;
}

/* An indexed 4-ary heap of nodes keyed by d[] (with decrease-key): at most one entry per node, so
 * Dijkstra pops each node once; the lazy heap it replaced popped about a stale entry per node beside and
 * was most of the set-up at 10,000 sites. h: the nodes; pos[v]: v's slot, -1 never queued, -2 settled. */
typedef struct {
  int *h, *pos, n;
} iheap_t;

static void iheap_up(iheap_t *q, const double *d, int i)
{
  int v = q->h[i];
  double dv = d[v];
  while (i > 0) {
    int p = (i - 1) / 4, u = q->h[p];
    if (d[u] <= dv)
      break;
    q->h[i] = u;
    q->pos[u] = i;
    i = p;
  }
  q->h[i] = v;
  q->pos[v] = i;
}

static void iheap_down(iheap_t *q, const double *d, int i)
{
  int v = q->h[i];
  double dv = d[v];
  for (;;) {
    int c = 4 * i + 1;
    if (c >= q->n)
      break;
    int end = c + 4 < q->n ? c + 4 : q->n, best = c;
    double bd = d[q->h[c]];
    for (int k = c + 1; k < end; k++)
      if (d[q->h[k]] < bd) {
        bd = d[q->h[k]];
        best = k;
      }
    if (bd >= dv)
      break;
    q->h[i] = q->h[best];
    q->pos[q->h[i]] = i;
    i = best;
  }
  q->h[i] = v;
  q->pos[v] = i;
}

/* Least route latencies from s to every node (INFINITY when unreachable) over the routing weights.
 * Each node's distance is the least d(u) + w over the links from nodes settled before it, the same sums
 * igraph's Dijkstra takes, so the values are the same whatever the order of ties; written here because
 * calling igraph once per source rebuilt its adjacency lists each time (most of the set-up at 10,000
 * sites). heap and pos: n_nodes ints of scratch each. */
static void dijkstra(const cpn_topology_t *t, const adj_t *g, int s, double *d, int *heap, int *pos)
{
  iheap_t q = {heap, pos, 0};
  for (int v = 0; v < t->n_nodes; v++) {
    d[v] = INFINITY;
    pos[v] = -1;
  }
  d[s] = 0;
  q.h[q.n++] = s;
  pos[s] = 0;
  while (q.n > 0) {
    int v = q.h[0];
    pos[v] = -2;
    if (--q.n > 0) {
      q.h[0] = q.h[q.n];
      iheap_down(&q, d, 0);
    }
    double dv = d[v];
    for (int k = g->off[v]; k < g->off[v + 1]; k++) {
      int u = g->to[k];
      double alt = dv + g->w[k];
      if (alt < d[u]) { /* never a settled node: its d is at most dv */
        d[u] = alt;
        if (pos[u] == -1) {
          q.h[q.n] = u;
          pos[u] = q.n++;
        }
        iheap_up(&q, d, pos[u]);
      }
    }
  }
}

static void rcache_clear(cpn_topology_t *t)
{
  for (unsigned i = 0; t->rcache && i <= t->rcache_mask; i++)
    t->rcache[i].src = -1;
}

/* Fills g from igraph's incidence lists of the scenario's graph. */
static cpn_err_t make_adjacency(const cpn_topology_t *t, adj_t *g)
{
  cpn_err_t err = CPN_OK;
  igraph_error_t rc;
  igraph_t ig;
  igraph_vector_int_t edges;
  igraph_inclist_t il;
  int have_graph = 0, have_edges = 0, have_il = 0;
  size_t n = (size_t)t->n_nodes, m2 = 2 * (size_t)t->n_links;
  g->off = malloc(sizeof *g->off * (n + 1));
  g->link = malloc(sizeof *g->link * (m2 + 1));
  g->to = malloc(sizeof *g->to * (m2 + 1));
  g->w = malloc(sizeof *g->w * (m2 + 1));
  if (!g->off || !g->link || !g->to || !g->w)
    return cpn_error_set(CPN_ENOMEM, "topology: out of memory computing routes for %d nodes", t->n_nodes);
  igraph_error_handler_t *old_handler = igraph_set_error_handler(igraph_error_handler_ignore);
  if ((rc = igraph_vector_int_init(&edges, 2 * (igraph_integer_t)t->n_links)) != IGRAPH_SUCCESS)
    goto igraph_fail;
  have_edges = 1;
  for (int i = 0; i < t->n_links; i++) {
    VECTOR(edges)[2 * i] = t->link_a[i];
    VECTOR(edges)[2 * i + 1] = t->link_b[i];
  }
  if ((rc = igraph_create(&ig, &edges, t->n_nodes, IGRAPH_UNDIRECTED)) != IGRAPH_SUCCESS)
    goto igraph_fail;
  have_graph = 1;
  if ((rc = igraph_inclist_init(&ig, &il, IGRAPH_ALL, IGRAPH_LOOPS_ONCE)) != IGRAPH_SUCCESS)
    goto igraph_fail;
  have_il = 1;
  int k = 0;
  for (int u = 0; u < t->n_nodes; u++) {
    const igraph_vector_int_t *inc = igraph_inclist_get(&il, u);
    igraph_integer_t k_end = igraph_vector_int_size(inc);
    g->off[u] = k;
    for (igraph_integer_t i = 0; i < k_end && (size_t)k < m2; i++, k++) {
      int e = (int)VECTOR(*inc)[i];
      g->link[k] = e;
      g->to[k] = other_end(t, e, u);
      g->w[k] = t->link_weight_s[e];
    }
  }
  g->off[t->n_nodes] = k;
  goto done;
igraph_fail:
  err = igraph_failed(rc, "route computation");
done:
  if (have_il)
    igraph_inclist_destroy(&il);
  if (have_graph)
    igraph_destroy(&ig);
  if (have_edges)
    igraph_vector_int_destroy(&edges);
  igraph_set_error_handler(old_handler);
  return err;
}

static void adj_free(adj_t *g)
{
  free(g->off);
  free(g->link);
  free(g->to);
  free(g->w);
  *g = (adj_t){0};
}

static cpn_err_t compute_routes(cpn_topology_t *t)
{
  rcache_clear(t);
  adj_free(&t->adj);
  adj_t *g = &t->adj;
  double *dist = NULL, *lat = NULL;
  int *hops = NULL, *queue = NULL;
  cpn_err_t err = make_adjacency(t, g);
  if (err) {
    adj_free(g);
    goto done;
  }
  hops = malloc(sizeof *hops * ((size_t)t->n_nodes + 1));
  queue = malloc(sizeof *queue * ((size_t)t->n_nodes + 1));
  dist = malloc(sizeof *dist * ((size_t)t->n_nodes + 1));
  lat = malloc(sizeof *lat * ((size_t)t->n_nodes + 1));
  if (!hops || !queue || !dist || !lat) {
    err = cpn_error_set(CPN_ENOMEM, "topology: out of memory computing routes for %d nodes", t->n_nodes);
    goto done;
  }
  /* One source at a time: a distance row (contiguous) instead of an S x n matrix, which igraph stores by
   * column (every read of a source's row strode over S doubles) and which at 10,000 sites took 800 MB. */
  for (int row = 0; row < t->n_sources; row++) {
    dijkstra(t, g, t->source_node[row], dist, queue, hops); /* scratch until choose_routes */
    choose_routes(t, g, dist, row, hops, queue, lat);
  }
done:
  free(hops);
  free(queue);
  free(dist);
  free(lat);
  return err;
}

/* Builds the topology; routes only when `routed` (cpn_topology_check needs none: O(S N) memory that a
 * 100,000-site check cannot have). */
static cpn_err_t topology_build(cpn_topology_t **out, const cpn_scenario_t *sc, int routed)
{
  cpn_err_t err;
  cpn_topology_t *t = calloc(1, sizeof *t);
  if (!t)
    return cpn_error_set(CPN_ENOMEM, "topology: out of memory");
  t->n_sites = sc->n_sites;
  t->n_nodes = sc->n_sites + sc->n_nodes;
  t->n_links = sc->n_links;
  size_t n = (size_t)t->n_nodes, m = (size_t)t->n_links, s_max = n + 1;
  /* +1 so that empty arrays are still distinct non-NULL allocations. */
  t->names = calloc(n + 1, sizeof *t->names);
  t->by_name = calloc(n + 1, sizeof *t->by_name);
  t->link_a = calloc(m + 1, sizeof *t->link_a);
  t->link_b = calloc(m + 1, sizeof *t->link_b);
  t->link_latency_s = calloc(m + 1, sizeof *t->link_latency_s);
  t->link_weight_s = calloc(m + 1, sizeof *t->link_weight_s);
  t->link_bw_bps = calloc(m + 1, sizeof *t->link_bw_bps);
  t->link_shared = calloc(m + 1, sizeof *t->link_shared);
  t->source_node = calloc(s_max, sizeof *t->source_node);
  t->source_row = calloc(n + 1, sizeof *t->source_row);
  t->route_buf = calloc(n + 1, sizeof *t->route_buf);
  t->bw_memo = calloc(n + 1, sizeof *t->bw_memo);
  t->lat_memo = calloc(n + 1, sizeof *t->lat_memo);
  if (!t->bw_memo || !t->lat_memo || !t->names || !t->by_name || !t->link_a || !t->link_b || !t->link_latency_s || !t->link_weight_s || !t->link_bw_bps ||
      !t->link_shared || !t->source_node || !t->source_row || !t->route_buf) {
    err = cpn_error_set(CPN_ENOMEM, "topology: out of memory for %d nodes and %d links", t->n_nodes, t->n_links);
    goto fail;
  }
  if ((err = copy_nodes(t, sc)) != CPN_OK || (err = copy_links(t, sc)) != CPN_OK ||
      (err = pick_sources(t, sc)) != CPN_OK)
    goto fail;
  if (!routed) {
    *out = t;
    return CPN_OK;
  }
  size_t cells = (size_t)t->n_sources * n + 1;
  t->pred_link = cpn_huge_alloc(cells * sizeof *t->pred_link);
  /* Slots: at least 32 per routing source (a request's reply finds the route its upload cached while
   * the requests placed in between, which grow with the sites, have not all taken its slot; with 8, at
   * 10,000 sites, a reply walked its route afresh about half the time, a cache miss per link). */
  size_t want = 32 * (size_t)t->n_sources < RC_SLOTS_MIN ? RC_SLOTS_MIN : 32 * (size_t)t->n_sources;
  unsigned slots = 1;
  while (slots < RC_SLOTS_MAX && slots < cells && slots < want)
    slots *= 2;
  t->rcache = aligned_alloc(64, slots * sizeof *t->rcache);
  t->rcache_mask = slots - 1;
  if (!t->pred_link || !t->rcache) {
    err = cpn_error_set(CPN_ENOMEM, "topology: out of memory for routes from %d sources to %d nodes",
                        t->n_sources, t->n_nodes);
    goto fail;
  }
  if ((err = compute_routes(t)) != CPN_OK)
    goto fail;
  XBT_DEBUG("topology: %d nodes (%d sites), %d links, routes from %d sources", t->n_nodes, t->n_sites,
            t->n_links, t->n_sources);
  *out = t;
  return CPN_OK;
fail:
  cpn_topology_free(t);
  return err;
}

cpn_err_t cpn_topology_new(cpn_topology_t **out, const cpn_scenario_t *sc)
{
  return topology_build(out, sc, 1);
}

void cpn_topology_free(cpn_topology_t *t)
{
  if (!t)
    return;
  free(t->names);
  free(t->by_name);
  free(t->link_a);
  free(t->link_b);
  free(t->link_latency_s);
  free(t->link_weight_s);
  free(t->link_bw_bps);
  free(t->link_shared);
  free(t->source_node);
  free(t->source_row);
  free(t->pred_link);
  free(t->route_buf);
  free(t->platform_pred_link);
  free(t->bw_memo);
  free(t->lat_memo);
  free(t->rcache);
  adj_free(&t->adj);
  free(t);
}

/* ------------------------------------------------------------------------------------------------ */
/* Queries                                                                                           */

int cpn_topology_node_count(const cpn_topology_t *t) { return t->n_nodes; }

int cpn_topology_node_index(const cpn_topology_t *t, const char *name)
{
  name_entry_t key = {name, -1};
  const name_entry_t *hit = bsearch(&key, t->by_name, (size_t)t->n_nodes, sizeof key, cmp_name_entry);
  return hit ? hit->node : -1;
}

const char *cpn_topology_node_name(const cpn_topology_t *t, int node)
{
  assert(node >= 0 && node < t->n_nodes);
  return t->names[node];
}

int cpn_topology_is_routing_source(const cpn_topology_t *t, int node)
{
  assert(node >= 0 && node < t->n_nodes);
  return t->source_row[node] >= 0;
}

int cpn_topology_link_count(const cpn_topology_t *t) { return t->n_links; }

void cpn_topology_link_ends(const cpn_topology_t *t, int link, int *a, int *b)
{
  assert(link >= 0 && link < t->n_links);
  *a = t->link_a[link];
  *b = t->link_b[link];
}

cpn_err_t cpn_topology_set_link_up(cpn_topology_t *t, int link, int up)
{
  assert(link >= 0 && link < t->n_links);
  double w = up ? t->link_latency_s[link] : DOWN_WEIGHT_S;
  if (t->link_weight_s[link] == w)
    return CPN_OK;
  if (!t->platform_pred_link) {
    size_t cells = (size_t)t->n_sources * t->n_nodes;
    t->platform_pred_link = cpn_huge_alloc((cells ? cells : 1) * sizeof *t->platform_pred_link);
    if (!t->platform_pred_link)
      return cpn_error_set(CPN_ENOMEM, "topology: out of memory (routes of the platform)");
    memcpy(t->platform_pred_link, t->pred_link, cells * sizeof *t->pred_link);
  }
  t->link_weight_s[link] = w;
  return compute_routes(t);
}

int cpn_topology_link_up(const cpn_topology_t *t, int link) { return t->link_weight_s[link] < DOWN_WEIGHT_S; }

double cpn_topology_route_latency_s(const cpn_topology_t *t, int src, int dst)
{
  assert(src >= 0 && src < t->n_nodes && dst >= 0 && dst < t->n_nodes);
  if (src == dst)
    return 0;
  int row = t->source_row[src];
  if (row < 0)
    return INFINITY;
  const int *pred = t->pred_link + (size_t)row * t->n_nodes;
  if (pred[dst] < 0)
    return INFINITY;
  /* Summed from the source, in route order, as the latencies of a row and SimGrid's are. */
  int *buf = t->route_buf, k = 0;
  for (int v = dst; v != src; v = other_end(t, pred[v], v))
    buf[k++] = pred[v];
  double lat = 0;
  while (k > 0)
    lat += t->link_latency_s[buf[--k]];
  return lat;
}


/* Writes the links of the route into buf in order and returns their count; 0 when src == dst, -1 when
 * there is no route. */
static int route_into(const cpn_topology_t *t, const int *pred_rows, int src, int dst, int *buf)
{
  if (src == dst)
    return 0;
  int row = t->source_row[src];
  if (row < 0)
    return -1;
  const int *pred = pred_rows + (size_t)row * t->n_nodes;
  if (pred[dst] < 0)
    return -1;
  int k = 0;
  for (int v = dst; v != src; v = other_end(t, pred[v], v))
    buf[k++] = pred[v];
  for (int i = 0, j = k - 1; i < j; i++, j--) {
    int tmp = buf[i];
    buf[i] = buf[j];
    buf[j] = tmp;
  }
  return k;
}

int cpn_topology_route_links(const cpn_topology_t *t, int src, int dst, const int **links)
{
  assert(src >= 0 && src < t->n_nodes && dst >= 0 && dst < t->n_nodes);
  if (!t->rcache) {
    int k = route_into(t, t->pred_link, src, dst, t->route_buf);
    *links = t->route_buf;
    return k < 0 ? 0 : k;
  }
  route_slot_t *e = &t->rcache[((unsigned)src * 2654435761u ^ (unsigned)dst * 40503u) & t->rcache_mask];
  if (e->src == src && e->dst == dst) {
    *links = e->links;
    return e->n;
  }
  int k = route_into(t, t->pred_link, src, dst, t->route_buf);
  if (k < 0)
    k = 0;
  if (k > RC_LINKS) {
    *links = t->route_buf;
    return k;
  }
  e->src = src;
  e->dst = dst;
  e->n = k;
  memcpy(e->links, t->route_buf, sizeof *e->links * (size_t)k);
  *links = e->links;
  return k;
}

int cpn_topology_platform_route_links(const cpn_topology_t *t, int src, int dst, const int **links)
{
  assert(src >= 0 && src < t->n_nodes && dst >= 0 && dst < t->n_nodes);
  int k = route_into(t, t->platform_pred_link ? t->platform_pred_link : t->pred_link, src, dst, t->route_buf);
  *links = t->route_buf;
  return k < 0 ? 0 : k;
}

double cpn_topology_route_bw_bps(const cpn_topology_t *t, int src, int dst)
{
  assert(src >= 0 && src < t->n_nodes && dst >= 0 && dst < t->n_nodes);
  if (src == dst)
    return INFINITY;
  int row = t->source_row[src];
  if (row < 0)
    return 0;
  const int *pred = t->pred_link + (size_t)row * t->n_nodes;
  if (pred[dst] < 0)
    return 0;
  double bw = INFINITY;
  for (int v = dst; v != src; v = other_end(t, pred[v], v))
    if (t->link_bw_bps[pred[v]] < bw)
      bw = t->link_bw_bps[pred[v]];
  return bw;
}

void cpn_topology_route_rows(const cpn_topology_t *t, int src, int n, double *lat, double *bw)
{
  assert(src >= 0 && src < t->n_nodes && n >= 0 && n <= t->n_nodes);
  int row = t->source_row[src];
  if (row < 0) {
    for (int v = 0; v < n; v++) {
      if (lat)
        lat[v] = v == src ? 0 : INFINITY;
      if (bw)
        bw[v] = v == src ? INFINITY : 0;
    }
    return;
  }
  /* Memos over the tree, NAN latency until known: a node's latency is its parent's + its last link's
   * (the sum in route order of cpn_topology_route_latency_s), its bottleneck the smaller of its parent's
   * and its last link's (a minimum is exact in any order, so each equals the route walk's). */
  const int *pred = t->pred_link + (size_t)row * t->n_nodes;
  double *mlat = t->lat_memo, *mbw = t->bw_memo;
  int *stack = t->route_buf;
  for (int v = 0; v < t->n_nodes; v++)
    mlat[v] = NAN;
  mlat[src] = 0;
  mbw[src] = INFINITY;
  for (int v = 0; v < n; v++) {
    int k = 0, u = v;
    while (isnan(mlat[u]) && pred[u] >= 0) {
      stack[k++] = u;
      u = other_end(t, pred[u], u);
    }
    if (isnan(mlat[u])) { /* unreachable */
      mlat[u] = INFINITY;
      mbw[u] = 0;
    }
    while (k > 0) {
      int x = stack[--k];
      double b = t->link_bw_bps[pred[x]];
      mlat[x] = mlat[u] + t->link_latency_s[pred[x]];
      mbw[x] = mbw[u] < b ? mbw[u] : b;
      u = x;
    }
    if (lat)
      lat[v] = mlat[v];
    if (bw)
      bw[v] = mbw[v];
  }
}

void cpn_topology_route_latency_row(const cpn_topology_t *t, int src, int n, double *lat)
{
  cpn_topology_route_rows(t, src, n, lat, NULL);
}

void cpn_topology_route_bw_row(const cpn_topology_t *t, int src, int n, double *bw)
{
  cpn_topology_route_rows(t, src, n, NULL, bw);
}

/* ------------------------------------------------------------------------------------------------ */
/* Nodes by distance                                                                                 */

struct cpn_topology_near {
  const cpn_topology_t *t;
  double *d;            /* [n_nodes]: tentative distance, INFINITY when not reached */
  unsigned char *done;  /* [n_nodes]: settled */
  int *touched;         /* nodes whose d or done were set since the start */
  int n_touched;
  dist_ent_t *heap;     /* 2 links + 1 entries */
  size_t n_heap;
};

cpn_topology_near_t *cpn_topology_near_new(const cpn_topology_t *t)
{
  if (!t->adj.off)
    return NULL;
  cpn_topology_near_t *nr = calloc(1, sizeof *nr);
  if (!nr)
    return NULL;
  size_t n = (size_t)t->n_nodes + 1;
  nr->t = t;
  nr->d = malloc(sizeof *nr->d * n);
  nr->done = calloc(n, 1);
  nr->touched = malloc(sizeof *nr->touched * n);
  nr->heap = malloc(sizeof *nr->heap * (2 * (size_t)t->n_links + 2));
  if (!nr->d || !nr->done || !nr->touched || !nr->heap) {
    cpn_topology_near_free(nr);
    return NULL;
  }
  for (int v = 0; v < t->n_nodes; v++)
    nr->d[v] = INFINITY;
  return nr;
}

void cpn_topology_near_free(cpn_topology_near_t *nr)
{
  if (!nr)
    return;
  free(nr->d);
  free(nr->done);
  free(nr->touched);
  free(nr->heap);
  free(nr);
}

void cpn_topology_near_start(cpn_topology_near_t *nr, int src)
{
  assert(src >= 0 && src < nr->t->n_nodes);
  for (int i = 0; i < nr->n_touched; i++) {
    nr->d[nr->touched[i]] = INFINITY;
    nr->done[nr->touched[i]] = 0;
  }
  nr->n_touched = 0;
  nr->n_heap = 0;
  nr->d[src] = 0;
  nr->touched[nr->n_touched++] = src;
  dist_push(nr->heap, &nr->n_heap, 0, src);
}

int cpn_topology_near_next(cpn_topology_near_t *nr, double *d_s)
{
  const adj_t *g = &nr->t->adj;
  while (nr->n_heap > 0) {
    dist_ent_t e = dist_pop(nr->heap, &nr->n_heap);
    if (nr->done[e.v] || e.d > nr->d[e.v])
      continue; /* stale */
    nr->done[e.v] = 1;
    for (int k = g->off[e.v]; k < g->off[e.v + 1]; k++) {
      int u = g->to[k];
      double alt = e.d + g->w[k];
      if (alt < nr->d[u]) {
        if (isinf(nr->d[u]))
          nr->touched[nr->n_touched++] = u;
        nr->d[u] = alt;
        dist_push(nr->heap, &nr->n_heap, alt, u);
      }
    }
    *d_s = e.d;
    return e.v;
  }
  return -1;
}

/* ------------------------------------------------------------------------------------------------ */
/* SimGrid platform                                                                                  */

static void write_route(const cpn_topology_t *t, FILE *f, int src, int dst, const int *links, int k)
{
  fputs("    <route src=\"", f);
  xml_put_escaped(f, t->names[src]);
  fputs("\" dst=\"", f);
  xml_put_escaped(f, t->names[dst]);
  fputs("\" symmetrical=\"NO\">\n", f);
  int at = src;
  for (int i = 0; i < k; i++) {
    int e = links[i];
    if (t->link_shared[e])
      fprintf(f, "      <link_ctn id=\"l%d\"/>\n", e);
    else
      fprintf(f, "      <link_ctn id=\"l%d\" direction=\"%s\"/>\n", e, t->link_a[e] == at ? "UP" : "DOWN");
    at = other_end(t, e, at);
  }
  fputs("    </route>\n", f);
}

cpn_err_t cpn_topology_write_platform(const cpn_topology_t *t, const char *xml_path, cpn_topology_route_need_fn need,
                                      void *ctx)
{
  FILE *f = fopen(xml_path, "w");
  if (!f)
    return cpn_error_set(CPN_EIO, "%s: cannot write the platform: %s", xml_path, strerror(errno));
  int *buf = malloc(sizeof *buf * ((size_t)t->n_nodes + 1));
  if (!buf) {
    fclose(f);
    remove(xml_path);
    return cpn_error_set(CPN_ENOMEM, "topology: out of memory writing %s", xml_path);
  }
  char lat[32], bw[32];
  long n_routes = 0;

  fputs("<?xml version='1.0'?>\n"
        "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
        "<!-- Written by cpnsim from the scenario topology: one host per site or node, one link per\n"
        "     scenario link (id l<index>), routes = lowest-latency paths between routing sources. -->\n"
        "<platform version=\"4.1\">\n"
        "  <zone id=\"cpn\" routing=\"Full\">\n",
        f);
  for (int v = 0; v < t->n_nodes; v++) {
    fputs("    <host id=\"", f);
    xml_put_escaped(f, t->names[v]);
    fputs("\" speed=\"1Gf\"/>\n", f);
  }
  for (int e = 0; e < t->n_links; e++) {
    fmt_double(bw, sizeof bw, t->link_bw_bps[e]);
    fmt_double(lat, sizeof lat, t->link_latency_s[e]);
    fprintf(f, "    <link id=\"l%d\" bandwidth=\"%sbps\" latency=\"%ss\" sharing_policy=\"%s\"/>\n", e, bw, lat,
            t->link_shared[e] ? "SHARED" : "SPLITDUPLEX");
  }
  /* Routes for every ordered pair of distinct nodes where one end is a site and the other a site or a
   * routing source: requests (origin -> site), replies (site -> origin), transfers (site -> site); with
   * `need`, only those it accepts. */
  for (int row = 0; row < t->n_sources; row++) {
    int src = t->source_node[row];
    for (int dst = 0; dst < t->n_nodes; dst++) {
      if (dst == src || t->source_row[dst] < 0 || (src >= t->n_sites && dst >= t->n_sites))
        continue;
      if (need && !need(ctx, src, dst))
        continue;
      int k = route_into(t, t->pred_link, src, dst, buf);
      if (k < 0)
        continue;
      write_route(t, f, src, dst, buf, k);
      n_routes++;
    }
  }
  fputs("  </zone>\n</platform>\n", f);
  free(buf);
  int write_failed = ferror(f);
  if (fclose(f) != 0 || write_failed) {
    int saved = errno;
    remove(xml_path);
    return cpn_error_set(CPN_EIO, "%s: writing the platform failed: %s", xml_path, strerror(saved));
  }
  XBT_DEBUG("%s: %d hosts, %d links, %ld routes", xml_path, t->n_nodes, t->n_links, n_routes);
  return CPN_OK;
}

static int comp_find(int *parent, int x)
{
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

/* The warnings of cpn_topology_check. A route from u to v exists exactly when u and v are in the same
 * connected component of the links that are up (routes are shortest paths over those links), so the
 * components (union-find, O(N + E)) answer what the routes would, without computing them. The warnings
 * and their order are those the per-pair route lookups gave. Cost O(N + E + S + O), plus, for each
 * component holding a site that some origin cannot reach, one pass over the origins to name up to five
 * of them (once per component, not per site). */
static cpn_err_t warn_unreachable(const cpn_topology_t *t, const cpn_scenario_t *sc, FILE *f, int *warnings_out)
{
  int n = t->n_nodes, n_o = sc->n_origins, warnings = 0;
  int *parent = malloc(sizeof *parent * ((size_t)n + 1)), *origin_node = malloc(sizeof *origin_node * ((size_t)n_o + 1));
  int *origins_in = calloc((size_t)n + 1, sizeof *origins_in), *sites_in = calloc((size_t)n + 1, sizeof *sites_in);
  int *named = malloc(sizeof *named * ((size_t)n + 1)); /* per component: offset of its origin list, or -1 */
  int *names = NULL, n_names = 0, cap_names = 0;
  cpn_err_t err = CPN_OK;
  if (!parent || !origin_node || !origins_in || !sites_in || !named) {
    err = cpn_error_set(CPN_ENOMEM, "topology: out of memory checking reachability of %d nodes", n);
    goto done;
  }
  for (int v = 0; v < n; v++) {
    parent[v] = v;
    named[v] = -1;
  }
  for (int l = 0; l < t->n_links; l++)
    if (cpn_topology_link_up(t, l)) {
      int a = comp_find(parent, t->link_a[l]), b = comp_find(parent, t->link_b[l]);
      if (a != b)
        parent[a] = b;
    }
  int valid = 0; /* origins whose node exists (the loader refuses the others) */
  for (int o = 0; o < n_o; o++) {
    origin_node[o] = cpn_topology_node_index(t, sc->origins[o].node);
    if (origin_node[o] >= 0) {
      origins_in[comp_find(parent, origin_node[o])]++;
      valid++;
    }
  }
  for (int s = 0; s < sc->n_sites; s++)
    sites_in[comp_find(parent, s)]++;
  const char *file = scenario_file(sc);
  for (int s = 0; s < sc->n_sites; s++) {
    int c = comp_find(parent, s), unreached = valid - origins_in[c];
    if (unreached == n_o && unreached > 0) {
      fprintf(f, "%s:%d: warning: sites.%s: no route reaches it from any origin; it will serve nothing\n", file,
              sc->sites[s].line, sc->sites[s].name);
      warnings++;
    } else if (unreached > 0) {
      if (named[c] < 0) { /* the first six origins outside component c, in order (-1 ends the list) */
        if (n_names + 7 > cap_names) {
          int cap = cap_names ? 2 * cap_names : 64;
          int *p = realloc(names, sizeof *p * (size_t)cap);
          if (!p) {
            err = cpn_error_set(CPN_ENOMEM, "topology: out of memory checking reachability");
            goto done;
          }
          names = p;
          cap_names = cap;
        }
        named[c] = n_names;
        names[n_names] = -1;
        for (int o = 0, k = 0; o < n_o && k < 6; o++)
          if (origin_node[o] >= 0 && comp_find(parent, origin_node[o]) != c)
            names[n_names + k++] = o, names[n_names + k] = -1;
        n_names += 7;
      }
      fprintf(f, "%s:%d: warning: sites.%s: no route reaches it from %d of %d origins (", file, sc->sites[s].line,
              sc->sites[s].name, unreached, n_o);
      const int *list = names + named[c];
      for (int k = 0; k < 5 && list[k] >= 0; k++)
        fprintf(f, "%s%s", k ? ", " : "", sc->origins[list[k]].name);
      if (unreached > 5)
        fprintf(f, ", ...");
      fprintf(f, "); their requests are never sent there\n");
      warnings++;
    }
  }
  for (int o = 0; o < n_o; o++)
    if (origin_node[o] >= 0 && sites_in[comp_find(parent, origin_node[o])] == 0) {
      fprintf(f, "%s:%d: warning: origins.%s: no route reaches any site from node '%s'; every request will be "
                 "rejected\n", file, sc->origins[o].line, sc->origins[o].name, sc->origins[o].node);
      warnings++;
    }
done:
  free(parent);
  free(origin_node);
  free(origins_in);
  free(sites_in);
  free(named);
  free(names);
  if (warnings_out)
    *warnings_out = warnings;
  return err;
}

cpn_err_t cpn_topology_check(const cpn_scenario_t *sc, FILE *f, int *warnings)
{
  cpn_topology_t *t = NULL;
  cpn_err_t err = topology_build(&t, sc, 0);
  if (!err)
    err = warn_unreachable(t, sc, f, warnings);
  cpn_topology_free(t);
  return err;
}
