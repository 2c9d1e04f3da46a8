/* Unit tests for models/cpn_workload: token-length distributions and the Azure fits, the diurnal
 * profile, the arrival processes (rates, variability, thinning, MMPP switching, determinism) and the
 * Erlang C formula. Every random test uses gsl_rng_mt19937 with a fixed seed, so results are
 * reproducible; tolerances are a few standard errors of the statistic checked. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "cpn_workload.h"

/* Strict C17 has no PI. */
static const double PI = 3.14159265358979323846, LN2 = 0.69314718055994530942;

#ifndef CPN_TEST_DATA
#error "CPN_TEST_DATA must be the path of tests/data"
#endif

static gsl_rng *rng_new(unsigned long seed) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  assert_non_null(r);
  gsl_rng_set(r, seed);
  return r;
}

static void assert_rel(double got, double want, double rel) {
  double err = fabs(got - want) / fabs(want);
  if (err > rel) fail_msg("got %.12g, want %.12g (relative error %.3g > %.3g)", got, want, err, rel);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Mean and coefficient of variation of n values. */
static void mean_cv(const double *x, size_t n, double *mean, double *cv) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += x[i];
  double m = s / (double)n, ss = 0;
  for (size_t i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
  *mean = m;
  *cv = sqrt(ss / (double)(n - 1)) / m;
}

/* n inter-arrival gaps of the process, starting at time 0. */
static double *gaps(cpn_arrival_t *a, gsl_rng *r, size_t n) {
  double *g = malloc(n * sizeof *g);
  assert_non_null(g);
  double t = 0;
  for (size_t i = 0; i < n; i++) {
    double next = cpn_arrival_next(a, t, r);
    assert_true(next > t);
    g[i] = next - t;
    t = next;
  }
  return g;
}

/* ------------------------------------------------------------------------------------------------- */
/* Erlang C */

static void erlang_c_matches_textbook(void **state) {
  (void)state;
  /* lambda = 2, mu = 1, c = 3: a = 2, Pw = (8/6 * 3) / (1 + 2 + 2 + 4) = 4/9. */
  assert_rel(cpn_erlang_c(2, 1, 3), 4.0 / 9.0, 1e-12);
  assert_rel(cpn_mmc_mean_response_s(2, 1, 3), 1.0 + 4.0 / 9.0, 1e-12);
  /* c = 1 is M/M/1: Pw = rho, W = 1/(mu - lambda). */
  assert_rel(cpn_erlang_c(2.385, 3.1, 1), 2.385 / 3.1, 1e-12);
  assert_rel(cpn_mmc_mean_response_s(2.385, 3.1, 1), 1.0 / (3.1 - 2.385), 1e-12);
  /* Nobody waits without arrivals. */
  assert_true(cpn_erlang_c(0, 1.7, 4) == 0.0);
  assert_rel(cpn_mmc_mean_response_s(0, 1.7, 4), 1.0 / 1.7, 1e-12);
}

/* Independent reference in log space: Pw = T / (sum_{k<c} a^k/k! + T), T = a^c/c! * c/(c-a). */
static double erlang_c_logspace(double a, int c) {
  double lt = c * log(a) - lgamma(c + 1.0) + log(c / (c - a));
  double mx = lt;
  for (int k = 0; k < c; k++) {
    double lk = k * log(a) - lgamma(k + 1.0);
    if (lk > mx) mx = lk;
  }
  double s = exp(lt - mx);
  for (int k = 0; k < c; k++) s += exp(k * log(a) - lgamma(k + 1.0) - mx);
  return exp(lt - mx) / s;
}

static void erlang_c_stable_for_1000_servers(void **state) {
  (void)state;
  /* a = 985.3 Erlangs on 1000 servers: a^c and c! overflow a double, the recursion must not. */
  double pw = cpn_erlang_c(985.3 * 0.42, 0.42, 1000);
  assert_true(pw > 0 && pw < 1);
  assert_rel(pw, erlang_c_logspace(985.3, 1000), 1e-9);
  assert_rel(cpn_erlang_c(523.7, 1.0, 600), erlang_c_logspace(523.7, 600), 1e-9);
}

static void erlang_c_unstable_or_invalid_returns_minus_one(void **state) {
  (void)state;
  assert_true(cpn_erlang_c(3, 1, 3) == -1);   /* rho = 1 */
  assert_true(cpn_erlang_c(3.5, 1, 3) == -1); /* rho > 1 */
  assert_true(cpn_mmc_mean_response_s(3.5, 1, 3) == -1);
  assert_true(cpn_erlang_c(1, 0, 3) == -1);
  assert_true(cpn_erlang_c(1, 1, 0) == -1);
  assert_true(cpn_erlang_c(-1, 1, 2) == -1);
  assert_true(cpn_mmc_mean_response_s(1, 1, 0) == -1);
}

/* ------------------------------------------------------------------------------------------------- */
/* Arrivals */

static void poisson_rate_and_cv(void **state) {
  (void)state;
  gsl_rng *r = rng_new(2385);
  cpn_arrival_t a = {.kind = CPN_ARR_POISSON, .rate_rps = 23.85};
  assert_int_equal(cpn_arrival_prepare(&a), 0);
  size_t n = 100000;
  double *g = gaps(&a, r, n), mean, cv;
  mean_cv(g, n, &mean, &cv);
  assert_rel(1.0 / mean, 23.85, 0.01);
  assert_rel(cv, 1.0, 0.02);
  free(g);
  gsl_rng_free(r);
}

static void gamma_cv3_within_5pct(void **state) {
  (void)state;
  gsl_rng *r = rng_new(4242);
  cpn_arrival_t a = {.kind = CPN_ARR_GAMMA, .rate_rps = 7.3, .cv = 3.0};
  assert_int_equal(cpn_arrival_prepare(&a), 0);
  size_t n = 100000;
  double *g = gaps(&a, r, n), mean, cv;
  mean_cv(g, n, &mean, &cv);
  assert_rel(cv, 3.0, 0.05);
  assert_rel(1.0 / mean, 7.3, 0.03);
  free(g);
  gsl_rng_free(r);
}

static void weibull_shape_solves_cv(void **state) {
  (void)state;
  /* cv = 1 is the exponential (k = 1, scale = mean); cv = sqrt(4/pi - 1) is the Rayleigh case k = 2,
   * whose scale is mean / Gamma(1.5) = mean * 2 / sqrt(pi). */
  cpn_arrival_t a = {.kind = CPN_ARR_WEIBULL, .rate_rps = 2.385, .cv = 1.0};
  assert_int_equal(cpn_arrival_prepare(&a), 0);
  assert_rel(a.weibull_k, 1.0, 1e-9);
  assert_rel(a.weibull_lambda, 1.0 / 2.385, 1e-9);
  a.cv = sqrt(4.0 / PI - 1.0);
  assert_int_equal(cpn_arrival_prepare(&a), 0);
  assert_rel(a.weibull_k, 2.0, 1e-9);
  assert_rel(a.weibull_lambda, 2.0 / (sqrt(PI) * 2.385), 1e-9);
}

static void weibull_cv_and_mean(void **state) {
  (void)state;
  gsl_rng *r = rng_new(777);
  cpn_arrival_t a = {.kind = CPN_ARR_WEIBULL, .rate_rps = 12.5, .cv = 1.7};
  assert_int_equal(cpn_arrival_prepare(&a), 0);
  assert_true(a.weibull_k < 1.0); /* over-dispersed means a decreasing hazard */
  size_t n = 200000;
  double *g = gaps(&a, r, n), mean, cv;
  mean_cv(g, n, &mean, &cv);
  assert_rel(cv, 1.7, 0.04);
  assert_rel(1.0 / mean, 12.5, 0.02);
  free(g);
  gsl_rng_free(r);
}

/* Parameters where the calm gaps (5.5 s) are long against the bursts (20 s): an implementation that
 * kept a calm candidate that lands past the switch would lose much of each burst and undershoot. */
static cpn_arrival_t mmpp_params(void) {
  return (cpn_arrival_t){.kind = CPN_ARR_MMPP, .rate_rps = 0.5, .burst_factor = 20, .burst_mean_s = 20,
                         .calm_mean_s = 200};
}

static void mmpp_long_run_rate(void **state) {
  (void)state;
  gsl_rng *r = rng_new(99);
  cpn_arrival_t a = mmpp_params();
  assert_int_equal(cpn_arrival_prepare(&a), 0);
  assert_int_equal(a.mmpp_state, 0);
  double horizon_s = 1e7, t = 0;
  size_t count = 0, in_burst = 0;
  while ((t = cpn_arrival_next(&a, t, r)) < horizon_s) {
    count++;
    in_burst += a.mmpp_state == 1;
  }
  assert_rel((double)count / horizon_s, 0.5, 0.02);
  /* Bursts hold 1/11 of the time at 20x the calm rate: 400/600 of the arrivals. */
  assert_rel((double)in_burst / (double)count, 400.0 / 600.0, 0.02);
  gsl_rng_free(r);
}

static void mmpp_is_overdispersed(void **state) {
  (void)state;
  gsl_rng *r = rng_new(31337);
  cpn_arrival_t a = mmpp_params();
  assert_int_equal(cpn_arrival_prepare(&a), 0);
  size_t n = 200000;
  double *g = gaps(&a, r, n), mean, cv;
  mean_cv(g, n, &mean, &cv);
  assert_true(cv > 1.5);
  free(g);
  gsl_rng_free(r);
}

static void mmpp_resumes_after_idle_gap(void **state) {
  (void)state;
  gsl_rng *r = rng_new(4);
  cpn_arrival_t a = mmpp_params();
  assert_int_equal(cpn_arrival_prepare(&a), 0);
  double t = cpn_arrival_next(&a, 0, r);
  assert_true(a.mmpp_switch_s > t);
  /* The caller asks from much later (after a pause of many sojourns): the chain catches up first. */
  double later = t + 5e5, next = cpn_arrival_next(&a, later, r);
  assert_true(next > later);
  assert_true(a.mmpp_switch_s > next);
  gsl_rng_free(r);
}

static void diurnal_thinning_follows_profile(void **state) {
  (void)state;
  gsl_rng *r = rng_new(2024);
  /* UTC 07:18 at t = 0, local = UTC - 5: a bug that ignores either offset shifts the hours. */
  cpn_arrival_t a = {.kind = CPN_ARR_POISSON, .rate_rps = 2.0, .diurnal = &CPN_DIURNAL_DEFAULT,
                     .tz_offset_h = -5.0, .start_utc_h = 7.3};
  assert_int_equal(cpn_arrival_prepare(&a), 0);
  double days = 20, horizon_s = days * 86400, t = 0;
  size_t by_hour[24] = {0}, count = 0;
  while ((t = cpn_arrival_next(&a, t, r)) < horizon_s) {
    double local_h = fmod(7.3 - 5.0 + t / 3600.0 + 24.0, 24.0);
    by_hour[(int)local_h]++;
    count++;
  }
  const double *h = CPN_DIURNAL_DEFAULT.hourly;
  /* The profile is linear between points at i:00, so the mean over hour i is (h[i] + h[i+1]) / 2. */
  double peak = (h[10] + h[11]) / 2, trough = (h[4] + h[5]) / 2;
  assert_rel((double)by_hour[10] / (double)by_hour[4], peak / trough, 0.03);
  assert_rel((double)by_hour[10] / (days * 3600 * 2.0), peak, 0.01);
  assert_rel((double)by_hour[4] / (days * 3600 * 2.0), trough, 0.02);
  assert_rel((double)by_hour[20] / (days * 3600 * 2.0), (h[20] + h[21]) / 2, 0.01);
  /* Whole days at a mean multiplier of 1: the daily mean rate is rate_rps. */
  assert_rel((double)count / horizon_s, 2.0, 0.01);
  gsl_rng_free(r);
}

static void arrivals_strictly_after_now(void **state) {
  (void)state;
  gsl_rng *r = rng_new(5);
  cpn_arrival_t kinds[] = {
    {.kind = CPN_ARR_POISSON, .rate_rps = 1e9},
    {.kind = CPN_ARR_POISSON, .rate_rps = 1e9, .diurnal = &CPN_DIURNAL_DEFAULT},
    {.kind = CPN_ARR_GAMMA, .rate_rps = 1e9, .cv = 5},
    {.kind = CPN_ARR_WEIBULL, .rate_rps = 1e9, .cv = 5},
    {.kind = CPN_ARR_MMPP, .rate_rps = 1e9, .burst_factor = 3, .burst_mean_s = 1e-9, .calm_mean_s = 1e-8},
  };
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    assert_int_equal(cpn_arrival_prepare(&kinds[k]), 0);
    /* At t = 1e9 s a 1 ns gap is below the resolution of a double. */
    double t = 1e9;
    for (int i = 0; i < 1000; i++) {
      double next = cpn_arrival_next(&kinds[k], t, r);
      assert_true(next > t);
      t = next;
    }
  }
  gsl_rng_free(r);
}

