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
/* Up to this many nodes Waxman draws every pair (O(n^2), the graphs of every scenario and test so far);
 * above it, the grid sampler (waxman_edges_grid) draws the same model in about O(n + edges). */
#define WAXMAN_EXACT_MAX_NODES 4096
/* The grid sampler estimates the pair sum that sets alpha from all pairs of its first this many points. */
#define WAXMAN_SUM_SAMPLE 8192

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

/* ---- Waxman for large n --------------------------------------------------------------------------
 * The same model as waxman_edges, P(u, v) = alpha exp(-d / (beta L)) drawn independently for each pair,
 * without visiting every pair:
 * - L, the largest distance, exactly: it is between two vertices of the points' convex hull (Andrew's
 *   monotone chain, O(n log n); the hull of uniform points has O(log n) vertices).
 * - alpha = (mean degree 4 x n / 2) / sum over pairs of exp(-d / (beta L)), as there, but the sum is
 *   estimated from all pairs of the first WAXMAN_SUM_SAMPLE points, scaled by n(n-1) / (m(m-1)). The
 *   points are independent and uniform, so the first m are a uniform sample: the estimate is unbiased,
 *   and over seeds the mean degree came out 4 within about 1 % (bench/bench_check_scale.sh prints it).
 *   beta stays 0.1 (for n this large the sum always exceeds the target, so alpha <= 1).
 * - Pairs by thinning on a grid of cells: for each pair of cells (A, B), every point pair of A x B is an
 *   edge with probability at most pmax = alpha exp(-dmin(A, B) / (beta L)), dmin the cells' least
 *   distance. Candidates are drawn at rate pmax by geometric skips over the |A| |B| pairs, and each is
 *   kept with probability p / pmax: every pair is an edge with probability exactly p, independently.
 * - Components are joined as waxman_edges joins them (in order of smallest node, each by its closest
 *   pair to the nodes before, ties by lowest node numbers), with nearest-neighbour searches on a grid.
 * The drawn edges are listed sorted (lower node first, then by the other), then the joining edges, as
 * waxman_edges lists them. */

static int cmp_edge(const void *pa, const void *pb)
{
  const int *a = pa, *b = pb;
  return a[0] != b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] != b[1] ? (a[1] < b[1] ? -1 : 1) : 0;
}

static double cross(const double *x, const double *y, int o, int a, int b)
{
  return (x[a] - x[o]) * (y[b] - y[o]) - (y[a] - y[o]) * (x[b] - x[o]);
}

static const double *g_sort_x, *g_sort_y; /* qsort has no context argument: set for one call only */
static int cmp_point(const void *pa, const void *pb)
{
  int a = *(const int *)pa, b = *(const int *)pb;
  if (g_sort_x[a] != g_sort_x[b])
    return g_sort_x[a] < g_sort_x[b] ? -1 : 1;
  if (g_sort_y[a] != g_sort_y[b])
    return g_sort_y[a] < g_sort_y[b] ? -1 : 1;
  return a < b ? -1 : a > b;
}

/* The largest distance between two of the n points: over the convex hull's vertices. -1: no memory. */
static double max_distance(int n, const double *x, const double *y)
{
  int *order = malloc(sizeof *order * (size_t)n), *hull = malloc(sizeof *hull * (2 * (size_t)n + 1));
  if (!order || !hull) {
    free(order);
    free(hull);
    return -1;
  }
  for (int i = 0; i < n; i++)
    order[i] = i;
  g_sort_x = x;
  g_sort_y = y;
  qsort(order, (size_t)n, sizeof *order, cmp_point);
  int k = 0;
  for (int i = 0; i < n; i++) { /* lower hull */
    while (k >= 2 && cross(x, y, hull[k - 2], hull[k - 1], order[i]) <= 0)
      k--;
    hull[k++] = order[i];
  }
  for (int i = n - 2, lo = k + 1; i >= 0; i--) { /* upper hull */
    while (k >= lo && cross(x, y, hull[k - 2], hull[k - 1], order[i]) <= 0)
      k--;
    hull[k++] = order[i];
  }
  double max_d = 0;
  for (int i = 0; i < k; i++)
    for (int j = i + 1; j < k; j++) {
      double d = hypot(x[hull[i]] - x[hull[j]], y[hull[i]] - y[hull[j]]);
      if (d > max_d)
        max_d = d;
    }
  free(order);
  free(hull);
  return max_d;
}

