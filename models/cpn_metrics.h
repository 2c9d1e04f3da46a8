/* cpn_metrics: the one definition of each run metric, shared by the engine's summary
 * (sim/accounting/summary.c: /summary and the printed table) and the report tool
 * (analysis/cpnsim_report.c: summary, compare, check from result files).
 *
 * What it is for: the two used to carry their own copies of these formulas, which drifted apart once;
 * now both call these functions, so a metric means the same in /summary and in cpnsim-report.
 * What it owns: nothing. Pure functions of their arguments (GSL and libc only), no state, no allocation.
 * Invariants: a metric that has no samples or no denominator is NaN (printed "-"), except utilisation,
 * which is 0 without capacity. Times are simulated seconds; tokens are counts; costs USD; CO2 grams.
 *
 * Callers aggregate (count, sum, sort) per group themselves, each in its own storage; this module says
 * what is computed from those aggregates. */
#ifndef CPN_MODELS_CPN_METRICS_H
#define CPN_MODELS_CPN_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- measured window ---------------------------------------------------------------------------- */

/* A request is measured when it arrived at or after the warm-up: t_arrival_s >= warmup_s. A NaN arrival
 * is never measured. Every metric below is over measured requests only. */
bool cpn_metric_measured(double t_arrival_s, double warmup_s);

/* The measured window's length, duration_s - warmup_s (arrivals stop at duration_s). The denominator of
 * tokens_per_s and of accelerator capacity. */
double cpn_metric_window_s(double duration_s, double warmup_s);

/* ---- per-request latencies (completed requests) ------------------------------------------------- */

/* Time to first token: t_first_token_s - t_arrival_s, the first token as delivered to the user. */
double cpn_metric_ttft_s(double t_arrival_s, double t_first_token_s);

/* End-to-end latency: t_done_s - t_arrival_s, the last token as delivered to the user. */
double cpn_metric_e2e_s(double t_arrival_s, double t_done_s);

/* Time per output token: (t_done_s - t_first_token_s) / (output_tokens - 1), the mean gap between the
 * first and the last delivered token. Both times are delivery times, so the return latency cancels.
 * NaN when output_tokens < 2 (one token has no gap): such a request has no TPOT sample and meets any
 * TPOT deadline (see cpn_metric_slo_met). */
double cpn_metric_tpot_s(double t_first_token_s, double t_done_s, uint64_t output_tokens);

/* Whether one request met its class's SLO: it completed, ttft_s <= ttft_slo_s and tpot_s <= tpot_slo_s
 * (deadlines inclusive: a request exactly at the deadline meets it). A NaN tpot_s (fewer than two
 * output tokens) meets the TPOT deadline; a request that did not complete never meets the SLO. */
bool cpn_metric_slo_met(bool completed, double ttft_s, double tpot_s, double ttft_slo_s, double tpot_slo_s);

/* ---- distributions ------------------------------------------------------------------------------ */

/* The q-quantile (0 <= q <= 1; p99 is q = 0.99) of n values sorted ascending, by linear interpolation
 * between closest ranks, numpy's default (np.percentile(x, 100 * q)):
 *   i = q * (n - 1), lo = floor(i), value = (1 - (i - lo)) * v[lo] + (i - lo) * v[lo + 1]
 * (v[n - 1] when lo = n - 1). Computed by GSL's gsl_stats_quantile_from_sorted_data. NaN when n = 0;
 * the single value when n = 1. The values must be finite. Cost O(1). */
double cpn_metric_percentile(const double *sorted, size_t n, double q);

/* The same rule over single-precision values (the engine keeps its samples as floats); the
 * interpolation is computed in double. */
double cpn_metric_percentile_f(const float *sorted, size_t n, double q);

/* The arithmetic mean from a sum and a count: sum / n, NaN when n = 0. Callers sum in double in the
 * order requests ended (the /requests row order), so the engine and the report get the same bits. */
double cpn_metric_mean(double sum, size_t n);

/* ---- ratios over a group ------------------------------------------------------------------------ */

/* SLO attainment: requests that met their SLO / measured requests (all statuses: a rejected, failed
 * or timed-out request counts as a miss). NaN when there are no measured requests. */
double cpn_metric_slo_attainment(double slo_met_requests, double requests);

/* Completed fraction: completed / measured requests; NaN when there are none. */
double cpn_metric_completed_frac(double completed, double requests);

/* Output throughput: output tokens of completed requests / window_s (tokens/s); NaN when the window
 * is empty (window_s <= 0). */
double cpn_metric_tokens_per_s(double output_tokens, double window_s);

/* Amounts per million tokens. `tokens` is prompt + output tokens of the *completed* measured requests,
 * while the amount is summed over *every* measured request (a failed request's cost is still paid, by
 * the tokens that were served). NaN when tokens = 0 (nothing completed). Computed as
 * amount / tokens * 1e6. */
double cpn_metric_cost_usd_per_mtok(double cost_usd, double tokens);
double cpn_metric_co2_g_per_mtok(double co2_g, double tokens);
/* Energy in kWh (energy_j / 3.6e6) per million tokens. */
double cpn_metric_energy_kwh_per_mtok(double energy_j, double tokens);

/* Accelerator utilisation: busy accelerator-seconds / available accelerator-seconds, in [0, 1] for a
 * site (available = accelerators x window_s); overall, the sums over sites of both (so a big site
 * weighs more). 0 when nothing is available (no accelerators or an empty window). */
double cpn_metric_utilisation(double busy_accel_s, double available_accel_s);

#endif
