/* test_class_index: the placement's class index (placement/class_index.c) gives each request the eligible
 * sites the engine's scan would give, and every policy that reads the index (nearest, least-loaded,
 * jsq-latency, prefix-aware without cached tokens, east-west's nearest rule) chooses the same site with
 * the same score as its scan of the eligible list, on random states: hundreds of sites, loads and
 * latencies drawn from few values (so that ties, the tie-breaks and both of least-loaded's ways, few and
 * many tied sites, are exercised) and from many, residency groups, confidential pools, live and stale
 * views. No SimGrid: views and index are built from a hand-made scenario. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement/class_index.h"
#include "placement/policy.h"
#include "placement/view.h"
#include "topology/generate.h"
#include "topology/topology.h"

enum { NS = 613, NM = 2, NO = 23 };

typedef struct {
  cpn_scenario_t sc;
  cpn_site_spec_t sites[NS];
  cpn_origin_spec_t origins[NO];
  char allowed[NO][2][CPN_NAME_MAX];
  double lat[NO * NS], bw[NO * NS];
  cpn_views_t *views;
  cpn_class_index_t *ix;
  const cpn_view_t *view;
  gsl_rng *rng;
  double kv_cap[NS * NM];
  int n_rep[NS * NM], conf_rep[NS * NM];
  cpn_topology_t *topo;     /* graph worlds: the latencies are its routes' */
  cpn_node_spec_t *gen_nodes;
  cpn_link_spec_t *gen_links;
} world_t;

static double u01(void *rng) { return gsl_rng_uniform(rng); }

static const char *const regions[] = {"north", "south", "east", "west-1"};

/* A random world: each site serves each model with probability 0.8 (1 to 3 replicas, some confidential,
 * KV capacity 8,000 or 32,000 tokens), sites spread over four regions; origins 0-9 may use any site,
 * 10-16 only "north", 17-22 "south" or "east". `lat_values`: latencies take that many values (0: any).
 * `graph`: the sites are the nodes of a generated Waxman network instead, origins enter at node 37 o mod
 * NS with an access latency of their own, the latencies are access + route as the network computes them
 * and the index searches the graph (graph 2: link latencies rounded to whole milliseconds, so that many
 * routes tie). */