/* Points bucketed into a g x g grid over [0, side)^2: cell c holds idx[start[c] .. start[c + 1]), in
 * ascending node order. */
typedef struct {
  int g, *start, *idx;
  double cell;
} grid_t;

static void grid_free(grid_t *gr)
{
  free(gr->start);
  free(gr->idx);
}

static int cell_of(const grid_t *gr, double v)
{
  int c = (int)(v / gr->cell);
  return c < 0 ? 0 : c >= gr->g ? gr->g - 1 : c;
}

/* A grid of g x g cells over the points listed in `members` (n_members of them). 0, or -1: no memory. */
static int grid_build(grid_t *gr, int g, const double *x, const double *y, const int *members, int n_members)
{
  gr->g = g;
  gr->cell = GEN_SQUARE_KM / g;
  gr->start = calloc((size_t)g * g + 1, sizeof *gr->start);
  gr->idx = malloc(sizeof *gr->idx * ((size_t)n_members + 1));
  if (!gr->start || !gr->idx) {
    grid_free(gr);
    return -1;
  }
  for (int k = 0; k < n_members; k++) {
    int i = members[k];
    gr->start[cell_of(gr, y[i]) * g + cell_of(gr, x[i]) + 1]++;
  }
  for (int c = 0; c < g * g; c++)
    gr->start[c + 1] += gr->start[c];
  int *fill = malloc(sizeof *fill * ((size_t)g * g + 1));
  if (!fill) {
    grid_free(gr);
    return -1;
  }
  memcpy(fill, gr->start, sizeof *fill * (size_t)g * g);
  for (int k = 0; k < n_members; k++) { /* members ascending: each cell's list stays ascending */
    int i = members[k];
    gr->idx[fill[cell_of(gr, y[i]) * g + cell_of(gr, x[i])]++] = i;
  }
  free(fill);
  return 0;
}

/* The closest point to node q among the grid's (lexicographically least (d, u, v) with u, v the pair's
 * nodes in the caller's order): updates *best_d, *best_u, *best_v. q_is_u: q plays u (the component's
 * node), else v (the done node). Ring search: ring r holds the cells at Chebyshev distance r from q's
 * cell; its points are at least (r - 1) cells away, so the search ends once that exceeds the best. */
static void grid_nearest(const grid_t *gr, const double *x, const double *y, int q, int q_is_u, double *best_d,
                         int *best_u, int *best_v)
{
  int cx = cell_of(gr, x[q]), cy = cell_of(gr, y[q]);
  for (int r = 0; r <= gr->g; r++) {
    if (r >= 1 && (r - 1) * gr->cell > *best_d)
      break;
    for (int gy = cy - r; gy <= cy + r; gy++) {
      if (gy < 0 || gy >= gr->g)
        continue;
      int step = (gy == cy - r || gy == cy + r) ? 1 : 2 * r; /* inner rows: only the ring's two ends */
      for (int gx = cx - r; gx <= cx + r; gx += step > 0 ? step : 1) {
        if (gx < 0 || gx >= gr->g)
          continue;
        int c = gy * gr->g + gx;
        for (int k = gr->start[c]; k < gr->start[c + 1]; k++) {
          int o = gr->idx[k], u = q_is_u ? q : o, v = q_is_u ? o : q;
          double d = hypot(x[u] - x[v], y[u] - y[v]);
          if (d < *best_d || (d == *best_d && (u < *best_u || (u == *best_u && v < *best_v)))) {
            *best_d = d;
            *best_u = u;
            *best_v = v;
          }
        }
      }
    }
  }
}