static void arrival_prepare_rejects_bad_parameters(void **state) {
  (void)state;
  cpn_diurnal_t zero = {{0}};
  cpn_diurnal_t negative = CPN_DIURNAL_FLAT;
  negative.hourly[7] = -0.1;
  cpn_arrival_t bad[] = {
    {.kind = CPN_ARR_POISSON, .rate_rps = 0},
    {.kind = CPN_ARR_POISSON, .rate_rps = -2.385},
    {.kind = CPN_ARR_POISSON, .rate_rps = NAN},
    {.kind = CPN_ARR_POISSON, .rate_rps = 1, .diurnal = &zero},
    {.kind = CPN_ARR_POISSON, .rate_rps = 1, .diurnal = &negative},
    {.kind = CPN_ARR_GAMMA, .rate_rps = 1, .cv = 0},
    {.kind = CPN_ARR_WEIBULL, .rate_rps = 1, .cv = -1},
    {.kind = CPN_ARR_WEIBULL, .rate_rps = 1, .cv = 1e-6}, /* shape beyond the solver's bracket */
    {.kind = CPN_ARR_MMPP, .rate_rps = 1, .burst_factor = 4, .burst_mean_s = 0, .calm_mean_s = 10},
    {.kind = CPN_ARR_MMPP, .rate_rps = 1, .burst_factor = 0, .burst_mean_s = 1, .calm_mean_s = 10},
    {.kind = (cpn_arrival_kind_t)17, .rate_rps = 1},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    if (cpn_arrival_prepare(&bad[k]) != -1) fail_msg("bad parameter set %zu accepted", k);
  assert_int_equal(cpn_arrival_prepare(NULL), -1);
}

static void same_seed_same_sequence(void **state) {
  (void)state;
  gsl_rng *r1 = rng_new(2385), *r2 = rng_new(2385), *r3 = rng_new(2386);
  cpn_arrival_t a1 = mmpp_params(), a2 = mmpp_params(), a3 = mmpp_params();
  assert_int_equal(cpn_arrival_prepare(&a1), 0);
  assert_int_equal(cpn_arrival_prepare(&a2), 0);
  assert_int_equal(cpn_arrival_prepare(&a3), 0);
  double t1 = 0, t2 = 0, t3 = 0;
  int differs = 0;
  for (int i = 0; i < 1000; i++) {
    t1 = cpn_arrival_next(&a1, t1, r1);
    t2 = cpn_arrival_next(&a2, t2, r2);
    t3 = cpn_arrival_next(&a3, t3, r3);
    assert_true(t1 == t2);
    unsigned p1 = cpn_dist_draw(&CPN_AZURE_CODE_PROMPT, r1), p2 = cpn_dist_draw(&CPN_AZURE_CODE_PROMPT, r2);
    unsigned p3 = cpn_dist_draw(&CPN_AZURE_CODE_PROMPT, r3);
    assert_int_equal(p1, p2);
    differs += t1 != t3 || p1 != p3;
  }
  assert_true(differs > 900);
  gsl_rng_free(r1);
  gsl_rng_free(r2);
  gsl_rng_free(r3);
}

/* ------------------------------------------------------------------------------------------------- */
/* Diurnal profile */

static void diurnal_default_mean_is_one(void **state) {
  (void)state;
  const cpn_diurnal_t *p = &CPN_DIURNAL_DEFAULT;
  double s = 0;
  for (int i = 0; i < 24; i++) s += p->hourly[i];
  assert_rel(s / 24, 1.0, 1e-14);
  /* The interpolated curve has the same mean (midpoint rule on a fine grid). */
  int n = 24 * 600;
  double si = 0;
  for (int i = 0; i < n; i++) si += cpn_diurnal_at(p, (i + 0.5) * 24.0 / n);
  assert_rel(si / n, 1.0, 1e-9);
  /* The stated shape: trough 0.35 at 04:00, peaks 1.6 over 10-11 and 20-21. */
  assert_rel(cpn_diurnal_at(p, 4.0), 0.35, 1e-12);
  assert_rel(cpn_diurnal_at(p, 10.5), 1.6, 1e-12);
  assert_rel(cpn_diurnal_at(p, 20.25), 1.6, 1e-12);
  assert_rel(cpn_diurnal_max(p), 1.6, 1e-12);
  for (int i = 0; i < 24; i++) assert_true(p->hourly[i] >= 0.35);
  for (int i = 0; i < 24; i++) assert_true(CPN_DIURNAL_FLAT.hourly[i] == 1.0);
  assert_true(cpn_diurnal_at(&CPN_DIURNAL_FLAT, 13.7) == 1.0);
  assert_true(cpn_diurnal_max(&CPN_DIURNAL_FLAT) == 1.0);
}

static void diurnal_interpolates_and_wraps(void **state) {
  (void)state;
  const double *h = CPN_DIURNAL_DEFAULT.hourly;
  const cpn_diurnal_t *p = &CPN_DIURNAL_DEFAULT;
  assert_rel(cpn_diurnal_at(p, 7.25), h[7] + 0.25 * (h[8] - h[7]), 1e-12);
  /* 23:30 interpolates towards midnight's value, not towards 0 or past the table. */
  assert_rel(cpn_diurnal_at(p, 23.5), (h[23] + h[0]) / 2, 1e-12);
  assert_rel(cpn_diurnal_at(p, -0.5), (h[23] + h[0]) / 2, 1e-12);
  assert_rel(cpn_diurnal_at(p, 24.0 * 3 + 7.25), cpn_diurnal_at(p, 7.25), 1e-12);
  assert_rel(cpn_diurnal_at(p, -24.0 + 15.8), cpn_diurnal_at(p, 15.8), 1e-12);
}

/* ------------------------------------------------------------------------------------------------- */
/* Token-length distributions */

static void lognormal_draws_have_fitted_median(void **state) {
  (void)state;
  gsl_rng *r = rng_new(123);
  size_t n = 100001;
  double *x = malloc(n * sizeof *x);
  assert_non_null(x);
  const cpn_dist_t *d = &CPN_AZURE_CONV_OUTPUT;
  for (size_t i = 0; i < n; i++) x[i] = cpn_dist_draw(d, r);
  qsort(x, n, sizeof *x, cmp_double);
  assert_rel(x[n / 2], exp(d->mu), 0.02);
  assert_true(x[0] >= 1 && x[n - 1] <= 1000);
  assert_rel(cpn_dist_mean(d), exp(d->mu + d->sigma * d->sigma / 2), 1e-12);
  free(x);
  gsl_rng_free(r);
}

static void geometric_mean(void **state) {
  (void)state;
  gsl_rng *r = rng_new(8);
  cpn_dist_t d = {.kind = CPN_DIST_GEOMETRIC, .mean = 23.85};
  size_t n = 1000000;
  double s = 0;
  unsigned lo = UINT_MAX;
  for (size_t i = 0; i < n; i++) {
    unsigned v = cpn_dist_draw(&d, r);
    s += v;
    if (v < lo) lo = v;
  }
  assert_rel(s / (double)n, 23.85, 0.01);
  assert_int_equal(lo, 1);
  assert_rel(cpn_dist_mean(&d), 23.85, 1e-15);
  gsl_rng_free(r);
}

static void exponential_rounds_up(void **state) {
  (void)state;
  gsl_rng *r = rng_new(9);
  cpn_dist_t d = {.kind = CPN_DIST_EXPONENTIAL, .mean = 4.0};
  size_t n = 200000;
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned v = cpn_dist_draw(&d, r);
    assert_true(v >= 1);
    s += v;
  }
  /* ceil(Exp(m)) is geometric with p = 1 - exp(-1/m): mean 4.5208, not 4 (rounding) or 3.52 (floor). */
  assert_rel(s / (double)n, 1.0 / (1.0 - exp(-0.25)), 0.01);
  gsl_rng_free(r);
}

