/* class_index: static eligibility classes, their load trees and latency orders (see class_index.h). */
#include "placement/class_index.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* More distinct residency lists than this and the origins beyond them scan (each group multiplies the
 * trees a load change updates). */
#define MAX_GROUPS 16

/* Sites of an origin's latency order found at its first ask; each later extension finds as many again
 * as are known. */
#define FIRST_CHUNK 16

typedef struct {
  int model, conf, group;
  int n;                 /* sites in the class */
  int *sites;            /* ascending */
  int *pos;              /* [n_sites]: leaf of the site, -1 when not in the class */
  double min_kv;         /* smallest max_kv_cap over the sites */
  int size;              /* leaves of the tree: a power of two >= n */
  double *key;           /* [2 size]: minimum load under each node (padding leaves: +inf) */
  int *cnt;              /* [2 size]: sites under the node whose load is that minimum */
  signed char *reach;    /* [n_origins]: every site reachable from the origin (1), not (-1), unknown (0) */
  /* [n_origins]: the first known[o] sites in (latency, site) order, NULL until the origin's order is
   * started. Only the prefix asked for is kept (a chunk of FIRST_CHUNK sites, then doubling): at 10,000
   * sites an origin's whole order was 40 kB, made at its second request (400 MB over 10,000 origins,
   * most of it never read), while a policy reads the first few. */
  int **by_lat;
  int *known;            /* [n_origins]: length of by_lat[o] */
} cls_t;

struct cpn_class_index {
  const cpn_scenario_t *sc;
  cpn_views_t *views;
  const cpn_view_t *view;
  const cpn_network_t *net;
  int n_sites, n_models, n_origins, n_groups;
  int *group;            /* [n_origins]: residency group, -1: too many groups (scan) */
  int *cls_of;           /* [(group * n_models + model) * 2 + conf]: class, -1 not made, -2 empty */
  cls_t *cls;
  int n_cls;
  unsigned long routes_version;
  /* The request being decided: the policy's calls come back here (one decision at a time). */
  int cur_cls, cur_origin;
  int failed;            /* an order could not be allocated during the last decision */
  int *scratch;          /* [n_sites]: the bounded heap of extend_order */
  const cpn_topology_t *topo;  /* borrowed; NULL: orders come from scans only */
  cpn_topology_near_t *near;   /* the search of first_by_graph, made on first use */
  int near_failed;             /* it could not be made: scans only */
  int *origin_node;            /* [n_origins]: topology node of each origin (with topo) */
  cpn_site_index_t api;
};

static int same_allowed(const cpn_origin_spec_t *a, const cpn_origin_spec_t *b)
{
  if (a->n_allowed != b->n_allowed)
    return 0;
  for (int i = 0; i < a->n_allowed; i++)
    if (strcmp(a->allowed[i], b->allowed[i]) != 0)
      return 0;
  return 1;
}

int cpn_residency_allows(const cpn_origin_spec_t *o, const cpn_site_spec_t *s)
{
  if (o->n_allowed == 0)
    return 1;
  for (int i = 0; i < o->n_allowed; i++)
    if (strcmp(o->allowed[i], s->region) == 0 || strcmp(o->allowed[i], s->country) == 0)
      return 1;
  return 0;
}

/* The load a policy reads (cpn_view_load in policy.h), bit for bit. */
static double load_of(const cpn_class_index_t *ix, int site, int model)
{
  const cpn_model_view_t *m = &ix->view->models[(size_t)site * ix->n_models + model];
  return m->queued_tokens / (m->replicas > 0 ? m->replicas : 1);
}

static void pull(cls_t *c, int i)
{
  int l = 2 * i, r = l + 1;
  if (c->key[l] < c->key[r]) {
    c->key[i] = c->key[l];
    c->cnt[i] = c->cnt[l];
  } else if (c->key[r] < c->key[l]) {
    c->key[i] = c->key[r];
    c->cnt[i] = c->cnt[r];
  } else {
    c->key[i] = c->key[l];
    c->cnt[i] = c->cnt[l] + c->cnt[r];
  }
}

