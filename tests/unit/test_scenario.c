/* test_scenario: the YAML scenario loader (sim/config/scenario.c).
 *
 * Pins the defaults and values read from scenarios/tiny.yaml, the one-line-per-problem error report
 * (file:line:col: key.path: message, every problem at once), extends merging, --set overrides, the
 * print/reload round trip and the great-circle default latency. Bad files are written to a temporary
 * directory by the tests themselves. */
#define _XOPEN_SOURCE 700 /* realpath() */
#include "config/scenario.h"
#include "topology/topology.h"
#include "topology/generate.h"
#include "topology/geo.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define TINY CPN_SCENARIO_DIR "/tiny.yaml"
#define PI 3.14159265358979323846

#define assert_close(a, b, tol) close_check((a), (b), (tol), __FILE__, __LINE__)
static void close_check(double a, double b, double tol, const char *file, int line)
{
  if (!(fabs(a - b) <= tol)) {
    print_error("%.17g != %.17g (tolerance %g)\n", a, b, tol);
    _fail(file, line);
  }
}

#define assert_contains(hay, needle) contains_check((hay), (needle), __FILE__, __LINE__)
static void contains_check(const char *hay, const char *needle, const char *file, int line)
{
  if (!strstr(hay, needle)) {
    print_error("'%s' not found in:\n%s\n", needle, hay);
    _fail(file, line);
  }
}

static char tmp_dir[256];