static void clamp_respected(void **state) {
  (void)state;
  gsl_rng *r = rng_new(10);
  cpn_dist_t d = {.kind = CPN_DIST_LOGNORMAL, .mu = 5.0, .sigma = 2.0, .min = 50, .max = 400};
  int hit_lo = 0, hit_hi = 0;
  for (int i = 0; i < 20000; i++) {
    unsigned v = cpn_dist_draw(&d, r);
    assert_true(v >= 50 && v <= 400);
    hit_lo += v == 50;
    hit_hi += v == 400;
  }
  assert_true(hit_lo > 1000 && hit_hi > 1000);
  /* min below 1 still gives at least one token; max <= 0 means no upper clamp. */
  cpn_dist_t tiny = {.kind = CPN_DIST_CONSTANT, .mean = 0.2, .min = 0};
  assert_int_equal(cpn_dist_draw(&tiny, r), 1);
  cpn_dist_t big = {.kind = CPN_DIST_CONSTANT, .mean = 2385.4, .max = 0};
  assert_int_equal(cpn_dist_draw(&big, r), 2385);
  cpn_dist_t capped = {.kind = CPN_DIST_CONSTANT, .mean = 2385.6, .max = 1000};
  assert_int_equal(cpn_dist_draw(&capped, r), 1000);
  gsl_rng_free(r);
}

