/* cpn_workload: token-workload generators as pure functions of a GSL random stream.
 *
 * What it is for: drawing request arrival times and token lengths for the engine, and the closed-form
 * M/M/c (Erlang C) reference the tests and the analysis compare the simulator against.
 * What it owns: nothing on the heap. The constant tables (Azure fits, diurnal profiles) are read-only;
 * an arrival process keeps its small mutable state (MMPP phase) inside the caller's cpn_arrival_t.
 * Invariants: every draw consumes only the rng passed in, so one stream per purpose keeps the workload
 * independent of the policy; cpn_arrival_next returns a time strictly greater than now_s; token draws
 * are integers in [max(1, min), max]. Depends on GSL and libm only. */
#include "cpn_workload.h"

#include <assert.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>

/* ---------------------------------------------------------------------------------------------------
 * Azure LLM inference traces (Azure/AzurePublicDataset, Splitwise, ISCA 2024, CC-BY-4.0; the
 * 2023-11-16 one-hour traces copied unchanged to tests/data, see tests/data/README.md).
 *
 * Method: maximum-likelihood lognormal fit, mu = mean of ln x and sigma = population standard deviation
 * of ln x (divide by n), computed by models/fit_azure_traces.py and re-checked in C by the unit test
 * azure_fits_match_constants. The clamp is [1, largest value in the trace].
 *
 *   series               n      mu                  sigma                max    empirical mean/median  fitted mean/median
 *   conv ContextTokens   19366  6.6333129281745524  0.98515427009330903  14050  1154.7 / 1020.0        1234.7 /  760.0
 *   conv GeneratedTokens 19366  5.0189968871872193  0.85900928375928387   1000   211.1 /  129.0         218.8 /  151.3
 *   code ContextTokens    8819  6.9986438275589418  1.3601926286262163    7437  2047.8 / 1469.0        2762.0 / 1095.1
 *   code GeneratedTokens  8819  2.7881569808545756  0.8472377176924184    1899    27.9 /   13.0          23.3 /   16.3
 *   (fitted mean = exp(mu + sigma^2/2), fitted median = exp(mu))
 *
 * The lognormal is a coarse summary, not a faithful shape: in ln x the conversation prompts are
 * multimodal (clusters near 160-400, 1000-1500 and 3600-6000 tokens), nearly 30% of the conversation
 * outputs sit at 365-490 tokens, the code prompts are skewed left and pile up near the 7437 maximum,
 * and the code outputs are skewed right with most mass at 6-20 tokens. So the fit matches the
 * conversation means within 4-7% but puts the conversation-prompt median 25% low, and overstates the
 * code-prompt mean by 35%. With the clamp at the trace maximum the mean actually drawn (before rounding)
 * is 1226.5, 213.0, 2025.4 and 23.3 tokens: +6%, +1%, -1% and -17% against the empirical means. Use
 * the traces in tests/data directly when the shape of the distribution matters. */
const cpn_dist_t CPN_AZURE_CONV_PROMPT = {
  .kind = CPN_DIST_LOGNORMAL, .mu = 6.6333129281745524, .sigma = 0.98515427009330903, .min = 1, .max = 14050};
const cpn_dist_t CPN_AZURE_CONV_OUTPUT = {
  .kind = CPN_DIST_LOGNORMAL, .mu = 5.0189968871872193, .sigma = 0.85900928375928387, .min = 1, .max = 1000};
const cpn_dist_t CPN_AZURE_CODE_PROMPT = {
  .kind = CPN_DIST_LOGNORMAL, .mu = 6.9986438275589418, .sigma = 1.3601926286262163, .min = 1, .max = 7437};
const cpn_dist_t CPN_AZURE_CODE_OUTPUT = {
  .kind = CPN_DIST_LOGNORMAL, .mu = 2.7881569808545756, .sigma = 0.8472377176924184, .min = 1, .max = 1899};

/* ---------------------------------------------------------------------------------------------------
 * Token-length distributions. */

