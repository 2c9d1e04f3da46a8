/* cpn_metrics: the definitions of the run metrics (see cpn_metrics.h for each one, its units and edge
 * cases). Owns nothing; depends on GSL and libm only. Every function is a pure function of its
 * arguments, so /summary and cpnsim-report agree bit for bit when given the same aggregates. */
#include "cpn_metrics.h"

#include <assert.h>
#include <math.h>

#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_statistics_float.h>

bool cpn_metric_measured(double t_arrival_s, double warmup_s)
{
  return t_arrival_s >= warmup_s; /* false for a NaN arrival */
}

double cpn_metric_window_s(double duration_s, double warmup_s)
{
  return duration_s - warmup_s;
}

double cpn_metric_ttft_s(double t_arrival_s, double t_first_token_s)
{
  return t_first_token_s - t_arrival_s;
}

double cpn_metric_e2e_s(double t_arrival_s, double t_done_s)
{
  return t_done_s - t_arrival_s;
}

double cpn_metric_tpot_s(double t_first_token_s, double t_done_s, uint64_t output_tokens)
{
  return output_tokens > 1 ? (t_done_s - t_first_token_s) / (double)(output_tokens - 1) : NAN;
}

bool cpn_metric_slo_met(bool completed, double ttft_s, double tpot_s, double ttft_slo_s, double tpot_slo_s)
{
  return completed && ttft_s <= ttft_slo_s && (isnan(tpot_s) || tpot_s <= tpot_slo_s);
}

/* GSL returns 0 for no data and reads past the array for q outside [0, 1]; the wrappers give NaN for the
 * first and treat the second as a programmer error. */
double cpn_metric_percentile(const double *sorted, size_t n, double q)
{
  assert(q >= 0 && q <= 1);
  return n ? gsl_stats_quantile_from_sorted_data(sorted, 1, n, q) : NAN;
}

double cpn_metric_percentile_f(const float *sorted, size_t n, double q)
{
  assert(q >= 0 && q <= 1);
  return n ? gsl_stats_float_quantile_from_sorted_data(sorted, 1, n, q) : NAN;
}

double cpn_metric_mean(double sum, size_t n)
{
  return n ? sum / (double)n : NAN;
}

/* A count over the measured requests of a group; NaN for an empty group. */
static double fraction(double part, double requests)
{
  return requests > 0 ? part / requests : NAN;
}

double cpn_metric_slo_attainment(double slo_met_requests, double requests)
{
  return fraction(slo_met_requests, requests);
}

double cpn_metric_completed_frac(double completed, double requests)
{
  return fraction(completed, requests);
}

double cpn_metric_tokens_per_s(double output_tokens, double window_s)
{
  return window_s > 0 ? output_tokens / window_s : NAN;
}

/* The division comes before the scaling (amount / tokens * 1e6), as both callers always computed it. */
static double per_mtok(double amount, double tokens)
{
  return tokens > 0 ? amount / tokens * 1e6 : NAN;
}

double cpn_metric_cost_usd_per_mtok(double cost_usd, double tokens)
{
  return per_mtok(cost_usd, tokens);
}

double cpn_metric_co2_g_per_mtok(double co2_g, double tokens)
{
  return per_mtok(co2_g, tokens);
}

double cpn_metric_energy_kwh_per_mtok(double energy_j, double tokens)
{
  return per_mtok(energy_j / 3.6e6, tokens);
}

double cpn_metric_utilisation(double busy_accel_s, double available_accel_s)
{
  return available_accel_s > 0 ? busy_accel_s / available_accel_s : 0;
}