static void draws_round_to_nearest(void **state) {
  (void)state;
  gsl_rng *r = rng_new(11);
  cpn_dist_t rounded = {.kind = CPN_DIST_CONSTANT, .mean = 2.6};
  assert_int_equal(cpn_dist_draw(&rounded, r), 3);
  assert_rel(cpn_dist_mean(&rounded), 2.6, 1e-15);
  /* Lognormal draws round to the nearest integer too (a near-degenerate sigma pins the value). */
  cpn_dist_t ln27 = {.kind = CPN_DIST_LOGNORMAL, .mu = log(2.7), .sigma = 1e-9};
  cpn_dist_t ln23 = {.kind = CPN_DIST_LOGNORMAL, .mu = log(2.3), .sigma = 1e-9};
  assert_int_equal(cpn_dist_draw(&ln27, r), 3);
  assert_int_equal(cpn_dist_draw(&ln23, r), 2);
  gsl_rng_free(r);
}

static void lognormal_fit_recovers_parameters(void **state) {
  (void)state;
  /* ln x = {0, ln 2, ln 4, ln 8}: mu = 1.5 ln 2, population sd = sqrt(1.25) ln 2. */
  double x[] = {1, 2, 4, 8};
  cpn_dist_t d;
  cpn_dist_fit_lognormal(x, 4, &d);
  assert_int_equal(d.kind, CPN_DIST_LOGNORMAL);
  assert_rel(d.mu, 1.5 * LN2, 1e-14);
  assert_rel(d.sigma, sqrt(1.25) * LN2, 1e-14);
  assert_true(d.min == 1 && d.max == 8);
}