/* An exponential draw with the given mean that is never zero: gsl_rng_uniform_pos excludes 0 and 1, so
 * -log(u) > 0. gsl_ran_exponential may return exactly 0, which would break "strictly after now". */
static double exp_pos(gsl_rng *rng, double mean) { return -mean * log(gsl_rng_uniform_pos(rng)); }

/* Inverse CDF of a table at u in [0, 1): the first point whose cdf exceeds u (binary search, O(log n)). */
static double empirical_draw(const cpn_dist_t *d, double u) {
  assert(d->n >= 1 && d->values && d->cdf);
  int lo = 0, hi = d->n - 1;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (d->cdf[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  if (!d->interpolate || lo == 0) return d->values[lo];
  double p0 = d->cdf[lo - 1], p1 = d->cdf[lo];
  double f = p1 > p0 ? (u - p0) / (p1 - p0) : 0;
  return d->values[lo - 1] + f * (d->values[lo] - d->values[lo - 1]);
}

int cpn_dist_check_table(int n, const double *values, const double *cdf, const char **why) {
  static const char *w;
  if (!why) why = &w;
  if (n < 1 || !values || !cdf) return *why = "the table is empty", -1;
  for (int i = 0; i < n; i++) {
    if (!isfinite(values[i]) || !(values[i] >= 0)) return *why = "a value is negative or not finite", -1;
    if (i > 0 && !(values[i] > values[i - 1])) return *why = "values must be strictly increasing", -1;
    if (!(cdf[i] >= 0 && cdf[i] <= 1 + 1e-9)) return *why = "a cumulative probability is outside [0, 1]", -1;
    if (i > 0 && cdf[i] < cdf[i - 1]) return *why = "cumulative probabilities must not decrease", -1;
  }
  if (fabs(cdf[n - 1] - 1) > 1e-9) return *why = "probabilities must sum to 1 (the CDF must end at 1)", -1;
  return 0;
}

unsigned cpn_dist_draw(const cpn_dist_t *d, gsl_rng *rng) {
  assert(d && rng);
  double v;
  switch (d->kind) {
  case CPN_DIST_CONSTANT:
    v = floor(d->mean + 0.5);
    break;
  case CPN_DIST_LOGNORMAL:
    v = floor(gsl_ran_lognormal(rng, d->mu, d->sigma) + 0.5);
    break;
  case CPN_DIST_GEOMETRIC:
    /* Support {1, 2, ...} with mean 1/p; a mean at or below 1 degenerates to the constant 1. */
    v = d->mean > 1.0 ? (double)gsl_ran_geometric(rng, 1.0 / d->mean) : 1.0;
    break;
  case CPN_DIST_EXPONENTIAL:
    /* Rounded up so that short requests still carry one token; the mean of the draw is
     * 1/(1 - exp(-1/mean)), about mean + 1/2. */
    v = ceil(gsl_ran_exponential(rng, d->mean));
    break;
  case CPN_DIST_EMPIRICAL:
    v = floor(empirical_draw(d, gsl_rng_uniform(rng)) + 0.5);
    break;
  default:
    assert(!"unknown cpn_dist_kind_t");
    v = 1.0;
  }
  if (d->max > 0 && v > floor(d->max)) v = floor(d->max);
  double lo = d->min > 1.0 ? ceil(d->min) : 1.0;
  if (!(v >= lo)) v = lo; /* also catches NaN */
  if (v > (double)UINT_MAX) v = (double)UINT_MAX;
  return (unsigned)v;
}

double cpn_dist_mean(const cpn_dist_t *d) {
  assert(d);
  switch (d->kind) {
  case CPN_DIST_LOGNORMAL:
    return exp(d->mu + 0.5 * d->sigma * d->sigma);
  case CPN_DIST_CONSTANT:
  case CPN_DIST_GEOMETRIC:
  case CPN_DIST_EXPONENTIAL:
    return d->mean;
  case CPN_DIST_EMPIRICAL: {
    double m = d->values[0] * d->cdf[0];
    for (int i = 1; i < d->n; i++) {
      double p = d->cdf[i] - d->cdf[i - 1];
      m += p * (d->interpolate ? 0.5 * (d->values[i - 1] + d->values[i]) : d->values[i]);
    }
    return m;
  }
  }
  assert(!"unknown cpn_dist_kind_t");
  return NAN;
}

/* Two passes (mean, then squared deviations) so that sigma keeps its precision when sigma << mu.
 * The result clamps to [1, max x], the convention of the CPN_AZURE_* constants. Cost O(n). */
void cpn_dist_fit_lognormal(const double *x, size_t n, cpn_dist_t *out) {
  assert(x && out && n > 0);
  double sum = 0.0, hi = x[0];
  for (size_t i = 0; i < n; i++) {
    assert(x[i] > 0);
    sum += log(x[i]);
    if (x[i] > hi) hi = x[i];
  }
  double mu = sum / (double)n, ss = 0.0;
  for (size_t i = 0; i < n; i++) {
    double e = log(x[i]) - mu;
    ss += e * e;
  }
  *out = (cpn_dist_t){.kind = CPN_DIST_LOGNORMAL, .mu = mu, .sigma = sqrt(ss / (double)n), .min = 1, .max = hi};
}

/* ---------------------------------------------------------------------------------------------------
 * Diurnal profiles. hourly[i] is the multiplier at i:00 local time; between points the profile is
 * linear, and 23:00 joins 00:00. The mean of such a periodic piecewise-linear curve equals the mean of
 * its points, so a table that averages to 1 keeps the daily mean rate equal to rate_rps. */
const cpn_diurnal_t CPN_DIURNAL_FLAT = {{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}};

/* An assumed shape, not a fit to any trace: a night trough of 0.35 at 04:00, a morning peak of 1.6 over
 * 10:00-11:00, an afternoon plateau near 1.05 and an evening peak of 1.6 over 20:00-21:00. The 24 values
 * sum to exactly 24 (mean exactly 1 in decimal; within 1 ulp in binary). */
const cpn_diurnal_t CPN_DIURNAL_DEFAULT = {{
  0.62, 0.48, 0.40, 0.36, 0.35, 0.38, 0.50, 0.74, /* 00-07 */
  1.04, 1.36, 1.60, 1.60, 1.28, 1.10, 1.06, 1.04, /* 08-15 */
  1.02, 1.04, 1.26, 1.46, 1.60, 1.60, 1.25, 0.86, /* 16-23 */
}};

double cpn_diurnal_at(const cpn_diurnal_t *p, double local_hour) {
  assert(p);
  double h = fmod(local_hour, 24.0);
  if (h < 0) h += 24.0;
  double i0 = floor(h), f = h - i0;
  int a = (int)i0 % 24, b = (a + 1) % 24;
  return p->hourly[a] + f * (p->hourly[b] - p->hourly[a]);
}

void cpn_diurnal_schedule(const cpn_diurnal_t *p, double rate_rps, double tz_offset_h, double start_utc_h,
                          cpn_piecewise_interp_t interp, double t_start_s[24], double rate_rps_out[24],
                          cpn_piecewise_t *out) {
  assert(p && out && t_start_s && rate_rps_out);
  for (int i = 0; i < 24; i++) {
    t_start_s[i] = 3600.0 * i;
    rate_rps_out[i] = rate_rps * p->hourly[i];
  }
  /* Simulated time 0 is local hour start_utc_h + tz_offset_h: the schedule starts that far into its day. */
  double h0 = fmod(start_utc_h + tz_offset_h, 24.0);
  if (h0 < 0) h0 += 24.0;
  *out = (cpn_piecewise_t){.n = 24, .t_start_s = t_start_s, .rate_rps = rate_rps_out, .period_s = 86400.0,
                           .interp = interp, .phase_s = h0 * 3600.0};
}

double cpn_diurnal_max(const cpn_diurnal_t *p) {
  assert(p);
  double m = p->hourly[0];
  for (int i = 1; i < 24; i++)
    if (p->hourly[i] > m) m = p->hourly[i];
  return m;
}

/* ---------------------------------------------------------------------------------------------------
 * Arrival processes. */

/* ln(cv^2 + 1) of a Weibull with shape k, where cv^2 + 1 = Gamma(1+2/k) / Gamma(1+1/k)^2; decreasing in
 * k. Log-gamma (gsl_sf_lngamma rather than gsl_sf_gamma) so that small k (large cv) does not overflow. */
static double weibull_log_cv2p1(double k) { return gsl_sf_lngamma(1.0 + 2.0 / k) - 2.0 * gsl_sf_lngamma(1.0 + 1.0 / k); }

/* Bracket of shapes searched: k = 0.02 gives cv ~ 3.2e14, k = 500 gives cv ~ 2.6e-3. */
#define WEIBULL_K_LO 0.02
#define WEIBULL_K_HI 500.0

static int weibull_solve(double rate_rps, double cv, double *k_out, double *lambda_out) {
  double target = log1p(cv * cv);
  double lo = WEIBULL_K_LO, hi = WEIBULL_K_HI;
  if (!(target < weibull_log_cv2p1(lo) && target > weibull_log_cv2p1(hi))) return -1;
  /* Bisection in log k: about 55 halvings take the bracket ratio from 2.5e4 to the double resolution. */
  for (int it = 0; it < 200 && hi / lo > 1.0 + 4.0 * DBL_EPSILON; it++) {
    double mid = sqrt(lo * hi);
    if (weibull_log_cv2p1(mid) > target)
      lo = mid; /* cv too large: shape must grow */
    else
      hi = mid;
  }
  double k = sqrt(lo * hi);
  *k_out = k;
  *lambda_out = 1.0 / (rate_rps * exp(gsl_sf_lngamma(1.0 + 1.0 / k)));
  return 0;
}

/* Base (calm) rate of the MMPP such that the time-average rate is rate_rps: the chain spends
 * calm/(calm+burst) of the time calm at rate base and the rest at burst_factor * base. */
static double mmpp_base_rate(const cpn_arrival_t *a) {
  return a->rate_rps * (a->calm_mean_s + a->burst_mean_s) / (a->calm_mean_s + a->burst_factor * a->burst_mean_s);
}

/* A process on a schedule runs at unit rate in operational time: the Weibull is solved for rate 1. */
static int prepare_scheduled(cpn_arrival_t *a) {
  if (a->diurnal || cpn_piecewise_check(a->schedule) != 0) return -1;
  if (a->window_cv) {
    if (a->kind != CPN_ARR_GAMMA && a->kind != CPN_ARR_WEIBULL) return -1;
    if (a->kind == CPN_ARR_WEIBULL && !a->window_weibull) return -1;
    for (int i = 0; i < a->schedule->n; i++) {
      if (!(a->window_cv[i] > 0) || !isfinite(a->window_cv[i])) return -1;
      if (a->kind == CPN_ARR_WEIBULL &&
          weibull_solve(1.0, a->window_cv[i], &a->window_weibull[2 * i], &a->window_weibull[2 * i + 1]) != 0)
        return -1;
    }
    return 0;
  }
  switch (a->kind) {
  case CPN_ARR_POISSON:
    return 0;
  case CPN_ARR_GAMMA:
    return a->cv > 0 && isfinite(a->cv) ? 0 : -1;
  case CPN_ARR_WEIBULL:
    if (!(a->cv > 0) || !isfinite(a->cv)) return -1;
    return weibull_solve(1.0, a->cv, &a->weibull_k, &a->weibull_lambda);
  default:
    return -1; /* MMPP: refused, see cpn_arrival_t */
  }
}

/* Validates parameters, derives the Weibull shape and scale, and resets the MMPP to the calm state with
 * no switch drawn yet (the first cpn_arrival_next draws it). Cost: O(1), about 110 lngamma calls for
 * Weibull. */
int cpn_arrival_prepare(cpn_arrival_t *a) {
  if (a && a->schedule) return prepare_scheduled(a);
  if (!a || !(a->rate_rps > 0) || !isfinite(a->rate_rps)) return -1;
  switch (a->kind) {
  case CPN_ARR_POISSON:
    if (a->diurnal) {
      for (int i = 0; i < 24; i++)
        if (!(a->diurnal->hourly[i] >= 0) || !isfinite(a->diurnal->hourly[i])) return -1;
      if (!(cpn_diurnal_max(a->diurnal) > 0)) return -1;
      if (!isfinite(a->tz_offset_h) || !isfinite(a->start_utc_h)) return -1;
    }
    break;
  case CPN_ARR_GAMMA:
    if (!(a->cv > 0) || !isfinite(a->cv)) return -1;
    break;
  case CPN_ARR_WEIBULL:
    if (!(a->cv > 0) || !isfinite(a->cv)) return -1;
    if (weibull_solve(a->rate_rps, a->cv, &a->weibull_k, &a->weibull_lambda) != 0) return -1;
    break;
  case CPN_ARR_MMPP:
    if (!(a->burst_factor > 0) || !(a->burst_mean_s > 0) || !(a->calm_mean_s > 0)) return -1;
    if (!isfinite(a->burst_factor) || !isfinite(a->burst_mean_s) || !isfinite(a->calm_mean_s)) return -1;
    a->mmpp_state = 0;
    a->mmpp_switch_s = -1;
    break;
  default:
    return -1;
  }
  return 0;
}

/* Floating-point guard: a positive gap added to a large now_s may round back to now_s. */
static double strictly_after(double now_s, double t) { return t > now_s ? t : nextafter(now_s, INFINITY); }

/* Non-homogeneous Poisson by thinning (Lewis and Shedler 1979): candidates from a homogeneous process at
 * the peak rate, each kept with probability profile(t) / peak. */
static double next_diurnal_poisson(const cpn_arrival_t *a, double now_s, gsl_rng *rng) {
  double peak = cpn_diurnal_max(a->diurnal);
  double mean_gap_s = 1.0 / (a->rate_rps * peak);
  double t = now_s;
  for (;;) {
    t += exp_pos(rng, mean_gap_s);
    double local_h = fmod(a->start_utc_h + a->tz_offset_h + t / 3600.0, 24.0);
    if (gsl_rng_uniform(rng) * peak < cpn_diurnal_at(a->diurnal, local_h)) return t;
  }
}

/* End of the sojourn in the current state that starts at from_s. Switch times always advance, even when
 * the sojourn is below the resolution of from_s, so the catch-up loop below terminates. */
static double next_switch(const cpn_arrival_t *a, double from_s, gsl_rng *rng) {
  return strictly_after(from_s, from_s + exp_pos(rng, a->mmpp_state ? a->burst_mean_s : a->calm_mean_s));
}

/* Two-state MMPP. Within a state the process is Poisson; when a candidate falls past the next switch,
 * the clock moves to the switch and a fresh gap is drawn at the new rate, which is exact because the
 * exponential gap is memoryless. */
static double next_mmpp(cpn_arrival_t *a, double now_s, gsl_rng *rng) {
  double base = mmpp_base_rate(a);
  if (a->mmpp_switch_s < 0) /* first call: start the current phase at now_s */
    a->mmpp_switch_s = next_switch(a, now_s, rng);
  /* The caller may ask from a time past the switch (e.g. after a pause): catch the chain up. */
  while (a->mmpp_switch_s <= now_s) {
    a->mmpp_state = !a->mmpp_state;
    a->mmpp_switch_s = next_switch(a, a->mmpp_switch_s, rng);
  }
  double t = now_s;
  for (;;) {
    double rate = a->mmpp_state ? base * a->burst_factor : base;
    double cand = t + exp_pos(rng, 1.0 / rate);
    if (cand < a->mmpp_switch_s) return cand;
    t = a->mmpp_switch_s;
    a->mmpp_state = !a->mmpp_state;
    a->mmpp_switch_s = next_switch(a, t, rng);
  }
}

/* Renewal processes (Gamma, Weibull) take now_s as the previous arrival. The Weibull kind needs
 * cpn_arrival_prepare first; the MMPP needs it (or mmpp_state = 0, mmpp_switch_s = -1) to start. */
/* Time change: the next gap in operational time (unit mean, the process's CV), then back through the
 * schedule's integrated rate. */
static double next_scheduled(const cpn_arrival_t *a, double now_s, gsl_rng *rng) {
  double g, cv = a->cv, k = a->weibull_k, lambda = a->weibull_lambda;
  if (a->window_cv) { /* the CV (and Weibull shape) of the window the gap starts in */
    int w = cpn_piecewise_window(a->schedule, now_s);
    if (w < 0) w = 0;
    cv = a->window_cv[w];
    if (a->window_weibull) k = a->window_weibull[2 * w], lambda = a->window_weibull[2 * w + 1];
  }
  switch (a->kind) {
  case CPN_ARR_POISSON:
    g = -log(gsl_rng_uniform_pos(rng));
    break;
  case CPN_ARR_GAMMA: {
    double shape = 1.0 / (cv * cv);
    g = gsl_ran_gamma(rng, shape, 1.0 / shape);
    break;
  }
  case CPN_ARR_WEIBULL:
    assert(k > 0 && lambda > 0 && "call cpn_arrival_prepare first");
    g = gsl_ran_weibull(rng, lambda, k);
    break;
  default:
    assert(!"cpn_arrival_prepare refuses this kind with a schedule");
    return INFINITY;
  }
  return cpn_piecewise_advance(a->schedule, now_s, g > 0 ? g : 0);
}

double cpn_arrival_next(cpn_arrival_t *a, double now_s, gsl_rng *rng) {
  assert(a && rng);
  if (a->schedule) return strictly_after(now_s, next_scheduled(a, now_s, rng));
  assert(a->rate_rps > 0);
  double t;
  switch (a->kind) {
  case CPN_ARR_POISSON:
    t = a->diurnal ? next_diurnal_poisson(a, now_s, rng) : now_s + exp_pos(rng, 1.0 / a->rate_rps);
    break;
  case CPN_ARR_GAMMA: {
    /* shape 1/cv^2 and scale cv^2/rate give mean 1/rate and coefficient of variation cv. */
    double shape = 1.0 / (a->cv * a->cv);
    t = now_s + gsl_ran_gamma(rng, shape, 1.0 / (shape * a->rate_rps));
    break;
  }
  case CPN_ARR_WEIBULL:
    assert(a->weibull_k > 0 && a->weibull_lambda > 0 && "call cpn_arrival_prepare first");
    t = now_s + gsl_ran_weibull(rng, a->weibull_lambda, a->weibull_k);
    break;
  case CPN_ARR_MMPP:
    t = next_mmpp(a, now_s, rng);
    break;
  default:
    assert(!"unknown cpn_arrival_kind_t");
    t = INFINITY;
  }
  return strictly_after(now_s, t);
}

/* ---------------------------------------------------------------------------------------------------
 * Erlang C. The Erlang B recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)) with offered load
 * a = lambda/mu stays in [0, 1] and never forms a^c or c!, so it is stable for thousands of servers;
 * then C = c B / (c - a (1 - B)). Cost O(c). */
double cpn_erlang_c(double lambda, double mu, int c) {
  if (!(lambda >= 0) || !(mu > 0) || c < 1 || !isfinite(lambda) || !isfinite(mu)) return -1;
  double a = lambda / mu;
  if (a >= (double)c) return -1;
  double b = 1.0;
  for (int k = 1; k <= c; k++) b = a * b / ((double)k + a * b);
  return (double)c * b / ((double)c - a * (1.0 - b));
}

/* Mean response time (wait + service) of M/M/c: W = C / (c mu - lambda) + 1/mu; -1 when unstable. */
double cpn_mmc_mean_response_s(double lambda, double mu, int c) {
  double pw = cpn_erlang_c(lambda, mu, c);
  if (pw < 0) return -1;
  return pw / ((double)c * mu - lambda) + 1.0 / mu;
}
