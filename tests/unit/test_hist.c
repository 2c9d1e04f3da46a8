/* test_hist: the log-bucketed latency histogram keeps percentiles within 0.1% of the exact ones (numpy's
 * linear-interpolation rule on the sorted values) in memory that does not grow with the count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <math.h>
#include <stdlib.h>

#include "cpn_hist.h"
#include "cpn_metrics.h"

static void quantiles_within_the_stated_error_of_exact(void **state)
{
  enum { N = 200003 };
  double *x = malloc(N * sizeof *x);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 2385);
  cpn_hist_t h;
  cpn_hist_init(&h);
  for (int i = 0; i < N; i++) {
    x[i] = i % 97 == 0 ? 0.0 : gsl_ran_lognormal(rng, -0.7, 1.9); /* ~5 decades, some zeros */
    assert_int_equal(cpn_hist_add(&h, x[i]), 0);
  }
  gsl_sort(x, 1, N);
  const double qs[] = {0.0, 0.001, 0.0105, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0};
  double worst = 0;
  for (size_t j = 0; j < sizeof qs / sizeof qs[0]; j++) {
    double exact = cpn_metric_percentile(x, N, qs[j]), got = cpn_hist_quantile(&h, qs[j]);
    double rel = exact > 0 ? fabs(got - exact) / exact : fabs(got);
    if (rel > worst)
      worst = rel;
    if (rel > CPN_HIST_REL_ERR)
      fail_msg("q=%g: histogram %.9g, exact %.9g (relative %.3g)", qs[j], got, exact, rel);
  }
  printf("worst relative error %.3g (bound %.3g); %zu bytes for %d values\n", worst, CPN_HIST_REL_ERR,
         cpn_hist_bytes(&h), N);
  cpn_hist_destroy(&h);
  gsl_rng_free(rng);
  free(x);
}

static void memory_depends_on_range_not_count(void **state)
{
  cpn_hist_t h;
  cpn_hist_init(&h);
  for (int i = 0; i < 1000; i++)
    cpn_hist_add(&h, 0.5 + i * 0.0005); /* 0.5 .. 1.0 */
  size_t small = cpn_hist_bytes(&h);
  for (int i = 0; i < 3000000; i++)
    cpn_hist_add(&h, 0.5 + (i % 1000) * 0.0005);
  assert_int_equal(cpn_hist_bytes(&h), small);
  assert_true(small < 8 * 1024);
  assert_int_equal(h.total, 3001000);
  cpn_hist_destroy(&h);
}

static void empty_is_nan_and_nan_is_ignored(void **state)
{
  cpn_hist_t h;
  cpn_hist_init(&h);
  assert_true(isnan(cpn_hist_quantile(&h, 0.5)));
  cpn_hist_add(&h, NAN);
  cpn_hist_add(&h, -1.0);
  assert_true(isnan(cpn_hist_quantile(&h, 0.5)));
  cpn_hist_add(&h, 2.385);
  assert_true(fabs(cpn_hist_quantile(&h, 0.99) - 2.385) <= CPN_HIST_REL_ERR * 2.385);
  cpn_hist_add(&h, 0.0);
  /* Two values, 0 and 2.385: the median interpolates halfway. */
  assert_true(fabs(cpn_hist_quantile(&h, 0.5) - 2.385 / 2) <= CPN_HIST_REL_ERR * 2.385);
  cpn_hist_destroy(&h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(quantiles_within_the_stated_error_of_exact),
                                     cmocka_unit_test(memory_depends_on_range_not_count),
                                     cmocka_unit_test(empty_is_nan_and_nan_is_ignored)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