/* Reads ContextTokens and GeneratedTokens of an Azure trace with plain stdio. */
static size_t read_trace(const char *name, double **prompt, double **output) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", CPN_TEST_DATA, name);
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  char line[256];
  assert_non_null(fgets(line, sizeof line, f));
  assert_int_equal(strncmp(line, "TIMESTAMP,ContextTokens,GeneratedTokens", 39), 0);
  size_t n = 0, cap = 1024;
  *prompt = malloc(cap * sizeof **prompt);
  *output = malloc(cap * sizeof **output);
  assert_true(*prompt && *output);
  while (fgets(line, sizeof line, f)) {
    char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    if (!c2) fail_msg("%s:%zu: expected three columns", path, n + 2);
    if (n == cap) {
      cap *= 2;
      *prompt = realloc(*prompt, cap * sizeof **prompt);
      *output = realloc(*output, cap * sizeof **output);
      assert_true(*prompt && *output);
    }
    (*prompt)[n] = strtod(c1 + 1, NULL);
    (*output)[n] = strtod(c2 + 1, NULL);
    assert_true((*prompt)[n] > 0 && (*output)[n] > 0);
    n++;
  }
  fclose(f);
  return n;
}

static void check_fit(const double *x, size_t n, const cpn_dist_t *want) {
  cpn_dist_t got;
  cpn_dist_fit_lognormal(x, n, &got);
  assert_int_equal(want->kind, CPN_DIST_LOGNORMAL);
  assert_rel(got.mu, want->mu, 1e-6);
  assert_rel(got.sigma, want->sigma, 1e-6);
  assert_true(want->min == 1);
  assert_true(got.max == want->max);
}

static void azure_fits_match_constants(void **state) {
  (void)state;
  double *p, *o;
  size_t n = read_trace("AzureLLMInferenceTrace_conv.csv", &p, &o);
  assert_int_equal(n, 19366);
  check_fit(p, n, &CPN_AZURE_CONV_PROMPT);
  check_fit(o, n, &CPN_AZURE_CONV_OUTPUT);
  free(p);
  free(o);
  n = read_trace("AzureLLMInferenceTrace_code.csv", &p, &o);
  assert_int_equal(n, 8819);
  check_fit(p, n, &CPN_AZURE_CODE_PROMPT);
  check_fit(o, n, &CPN_AZURE_CODE_OUTPUT);
  free(p);
  free(o);
}


/* ------------------------------------------------------------------------------------------------- */
/* Rate schedules and the time change (issue 14) */

/* cpn_piecewise_advance inverts the integral: for steps and linear windows, with a phase and across
 * periods, the integral from now to the returned time is e. */
static void advance_inverts_integral(void **state) {
  (void)state;
  gsl_rng *r = rng_new(14);
  const double t0[] = {0, 900, 2000, 3000}, rate[] = {2.385, 0, 7.5, 1.25};
  for (int interp = 0; interp < 2; interp++)
    for (int periodic = 0; periodic < 2; periodic++) {
      cpn_piecewise_t p = {.n = 4, .t_start_s = t0, .rate_rps = rate, .period_s = periodic ? 3600 : 0,
                           .interp = (cpn_piecewise_interp_t)interp, .phase_s = periodic ? 1234.5 : 0};
      assert_int_equal(cpn_piecewise_check(&p), 0);
      for (int k = 0; k < 2000; k++) {
        double now = gsl_rng_uniform(r) * 20000, e = gsl_rng_uniform(r) * 30000;
        double t = cpn_piecewise_advance(&p, now, e);
        assert_true(t > now);
        assert_true(isfinite(t));
        double got = cpn_piecewise_integral(&p, now, t);
        if (fabs(got - e) > 1e-7 * (1 + e)) fail_msg("interp %d periodic %d: integral %.12g, want %.12g", interp, periodic, got, e);
      }
    }
  /* Linear: the rate midway between two points is their mean. */
  cpn_piecewise_t lin = {.n = 4, .t_start_s = t0, .rate_rps = rate, .interp = CPN_PW_LINEAR};
  assert_rel(cpn_piecewise_rate_at(&lin, 2500), (7.5 + 1.25) / 2, 1e-12);
  assert_rel(cpn_piecewise_rate_at(&lin, 5000), 1.25, 1e-12); /* one-shot: the last rate holds */
  gsl_rng_free(r);
}