static world_t *world_new_graph(unsigned seed, int stale, int lat_values, int graph)
{
  world_t *w = calloc(1, sizeof *w);
  assert_non_null(w);
  w->rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(w->rng, seed);
  for (int s = 0; s < NS; s++) {
    snprintf(w->sites[s].name, CPN_NAME_MAX, "s%d", s);
    snprintf(w->sites[s].region, CPN_NAME_MAX, "%s", regions[gsl_rng_uniform_int(w->rng, 4)]);
    snprintf(w->sites[s].country, sizeof w->sites[s].country, "CN");
    w->sites[s].pue = 1.1 + 0.3 * gsl_rng_uniform(w->rng);
    w->sites[s].price_usd_per_kwh = 0.05 + 0.1 * gsl_rng_uniform(w->rng);
  }
  for (int o = 0; o < NO; o++) {
    cpn_origin_spec_t *og = &w->origins[o];
    snprintf(og->name, CPN_NAME_MAX, "o%d", o);
    og->allowed = w->allowed[o];
    if (o >= 10 && o < 17) {
      snprintf(w->allowed[o][0], CPN_NAME_MAX, "north");
      og->n_allowed = 1;
    } else if (o >= 17) {
      snprintf(w->allowed[o][0], CPN_NAME_MAX, "south");
      snprintf(w->allowed[o][1], CPN_NAME_MAX, "east");
      og->n_allowed = 2;
    }
    for (int s = 0; s < NS; s++) {
      double l = lat_values ? 0.001 * (1 + (double)gsl_rng_uniform_int(w->rng, (unsigned long)lat_values))
                            : 0.0005 + 0.03 * gsl_rng_uniform(w->rng);
      w->lat[o * NS + s] = l;
      w->bw[o * NS + s] = 1e11;
    }
  }
  w->sc = (cpn_scenario_t){.n_sites = NS, .sites = w->sites, .n_models = NM, .n_origins = NO, .origins = w->origins};
  if (graph) {
    int nn, nl;
    assert_int_equal(cpn_topology_generate("waxman", NS, seed, &w->gen_nodes, &nn, &w->gen_links, &nl), CPN_OK);
    assert_int_equal(nn, NS);
    for (int s = 0; s < NS; s++)
      snprintf(w->sites[s].name, CPN_NAME_MAX, "%s", w->gen_nodes[s].name); /* the links name them */
    for (int l = 0; graph == 2 && l < nl; l++)
      w->gen_links[l].latency_s = 0.001 * round(w->gen_links[l].latency_s / 0.001);
    for (int o = 0; o < NO; o++) {
      snprintf(w->origins[o].node, CPN_NAME_MAX, "%s", w->gen_nodes[(37 * o) % NS].name);
      w->origins[o].access_latency_s = graph == 2 ? 0.002 : 0.0015 + 0.00037 * o;
    }
    w->sc.links = w->gen_links;
    w->sc.n_links = nl;
    assert_int_equal(cpn_topology_new(&w->topo, &w->sc), CPN_OK);
    for (int o = 0; o < NO; o++) {
      double *row = w->lat + (size_t)o * NS;
      cpn_topology_route_latency_row(w->topo, cpn_topology_node_index(w->topo, w->origins[o].node), NS, row);
      for (int s = 0; s < NS; s++)
        row[s] = w->origins[o].access_latency_s + row[s];
    }
  }
  assert_int_equal(cpn_views_new(&w->views, &w->sc, stale), CPN_OK);
  cpn_views_set_routes(w->views, NO, w->lat, w->bw);
  cpn_views_set_rng(w->views, u01, w->rng);
  for (int s = 0; s < NS; s++)
    for (int m = 0; m < NM; m++) {
      if (gsl_rng_uniform(w->rng) < 0.2)
        continue;
      int n = 1 + (int)gsl_rng_uniform_int(w->rng, 3);
      double kv = gsl_rng_uniform(w->rng) < 0.1 ? 8000 : 32000;
      for (int k = 0; k < n; k++) {
        int conf = gsl_rng_uniform(w->rng) < 0.3;
        cpn_views_add_replica(w->views, s, m, conf, kv, 1, 0.02 + 0.05 * gsl_rng_uniform(w->rng),
                              0.01 + 0.02 * gsl_rng_uniform(w->rng), 0.3, 2.0);
        w->n_rep[s * NM + m]++;
        w->conf_rep[s * NM + m] += conf;
        if (kv > w->kv_cap[s * NM + m])
          w->kv_cap[s * NM + m] = kv;
      }
    }
  cpn_views_refresh(w->views, 0.0);
  w->view = cpn_views_policy(w->views, 0.0);
  assert_int_equal(cpn_class_index_new(&w->ix, &w->sc, w->views, w->view, NULL, w->topo), CPN_OK);
  return w;
}

static world_t *world_new(unsigned seed, int stale, int lat_values)
{
  return world_new_graph(seed, stale, lat_values, 0);
}

static void world_free(world_t *w)
{
  cpn_class_index_free(w->ix);
  cpn_topology_free(w->topo);
  free(w->gen_nodes);
  free(w->gen_links);
  cpn_views_free(w->views);
  gsl_rng_free(w->rng);
  free(w);
}

/* The engine's rule (placement.c's site_eligible with every site up, routes finite, no avoided site). */
static int scan_eligible(const world_t *w, int origin, int model, int conf, double need_kv, int *out)
{
  int n = 0;
  const cpn_origin_spec_t *o = &w->origins[origin];
  for (int s = 0; s < NS; s++) {
    int i = s * NM + model, ok = w->n_rep[i] > 0 && (!conf || w->conf_rep[i] > 0) && !(w->kv_cap[i] < need_kv);
    if (ok && o->n_allowed) {
      ok = 0;
      for (int k = 0; k < o->n_allowed; k++)
        ok |= strcmp(o->allowed[k], w->sites[s].region) == 0;
    }
    if (ok)
      out[n++] = s;
  }
  return n;
}

/* Queued tokens of (site, model) move by a random whole number of tokens, never below 0 (as requests
 * join and leave). `zero_bias`: the chance that a (site, model) is emptied instead. */
static void churn(world_t *w, int moves, double zero_bias, int distinct)
{
  for (int k = 0; k < moves; k++) {
    int s = (int)gsl_rng_uniform_int(w->rng, NS), m = (int)gsl_rng_uniform_int(w->rng, NM);
    double now = cpn_views_model(w->views, s, m)->queued_tokens, d;
    if (gsl_rng_uniform(w->rng) < zero_bias)
      d = -now;
    else
      d = distinct ? (double)gsl_rng_uniform_int(w->rng, 50000) + 1 : 600.0 * (1 + gsl_rng_uniform_int(w->rng, 3));
    if (now + d < 0)
      d = -now;
    cpn_views_tokens(w->views, s, m, d);
  }
}

