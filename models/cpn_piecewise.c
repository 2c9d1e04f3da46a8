/* cpn_piecewise: rate schedules (piecewise-constant or piecewise-linear rates) and the exact inversion
 * of their integrated rate.
 *
 * What it is for: "rate per window" workloads (hourly rates, load steps, ramps), and the time change
 * by which cpn_workload makes renewal processes follow a schedule or a diurnal profile.
 * What it owns: nothing; the schedule's arrays are the caller's.
 * Invariants: cpn_piecewise_next returns a time strictly greater than now_s (or +INFINITY) and consumes
 * exactly one uniform from the stream, so arrivals are a deterministic function of the seed. Method:
 * for a Poisson process with rate r(t) and integrated rate R(t), R(next) - R(now) ~ Exp(1); we draw
 * E = -ln U and walk the windows subtracting r_i * (window time used) until E is reached within a
 * window. In a linear window the rate at x + d is a + s d, so the integral a d + s d^2 / 2 = E is solved
 * as d = 2E / (a + sqrt(a^2 + 2 s E)), which does not cancel when s is small or negative. Depends on
 * GSL and libm only. */
#include "cpn_piecewise.h"

#include <assert.h>
#include <math.h>

int cpn_piecewise_check(const cpn_piecewise_t *p) {
  if (!p || p->n < 1 || !p->t_start_s || !p->rate_rps) return -1;
  for (int i = 0; i < p->n; i++) {
    if (!isfinite(p->t_start_s[i]) || !isfinite(p->rate_rps[i]) || !(p->rate_rps[i] >= 0)) return -1;
    if (i > 0 && !(p->t_start_s[i] > p->t_start_s[i - 1])) return -1;
  }
  if (!isfinite(p->period_s) || p->period_s < 0) return -1;
  if (p->period_s > 0 && (p->t_start_s[0] != 0 || !(p->period_s > p->t_start_s[p->n - 1]))) return -1;
  if (p->interp != CPN_PW_STEP && p->interp != CPN_PW_LINEAR) return -1;
  if (!isfinite(p->phase_s)) return -1;
  return 0;
}

