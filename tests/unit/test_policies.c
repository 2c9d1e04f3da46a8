/* test_policies: each built-in policy's choice on hand-made views, including ties, rejections and the
 * registry's error paths. No SimGrid: policies only read the view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gsl/gsl_rng.h>
#include <string.h>

#include "placement/policy.h"

enum { NS = 4, NM = 2, NO = 2 };

typedef struct {
  cpn_site_view_t sites[NS];
  cpn_model_view_t models[NS * NM];
  double lat[NO * NS], bw[NO * NS];
  cpn_view_t view;
  gsl_rng *rng;
} fixture_t;

static double u01(void *rng) { return gsl_rng_uniform(rng); }

/* Four sites; model 1 is served everywhere with loads 900, 300, 300, 1200 tokens per replica (site 2 has
 * two replicas and 600 tokens); origin 0 is closest to site 3 (2.385 ms), then site 1 and 2 tie. */
static int setup(void **state)
{
  static fixture_t f;
  memset(&f, 0, sizeof f);
  static const char *names[NS] = {"a", "b", "c", "d"};
  for (int s = 0; s < NS; s++) {
    f.sites[s] = (cpn_site_view_t){.name = names[s], .region = names[s], .country = "CN", .up = 1};
    f.models[s * NM + 1] = (cpn_model_view_t){.replicas = 1};
  }
  f.models[0 * NM + 1].queued_tokens = 900;
  f.models[1 * NM + 1].queued_tokens = 300;
  f.models[2 * NM + 1] = (cpn_model_view_t){.replicas = 2, .queued_tokens = 600};
  f.models[3 * NM + 1].queued_tokens = 1200;
  double lat0[NS] = {0.0301, 0.0117, 0.0117, 0.002385};
  double lat1[NS] = {0.004, 0.02, 0.03, 0.05};
  for (int s = 0; s < NS; s++) {
    f.lat[s] = lat0[s];
    f.lat[NS + s] = lat1[s];
    f.bw[s] = f.bw[NS + s] = 1e11;
  }
  f.rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(f.rng, 7);
  f.view = (cpn_view_t){.n_sites = NS, .sites = f.sites, .n_models = NM, .models = f.models, .n_origins = NO,
                        .route_latency_s = f.lat, .route_bw_bps = f.bw, .uniform01 = u01, .rng = f.rng};
  *state = &f;
  return 0;
}

static int teardown(void **state)
{
  fixture_t *f = *state;
  gsl_rng_free(f->rng);
  return 0;
}

static const cpn_policy_type_t *find(const char *name, cpn_policy_registry_t **reg)
{
  assert_int_equal(cpn_policy_registry_new(reg), CPN_OK);
  const cpn_policy_type_t *t = cpn_policy_registry_find(*reg, name);
  assert_non_null(t);
  return t;
}

static int decide(const char *name, fixture_t *f, int origin, const int *el, int n_el)
{
  cpn_policy_registry_t *reg;
  const cpn_policy_type_t *t = find(name, &reg);
  char state[256] = {0};
  assert_true(t->state_size <= sizeof state);
  if (t->init)
    assert_int_equal(t->init(state, NULL, &f->view), 0);
  cpn_request_view_t req = {.origin = origin, .model = 1, .prompt_tokens = 100, .output_tokens = 10,
                            .n_eligible = n_el, .eligible = el};
  cpn_decision_t d = {.site = -2, .replica = -2};
  t->decide(state, &f->view, &req, &d);
  cpn_policy_registry_free(reg);
  return d.site;
}

static const int all[NS] = {0, 1, 2, 3};

static void nearest_picks_lowest_latency(void **state)
{
  fixture_t *f = *state;
  assert_int_equal(decide("nearest", f, 0, all, NS), 3);
  assert_int_equal(decide("nearest", f, 1, all, NS), 0);
}

static void nearest_breaks_latency_tie_by_load(void **state)
{
  fixture_t *f = *state;
  /* Sites 1 and 2 are both 11.7 ms away; site 2 has 300 tokens per replica (600 / 2), site 1 has 300:
   * equal loads, so the lower index wins. Make site 1 busier: site 2 must win. */
  static const int el[2] = {1, 2};
  assert_int_equal(decide("nearest", f, 0, el, 2), 1);
  f->models[1 * NM + 1].queued_tokens = 301;
  assert_int_equal(decide("nearest", f, 0, el, 2), 2);
}

static void least_loaded_picks_fewest_tokens_per_replica(void **state)
{
  fixture_t *f = *state;
  f->models[1 * NM + 1].queued_tokens = 450; /* site 1: 450 > site 2: 300 per replica */
  assert_int_equal(decide("least-loaded", f, 0, all, NS), 2);
}

