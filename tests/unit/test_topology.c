/* test_topology: routes (lowest latency, link order, ties, unreachable, bandwidth), input errors, the
 * SimGrid platform XML (loaded by SimGrid in one case only: one engine per process), GraphML import of
 * the Topology Zoo's Chinanet, and generated Waxman / Barabasi-Albert topologies.
 *
 * Scenarios are built by hand here (no YAML loader), with their own allocation and release. */
#include "topology/topology.h"
#include "topology/generate.h"
#include "topology/geo.h"
#include "topology/import_graphml.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <igraph.h>
#include <simgrid/engine.h>
#include <simgrid/host.h>
#include <simgrid/link.h>
#include <xbt/dynar.h>

static char **g_argv;

/* ---- hand-made scenarios ------------------------------------------------------------------------- */

static void *grow(void *p, int n, size_t size)
{
  void *q = realloc(p, (size_t)(n + 1) * size);
  assert_non_null(q);
  memset((char *)q + (size_t)n * size, 0, size);
  return q;
}

static void add_site(cpn_scenario_t *sc, const char *name)
{
  sc->sites = grow(sc->sites, sc->n_sites, sizeof *sc->sites);
  snprintf(sc->sites[sc->n_sites].name, CPN_NAME_MAX, "%s", name);
  sc->sites[sc->n_sites].line = 10 + sc->n_sites;
  sc->n_sites++;
}

static void add_node(cpn_scenario_t *sc, const char *name)
{
  sc->nodes = grow(sc->nodes, sc->n_nodes, sizeof *sc->nodes);
  snprintf(sc->nodes[sc->n_nodes].name, CPN_NAME_MAX, "%s", name);
  sc->n_nodes++;
}

static void add_link(cpn_scenario_t *sc, const char *a, const char *b, double latency_s, double bw_bps, int shared)
{
  sc->links = grow(sc->links, sc->n_links, sizeof *sc->links);
  cpn_link_spec_t *l = &sc->links[sc->n_links];
  snprintf(l->a, CPN_NAME_MAX, "%s", a);
  snprintf(l->b, CPN_NAME_MAX, "%s", b);
  l->latency_s = latency_s;
  l->bw_bps = bw_bps;
  l->shared = shared;
  l->line = 40 + sc->n_links;
  sc->n_links++;
}

static void add_origin(cpn_scenario_t *sc, const char *name, const char *node)
{
  sc->origins = grow(sc->origins, sc->n_origins, sizeof *sc->origins);
  snprintf(sc->origins[sc->n_origins].name, CPN_NAME_MAX, "%s", name);
  snprintf(sc->origins[sc->n_origins].node, CPN_NAME_MAX, "%s", node);
  sc->origins[sc->n_origins].line = 80 + sc->n_origins;
  sc->n_origins++;
}

static void free_scenario(cpn_scenario_t *sc)
{
  free(sc->sites);
  free(sc->nodes);
  free(sc->links);
  free(sc->origins);
  memset(sc, 0, sizeof *sc);
}

static cpn_scenario_t new_scenario(void)
{
  cpn_scenario_t sc;
  memset(&sc, 0, sizeof sc);
  snprintf(sc.file, sizeof sc.file, "%s", "test.yaml");
  return sc;
}

static int idx(const cpn_topology_t *t, const char *name)
{
  int i = cpn_topology_node_index(t, name);
  assert_true(i >= 0);
  return i;
}

static void assert_route(const cpn_topology_t *t, const char *src, const char *dst, const int *want, int n_want)
{
  const int *links = NULL;
  int n = cpn_topology_route_links(t, idx(t, src), idx(t, dst), &links);
  assert_int_equal(n, n_want);
  for (int i = 0; i < n; i++)
    assert_int_equal(links[i], want[i]);
}

/* ---- routes ------------------------------------------------------------------------------------- */

static void routes_follow_lowest_latency(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  add_site(&sc, "east");
  add_site(&sc, "west");
  add_node(&sc, "relay");
  add_link(&sc, "east", "west", 0.020, 4e11, 0);  /* direct, but slower than via the relay */
  add_link(&sc, "east", "relay", 0.006, 4e11, 0);
  add_link(&sc, "relay", "west", 0.007, 4e11, 0);
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  assert_int_equal(cpn_topology_node_count(t), 3);
  assert_int_equal(cpn_topology_link_count(t), 3);
  assert_true(cpn_topology_route_latency_s(t, idx(t, "east"), idx(t, "west")) == 0.006 + 0.007);
  assert_true(cpn_topology_route_latency_s(t, idx(t, "west"), idx(t, "east")) == 0.007 + 0.006);
  assert_route(t, "east", "west", (int[]){1, 2}, 2);
  assert_route(t, "west", "east", (int[]){2, 1}, 2);
  cpn_topology_free(t);
  free_scenario(&sc);
}

static void route_links_in_order(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  add_site(&sc, "a");
  add_site(&sc, "b");
  add_node(&sc, "x");
  add_node(&sc, "y");
  /* Listed out of path order so that sorted or reversed output would show. */
  add_link(&sc, "y", "b", 0.003, 1e11, 0);
  add_link(&sc, "a", "x", 0.0025, 1e11, 0);
  add_link(&sc, "x", "y", 0.004, 1e11, 0);
  add_origin(&sc, "users", "x");
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  assert_route(t, "a", "b", (int[]){1, 2, 0}, 3);
  assert_route(t, "b", "a", (int[]){0, 2, 1}, 3);
  assert_route(t, "x", "b", (int[]){2, 0}, 2);
  assert_route(t, "x", "a", (int[]){1}, 1);
  assert_true(cpn_topology_route_latency_s(t, idx(t, "a"), idx(t, "b")) == 0.0025 + 0.004 + 0.003);
  assert_true(cpn_topology_route_latency_s(t, idx(t, "b"), idx(t, "a")) == 0.003 + 0.004 + 0.0025);
  assert_true(cpn_topology_is_routing_source(t, idx(t, "x")));
  assert_false(cpn_topology_is_routing_source(t, idx(t, "y")));
  cpn_topology_free(t);
  free_scenario(&sc);
}

static void unreachable_is_infinite(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  const int *links = NULL;
  add_site(&sc, "a");
  add_site(&sc, "b");
  add_node(&sc, "c");
  add_node(&sc, "island");
  add_link(&sc, "a", "c", 0.002385, 1e11, 0);
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  int a = idx(t, "a"), b = idx(t, "b"), c = idx(t, "c"), island = idx(t, "island");
  assert_true(isinf(cpn_topology_route_latency_s(t, a, b)));
  assert_true(isinf(cpn_topology_route_latency_s(t, a, island)));
  assert_int_equal(cpn_topology_route_links(t, a, b, &links), 0);
  assert_true(cpn_topology_route_bw_bps(t, a, b) == 0);
  /* c is not a routing source: no routes from it, even to a neighbour. */
  assert_true(isinf(cpn_topology_route_latency_s(t, c, a)));
  assert_true(cpn_topology_route_latency_s(t, a, c) == 0.002385);
  assert_true(cpn_topology_route_latency_s(t, a, a) == 0);
  assert_int_equal(cpn_topology_route_links(t, a, a, &links), 0);
  cpn_topology_free(t);
  free_scenario(&sc);
}