static int make_tmp_dir(void **state)
{
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_scenario.XXXXXX");
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void **state)
{
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Writes `text` to tmp_dir/name; returns the path in static storage (one of 4 rotating buffers). */
static const char *write_file(const char *name, const char *text)
{
  static char paths[4][512];
  static int next;
  char *p = paths[next++ % 4];
  snprintf(p, 512, "%s/%s", tmp_dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static int is_zeroed(const cpn_scenario_t *sc)
{
  const unsigned char *b = (const unsigned char *)sc;
  for (size_t i = 0; i < sizeof *sc; i++)
    if (b[i])
      return 0;
  return 1;
}

static int count_lines(const char *s)
{
  int n = *s ? 1 : 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* A small valid scenario the error tests start from: two sites with coordinates, one node. */
#define GOOD_HEAD                                                                                            \
  "name: good\n"                                                                                             \
  "models:\n"                                                                                                \
  "  - {name: m8, catalog: llama-3.1-8b}\n"                                                                  \
  "  - {name: m32, catalog: qwen3-32b, share: 0.25}\n"

static void loads_tiny_with_defaults(void **state)
{
  cpn_scenario_t sc;
  assert_int_equal(cpn_scenario_load(&sc, TINY, NULL, 0), CPN_OK);
  assert_string_equal(sc.name, "tiny");
  assert_string_equal(sc.file, TINY);
  assert_non_null(sc.text);
  assert_contains(sc.text, "name: tiny");
  /* run: given values and the defaults of the keys tiny.yaml leaves out */
  assert_close(sc.run.duration_s, 600, 0);
  assert_close(sc.run.drain_s, 600, 0);
  assert_close(sc.run.warmup_s, 0, 0);
  assert_close(sc.run.start_utc_h, 1, 0);
  assert_int_equal(sc.run.seed, 1);
  assert_int_equal(sc.run.network_mode, CPN_NET_FLUID);
  assert_string_equal(sc.run.policy, "least-loaded");
  assert_int_equal(sc.run.max_requests, 0);
  assert_close(sc.demand.scale, 1, 0);
  assert_int_equal(sc.demand.arrival, CPN_ARR_POISSON);
  assert_close(sc.demand.cv, 1, 0);
  assert_close(sc.demand.burst_factor, 4, 0);
  assert_close(sc.demand.burst_mean_s, 60, 0);
  assert_close(sc.demand.calm_mean_s, 600, 0);
  assert_int_equal(sc.demand.diurnal_enabled, 0);
  /* models */
  assert_int_equal(sc.n_models, 2);
  assert_string_equal(sc.models[1].name, "qwen-32b");
  assert_string_equal(sc.models[1].catalog, "qwen3-32b");
  assert_close(sc.models[1].share, 0.3, 0);
  assert_close(sc.models[0].prefill_eff, 0, 0);
  assert_close(sc.models[0].decode_eff, 0, 0);
  /* classes: azure constants copied, explicit lognormal, defaults */
  assert_int_equal(sc.n_classes, 2);
  assert_int_equal(sc.classes[0].prompt_tokens.kind, CPN_AZURE_CONV_PROMPT.kind);
  assert_close(sc.classes[0].prompt_tokens.mu, CPN_AZURE_CONV_PROMPT.mu, 0);
  assert_close(sc.classes[0].output_tokens.sigma, CPN_AZURE_CONV_OUTPUT.sigma, 0);
  assert_int_equal(sc.classes[1].prompt_tokens.kind, CPN_DIST_LOGNORMAL);
  assert_close(sc.classes[1].prompt_tokens.mu, 7.0, 0);
  assert_close(sc.classes[1].output_tokens.sigma, 1.2, 0);
  assert_close(sc.classes[1].output_tokens.max, 4096, 0);
  assert_close(sc.classes[1].ttft_slo_s, 60, 0);
  assert_close(sc.classes[0].timeout_s, 0, 0);
  assert_int_equal(sc.classes[0].confidential, 0);
  assert_close(sc.classes[0].request_bytes_per_token, 4, 0);
  assert_close(sc.classes[0].reply_bytes_per_token, 4, 0);
  /* tenants, sites, pools, replicas */
  assert_int_equal(sc.n_tenants, 2);
  assert_close(sc.tenants[1].share, 0.4, 0);
  assert_int_equal(sc.n_sites, 2);
  assert_string_equal(sc.sites[0].region, "yangtze-delta");
  assert_close(sc.sites[0].pue, 1.25, 0);
  assert_close(sc.sites[1].co2_g_per_kwh, 226.8, 0);
  assert_close(sc.sites[1].lon_deg, 106.63, 0);
  assert_int_equal(sc.sites[0].n_pools, 1);
  assert_string_equal(sc.sites[0].pools[0].accel, "h100");
  assert_int_equal(sc.sites[0].pools[0].count, 8);
  assert_int_equal(sc.sites[0].pools[0].confidential, 0);
  assert_int_equal(sc.sites[0].n_replicas, 2);
  assert_int_equal(sc.sites[0].replicas[1].model, 1);
  assert_int_equal(sc.sites[0].replicas[1].pool, 0);
  assert_int_equal(sc.sites[0].replicas[1].tp, 2);
  assert_int_equal(sc.sites[0].replicas[1].max_batch, 32);
  assert_int_equal(sc.sites[0].line, 41);
  /* nodes, links, origins */
  assert_int_equal(sc.n_nodes, 1);
  assert_string_equal(sc.nodes[0].country, "CN");
  assert_int_equal(sc.n_links, 3);
  assert_close(sc.links[0].bw_bps, 4.0e11, 0);
  assert_close(sc.links[2].latency_s, 0.020, 0);
  assert_int_equal(sc.links[2].shared, 0);
  assert_int_equal(sc.n_origins, 2);
  assert_close(sc.origins[0].access_latency_s, 0.003, 0);
  assert_close(sc.origins[1].rate_rps, 2.0, 0);
  assert_int_equal(sc.origins[0].n_allowed, 0);
  assert_int_equal(sc.origins[1].n_allowed, 1);
  assert_string_equal(sc.origins[1].allowed[0], "CN");
  /* lookups */
  assert_int_equal(cpn_scenario_site_index(&sc, "west"), 1);
  assert_int_equal(cpn_scenario_site_index(&sc, "wuhan"), -1);
  assert_int_equal(cpn_scenario_model_index(&sc, "qwen-32b"), 1);
  assert_int_equal(cpn_scenario_model_index(&sc, "nope"), -1);
  cpn_scenario_destroy(&sc);
  assert_true(is_zeroed(&sc));
  cpn_scenario_destroy(&sc); /* a zeroed scenario and NULL are accepted */
  cpn_scenario_destroy(NULL);
}

static void defaults_fill_a_minimal_file(void **state)
{
  const char *p = write_file("minimal-scenario.yaml", GOOD_HEAD
                             "sites:\n"
                             "  - name: s1\n"
                             "    pools: [{accel: h20, count: 4}]\n"
                             "    replicas: [{model: m8}]\n"
                             "origins:\n"
                             "  - {name: o, node: s1, rate_rps: 2.385}\n");
  cpn_scenario_t sc;
  assert_int_equal(cpn_scenario_load(&sc, p, NULL, 0), CPN_OK);
  assert_string_equal(sc.name, "good");
  assert_close(sc.run.duration_s, 3600, 0);
  assert_close(sc.run.drain_s, 3600, 0);
  assert_close(sc.run.sample_interval_s, 60, 0);
  assert_int_equal(sc.n_classes, 1);
  assert_string_equal(sc.classes[0].name, "default");
  assert_close(sc.classes[0].ttft_slo_s, 2, 0);
  assert_close(sc.classes[0].tpot_slo_s, 0.2, 0);
  assert_close(sc.classes[0].output_tokens.mu, CPN_AZURE_CONV_OUTPUT.mu, 0);
  assert_int_equal(sc.n_tenants, 1);
  assert_string_equal(sc.tenants[0].name, "default");
  assert_close(sc.tenants[0].share, 1, 0);
  const cpn_site_spec_t *s = &sc.sites[0];
  assert_string_equal(s->region, "s1");
  assert_string_equal(s->country, "CN");
  assert_close(s->tz_h, 8, 0);
  assert_close(s->pue, 1.2, 0);
  assert_close(s->price_usd_per_kwh, 0.08, 0);
  assert_close(s->co2_g_per_kwh, 500, 0);
  assert_string_equal(s->pools[0].name, "h20");
  assert_int_equal(s->replicas[0].pool, 0);
  assert_int_equal(s->replicas[0].tp, 1);
  assert_int_equal(s->replicas[0].count, 1);
  assert_int_equal(s->replicas[0].max_batch, 64);
  assert_close(sc.models[0].share, 1, 0);
  assert_string_equal(sc.origins[0].country, "CN");
  assert_close(sc.origins[0].tz_h, 8, 0);
  assert_close(sc.origins[0].access_latency_s, 0.002, 0);
  cpn_scenario_destroy(&sc);

  /* Without a name key, the scenario is named after its file. */
  p = write_file("unnamed-2.385.yaml", "models: [{name: m, catalog: c}]\n"
                                       "sites: [{name: s, pools: [{accel: a, count: 1}]}]\n"
                                       "origins: [{name: o, node: s, rate_rps: 1}]\n");
  assert_int_equal(cpn_scenario_load(&sc, p, NULL, 0), CPN_OK);
  assert_string_equal(sc.name, "unnamed-2.385");
  cpn_scenario_destroy(&sc);
}

static void five_mistakes_give_five_messages(void **state)
{
  const char *p = write_file("five.yaml",
                             GOOD_HEAD                                              /* lines 1-4 */
                             "run:\n"                                               /* 5 */
                             "  duration_s: abc\n"                                  /* 6: wrong type */
                             "sites:\n"                                             /* 7 */
                             "  - name: east\n"                                     /* 8 */
                             "    lat: 31.15\n"                                     /* 9 */
                             "    lon: 121.12\n"                                    /* 10 */
                             "    pue: 7\n"                                         /* 11: out of range */
                             "    pools: [{accel: h100, count: 8}]\n"               /* 12 */
                             "  - {name: west, lat: 26.43, lon: 106.63}\n"          /* 13 */
                             "links:\n"                                             /* 14 */
                             "  - a: east\n"                                        /* 15 */
                             "    b: west\n"                                        /* 16 */
                             "    latency: 0.01\n"                                  /* 17: unknown key */
                             "    bw_bps: -5\n"                                     /* 18: negative */
                             "  - {a: east, b: wset, latency_s: 0.01, bw_bps: 1e9}\n" /* 19: missing site */
                             "origins:\n"
                             "  - {name: o, node: east, rate_rps: 1}\n");
  cpn_scenario_t sc;
  memset(&sc, 0x5a, sizeof sc);
  assert_int_equal(cpn_scenario_load(&sc, p, NULL, 0), CPN_EINVAL);
  assert_true(is_zeroed(&sc));
  const char *msg = cpn_error_message();
  assert_int_equal(count_lines(msg), 5);

  char expect[5][600];
  snprintf(expect[0], 600, "%s:6:15: run.duration_s: number expected, got 'abc'", p);
  snprintf(expect[1], 600, "%s:11:10: sites[0].pue: must be in [1, 3] (got 7)", p);
  snprintf(expect[2], 600, "%s:17:5: links[0].latency: unknown key 'latency'; did you mean 'latency_s'?", p);
  snprintf(expect[3], 600, "%s:18:13: links[0].bw_bps: must be >= 1 (got -5)", p);
  snprintf(expect[4], 600, "%s:19:18: links[1].b: no site or node named 'wset'; did you mean 'west'?", p);
  const char *line = msg;
  for (int i = 0; i < 5; i++) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    if (strncmp(line, expect[i], strlen(expect[i])) != 0) {
      print_error("line %d: expected prefix\n  %s\ngot\n  %.*s\n", i + 1, expect[i], (int)len, line);
      fail();
    }
    line = nl ? nl + 1 : line + len;
  }
  /* The unknown-key message also lists what is allowed. */
  assert_contains(msg, "(allowed: a, b, latency_s, bw_bps, shared, route_factor)");
}

static void reports_names_references_and_capacity(void **state)
{
  const char *p = write_file("refs.yaml", GOOD_HEAD
                             "  - {name: m8, catalog: other}\n"                      /* 5: duplicate */
                             "sites:\n"
                             "  - name: s1\n"
                             "    pools: [{name: p, accel: h20, count: 4}]\n"        /* 8: over-committed */
                             "    replicas:\n"
                             "      - {model: m32, pool: p, tp: 2, count: 3}\n"
                             "      - {model: m9, pool: q}\n"                       /* 11: model, pool */
                             "nodes:\n"
                             "  - {name: s1, country: CHN}\n"                        /* 13: name, country */
                             "origins:\n"
                             "  - {name: o, node: s1, rate_rps: 1, residency: [EU]}\n" /* 15 */
                             "  - {node: s1}\n");                                    /* 16 */
  cpn_scenario_t sc;
  assert_int_equal(cpn_scenario_load(&sc, p, NULL, 0), CPN_EINVAL);
  const char *msg = cpn_error_message();
  assert_contains(msg, ":5:12: models[2].name: duplicate model name 'm8' (first defined at ");
  assert_contains(msg, ":8:42: sites[0].pools[0].count: pool 'p' of site 's1' has 4 accelerators but its "
                       "replicas need 6");
  assert_contains(msg, ":11:17: sites[0].replicas[1].model: no model named 'm9' in 'models'; did you mean 'm8'?");
  assert_contains(msg, ":11:27: sites[0].replicas[1].pool: site 's1' has no pool named 'q'");
  assert_contains(msg, ":13:12: nodes[0].name: name 's1' is already used by site 0");
  assert_contains(msg, ":13:25: nodes[0].country: must be a 2-letter ISO 3166 country code");
  assert_contains(msg, ":15:50: origins[0].residency[0]: 'EU' is neither the region nor the country of any site");
  assert_contains(msg, ":16:5: origins[1]: missing required key 'name'");
  assert_contains(msg, ":16:5: origins[1]: missing required key 'rate_rps'");
}

static void yaml_syntax_error_has_location(void **state)
{
  const char *p = write_file("syntax.yaml", "name: x\nrun:\n  seed: [1, 2\n  drain_s: 3\n");
  cpn_scenario_t sc;
  assert_int_equal(cpn_scenario_load(&sc, p, NULL, 0), CPN_EINVAL);
  char prefix[600];
  snprintf(prefix, sizeof prefix, "%s:", p);
  assert_true(strncmp(cpn_error_message(), prefix, strlen(prefix)) == 0);
  assert_contains(cpn_error_message(), "YAML syntax error");
  assert_true(is_zeroed(&sc));
}

static void unreadable_file_is_eio(void **state)
{
  char path[600];
  snprintf(path, sizeof path, "%s/does-not-exist.yaml", tmp_dir);
  cpn_scenario_t sc;
  memset(&sc, 0x5a, sizeof sc);
  assert_int_equal(cpn_scenario_load(&sc, path, NULL, 0), CPN_EIO);
  assert_true(is_zeroed(&sc));
  assert_contains(cpn_error_message(), path);
  assert_contains(cpn_error_message(), "No such file");
  /* A directory is not a scenario either. */
  assert_int_equal(cpn_scenario_load(&sc, tmp_dir, NULL, 0), CPN_EIO);
  assert_contains(cpn_error_message(), "is a directory");
  /* An extends that names a missing file is reported at the extends key. */
  const char *p = write_file("ext-missing.yaml", "extends: nowhere.yaml\n");
  assert_int_equal(cpn_scenario_load(&sc, p, NULL, 0), CPN_EIO);
  assert_contains(cpn_error_message(), ":1:10: extends: cannot read '");
}

static void extends_merges_and_overrides(void **state)
{
  write_file("base.yaml", GOOD_HEAD
             "run: {duration_s: 900, seed: 7}\n"
             "demand: {scale: 2, arrival: gamma, cv: 2.385}\n"
             "tenants: [{name: t1, share: 3}, {name: t2}]\n"
             "sites:\n"
             "  - name: s1\n"
             "    pue: 1.3\n"
             "    pools: [{name: p, accel: h20, count: 8}]\n"
             "    replicas: [{model: m8, count: 2}, {model: m32, count: 1}]\n"
             "  - name: s2\n"
             "    pools: [{name: p, accel: h100, count: 8}]\n"
             "links: [{a: s1, b: s2, latency_s: 0.01, bw_bps: 1e10}]\n"
             "origins: [{name: o1, node: s1, rate_rps: 5}, {name: o2, node: s2, rate_rps: 6}]\n");
  const char *child = write_file("child.yaml", "extends: base.yaml\n"
                                               "run: {seed: 9}\n"
                                               "demand: {scale: 3}\n"
                                               "models:\n"
                                               "  - {name: m32, remove: true}\n"
                                               "  - {name: m70, catalog: llama-3.3-70b}\n"
                                               "sites:\n"
                                               "  - name: s1\n"
                                               "    pools: [{name: p, count: 16}]\n"
                                               "    replicas: [{model: m70, tp: 2, count: 4}]\n"
                                               "  - {name: s2, remove: true}\n"
                                               "  - {name: s3, pools: [{accel: h20, count: 1}]}\n"
                                               "links: [{a: s1, b: s3, latency_s: 0.02, bw_bps: 1e9}]\n"
                                               "origins: [{name: o2, remove: true}]\n");
  cpn_scenario_t sc;
  cpn_err_t rc = cpn_scenario_load(&sc, child, NULL, 0);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  assert_string_equal(sc.name, "child"); /* the name is not inherited */
  assert_close(sc.run.duration_s, 900, 0);
  assert_int_equal(sc.run.seed, 9);
  assert_close(sc.demand.scale, 3, 0);
  assert_int_equal(sc.demand.arrival, CPN_ARR_GAMMA);
  assert_close(sc.demand.cv, 2.385, 0);
  assert_int_equal(sc.n_models, 2);
  assert_string_equal(sc.models[0].name, "m8");
  assert_string_equal(sc.models[1].name, "m70");
  assert_int_equal(sc.n_tenants, 2);
  assert_close(sc.tenants[0].share, 3, 0);
  assert_int_equal(sc.n_sites, 2);
  assert_string_equal(sc.sites[0].name, "s1");
  assert_close(sc.sites[0].pue, 1.3, 0);             /* kept from the base */
  assert_int_equal(sc.sites[0].pools[0].count, 16);  /* merged by name */
  assert_string_equal(sc.sites[0].pools[0].accel, "h20");
  assert_int_equal(sc.sites[0].n_replicas, 1);       /* unnamed list: replaced */
  assert_int_equal(sc.sites[0].replicas[0].model, 1);
  assert_string_equal(sc.sites[1].name, "s3");
  assert_int_equal(sc.n_links, 1);
  assert_string_equal(sc.links[0].b, "s3");
  assert_int_equal(sc.n_origins, 1);
  assert_string_equal(sc.origins[0].name, "o1");
  assert_non_null(strstr(sc.text, "extends: base.yaml")); /* the root file's text */
  cpn_scenario_destroy(&sc);

  /* Mistakes are reported in the file that holds them, and removing a missing item is one. */
  write_file("base-bad.yaml", GOOD_HEAD "run: {sed: 3}\n");
  child = write_file("child-bad.yaml", "extends: base-bad.yaml\n"
                                       "models: [{name: m99, remove: true}]\n"
                                       "sites: [{name: s, pools: [{accel: a, count: 1}]}]\n"
                                       "origins: [{name: o, node: s, rate_rps: -1}]\n");
  assert_int_equal(cpn_scenario_load(&sc, child, NULL, 0), CPN_EINVAL);
  const char *msg = cpn_error_message();
  assert_int_equal(count_lines(msg), 3);
  char expect[600];
  snprintf(expect, sizeof expect, "%s/child-bad.yaml:2:30: models[m99]: remove: the base scenario has no item "
           "named 'm99'", tmp_dir);
  assert_contains(msg, expect);
  snprintf(expect, sizeof expect, "%s/child-bad.yaml:4:40: origins[0].rate_rps: must be >= 0 (got -1)", tmp_dir);
  assert_contains(msg, expect);
  snprintf(expect, sizeof expect, "%s/base-bad.yaml:5:7: run.sed: unknown key 'sed'; did you mean 'seed'?",
           tmp_dir);
  assert_contains(msg, expect);

  /* A cycle of extends is an error, not a hang. */
  write_file("loop-a.yaml", "extends: loop-b.yaml\n");
  const char *la = write_file("loop-b.yaml", "extends: loop-a.yaml\n");
  assert_int_equal(cpn_scenario_load(&sc, la, NULL, 0), CPN_EINVAL);
  assert_contains(cpn_error_message(), "cycle");
}

static void set_overrides_value(void **state)
{
  const char *sets[] = {"demand.scale=3",
                        "run.seed=9",
                        "sites.west.pools.h20.count=4096",
                        "links.2.bw_bps=2.5e9",
                        "demand.cv=2.385",
                        "sites[east].replicas[0].count=3",
                        "origins.wuhan.residency=[guizhou, yangtze-delta]",
                        "run.policy='my policy'"};
  cpn_scenario_t sc;
  cpn_err_t rc = cpn_scenario_load(&sc, TINY, sets, 8);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  assert_close(sc.demand.scale, 3, 0);
  assert_int_equal(sc.run.seed, 9);
  assert_int_equal(sc.sites[1].pools[0].count, 4096);
  assert_close(sc.links[2].bw_bps, 2.5e9, 0);
  assert_close(sc.demand.cv, 2.385, 0);
  assert_int_equal(sc.sites[0].replicas[0].count, 3);
  assert_int_equal(sc.origins[1].n_allowed, 2);
  assert_string_equal(sc.origins[1].allowed[1], "yangtze-delta");
  assert_string_equal(sc.run.policy, "my policy");
  cpn_scenario_destroy(&sc);

  /* A value the loader rejects is reported at the --set, with its column. */
  const char *bad[] = {"run.seed=9", "demand.scale=-3"};
  assert_int_equal(cpn_scenario_load(&sc, TINY, bad, 2), CPN_EINVAL);
  assert_string_equal(cpn_error_message(), "--set:2:14: demand.scale: must be > 0 (got -3)");
}

static void set_unknown_path_fails(void **state)
{
  const char *sets[] = {"demand.scle=3", "sites.guizhuo.pools.h20.count=1", "run.seed", "links.7.bw_bps=1"};
  cpn_scenario_t sc;
  memset(&sc, 0x5a, sizeof sc);
  assert_int_equal(cpn_scenario_load(&sc, TINY, sets, 4), CPN_EINVAL);
  assert_true(is_zeroed(&sc));
  const char *msg = cpn_error_message();
  assert_int_equal(count_lines(msg), 4);
  assert_contains(msg, "--set:1:8: demand.scle: no such key in --set 'demand.scle=3'; did you mean 'scale'?");
  assert_contains(msg, "--set:2:7: sites.guizhuo: no such item in --set 'sites.guizhuo.pools.h20.count=1': "
                       "'sites' has no item named 'guizhuo' (2 items: east, west");
  assert_contains(msg, "--set:3:1: 'run.seed': expected key.path=value");
  assert_contains(msg, "--set:4:7: links.7: no such item");
}

static void dist_equal(const cpn_dist_t *a, const cpn_dist_t *b)
{
  assert_int_equal(a->kind, b->kind);
  assert_close(a->mu, b->mu, 0);
  assert_close(a->sigma, b->sigma, 0);
  assert_close(a->mean, b->mean, 0);
  assert_close(a->min, b->min, 0);
  assert_close(a->max, b->max, 0);
  assert_int_equal(a->n, b->n);
  assert_int_equal(a->interpolate, b->interpolate);
  for (int i = 0; i < a->n; i++) {
    assert_close(a->values[i], b->values[i], 0);
    assert_close(a->cdf[i], b->cdf[i], 1e-15);
  }
}

static void schedule_equal(const cpn_schedule_spec_t *x, const cpn_schedule_spec_t *y)
{
  assert_int_equal(x->n, y->n);
  assert_close(x->period_s, y->period_s, 0);
  assert_int_equal(x->linear, y->linear);
  assert_int_equal(x->cv != NULL, y->cv != NULL);
  for (int j = 0; j < x->n; j++) {
    assert_close(x->t_s[j], y->t_s[j], 0);
    assert_close(x->rate_rps[j], y->rate_rps[j], 0);
    if (x->cv)
      assert_close(x->cv[j], y->cv[j], 0);
  }
}

static void params_equal(int na, const char (*ka)[CPN_NAME_MAX], const double *va, int nb,
                         const char (*kb)[CPN_NAME_MAX], const double *vb)
{
  assert_int_equal(na, nb);
  for (int i = 0; i < na; i++) {
    assert_string_equal(ka[i], kb[i]);
    assert_close(va[i], vb[i], 0);
  }
}

static void scenario_equal(const cpn_scenario_t *a, const cpn_scenario_t *b)
{
  assert_string_equal(a->name, b->name);
  /* run, with the parameter arrays compared by content rather than by address */
  cpn_run_spec_t ra = a->run, rb = b->run;
  ra.policy_param_keys = rb.policy_param_keys = NULL;
  ra.policy_param_values = rb.policy_param_values = NULL;
  ra.autoscaler_param_keys = rb.autoscaler_param_keys = NULL;
  ra.autoscaler_param_values = rb.autoscaler_param_values = NULL;
  assert_memory_equal(&ra, &rb, sizeof ra);
  params_equal(a->run.n_policy_params, (const char (*)[CPN_NAME_MAX])a->run.policy_param_keys,
               a->run.policy_param_values, b->run.n_policy_params,
               (const char (*)[CPN_NAME_MAX])b->run.policy_param_keys, b->run.policy_param_values);
  params_equal(a->run.n_autoscaler_params, (const char (*)[CPN_NAME_MAX])a->run.autoscaler_param_keys,
               a->run.autoscaler_param_values, b->run.n_autoscaler_params,
               (const char (*)[CPN_NAME_MAX])b->run.autoscaler_param_keys, b->run.autoscaler_param_values);
  /* demand.trace: every trace_* field is plain data */
  assert_memory_equal(a->demand.trace_file, b->demand.trace_file,
                      offsetof(cpn_demand_spec_t, trace_skip_errors) + sizeof(int) -
                          offsetof(cpn_demand_spec_t, trace_file));
  assert_close(a->demand.scale, b->demand.scale, 0);
  assert_int_equal(a->demand.arrival, b->demand.arrival);
  assert_close(a->demand.cv, b->demand.cv, 0);
  assert_close(a->demand.burst_factor, b->demand.burst_factor, 0);
  assert_close(a->demand.burst_mean_s, b->demand.burst_mean_s, 0);
  assert_close(a->demand.calm_mean_s, b->demand.calm_mean_s, 0);
  assert_int_equal(a->demand.diurnal_enabled, b->demand.diurnal_enabled);
  assert_int_equal(a->demand.diurnal_step, b->demand.diurnal_step);
  for (int h = 0; h < 24; h++) /* renormalising an already normalised profile may move the last bit */
    assert_close(a->demand.diurnal.hourly[h], b->demand.diurnal.hourly[h], 1e-14);
  assert_int_equal(a->n_models, b->n_models);
  for (int i = 0; i < a->n_models; i++)
    assert_memory_equal(&a->models[i], &b->models[i], sizeof a->models[i]);
  assert_int_equal(a->n_classes, b->n_classes);
  for (int i = 0; i < a->n_classes; i++) {
    const cpn_class_spec_t *x = &a->classes[i], *y = &b->classes[i];
    assert_string_equal(x->name, y->name);
    assert_close(x->share, y->share, 0);
    assert_close(x->ttft_slo_s, y->ttft_slo_s, 0);
    assert_close(x->tpot_slo_s, y->tpot_slo_s, 0);
    assert_close(x->timeout_s, y->timeout_s, 0);
    assert_int_equal(x->confidential, y->confidential);
    assert_close(x->request_bytes_per_token, y->request_bytes_per_token, 0);
    assert_close(x->reply_bytes_per_token, y->reply_bytes_per_token, 0);
    dist_equal(&x->prompt_tokens, &y->prompt_tokens);
    dist_equal(&x->output_tokens, &y->output_tokens);
    assert_int_equal(x->session, y->session);
    dist_equal(&x->session_turns, &y->session_turns);
    assert_close(x->session_think_s, y->session_think_s, 0);
    schedule_equal(&x->sched, &y->sched);
    assert_int_equal(x->sched_origin, y->sched_origin);
    assert_int_equal(x->fanout, y->fanout);
    assert_int_equal(x->fanout_class, y->fanout_class);
    dist_equal(&x->fanout_calls, &y->fanout_calls);
    assert_close(x->cv, y->cv, 0);
    assert_int_equal(x->n_token_windows, y->n_token_windows);
    for (int w = 0; w < x->n_token_windows; w++) {
      assert_close(x->token_windows[w].from_s, y->token_windows[w].from_s, 0);
      dist_equal(&x->token_windows[w].prompt_tokens, &y->token_windows[w].prompt_tokens);
      dist_equal(&x->token_windows[w].output_tokens, &y->token_windows[w].output_tokens);
    }
  }
  assert_int_equal(a->n_tenants, b->n_tenants);
  for (int i = 0; i < a->n_tenants; i++)
    assert_memory_equal(&a->tenants[i], &b->tenants[i], sizeof a->tenants[i]);
  assert_int_equal(a->n_sites, b->n_sites);
  for (int i = 0; i < a->n_sites; i++) {
    const cpn_site_spec_t *x = &a->sites[i], *y = &b->sites[i];
    assert_string_equal(x->name, y->name);
    assert_string_equal(x->region, y->region);
    assert_string_equal(x->country, y->country);
    assert_close(x->tz_h, y->tz_h, 0);
    assert_close(x->lat_deg, y->lat_deg, 0);
    assert_close(x->lon_deg, y->lon_deg, 0);
    assert_close(x->pue, y->pue, 0);
    assert_close(x->price_usd_per_kwh, y->price_usd_per_kwh, 0);
    assert_close(x->co2_g_per_kwh, y->co2_g_per_kwh, 0);
    assert_int_equal(x->n_pools, y->n_pools);
    for (int j = 0; j < x->n_pools; j++)
      assert_memory_equal(&x->pools[j], &y->pools[j], sizeof x->pools[j]);
    assert_int_equal(x->n_replicas, y->n_replicas);
    for (int j = 0; j < x->n_replicas; j++)
      assert_memory_equal(&x->replicas[j], &y->replicas[j], sizeof x->replicas[j]);
  }
  assert_int_equal(a->n_nodes, b->n_nodes);
  for (int i = 0; i < a->n_nodes; i++)
    assert_memory_equal(&a->nodes[i], &b->nodes[i], sizeof a->nodes[i]);
  assert_int_equal(a->n_links, b->n_links);
  for (int i = 0; i < a->n_links; i++) {
    const cpn_link_spec_t *x = &a->links[i], *y = &b->links[i];
    assert_string_equal(x->a, y->a);
    assert_string_equal(x->b, y->b);
    assert_close(x->latency_s, y->latency_s, 0);
    assert_close(x->bw_bps, y->bw_bps, 0);
    assert_int_equal(x->shared, y->shared);
  }
  assert_int_equal(a->n_origins, b->n_origins);
  for (int i = 0; i < a->n_origins; i++) {
    const cpn_origin_spec_t *x = &a->origins[i], *y = &b->origins[i];
    assert_string_equal(x->name, y->name);
    assert_string_equal(x->node, y->node);
    assert_string_equal(x->country, y->country);
    assert_close(x->tz_h, y->tz_h, 0);
    assert_close(x->access_latency_s, y->access_latency_s, 0);
    assert_close(x->rate_rps, y->rate_rps, 0);
    assert_close(x->cv, y->cv, 0);
    schedule_equal(&x->sched, &y->sched);
    assert_int_equal(x->n_allowed, y->n_allowed);
    for (int j = 0; j < x->n_allowed; j++)
      assert_string_equal(x->allowed[j], y->allowed[j]);
  }
  assert_int_equal(a->n_trainings, b->n_trainings);
  for (int i = 0; i < a->n_trainings; i++) {
    cpn_training_spec_t x = a->trainings[i], y = b->trainings[i];
    x.line = y.line = 0;
    assert_memory_equal(&x, &y, sizeof x);
  }
}

static void roundtrip_one(const char *path, const char *const *sets, int n_sets, const char *out_name)
{
  cpn_scenario_t a, b;
  cpn_err_t rc = cpn_scenario_load(&a, path, sets, n_sets);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  char out[600];
  snprintf(out, sizeof out, "%s/%s", tmp_dir, out_name);
  FILE *f = fopen(out, "w");
  assert_non_null(f);
  assert_int_equal(cpn_scenario_print(&a, f), CPN_OK);
  fclose(f);
  rc = cpn_scenario_load(&b, out, NULL, 0);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  scenario_equal(&a, &b);
  cpn_scenario_destroy(&a);
  cpn_scenario_destroy(&b);
}

static void roundtrip_print_reload_equal(void **state)
{
  roundtrip_one(TINY, NULL, 0, "tiny-printed.yaml");
  /* Every kind of value the printer writes: a custom diurnal profile, each distribution, booleans,
   * strings that need quoting, an unlimited request count and a seed above 2^53. */
  const char *p = write_file("rich.yaml",
                             GOOD_HEAD
                             "  - {name: m70, catalog: llama-3.3-70b, prefill_eff: 0.385, decode_eff: 1, "
                             "step_overhead_s: 0.002385}\n"
                             "run: {seed: 18446744073709551615, network_mode: flow, policy: \"a \\\"quoted\\\" "
                             "policy\", max_requests: 123456789, warmup_s: 60.5, start_utc_h: 23.75}\n"
                             "demand:\n"
                             "  arrival: weibull\n"
                             "  cv: 2.385\n"
                             "  diurnal_interp: step\n"
                             "  diurnal: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, "
                             "2, 0.1]\n"
                             "classes:\n"
                             "  - {name: c, confidential: true, timeout_s: 30, prompt_tokens: {dist: constant, "
                             "mean: 100}, output_tokens: {dist: geometric, mean: 20.5, max: 300}}\n"
                             "  - {name: d, prompt_tokens: {dist: exponential, mean: 7.25, min: 3}, "
                             "output_tokens: {dist: azure-code-output, max: 99}}\n"
                             "  - {name: e, prompt_tokens: {dist: azure-code-prompt}}\n"
                             "sites:\n"
                             "  - name: s1\n"
                             "    region: \"r:1\"\n"
                             "    country: sg\n"
                             "    tz_h: -3.5\n"
                             "    pools: [{name: conf, accel: h20, count: 4, confidential: true}, "
                             "{accel: h100, count: 2}]\n"
                             "    replicas: [{model: m70, pool: h100, tp: 2}, {model: m8, count: 0, scheduler: vllm, "
                             "scheduler_params: {max_num_batched_tokens: 2385, chunked_prefill: 0}}]\n"
                             "  - {name: s2, pools: []}\n"
                             "nodes: [{name: n, lat: 1.5, lon: -2.25}]\n"
                             "links: [{a: s1, b: n, latency_s: 0.0123, bw_bps: 1.5e12, shared: true}, "
                             "{a: n, b: s2, latency_s: 0, bw_bps: 1}]\n"
                             "origins: [{name: o, node: n, rate_rps: 0.1, residency: [\"r:1\", SG]}]\n");
  roundtrip_one(p, NULL, 0, "rich-printed.yaml");
  const char *sets[] = {"demand.diurnal=default"};
  roundtrip_one(p, sets, 1, "rich-default-printed.yaml");
  /* Workload keys: an origin schedule (inline and from a CSV), per-origin cv, empirical tables. */
  write_file("rates.csv", "t_s,rate_rps,note,cv\n0,2.385,a,1\n3600,0,b,2\n7200,1.5,c,0.5\n");
  write_file("lengths.csv", "values,cdf\n1,0\n100,0.45\n2000,0.9\n4000,1\n");
  write_file("cvrates.csv", "t_s,rate_rps\n0,0.5\n600,2\n");
  p = write_file("workload.yaml",
                 GOOD_HEAD
                 "demand: {arrival: gamma, cv: 2}\n"
                 "classes:\n"
                 "  - {name: c, prompt_tokens: {dist: empirical, values: [64, 1024, 8000], probs: [0.7, 0.25, 0.05]}, "
                 "output_tokens: {dist: empirical, file: lengths.csv, max: 3000}, "
                 "session: {turns: {dist: geometric, mean: 3.5}, think_s: 12.5}, "
                 "token_windows: [{from_s: 600, prompt_tokens: {dist: constant, mean: 77}}, "
                 "{from_s: 1200.5, output_tokens: {dist: empirical, values: [5, 50], cdf: [0.25, 1]}}]}\n"
                 "  - {name: night, origin: q, schedule: {period_s: 86400, t_s: [0, 21600], rate_rps: [4, 0], "
                 "cv: [2.5, 1]}}\n"
                 "  - {name: ramp, cv: 1.5, schedule: {file: cvrates.csv}, fanout: {calls: {dist: geometric, mean: 2.5}, "
                 "class: night}}\n"
                 "sites: [{name: s1, pools: []}]\n"
                 "origins:\n"
                 "  - {name: o, node: s1, cv: 3.5, schedule: {interp: linear, period_s: 86400, t_s: [0, 43200], "
                 "rate_rps: [1, 3]}}\n"
                 "  - {name: q, node: s1, schedule: {file: rates.csv}}\n"
                 "  - {name: w, node: s1, rate_rps: 2, schedule: ~}\n");
  roundtrip_one(p, NULL, 0, "workload-printed.yaml");
}

static void great_circle_default_latency(void **state)
{
  /* Quarter of a great circle: pi/2 x 6371.0e3 m x the default route factor 1.3, at 2e8 m/s. */
  assert_close(CPN_ROUTE_FACTOR_DEFAULT, 1.3, 0);
  const double quarter_s = PI / 2 * 6371.0e3 * 1.3 / 2e8;
  const char *p = write_file("geo.yaml", GOOD_HEAD
                             "sites:\n"
                             "  - {name: s1, lat: 0, lon: 0, pools: [{accel: h20, count: 1}]}\n"
                             "  - {name: s2, lat: 31.15, lon: 121.12}\n"
                             "nodes:\n"
                             "  - {name: n90, lat: 0, lon: 90}\n"
                             "  - {name: pole, lat: 90, lon: 0}\n"
                             "  - {name: wuhan, lat: 30.59, lon: 114.31}\n"
                             "links:\n"
                             "  - {a: s1, b: n90, bw_bps: 1e9}\n"
                             "  - {a: pole, b: s1, bw_bps: 1e9}\n"
                             "  - {a: s2, b: wuhan, bw_bps: 1e9}\n"
                             "  - {a: n90, b: pole, bw_bps: 1e9, latency_s: 0.002385}\n"
                             "origins: [{name: o, node: s1, rate_rps: 1}]\n");
  cpn_scenario_t sc;
  cpn_err_t rc = cpn_scenario_load(&sc, p, NULL, 0);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  assert_close(sc.links[0].latency_s, quarter_s, 1e-12);
  assert_close(sc.links[1].latency_s, quarter_s, 1e-12);
  /* Shanghai - Wuhan: haversine by hand, about 657 km. */
  double p1 = 31.15 * PI / 180, p2 = 30.59 * PI / 180, dl = (114.31 - 121.12) * PI / 180;
  double h = pow(sin((p2 - p1) / 2), 2) + cos(p1) * cos(p2) * pow(sin(dl / 2), 2);
  double d_m = 2 * 6371.0e3 * asin(sqrt(h));
  assert_true(d_m > 650e3 && d_m < 665e3);
  assert_close(sc.links[2].latency_s, d_m * 1.3 / 2e8, 1e-12);
  assert_close(sc.links[3].latency_s, 0.002385, 0);
  assert_close(cpn_scenario_great_circle_m(10, 20, 10, 20), 0, 0);
  cpn_scenario_destroy(&sc);

  /* Without lat/lon at both ends, latency_s is required. */
  p = write_file("geo-missing.yaml", GOOD_HEAD
                 "sites: [{name: s1, lat: 10, pools: [{accel: h20, count: 1}]}]\n"
                 "nodes: [{name: n, lat: 0, lon: 0}]\n"
                 "links: [{a: s1, b: n, bw_bps: 1e9}]\n"
                 "origins: [{name: o, node: n, rate_rps: 1}]\n");
  assert_int_equal(cpn_scenario_load(&sc, p, NULL, 0), CPN_EINVAL);
  assert_contains(cpn_error_message(), ":7:9: links[0]: missing required key 'latency_s'");
  assert_int_equal(count_lines(cpn_error_message()), 1);
}

static void life_cycle_view_and_param_fields(void **state)
{
  /* Defaults, from tiny.yaml, which sets none of these keys. */
  cpn_scenario_t sc;
  assert_int_equal(cpn_scenario_load(&sc, TINY, NULL, 0), CPN_OK);
  assert_close(sc.run.view_refresh_s, 0, 0);
  assert_close(sc.run.decision_latency_s, 0, 0);
  assert_int_equal(sc.run.decision_trace, 0);
  assert_string_equal(sc.run.autoscaler, "none");
  assert_close(sc.run.autoscaler_interval_s, 30, 0);
  assert_close(sc.run.confidential_overhead, 0.1, 0);
  assert_int_equal(sc.run.n_policy_params, 0);
  assert_null(sc.run.policy_param_keys);
  assert_int_equal(sc.run.n_autoscaler_params, 0);
  assert_string_equal(sc.models[0].store, "");
  assert_int_equal(sc.sites[0].replicas[0].unloaded, 0);
  assert_string_equal(sc.demand.trace_file, "");
  cpn_scenario_destroy(&sc);

  const char *p = write_file("life.yaml", GOOD_HEAD
                             "  - {name: m70, catalog: llama-3.3-70b, store: hub}\n"
                             "run:\n"
                             "  view_refresh_s: 2.385\n"
                             "  decision_latency_s: 0.0125\n"
                             "  decision_trace: true\n"
                             "  autoscaler: queue-threshold\n"
                             "  autoscaler_interval_s: 7.5\n"
                             "  confidential_overhead: 0.035\n"
                             "  policy_params: {w_cost: 2.5, w_latency: -1}\n"
                             "  autoscaler_params: {queue_high: 8}\n"
                             "sites:\n"
                             "  - name: hub\n"
                             "    pools: [{accel: h100, count: 9}]\n"
                             "    replicas: [{model: m70, tp: 4, count: 2, unloaded: 2}, {model: m8, unloaded: 0}]\n"
                             "origins: [{name: o, node: hub, rate_rps: 1}]\n");
  const char *sets[] = {"run.policy_params.w_cost=3", "run.policy_params.w_new=0.25",
                        "run.autoscaler_params={queue_low: 1}"};
  cpn_err_t rc = cpn_scenario_load(&sc, p, sets, 3);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  assert_close(sc.run.view_refresh_s, 2.385, 0);
  assert_close(sc.run.decision_latency_s, 0.0125, 0);
  assert_int_equal(sc.run.decision_trace, 1);
  assert_string_equal(sc.run.autoscaler, "queue-threshold");
  assert_close(sc.run.autoscaler_interval_s, 7.5, 0);
  assert_close(sc.run.confidential_overhead, 0.035, 0);
  assert_int_equal(sc.run.n_policy_params, 3); /* file order, then the new key */
  assert_string_equal(sc.run.policy_param_keys[0], "w_cost");
  assert_close(sc.run.policy_param_values[0], 3, 0);
  assert_string_equal(sc.run.policy_param_keys[1], "w_latency");
  assert_close(sc.run.policy_param_values[1], -1, 0);
  assert_string_equal(sc.run.policy_param_keys[2], "w_new");
  assert_close(sc.run.policy_param_values[2], 0.25, 0);
  assert_int_equal(sc.run.n_autoscaler_params, 1); /* replaced as a whole */
  assert_string_equal(sc.run.autoscaler_param_keys[0], "queue_low");
  assert_string_equal(sc.models[2].store, "hub");
  assert_int_equal(sc.sites[0].replicas[0].unloaded, 2);
  cpn_scenario_destroy(&sc);
  roundtrip_one(p, sets, 3, "life-printed.yaml");

  /* Every error path of the new keys at once. */
  p = write_file("life-bad.yaml", GOOD_HEAD
                 "  - {name: m70, catalog: llama-3.3-70b, store: hbu}\n"          /* 5 */
                 "run:\n"                                                          /* 6 */
                 "  view_refresh_s: -1\n"                                          /* 7 */
                 "  autoscaler: queue-treshold\n"                                  /* 8 */
                 "  autoscaler_interval_s: 0\n"                                    /* 9 */
                 "  policy_params: {w_cost: high}\n"                               /* 10 */
                 "  autoscaler_params: [1, 2]\n"                                   /* 11 */
                 "sites:\n"                                                        /* 12 */
                 "  - name: hub\n"                                                 /* 13 */
                 "    pools: [{accel: h100, count: 8}]\n"                          /* 14 */
                 "    replicas: [{model: m8, count: 2, unloaded: 3}]\n"            /* 15 */
                 "origins: [{name: o, node: hub, rate_rps: 1}]\n");
  assert_int_equal(cpn_scenario_load(&sc, p, NULL, 0), CPN_EINVAL);
  const char *msg = cpn_error_message();
  assert_int_equal(count_lines(msg), 7);
  assert_contains(msg, ":5:48: models[2].store: no site named 'hbu' (the store holds the weights cold starts "
                       "fetch); did you mean 'hub'?");
  assert_contains(msg, ":7:19: run.view_refresh_s: must be >= 0 (got -1)");
  assert_contains(msg, ":8:15: run.autoscaler: must be one of none, queue-threshold (got 'queue-treshold'); did "
                       "you mean 'queue-threshold'?");
  assert_contains(msg, ":9:26: run.autoscaler_interval_s: must be > 0 (got 0)");
  assert_contains(msg, ":10:27: run.policy_params.w_cost: number expected, got 'high'");
  assert_contains(msg, ":11:22: run.autoscaler_params: expected a mapping of parameter names to numbers");
  assert_contains(msg, ":15:48: sites[0].replicas[0].unloaded: must be <= count (2)");

  /* A parameter is a number: nothing below it. */
  const char *deep[] = {"run.policy_params.w_cost.x=1"};
  assert_int_equal(cpn_scenario_load(&sc, TINY, deep, 1), CPN_EINVAL);
  assert_contains(cpn_error_message(), "--set:1:26: run.policy_params.w_cost: cannot apply --set "
                                       "'run.policy_params.w_cost.x=1': parameter 'w_cost' is a number");
}

static void trace_block_resolves_and_checks(void **state)
{
  /* The file is found relative to the scenario's directory and stored as an absolute path. */
  char sub[600], trace[700];
  snprintf(sub, sizeof sub, "%s/traces", tmp_dir);
  mkdir(sub, 0700);
  snprintf(trace, sizeof trace, "%s/t.csv", sub);
  FILE *f = fopen(trace, "w");
  assert_non_null(f);
  fputs("ts,p,o\n0,10,2\n", f);
  fclose(f);
  const char *p = write_file("trace.yaml", GOOD_HEAD
                             "demand:\n"
                             "  trace:\n"
                             "    file: traces/./t.csv\n"
                             "    mapping: custom\n"
                             "    time_col: ts\n"
                             "    prompt_col: p\n"
                             "    output_col: o\n"
                             "    time_unit: ms\n"
                             "    time_scale: 0.5\n"
                             "    rate_scale: 2.385\n"
                             "    shift_s: 0.125\n"
                             "    start_offset_s: 60\n"
                             "    loop: true\n"
                             "    errors: skip\n"
                             "sites: [{name: s, pools: [{accel: h20, count: 1}]}]\n"
                             "origins: [{name: o, node: s, rate_rps: 1}]\n");
  cpn_scenario_t sc;
  cpn_err_t rc = cpn_scenario_load(&sc, p, NULL, 0);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  char *real = realpath(trace, NULL);
  assert_non_null(real);
  assert_string_equal(sc.demand.trace_file, real);
  free(real);
  assert_string_equal(sc.demand.trace_mapping, "custom");
  assert_string_equal(sc.demand.trace_format, "csv"); /* custom's default */
  assert_string_equal(sc.demand.trace_time_unit, "ms");
  assert_string_equal(sc.demand.trace_time_col, "ts");
  assert_string_equal(sc.demand.trace_output_col, "o");
  assert_string_equal(sc.demand.trace_model_col, "");
  assert_close(sc.demand.trace_time_scale, 0.5, 0);
  assert_close(sc.demand.trace_rate_scale, 2.385, 0);
  assert_close(sc.demand.trace_shift_s, 0.125, 0);
  assert_close(sc.demand.trace_start_offset_s, 60, 0);
  assert_int_equal(sc.demand.trace_loop, 1);
  assert_int_equal(sc.demand.trace_skip_errors, 1);
  cpn_scenario_destroy(&sc);
  roundtrip_one(p, NULL, 0, "trace-printed.yaml");

  /* Defaults of a trace block with only a file; errors=stop given by --set (as --trace-errors does). */
  const char *sets[] = {"demand.trace.errors=stop", "demand.trace.mapping=vidur", "demand.trace.model_col=m"};
  assert_int_equal(cpn_scenario_load(&sc, p, sets, 3), CPN_EINVAL); /* custom-only keys with vidur */
  assert_contains(cpn_error_message(), ":12:5: demand.trace.time_unit: 'time_unit' is only used by mapping "
                                       "'custom' (mapping 'vidur' fixes it)");
  const char *q = write_file("trace-min.yaml", GOOD_HEAD
                             "demand: {trace: {file: traces/t.csv}}\n"
                             "sites: [{name: s, pools: [{accel: h20, count: 1}]}]\n"
                             "origins: [{name: o, node: s, rate_rps: 1}]\n");
  const char *skip[] = {"demand.trace.errors=skip", "demand.trace.model_col=m"};
  assert_int_equal(cpn_scenario_load(&sc, q, skip, 2), CPN_OK);
  assert_string_equal(sc.demand.trace_mapping, "azure-2023");
  assert_string_equal(sc.demand.trace_format, "");
  assert_string_equal(sc.demand.trace_time_unit, "");
  assert_string_equal(sc.demand.trace_model_col, "m");
  assert_close(sc.demand.trace_time_scale, 1, 0);
  assert_close(sc.demand.trace_rate_scale, 1, 0);
  assert_int_equal(sc.demand.trace_loop, 0);
  assert_int_equal(sc.demand.trace_skip_errors, 1);
  cpn_scenario_destroy(&sc);
  roundtrip_one(q, skip, 2, "trace-min-printed.yaml");
  /* trace: null drops it (how an extending file turns a trace off). */
  const char *off[] = {"demand.trace=~"};
  assert_int_equal(cpn_scenario_load(&sc, q, off, 1), CPN_OK);
  assert_string_equal(sc.demand.trace_file, "");
  cpn_scenario_destroy(&sc);

  /* A missing file is an I/O error at the key; other problems are reported with it. */
  const char *bad = write_file("trace-bad.yaml", GOOD_HEAD
                               "demand:\n"                                       /* 5 */
                               "  trace:\n"                                      /* 6 */
                               "    file: traces/none.csv\n"                     /* 7 */
                               "    mapping: custom\n"                           /* 8 */
                               "    format: parquet\n"                           /* 9 */
                               "    time_col: ts\n"                              /* 10 */
                               "    rate_scale: 300\n"                           /* 11 */
                               "    errors: ignore\n"                            /* 12 */
                               "sites: [{name: s, pools: [{accel: h20, count: 1}]}]\n"
                               "origins: [{name: o, node: s, rate_rps: 1}]\n");
  assert_int_equal(cpn_scenario_load(&sc, bad, NULL, 0), CPN_EIO);
  const char *msg = cpn_error_message();
  assert_int_equal(count_lines(msg), 6);
  char expect[900];
  snprintf(expect, sizeof expect, "%s:7:11: demand.trace.file: cannot read the trace '%s/traces/none.csv': No such "
           "file or directory", bad, tmp_dir);
  assert_contains(msg, expect);
  assert_contains(msg, ":9:13: demand.trace.format: must be one of csv, jsonl (got 'parquet')");
  assert_contains(msg, ":11:17: demand.trace.rate_scale: must be in (0, 256] (got 300)");
  assert_contains(msg, ":12:13: demand.trace.errors: must be one of stop, skip (got 'ignore')");
  assert_contains(msg, ":7:5: demand.trace: missing required key 'prompt_col' (mapping 'custom' needs");
  assert_contains(msg, ":7:5: demand.trace: missing required key 'output_col'");
  /* A trace block without a file, e.g. from --set demand.trace.errors=skip on a generated workload. */
  const char *noise[] = {"demand.trace.errors=skip"};
  assert_int_equal(cpn_scenario_load(&sc, TINY, noise, 1), CPN_EINVAL);
  assert_contains(cpn_error_message(), "--set:1:8: demand.trace: missing required key 'file'");
  /* A directory is not a trace. */
  const char *dir[] = {"demand.trace.file=/tmp"};
  assert_int_equal(cpn_scenario_load(&sc, q, dir, 1), CPN_EIO);
  assert_contains(cpn_error_message(), "--set:1:19: demand.trace.file: cannot read the trace '/tmp': is a directory");
}

static void chinanet_scenario_routes(void **state)
{
  cpn_scenario_t sc;
  cpn_err_t rc = cpn_scenario_load(&sc, CPN_SCENARIO_DIR "/chinanet.yaml", NULL, 0);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  assert_int_equal(sc.n_nodes, 42);  /* every Chinanet PoP */
  assert_int_equal(sc.n_links, 8 + 66); /* the written site links, then the 66 GraphML edges */
  assert_string_equal(sc.links[7].a, "dc-yinchuan"); /* imported items follow the written ones */
  assert_true(strncmp(sc.links[8].a, "dc-", 3) != 0);
  assert_close(sc.links[8].bw_bps, 4.0e11, 0);
  int beijing = -1, intl = -1;
  for (int i = 0; i < sc.n_nodes; i++) {
    beijing = strcmp(sc.nodes[i].name, "beijing") == 0 ? i : beijing;
    intl = strcmp(sc.nodes[i].name, "international-link-1") == 0 ? i : intl;
  }
  assert_true(beijing >= 0 && intl >= 0);
  assert_close(sc.nodes[beijing].lat_deg, 39.90, 0.2);
  assert_close(sc.nodes[intl].lat_deg, 0, 0); /* no coordinates in the file */
  assert_string_equal(sc.nodes[beijing].country, "CN");

  /* Beijing - Guangzhou over the backbone: ~1,890 km great circle, so ~9.5 ms of fibre at least. */
  cpn_topology_t *t;
  assert_int_equal(cpn_topology_new(&t, &sc), CPN_OK);
  int sb = cpn_topology_node_index(t, "dc-beijing"), sg = cpn_topology_node_index(t, "dc-guangzhou");
  int nb = cpn_topology_node_index(t, "beijing"), ng = cpn_topology_node_index(t, "guangzhou");
  assert_true(sb >= 0 && sg >= 0 && nb >= 0 && ng >= 0);
  double site_s = cpn_topology_route_latency_s(t, sb, sg), node_s = cpn_topology_route_latency_s(t, nb, ng);
  print_message("Beijing - Guangzhou: %.2f ms between the sites, %.2f ms between the PoPs\n", site_s * 1e3,
                node_s * 1e3);
  assert_true(site_s >= 0.008 && site_s <= 0.025);
  assert_true(node_s >= 0.008 && node_s <= 0.025);
  assert_close(site_s, node_s + 2 * 0.0005, 1e-12); /* plus the two metro links */
  cpn_topology_free(t);
  cpn_scenario_destroy(&sc);
  roundtrip_one(CPN_SCENARIO_DIR "/chinanet.yaml", NULL, 0, "chinanet-printed.yaml");
}

/* A scenario that writes no sites, nodes, links or origins: all come from the topology section. */
#define GEN_HEAD                                                                                             \
  "models: [{name: m8, catalog: llama-3.1-8b}]\n"                                                            \
  "topology:\n"                                                                                              \
  "  generate: waxman\n"                                                                                     \
  "  n: 30\n"                                                                                                \
  "  seed: 2385\n"                                                                                           \
  "  bw_bps: 2.5e10\n"                                                                                       \
  "  sites: all\n"                                                                                           \
  "  origins_per_site_rps: 0.125\n"

/* Route factor: a link's latency from coordinates is great-circle distance x route factor x 5 us/km
 * (links[].route_factor, topology.route_factor, default CPN_ROUTE_FACTOR_DEFAULT); a factor on a link
 * that gives its latency, one below 1 and one with simgrid_xml are refused at their line. */
static void route_factor_scales_distance_latency(void **state)
{
  const char *p = write_file("rf.yaml", GOOD_HEAD
                             "sites:\n"
                             "  - {name: s1, lat: 0, lon: 0, pools: [{accel: h20, count: 1}]}\n"
                             "  - {name: s2, lat: 31.15, lon: 121.12}\n"
                             "nodes:\n"
                             "  - {name: wuhan, lat: 30.59, lon: 114.31}\n"
                             "links:\n"
                             "  - {a: s2, b: wuhan, bw_bps: 1e9, route_factor: 1.37}\n"
                             "  - {a: s1, b: wuhan, bw_bps: 1e9}\n"
                             "origins: [{name: o, node: s1, rate_rps: 1}]\n");
  cpn_scenario_t sc;
  cpn_err_t rc = cpn_scenario_load(&sc, p, NULL, 0);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  /* Shanghai - Wuhan by the haversine by hand (about 657 km), x 1.37 x 5 us/km. */
  double p1 = 31.15 * PI / 180, p2 = 30.59 * PI / 180, dl = (114.31 - 121.12) * PI / 180;
  double h = pow(sin((p2 - p1) / 2), 2) + cos(p1) * cos(p2) * pow(sin(dl / 2), 2);
  double d_km = 2 * 6371.0 * asin(sqrt(h));
  print_message("shanghai - wuhan %.3f km: %.6f ms at route factor 1.37\n", d_km, sc.links[0].latency_s * 1e3);
  assert_close(sc.links[0].latency_s, d_km * 1.37 * 5e-6, 1e-12);
  double d1_km = cpn_scenario_great_circle_m(0, 0, 30.59, 114.31) / 1e3;
  assert_close(sc.links[1].latency_s, d1_km * CPN_ROUTE_FACTOR_DEFAULT * 5e-6, 1e-12);
  cpn_scenario_destroy(&sc);

  const char *with_latency[] = {"links.0.latency_s=0.004"};
  assert_int_equal(cpn_scenario_load(&sc, p, with_latency, 1), CPN_EINVAL);
  assert_contains(cpn_error_message(), ":11:50: links[0].route_factor: 'route_factor' has no effect on a link with latency_s");
  const char *below_one[] = {"links.0.route_factor=0.9"};
  assert_int_equal(cpn_scenario_load(&sc, p, below_one, 1), CPN_EINVAL);
  assert_contains(cpn_error_message(), "links[0].route_factor: must be in [1, 10]");

  /* topology.route_factor scales every generated link's great-circle latency by the same factor. */
  const char *g = write_file("rf-gen.yaml", GEN_HEAD
                             "  site_template:\n"
                             "    pools: [{name: p, accel: h20, count: 2}]\n"
                             "    replicas: [{model: m8, count: 1, max_batch: 32}]\n");
  const char *factor[] = {"topology.route_factor=1.61"};
  cpn_scenario_t sf;
  assert_int_equal(cpn_scenario_load(&sc, g, NULL, 0), CPN_OK);
  assert_int_equal(cpn_scenario_load(&sf, g, factor, 1), CPN_OK);
  assert_int_equal(sc.n_links, sf.n_links);
  for (int i = 0; i < sc.n_links; i++) {
    int a = cpn_scenario_site_index(&sc, sc.links[i].a), b = cpn_scenario_site_index(&sc, sc.links[i].b);
    double km = cpn_scenario_great_circle_m(sc.sites[a].lat_deg, sc.sites[a].lon_deg, sc.sites[b].lat_deg,
                                            sc.sites[b].lon_deg) / 1e3;
    assert_close(sc.links[i].latency_s, km * CPN_ROUTE_FACTOR_DEFAULT * 5e-6, 1e-12);
    assert_close(sf.links[i].latency_s, km * 1.61 * 5e-6, 1e-12);
  }
  cpn_scenario_destroy(&sc);
  cpn_scenario_destroy(&sf);
}

/* training: the ring's sites in order, defaults, print and reload; a ring of one site, an unknown or
 * repeated site and a missing grad_bytes are refused at their line. */
static void training_jobs_read_print_and_refuse(void **state)
{
  const char *sets[] = {"training=[{name: dp, sites: [west, east], grad_bytes: 2.385e9, compute_s: 0.5}, "
                        "{name: ft, sites: [east, west], grad_bytes: 1e8, compute_s: 0, at_s: 30, steps: 7}]"};
  cpn_scenario_t sc;
  cpn_err_t rc = cpn_scenario_load(&sc, TINY, sets, 1);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  assert_int_equal(sc.n_trainings, 2);
  const cpn_training_spec_t *t = &sc.trainings[0];
  assert_string_equal(t->name, "dp");
  assert_int_equal(t->n_sites, 2);
  assert_string_equal(sc.sites[t->sites[0]].name, "west");
  assert_string_equal(sc.sites[t->sites[1]].name, "east");
  assert_close(t->grad_bytes, 2.385e9, 0);
  assert_close(t->compute_s, 0.5, 0);
  assert_close(t->at_s, 0, 0);
  assert_int_equal(t->steps, 0);
  assert_int_equal(sc.trainings[1].steps, 7);
  cpn_scenario_destroy(&sc);
  roundtrip_one(TINY, sets, 1, "training-printed.yaml");

  const char *one[] = {"training=[{name: dp, sites: [east], grad_bytes: 1e9, compute_s: 1}]"};
  assert_int_equal(cpn_scenario_load(&sc, TINY, one, 1), CPN_EINVAL);
  assert_contains(cpn_error_message(), "training[0].sites: a training job needs at least 2 sites");
  const char *bad[] = {"training=[{name: dp, sites: [east, mars, east], compute_s: 1}]"};
  assert_int_equal(cpn_scenario_load(&sc, TINY, bad, 1), CPN_EINVAL);
  assert_contains(cpn_error_message(), "training[0].sites[1]: no site named 'mars'");
  assert_contains(cpn_error_message(), "training[0].sites[2]: 'east' is listed twice");
  assert_contains(cpn_error_message(), "training[0]: missing required key 'grad_bytes'");
}

/* run.fluid_share: window by default; concurrent is refused in flow mode, where it would do nothing. */
static void fluid_share_concurrent_only_in_fluid_mode(void **state)
{
  cpn_scenario_t sc;
  assert_int_equal(cpn_scenario_load(&sc, TINY, NULL, 0), CPN_OK);
  assert_int_equal(sc.run.fluid_share, 0);
  cpn_scenario_destroy(&sc);
  const char *ok[] = {"run.fluid_share=concurrent"};
  assert_int_equal(cpn_scenario_load(&sc, TINY, ok, 1), CPN_OK);
  assert_int_equal(sc.run.fluid_share, 1);
  cpn_scenario_destroy(&sc);
  const char *bad[] = {"run.fluid_share=concurrent", "run.network_mode=flow"};
  assert_int_equal(cpn_scenario_load(&sc, TINY, bad, 2), CPN_EINVAL);
  assert_contains(cpn_error_message(), "run.fluid_share: 'concurrent' has no effect with network_mode: flow");
}

static void generated_sites_from_template(void **state)
{
  const char *p = write_file("gen.yaml", GEN_HEAD
                             "  site_template:\n"
                             "    pue: 1.17\n"
                             "    country: sg\n"
                             "    pools: [{name: p, accel: h20, count: 2}]\n"
                             "    replicas: [{model: m8, count: 1, max_batch: 32}]\n");
  cpn_scenario_t sc;
  cpn_err_t rc = cpn_scenario_load(&sc, p, NULL, 0);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  cpn_node_spec_t *gn;
  cpn_link_spec_t *gl;
  int nn, nl;
  assert_int_equal(cpn_topology_generate("waxman", 30, 2385, &gn, &nn, &gl, &nl), CPN_OK);
  assert_int_equal(sc.n_sites, 30);
  assert_int_equal(sc.n_nodes, 0);
  assert_int_equal(sc.n_links, nl);
  assert_int_equal(sc.n_origins, 30);
  for (int i = 0; i < 30; i++) {
    const cpn_site_spec_t *s = &sc.sites[i];
    assert_string_equal(s->name, gn[i].name);
    assert_close(s->lat_deg, gn[i].lat_deg, 0);
    assert_close(s->lon_deg, gn[i].lon_deg, 0);
    assert_string_equal(s->region, s->name);
    assert_string_equal(s->country, "SG"); /* the template's */
    assert_close(s->pue, 1.17, 0);
    assert_int_equal(s->n_pools, 1);
    assert_int_equal(s->pools[0].count, 2);
    assert_int_equal(s->n_replicas, 1);
    assert_int_equal(s->replicas[0].max_batch, 32);
    assert_string_equal(sc.origins[i].name, s->name);
    assert_string_equal(sc.origins[i].node, s->name);
    assert_close(sc.origins[i].rate_rps, 0.125, 0);
    assert_string_equal(sc.origins[i].country, "SG");
  }
  for (int i = 0; i < nl; i++) {
    assert_string_equal(sc.links[i].a, gl[i].a);
    assert_close(sc.links[i].latency_s, gl[i].latency_s * CPN_ROUTE_FACTOR_DEFAULT, 0); /* the generator's is geodesic */
    assert_close(sc.links[i].bw_bps, 2.5e10, 0);
  }
  free(gn);
  free(gl);
  cpn_scenario_destroy(&sc);
  roundtrip_one(p, NULL, 0, "gen-printed.yaml");
  /* --set reaches the section (and the template) before it is expanded. */
  const char *sets[] = {"topology.n=12", "topology.site_template.pools.p.count=4", "topology.generate=barabasi"};
  assert_int_equal(cpn_scenario_load(&sc, p, sets, 3), CPN_OK);
  assert_int_equal(sc.n_sites, 12);
  assert_int_equal(sc.sites[11].pools[0].count, 4);
  cpn_scenario_destroy(&sc);

  /* A template problem is reported once, at the template; so is one that shows only in the sites. */
  p = write_file("gen-bad.yaml", GEN_HEAD
                 "  site_template:\n"                                 /* 9 */
                 "    name: x\n"                                      /* 10 */
                 "    pools: [{name: p, accel: h20, count: 0}]\n");   /* 11 */
  assert_int_equal(cpn_scenario_load(&sc, p, NULL, 0), CPN_EINVAL);
  const char *msg = cpn_error_message();
  assert_int_equal(count_lines(msg), 2);
  assert_contains(msg, ":10:5: topology.site_template.name: unknown key 'name'");
  assert_contains(msg, ":11:42: topology.site_template.pools[0].count: must be >= 1 (got 0)");
  p = write_file("gen-bad2.yaml", GEN_HEAD
                 "  site_template: {pools: [{accel: h20, count: 1}], replicas: [{model: m9}]}\n");
  assert_int_equal(cpn_scenario_load(&sc, p, NULL, 0), CPN_EINVAL);
  msg = cpn_error_message();
  assert_int_equal(count_lines(msg), 1);
  assert_contains(msg, ":9:71: sites[0].replicas[0].model: no model named 'm9' in 'models'; did you mean 'm8'? "
                       "(and for 29 more items made from the same text)");

  /* The section's own rules. */
  p = write_file("gen-rules.yaml", "models: [{name: m8, catalog: llama-3.1-8b}]\n"
                 "sites: [{name: s, pools: [{accel: h20, count: 1}]}]\n"
                 "origins: [{name: o, node: s, rate_rps: 1}]\n"
                 "topology:\n"                                          /* 4 */
                 "  graphml: nowhere.graphml\n"                         /* 5 */
                 "  n: 10\n"                                            /* 6 */
                 "  site_template: {}\n"                                /* 7 */
                 "  sites: some\n");                                    /* 8 */
  assert_int_equal(cpn_scenario_load(&sc, p, NULL, 0), CPN_EINVAL);
  msg = cpn_error_message();
  assert_int_equal(count_lines(msg), 3);
  assert_contains(msg, ":6:3: topology.n: 'n' is only used by generate");
  assert_contains(msg, ":7:3: topology.site_template: 'site_template' is only used with sites: all");
  assert_contains(msg, ":8:10: topology.sites: must be one of none, all (got 'some')");
  const char *two[] = {"topology.sites=none", "topology.site_template=~", "topology.generate=waxman"};
  assert_int_equal(cpn_scenario_load(&sc, p, two, 3), CPN_EINVAL);
  assert_contains(cpn_error_message(), ":5:3: topology: give only one of graphml, simgrid_xml and generate (got 2");
  const char *one[] = {"topology.n=~", "topology.site_template=~", "topology.sites=none"};
  assert_int_equal(cpn_scenario_load(&sc, p, one, 3), CPN_EIO);
  assert_contains(cpn_error_message(), ":5:12: topology.graphml: cannot read the GraphML file '");
  const char *gen[] = {"topology.graphml=~", "topology.generate=waxman", "topology.n=~", "topology.site_template=~",
                       "topology.sites=none"};
  assert_int_equal(cpn_scenario_load(&sc, p, gen, 5), CPN_EINVAL);
  assert_contains(cpn_error_message(), ":5:3: topology: missing required key 'n' (generate makes n nodes)");
  /* Made names collide with written ones: reported at the topology key. */
  const char *clash[] = {"topology.graphml=~", "topology.generate=waxman", "topology.n=3", "topology.site_template=~",
                         "topology.sites=none", "sites.s.name=n1"};
  assert_int_equal(cpn_scenario_load(&sc, p, clash, 6), CPN_EINVAL);
  assert_contains(cpn_error_message(), "--set:2:19: nodes[1].name: name 'n1' is already used by site 0");
}

static void simgrid_platform_import(void **state)
{
  const char *xml = write_file("platform.xml",
      "<?xml version='1.0'?>\n"
      "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
      "<platform version=\"4.1\">\n"
      "  <!-- a <comment> with tags -->\n"
      "  <zone id=\"z\" routing=\"Full\">\n"
      "    <host id=\"a&amp;b\" speed=\"1Gf\"><prop id=\"x\" value=\"y\"/></host>\n"
      "    <host id='hub' speed='1Gf'/>\n"
      "    <router id=\"r\"/>\n"
      "    <link id=\"l1\" bandwidth=\"1.25GBps\" latency=\"2.385ms\"/>\n"
      "    <link id=\"l2\" bandwidth=\"10Gbps\" latency=\"50us\" sharing_policy=\"SPLITDUPLEX\"/>\n"
      "    <link id=\"l3\" bandwidth=\"1KiBps\"/>\n"
      "    <route src=\"a&amp;b\" dst=\"hub\"><link_ctn id=\"l1\"/></route>\n"
      "    <route src=\"hub\" dst=\"a&amp;b\" symmetrical=\"NO\"><link_ctn id=\"l1\"/></route>\n"
      "    <route src=\"hub\" dst=\"r\"><link_ctn id=\"l2\" direction=\"UP\"/></route>\n"
      "    <route src=\"r\" dst=\"a&amp;b\">\n      <link_ctn id=\"l3\"/>\n    </route>\n"
      "  </zone>\n"
      "</platform>\n");
  (void)xml;
  char p[600];
  snprintf(p, sizeof p, "%s", write_file("sg.yaml", "models: [{name: m8, catalog: llama-3.1-8b}]\n"
                             "topology: {simgrid_xml: platform.xml}\n"
                             "sites: [{name: s, pools: [{accel: h20, count: 1}]}]\n"
                             "links: [{a: s, b: hub, latency_s: 0.001, bw_bps: 1e9}]\n"
                             "origins: [{name: o, node: r, rate_rps: 1}]\n"));
  cpn_scenario_t sc;
  cpn_err_t rc = cpn_scenario_load(&sc, p, NULL, 0);
  if (rc != CPN_OK)
    print_error("%s\n", cpn_error_message());
  assert_int_equal(rc, CPN_OK);
  assert_int_equal(sc.n_nodes, 3);
  assert_string_equal(sc.nodes[0].name, "a&b");
  assert_string_equal(sc.nodes[1].name, "hub");
  assert_string_equal(sc.nodes[2].name, "r");
  assert_int_equal(sc.n_links, 4);
  assert_string_equal(sc.links[1].a, "a&b");
  assert_string_equal(sc.links[1].b, "hub");
  assert_close(sc.links[1].bw_bps, 1.25e9 * 8, 0);
  assert_close(sc.links[1].latency_s, 2.385e-3, 1e-18);
  assert_int_equal(sc.links[1].shared, 1); /* SimGrid's default policy */
  assert_close(sc.links[2].bw_bps, 1e10, 0);
  assert_close(sc.links[2].latency_s, 50e-6, 1e-18);
  assert_int_equal(sc.links[2].shared, 0);
  assert_close(sc.links[3].bw_bps, 1024 * 8, 0);
  assert_close(sc.links[3].latency_s, 0, 0);
  cpn_scenario_destroy(&sc);
  roundtrip_one(p, NULL, 0, "sg-printed.yaml");

  /* What cannot be mapped is an error at its line in the XML file. */
  xml = write_file("platform-bad.xml",
      "<platform version=\"4.1\">\n"                                                      /* 1 */
      "  <zone id=\"z\" routing=\"Full\">\n"                                              /* 2 */
      "    <host id=\"a\" speed=\"1Gf\"/><host id=\"b\" speed=\"1Gf\"/><host id=\"c\" speed=\"1Gf\"/>\n"
      "    <link id=\"l1\" bandwidth=\"1Gbps\"/>\n"                                       /* 4 */
      "    <link id=\"l2\" bandwidth=\"fast\"/>\n"                                        /* 5 */
      "    <link id=\"l3\" bandwidth=\"1Gbps\" sharing_policy=\"FATPIPE\"/>\n"            /* 6 */
      "    <route src=\"a\" dst=\"b\"><link_ctn id=\"l1\"/><link_ctn id=\"l1\"/></route>\n" /* 7 */
      "    <cluster id=\"cl\"/>\n"                                                        /* 8 */
      "  </zone>\n"
      "</platform>\n");
  const char *set[] = {"topology.simgrid_xml=", NULL};
  char buf[700];
  snprintf(buf, sizeof buf, "topology.simgrid_xml=%s", xml);
  set[0] = buf;
  assert_int_equal(cpn_scenario_load(&sc, p, set, 1), CPN_EINVAL);
  const char *msg = cpn_error_message();
  char expect[900];
  snprintf(expect, sizeof expect, "%s:5:5: topology.simgrid_xml: <link> bandwidth 'fast' is not a number of at least 1 bps",
           xml);
  assert_contains(msg, expect);
  assert_contains(msg, ":6:5: topology.simgrid_xml: <link> sharing_policy 'FATPIPE' cannot be mapped");
  assert_contains(msg, ":7:5: topology.simgrid_xml: route a -> b lists 2 links: only routes of exactly one link");
  assert_contains(msg, ":8:5: topology.simgrid_xml: element <cluster> cannot be mapped");
  /* A link that joins different pairs, and a link that no route places. */
  xml = write_file("platform-bad2.xml",
      "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">\n"
      "<host id=\"a\" speed=\"1Gf\"/><host id=\"b\" speed=\"1Gf\"/><host id=\"c\" speed=\"1Gf\"/>\n"
      "<link id=\"l1\" bandwidth=\"1Gbps\"/><link id=\"l2\" bandwidth=\"1Gbps\"/>\n"
      "<route src=\"a\" dst=\"b\"><link_ctn id=\"l1\"/></route>\n"
      "<route src=\"a\" dst=\"c\"><link_ctn id=\"l1\"/></route>\n"
      "</zone></platform>\n");
  snprintf(buf, sizeof buf, "topology.simgrid_xml=%s", xml);
  assert_int_equal(cpn_scenario_load(&sc, p, set, 1), CPN_EINVAL);
  assert_contains(cpn_error_message(), ":5:1: topology.simgrid_xml: link 'l1' is on routes between different hosts "
                                       "(a - b at line 4, a - c here)");
  xml = write_file("platform-bad3.xml",
      "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">\n"
      "<host id=\"a\" speed=\"1Gf\"/><host id=\"b\" speed=\"1Gf\"/>\n"
      "<link id=\"l1\" bandwidth=\"1Gbps\"/><link id=\"l2\" bandwidth=\"1Gbps\" latency=\"3 parsecs\"/>\n"
      "<route src=\"a\" dst=\"b\"><link_ctn id=\"l1\"/></route>\n"
      "</zone></platform>\n");
  snprintf(buf, sizeof buf, "topology.simgrid_xml=%s", xml);
  assert_int_equal(cpn_scenario_load(&sc, p, set, 1), CPN_EINVAL);
  assert_contains(cpn_error_message(), ":3:34: topology.simgrid_xml: <link> latency '3 parsecs' is not a number");
  xml = write_file("platform-bad4.xml",
      "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">\n"
      "<host id=\"a\" speed=\"1Gf\"/><host id=\"b\" speed=\"1Gf\"/>\n"
      "<link id=\"l1\" bandwidth=\"1Gbps\"/><link id=\"l2\" bandwidth=\"1Gbps\"/>\n"
      "<route src=\"a\" dst=\"b\"><link_ctn id=\"l1\"/></route>\n"
      "</zone></platform>\n");
  snprintf(buf, sizeof buf, "topology.simgrid_xml=%s", xml);
  assert_int_equal(cpn_scenario_load(&sc, p, set, 1), CPN_EINVAL);
  assert_contains(cpn_error_message(), ":3:1: topology.simgrid_xml: link 'l2' is on no one-link route");
  xml = write_file("platform-bad5.xml", "<platform><zone id=\"z\"><host id=\"a\"/>\n</platform>\n");
  snprintf(buf, sizeof buf, "topology.simgrid_xml=%s", xml);
  assert_int_equal(cpn_scenario_load(&sc, p, set, 1), CPN_EINVAL);
  assert_contains(cpn_error_message(), ":2:1: topology.simgrid_xml: </platform> does not close <zone>");
}

static void known_keys_are_documented(void **state)
{
  size_t n = 0;
  const char *const *keys = cpn_scenario_known_keys(&n);
  assert_true(n > 80);
  assert_null(keys[n]);
  int seen_count = 0, seen_duration = 0, seen_dist = 0;
  for (size_t i = 0; i < n; i++) {
    seen_count |= strcmp(keys[i], "sites[].pools[].count") == 0;
    seen_duration |= strcmp(keys[i], "run.duration_s") == 0;
    seen_dist |= strcmp(keys[i], "classes[].output_tokens.dist") == 0;
  }
  assert_true(seen_count && seen_duration && seen_dist);

  FILE *f = fopen(CPN_SCENARIO_DIR "/README.md", "r");
  assert_non_null(f);
  static char doc[1 << 17];
  size_t len = fread(doc, 1, sizeof doc - 1, f);
  fclose(f);
  doc[len] = '\0';
  for (size_t i = 0; i < n; i++) {
    char quoted[160];
    snprintf(quoted, sizeof quoted, "`%s`", keys[i]);
    assert_contains(doc, quoted);
  }
  /* The other direction: every key path the reference's tables document (first column, a path with '.'
   * or '[]') is a key the loader reads, or a section holding such keys. */
  int documented = 0;
  for (char *line = doc; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, "| `", 3) != 0)
      continue;
    char key[160];
    const char *end = strchr(line + 3, '`');
    size_t len = end ? (size_t)(end - (line + 3)) : 0;
    if (!len || len >= sizeof key)
      continue;
    memcpy(key, line + 3, len);
    key[len] = '\0';
    if ((!strchr(key, '.') && !strchr(key, '[')) || strstr(key, ".yaml"))
      continue;
    documented++;
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
      found = strcmp(keys[i], key) == 0 ||
              (strncmp(keys[i], key, len) == 0 && (keys[i][len] == '.' || keys[i][len] == '['));
    if (!found)
      fail_msg("scenarios/README.md documents '%s', which the loader does not read", key);
  }
  assert_true(documented > 80);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(loads_tiny_with_defaults),
      cmocka_unit_test(defaults_fill_a_minimal_file),
      cmocka_unit_test(five_mistakes_give_five_messages),
      cmocka_unit_test(reports_names_references_and_capacity),
      cmocka_unit_test(yaml_syntax_error_has_location),
      cmocka_unit_test(unreadable_file_is_eio),
      cmocka_unit_test(extends_merges_and_overrides),
      cmocka_unit_test(set_overrides_value),
      cmocka_unit_test(set_unknown_path_fails),
      cmocka_unit_test(roundtrip_print_reload_equal),
      cmocka_unit_test(great_circle_default_latency),
      cmocka_unit_test(route_factor_scales_distance_latency),
      cmocka_unit_test(training_jobs_read_print_and_refuse),
      cmocka_unit_test(fluid_share_concurrent_only_in_fluid_mode),
      cmocka_unit_test(life_cycle_view_and_param_fields),
      cmocka_unit_test(trace_block_resolves_and_checks),
      cmocka_unit_test(chinanet_scenario_routes),
      cmocka_unit_test(generated_sites_from_template),
      cmocka_unit_test(simgrid_platform_import),
      cmocka_unit_test(known_keys_are_documented),
  };
  return cmocka_run_group_tests(tests, make_tmp_dir, remove_tmp_dir);
}