/* The window containing schedule time x: the largest i with t_start_s[i] <= x, or -1 before the first. */
static int window_of(const cpn_piecewise_t *p, double x) {
  if (x < p->t_start_s[0]) return -1;
  int lo = 0, hi = p->n - 1;
  while (lo < hi) {
    int mid = lo + (hi - lo + 1) / 2;
    if (p->t_start_s[mid] <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

static double window_end(const cpn_piecewise_t *p, int i) {
  if (i + 1 < p->n) return p->t_start_s[i + 1];
  return p->period_s > 0 ? p->period_s : INFINITY;
}

/* Rate reached at the end of window i (linear schedules). */
static double end_rate(const cpn_piecewise_t *p, int i) {
  if (i + 1 < p->n) return p->rate_rps[i + 1];
  return p->period_s > 0 ? p->rate_rps[0] : p->rate_rps[i];
}

/* Slope of the rate in window i (0 for steps and for an endless last window). */
static double slope(const cpn_piecewise_t *p, int i) {
  double end = window_end(p, i);
  if (p->interp != CPN_PW_LINEAR || isinf(end)) return 0;
  return (end_rate(p, i) - p->rate_rps[i]) / (end - p->t_start_s[i]);
}

/* Rate at schedule time x inside window i. Clamped at 0 against rounding. */
static double rate_in(const cpn_piecewise_t *p, int i, double x) {
  double r = p->rate_rps[i] + slope(p, i) * (x - p->t_start_s[i]);
  return r > 0 ? r : 0;
}

/* Integral over [x, y] inside window i (x <= y <= end of the window, y finite). */
static double win_integral(const cpn_piecewise_t *p, int i, double x, double y) {
  if (!(y > x)) return 0;
  return 0.5 * (rate_in(p, i, x) + rate_in(p, i, y)) * (y - x);
}

/* Splits t into whole periods (*base) and the phase in [0, period_s). */
static double phase_of(const cpn_piecewise_t *p, double t, double *base) {
  *base = floor(t / p->period_s) * p->period_s;
  double x = t - *base;
  if (x < 0) x = 0; /* rounding at a period boundary */
  if (x >= p->period_s) {
    *base += p->period_s;
    x = 0;
  }
  return x;
}

double cpn_piecewise_rate_at(const cpn_piecewise_t *p, double t_s) {
  assert(p && p->n >= 1);
  double base, x = t_s + p->phase_s;
  if (p->period_s > 0) x = phase_of(p, x, &base);
  int i = window_of(p, x);
  return i < 0 ? 0 : rate_in(p, i, x);
}

int cpn_piecewise_window(const cpn_piecewise_t *p, double t_s) {
  assert(p && p->n >= 1);
  double base, x = t_s + p->phase_s;
  if (p->period_s > 0) x = phase_of(p, x, &base);
  return window_of(p, x);
}

/* Integral of the rate from the schedule's start (0 for a periodic one) to schedule time x. */
static double cumulative(const cpn_piecewise_t *p, double x) {
  double s = 0;
  for (int i = 0; i < p->n && p->t_start_s[i] < x; i++) {
    double end = window_end(p, i);
    s += win_integral(p, i, p->t_start_s[i], end < x ? end : x);
  }
  return s;
}

double cpn_piecewise_integral(const cpn_piecewise_t *p, double t0_s, double t1_s) {
  assert(p && p->n >= 1 && t0_s <= t1_s);
  double y0 = t0_s + p->phase_s, y1 = t1_s + p->phase_s;
  if (p->period_s <= 0) return cumulative(p, y1) - cumulative(p, y0);
  double per_period = cumulative(p, p->period_s), b0, b1;
  double x0 = phase_of(p, y0, &b0), x1 = phase_of(p, y1, &b1);
  return (b1 - b0) / p->period_s * per_period + cumulative(p, x1) - cumulative(p, x0);
}

/* Length d >= 0 with a d + s d^2 / 2 = e from rate a and slope s, or INFINITY when the rate reaches 0
 * first (s < 0) or is 0 throughout. */
static double solve_length(double a, double s, double e) {
  if (s == 0) return a > 0 ? e / a : INFINITY;
  double disc = a * a + 2.0 * s * e;
  if (disc < 0) return INFINITY;
  double den = a + sqrt(disc);
  return den > 0 ? 2.0 * e / den : INFINITY;
}

double cpn_piecewise_advance(const cpn_piecewise_t *p, double now_s, double e) {
  assert(p && p->n >= 1 && p->t_start_s && p->rate_rps && e >= 0);
  double base = 0, x = now_s + p->phase_s;
  if (p->period_s > 0) {
    double per_period = cumulative(p, p->period_s);
    if (!(per_period > 0)) return INFINITY;
    /* Any whole period holds the same integrated rate whatever its phase: skip them at once. */
    double whole = floor(e / per_period);
    e -= whole * per_period;
    x = phase_of(p, x, &base);
    base += whole * p->period_s;
  }
  int i = window_of(p, x);
  if (i < 0) { /* before the first window of a non-periodic schedule: nothing happens until it opens */
    i = 0;
    x = p->t_start_s[0];
  }
  for (;;) {
    double end = window_end(p, i);
    double d = solve_length(rate_in(p, i, x), slope(p, i), e);
    if (x + d < end) {
      double t = base + x + d - p->phase_s;
      return t > now_s ? t : nextafter(now_s, INFINITY);
    }
    if (isinf(end)) return INFINITY;
    e -= win_integral(p, i, x, end);
    if (e < 0) e = 0; /* rounding: the arrival is at the window's end */
    x = end;
    if (++i == p->n) { /* only reached by a periodic schedule: the last window of a one-shot is infinite */
      assert(p->period_s > 0);
      i = 0;
      x = 0;
      base += p->period_s;
    }
  }
}

double cpn_piecewise_next(const cpn_piecewise_t *p, double now_s, gsl_rng *rng) {
  assert(p && rng);
  return cpn_piecewise_advance(p, now_s, -log(gsl_rng_uniform_pos(rng))); /* Exp(1) > 0 */
}