static void bw_is_min_along_route(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  add_site(&sc, "a");
  add_site(&sc, "b");
  add_node(&sc, "x");
  add_node(&sc, "y");
  add_link(&sc, "a", "x", 0.001, 4e11, 0);
  add_link(&sc, "x", "y", 0.001, 2.385e10, 1);
  add_link(&sc, "y", "b", 0.001, 1e11, 0);
  add_link(&sc, "a", "b", 0.009, 1e9, 0);  /* slower, so never used */
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  int a = idx(t, "a"), b = idx(t, "b");
  assert_true(cpn_topology_route_bw_bps(t, a, b) == 2.385e10);
  assert_true(cpn_topology_route_bw_bps(t, b, a) == 2.385e10);
  assert_true(cpn_topology_route_bw_bps(t, a, idx(t, "x")) == 4e11);
  assert_true(isinf(cpn_topology_route_bw_bps(t, a, a)));
  cpn_topology_free(t);
  free_scenario(&sc);
}

/* The row form gives, node by node, what the route walk gives: from every node (sources or not), to
 * every node, including an unreachable one and the source itself. */
static void bw_row_equals_route_walk(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  add_site(&sc, "a");
  add_site(&sc, "b");
  add_site(&sc, "c");
  add_node(&sc, "x");
  add_node(&sc, "y");
  add_node(&sc, "island");
  add_link(&sc, "a", "x", 0.001, 4e11, 0);
  add_link(&sc, "x", "y", 0.001, 2.385e10, 1);
  add_link(&sc, "y", "b", 0.001, 1e11, 0);
  add_link(&sc, "x", "c", 0.002, 7e9, 0);
  add_link(&sc, "c", "b", 0.0005, 3e11, 0);
  add_origin(&sc, "y-users", "y");
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  int n = cpn_topology_node_count(t);
  double row[6];
  assert_int_equal(n, 6);
  for (int src = 0; src < n; src++) {
    cpn_topology_route_bw_row(t, src, n, row);
    for (int v = 0; v < n; v++) {
      double want = cpn_topology_route_bw_bps(t, src, v);
      if (!(row[v] == want))
        fail_msg("%s -> %s: row %g, walk %g", cpn_topology_node_name(t, src), cpn_topology_node_name(t, v), row[v],
                 want);
    }
  }
  cpn_topology_route_bw_row(t, idx(t, "a"), n, row);
  assert_true(row[idx(t, "island")] == 0 && isinf(row[idx(t, "a")]));
  assert_true(row[idx(t, "b")] == 2.385e10 && row[idx(t, "c")] == 7e9); /* via y (3 ms), via x (3 ms) */
  cpn_topology_free(t);
  free_scenario(&sc);
}

static void equal_latency_ties_take_fewest_links_then_lowest_link(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  add_site(&sc, "a");
  add_site(&sc, "b");
  add_node(&sc, "c");
  add_node(&sc, "d");
  add_node(&sc, "e");
  add_node(&sc, "f");
  /* Three routes a -> b of 10 ms: a-e-f-b (3 links), a-d-b (ends with l2), a-c-b (ends with l4). */
  add_link(&sc, "a", "e", 0.002, 1e11, 0);  /* l0 */
  add_link(&sc, "a", "d", 0.006, 1e11, 0);  /* l1 */
  add_link(&sc, "d", "b", 0.004, 1e11, 0);  /* l2 */
  add_link(&sc, "a", "c", 0.004, 1e11, 0);  /* l3 */
  add_link(&sc, "c", "b", 0.006, 1e11, 0);  /* l4 */
  add_link(&sc, "e", "f", 0.005, 1e11, 0);  /* l5 */
  add_link(&sc, "f", "b", 0.003, 1e11, 0);  /* l6 */
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  assert_route(t, "a", "b", (int[]){1, 2}, 2);
  assert_route(t, "b", "a", (int[]){2, 1}, 2);
  assert_true(fabs(cpn_topology_route_latency_s(t, idx(t, "a"), idx(t, "b")) - 0.010) < 1e-15);
  cpn_topology_free(t);

  /* Zero-latency links make ties in both directions; routes must still be loop-free, fewest links. */
  add_link(&sc, "c", "d", 0.0, 1e11, 0);    /* l7: a-c-d-b = 0.008 < 0.010 */
  add_link(&sc, "d", "b", 0.004, 1e11, 0);  /* l8: parallel to l2, same latency, higher number */
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  assert_route(t, "a", "b", (int[]){3, 7, 2}, 3);
  assert_route(t, "b", "a", (int[]){2, 7, 3}, 3);
  assert_true(cpn_topology_route_latency_s(t, idx(t, "a"), idx(t, "b")) == 0.004 + 0.0 + 0.004);
  cpn_topology_free(t);
  free_scenario(&sc);
}

static void node_index_numbers_sites_then_nodes(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  add_node(&sc, "zeta");
  add_site(&sc, "omega");
  add_node(&sc, "alpha");
  add_site(&sc, "beta");
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  assert_int_equal(cpn_topology_node_index(t, "omega"), 0);
  assert_int_equal(cpn_topology_node_index(t, "beta"), 1);
  assert_int_equal(cpn_topology_node_index(t, "zeta"), 2);
  assert_int_equal(cpn_topology_node_index(t, "alpha"), 3);
  assert_int_equal(cpn_topology_node_index(t, "gamma"), -1);
  assert_string_equal(cpn_topology_node_name(t, 2), "zeta");
  cpn_topology_free(t);
  free_scenario(&sc);
}

static void expect_rejected(cpn_scenario_t *sc, cpn_err_t code, const char *fragment)
{
  cpn_topology_t *t = (cpn_topology_t *)(intptr_t)1; /* must stay untouched on failure */
  cpn_error_clear();
  assert_int_equal(cpn_topology_new(&t, sc), code);
  assert_true(t == (cpn_topology_t *)(intptr_t)1);
  if (!strstr(cpn_error_message(), fragment))
    fail_msg("message '%s' lacks '%s'", cpn_error_message(), fragment);
}

static void bad_scenarios_are_rejected_with_location(void **state)
{
  cpn_scenario_t sc = new_scenario();
  add_site(&sc, "a");
  add_node(&sc, "b");
  add_link(&sc, "a", "nowhere", 0.001, 1e11, 0);
  expect_rejected(&sc, CPN_EINVAL, "test.yaml:40: link 0 (a - nowhere): 'nowhere' is not a site or node");
  snprintf(sc.links[0].b, CPN_NAME_MAX, "a");
  expect_rejected(&sc, CPN_EINVAL, "test.yaml:40: link 0 joins 'a' to itself");
  snprintf(sc.links[0].b, CPN_NAME_MAX, "b");
  sc.links[0].latency_s = -0.001;
  expect_rejected(&sc, CPN_EINVAL, "test.yaml:40: link 0 (a - b): latency_s");
  sc.links[0].latency_s = NAN;
  expect_rejected(&sc, CPN_EINVAL, "latency_s nan");
  sc.links[0].latency_s = 0.001;
  sc.links[0].bw_bps = 0;
  expect_rejected(&sc, CPN_EINVAL, "test.yaml:40: link 0 (a - b): bw_bps 0");
  sc.links[0].bw_bps = 1e11;
  add_origin(&sc, "users", "atlantis");
  expect_rejected(&sc, CPN_EINVAL, "test.yaml:80: origin 'users': node 'atlantis' is not a site or node");
  snprintf(sc.origins[0].node, CPN_NAME_MAX, "b");
  add_site(&sc, "b");
  expect_rejected(&sc, CPN_EINVAL, "test.yaml:11: name 'b' is used by two sites or nodes");
  snprintf(sc.sites[1].name, CPN_NAME_MAX, "%s", "");
  expect_rejected(&sc, CPN_EINVAL, "test.yaml:11: site 1 has no name");
  snprintf(sc.sites[1].name, CPN_NAME_MAX, "c");
  cpn_topology_t *t = NULL;
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  cpn_topology_free(t);
  cpn_topology_free(NULL);
  free_scenario(&sc);
}

