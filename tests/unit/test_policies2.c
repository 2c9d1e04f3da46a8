/* test_policies2: the second set of built-in policies (policy_estimated.c: power-of-two, jsq-latency,
 * cost, carbon, east-west, weighted) on a hand-made view: each one's choice, its tie-breaks, its
 * no-eligible rejection, and the parameters it reads or refuses. No SimGrid: policies only read the view.
 *
 * Expected values are worked out by hand in the comments from the formulas at the head of
 * policy_estimated.c (batch = 16 unless a test sets it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gsl/gsl_rng.h>
#include <math.h>
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

/* cmocka 1.1 compares floats only: equality of doubles within a relative 1e-12 (exact for 0). */
#define assert_close(a, b) assert_true(fabs((double)(a) - (double)(b)) <= 1e-12 * fabs((double)(b)))

/* A scripted random stream: returns seq[0], seq[1], ... and counts the draws. */
typedef struct {
  const double *seq;
  int n, next;
} script_t;

static double scripted(void *p)
{
  script_t *s = p;
  assert_true(s->next < s->n);
  return s->seq[s->next++];
}

/* Four sites serving model 1:
 *
 *   site  region                pue   $/kWh  gCO2/kWh  rep  queued  load/rep  prefill s/ktok  step s  J/tok  $/h
 *   0 sh  yangtze-delta         1.25  0.09   561.7     1    900     900       0.05            0.008   5.6    2.5
 *   1 gz  guizhou (west)        1.2   0.05   226.8     1    300     300       0.12            0.012   4.8    1.2
 *   2 nm  inner-mongolia (west) 1.15  0.04   650       2    600     300       0.12            0.012   4.8    1.2
 *   3 bj  beijing-tianjin-hebei 1.3   0.11   500       1    1200    1200      0.05            0.008   5.6    2.5
 *
 * One-way latency from origin 0 (Shanghai): 2.385, 11.7, 30.1, 11.7 ms (sites 1 and 3 tie); from origin
 * 1: 30, 20, 4, 50 ms.
 *
 * Derived (batch 16): usd_tok = 5.2222e-7, 3.3000e-7, 3.1133e-7, 5.6967e-7 (site 2 cheapest);
 * co2_tok [g] = 1.09218e-3, 3.6288e-4, 9.9667e-4, 1.01111e-3 (site 1 cleanest).
 * ttft for a 2000-token prompt from origin 0 = 0.552385, 0.4767, 0.4951, 0.7117 s; from origin 1 =
 * 0.58, 0.485, 0.469, 0.75 s. */