static const char *const indexed_policies[] = {"nearest", "least-loaded", "jsq-latency", "prefix-aware", "east-west"};

/* For random requests: the index's eligible list equals the scan's, and each indexed policy decides the
 * same with and without the index. Returns the number of decisions compared. */
static int compare_decisions(world_t *w, cpn_policy_registry_t *reg, int requests)
{
  int scanned[NS], compared = 0;
  for (int q = 0; q < requests; q++) {
    int origin = (int)gsl_rng_uniform_int(w->rng, NO), model = (int)gsl_rng_uniform_int(w->rng, NM);
    int conf = gsl_rng_uniform(w->rng) < 0.2;
    double need_kv = gsl_rng_uniform(w->rng) < 0.05 ? 20000 : 2000;
    int n_ix = -1;
    const int *sites = NULL;
    const cpn_site_index_t *ix = cpn_class_index_find(w->ix, origin, model, conf, need_kv, &n_ix, &sites);
    int n = scan_eligible(w, origin, model, conf, need_kv, scanned);
    if (!ix) {
      /* Only a request too large for some class site, or a class without sites, goes without. */
      int some_small = 0, n_any = scan_eligible(w, origin, model, conf, 0, scanned);
      for (int i = 0; i < n_any; i++)
        some_small |= w->kv_cap[scanned[i] * NM + model] < need_kv;
      assert_true(some_small || n_any == 0);
      continue;
    }
    assert_int_equal(n_ix, n);
    assert_memory_equal(sites, scanned, sizeof *sites * (size_t)n);
    const char *cls = gsl_rng_uniform(w->rng) < 0.5 ? "interactive" : "batch";
    cpn_request_view_t rv = {.id = (uint64_t)q, .origin = origin, .model = model, .class_name = cls,
                             .prompt_tokens = 1 + (unsigned)gsl_rng_uniform_int(w->rng, 4000), .output_tokens = 200,
                             .ttft_slo_s = 2.0, .confidential = conf, .n_eligible = n, .eligible = sites};
    for (size_t p = 0; p < sizeof indexed_policies / sizeof *indexed_policies; p++) {
      const cpn_policy_type_t *t = cpn_policy_registry_find(reg, indexed_policies[p]);
      assert_non_null(t);
      char state[256] = {0};
      if (t->init)
        assert_int_equal(t->init(state, NULL, w->view), 0);
      cpn_decision_t with = {.site = -2, .score = NAN}, without = {.site = -2, .score = NAN};
      rv.index = ix;
      t->decide(state, w->view, &rv, &with);
      rv.index = NULL;
      t->decide(state, w->view, &rv, &without);
      if (with.site != without.site || !(with.score == without.score))
        fail_msg("%s, request %d (origin %d, model %d, conf %d, %d sites): indexed %d (%.17g), scan %d (%.17g)",
                 t->name, q, origin, model, conf, n, with.site, with.score, without.site, without.score);
      compared++;
    }
  }
  return compared;
}

/* Loads from few values (many ties, many empty sites) and latencies from few values: both of
 * least-loaded's ways and every tie-break are taken. */
static void indexed_equals_scan_with_ties(void **unused)
{
  cpn_policy_registry_t *reg;
  assert_int_equal(cpn_policy_registry_new(&reg), CPN_OK);
  world_t *w = world_new(2385, 0, 4);
  int compared = 0;
  for (int round = 0; round < 60; round++) {
    churn(w, 1 + (int)gsl_rng_uniform_int(w->rng, 400), round % 3 == 0 ? 0.6 : 0.1, 0);
    compared += compare_decisions(w, reg, 40);
  }
  assert_true(compared > 5000);
  world_free(w);
  cpn_policy_registry_free(reg);
}

/* Loads and latencies from a continuum: few ties, the enumeration of the lowest load's sites. */
static void indexed_equals_scan_distinct(void **unused)
{
  cpn_policy_registry_t *reg;
  assert_int_equal(cpn_policy_registry_new(&reg), CPN_OK);
  world_t *w = world_new(71, 0, 0);
  int compared = 0;
  for (int round = 0; round < 60; round++) {
    churn(w, 1 + (int)gsl_rng_uniform_int(w->rng, 400), round < 5 ? 0.05 : 0.01, 1);
    compared += compare_decisions(w, reg, 40);
  }
  assert_true(compared > 5000);
  world_free(w);
  cpn_policy_registry_free(reg);
}