static void empty_scenario_gives_empty_topology(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  assert_int_equal(cpn_topology_node_count(t), 0);
  assert_int_equal(cpn_topology_node_index(t, "a"), -1);
  cpn_topology_free(t);
}

/* ---- SimGrid platform --------------------------------------------------------------------------- */

static void platform_write_reports_unwritable_path(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  add_site(&sc, "a");
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  assert_int_equal(cpn_topology_write_platform(t, "/nonexistent-dir/platform.xml", NULL, NULL), CPN_EIO);
  assert_non_null(strstr(cpn_error_message(), "/nonexistent-dir/platform.xml"));
  cpn_topology_free(t);
  free_scenario(&sc);
}

/* A route filter: counts the pairs it is asked about and accepts only east -> west. */
static int need_east_west(void *ctx, int src, int dst)
{
  int *asked = ctx;
  (*asked)++;
  return src == 0 && dst == 1;
}

static int count_in_file(const char *path, const char *needle)
{
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, f))
    n += strstr(line, needle) != NULL;
  fclose(f);
  return n;
}

static void platform_writes_only_the_routes_asked_for(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  add_site(&sc, "east");
  add_site(&sc, "west");
  add_node(&sc, "relay");
  add_link(&sc, "east", "relay", 0.006, 4e11, 0);
  add_link(&sc, "west", "relay", 0.007, 4e11, 0);
  add_origin(&sc, "relay-users", "relay");
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  const char *path = "test_topology_filtered.xml";
  int asked = 0;
  assert_int_equal(cpn_topology_write_platform(t, path, need_east_west, &asked), CPN_OK);
  assert_int_equal(asked, 2 + 2 + 2); /* site-site, site-origin, origin-site */
  assert_int_equal(count_in_file(path, "<route "), 1);
  assert_int_equal(count_in_file(path, "<route src=\"east\" dst=\"west\""), 1);
  assert_int_equal(count_in_file(path, "<host "), 3); /* every node and link is still written */
  assert_int_equal(count_in_file(path, "<link "), 2);
  assert_int_equal(cpn_topology_write_platform(t, path, NULL, NULL), CPN_OK);
  assert_int_equal(count_in_file(path, "<route "), 6);
  remove(path);
  cpn_topology_free(t);
  free_scenario(&sc);
}

/* The only case that starts SimGrid. */
static void platform_xml_loads_in_simgrid_with_same_latency(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  add_site(&sc, "east");
  add_site(&sc, "west");
  add_site(&sc, "north");
  add_node(&sc, "relay");
  add_node(&sc, "hk&\"co\"");  /* needs XML escaping */
  add_node(&sc, "spare");
  add_link(&sc, "east", "west", 0.020, 4e11, 0);            /* l0, unused: slower */
  add_link(&sc, "east", "relay", 0.006, 4e11, 0);           /* l1 */
  add_link(&sc, "west", "relay", 0.007, 2.385e10, 0);       /* l2 */
  add_link(&sc, "north", "relay", 0.0123456789, 1e11, 1);   /* l3, SHARED */
  add_link(&sc, "hk&\"co\"", "north", 0.0011, 8e10, 0);     /* l4 */
  add_link(&sc, "spare", "relay", 0.0005, 1e9, 0);          /* l5, spare is no source: no routes */
  add_origin(&sc, "hongkong-users", "hk&\"co\"");
  add_origin(&sc, "relay-users", "relay");
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  const char *path = "test_topology_platform.xml";
  assert_int_equal(cpn_topology_write_platform(t, path, NULL, NULL), CPN_OK);

  char *argv0 = g_argv[0], *argv[] = {argv0, NULL};
  int argc = 1;
  simgrid_init(&argc, argv);
  simgrid_load_platform(path);
  assert_int_equal(sg_host_count(), cpn_topology_node_count(t));

  int n_checked = 0;
  for (int src = 0; src < cpn_topology_node_count(t); src++)
    for (int dst = 0; dst < cpn_topology_node_count(t); dst++) {
      if (src == dst || !cpn_topology_is_routing_source(t, src) || !cpn_topology_is_routing_source(t, dst) ||
          (src >= sc.n_sites && dst >= sc.n_sites))
        continue;
      sg_host_t from = sg_host_by_name(cpn_topology_node_name(t, src));
      sg_host_t to = sg_host_by_name(cpn_topology_node_name(t, dst));
      assert_non_null(from);
      assert_non_null(to);
      double want = cpn_topology_route_latency_s(t, src, dst), got = sg_host_get_route_latency(from, to);
      if (got != want)
        fail_msg("%s -> %s: SimGrid %.17g s, igraph %.17g s", cpn_topology_node_name(t, src),
                 cpn_topology_node_name(t, dst), got, want);
      /* SimGrid keeps bandwidth in bytes/s: "bps" in the XML means bits. */
      assert_true(fabs(sg_host_get_route_bandwidth(from, to) - cpn_topology_route_bw_bps(t, src, dst) / 8) <=
                  1e-9 * cpn_topology_route_bw_bps(t, src, dst));
      n_checked++;
    }
  assert_int_equal(n_checked, 3 * 2 + 2 * 3 + 2 * 3); /* site-site, site-origin, origin-site */

  /* Link order and direction (UP = from the link's first end): west -> hk&"co" = l2 UP, l3 (shared),
   * l4 DOWN. */
  xbt_dynar_t route = xbt_dynar_new(sizeof(sg_link_t), NULL);
  sg_host_get_route(sg_host_by_name("west"), sg_host_by_name("hk&\"co\""), route);
  const char *want_links[] = {"l2_UP", "l3", "l4_DOWN"};
  assert_int_equal(xbt_dynar_length(route), 3);
  for (unsigned i = 0; i < 3; i++)
    assert_string_equal(sg_link_get_name(xbt_dynar_get_as(route, i, sg_link_t)), want_links[i]);
  xbt_dynar_reset(route);
  sg_host_get_route(sg_host_by_name("east"), sg_host_by_name("west"), route);
  assert_int_equal(xbt_dynar_length(route), 2);
  assert_string_equal(sg_link_get_name(xbt_dynar_get_as(route, 0, sg_link_t)), "l1_UP");
  assert_string_equal(sg_link_get_name(xbt_dynar_get_as(route, 1, sg_link_t)), "l2_DOWN");
  xbt_dynar_free(&route);
  assert_true(sg_link_get_latency(sg_link_by_name("l3")) == 0.0123456789);

  remove(path);
  cpn_topology_free(t);
  free_scenario(&sc);
}

/* ---- GraphML ------------------------------------------------------------------------------------ */

static void read_chinanet(cpn_node_spec_t **nodes, int *n_nodes, cpn_link_spec_t **links, int *n_links)
{
  assert_int_equal(cpn_topology_graphml_read(CPN_TEST_DATA "/Chinanet.graphml", nodes, n_nodes, links, n_links, 1e11, 1.0),
                   CPN_OK);
}