/* Local-hour counts of a process over whole days. */
static void hourly_counts(cpn_arrival_t *a, gsl_rng *r, double days, size_t *by_hour, size_t n_hours) {
  double t = 0, horizon_s = days * 86400;
  while ((t = cpn_arrival_next(a, t, r)) < horizon_s) {
    size_t h = (size_t)floor(t / 3600.0);
    if (h < n_hours) by_hour[h]++;
  }
}

/* Done-when 1: an hourly step profile [2,0,2,0,...] gives alternating hourly counts (the odd hours
 * get nothing, the even ones twice the mean), while the linear profile flattens it. */
static void hourly_step_profile_alternates(void **state) {
  (void)state;
  cpn_diurnal_t prof;
  for (int i = 0; i < 24; i++) prof.hourly[i] = i % 2 ? 0 : 2;
  double ts[24], rs[24];
  cpn_piecewise_t sched;
  enum { DAYS = 5, HOURS = DAYS * 24 };
  for (int interp = 0; interp < 2; interp++) {
    /* Simulated 0 is local 00:00 (UTC 16:00 at UTC+8), so hour k of the run is local hour k mod 24. */
    cpn_diurnal_schedule(&prof, 2.0, 8.0, 16.0, (cpn_piecewise_interp_t)interp, ts, rs, &sched);
    gsl_rng *r = rng_new(77);
    cpn_arrival_t a = {.kind = CPN_ARR_POISSON, .schedule = &sched};
    assert_int_equal(cpn_arrival_prepare(&a), 0);
    size_t by_hour[HOURS] = {0};
    hourly_counts(&a, r, DAYS, by_hour, HOURS);
    for (int h = 0; h < HOURS; h++) {
      double want = interp == CPN_PW_STEP ? (h % 2 ? 0 : 2 * 2.0 * 3600) : 2.0 * 3600;
      if (want == 0) {
        assert_int_equal(by_hour[h], 0);
      } else if (fabs((double)by_hour[h] - want) > 4.5 * sqrt(want)) {
        fail_msg("interp %d hour %d: %zu arrivals, want %.0f +- %.0f", interp, h, by_hour[h], want, 4.5 * sqrt(want));
      }
    }
    gsl_rng_free(r);
  }
}

static double correlation(const double *x, const double *y, int n) {
  double mx = 0, my = 0;
  for (int i = 0; i < n; i++) mx += x[i] / n, my += y[i] / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (int i = 0; i < n; i++) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx), syy += (y[i] - my) * (y[i] - my);
  return sxy / sqrt(sxx * syy);
}

/* Done-when 2: gamma arrivals with CV 3 under the default (linear) diurnal profile follow it (hourly
 * counts correlate with the profile's hourly means above 0.9) and keep CV 3 within 5% in every hour. */
static void gamma_cv3_follows_diurnal_and_keeps_cv(void **state) {
  (void)state;
  const cpn_diurnal_t *prof = &CPN_DIURNAL_DEFAULT;
  double ts[24], rs[24];
  cpn_piecewise_t sched;
  const double rate = 20.0, tz = 8.0, start_utc = 0.0;
  cpn_diurnal_schedule(prof, rate, tz, start_utc, CPN_PW_LINEAR, ts, rs, &sched);
  gsl_rng *r = rng_new(3);
  cpn_arrival_t a = {.kind = CPN_ARR_GAMMA, .cv = 3.0, .schedule = &sched};
  assert_int_equal(cpn_arrival_prepare(&a), 0);
  enum { DAYS = 6, HOURS = DAYS * 24 };
  double count[HOURS] = {0}, want[HOURS];
  /* Per local hour: sum and sum of squares of the gaps that start in it. */
  double s1[24] = {0}, s2[24] = {0}, n[24] = {0};
  double t = 0, horizon = DAYS * 86400.0;
  for (;;) {
    double next = cpn_arrival_next(&a, t, r);
    if (next >= horizon) break;
    count[(int)(next / 3600)]++;
    int lh = (int)fmod(floor(t / 3600) + start_utc + tz, 24);
    double g = next - t;
    s1[lh] += g, s2[lh] += g * g, n[lh]++;
    t = next;
  }
  for (int h = 0; h < HOURS; h++) {
    int lh = (int)fmod(h + start_utc + tz, 24);
    want[h] = rate * 3600 * 0.5 * (prof->hourly[lh] + prof->hourly[(lh + 1) % 24]);
  }
  double rho = correlation(count, want, HOURS);
  if (!(rho > 0.9)) fail_msg("correlation of hourly counts with the profile %.3f <= 0.9", rho);
  double cv_lo = INFINITY, cv_hi = 0;
  for (int lh = 0; lh < 24; lh++) {
    double m = s1[lh] / n[lh], var = s2[lh] / n[lh] - m * m, cv = sqrt(var) / m;
    if (fabs(cv - 3.0) > 0.05 * 3.0) fail_msg("local hour %d: CV %.3f (n %.0f), not within 5%% of 3", lh, cv, n[lh]);
    cv_lo = fmin(cv_lo, cv), cv_hi = fmax(cv_hi, cv);
  }
  print_message("gamma CV 3, default profile: correlation %.4f, CV per local hour %.3f .. %.3f\n", rho, cv_lo, cv_hi);
  gsl_rng_free(r);
}