/* Stale views: loads change in the live views only; the index follows the policies' copy, refreshed. */
static void indexed_equals_scan_on_stale_views(void **unused)
{
  cpn_policy_registry_t *reg;
  assert_int_equal(cpn_policy_registry_new(&reg), CPN_OK);
  world_t *w = world_new(9, 1, 3);
  for (int round = 0; round < 30; round++) {
    churn(w, 200, 0.2, round % 2);
    compare_decisions(w, reg, 30); /* the copy is older than the live loads here */
    if (round % 4 == 3)
      cpn_views_refresh(w->views, round);
  }
  world_free(w);
  cpn_policy_registry_free(reg);
}

/* The lowest load and its count are those of the class's sites, after changes. */
static void min_load_counts_ties(void **unused)
{
  world_t *w = world_new(5, 0, 0);
  int n;
  const int *sites;
  const cpn_site_index_t *ix = cpn_class_index_find(w->ix, 0, 0, 0, 100, &n, &sites);
  assert_non_null(ix);
  int count;
  assert_true(ix->min_load(ix->ctx, &count) == 0.0);
  assert_int_equal(count, n); /* all empty */
  for (int i = 0; i < n; i++)
    cpn_views_tokens(w->views, sites[i], 0, 2385.0 + i);
  cpn_views_tokens(w->views, sites[n - 1], 0, -(2385.0 + n - 1)); /* the last one empties */
  cpn_views_tokens(w->views, sites[3], 0, -(2385.0 + 3));
  ix = cpn_class_index_find(w->ix, 0, 0, 0, 100, &n, &sites);
  assert_true(ix->min_load(ix->ctx, &count) == 0.0);
  assert_int_equal(count, 2);
  int out[4];
  assert_int_equal(ix->min_load_sites(ix->ctx, out, 4), 2);
  assert_int_equal(out[0], sites[3]);
  assert_int_equal(out[1], sites[n - 1]);
  assert_int_equal(ix->by_latency(ix->ctx, n), -1);
  for (int k = 1; k < n; k++) {
    int a = ix->by_latency(ix->ctx, k - 1), b = ix->by_latency(ix->ctx, k);
    assert_true(w->lat[a] < w->lat[b] || (w->lat[a] == w->lat[b] && a < b));
  }
  world_free(w);
}

/* The reference order of the sites of `sites` from origin o: (latency, site) ascending, by insertion. */
static void sorted_by_latency(const world_t *w, int o, const int *sites, int n, int *out)
{
  const double *lat = w->lat + (size_t)o * NS;
  for (int i = 0; i < n; i++) {
    int s = sites[i], j = i;
    while (j > 0 && (lat[out[j - 1]] > lat[s] || (lat[out[j - 1]] == lat[s] && out[j - 1] > s))) {
      out[j] = out[j - 1];
      j--;
    }
    out[j] = s;
  }
}

/* An origin's latency order is ready at its first ask and is the exact (latency, site) order at every
 * rank, whether the ranks are asked in order, by jumps past what is known (each scan finds as many again
 * as are known) or again, with origins interleaved (each keeps its own prefix), with many tied latencies
 * and with none. */
static void latency_order_exact_at_every_rank(void **unused)
{
  for (int lat_values = 0; lat_values <= 3; lat_values += 3) {
    world_t *w = world_new(3 + (unsigned)lat_values, 0, lat_values);
    int n, ref[NO][NS], len[NO] = {0};
    const int *sites;
    for (int round = 0; round < 40; round++)
      for (int o = 0; o < NO; o++) {
        const cpn_site_index_t *ix = cpn_class_index_find(w->ix, o, 1, 0, 100, &n, &sites);
        assert_non_null(ix);
        if (round == 0) {
          assert_int_equal(ix->latency_ready(ix->ctx), 1);
          sorted_by_latency(w, o, sites, n, ref[o]);
          len[o] = n;
        }
        assert_int_equal(n, len[o]);
        /* Ranks 0, 1, ... in the first rounds, then jumps (multiples of a prime, wrapping), then the end. */
        int k = round < 20 ? round : (round * 37 + o * 11) % n;
        if (round == 39)
          k = n - 1;
        assert_int_equal(ix->by_latency(ix->ctx, k), ref[o][k]);
        assert_int_equal(ix->by_latency(ix->ctx, n), -1);
      }
    for (int o = 0; o < NO; o++) {
      const cpn_site_index_t *ix = cpn_class_index_find(w->ix, o, 1, 0, 100, &n, &sites);
      for (int k = 0; k < n; k++)
        assert_int_equal(ix->by_latency(ix->ctx, k), ref[o][k]);
    }
    assert_int_equal(cpn_class_index_failed(w->ix), 0);
    world_free(w);
  }
}