static const cpn_node_spec_t *find_node(const cpn_node_spec_t *nodes, int n, const char *name)
{
  for (int i = 0; i < n; i++)
    if (strcmp(nodes[i].name, name) == 0)
      return &nodes[i];
  return NULL;
}

static void chinanet_has_42_nodes_66_edges(void **state)
{
  cpn_node_spec_t *nodes = NULL;
  cpn_link_spec_t *links = NULL;
  int n = 0, m = 0;
  read_chinanet(&nodes, &n, &links, &m);
  assert_int_equal(n, 42);
  assert_int_equal(m, 66);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      assert_string_not_equal(nodes[i].name, nodes[j].name);
  const cpn_node_spec_t *beijing = find_node(nodes, n, "beijing"), *intl = find_node(nodes, n, "international-link-1");
  assert_non_null(beijing);
  assert_non_null(find_node(nodes, n, "guangzhou"));
  assert_non_null(find_node(nodes, n, "hong-kong"));
  assert_non_null(find_node(nodes, n, "xi'an"));
  assert_non_null(intl);
  assert_true(beijing->lat_deg == 39.9075 && beijing->lon_deg == 116.39723);
  assert_true(isnan(intl->lat_deg) && isnan(intl->lon_deg));
  int n_intl_links = 0;
  for (int e = 0; e < m; e++) {
    assert_true(links[e].bw_bps == 1e11);
    assert_true(links[e].latency_s > 0 && links[e].latency_s < 0.02);
    if (strcmp(links[e].a, "international-link-1") == 0 || strcmp(links[e].b, "international-link-1") == 0) {
      assert_true(links[e].latency_s == 1e-3);
      n_intl_links++;
    }
  }
  assert_true(n_intl_links >= 1);
  free(nodes);
  free(links);
}

static void chinanet_beijing_to_guangzhou_is_8_to_25_ms(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  read_chinanet(&sc.nodes, &sc.n_nodes, &sc.links, &sc.n_links);
  add_site(&sc, "fake-site");
  add_origin(&sc, "beijing-users", "beijing");
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  assert_int_equal(cpn_topology_node_count(t), 43);
  int bj = idx(t, "beijing"), gz = idx(t, "guangzhou");
  double lat = cpn_topology_route_latency_s(t, bj, gz);
  double direct = cpn_topology_great_circle_m(39.9075, 116.39723, 23.11667, 113.25) / CPN_FIBRE_SPEED_M_PER_S;
  print_message("beijing -> guangzhou: %.3f ms over the backbone, %.3f ms as the crow flies\n", lat * 1e3,
                direct * 1e3);
  assert_true(lat >= 0.008 && lat <= 0.025);
  assert_true(lat >= direct);
  cpn_topology_free(t);
  free_scenario(&sc);
}

static const cpn_link_spec_t *find_link(const cpn_link_spec_t *links, int m, const char *a, const char *b)
{
  for (int i = 0; i < m; i++)
    if ((strcmp(links[i].a, a) == 0 && strcmp(links[i].b, b) == 0) ||
        (strcmp(links[i].a, b) == 0 && strcmp(links[i].b, a) == 0))
      return &links[i];
  return NULL;
}

/* tests/data/zoo-style.graphml: two parallel Hong Kong - Singapore edges (10 and 2.5 Gb/s) become one
 * 12.5 Gb/s link; LinkSpeed 622 with LinkSpeedUnits M is 622 Mb/s; an edge without a speed gets the
 * default; Country names become ISO codes (none for a node without Country); routes are as by hand, with
 * latency = great-circle km x route factor (1.37 here) x 5 us/km. */
static void graphml_zoo_style_parallel_edges_countries_speeds(void **state)
{
  cpn_scenario_t sc = new_scenario();
  assert_int_equal(cpn_topology_graphml_read(CPN_TEST_DATA "/zoo-style.graphml", &sc.nodes, &sc.n_nodes, &sc.links,
                                             &sc.n_links, 2.385e9, 1.37),
                   CPN_OK);
  assert_int_equal(sc.n_nodes, 5);
  assert_int_equal(sc.n_links, 4);
  const cpn_node_spec_t *hk = find_node(sc.nodes, sc.n_nodes, "hong-kong");
  assert_non_null(hk);
  assert_string_equal(hk->country, "HK");
  assert_string_equal(find_node(sc.nodes, sc.n_nodes, "singapore")->country, "SG");
  assert_string_equal(find_node(sc.nodes, sc.n_nodes, "tokyo")->country, "JP");
  assert_string_equal(find_node(sc.nodes, sc.n_nodes, "dubai")->country, "AE");
  assert_string_equal(find_node(sc.nodes, sc.n_nodes, "guangzhou")->country, "");
  const cpn_link_spec_t *hs = find_link(sc.links, sc.n_links, "hong-kong", "singapore");
  assert_non_null(hs);
  assert_true(hs->bw_bps == 12.5e9);
  /* Hong Kong - Singapore, about 2,590 km on the great circle (2,587 km by the haversine on a 6,371 km
   * sphere): 2,587 x 1.37 x 5 us = 17.72 ms. */
  print_message("hong-kong -- singapore: %.4f ms\n", hs->latency_s * 1e3);
  assert_true(fabs(hs->latency_s - 2587.2 * 1.37 * 5e-6) < 1e-6);
  assert_true(find_link(sc.links, sc.n_links, "hong-kong", "tokyo")->bw_bps == 622e6);
  assert_true(find_link(sc.links, sc.n_links, "singapore", "dubai")->bw_bps == 2.385e9);
  assert_true(find_link(sc.links, sc.n_links, "guangzhou", "hong-kong")->bw_bps == 40e9);
  /* Guangzhou -> Singapore goes by Hong Kong: the two great-circle distances x 1.37 over 2e8 m/s. */
  add_site(&sc, "fake-site");
  add_origin(&sc, "gz-users", "guangzhou");
  cpn_topology_t *t = NULL;
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  double want = (cpn_topology_great_circle_m(23.11667, 113.25, 22.27832, 114.17469) +
                 cpn_topology_great_circle_m(22.27832, 114.17469, 1.28967, 103.85007)) * 1.37 /
                CPN_FIBRE_SPEED_M_PER_S;
  double got = cpn_topology_route_latency_s(t, idx(t, "guangzhou"), idx(t, "singapore"));
  print_message("guangzhou -> singapore: %.6f ms (by hand %.6f ms)\n", got * 1e3, want * 1e3);
  assert_true(fabs(got - want) < 1e-12);
  cpn_topology_free(t);
  free_scenario(&sc);
}