/* Joins the components of the graph el into one, as waxman_edges does. -1: no memory. */
static int join_components_grid(int n, const double *x, const double *y, edge_list_t *el)
{
  int rc = -1, n_done = 0;
  int *parent = malloc(sizeof *parent * (size_t)n), *done = malloc(sizeof *done * (size_t)n);
  int *start = calloc((size_t)n + 1, sizeof *start), *members = malloc(sizeof *members * (size_t)n);
  unsigned char *in_done = calloc((size_t)n, 1);
  grid_t dg = {0};
  if (!parent || !done || !start || !members || !in_done)
    goto out;
  for (int i = 0; i < n; i++)
    parent[i] = i;
  for (int e = 0; e < el->count; e++) {
    int a = uf_find(parent, el->pairs[2 * e]), b = uf_find(parent, el->pairs[2 * e + 1]);
    if (a != b)
      parent[a > b ? a : b] = a < b ? a : b;
  }
  /* Members of each component, ascending, bucketed by root. */
  for (int i = 0; i < n; i++)
    start[uf_find(parent, i) + 1]++;
  for (int i = 0; i < n; i++)
    start[i + 1] += start[i];
  int *fill = malloc(sizeof *fill * (size_t)n);
  if (!fill)
    goto out;
  memcpy(fill, start, sizeof *fill * (size_t)n);
  for (int i = 0; i < n; i++)
    members[fill[uf_find(parent, i)]++] = i;
  free(fill);
  /* The done set: a grid of cells of about two points each once all are in, refilled as it grows
   * (rebuilt when it has doubled since the last build, plus a list of the points added since). */
  int g = 1;
  while (2 * g * g < n)
    g++;
  int root0 = uf_find(parent, 0), built = 0;
  for (int k = start[root0]; k < start[root0 + 1]; k++) {
    done[n_done++] = members[k];
    in_done[members[k]] = 1;
  }
  for (int c = 1; c < n; c++) {
    if (in_done[c])
      continue;
    int root = uf_find(parent, c), *comp = members + start[root], n_comp = start[root + 1] - start[root];
    double best_d = INFINITY;
    int best_u = -1, best_v = -1;
    if ((long)n_comp * n_done <= 4096) { /* small: every pair */
      for (int a = 0; a < n_comp; a++)
        for (int b = 0; b < n_done; b++) {
          int u = comp[a], v = done[b];
          double d = hypot(x[u] - x[v], y[u] - y[v]);
          if (d < best_d || (d == best_d && (u < best_u || (u == best_u && v < best_v)))) {
            best_d = d;
            best_u = u;
            best_v = v;
          }
        }
    } else if (n_comp <= n_done) { /* each of the component's nodes against the done grid */
      if (n_done >= 2 * built) {
        grid_free(&dg);
        memset(&dg, 0, sizeof dg);
        if (grid_build(&dg, g, x, y, done, n_done) < 0)
          goto out;
        built = n_done;
      }
      for (int a = 0; a < n_comp; a++) {
        grid_nearest(&dg, x, y, comp[a], 1, &best_d, &best_u, &best_v);
        for (int b = built; b < n_done; b++) { /* added since the build */
          int u = comp[a], v = done[b];
          double d = hypot(x[u] - x[v], y[u] - y[v]);
          if (d < best_d || (d == best_d && (u < best_u || (u == best_u && v < best_v)))) {
            best_d = d;
            best_u = u;
            best_v = v;
          }
        }
      }
    } else { /* a component larger than the done set: the done nodes against a grid of the component */
      grid_t cg = {0};
      int gc = 1;
      while (2 * gc * gc < n_comp)
        gc++;
      if (grid_build(&cg, gc, x, y, comp, n_comp) < 0)
        goto out;
      for (int b = 0; b < n_done; b++)
        grid_nearest(&cg, x, y, done[b], 0, &best_d, &best_u, &best_v);
      grid_free(&cg);
    }
    if (edge_push(el, best_v < best_u ? best_v : best_u, best_v < best_u ? best_u : best_v) < 0)
      goto out;
    for (int a = 0; a < n_comp; a++) {
      done[n_done++] = comp[a];
      in_done[comp[a]] = 1;
    }
  }
  rc = 0;
out:
  grid_free(&dg);
  free(parent);
  free(done);
  free(start);
  free(members);
  free(in_done);
  return rc;
}