/* With the topology, an origin's order comes from a search of the graph near it that stops once no node
 * left can come before the last site it needs: the order must still be the exact (latency, site) order
 * of the latencies in the view at every rank (a stop one node too early would drop a site that ties
 * with the last, or a later one with a lower index), and every indexed policy must decide as its scan,
 * with route latencies from a continuum and with many tied routes. */
static void graph_search_order_equals_sorted_latencies(void **unused)
{
  cpn_policy_registry_t *reg;
  assert_int_equal(cpn_policy_registry_new(&reg), CPN_OK);
  for (int graph = 1; graph <= 2; graph++) {
    world_t *w = world_new_graph(41 + (unsigned)graph, 0, 0, graph);
    int n, ref[NS], ties = 0;
    const int *sites;
    for (int o = 0; o < NO; o++)
      for (int m = 0; m < NM; m++) {
        const cpn_site_index_t *ix = cpn_class_index_find(w->ix, o, m, 0, 100, &n, &sites);
        assert_non_null(ix);
        sorted_by_latency(w, o, sites, n, ref);
        assert_int_equal(ix->latency_ready(ix->ctx), 1);
        /* The first ranks (the first search), one past a chunk (the search again, deeper), then all. */
        int probe[] = {0, 1, 15, 16, 17, 40, n / 2, n - 1};
        for (size_t i = 0; i < sizeof probe / sizeof *probe; i++)
          assert_int_equal(ix->by_latency(ix->ctx, probe[i]), ref[probe[i]]);
        for (int k = 0; k < n; k++) {
          assert_int_equal(ix->by_latency(ix->ctx, k), ref[k]);
          ties += k > 0 && w->lat[(size_t)o * NS + ref[k]] == w->lat[(size_t)o * NS + ref[k - 1]];
        }
      }
    if (graph == 2)
      assert_true(ties > 100); /* the rounded latencies do tie */
    int compared = 0;
    for (int round = 0; round < 30; round++) {
      churn(w, 1 + (int)gsl_rng_uniform_int(w->rng, 400), round % 3 == 0 ? 0.6 : 0.1, round % 2);
      compared += compare_decisions(w, reg, 30);
    }
    assert_true(compared > 2000);
    assert_int_equal(cpn_class_index_failed(w->ix), 0);
    world_free(w);
  }
  cpn_policy_registry_free(reg);
}

/* Without the index: a site down, an origin that does not reach every class site. */
static void no_index_when_a_site_is_down_or_unreachable(void **unused)
{
  world_t *w = world_new(13, 0, 0);
  int n;
  const int *sites;
  assert_non_null(cpn_class_index_find(w->ix, 1, 0, 0, 100, &n, &sites));
  cpn_views_set_up(w->views, sites[0], 0);
  assert_null(cpn_class_index_find(w->ix, 1, 0, 0, 100, &n, &sites));
  cpn_views_set_up(w->views, sites[1], 1); /* already up: no change */
  assert_null(cpn_class_index_find(w->ix, 1, 0, 0, 100, &n, &sites));
  world_free(w);

  w = world_new(13, 0, 0);
  assert_non_null(cpn_class_index_find(w->ix, 1, 0, 0, 100, &n, &sites));
  w->lat[2 * NS + sites[n / 2]] = INFINITY; /* origin 2: shares the class, misses one of its sites */
  assert_null(cpn_class_index_find(w->ix, 2, 0, 0, 100, &n, &sites));
  assert_non_null(cpn_class_index_find(w->ix, 1, 0, 0, 100, &n, &sites));
  world_free(w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(indexed_equals_scan_with_ties),
    cmocka_unit_test(indexed_equals_scan_distinct),
    cmocka_unit_test(indexed_equals_scan_on_stale_views),
    cmocka_unit_test(min_load_counts_ties),
    cmocka_unit_test(latency_order_exact_at_every_rank),
    cmocka_unit_test(graph_search_order_equals_sorted_latencies),
    cmocka_unit_test(no_index_when_a_site_is_down_or_unreachable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