static void graphml_errors_are_reported(void **state)
{
  cpn_node_spec_t *nodes = (cpn_node_spec_t *)(intptr_t)1;
  cpn_link_spec_t *links = NULL;
  int n = -7, m = -7;
  assert_int_equal(cpn_topology_graphml_read("/nonexistent/x.graphml", &nodes, &n, &links, &m, 1e11, 1.0), CPN_EIO);
  assert_non_null(strstr(cpn_error_message(), "/nonexistent/x.graphml"));
  const char *junk = "test_topology_junk.graphml";
  FILE *f = fopen(junk, "w");
  assert_non_null(f);
  fputs("<?xml version=\"1.0\"?><notgraphml><oops></notgraphml>\n", f);
  fclose(f);
  assert_int_equal(cpn_topology_graphml_read(junk, &nodes, &n, &links, &m, 1e11, 1.0), CPN_EINVAL);
  assert_non_null(strstr(cpn_error_message(), junk));
  remove(junk);
  assert_int_equal(cpn_topology_graphml_read(CPN_TEST_DATA "/Chinanet.graphml", &nodes, &n, &links, &m, 0, 1.0), CPN_EINVAL);
  assert_int_equal(cpn_topology_graphml_read(CPN_TEST_DATA "/Chinanet.graphml", &nodes, &n, &links, &m, 1e11, 0.5),
                   CPN_EINVAL);
  assert_non_null(strstr(cpn_error_message(), "route factor 0.5"));
  /* A Country the importer does not know is an error naming the file, the node and the value. */
  f = fopen(junk, "w");
  assert_non_null(f);
  fputs("<?xml version=\"1.0\"?><graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">"
        "<key attr.name=\"Country\" attr.type=\"string\" for=\"node\" id=\"d0\"/>"
        "<key attr.name=\"label\" attr.type=\"string\" for=\"node\" id=\"d1\"/>"
        "<graph edgedefault=\"undirected\"><node id=\"0\"><data key=\"d0\">Atlantis</data>"
        "<data key=\"d1\">Poseidonia</data></node></graph></graphml>\n", f);
  fclose(f);
  assert_int_equal(cpn_topology_graphml_read(junk, &nodes, &n, &links, &m, 1e11, 1.0), CPN_EINVAL);
  assert_non_null(strstr(cpn_error_message(), "node 0 'poseidonia': Country 'Atlantis'"));
  remove(junk);
  assert_true(nodes == (cpn_node_spec_t *)(intptr_t)1 && n == -7 && m == -7);
}

/* A GraphML key's attr.type decides how igraph stores the attribute; reading it as another type was a
 * wild pointer (the fuzzer's SEGV: a label declared double read as a string). Each attribute is read
 * through its declared type: a numeric label is written as a number, a string Latitude is parsed, a
 * boolean one counts as absent, and a numeric Country is refused with an error naming the value. */
static void graphml_attributes_read_through_their_declared_type(void **state)
{
  (void)state;
  const char *path = "test_topology_types.graphml";
  const char *head = "<?xml version=\"1.0\"?><graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">"
                     "<key attr.name=\"label\" attr.type=\"double\" for=\"node\" id=\"d1\"/>"
                     "<key attr.name=\"Latitude\" attr.type=\"string\" for=\"node\" id=\"d2\"/>"
                     "<key attr.name=\"Longitude\" attr.type=\"boolean\" for=\"node\" id=\"d3\"/>"
                     "<key attr.name=\"LinkSpeed\" attr.type=\"string\" for=\"edge\" id=\"e1\"/>"
                     "<key attr.name=\"LinkSpeedUnits\" attr.type=\"double\" for=\"edge\" id=\"e2\"/>";
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "%s<graph edgedefault=\"undirected\">"
             "<node id=\"a\"><data key=\"d1\">3.5</data><data key=\"d2\">12.5</data><data key=\"d3\">true</data></node>"
             "<node id=\"b\"><data key=\"d1\">42</data></node>"
             "<edge source=\"a\" target=\"b\"><data key=\"e1\">7</data><data key=\"e2\">9</data></edge>"
             "</graph></graphml>\n", head);
  fclose(f);
  cpn_node_spec_t *nodes = NULL;
  cpn_link_spec_t *links = NULL;
  int n = 0, m = 0;
  assert_int_equal(cpn_topology_graphml_read(path, &nodes, &n, &links, &m, 1e11, 1.0), CPN_OK);
  assert_int_equal(n, 2);
  assert_int_equal(m, 1);
  assert_string_equal(nodes[0].name, "3.5");
  assert_string_equal(nodes[1].name, "42");
  /* Latitude "12.5" parsed, but Longitude is boolean (no number): no coordinates, default latency. */
  assert_true(isnan(nodes[0].lat_deg) && isnan(nodes[0].lon_deg));
  assert_true(links[0].latency_s == 1e-3);
  /* LinkSpeed "7" x LinkSpeedUnits 9 (a number, no unit letter: factor NAN): the default bandwidth. */
  assert_true(links[0].bw_bps == 1e11);
  free(nodes);
  free(links);
  /* A Country declared int: its text "7" is no country name, an error naming file, node and value. */
  f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "<?xml version=\"1.0\"?><graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">"
             "<key attr.name=\"Country\" attr.type=\"int\" for=\"node\" id=\"d0\"/>"
             "<graph edgedefault=\"undirected\"><node id=\"0\"><data key=\"d0\">7</data></node></graph></graphml>\n");
  fclose(f);
  nodes = NULL;
  assert_int_equal(cpn_topology_graphml_read(path, &nodes, &n, &links, &m, 1e11, 1.0), CPN_EINVAL);
  assert_non_null(strstr(cpn_error_message(), path));
  assert_non_null(strstr(cpn_error_message(), "node 0 'node-0': Country '7'"));
  assert_null(nodes);
  remove(path);
}

/* ---- --check's reachability warnings ------------------------------------------------------------ */

/* The warnings as the routes give them: for each (origin, site) pair, the route latency's finiteness
 * (how --check computed them before cpn_topology_check, with O(S N) route memory). */
static void warnings_from_routes(const cpn_topology_t *t, const cpn_scenario_t *sc, FILE *f)
{
  for (int s = 0; s < sc->n_sites; s++) {
    int n = 0;
    for (int o = 0; o < sc->n_origins; o++) {
      int node = cpn_topology_node_index(t, sc->origins[o].node);
      n += node >= 0 && !isfinite(cpn_topology_route_latency_s(t, node, s));
    }
    if (n == sc->n_origins && n > 0) {
      fprintf(f, "%s:%d: warning: sites.%s: no route reaches it from any origin; it will serve nothing\n", sc->file,
              sc->sites[s].line, sc->sites[s].name);
    } else if (n > 0) {
      fprintf(f, "%s:%d: warning: sites.%s: no route reaches it from %d of %d origins (", sc->file, sc->sites[s].line,
              sc->sites[s].name, n, sc->n_origins);
      int k = 0;
      for (int o = 0; o < sc->n_origins; o++) {
        int node = cpn_topology_node_index(t, sc->origins[o].node);
        if (node >= 0 && !isfinite(cpn_topology_route_latency_s(t, node, s)))
          fprintf(f, "%s%s", k++ ? ", " : "", sc->origins[o].name);
        if (k == 5 && n > 5) {
          fprintf(f, ", ...");
          break;
        }
      }
      fprintf(f, "); their requests are never sent there\n");
    }
  }
  for (int o = 0; o < sc->n_origins; o++) {
    int node = cpn_topology_node_index(t, sc->origins[o].node), reach = 0;
    for (int s = 0; node >= 0 && s < sc->n_sites; s++)
      reach += isfinite(cpn_topology_route_latency_s(t, node, s)) != 0;
    if (node >= 0 && reach == 0)
      fprintf(f, "%s:%d: warning: origins.%s: no route reaches any site from node '%s'; every request will be "
                 "rejected\n", sc->file, sc->origins[o].line, sc->origins[o].name, sc->origins[o].node);
  }
}