static int waxman_edges_grid(igraph_rng_t *rng, int n, const double *x, const double *y, edge_list_t *el)
{
  double max_d = max_distance(n, x, y);
  if (max_d < 0)
    return -1;
  double scale = WAXMAN_BETA * (max_d > 0 ? max_d : 1);
  int m = n < WAXMAN_SUM_SAMPLE ? n : WAXMAN_SUM_SAMPLE;
  double sample = 0;
  for (int i = 0; i < m; i++)
    for (int j = i + 1; j < m; j++)
      sample += exp(-hypot(x[i] - x[j], y[i] - y[j]) / scale);
  double sum = sample * ((double)n * (n - 1)) / ((double)m * (m - 1)), target = GEN_MEAN_DEGREE * n / 2;
  double alpha = sum > target ? target / sum : 1;

  int g = 8; /* cells of a few dozen points: few candidates rejected, few empty cell pairs */
  while (g < 64 && (double)(2 * g) * (2 * g) * 16 <= n)
    g *= 2;
  grid_t gr = {0};
  int *all = malloc(sizeof *all * (size_t)n);
  if (!all)
    return -1;
  for (int i = 0; i < n; i++)
    all[i] = i;
  int rc = grid_build(&gr, g, x, y, all, n);
  free(all);
  if (rc < 0)
    return -1;
  int cells = g * g;
  for (int a = 0; a < cells && rc == 0; a++) {
    int na = gr.start[a + 1] - gr.start[a], ax = a % g, ay = a / g;
    const int *pa = gr.idx + gr.start[a];
    for (int b = a; b < cells && rc == 0; b++) {
      int nb = gr.start[b + 1] - gr.start[b], bx = b % g, by = b / g;
      const int *pb = gr.idx + gr.start[b];
      double pairs = a == b ? (double)na * (na - 1) / 2 : (double)na * nb;
      if (pairs <= 0)
        continue;
      int gap_x = abs(ax - bx) > 0 ? abs(ax - bx) - 1 : 0, gap_y = abs(ay - by) > 0 ? abs(ay - by) - 1 : 0;
      double pmax = alpha * exp(-hypot(gap_x * gr.cell, gap_y * gr.cell) / scale);
      if (!(pmax > 0))
        continue;
      double log_q = log1p(-pmax); /* geometric skips: the next candidate after k failures w.p. pmax */
      for (double k = -1;;) {
        if (pmax >= 1) {
          k += 1;
        } else {
          double u = igraph_rng_get_unif01(rng);
          k += 1 + floor(log1p(-u) / log_q);
        }
        if (!(k < pairs))
          break;
        int i, j;
        if (a == b) { /* the k-th pair (i < j) of the cell, row by row: j = 1.., i < j */
          long kk = (long)k, jj = (long)((1 + sqrt(1 + 8.0 * (double)kk)) / 2);
          while (jj * (jj - 1) / 2 > kk)
            jj--;
          while ((jj + 1) * jj / 2 <= kk)
            jj++;
          i = pa[kk - jj * (jj - 1) / 2];
          j = pa[jj];
        } else {
          long kk = (long)k;
          i = pa[kk / nb];
          j = pb[kk % nb];
        }
        double p = alpha * exp(-hypot(x[i] - x[j], y[i] - y[j]) / scale);
        if (igraph_rng_get_unif01(rng) * pmax < p && edge_push(el, i < j ? i : j, i < j ? j : i) < 0)
          rc = -1;
        if (rc)
          break;
      }
    }
  }
  grid_free(&gr);
  if (rc)
    return -1;
  qsort(el->pairs, (size_t)el->count, 2 * sizeof *el->pairs, cmp_edge);
  return join_components_grid(n, x, y, el);
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
    if ((n <= WAXMAN_EXACT_MAX_NODES ? waxman_edges(&rng, n, x, y, &el) : waxman_edges_grid(&rng, n, x, y, &el)) < 0)
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