/* A schedule with MMPP, or with a diurnal profile as well, is refused. */
static void schedule_refuses_mmpp_and_double_profile(void **state) {
  (void)state;
  const double t0[] = {0}, rate[] = {1};
  cpn_piecewise_t p = {.n = 1, .t_start_s = t0, .rate_rps = rate};
  cpn_arrival_t m = {.kind = CPN_ARR_MMPP, .burst_factor = 4, .burst_mean_s = 60, .calm_mean_s = 600, .schedule = &p};
  assert_int_equal(cpn_arrival_prepare(&m), -1);
  cpn_arrival_t d = {.kind = CPN_ARR_POISSON, .diurnal = &CPN_DIURNAL_DEFAULT, .schedule = &p};
  assert_int_equal(cpn_arrival_prepare(&d), -1);
  cpn_arrival_t w = {.kind = CPN_ARR_WEIBULL, .cv = 2.385, .schedule = &p};
  assert_int_equal(cpn_arrival_prepare(&w), 0);
}

/* A Weibull on a constant schedule keeps its rate and CV (the unit-rate shape is the right one). */
static void weibull_on_schedule_keeps_rate_and_cv(void **state) {
  (void)state;
  const double t0[] = {0}, rate[] = {4.5};
  cpn_piecewise_t p = {.n = 1, .t_start_s = t0, .rate_rps = rate};
  cpn_arrival_t a = {.kind = CPN_ARR_WEIBULL, .cv = 2.385, .schedule = &p};
  assert_int_equal(cpn_arrival_prepare(&a), 0);
  gsl_rng *r = rng_new(9);
  size_t n = 400000;
  double *g = gaps(&a, r, n), m, cv;
  mean_cv(g, n, &m, &cv);
  assert_rel(m, 1 / 4.5, 0.02);
  assert_rel(cv, 2.385, 0.05);
  free(g);
  gsl_rng_free(r);
}

/* CV per window (ServeGen publishes burstiness per window): a periodic two-hour step schedule, 10 req/s
 * with CV 1 then 4 req/s with CV 3, gamma and Weibull. In each window the gaps that start in it have the
 * window's CV within 5%, and the window's count is rate x time within 4.5 standard deviations (a renewal
 * count has variance about cv^2 x mean). */
static void cv_per_window_through_time_change(void **state) {
  (void)state;
  const double t0[] = {0, 3600}, rate[] = {10, 4}, cvw[] = {1.0, 3.0};
  cpn_piecewise_t p = {.n = 2, .t_start_s = t0, .rate_rps = rate, .period_s = 7200};
  for (int kind = 0; kind < 2; kind++) {
    double wk[4];
    cpn_arrival_t a = {.kind = kind ? CPN_ARR_WEIBULL : CPN_ARR_GAMMA, .cv = 2, .schedule = &p, .window_cv = cvw,
                       .window_weibull = wk};
    assert_int_equal(cpn_arrival_prepare(&a), 0);
    gsl_rng *r = rng_new(21 + kind);
    enum { PERIODS = 30 };
    double s1[2] = {0}, s2[2] = {0}, n[2] = {0}, count[2] = {0};
    double t = 0, horizon = PERIODS * 7200.0;
    for (;;) {
      double next = cpn_arrival_next(&a, t, r);
      if (next >= horizon) break;
      count[fmod(next, 7200) >= 3600]++;
      int w = fmod(t, 7200) >= 3600;
      /* gaps that cross into the other window are mixed: left out */
      if ((fmod(next, 7200) >= 3600) == w) s1[w] += next - t, s2[w] += (next - t) * (next - t), n[w]++;
      t = next;
    }
    for (int w = 0; w < 2; w++) {
      double m = s1[w] / n[w], cv = sqrt(s2[w] / n[w] - m * m) / m, want = rate[w] * 3600 * PERIODS;
      print_message("%s window %d: %.0f arrivals (want %.0f), mean gap %.4f s (want %.4f), CV %.3f (want %.1f)\n",
                    kind ? "weibull" : "gamma", w, count[w], want, m, 1 / rate[w], cv, cvw[w]);
      assert_rel(cv, cvw[w], 0.05);
      if (fabs(count[w] - want) > 4.5 * cvw[w] * sqrt(want)) fail_msg("window %d: %.0f arrivals, want %.0f", w, count[w], want);
    }
    gsl_rng_free(r);
  }
  /* Refused: CV per window with Poisson, a Weibull without its scratch, a CV <= 0. */
  cpn_arrival_t bad = {.kind = CPN_ARR_POISSON, .schedule = &p, .window_cv = cvw};
  assert_int_equal(cpn_arrival_prepare(&bad), -1);
  cpn_arrival_t nows = {.kind = CPN_ARR_WEIBULL, .cv = 1, .schedule = &p, .window_cv = cvw};
  assert_int_equal(cpn_arrival_prepare(&nows), -1);
  const double zero[] = {1, 0};
  cpn_arrival_t z = {.kind = CPN_ARR_GAMMA, .cv = 1, .schedule = &p, .window_cv = zero};
  assert_int_equal(cpn_arrival_prepare(&z), -1);
}

/* ------------------------------------------------------------------------------------------------- */
/* Empirical token distributions */

/* Done-when 3: a bimodal length table (a CDF at points, uniform between them): the quantiles drawn
 * match the table's within sampling error (plus half a token of rounding). */
