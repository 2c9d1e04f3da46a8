/* test_metrics: the metric definitions shared by /summary and cpnsim-report (models/cpn_metrics.c).
 *
 * Pins each definition with hand-worked values chosen so that a neighbouring rule gives a different
 * answer: nearest-rank or (n + 1)-based percentiles, TPOT over n instead of n - 1 gaps, strict instead of
 * inclusive deadlines, cost over all tokens scaled before dividing. The comparison against numpy on a
 * real run stays in tests/integration/test_report_percentiles.py. */
#include "cpn_metrics.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* cmocka 1.1.5 compares only floats; the metrics need double precision. */
#define assert_close(a, b) close_check((a), (b), __FILE__, __LINE__)
static void close_check(double have, double want, const char *file, int line)
{
  if (!(fabs(have - want) <= 1e-12 * fabs(want) + 1e-15)) {
    print_error("have %.17g, want %.17g\n", have, want);
    _fail(file, line);
  }
}

#define assert_nan(a) assert_true(isnan(a))

static void percentile_interpolates_between_closest_ranks(void **state)
{
  static const double v[] = {1.5, 2.25, 4.0, 7.75, 12.0};
  assert_close(cpn_metric_percentile(v, 5, 0.0), 1.5);
  assert_close(cpn_metric_percentile(v, 5, 0.5), 4.0);
  /* i = 0.95 * 4 = 3.8: 0.2 * 7.75 + 0.8 * 12 (nearest rank would say 12). */
  assert_close(cpn_metric_percentile(v, 5, 0.95), 11.15);
  assert_close(cpn_metric_percentile(v, 5, 0.99), 11.83); /* 0.04 * 7.75 + 0.96 * 12 */
  assert_close(cpn_metric_percentile(v, 5, 1.0), 12.0);
  /* An even count: the median is halfway between the middle two; p25 at i = 0.75. */
  static const double w[] = {0.2, 0.7, 1.3, 5.9};
  assert_close(cpn_metric_percentile(w, 4, 0.5), 1.0);
  assert_close(cpn_metric_percentile(w, 4, 0.25), 0.575);
}

static void percentile_of_one_value_is_that_value(void **state)
{
  static const double v[] = {2.385};
  assert_close(cpn_metric_percentile(v, 1, 0.5), 2.385);
  assert_close(cpn_metric_percentile(v, 1, 0.99), 2.385);
}

static void percentile_without_samples_is_nan(void **state)
{
  static const double v[] = {1.0};
  static const float f[] = {1.0f};
  assert_nan(cpn_metric_percentile(v, 0, 0.5));
  assert_nan(cpn_metric_percentile_f(f, 0, 0.5));
}

static void float_percentile_interpolates_in_double(void **state)
{
  /* Exactly representable in float, so both variants must give the same bits. */
  static const float f[] = {1.5f, 2.25f, 4.0f, 7.75f, 12.0f};
  static const double d[] = {1.5, 2.25, 4.0, 7.75, 12.0};
  for (double q = 0; q <= 1.0; q += 0.01)
    assert_true(cpn_metric_percentile_f(f, 5, q) == cpn_metric_percentile(d, 5, q));
  assert_close(cpn_metric_percentile_f(f, 5, 0.99), 11.83);
}

static void tpot_divides_by_the_gaps_between_tokens(void **state)
{
  /* 11 tokens: 10 gaps between the first (10.25 s) and the last (12.635 s). */
  assert_close(cpn_metric_tpot_s(10.25, 12.635, 11), 0.2385);
  assert_close(cpn_metric_tpot_s(10.25, 12.635, 2), 2.385);
}

static void tpot_of_one_output_token_is_nan(void **state)
{
  assert_nan(cpn_metric_tpot_s(10.25, 10.25, 1));
  assert_nan(cpn_metric_tpot_s(10.25, 10.25, 0));
}

static void latencies_are_delivery_times_minus_arrival(void **state)
{
  assert_close(cpn_metric_ttft_s(100.5, 102.885), 2.385);
  assert_close(cpn_metric_e2e_s(100.5, 107.25), 6.75);
}

static void slo_deadlines_are_inclusive(void **state)
{
  assert_true(cpn_metric_slo_met(true, 0.5, 0.05, 0.5, 0.1));
  assert_false(cpn_metric_slo_met(true, nextafter(0.5, 1), 0.05, 0.5, 0.1));
  /* 6 tokens delivered over 0.5 s: TPOT 0.5 / 5, the same double as the 0.1 deadline. */
  double tpot = cpn_metric_tpot_s(1.0, 1.5, 6);
  assert_true(tpot == 0.1);
  assert_true(cpn_metric_slo_met(true, 0.2, tpot, 0.5, 0.1));
  assert_false(cpn_metric_slo_met(true, 0.2, nextafter(0.1, 1), 0.5, 0.1));
}

