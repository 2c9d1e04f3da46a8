/* generate: Waxman and Barabasi-Albert graphs for scenarios that ask for a generated network.
 *
 * Owns nothing beyond one call: a private igraph PCG32 generator seeded from the scenario, so that the
 * same kind, size and seed give the same graph on any machine and no other user of igraph's default
 * generator is disturbed (Barabasi-Albert borrows the default slot for the call and gives it back).
 * Invariants: the graph is connected; links are listed with their lower-numbered node first; node i is
 * named "n<i>". */
#include "topology/generate.h"

#include <igraph.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/geo.h"

#define PI 3.14159265358979323846
/* Generated topologies: a square of this side (km), centred on 35N 105E, lies inside China. */
#define GEN_SQUARE_KM 3000.0
#define GEN_CENTRE_LAT_DEG 35.0
#define GEN_CENTRE_LON_DEG 105.0
#define GEN_KM_PER_DEG_LAT 111.195
#define GEN_BW_BPS 1e11
#define GEN_MEAN_DEGREE 4.0
#define WAXMAN_BETA 0.1

static cpn_err_t igraph_failed(igraph_error_t rc, const char *what)
{
  return cpn_error_set(rc == IGRAPH_ENOMEM ? CPN_ENOMEM : CPN_EINVAL, "topology: %s failed: %s", what,
                       igraph_strerror(rc));
}

/* Turns a point of the generation square (km, origin at its south-west corner) into coordinates by an
 * equirectangular projection centred on 35N 105E: the square spans about 21.5-48.5N, 88.5-121.5E, inside
 * China's bounding box, and great-circle distances stay within ~15% of the planar ones. */
static void square_to_lat_lon(double x_km, double y_km, cpn_node_spec_t *node)
{
  double half = GEN_SQUARE_KM / 2;
  node->lat_deg = GEN_CENTRE_LAT_DEG + (y_km - half) / GEN_KM_PER_DEG_LAT;
  node->lon_deg = GEN_CENTRE_LON_DEG + (x_km - half) / (GEN_KM_PER_DEG_LAT * cos(GEN_CENTRE_LAT_DEG * PI / 180));
}

typedef struct {
  int *pairs;  /* 2 * count endpoints */
  int count, cap;
} edge_list_t;

static int edge_push(edge_list_t *el, int a, int b)
{
  if (el->count == el->cap) {
    int cap = el->cap ? 2 * el->cap : 64;
    int *p = realloc(el->pairs, sizeof *p * 2 * (size_t)cap);
    if (!p)
      return -1;
    el->pairs = p;
    el->cap = cap;
  }
  el->pairs[2 * el->count] = a;
  el->pairs[2 * el->count + 1] = b;
  el->count++;
  return 0;
}

static int uf_find(int *parent, int x)
{
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

static double waxman_pair_sum(int n, const double *x, const double *y, double scale)
{
  double sum = 0;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      sum += exp(-hypot(x[i] - x[j], y[i] - y[j]) / scale);
  return sum;
}

/* Waxman: P(u, v) = alpha exp(-d / (beta L)), L the largest distance between two points. beta = 0.1 and
 * alpha is chosen so that the expected mean degree is 4 whatever n; when that would need alpha > 1
 * (small n), alpha = 1 and beta grows instead (bisection), so small graphs are meshes, not trees.
 * Pairs are drawn in (i, j) order, then components are joined in order of their smallest node, each to
 * the nodes before it by its geographically closest pair (ties: lowest node numbers), so the result is
 * connected. */
static int waxman_edges(igraph_rng_t *rng, int n, const double *x, const double *y, edge_list_t *el)
{
  double max_d = 0;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      double d = hypot(x[i] - x[j], y[i] - y[j]);
      if (d > max_d)
        max_d = d;
    }
  double len = max_d > 0 ? max_d : 1, beta = WAXMAN_BETA, alpha = 1;
  double target = GEN_MEAN_DEGREE * n / 2, sum = waxman_pair_sum(n, x, y, beta * len);
  if (sum >= target) {
    alpha = target / sum;
  } else {
    double lo = beta, hi = 100;
    if (waxman_pair_sum(n, x, y, hi * len) <= target) {
      beta = hi;
    } else {
      for (int it = 0; it < 60; it++) {
        beta = (lo + hi) / 2;
        if (waxman_pair_sum(n, x, y, beta * len) < target)
          lo = beta;
        else
          hi = beta;
      }
      beta = hi;
    }
  }
  double scale = beta * len;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      double p = alpha * exp(-hypot(x[i] - x[j], y[i] - y[j]) / scale);
      if (igraph_rng_get_unif01(rng) < p && edge_push(el, i, j) < 0)
        return -1;
    }

  int *parent = malloc(sizeof *parent * (size_t)n), *in_done = calloc((size_t)n, sizeof *in_done);
  if (!parent || !in_done) {
    free(parent);
    free(in_done);
    return -1;
  }
  for (int i = 0; i < n; i++)
    parent[i] = i;
  for (int e = 0; e < el->count; e++) {
    int a = uf_find(parent, el->pairs[2 * e]), b = uf_find(parent, el->pairs[2 * e + 1]);
    if (a != b)
      parent[a > b ? a : b] = a < b ? a : b;
  }
  /* The "done" set grows one component at a time, components taken by their smallest node. */
  int root0 = uf_find(parent, 0), rc = 0;
  for (int i = 0; i < n; i++)
    in_done[i] = uf_find(parent, i) == root0;
  for (int c = 1; c < n && rc == 0; c++) {
    if (in_done[c])
      continue;
    int root = uf_find(parent, c), best_u = -1, best_v = -1;
    double best_d = INFINITY;
    for (int u = c; u < n; u++) {
      if (in_done[u] || uf_find(parent, u) != root)
        continue;
      for (int v = 0; v < n; v++) {
        if (!in_done[v])
          continue;
        double d = hypot(x[u] - x[v], y[u] - y[v]);
        if (d < best_d) {
          best_d = d;
          best_u = u;
          best_v = v;
        }
      }
    }
    rc = edge_push(el, best_v < best_u ? best_v : best_u, best_v < best_u ? best_u : best_v);
    for (int u = c; u < n; u++)
      if (!in_done[u] && uf_find(parent, u) == root)
        in_done[u] = 1;
  }
  free(parent);
  free(in_done);
  return rc;
}