/* cpn_topology_check answers reachability from connected components, without routes (a 100,000-site
 * --check cannot hold S x N routes): on random sparse networks of several components, with origins at
 * sites and plain nodes, its warnings are, byte for byte, those the routes give. */
static void check_warnings_equal_the_routes(void **state)
{
  (void)state;
  unsigned long x = 12345;
  int total_warnings = 0, with_list = 0;
  for (int trial = 0; trial < 40; trial++) {
    cpn_scenario_t sc = new_scenario();
    int n_sites = 3 + trial % 17, n_nodes = trial % 5, n_links = trial % 23, n_origins = 1 + trial % 13;
    char name[32], other[32];
    for (int i = 0; i < n_sites; i++) {
      snprintf(name, sizeof name, "s%d", i);
      add_site(&sc, name);
    }
    for (int i = 0; i < n_nodes; i++) {
      snprintf(name, sizeof name, "p%d", i);
      add_node(&sc, name);
    }
    int n_all = n_sites + n_nodes;
    for (int i = 0, tries = 0; i < n_links && tries < 1000; tries++) {
      x = x * 6364136223846793005ul + 1442695040888963407ul;
      int a = (int)((x >> 33) % (unsigned long)n_all), b = (int)((x >> 13) % (unsigned long)n_all), dup = 0;
      snprintf(name, sizeof name, "%c%d", a < n_sites ? 's' : 'p', a < n_sites ? a : a - n_sites);
      snprintf(other, sizeof other, "%c%d", b < n_sites ? 's' : 'p', b < n_sites ? b : b - n_sites);
      for (int l = 0; l < sc.n_links; l++)
        dup |= (!strcmp(sc.links[l].a, name) && !strcmp(sc.links[l].b, other)) ||
               (!strcmp(sc.links[l].a, other) && !strcmp(sc.links[l].b, name));
      if (a == b || dup)
        continue;
      add_link(&sc, name, other, 1e-3 * (1 + i % 7), 1e9, 0);
      i++;
    }
    for (int i = 0; i < n_origins; i++) {
      x = x * 6364136223846793005ul + 1442695040888963407ul;
      int a = (int)((x >> 33) % (unsigned long)n_all);
      snprintf(name, sizeof name, "o%d", i);
      snprintf(other, sizeof other, "%c%d", a < n_sites ? 's' : 'p', a < n_sites ? a : a - n_sites);
      add_origin(&sc, name, other);
    }
    char *want = NULL, *got = NULL;
    size_t want_len = 0, got_len = 0;
    FILE *fw = open_memstream(&want, &want_len), *fg = open_memstream(&got, &got_len);
    assert_non_null(fw);
    assert_non_null(fg);
    cpn_topology_t *t = NULL;
    assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
    warnings_from_routes(t, &sc, fw);
    cpn_topology_free(t);
    int n_warn = -1;
    assert_int_equal(cpn_topology_check(&sc, fg, &n_warn), CPN_OK);
    fclose(fw);
    fclose(fg);
    if (strcmp(want, got) != 0)
      print_message("trial %d:\n-- routes --\n%s-- check --\n%s", trial, want, got);
    assert_string_equal(got, want);
    int lines = 0;
    for (const char *p = want; *p; p++)
      lines += *p == '\n';
    assert_int_equal(n_warn, lines);
    total_warnings += lines;
    with_list += strstr(want, ", ...") != NULL;
    free(want);
    free(got);
    free_scenario(&sc);
  }
  print_message("40 random networks: %d warnings, %d with a list cut at five origins\n", total_warnings, with_list);
  assert_true(total_warnings > 40 && with_list > 0); /* the comparison saw every kind of warning */
}

/* cpn_topology_check refuses what cpn_topology_new refuses (it validates without the routes). */
static void check_refuses_what_new_refuses(void **state)
{
  (void)state;
  cpn_scenario_t sc = new_scenario();
  add_site(&sc, "a");
  add_site(&sc, "b");
  add_link(&sc, "a", "nowhere", 1e-3, 1e9, 0);
  assert_int_equal(cpn_topology_check(&sc, stderr, NULL), CPN_EINVAL);
  assert_non_null(strstr(cpn_error_message(), "'nowhere' is not a site or node"));
  free_scenario(&sc);
}

/* ---- generated topologies ---------------------------------------------------------------------- */

/* Builds a topology with n0 as a routing source and checks every node is reachable from it. */
static void assert_connected(const char *kind, int n, unsigned long seed)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  assert_int_equal(cpn_topology_generate(kind, n, seed, &sc.nodes, &sc.n_nodes, &sc.links, &sc.n_links), CPN_OK);
  assert_int_equal(sc.n_nodes, n);
  for (int i = 0; i < n; i++) {
    assert_true(sc.nodes[i].lat_deg > 18 && sc.nodes[i].lat_deg < 54);
    assert_true(sc.nodes[i].lon_deg > 73 && sc.nodes[i].lon_deg < 135);
  }
  for (int e = 0; e < sc.n_links; e++)
    assert_true(sc.links[e].latency_s >= 0 && sc.links[e].latency_s < 0.03 && sc.links[e].bw_bps == 1e11);
  double mean_degree = 2.0 * sc.n_links / n;
  print_message("%s n=%d: %d links, mean degree %.2f\n", kind, n, sc.n_links, mean_degree);
  assert_true(mean_degree > 2 && mean_degree < 6);
  add_site(&sc, "dc");
  add_link(&sc, "dc", "n17", 0.001, 1e11, 0);
  add_origin(&sc, "users", "n0");
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  int n0 = idx(t, "n0");
  for (int v = 0; v < cpn_topology_node_count(t); v++)
    assert_true(isfinite(cpn_topology_route_latency_s(t, n0, v)));
  cpn_topology_free(t);
  free_scenario(&sc);
}

/* igraph's least latencies from node src of t to every node, the links in `down` left out (INFINITY when
 * unreachable). */
static void igraph_latencies(const cpn_scenario_t *sc, const cpn_topology_t *t, int src, int down, double *out)
{
  igraph_t g;
  igraph_vector_int_t edges;
  igraph_vector_t w;
  igraph_matrix_t res;
  int n = cpn_topology_node_count(t), m = 0;
  assert_int_equal(igraph_vector_int_init(&edges, 0), IGRAPH_SUCCESS);
  assert_int_equal(igraph_vector_init(&w, 0), IGRAPH_SUCCESS);
  for (int l = 0; l < sc->n_links; l++) {
    if (l == down)
      continue;
    assert_int_equal(igraph_vector_int_push_back(&edges, idx(t, sc->links[l].a)), IGRAPH_SUCCESS);
    assert_int_equal(igraph_vector_int_push_back(&edges, idx(t, sc->links[l].b)), IGRAPH_SUCCESS);
    assert_int_equal(igraph_vector_push_back(&w, sc->links[l].latency_s), IGRAPH_SUCCESS);
    m++;
  }
  assert_int_equal(igraph_create(&g, &edges, n, IGRAPH_UNDIRECTED), IGRAPH_SUCCESS);
  assert_int_equal(igraph_matrix_init(&res, 0, 0), IGRAPH_SUCCESS);
  assert_int_equal(igraph_distances_dijkstra(&g, &res, igraph_vss_1(src), igraph_vss_all(), &w, IGRAPH_ALL),
                   IGRAPH_SUCCESS);
  for (int v = 0; v < n; v++)
    out[v] = MATRIX(res, 0, v);
  igraph_matrix_destroy(&res);
  igraph_destroy(&g);
  igraph_vector_destroy(&w);
  igraph_vector_int_destroy(&edges);
  (void)m;
}

