/* cpn_piecewise: a Poisson arrival process whose rate is constant on each window of a schedule.
 *
 * For scenarios given as "rate per window" (hourly rates, a load step, a ramp in stairs). The next
 * arrival is drawn exactly by inversion of the integrated rate: an Exp(1) draw E is spent window by
 * window until the integral of the rate from now reaches E, so there is no thinning and no
 * discretisation error. Pure function of the schedule and the GSL stream; no state between calls. */
#ifndef CPN_MODELS_CPN_PIECEWISE_H
#define CPN_MODELS_CPN_PIECEWISE_H

#include <gsl/gsl_rng.h>

/* Window i covers [t_start_s[i], t_start_s[i+1]) at rate_rps[i]; the last window extends to +infinity,
 * or, when period_s > 0, to period_s, after which the schedule repeats (t_start_s[0] must then be 0).
 * Before t_start_s[0] (non-periodic) the rate is 0. The arrays are borrowed, never modified. */
typedef struct {
  int n;                   /* number of windows, >= 1 */
  const double *t_start_s; /* strictly increasing, finite */
  const double *rate_rps;  /* >= 0, finite */
  double period_s;         /* 0: no repetition; > 0: repeat every period_s (> t_start_s[n-1]) */
} cpn_piecewise_t;

/* Returns 0 when the schedule is valid, -1 otherwise. Cost O(n). */
int cpn_piecewise_check(const cpn_piecewise_t *p);

/* Rate at time t_s. Cost O(log n). */
double cpn_piecewise_rate_at(const cpn_piecewise_t *p, double t_s);

/* Integral of the rate over [t0_s, t1_s] (the mean number of arrivals), t0_s <= t1_s. Cost O(n) plus
 * O(1) per whole period. */
double cpn_piecewise_integral(const cpn_piecewise_t *p, double t0_s, double t1_s);

/* Next arrival strictly after now_s, or +INFINITY when the rate is 0 from now_s on (a non-periodic
 * schedule ending at rate 0, or a periodic one that is 0 throughout). Uses one uniform draw from rng.
 * The schedule must pass cpn_piecewise_check (asserted cheaply). Cost O(log n) plus O(n) per window
 * crossed, at most about n + 1 windows for a periodic schedule. */
double cpn_piecewise_next(const cpn_piecewise_t *p, double now_s, gsl_rng *rng);

#endif
