/* cpn_workload: token-workload generators as pure functions of a GSL random stream.
 *
 * Arrival processes (homogeneous and diurnal Poisson by thinning, Gamma, Weibull, MMPP), token-length
 * distributions (lognormal fitted to the Azure LLM traces, geometric, constant), and the diurnal
 * profile. No SimGrid: the engine draws from these with the streams it owns, so the workload is the
 * same whatever the policy. */
#ifndef CPN_MODELS_CPN_WORKLOAD_H
#define CPN_MODELS_CPN_WORKLOAD_H

#include <gsl/gsl_rng.h>

#include "cpn_piecewise.h"

/* Token-length distribution. Draws are rounded to integers and clamped to [min, max]. */
typedef enum {
  CPN_DIST_CONSTANT = 0, CPN_DIST_LOGNORMAL, CPN_DIST_GEOMETRIC, CPN_DIST_EXPONENTIAL, CPN_DIST_EMPIRICAL
} cpn_dist_kind_t;
typedef struct {
  cpn_dist_kind_t kind;
  double mu, sigma;   /* lognormal: parameters of the underlying normal (of ln tokens) */
  double mean;        /* constant: the value; geometric/exponential: the mean */
  double min, max;    /* clamp; max <= 0 means no upper clamp */
  /* Empirical (a table; fields appended): n points, values strictly increasing, cdf[i] = P(X <= values[i])
   * non-decreasing with cdf[n-1] = 1. Discrete (interpolate 0): a draw is one of the values, values[i]
   * with probability cdf[i] - cdf[i-1]. Continuous (interpolate 1, a CDF given at points): an atom of
   * cdf[0] at values[0], then uniform between consecutive values (a histogram with those bin edges).
   * The arrays are borrowed (the scenario owns them). */
  int n;
  const double *values, *cdf;
  int interpolate;
} cpn_dist_t;

/* Checks an empirical table (n >= 1, finite positive increasing values, cdf non-decreasing in [0, 1]
 * ending at 1 within 1e-9). Returns 0, or -1 with a reason in *why (static text). */
int cpn_dist_check_table(int n, const double *values, const double *cdf, const char **why);

/* Lognormal fits of the Azure LLM inference traces (2023), see cpn_workload.c for the method. */
extern const cpn_dist_t CPN_AZURE_CONV_PROMPT, CPN_AZURE_CONV_OUTPUT, CPN_AZURE_CODE_PROMPT, CPN_AZURE_CODE_OUTPUT;

/* One draw from the distribution, an integer >= max(1, min). */
unsigned cpn_dist_draw(const cpn_dist_t *d, gsl_rng *rng);
/* The distribution's mean before clamping and rounding. */
double cpn_dist_mean(const cpn_dist_t *d);

/* Fits a lognormal by maximum likelihood (mean and standard deviation of ln x) to n positive values. */
void cpn_dist_fit_lognormal(const double *x, size_t n, cpn_dist_t *out);

/* Diurnal profile: 24 hourly multipliers (mean 1 over the day) interpolated linearly, evaluated at
 * local hour h in [0,24). (As steps, one rate per hour, through cpn_diurnal_schedule.) */
typedef struct { double hourly[24]; } cpn_diurnal_t;
extern const cpn_diurnal_t CPN_DIURNAL_FLAT;
extern const cpn_diurnal_t CPN_DIURNAL_DEFAULT; /* business-hours peak, night trough */
double cpn_diurnal_at(const cpn_diurnal_t *p, double local_hour);
double cpn_diurnal_max(const cpn_diurnal_t *p);

/* The profile times rate_rps as a periodic (one day) rate schedule in simulated time, with windows at
 * each local hour, as steps (interp CPN_PW_STEP: hour i at hourly[i] exactly) or linear (the same
 * curve as cpn_diurnal_at). t_start_s and rate_rps are caller arrays of 24 doubles that *out borrows. */
void cpn_diurnal_schedule(const cpn_diurnal_t *p, double rate_rps, double tz_offset_h, double start_utc_h,
                          cpn_piecewise_interp_t interp, double t_start_s[24], double rate_rps_out[24],
                          cpn_piecewise_t *out);

/* Arrival processes. Next arrival time strictly after `now_s`. */
typedef enum { CPN_ARR_POISSON = 0, CPN_ARR_GAMMA, CPN_ARR_WEIBULL, CPN_ARR_MMPP } cpn_arrival_kind_t;
typedef struct {
  cpn_arrival_kind_t kind;
  double rate_rps;          /* mean rate (before diurnal modulation) */
  double cv;                /* coefficient of variation of inter-arrivals (gamma, weibull) */
  const cpn_diurnal_t *diurnal; /* NULL = flat; Poisson only (thinning) */
  double tz_offset_h;       /* local time = UTC + offset */
  double start_utc_h;       /* the UTC hour at simulated time 0 */
  /* MMPP (2 states): rates rate_rps*burst_factor in the burst state, and a base rate chosen so the
   * long-run mean is rate_rps; mean sojourn times in each state. */
  double burst_factor, burst_mean_s, calm_mean_s;
  int mmpp_state;           /* internal state, 0 = calm; set to 0 before use */
  double mmpp_switch_s;     /* internal: time of the next state switch; set to -1 before use */
  double weibull_k, weibull_lambda; /* internal, derived from cv and rate by cpn_arrival_prepare */
  /* Rate schedule (appended; NULL = none). The process follows the schedule's rate by a time change:
   * it runs at unit rate in operational time Lambda(t) = integral of the schedule's rate, so Poisson
   * stays Poisson and a renewal process (gamma, weibull) keeps its CV in every window long against its
   * gaps. rate_rps and diurnal are then not used (diurnal must be NULL); MMPP is refused (its sojourn
   * times are in seconds, which a time change would stretch). Borrowed. */
  const cpn_piecewise_t *schedule;
  /* CV per window of the schedule (appended; NULL = cv throughout): the gap drawn at time t has the CV
   * of the window holding t (window 0's before the first window), so a renewal process's burstiness
   * changes with the windows as its rate does. Gamma and Weibull only. Borrowed, schedule->n entries.
   * A Weibull needs window_weibull, caller scratch of 2 * schedule->n doubles (shape and scale of each
   * window) that cpn_arrival_prepare fills. */
  const double *window_cv;
  double *window_weibull;
} cpn_arrival_t;

/* Derives internal parameters (Weibull shape/scale from cv). Returns 0, or -1 on bad parameters. */
int cpn_arrival_prepare(cpn_arrival_t *a);
double cpn_arrival_next(cpn_arrival_t *a, double now_s, gsl_rng *rng);

/* Erlang C: probability of waiting and mean response time of M/M/c with arrival rate lambda, service
 * rate mu per server. Returns -1 when unstable (lambda >= c mu). */
double cpn_erlang_c(double lambda, double mu, int c);
double cpn_mmc_mean_response_s(double lambda, double mu, int c);

#endif
