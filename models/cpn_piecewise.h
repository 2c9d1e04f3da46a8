/* cpn_piecewise: a rate schedule (windows with rates, as steps or linearly interpolated) and the
 * inversion of its integrated rate.
 *
 * For scenarios given as "rate per window" (hourly rates, a load step, a ramp) and for the time change
 * that makes any renewal process follow a schedule: cpn_piecewise_advance(now, e) is the time at which
 * the integral of the rate from now reaches e, exactly (no thinning, no discretisation). The Poisson
 * process of cpn_piecewise_next is advance(now, Exp(1)). Pure functions of the schedule (and the GSL
 * stream for _next); no state between calls. */
#ifndef CPN_MODELS_CPN_PIECEWISE_H
#define CPN_MODELS_CPN_PIECEWISE_H

#include <gsl/gsl_rng.h>

/* How the rate varies inside a window. */
typedef enum {
  CPN_PW_STEP = 0, /* rate_rps[i] throughout window i */
  CPN_PW_LINEAR    /* from rate_rps[i] at t_start_s[i] linearly to the next window's rate at its start;
                    * the last window of a periodic schedule goes to rate_rps[0] at period_s, the last
                    * of a one-shot schedule stays at rate_rps[n-1] */
} cpn_piecewise_interp_t;

/* Window i covers [t_start_s[i], t_start_s[i+1]) of schedule time; the last window extends to
 * +infinity, or, when period_s > 0, to period_s, after which the schedule repeats (t_start_s[0] must
 * then be 0). Before t_start_s[0] (non-periodic) the rate is 0. Schedule time is simulated time plus
 * phase_s (a diurnal profile in local time starts part-way through its day). The arrays are borrowed,
 * never modified. Fields after period_s were appended; zero (step, no phase) is the old behaviour. */
typedef struct {
  int n;                   /* number of windows, >= 1 */
  const double *t_start_s; /* strictly increasing, finite */
  const double *rate_rps;  /* >= 0, finite */
  double period_s;         /* 0: no repetition; > 0: repeat every period_s (> t_start_s[n-1]) */
  cpn_piecewise_interp_t interp;
  double phase_s;          /* finite; schedule time = simulated time + phase_s */
} cpn_piecewise_t;

/* Returns 0 when the schedule is valid, -1 otherwise. Cost O(n). */
int cpn_piecewise_check(const cpn_piecewise_t *p);

/* Rate at time t_s. Cost O(log n). */
double cpn_piecewise_rate_at(const cpn_piecewise_t *p, double t_s);

/* The window holding time t_s (phase and period applied): the largest i with t_start_s[i] <= schedule
 * time, or -1 before the first window of a one-shot schedule. Cost O(log n). */
int cpn_piecewise_window(const cpn_piecewise_t *p, double t_s);

/* Integral of the rate over [t0_s, t1_s] (the mean number of arrivals), t0_s <= t1_s. Cost O(n) plus
 * O(1) per whole period. */
double cpn_piecewise_integral(const cpn_piecewise_t *p, double t0_s, double t1_s);

/* The time t > now_s at which the integral of the rate over [now_s, t] equals e_rate_s (>= 0), or
 * +INFINITY when the rate integrates to less than that from now_s on. A result that would round to
 * now_s is the next double after it. Cost as cpn_piecewise_next. */
double cpn_piecewise_advance(const cpn_piecewise_t *p, double now_s, double e_rate_s);

/* Next arrival strictly after now_s, or +INFINITY when the rate is 0 from now_s on (a non-periodic
 * schedule ending at rate 0, or a periodic one that is 0 throughout). Uses one uniform draw from rng.
 * The schedule must pass cpn_piecewise_check (asserted cheaply). Cost O(log n) plus O(n) per window
 * crossed, at most about n + 1 windows for a periodic schedule. */
double cpn_piecewise_next(const cpn_piecewise_t *p, double now_s, gsl_rng *rng);

#endif