/* Everything the routes of t from src give agrees with igraph's shortest paths (`down` left out, -1:
 * none): the route to each node is a path of links from src to it, avoiding `down`, whose latency summed
 * in route order is the route's latency, within 1e-12 (relative) of igraph's least latency (ties within
 * that are routes of equal length summed in another order), INFINITY exactly where igraph has no path;
 * the rows give the same latencies and bandwidths bit for bit; and the nearest-node search gives every
 * node igraph reaches once, in ascending distance, each distance igraph's and at most the route's
 * latency (what the placement index relies on). Returns the number of routes checked. */
static int check_routes_against_igraph(const cpn_scenario_t *sc, const cpn_topology_t *t, int src, int down)
{
  int n = cpn_topology_node_count(t), checked = 0;
  double *want = malloc(sizeof *want * (size_t)n), *lat = malloc(sizeof *lat * (size_t)n);
  double *bw = malloc(sizeof *bw * (size_t)n);
  char *seen = calloc((size_t)n, 1);
  assert_true(want && lat && bw && seen);
  igraph_latencies(sc, t, src, down, want);
  cpn_topology_route_rows(t, src, n, lat, bw);
  for (int v = 0; v < n; v++) {
    double got = cpn_topology_route_latency_s(t, src, v);
    if (!isfinite(want[v])) {
      assert_true(isinf(got) && isinf(lat[v]) && bw[v] == 0);
      continue;
    }
    if (!(fabs(got - want[v]) <= 1e-12 * want[v]))
      fail_msg("%s -> %s: route %.17g s, igraph %.17g s", cpn_topology_node_name(t, src),
               cpn_topology_node_name(t, v), got, want[v]);
    assert_true(lat[v] == got && bw[v] == cpn_topology_route_bw_bps(t, src, v));
    const int *links;
    int k = cpn_topology_route_links(t, src, v, &links), at = src;
    double sum = 0;
    for (int i = 0; i < k; i++) {
      int a, b;
      assert_true(links[i] != down);
      cpn_topology_link_ends(t, links[i], &a, &b);
      assert_true(a == at || b == at);
      at = a == at ? b : a;
      sum += sc->links[links[i]].latency_s;
    }
    assert_int_equal(at, v);
    assert_true(sum == got);
    checked++;
  }
  cpn_topology_near_t *nr = cpn_topology_near_new(t);
  assert_non_null(nr);
  cpn_topology_near_start(nr, src);
  double d, prev = 0;
  int v, given = 0;
  while ((v = cpn_topology_near_next(nr, &d)) >= 0 && d < 1e29) {
    assert_false(seen[v]);
    seen[v] = 1;
    given++;
    assert_true(d >= prev && fabs(d - want[v]) <= 1e-12 * want[v] && d <= lat[v]);
    prev = d;
  }
  for (int u = 0; u < n; u++)
    assert_int_equal(seen[u], isfinite(want[u]));
  cpn_topology_near_free(nr);
  free(want);
  free(lat);
  free(bw);
  free(seen);
  return checked;
}

/* Routes kept as one shortest-path tree per source are igraph's shortest paths on a generated network,
 * after a link of a busy route goes down and after a node's only link goes down (it is then unreachable),
 * and again once both are back. */
static void routes_are_igraph_shortest_paths_through_faults(void **state)
{
  cpn_scenario_t sc = new_scenario();
  cpn_topology_t *t = NULL;
  assert_int_equal(cpn_topology_generate("waxman", 400, 23, &sc.nodes, &sc.n_nodes, &sc.links, &sc.n_links), CPN_OK);
  char name[CPN_NAME_MAX];
  for (int i = 0; i < sc.n_nodes; i += 37) {
    snprintf(name, sizeof name, "o%d", i);
    add_origin(&sc, name, sc.nodes[i].name);
  }
  /* A leaf: a node joined by one link only. */
  add_node(&sc, "leaf");
  add_link(&sc, "leaf", sc.nodes[5].name, 0.00123, 1e11, 0);
  int leaf_link = sc.n_links - 1;
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  int n_src = sc.n_origins, checked = 0;
  for (int o = 0; o < n_src; o++)
    checked += check_routes_against_igraph(&sc, t, idx(t, sc.origins[o].node), -1);
  assert_int_equal(checked, n_src * (sc.n_nodes));
  /* The first link of the route from the first origin to the node farthest from it. */
  int src = idx(t, sc.origins[0].node), far = 0;
  for (int v = 0; v < cpn_topology_node_count(t); v++)
    if (cpn_topology_route_latency_s(t, src, v) > cpn_topology_route_latency_s(t, src, far))
      far = v;
  const int *links;
  assert_true(cpn_topology_route_links(t, src, far, &links) > 2);
  int cut = links[0];
  assert_int_equal(cpn_topology_set_link_up(t, cut, 0), CPN_OK);
  for (int o = 0; o < n_src; o++)
    check_routes_against_igraph(&sc, t, idx(t, sc.origins[o].node), cut);
  assert_int_equal(cpn_topology_set_link_up(t, cut, 1), CPN_OK);
  assert_int_equal(cpn_topology_set_link_up(t, leaf_link, 0), CPN_OK);
  for (int o = 0; o < n_src; o++) {
    check_routes_against_igraph(&sc, t, idx(t, sc.origins[o].node), leaf_link);
    assert_true(isinf(cpn_topology_route_latency_s(t, idx(t, sc.origins[o].node), idx(t, "leaf"))));
  }
  assert_int_equal(cpn_topology_set_link_up(t, leaf_link, 1), CPN_OK);
  for (int o = 0; o < n_src; o++)
    check_routes_against_igraph(&sc, t, idx(t, sc.origins[o].node), -1);
  cpn_topology_free(t);
  free_scenario(&sc);
}

/* Waxman above WAXMAN_EXACT_MAX_NODES (4096) draws by thinning on a grid instead of visiting every pair
 * (a 100,000-node graph took most of a 19-minute --check). It must draw the same law: each pair (u, v)
 * an edge with probability alpha exp(-d / (0.1 L)), L the largest distance, alpha for a mean degree of 4.
 * Checked on the generated graph itself: planar coordinates back from latitude and longitude, then, over
 * distance bins from 300 km (shorter edges include the components' joining edges, which are not drawn
 * from the law), the edges in each bin against alpha x the sum of exp(-d / (0.1 L)) over the bin's pairs,
 * alpha fitted over those bins: within 5 Poisson standard deviations. The same check on the exact
 * sampler (n = 4096) shows the check itself holds on a known-good graph. */
