/* test_summary: the run's metrics from hand-made records: per-group percentiles (numpy's linear
 * interpolation), SLO attainment, counts by status, cost per million tokens, utilisation. With a worker
 * thread (cpn_summary_start_worker) every metric is bit for bit what it is without one, over enough
 * requests to fill its queue many times; a summary freed with its worker still running ends cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "accounting/summary.h"

static const char *sites[] = {"east", "west"};
static const char *classes[] = {"interactive"};
static const char *tenants[] = {"acme", "globex"};

static cpn_summary_t *make(void)
{
  const char *const *const names[CPN_GROUP_KINDS] = {NULL, sites, classes, tenants};
  const int n[CPN_GROUP_KINDS] = {1, 2, 1, 2};
  cpn_summary_t *s;
  assert_int_equal(cpn_summary_new(&s, names, n), CPN_OK);
  return s;
}

static cpn_record_t rec(int site, double ttft, double e2e, unsigned out, int status)
{
  return (cpn_record_t){.site = site, .cls = 0, .tenant = site, .t_arrival = 10.0, .t_first_token = 10.0 + ttft,
                        .t_done = 10.0 + e2e, .prompt_tokens = 100, .output_tokens = out, .status = (uint8_t)status,
                        .cost_usd = 0.002385};
}

/* Percentiles come from log-bucketed histograms: within CPN_HIST_REL_ERR (0.098%) of the exact value. */
static void close_to(double have, double want)
{
  if (fabs(have - want) > 0.00098 * fabs(want) + 1e-12)
    fail_msg("have %.9g want %.9g", have, want);
}

static void percentiles_per_site_interpolate_linearly(void **state)
{
  cpn_summary_t *s = make();
  /* east: TTFT 1..5 s; west: 10 and 20 s. */
  for (int i = 1; i <= 5; i++) {
    cpn_record_t r = rec(0, i, 2.0 * i + 1, 11, CPN_STATUS_COMPLETED);
    cpn_summary_add(s, &r, 100, 100, 0);
  }
  cpn_record_t a = rec(1, 10, 30, 11, CPN_STATUS_COMPLETED), b = rec(1, 20, 40, 11, CPN_STATUS_COMPLETED);
  cpn_summary_add(s, &a, 100, 100, 0);
  cpn_summary_add(s, &b, 100, 100, 0);
  double busy[2] = {50, 0};
  int accels[2] = {10, 4};
  cpn_summary_finish(s, 10, busy, accels);
  close_to(cpn_summary_get(s, CPN_GROUP_SITE, 0, CPN_M_TTFT_P50), 3);
  close_to(cpn_summary_get(s, CPN_GROUP_SITE, 0, CPN_M_TTFT_P95), 4.8);  /* 1 + 0.95 * 4 */
  close_to(cpn_summary_get(s, CPN_GROUP_SITE, 1, CPN_M_TTFT_P99), 19.9); /* 10 + 0.99 * 10 */
  close_to(cpn_summary_get(s, CPN_GROUP_OVERALL, 0, CPN_M_TTFT_P50), 4);  /* 1 2 3 4 5 10 20 */
  close_to(cpn_summary_get(s, CPN_GROUP_SITE, 1, CPN_M_E2E_MEAN), 35);
  /* TPOT = (e2e - ttft) / (out - 1): east request i: (i + 1) / 10. */
  close_to(cpn_summary_get(s, CPN_GROUP_SITE, 0, CPN_M_TPOT_P50), 0.4);
  close_to(cpn_summary_get(s, CPN_GROUP_SITE, 0, CPN_M_UTILISATION), 0.5);
  close_to(cpn_summary_get(s, CPN_GROUP_OVERALL, 0, CPN_M_UTILISATION), 50.0 / 140.0);
  close_to(cpn_summary_get(s, CPN_GROUP_TENANT, 1, CPN_M_REQUESTS), 2);
  cpn_summary_free(s);
}