static void rebuild(cpn_class_index_t *ix, cls_t *c)
{
  for (int i = 0; i < c->size; i++) {
    c->key[c->size + i] = i < c->n ? load_of(ix, c->sites[i], c->model) : INFINITY;
    c->cnt[c->size + i] = i < c->n;
  }
  for (int i = c->size - 1; i >= 1; i--)
    pull(c, i);
}

static void drop_routes(cpn_class_index_t *ix, cls_t *c)
{
  for (int o = 0; o < ix->n_origins; o++) {
    free(c->by_lat[o]);
    c->by_lat[o] = NULL;
  }
  memset(c->reach, 0, (size_t)ix->n_origins);
  memset(c->known, 0, sizeof *c->known * (size_t)ix->n_origins);
}

static void cls_free(cpn_class_index_t *ix, cls_t *c)
{
  if (c->by_lat)
    for (int o = 0; o < ix->n_origins; o++)
      free(c->by_lat[o]);
  free(c->by_lat);
  free(c->known);
  free(c->reach);
  free(c->sites);
  free(c->pos);
  free(c->key);
  free(c->cnt);
}

/* Makes the class of (group, model, conf): its id, -2 when it is empty, -1 when out of memory (the
 * caller scans). O(n) plus the tree. */
static int make_class(cpn_class_index_t *ix, int group, int model, int conf, int origin)
{
  const cpn_origin_spec_t *o = &ix->sc->origins[origin];
  cls_t c = {.model = model, .conf = conf, .group = group, .min_kv = INFINITY};
  c.sites = malloc(sizeof *c.sites * (size_t)ix->n_sites);
  c.pos = malloc(sizeof *c.pos * (size_t)ix->n_sites);
  if (!c.sites || !c.pos)
    goto fail;
  for (int s = 0; s < ix->n_sites; s++) {
    const cpn_capacity_t *cap = cpn_views_capacity(ix->views, s, model);
    c.pos[s] = -1;
    if (cap->n_replicas == 0 || (conf && cap->conf_replicas == 0) || !cpn_residency_allows(o, &ix->sc->sites[s]))
      continue;
    c.pos[s] = c.n;
    c.sites[c.n++] = s;
    if (cap->max_kv_cap < c.min_kv)
      c.min_kv = cap->max_kv_cap;
  }
  if (c.n == 0) {
    cls_free(ix, &c);
    return -2;
  }
  for (c.size = 1; c.size < c.n; c.size *= 2)
    ;
  c.key = malloc(sizeof *c.key * 2 * (size_t)c.size);
  c.cnt = malloc(sizeof *c.cnt * 2 * (size_t)c.size);
  c.reach = calloc((size_t)ix->n_origins, 1);
  c.by_lat = calloc((size_t)ix->n_origins, sizeof *c.by_lat);
  c.known = calloc((size_t)ix->n_origins, sizeof *c.known);
  if (!c.key || !c.cnt || !c.reach || !c.by_lat || !c.known)
    goto fail;
  rebuild(ix, &c);
  ix->cls[ix->n_cls] = c;
  return ix->n_cls++;
fail:
  cls_free(ix, &c);
  return -1;
}

