/* cpn_piecewise: Poisson arrivals with a piecewise-constant rate, drawn exactly.
 *
 * What it is for: "rate per window" workloads (hourly rates, load steps) that the homogeneous and
 * diurnal processes of cpn_workload cannot express.
 * What it owns: nothing; the schedule's arrays are the caller's.
 * Invariants: cpn_piecewise_next returns a time strictly greater than now_s (or +INFINITY) and consumes
 * exactly one uniform from the stream, so arrivals are a deterministic function of the seed. Method:
 * for a Poisson process with rate r(t) and integrated rate R(t), R(next) - R(now) ~ Exp(1); we draw
 * E = -ln U and walk the windows subtracting r_i * (window time used) until E is reached within a
 * window. Depends on GSL and libm only. */
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
  double base;
  double x = p->period_s > 0 ? phase_of(p, t_s, &base) : t_s;
  int i = window_of(p, x);
  return i < 0 ? 0 : p->rate_rps[i];
}

/* Integral of the rate from the schedule's start (0 for a periodic one) to schedule time x. */
static double cumulative(const cpn_piecewise_t *p, double x) {
  double s = 0;
  for (int i = 0; i < p->n && p->t_start_s[i] < x; i++) {
    double end = window_end(p, i);
    if (p->rate_rps[i] > 0) s += p->rate_rps[i] * ((end < x ? end : x) - p->t_start_s[i]);
  }
  return s;
}

double cpn_piecewise_integral(const cpn_piecewise_t *p, double t0_s, double t1_s) {
  assert(p && p->n >= 1 && t0_s <= t1_s);
  if (p->period_s <= 0) return cumulative(p, t1_s) - cumulative(p, t0_s);
  double per_period = cumulative(p, p->period_s), b0, b1;
  double x0 = phase_of(p, t0_s, &b0), x1 = phase_of(p, t1_s, &b1);
  return (b1 - b0) / p->period_s * per_period + cumulative(p, x1) - cumulative(p, x0);
}

double cpn_piecewise_next(const cpn_piecewise_t *p, double now_s, gsl_rng *rng) {
  assert(p && p->n >= 1 && p->t_start_s && p->rate_rps && rng);
  double e = -log(gsl_rng_uniform_pos(rng)); /* > 0: uniform_pos excludes 0 and 1 */
  double base = 0, x = now_s;
  if (p->period_s > 0) {
    double per_period = cumulative(p, p->period_s);
    if (!(per_period > 0)) return INFINITY;
    /* Any whole period holds the same integrated rate whatever its phase: skip them at once. */
    double whole = floor(e / per_period);
    e -= whole * per_period;
    x = phase_of(p, now_s, &base);
    base += whole * p->period_s;
  }
  int i = window_of(p, x);
  if (i < 0) { /* before the first window of a non-periodic schedule: nothing happens until it opens */
    i = 0;
    x = p->t_start_s[0];
  }
  for (;;) {
    double end = window_end(p, i), rate = p->rate_rps[i];
    if (rate > 0) {
      double need = e / rate;
      if (x + need < end) {
        double t = base + x + need;
        return t > now_s ? t : nextafter(now_s, INFINITY);
      }
      e -= rate * (end - x);
      if (e < 0) e = 0; /* rounding: the arrival is at the window's end */
    } else if (isinf(end)) {
      return INFINITY;
    }
    x = end;
    if (++i == p->n) { /* only reached by a periodic schedule: the last window of a one-shot is infinite */
      assert(p->period_s > 0);
      i = 0;
      x = 0;
      base += p->period_s;
    }
  }
}