static void slo_and_status_counts(void **state)
{
  cpn_summary_t *s = make();
  cpn_record_t ok = rec(0, 1.5, 3.5, 21, CPN_STATUS_COMPLETED);    /* TPOT 0.1 */
  cpn_record_t slow = rec(0, 2.5, 3.5, 21, CPN_STATUS_COMPLETED);  /* TTFT over 2 s */
  cpn_record_t rej = rec(-1, NAN, NAN, 21, CPN_STATUS_REJECTED);
  cpn_record_t tout = rec(1, NAN, NAN, 21, CPN_STATUS_TIMED_OUT);
  cpn_summary_add(s, &ok, 2.0, 0.1, 0);
  cpn_summary_add(s, &slow, 2.0, 0.1, 0);
  cpn_summary_add(s, &rej, 2.0, 0.1, 0);
  cpn_summary_add(s, &tout, 2.0, 0.1, 0);
  double busy[2] = {0, 0};
  int accels[2] = {1, 1};
  cpn_summary_finish(s, 100, busy, accels);
  close_to(cpn_summary_get(s, CPN_GROUP_OVERALL, 0, CPN_M_REQUESTS), 4);
  close_to(cpn_summary_get(s, CPN_GROUP_OVERALL, 0, CPN_M_COMPLETED), 2);
  close_to(cpn_summary_get(s, CPN_GROUP_OVERALL, 0, CPN_M_REJECTED), 1);
  close_to(cpn_summary_get(s, CPN_GROUP_OVERALL, 0, CPN_M_TIMED_OUT), 1);
  close_to(cpn_summary_get(s, CPN_GROUP_OVERALL, 0, CPN_M_SLO_ATTAINMENT), 0.25);
  /* Cost per million tokens over completed requests' tokens: 4 x 0.002385 USD / (2 x 121 tokens). */
  close_to(cpn_summary_get(s, CPN_GROUP_OVERALL, 0, CPN_M_COST_PER_MTOK), 4 * 0.002385 / 242.0 * 1e6);
  close_to(cpn_summary_get(s, CPN_GROUP_OVERALL, 0, CPN_M_TOKENS_PER_S), 0.42);
  assert_true(isnan(cpn_summary_get(s, CPN_GROUP_SITE, 1, CPN_M_TTFT_P50))); /* no completed request */
  cpn_summary_free(s);
}

static void a_worker_gives_the_same_bits(void **state)
{
  (void)state;
  cpn_summary_t *plain = make(), *threaded = make(), *abandoned = make();
  assert_int_equal(cpn_summary_start_worker(threaded), 1);
  assert_int_equal(cpn_summary_start_worker(abandoned), 1);
  uint64_t x = 12345;
  enum { N = 200000 };
  for (int i = 0; i < N; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = (double)(x >> 11) / 9007199254740992.0;
    int status = (x >> 8) % 10 == 0 ? CPN_STATUS_REJECTED : (x >> 8) % 10 == 1 ? CPN_STATUS_TIMED_OUT : CPN_STATUS_COMPLETED;
    int site = status == CPN_STATUS_REJECTED ? -1 : (int)((x >> 20) & 1);
    cpn_record_t r = rec(site, 0.05 + 3 * u, 0.5 + 40 * u * u, 1 + (unsigned)((x >> 30) % 500), status);
    r.cost_usd = 1e-4 * u;
    r.energy_j = 50 * u;
    r.co2_g = 0.01 * u;
    r.cross_border = (x >> 40) & 1;
    cpn_summary_t *all[3] = {plain, threaded, abandoned};
    for (int k = 0; k < 3; k++) {
      assert_int_equal(cpn_summary_add(all[k], &r, 2.0, 0.1, 1000 * u), CPN_OK);
      if (status == CPN_STATUS_COMPLETED)
        cpn_summary_add_bill(all[k], &r, 3e-5 * u);
    }
  }
  cpn_summary_free(abandoned); /* its worker is stopped unsynced, with batches still queued */
  assert_int_equal(cpn_summary_sync(threaded), CPN_OK);
  assert_int_equal(cpn_summary_sync(plain), CPN_OK);
  double busy[2] = {30, 40};
  int accels[2] = {1, 2};
  cpn_summary_finish(plain, 100, busy, accels);
  cpn_summary_finish(threaded, 100, busy, accels);
  const int groups[CPN_GROUP_KINDS] = {1, 2, 1, 2, 0};
  for (int k = 0; k < CPN_GROUP_KINDS; k++)
    for (int g = 0; g < groups[k]; g++)
      for (int m = 0; m < CPN_M_COUNT; m++) {
        double a = cpn_summary_get(plain, k, g, m), b = cpn_summary_get(threaded, k, g, m);
        if (memcmp(&a, &b, sizeof a) != 0)
          fail_msg("group kind %d, group %d, %s: %.17g without a worker, %.17g with one", k, g, cpn_metric_names[m], a, b);
      }
  assert_true(cpn_summary_get(plain, CPN_GROUP_OVERALL, 0, CPN_M_REQUESTS) == N);
  cpn_summary_free(plain);
  cpn_summary_free(threaded);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(percentiles_per_site_interpolate_linearly),
    cmocka_unit_test(slo_and_status_counts),
    cmocka_unit_test(a_worker_gives_the_same_bits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