cpn_err_t cpn_class_index_new(cpn_class_index_t **out, const cpn_scenario_t *sc, cpn_views_t *views,
                              const cpn_view_t *view, const cpn_network_t *net, const cpn_topology_t *topo)
{
  cpn_class_index_t *ix = calloc(1, sizeof *ix);
  if (!ix)
    return cpn_error_set(CPN_ENOMEM, "placement: out of memory (class index)");
  *ix = (cpn_class_index_t){.sc = sc, .views = views, .view = view, .net = net, .n_sites = sc->n_sites,
                            .n_models = sc->n_models, .n_origins = sc->n_origins,
                            .routes_version = net ? cpn_network_routes_version(net) : 0};
  ix->group = malloc(sizeof *ix->group * (size_t)(sc->n_origins ? sc->n_origins : 1));
  if (topo && (ix->origin_node = malloc(sizeof *ix->origin_node * (size_t)(sc->n_origins ? sc->n_origins : 1)))) {
    ix->topo = topo;
    for (int o = 0; o < sc->n_origins && ix->topo; o++)
      if ((ix->origin_node[o] = cpn_topology_node_index(topo, sc->origins[o].node)) < 0)
        ix->topo = NULL; /* not the scenario's topology: scan */
  }
  ix->scratch = malloc(sizeof *ix->scratch * (size_t)(sc->n_sites ? sc->n_sites : 1));
  int *rep = malloc(sizeof *rep * MAX_GROUPS); /* an origin of each group */
  if (!ix->group || !ix->scratch || !rep) {
    free(rep);
    cpn_class_index_free(ix);
    return cpn_error_set(CPN_ENOMEM, "placement: out of memory (class index)");
  }
  for (int o = 0; o < sc->n_origins; o++) {
    int g = 0;
    while (g < ix->n_groups && !same_allowed(&sc->origins[rep[g]], &sc->origins[o]))
      g++;
    if (g == ix->n_groups && g < MAX_GROUPS)
      rep[ix->n_groups++] = o;
    ix->group[o] = g < MAX_GROUPS ? g : -1;
  }
  free(rep);
  size_t n_keys = (size_t)(ix->n_groups ? ix->n_groups : 1) * (size_t)sc->n_models * 2;
  ix->cls_of = malloc(sizeof *ix->cls_of * n_keys);
  ix->cls = calloc(n_keys, sizeof *ix->cls);
  if (!ix->cls_of || !ix->cls) {
    cpn_class_index_free(ix);
    return cpn_error_set(CPN_ENOMEM, "placement: out of memory (class index)");
  }
  for (size_t i = 0; i < n_keys; i++)
    ix->cls_of[i] = -1;
  cpn_views_on_load(views, cpn_class_index_load_changed, ix);
  *out = ix;
  return CPN_OK;
}

void cpn_class_index_free(cpn_class_index_t *ix)
{
  if (!ix)
    return;
  if (ix->views)
    cpn_views_on_load(ix->views, NULL, NULL);
  for (int i = 0; i < ix->n_cls; i++)
    cls_free(ix, &ix->cls[i]);
  free(ix->cls);
  free(ix->cls_of);
  free(ix->group);
  free(ix->scratch);
  free(ix->origin_node);
  cpn_topology_near_free(ix->near);
  free(ix);
}

int cpn_class_index_failed(const cpn_class_index_t *ix) { return ix->failed; }

void cpn_class_index_load_changed(void *ctx, int site, int model)
{
  cpn_class_index_t *ix = ctx;
  for (int i = 0; i < ix->n_cls; i++) {
    cls_t *c = &ix->cls[i];
    if (site < 0) {
      rebuild(ix, c);
      continue;
    }
    if (c->model != model || c->pos[site] < 0)
      continue;
    int at = c->size + c->pos[site];
    c->key[at] = load_of(ix, site, model);
    for (at /= 2; at >= 1; at /= 2)
      pull(c, at);
  }
}

/* ---- the policies' side (cpn_site_index_t), for the request being decided ---- */

/* (latency, site) order: 1 if site a comes before site b. */
static int before(const double *lat, int a, int b) { return lat[a] < lat[b] || (lat[a] == lat[b] && a < b); }