static void empirical_bimodal_quantiles_match_table(void **state) {
  (void)state;
  const double v[] = {10, 100, 200, 1500, 2500, 4000}, F[] = {0, 0.45, 0.6, 0.65, 0.95, 1.0};
  const char *why;
  assert_int_equal(cpn_dist_check_table(6, v, F, &why), 0);
  cpn_dist_t d = {.kind = CPN_DIST_EMPIRICAL, .n = 6, .values = v, .cdf = F, .interpolate = 1, .min = 1};
  gsl_rng *r = rng_new(31);
  enum { N = 200000 };
  double *x = malloc(N * sizeof *x), sum = 0;
  assert_non_null(x);
  for (int i = 0; i < N; i++) sum += x[i] = cpn_dist_draw(&d, r);
  qsort(x, N, sizeof *x, cmp_double);
  const double qs[] = {0.05, 0.2, 0.4, 0.5, 0.62, 0.7, 0.8, 0.9, 0.97};
  for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
    double q = qs[k];
    int i = 1;
    while (F[i] < q) i++;
    double dens = (F[i] - F[i - 1]) / (v[i] - v[i - 1]);
    double want = v[i - 1] + (q - F[i - 1]) / dens;
    double got = x[(size_t)(q * N)], tol = 0.5 + 1 + 4 * sqrt(q * (1 - q) / N) / dens;
    if (fabs(got - want) > tol) fail_msg("q %.2f: drawn %.1f, table %.1f (tolerance %.1f)", q, got, want, tol);
  }
  /* Nothing between the modes' ends and the gap 200..1500 holds only 5%. */
  assert_true(x[0] >= 10 && x[N - 1] <= 4000);
  assert_rel(sum / N, cpn_dist_mean(&d), 0.01);
  free(x);
  gsl_rng_free(r);
}

/* Discrete table (values and probabilities): only the listed values, at their frequencies. */
static void empirical_discrete_frequencies(void **state) {
  (void)state;
  const double v[] = {64, 1024, 8000}, F[] = {0.7, 0.95, 1.0};
  cpn_dist_t d = {.kind = CPN_DIST_EMPIRICAL, .n = 3, .values = v, .cdf = F, .min = 1};
  gsl_rng *r = rng_new(8);
  enum { N = 100000 };
  size_t c[3] = {0};
  for (int i = 0; i < N; i++) {
    unsigned x = cpn_dist_draw(&d, r);
    if (x == 64) c[0]++;
    else if (x == 1024) c[1]++;
    else if (x == 8000) c[2]++;
    else fail_msg("drew %u, not a value of the table", x);
  }
  const double p[] = {0.7, 0.25, 0.05};
  for (int k = 0; k < 3; k++)
    if (fabs((double)c[k] / N - p[k]) > 4 * sqrt(p[k] * (1 - p[k]) / N)) fail_msg("value %g: %zu draws", v[k], c[k]);
  assert_rel(cpn_dist_mean(&d), 0.7 * 64 + 0.25 * 1024 + 0.05 * 8000, 1e-12);
  gsl_rng_free(r);
}

static void empirical_table_check_rejects(void **state) {
  (void)state;
  const char *why = NULL;
  const double v[] = {5, 3}, F[] = {0.5, 1}, G[] = {0.5, 0.9}, v2[] = {1, 2}, H[] = {0.6, 0.4};
  assert_int_equal(cpn_dist_check_table(2, v, F, &why), -1);
  assert_non_null(strstr(why, "increasing"));
  assert_int_equal(cpn_dist_check_table(2, v2, G, &why), -1);
  assert_non_null(strstr(why, "sum to 1"));
  assert_int_equal(cpn_dist_check_table(2, v2, H, &why), -1);
  assert_int_equal(cpn_dist_check_table(0, v2, F, &why), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(erlang_c_matches_textbook),
    cmocka_unit_test(erlang_c_stable_for_1000_servers),
    cmocka_unit_test(erlang_c_unstable_or_invalid_returns_minus_one),
    cmocka_unit_test(poisson_rate_and_cv),
    cmocka_unit_test(gamma_cv3_within_5pct),
    cmocka_unit_test(weibull_shape_solves_cv),
    cmocka_unit_test(weibull_cv_and_mean),
    cmocka_unit_test(mmpp_long_run_rate),
    cmocka_unit_test(mmpp_is_overdispersed),
    cmocka_unit_test(mmpp_resumes_after_idle_gap),
    cmocka_unit_test(diurnal_thinning_follows_profile),
    cmocka_unit_test(arrivals_strictly_after_now),
    cmocka_unit_test(arrival_prepare_rejects_bad_parameters),
    cmocka_unit_test(same_seed_same_sequence),
    cmocka_unit_test(diurnal_default_mean_is_one),
    cmocka_unit_test(diurnal_interpolates_and_wraps),
    cmocka_unit_test(lognormal_draws_have_fitted_median),
    cmocka_unit_test(geometric_mean),
    cmocka_unit_test(exponential_rounds_up),
    cmocka_unit_test(clamp_respected),
    cmocka_unit_test(draws_round_to_nearest),
    cmocka_unit_test(lognormal_fit_recovers_parameters),
    cmocka_unit_test(azure_fits_match_constants),
    cmocka_unit_test(advance_inverts_integral),
    cmocka_unit_test(hourly_step_profile_alternates),
    cmocka_unit_test(gamma_cv3_follows_diurnal_and_keeps_cv),
    cmocka_unit_test(cv_per_window_through_time_change),
    cmocka_unit_test(schedule_refuses_mmpp_and_double_profile),
    cmocka_unit_test(weibull_on_schedule_keeps_rate_and_cv),
    cmocka_unit_test(empirical_bimodal_quantiles_match_table),
    cmocka_unit_test(empirical_discrete_frequencies),
    cmocka_unit_test(empirical_table_check_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