static void slo_of_one_token_checks_ttft_only(void **state)
{
  double tpot = cpn_metric_tpot_s(3.0, 3.0, 1);
  assert_true(cpn_metric_slo_met(true, 0.4, tpot, 0.5, 0.1));
  assert_false(cpn_metric_slo_met(true, 0.6, tpot, 0.5, 0.1));
}

static void slo_is_missed_by_requests_that_did_not_complete(void **state)
{
  assert_false(cpn_metric_slo_met(false, 0.1, 0.01, 0.5, 0.1));
  assert_false(cpn_metric_slo_met(false, NAN, NAN, 0.5, 0.1));
}

static void measured_window_starts_at_warmup_inclusive(void **state)
{
  assert_true(cpn_metric_measured(120.0, 120.0));
  assert_false(cpn_metric_measured(nextafter(120.0, 0), 120.0));
  assert_false(cpn_metric_measured(NAN, 0.0));
  assert_close(cpn_metric_window_s(600.0, 60.0), 540.0);
}

static void mean_is_sum_over_count(void **state)
{
  assert_close(cpn_metric_mean(7.155, 3), 2.385);
  assert_nan(cpn_metric_mean(0.0, 0));
}

static void fractions_count_every_measured_request(void **state)
{
  assert_close(cpn_metric_slo_attainment(3, 4), 0.75);
  assert_close(cpn_metric_completed_frac(5, 8), 0.625);
  assert_nan(cpn_metric_slo_attainment(0, 0));
  assert_nan(cpn_metric_completed_frac(0, 0));
}

static void tokens_per_s_over_the_window(void **state)
{
  assert_close(cpn_metric_tokens_per_s(2385, 500), 4.77);
  assert_nan(cpn_metric_tokens_per_s(2385, 0));
  assert_nan(cpn_metric_tokens_per_s(2385, -1));
}

static void per_mtok_divides_by_completed_tokens(void **state)
{
  assert_close(cpn_metric_cost_usd_per_mtok(0.002385, 1500), 1.59);
  assert_close(cpn_metric_co2_g_per_mtok(4.77, 2e6), 2.385);
  /* 2.385 kWh over two million tokens. */
  assert_close(cpn_metric_energy_kwh_per_mtok(2.385 * 3.6e6, 2e6), 1.1925);
  assert_close(cpn_metric_cost_usd_per_mtok(0, 10), 0);
  assert_nan(cpn_metric_cost_usd_per_mtok(0.5, 0)); /* cost paid, nothing completed */
  assert_nan(cpn_metric_co2_g_per_mtok(1, 0));
  assert_nan(cpn_metric_energy_kwh_per_mtok(1, 0));
  /* The bits both callers always produced: divide, then scale (0.7 * 1e6 / 7 would give 100000 exactly). */
  assert_true(cpn_metric_cost_usd_per_mtok(0.7, 7) == 99999.99999999999);
  assert_true(cpn_metric_co2_g_per_mtok(0.7, 7) == 99999.99999999999);
}

static void utilisation_is_busy_over_available(void **state)
{
  assert_close(cpn_metric_utilisation(50, 10 * 10.0), 0.5);
  assert_close(cpn_metric_utilisation(50 + 0, 10 * 10.0 + 4 * 10.0), 50.0 / 140.0);
  assert_close(cpn_metric_utilisation(0, 100), 0);
  assert_close(cpn_metric_utilisation(0, 0), 0); /* no accelerators: 0, not NaN */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(percentile_interpolates_between_closest_ranks),
    cmocka_unit_test(percentile_of_one_value_is_that_value),
    cmocka_unit_test(percentile_without_samples_is_nan),
    cmocka_unit_test(float_percentile_interpolates_in_double),
    cmocka_unit_test(tpot_divides_by_the_gaps_between_tokens),
    cmocka_unit_test(tpot_of_one_output_token_is_nan),
    cmocka_unit_test(latencies_are_delivery_times_minus_arrival),
    cmocka_unit_test(slo_deadlines_are_inclusive),
    cmocka_unit_test(slo_of_one_token_checks_ttft_only),
    cmocka_unit_test(slo_is_missed_by_requests_that_did_not_complete),
    cmocka_unit_test(measured_window_starts_at_warmup_inclusive),
    cmocka_unit_test(mean_is_sum_over_count),
    cmocka_unit_test(fractions_count_every_measured_request),
    cmocka_unit_test(tokens_per_s_over_the_window),
    cmocka_unit_test(per_mtok_divides_by_completed_tokens),
    cmocka_unit_test(utilisation_is_busy_over_available),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