/* Barabasi-Albert (igraph_barabasi_game, 2 links per new node, no multi-links), drawn from `rng`. */
static igraph_error_t barabasi_edges(igraph_rng_t *rng, int n, edge_list_t *el)
{
  igraph_t g;
  igraph_vector_int_t ev;
  igraph_rng_t *old_default = igraph_rng_default();
  /* igraph's games draw from the default generator: lend it ours, then give it back. */
  igraph_rng_set_default(rng);
  igraph_error_t rc = igraph_barabasi_game(&g, n, 1.0, 2, NULL, 0, 1.0, IGRAPH_UNDIRECTED,
                                           IGRAPH_BARABASI_PSUMTREE, NULL);
  igraph_rng_set_default(old_default);
  if (rc != IGRAPH_SUCCESS)
    return rc;
  if ((rc = igraph_vector_int_init(&ev, 0)) != IGRAPH_SUCCESS) {
    igraph_destroy(&g);
    return rc;
  }
  if ((rc = igraph_get_edgelist(&g, &ev, 0)) == IGRAPH_SUCCESS) {
    igraph_integer_t m = igraph_vector_int_size(&ev) / 2;
    for (igraph_integer_t e = 0; e < m && rc == IGRAPH_SUCCESS; e++) {
      int a = (int)VECTOR(ev)[2 * e], b = (int)VECTOR(ev)[2 * e + 1];
      if (edge_push(el, a < b ? a : b, a < b ? b : a) < 0)
        rc = IGRAPH_ENOMEM;
    }
  }
  igraph_vector_int_destroy(&ev);
  igraph_destroy(&g);
  return rc;
}

cpn_err_t cpn_topology_generate(const char *kind, int n, unsigned long seed, cpn_node_spec_t **nodes_out,
                                int *n_nodes_out, cpn_link_spec_t **links_out, int *n_links_out)
{
  int waxman = strcmp(kind, "waxman") == 0, barabasi = strcmp(kind, "barabasi") == 0;
  if (!waxman && !barabasi)
    return cpn_error_set(CPN_ENOTFOUND, "topology: unknown generator '%s' (known: waxman, barabasi)", kind);
  if (n < 1)
    return cpn_error_set(CPN_EINVAL, "topology: a %s graph needs at least 1 node, not %d", kind, n);

  cpn_err_t err = CPN_OK;
  igraph_rng_t rng;
  igraph_error_handler_t *old_handler = igraph_set_error_handler(igraph_error_handler_ignore);
  igraph_error_t rc = igraph_rng_init(&rng, &igraph_rngtype_pcg32);
  if (rc != IGRAPH_SUCCESS) {
    igraph_set_error_handler(old_handler);
    return igraph_failed(rc, "random number generator setup");
  }
  igraph_rng_seed(&rng, (igraph_uint_t)seed);

  edge_list_t el = {0};
  cpn_node_spec_t *nodes = calloc((size_t)n, sizeof *nodes);
  cpn_link_spec_t *links = NULL;
  double *x = malloc(sizeof *x * (size_t)n), *y = malloc(sizeof *y * (size_t)n);
  if (!nodes || !x || !y)
    goto nomem;
  for (int i = 0; i < n; i++) {
    x[i] = igraph_rng_get_unif01(&rng) * GEN_SQUARE_KM;
    y[i] = igraph_rng_get_unif01(&rng) * GEN_SQUARE_KM;
    snprintf(nodes[i].name, CPN_NAME_MAX, "n%d", i);
    memcpy(nodes[i].country, "CN", 3);
    square_to_lat_lon(x[i], y[i], &nodes[i]);
  }
  if (waxman) {
    if (waxman_edges(&rng, n, x, y, &el) < 0)
      goto nomem;
  } else if ((rc = barabasi_edges(&rng, n, &el)) != IGRAPH_SUCCESS) {
    err = igraph_failed(rc, "Barabasi-Albert generation");
    goto done;
  }
  links = calloc((size_t)el.count + 1, sizeof *links);
  if (!links)
    goto nomem;
  for (int e = 0; e < el.count; e++) {
    const cpn_node_spec_t *a = &nodes[el.pairs[2 * e]], *b = &nodes[el.pairs[2 * e + 1]];
    memcpy(links[e].a, a->name, CPN_NAME_MAX);
    memcpy(links[e].b, b->name, CPN_NAME_MAX);
    links[e].latency_s = cpn_topology_fibre_latency_s(a, b, 1.0); /* the reader applies topology.route_factor */
    links[e].bw_bps = GEN_BW_BPS;
  }
  *nodes_out = nodes;
  *n_nodes_out = n;
  *links_out = links;
  *n_links_out = el.count;
  nodes = NULL;
  links = NULL;
  goto done;
nomem:
  err = cpn_error_set(CPN_ENOMEM, "topology: out of memory generating a %d-node %s graph", n, kind);
done:
  free(nodes);
  free(links);
  free(x);
  free(y);
  free(el.pairs);
  igraph_rng_destroy(&rng);
  igraph_set_error_handler(old_handler);
  return err;
}