/* Restores a max-heap in (latency, site) order (the latest site on top) below slot i. */
static void sift_down_max(int *h, int n, int i, const double *lat)
{
  for (;;) {
    int l = 2 * i + 1, m = i;
    if (l < n && before(lat, h[m], h[l]))
      m = l;
    if (l + 1 < n && before(lat, h[m], h[l + 1]))
      m = l + 1;
    if (m == i)
      return;
    int t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

/* Inserts site s into the bounded max-heap h of size *size (at most m), in (latency, site) order. */
static void bounded_add(int *h, int *size, int m, int s, const double *lat)
{
  if (*size < m) {
    int j = (*size)++;
    while (j > 0 && before(lat, h[(j - 1) / 2], s)) {
      h[j] = h[(j - 1) / 2];
      j = (j - 1) / 2;
    }
    h[j] = s;
  } else if (before(lat, s, h[0])) {
    h[0] = s;
    sift_down_max(h, *size, 0, lat);
  }
}

/* The first m sites of the current origin's order into the bounded heap h, from the nodes nearest the
 * origin's node (cpn_topology_near) instead of a scan of every class site: a site's latency in the table
 * is fl(access + route latency), at least fl(access + d) for the search's distance d of its node, so once
 * the heap holds m sites and fl(access + d) of the next node exceeds the latency of its latest, no node
 * left can come before it. O(m' log m') for the m' nodes nearer than the m-th site. Returns the count
 * found, or -1 when the search would visit more nodes than a scan looks at sites (sites of the class are
 * sparse among the nodes; the caller scans). */
static int first_by_graph(cpn_class_index_t *ix, cls_t *c, int m, int *h)
{
  int origin = ix->cur_origin, size = 0, budget = c->n + 64, v;
  const double *lat = ix->view->route_latency_s + (size_t)origin * ix->n_sites;
  double access_s = ix->sc->origins[origin].access_latency_s, d;
  cpn_topology_near_start(ix->near, ix->origin_node[origin]);
  while ((v = cpn_topology_near_next(ix->near, &d)) >= 0) {
    if (size == m && access_s + d > lat[h[0]])
      break;
    if (--budget < 0)
      return -1;
    if (v < ix->n_sites && c->pos[v] >= 0)
      bounded_add(h, &size, m, v, lat);
  }
  return size;
}

/* Appends to the current origin's order the next sites in (latency, site) order, FIRST_CHUNK at the
 * first call and as many as are known at the others. With the topology, a search of the graph near the
 * origin finds the first (known + m) again, O(k log k) for the first k sites over all calls; else (or
 * when the search gives up) one scan of the class's sites in site order, reading the origin's latency row
 * in order, keeps the earliest m sites after the last known one in a bounded max-heap, O(n log m) per
 * call. Memory: the sites found. -1 when out of memory. */
static int extend_order(cpn_class_index_t *ix, cls_t *c)
{
  int origin = ix->cur_origin, have = c->known[origin];
  const double *lat = ix->view->route_latency_s + (size_t)origin * ix->n_sites;
  int m = have ? have : FIRST_CHUNK;
  if (m > c->n - have)
    m = c->n - have;
  int *o = realloc(c->by_lat[origin], sizeof *o * (size_t)(have + m > 0 ? have + m : 1));
  if (!o)
    return -1;
  c->by_lat[origin] = o;
  int *h = ix->scratch, size = -1, from = 0, last = have ? o[have - 1] : -1;
  if (ix->topo && !ix->near && !ix->near_failed)
    ix->near_failed = !(ix->near = cpn_topology_near_new(ix->topo));
  /* The search finds the first have + m again (the known ones are the same: the order is exact). */
  if (ix->near && first_by_graph(ix, c, have + m, h) == have + m)
    size = have + m;
  if (size < 0) { /* no search, or it gave up: scan for the m after the last known */
    size = 0;
    from = have;
    for (int i = 0; i < c->n; i++) {
      int s = c->sites[i];
      if (last >= 0 && !before(lat, last, s))
        continue; /* already in the order */
      bounded_add(h, &size, m, s, lat);
    }
  }
  /* Heap sort: the latest goes last. */
  for (int n = size; n > 1; n--) {
    int t = h[0];
    h[0] = h[n - 1];
    h[n - 1] = t;
    sift_down_max(h, n - 1, 0, lat);
  }
  memcpy(o + from, h, sizeof *h * (size_t)size);
  c->known[origin] = from + size;
  return 0;
}

static int api_by_latency(void *ctx, int k)
{
  cpn_class_index_t *ix = ctx;
  cls_t *c = &ix->cls[ix->cur_cls];
  int origin = ix->cur_origin;
  if (k < 0 || k >= c->n)
    return -1;
  while (c->known[origin] <= k)
    if (extend_order(ix, c) != 0) {
      ix->failed = 1; /* the policy cannot be told: the run is stopped after this decision */
      return -1;
    }
  return c->by_lat[origin][k];
}

static int api_latency_ready(void *ctx)
{
  cpn_class_index_t *ix = ctx;
  cls_t *c = &ix->cls[ix->cur_cls];
  if (c->by_lat[ix->cur_origin])
    return 1;
  /* The first chunk costs about one scan of the sites, as the policy's own scan would, and 64 bytes: it
   * is made at the origin's first ask (the whole order was made at the second, for its memory). */
  return extend_order(ix, c) == 0; /* out of memory: the policy scans */
}

static double api_min_load(void *ctx, int *count)
{
  cpn_class_index_t *ix = ctx;
  const cls_t *c = &ix->cls[ix->cur_cls];
  if (count)
    *count = c->cnt[1];
  return c->key[1];
}

/* Leaves under `node` whose key is `low` (the minimum), in site order, while fewer than cap are out. */
static void collect(const cls_t *c, int node, double low, int *out, int cap, int *k)
{
  if (*k >= cap || c->key[node] != low || c->cnt[node] == 0)
    return;
  if (node >= c->size) {
    out[(*k)++] = c->sites[node - c->size];
    return;
  }
  collect(c, 2 * node, low, out, cap, k);
  collect(c, 2 * node + 1, low, out, cap, k);
}

static int api_min_load_sites(void *ctx, int *out, int cap)
{
  cpn_class_index_t *ix = ctx;
  const cls_t *c = &ix->cls[ix->cur_cls];
  int k = 0;
  collect(c, 1, c->key[1], out, cap, &k);
  return k;
}

const cpn_site_index_t *cpn_class_index_find(cpn_class_index_t *ix, int origin, int model, int conf, double need_kv,
                                             int *n, const int **sites)
{
  int g = ix->group[origin];
  if (g < 0 || cpn_views_n_down(ix->views) > 0)
    return NULL;
  unsigned long rv = ix->net ? cpn_network_routes_version(ix->net) : 0;
  if (rv != ix->routes_version) {
    for (int i = 0; i < ix->n_cls; i++)
      drop_routes(ix, &ix->cls[i]);
    ix->routes_version = rv;
  }
  int *slot = &ix->cls_of[((size_t)g * ix->n_models + model) * 2 + (conf != 0)];
  if (*slot == -1)
    *slot = make_class(ix, g, model, conf != 0, origin);
  if (*slot < 0)
    return NULL;
  cls_t *c = &ix->cls[*slot];
  if (!(need_kv <= c->min_kv))
    return NULL;
  if (c->reach[origin] == 0) {
    const double *row = ix->view->route_latency_s + (size_t)origin * ix->n_sites;
    int all = 1;
    for (int i = 0; i < c->n && all; i++)
      all = isfinite(row[c->sites[i]]);
    c->reach[origin] = all ? 1 : -1;
  }
  if (c->reach[origin] < 0)
    return NULL;
  ix->cur_cls = *slot;
  ix->cur_origin = origin;
  ix->api = (cpn_site_index_t){.ctx = ix, .by_latency = api_by_latency, .latency_ready = api_latency_ready,
                               .min_load = api_min_load, .min_load_sites = api_min_load_sites};
  *n = c->n;
  *sites = c->sites;
  return &ix->api;
}