static void least_loaded_breaks_tie_by_latency(void **state)
{
  fixture_t *f = *state;
  /* Sites 1 and 2 both have 300 tokens per replica; from origin 1, site 1 is 20 ms, site 2 30 ms. */
  static const int el[2] = {1, 2};
  assert_int_equal(decide("least-loaded", f, 1, el, 2), 1);
}

static void round_robin_cycles_through_eligible(void **state)
{
  fixture_t *f = *state;
  cpn_policy_registry_t *reg;
  const cpn_policy_type_t *t = find("round-robin", &reg);
  char st[64] = {0};
  t->init(st, NULL, &f->view);
  static const int el[3] = {0, 2, 3};
  cpn_request_view_t req = {.model = 1, .n_eligible = 3, .eligible = el};
  int seq[7];
  for (int i = 0; i < 7; i++) {
    cpn_decision_t d = {0};
    t->decide(st, &f->view, &req, &d);
    seq[i] = d.site;
  }
  int want[7] = {0, 2, 3, 0, 2, 3, 0};
  assert_memory_equal(seq, want, sizeof want);
  cpn_policy_registry_free(reg);
}

static void random_covers_eligible_uniformly(void **state)
{
  fixture_t *f = *state;
  cpn_policy_registry_t *reg;
  const cpn_policy_type_t *t = find("random", &reg);
  static const int el[3] = {0, 1, 3};
  cpn_request_view_t req = {.model = 1, .n_eligible = 3, .eligible = el};
  int count[NS] = {0};
  for (int i = 0; i < 30000; i++) {
    cpn_decision_t d = {0};
    t->decide(NULL, &f->view, &req, &d);
    assert_true(d.site == 0 || d.site == 1 || d.site == 3);
    count[d.site]++;
  }
  assert_int_equal(count[2], 0);
  for (int i = 0; i < 3; i++) {
    assert_true(count[el[i]] > 9500);
    assert_true(count[el[i]] < 10500);
  }
  cpn_policy_registry_free(reg);
}

static void every_builtin_rejects_when_nothing_eligible(void **state)
{
  fixture_t *f = *state;
  static const char *names[] = {"random", "round-robin", "nearest", "least-loaded"};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(decide(names[i], f, 0, NULL, 0), -1);
}

static void unknown_policy_lists_known_ones(void **state)
{
  cpn_policy_registry_t *reg;
  assert_int_equal(cpn_policy_registry_new(&reg), CPN_OK);
  const cpn_policy_type_t *t = NULL;
  assert_int_equal(cpn_policy_resolve(reg, "nearset", &t), CPN_ENOTFOUND);
  assert_null(t);
  assert_non_null(strstr(cpn_error_message(), "nearest"));
  assert_int_equal(cpn_policy_resolve(reg, "./does-not-exist.so", &t), CPN_ENOTFOUND);
  assert_non_null(strstr(cpn_error_message(), "does-not-exist.so"));
  cpn_policy_registry_free(reg);
}

static void registry_refuses_other_abi_and_duplicates(void **state)
{
  cpn_policy_registry_t *reg;
  assert_int_equal(cpn_policy_registry_new(&reg), CPN_OK);
  const cpn_policy_type_t *nearest = cpn_policy_registry_find(reg, "nearest");
  cpn_policy_type_t old = *nearest;
  old.abi = CPN_POLICY_ABI + 1;
  old.name = "old-abi";
  assert_int_equal(cpn_policy_registry_add(reg, &old), -1);
  assert_null(cpn_policy_registry_find(reg, "old-abi"));
  assert_int_equal(cpn_policy_registry_add(reg, nearest), -1);
  cpn_policy_registry_free(reg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(nearest_picks_lowest_latency, setup, teardown),
    cmocka_unit_test_setup_teardown(nearest_breaks_latency_tie_by_load, setup, teardown),
    cmocka_unit_test_setup_teardown(least_loaded_picks_fewest_tokens_per_replica, setup, teardown),
    cmocka_unit_test_setup_teardown(least_loaded_breaks_tie_by_latency, setup, teardown),
    cmocka_unit_test_setup_teardown(round_robin_cycles_through_eligible, setup, teardown),
    cmocka_unit_test_setup_teardown(random_covers_eligible_uniformly, setup, teardown),
    cmocka_unit_test_setup_teardown(every_builtin_rejects_when_nothing_eligible, setup, teardown),
    cmocka_unit_test(unknown_policy_lists_known_ones),
    cmocka_unit_test(registry_refuses_other_abi_and_duplicates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