static void waxman_law_check(int n, unsigned long seed)
{
  cpn_node_spec_t *nodes = NULL;
  cpn_link_spec_t *links = NULL;
  int nn = 0, nl = 0;
  assert_int_equal(cpn_topology_generate("waxman", n, seed, &nodes, &nn, &links, &nl), CPN_OK);
  assert_int_equal(nn, n);
  double *x = malloc(sizeof *x * (size_t)n), *y = malloc(sizeof *y * (size_t)n);
  int *parent = malloc(sizeof *parent * (size_t)n);
  assert_non_null(x);
  assert_non_null(y);
  assert_non_null(parent);
  const double km_per_deg = 111.195, c35 = cos(35.0 * 3.14159265358979323846 / 180);
  for (int i = 0; i < n; i++) {
    y[i] = (nodes[i].lat_deg - 35.0) * km_per_deg + 1500;
    x[i] = (nodes[i].lon_deg - 105.0) * km_per_deg * c35 + 1500;
    parent[i] = i;
  }
  double max_d = 0;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      max_d = fmax(max_d, hypot(x[i] - x[j], y[i] - y[j]));
  double scale = 0.1 * max_d;
  enum { BINS = 6 };
  const double edge_km[BINS + 1] = {300, 600, 900, 1200, 1600, 2200, 1e9};
  double weight[BINS] = {0}, seen[BINS] = {0};
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      double d = hypot(x[i] - x[j], y[i] - y[j]);
      for (int b = 0; b < BINS; b++)
        if (d >= edge_km[b] && d < edge_km[b + 1])
          weight[b] += exp(-d / scale);
    }
  for (int e = 0; e < nl; e++) {
    int a = atoi(links[e].a + 1), b = atoi(links[e].b + 1);
    assert_true(a >= 0 && a < n && b >= 0 && b < n && a < b);
    double d = hypot(x[a] - x[b], y[a] - y[b]);
    for (int k = 0; k < BINS; k++)
      if (d >= edge_km[k] && d < edge_km[k + 1])
        seen[k]++;
    int ra = a, rb = b;
    while (parent[ra] != ra)
      ra = parent[ra];
    while (parent[rb] != rb)
      rb = parent[rb];
    parent[ra] = rb;
  }
  int roots = 0;
  for (int i = 0; i < n; i++)
    roots += parent[i] == i;
  assert_int_equal(roots, 1); /* connected */
  double sum_w = 0, sum_seen = 0;
  for (int b = 0; b < BINS; b++) {
    sum_w += weight[b];
    sum_seen += seen[b];
  }
  double alpha = sum_seen / sum_w, degree = 2.0 * nl / n;
  print_message("waxman n=%d seed %lu: mean degree %.3f, L %.0f km, alpha %.3g; edges per bin (seen/expected):", n,
                seed, degree, max_d, alpha);
  for (int b = 0; b < BINS; b++) {
    double want = alpha * weight[b];
    print_message(" %.0f/%.0f", seen[b], want);
    assert_true(fabs(seen[b] - want) <= 5 * sqrt(want) + 1);
  }
  print_message("\n");
  assert_true(degree > 3.8 && degree < 4.3);
  free(x);
  free(y);
  free(parent);
  free(nodes);
  free(links);
}

static void generated_waxman_large_n_draws_the_same_law(void **state)
{
  (void)state;
  waxman_law_check(4096, 11); /* the exact sampler */
  waxman_law_check(6000, 11); /* the grid sampler */
  waxman_law_check(6000, 12);
}

static void generated_waxman_is_connected_with_n_nodes(void **state)
{
  assert_connected("waxman", 200, 42);
  assert_connected("waxman", 25, 3); /* sparse: several components to join */
}

static void generated_barabasi_is_connected_with_n_nodes(void **state)
{
  assert_connected("barabasi", 200, 42);
  assert_connected("barabasi", 25, 3);
}

static int same_graph(const char *kind, unsigned long seed1, unsigned long seed2)
{
  cpn_node_spec_t *n1 = NULL, *n2 = NULL;
  cpn_link_spec_t *l1 = NULL, *l2 = NULL;
  int nn1, nn2, nl1, nl2, same = 1;
  assert_int_equal(cpn_topology_generate(kind, 60, seed1, &n1, &nn1, &l1, &nl1), CPN_OK);
  assert_int_equal(cpn_topology_generate(kind, 60, seed2, &n2, &nn2, &l2, &nl2), CPN_OK);
  same = nn1 == nn2 && nl1 == nl2;
  for (int i = 0; same && i < nn1; i++)
    same = strcmp(n1[i].name, n2[i].name) == 0 && n1[i].lat_deg == n2[i].lat_deg && n1[i].lon_deg == n2[i].lon_deg;
  for (int e = 0; same && e < nl1; e++)
    same = strcmp(l1[e].a, l2[e].a) == 0 && strcmp(l1[e].b, l2[e].b) == 0 && l1[e].latency_s == l2[e].latency_s;
  free(n1);
  free(n2);
  free(l1);
  free(l2);
  return same;
}

static void generated_same_seed_same_graph(void **state)
{
  assert_true(same_graph("waxman", 2385, 2385));
  assert_true(same_graph("barabasi", 2385, 2385));
  assert_false(same_graph("waxman", 2385, 2386));
  assert_false(same_graph("barabasi", 2385, 2386));
}

static void generator_rejects_unknown_kind_and_no_nodes(void **state)
{
  cpn_node_spec_t *nodes = NULL;
  cpn_link_spec_t *links = NULL;
  int n = -7, m = -7;
  assert_int_equal(cpn_topology_generate("erdos", 10, 1, &nodes, &n, &links, &m), CPN_ENOTFOUND);
  assert_non_null(strstr(cpn_error_message(), "erdos"));
  assert_int_equal(cpn_topology_generate("waxman", 0, 1, &nodes, &n, &links, &m), CPN_EINVAL);
  assert_true(nodes == NULL && n == -7);
  assert_int_equal(cpn_topology_generate("waxman", 1, 1, &nodes, &n, &links, &m), CPN_OK);
  assert_int_equal(n, 1);
  assert_int_equal(m, 0);
  free(nodes);
  free(links);
}

int main(int argc, char **argv)
{
  g_argv = argv;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(routes_follow_lowest_latency),
      cmocka_unit_test(route_links_in_order),
      cmocka_unit_test(unreachable_is_infinite),
      cmocka_unit_test(bw_is_min_along_route),
      cmocka_unit_test(equal_latency_ties_take_fewest_links_then_lowest_link),
      cmocka_unit_test(node_index_numbers_sites_then_nodes),
      cmocka_unit_test(bad_scenarios_are_rejected_with_location),
      cmocka_unit_test(empty_scenario_gives_empty_topology),
      cmocka_unit_test(platform_write_reports_unwritable_path),
      cmocka_unit_test(platform_writes_only_the_routes_asked_for),
      cmocka_unit_test(bw_row_equals_route_walk),
      cmocka_unit_test(platform_xml_loads_in_simgrid_with_same_latency),
      cmocka_unit_test(chinanet_has_42_nodes_66_edges),
      cmocka_unit_test(chinanet_beijing_to_guangzhou_is_8_to_25_ms),
      cmocka_unit_test(graphml_errors_are_reported),
      cmocka_unit_test(graphml_attributes_read_through_their_declared_type),
      cmocka_unit_test(check_warnings_equal_the_routes),
      cmocka_unit_test(check_refuses_what_new_refuses),
      cmocka_unit_test(generated_waxman_large_n_draws_the_same_law),
      cmocka_unit_test(graphml_zoo_style_parallel_edges_countries_speeds),
      cmocka_unit_test(generated_waxman_is_connected_with_n_nodes),
      cmocka_unit_test(generated_barabasi_is_connected_with_n_nodes),
      cmocka_unit_test(generated_same_seed_same_graph),
      cmocka_unit_test(routes_are_igraph_shortest_paths_through_faults),
      cmocka_unit_test(generator_rejects_unknown_kind_and_no_nodes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