static int setup(void **state)
{
  static fixture_t f;
  memset(&f, 0, sizeof f);
  static const char *names[NS] = {"sh", "gz", "nm", "bj"};
  static const char *regions[NS] = {"yangtze-delta", "guizhou", "inner-mongolia", "beijing-tianjin-hebei"};
  const double pue[NS] = {1.25, 1.2, 1.15, 1.3}, price[NS] = {0.09, 0.05, 0.04, 0.11},
               co2[NS] = {561.7, 226.8, 650, 500};
  const int rep[NS] = {1, 1, 2, 1};
  const double queued[NS] = {900, 300, 600, 1200}, prefill[NS] = {0.05, 0.12, 0.12, 0.05},
               step[NS] = {0.008, 0.012, 0.012, 0.008}, j_tok[NS] = {5.6, 4.8, 4.8, 5.6},
               usd_h[NS] = {2.5, 1.2, 1.2, 2.5};
  for (int s = 0; s < NS; s++) {
    f.sites[s] = (cpn_site_view_t){.name = names[s], .region = regions[s], .country = "CN", .up = 1, .pue = pue[s],
                                   .price_usd_per_kwh = price[s], .co2_g_per_kwh = co2[s], .total_accels = 8};
    f.models[s * NM + 1] = (cpn_model_view_t){.replicas = rep[s], .queued_tokens = queued[s],
                                              .prefill_s_per_ktok = prefill[s], .decode_step_s = step[s],
                                              .energy_j_per_token = j_tok[s], .usd_per_hour = usd_h[s]};
  }
  const double lat0[NS] = {0.002385, 0.0117, 0.0301, 0.0117}, lat1[NS] = {0.03, 0.02, 0.004, 0.05};
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

static const int all[NS] = {0, 1, 2, 3};

static cpn_request_view_t request(int origin, const char *cls, unsigned prompt, double slo, const int *el, int n_el)
{
  return (cpn_request_view_t){.origin = origin, .model = 1, .class_name = cls, .prompt_tokens = prompt,
                              .output_tokens = 187, .ttft_slo_s = slo, .tpot_slo_s = 0.1, .n_eligible = n_el,
                              .eligible = el};
}

/* Finds `name`, runs its init with `params` (returning init's result in *init_rc) and, when init accepts,
 * one decision. */
static cpn_decision_t run_rc(const char *name, fixture_t *f, const cpn_policy_params_t *params,
                             const cpn_request_view_t *req, int *init_rc)
{
  cpn_policy_registry_t *reg;
  assert_int_equal(cpn_policy_registry_new(&reg), CPN_OK);
  const cpn_policy_type_t *t = cpn_policy_registry_find(reg, name);
  assert_non_null(t);
  assert_int_equal(t->abi, CPN_POLICY_ABI);
  _Alignas(max_align_t) unsigned char st[256] = {0};
  assert_true(t->state_size <= sizeof st);
  *init_rc = t->init ? t->init(st, params, &f->view) : 0;
  cpn_decision_t d = {.site = -2, .replica = -2, .score = -1};
  if (*init_rc == 0)
    t->decide(st, &f->view, req, &d);
  cpn_policy_registry_free(reg);
  return d;
}

static cpn_decision_t run(const char *name, fixture_t *f, const cpn_policy_params_t *params,
                          const cpn_request_view_t *req)
{
  int rc;
  cpn_decision_t d = run_rc(name, f, params, req, &rc);
  assert_int_equal(rc, 0);
  return d;
}

static int pick(const char *name, fixture_t *f, const cpn_request_view_t *req)
{
  return run(name, f, NULL, req).site;
}

/* Parameters from parallel key and value lists. */
static cpn_policy_params_t params_of(int n, const char *const *keys, const double *values)
{
  return (cpn_policy_params_t){.n = n, .keys = keys, .values = values};
}

/* ---- registry ---- */

static void all_new_policies_are_registered(void **state)
{
  cpn_policy_registry_t *reg;
  assert_int_equal(cpn_policy_registry_new(&reg), CPN_OK);
  static const char *names[] = {"power-of-two", "jsq-latency", "cost", "carbon", "east-west", "weighted",
                                "random", "round-robin", "nearest", "least-loaded", "prefix-aware"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    assert_non_null(cpn_policy_registry_find(reg, names[i]));
  assert_int_equal(cpn_policy_registry_count(reg), 11);
  cpn_policy_registry_free(reg);
}

static void every_new_policy_rejects_when_nothing_eligible(void **state)
{
  fixture_t *f = *state;
  static const char *names[] = {"power-of-two", "jsq-latency", "cost", "carbon", "east-west", "weighted"};
  static const char *classes[] = {"interactive", "batch"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    for (int c = 0; c < 2; c++) {
      cpn_request_view_t r = request(0, classes[c], 2000, 2.0, NULL, 0);
      assert_int_equal(pick(names[i], f, &r), -1);
    }
}

/* ---- power-of-two ---- */

static void power_of_two_takes_lower_load_of_the_two_drawn(void **state)
{
  fixture_t *f = *state;
  /* Draw 0.1 -> candidate 0 (site 0, 900); draw 0.9 -> 2 of the 3 others -> candidate 3 (site 3, 1200).
   * Site 0 wins although sites 1 and 2 are less loaded: only the two drawn compete. */
  const double seq[2] = {0.1, 0.9};
  script_t sc = {seq, 2, 0};
  f->view.uniform01 = scripted;
  f->view.rng = &sc;
  cpn_request_view_t r = request(0, "interactive", 2000, 2.0, all, NS);
  cpn_decision_t d = run("power-of-two", f, NULL, &r);
  assert_int_equal(d.site, 0);
  assert_close(d.score, 900);
  assert_int_equal(sc.next, 2);
}

static void power_of_two_breaks_load_tie_by_latency_then_index(void **state)
{
  fixture_t *f = *state;
  /* Draws 0.3, 0.4 -> candidates 1 and 2 (sites 1 and 2, both 300 tokens per replica). */
  const double seq[2] = {0.3, 0.4};
  script_t sc = {seq, 2, 0};
  f->view.uniform01 = scripted;
  f->view.rng = &sc;
  cpn_request_view_t r0 = request(0, "interactive", 2000, 2.0, all, NS);
  assert_int_equal(pick("power-of-two", f, &r0), 1); /* 11.7 ms < 30.1 ms */
  sc.next = 0;
  cpn_request_view_t r1 = request(1, "interactive", 2000, 2.0, all, NS);
  assert_int_equal(pick("power-of-two", f, &r1), 2); /* 4 ms < 20 ms */
  sc.next = 0;
  f->lat[NS + 2] = f->lat[NS + 1];
  assert_int_equal(pick("power-of-two", f, &r1), 1); /* load and latency tie: lower index */
}

static void power_of_two_single_candidate_needs_no_draw(void **state)
{
  fixture_t *f = *state;
  script_t sc = {NULL, 0, 0};
  f->view.uniform01 = scripted;
  f->view.rng = &sc;
  static const int el[1] = {3};
  cpn_request_view_t r = request(0, "interactive", 2000, 2.0, el, 1);
  assert_int_equal(pick("power-of-two", f, &r), 3);
  assert_int_equal(sc.next, 0);
}

static void power_of_two_draws_two_distinct_sites(void **state)
{
  fixture_t *f = *state;
  /* With two candidates, distinct draws always compare both, so the more loaded site 3 never wins; a
   * policy that could draw the same site twice would pick it about a quarter of the time. */
  static const int el[2] = {0, 3};
  cpn_request_view_t r = request(0, "interactive", 2000, 2.0, el, 2);
  for (int i = 0; i < 5000; i++)
    assert_int_equal(pick("power-of-two", f, &r), 0);
  /* Over all four, the most loaded site (3) never wins and the two lightest win most often. */
  int count[NS] = {0};
  cpn_request_view_t r4 = request(0, "interactive", 2000, 2.0, all, NS);
  for (int i = 0; i < 12000; i++)
    count[pick("power-of-two", f, &r4)]++;
  assert_int_equal(count[3], 0);
  assert_true(count[1] > count[0] && count[2] > count[0]);
}

/* ---- jsq-latency ---- */

static void jsq_latency_picks_lowest_predicted_ttft(void **state)
{
  fixture_t *f = *state;
  /* 2000-token prompt from origin 0: ttft = 0.552385, 0.4767, 0.4951, 0.7117 s -> site 1. */
  cpn_request_view_t r = request(0, "interactive", 2000, 2.0, all, NS);
  cpn_decision_t d = run("jsq-latency", f, NULL, &r);
  assert_int_equal(d.site, 1);
  assert_close(d.score, 0.0117 + 300 * 0.012 / 16 + 2.0 * 0.12);
  /* A 20000-token prompt makes the prefill term dominate: site 0 (0.05 s/ktok) beats the H20 sites:
   * 0.002385 + 0.45 + 1.0 = 1.452385 s < site 1: 0.0117 + 0.225 + 2.4 = 2.6367 s. */
  r.prompt_tokens = 20000;
  assert_int_equal(pick("jsq-latency", f, &r), 0);
}

/* prefix-aware: ttft(s) less cached(s) / 1000 x prefill_s_per_ktok. 1000 cached tokens at sh save 0.05 s:
 * 0.502385 s, still above gz's 0.4767 s (its queue costs more than the prefill it saves); 1999 save
 * 0.09995 s: 0.452435 s, sh wins. The same saving at bj (0.61175 s) does not beat gz. Without hashes
 * (cached_tokens NULL) it is jsq-latency. */
static void prefix_aware_trades_cached_prefill_against_queue(void **state)
{
  fixture_t *f = *state;
  cpn_request_view_t r = request(0, "interactive", 2000, 0, all, NS);
  assert_int_equal(pick("prefix-aware", f, &r), 1);
  double some[NS] = {1000, 0, 0, 0}, most[NS] = {1999, 0, 0, 0}, far[NS] = {0, 0, 0, 1999};
  r.cached_tokens = some;
  assert_int_equal(pick("prefix-aware", f, &r), 1);
  r.cached_tokens = most;
  cpn_decision_t d = run("prefix-aware", f, NULL, &r);
  assert_int_equal(d.site, 0);
  assert_close(d.score, 0.552385 - 1.999 * 0.05);
  r.cached_tokens = far;
  assert_int_equal(pick("prefix-aware", f, &r), 1);
}

static void jsq_latency_batch_parameter_scales_queue_wait(void **state)
{
  fixture_t *f = *state;
  /* 8000-token prompt from origin 0. batch 16: site 0 = 0.002385 + 0.45 + 0.4 = 0.852385 s beats site 1 =
   * 0.0117 + 0.225 + 0.96 = 1.1967 s. batch 2 (queue eight times slower): site 0 = 4.002385 s, site 1 =
   * 2.7717 s, site 2 = 2.7901 s -> site 1. */
  cpn_request_view_t r = request(0, "interactive", 8000, 2.0, all, NS);
  assert_int_equal(pick("jsq-latency", f, &r), 0);
  const char *const keys[1] = {"batch"};
  const double two[1] = {2};
  cpn_policy_params_t p = params_of(1, keys, two);
  cpn_decision_t d = run("jsq-latency", f, &p, &r);
  assert_int_equal(d.site, 1);
  assert_close(d.score, 0.0117 + 300 * 0.012 / 2 + 8.0 * 0.12);
  const double bad[2] = {0, -3};
  for (int i = 0; i < 2; i++) {
    int rc;
    p = params_of(1, keys, &bad[i]);
    run_rc("jsq-latency", f, &p, &r, &rc);
    assert_int_not_equal(rc, 0);
  }
}

static void jsq_latency_breaks_ttft_tie_by_latency_then_index(void **state)
{
  fixture_t *f = *state;
  /* Exact binary values: site 0 = 0.25 s away, empty; site 3 = 0.125 s away with 16 tokens queued at a
   * 0.125 s step (16 * 0.125 / 16 = 0.125 s wait). Both predict 0.25 s; site 3 is nearer. */
  f->lat[0] = 0.25;
  f->lat[3] = 0.125;
  f->models[0 * NM + 1].queued_tokens = 0;
  f->models[3 * NM + 1].queued_tokens = 16;
  f->models[3 * NM + 1].decode_step_s = 0.125;
  static const int el[2] = {0, 3};
  cpn_request_view_t r = request(0, "interactive", 0, 2.0, el, 2);
  assert_int_equal(pick("jsq-latency", f, &r), 3);
  /* Same ttft and latency: the lower index. */
  f->lat[0] = 0.125;
  f->models[0 * NM + 1] = f->models[3 * NM + 1];
  assert_int_equal(pick("jsq-latency", f, &r), 0);
}

/* ---- cost ---- */

static void cost_picks_cheapest_token(void **state)
{
  fixture_t *f = *state;
  /* Generous SLO: everyone meets it; site 2 (3.1133e-7 $/token) is the cheapest. */
  cpn_request_view_t r = request(0, "batch", 2000, 60.0, all, NS);
  cpn_decision_t d = run("cost", f, NULL, &r);
  assert_int_equal(d.site, 2);
  assert_close(d.score, 4.8 * 1.15 * 0.04 / 3.6e6 + 1.2 / 3600 * 0.012 / 16);
  /* An SLO of <= 0 means none: still site 2. */
  r.ttft_slo_s = 0;
  assert_int_equal(pick("cost", f, &r), 2);
}

static void cost_skips_site_that_misses_slo(void **state)
{
  fixture_t *f = *state;
  /* SLO 0.49 s: site 2 (0.4951 s) misses; of those that meet it (only site 1, 0.4767 s) site 1. */
  cpn_request_view_t r = request(0, "interactive", 2000, 0.49, all, NS);
  assert_int_equal(pick("cost", f, &r), 1);
  /* Site 3 made cheaper than site 0 (price 0.01: 3.6694e-7 < 5.2222e-7). Between sites 0 and 3, an SLO
   * of 1 s lets site 3 (0.7117 s) win; an SLO of 0.1 s that nobody meets falls back to the lowest
   * ttft, site 0 (0.552385 s), and reports its cost. */
  f->sites[3].price_usd_per_kwh = 0.01;
  static const int el[2] = {0, 3};
  r = request(0, "interactive", 2000, 1.0, el, 2);
  assert_int_equal(pick("cost", f, &r), 3);
  r.ttft_slo_s = 0.1;
  cpn_decision_t d = run("cost", f, NULL, &r);
  assert_int_equal(d.site, 0);
  assert_close(d.score, 5.6 * 1.25 * 0.09 / 3.6e6 + 2.5 / 3600 * 0.008 / 16);
}

static void cost_breaks_tie_by_ttft_then_index(void **state)
{
  fixture_t *f = *state;
  /* Site 1 becomes a copy of site 2 (same cost); from origin 0 site 1 is faster (11.7 vs 30.1 ms), from
   * origin 1 site 2 is (4 vs 20 ms). */
  f->sites[1].pue = f->sites[2].pue;
  f->sites[1].price_usd_per_kwh = f->sites[2].price_usd_per_kwh;
  f->models[1 * NM + 1] = f->models[2 * NM + 1];
  cpn_request_view_t r = request(0, "batch", 2000, 60.0, all, NS);
  assert_int_equal(pick("cost", f, &r), 1);
  r.origin = 1;
  assert_int_equal(pick("cost", f, &r), 2);
  f->lat[NS + 1] = f->lat[NS + 2]; /* cost and ttft tie: lower index */
  assert_int_equal(pick("cost", f, &r), 1);
}

/* ---- carbon ---- */

static void carbon_picks_lowest_co2_per_token(void **state)
{
  fixture_t *f = *state;
  cpn_request_view_t r = request(0, "batch", 2000, 60.0, all, NS);
  cpn_decision_t d = run("carbon", f, NULL, &r);
  assert_int_equal(d.site, 1);
  assert_close(d.score, 4.8 * 1.2 * 226.8 / 3.6e6);
}

static void carbon_skips_site_that_misses_slo(void **state)
{
  fixture_t *f = *state;
  /* Site 1 (cleanest) is swamped: 3000 queued -> ttft 0.0117 + 2.25 + 0.24 = 2.5017 s > 2 s. Of sites 0
   * (0.552 s, 1.0922e-3 g) and 3 (0.7117 s, 1.0111e-3 g), site 3 is cleaner although slower. */
  f->models[1 * NM + 1].queued_tokens = 3000;
  static const int el[3] = {0, 1, 3};
  cpn_request_view_t r = request(0, "interactive", 2000, 2.0, el, 3);
  assert_int_equal(pick("carbon", f, &r), 3);
  /* Nobody meets 0.3 s: the lowest ttft, site 0. */
  r.ttft_slo_s = 0.3;
  assert_int_equal(pick("carbon", f, &r), 0);
  /* The fallback is the fastest, not the cleanest nor the first: from origin 1, sites 1 (back to 300
   * queued; 0.485 s, cleanest) and 2 (0.469 s) both miss 0.1 s -> site 2. */
  f->models[1 * NM + 1].queued_tokens = 300;
  static const int el12[2] = {1, 2};
  r = request(1, "interactive", 2000, 0.1, el12, 2);
  assert_int_equal(pick("carbon", f, &r), 2);
  r.ttft_slo_s = 0.6;
  assert_int_equal(pick("carbon", f, &r), 1);
}

static void carbon_breaks_tie_by_ttft_then_index(void **state)
{
  fixture_t *f = *state;
  /* Sites 0 and 3 with the same grid and hardware: site 0 is nearer from origin 0, so faster. */
  f->sites[3].pue = f->sites[0].pue;
  f->sites[3].co2_g_per_kwh = f->sites[0].co2_g_per_kwh;
  f->models[3 * NM + 1] = f->models[0 * NM + 1];
  static const int el[2] = {0, 3};
  cpn_request_view_t r = request(0, "batch", 2000, 60.0, el, 2);
  assert_int_equal(pick("carbon", f, &r), 0);
  f->lat[0] = 0.05; /* now site 3 (11.7 ms) is faster */
  assert_int_equal(pick("carbon", f, &r), 3);
  f->lat[0] = f->lat[3]; /* full tie: lower index */
  assert_int_equal(pick("carbon", f, &r), 0);
}

/* ---- east-west ---- */

static void east_west_sends_batch_west_and_interactive_nearest(void **state)
{
  fixture_t *f = *state;
  cpn_request_view_t b = request(0, "batch", 2000, 60.0, all, NS);
  cpn_decision_t d = run("east-west", f, NULL, &b);
  assert_int_equal(d.site, 1); /* west: guizhou and inner-mongolia tie at 300; guizhou is nearer */
  assert_close(d.score, 300);
  b.origin = 1;
  assert_int_equal(pick("east-west", f, &b), 2); /* from origin 1 inner-mongolia is nearer */
  cpn_request_view_t i = request(0, "interactive", 2000, 2.0, all, NS);
  d = run("east-west", f, NULL, &i);
  assert_int_equal(d.site, 0);
  assert_close(d.score, 0.002385);
  /* Nearest tie (sites 1 and 3, 11.7 ms): lower load, then lower index. */
  static const int el[2] = {1, 3};
  i = request(0, "interactive", 2000, 2.0, el, 2);
  assert_int_equal(pick("east-west", f, &i), 1);
  f->models[1 * NM + 1].queued_tokens = 1300;
  assert_int_equal(pick("east-west", f, &i), 3);
  f->models[1 * NM + 1].queued_tokens = 1200;
  assert_int_equal(pick("east-west", f, &i), 1);
}

static void east_west_spills_when_west_is_full(void **state)
{
  fixture_t *f = *state;
  cpn_request_view_t b = request(0, "batch", 2000, 60.0, all, NS);
  /* Guizhou over full_tokens (250000 > 200000): the other western site, though farther. */
  f->models[1 * NM + 1].queued_tokens = 250000;
  assert_int_equal(pick("east-west", f, &b), 2);
  /* Inner-Mongolia's KV cache full too (0.96 > 0.95): least-loaded of the rest; site 0 made busier
   * (1500) than site 3 (1200), so site 3 although site 0 is nearer. */
  f->sites[2].kv_used_frac = 0.96;
  f->models[0 * NM + 1].queued_tokens = 1500;
  assert_int_equal(pick("east-west", f, &b), 3);
  /* Only full western sites eligible: queue at the least loaded of them rather than reject. */
  static const int west[2] = {1, 2};
  b = request(0, "batch", 2000, 60.0, west, 2);
  assert_int_equal(pick("east-west", f, &b), 2);
}

static void east_west_reads_thresholds_and_west_prefix(void **state)
{
  fixture_t *f = *state;
  cpn_request_view_t b = request(0, "batch", 2000, 60.0, all, NS);
  /* full_tokens 299.5: both western sites (300 per replica) are full -> site 0 (900 < 1200). */
  const char *const keys[2] = {"full_tokens", "full_kv_frac"};
  const double v1[2] = {299.5, 0.95};
  cpn_policy_params_t p = params_of(2, keys, v1);
  assert_int_equal(run("east-west", f, &p, &b).site, 0);
  /* full_kv_frac 0.5 with inner-mongolia at 0.6: guizhou. */
  f->sites[1].kv_used_frac = 0.4;
  f->sites[2].kv_used_frac = 0.6;
  f->lat[1] = 0.05;
  const double v2[2] = {200000, 0.5};
  p = params_of(2, keys, v2);
  assert_int_equal(run("east-west", f, &p, &b).site, 1);
  /* A region named "west..." is western: with both hubs' KV caches full (0.99), site 3 (now
   * "west-lab", 1200 tokens) is chosen over the less loaded and nearer eastern site 0 (900). */
  f->sites[1].kv_used_frac = f->sites[2].kv_used_frac = 0.99;
  assert_int_equal(run("east-west", f, NULL, &b).site, 0);
  f->sites[3].region = "west-lab";
  assert_int_equal(run("east-west", f, NULL, &b).site, 3);
  const double bad[2] = {-1, 0.95};
  p = params_of(2, keys, bad);
  int rc;
  run_rc("east-west", f, &p, &b, &rc);
  assert_int_not_equal(rc, 0);
}

/* ---- weighted ---- */

static void weighted_defaults_balance_latency_and_load(void **state)
{
  fixture_t *f = *state;
  /* w = (1, 1, 0, 0), origin 0, max latency 30.1 ms, max load 1200:
   * site 0: 0.0792 + 0.75 = 0.8292; site 1: 0.3887 + 0.25 = 0.6387; site 2: 1 + 0.25; site 3: 0.3887 + 1. */
  cpn_request_view_t r = request(0, "interactive", 2000, 2.0, all, NS);
  cpn_decision_t d = run("weighted", f, NULL, &r);
  assert_int_equal(d.site, 1);
  assert_close(d.score, 0.0117 / 0.0301 + 300.0 / 1200.0);
}

static void weighted_follows_its_weights(void **state)
{
  fixture_t *f = *state;
  cpn_request_view_t r = request(0, "interactive", 2000, 2.0, all, NS);
  const char *const keys[4] = {"w_latency", "w_load", "w_cost", "w_carbon"};
  struct {
    double w[4];
    int want;
  } cases[] = {
    {{1, 0, 0, 0}, 0},   /* latency only: nearest */
    {{0, 1, 0, 0}, 1},   /* load only: 300 ties between 1 and 2; site 1 is nearer */
    {{0, 0, 1, 0}, 2},   /* cost only: cheapest */
    {{0, 0, 0, 1}, 1},   /* carbon only: cleanest */
    {{0, 0, 1, 1}, 1},   /* see below */
    {{0, 0, 20, 1}, 2},  /* see below */
  };
  /* usd_tok / max (5.6967e-7) = 0.9167, 0.5793, 0.5465, 1; co2_tok / max (1.09218e-3) = 1, 0.3323,
   * 0.9125, 0.9258. Cost and carbon 1:1: site 1 (0.9116) beats site 2 (1.4590); cost 20:1: site 2
   * (10.9304 + 0.9125 = 11.8430) beats site 1 (11.5858 + 0.3323 = 11.9181). */
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cpn_policy_params_t p = params_of(4, keys, cases[i].w);
    assert_int_equal(run("weighted", f, &p, &r).site, cases[i].want);
  }
  /* Weights absent from the parameters keep their defaults (w_load 1): w_latency 0 alone is load only. */
  const double zero[1] = {0};
  cpn_policy_params_t p = params_of(1, keys, zero);
  assert_int_equal(run("weighted", f, &p, &r).site, 1);
}

static void weighted_breaks_score_tie_by_latency_then_index(void **state)
{
  fixture_t *f = *state;
  const char *const keys[2] = {"w_latency", "w_load"};
  /* Load only: sites 1 and 2 score 300 / 300 each; from origin 1 site 2 is nearer. */
  const double load_only[2] = {0, 1};
  cpn_policy_params_t p = params_of(2, keys, load_only);
  cpn_request_view_t r = request(1, "interactive", 2000, 2.0, all, NS);
  assert_int_equal(run("weighted", f, &p, &r).site, 2);
  /* All weights zero: every score is 0; latency tie between sites 1 and 3 from origin 0: lower index. */
  const double none[2] = {0, 0};
  p = params_of(2, keys, none);
  static const int el[2] = {1, 3};
  r = request(0, "interactive", 2000, 2.0, el, 2);
  cpn_decision_t d = run("weighted", f, &p, &r);
  assert_int_equal(d.site, 1);
  assert_close(d.score, 0);
}

static void weighted_refuses_negative_weights(void **state)
{
  fixture_t *f = *state;
  cpn_request_view_t r = request(0, "interactive", 2000, 2.0, all, NS);
  static const char *const names[4] = {"w_latency", "w_load", "w_cost", "w_carbon"};
  for (int i = 0; i < 4; i++) {
    const char *const keys[1] = {names[i]};
    const double neg[1] = {-0.25};
    cpn_policy_params_t p = params_of(1, keys, neg);
    int rc;
    cpn_decision_t d = run_rc("weighted", f, &p, &r, &rc);
    assert_int_not_equal(rc, 0);
    assert_int_equal(d.site, -2); /* never decided */
  }
  const char *const keys[1] = {"batch"};
  const double zero[1] = {0};
  cpn_policy_params_t p = params_of(1, keys, zero);
  int rc;
  run_rc("weighted", f, &p, &r, &rc);
  assert_int_not_equal(rc, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(all_new_policies_are_registered),
    T(every_new_policy_rejects_when_nothing_eligible),
    T(power_of_two_takes_lower_load_of_the_two_drawn),
    T(power_of_two_breaks_load_tie_by_latency_then_index),
    T(power_of_two_single_candidate_needs_no_draw),
    T(power_of_two_draws_two_distinct_sites),
    T(jsq_latency_picks_lowest_predicted_ttft),
    T(jsq_latency_batch_parameter_scales_queue_wait),
    T(prefix_aware_trades_cached_prefill_against_queue),
    T(jsq_latency_breaks_ttft_tie_by_latency_then_index),
    T(cost_picks_cheapest_token),
    T(cost_skips_site_that_misses_slo),
    T(cost_breaks_tie_by_ttft_then_index),
    T(carbon_picks_lowest_co2_per_token),
    T(carbon_skips_site_that_misses_slo),
    T(carbon_breaks_tie_by_ttft_then_index),
    T(east_west_sends_batch_west_and_interactive_nearest),
    T(east_west_spills_when_west_is_full),
    T(east_west_reads_thresholds_and_west_prefix),
    T(weighted_defaults_balance_latency_and_load),
    T(weighted_follows_its_weights),
    T(weighted_breaks_score_tie_by_latency_then_index),
    T(weighted_refuses_negative_weights),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
