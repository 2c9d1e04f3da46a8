/* summary: the run's metrics, overall and per site, class and tenant, computed from every request that
 * arrived after the warm-up; written to /summary and printed as a readable table.
 *
 * Owns sums per group and a log-bucketed latency histogram per group (models/cpn_hist.h): memory does not
 * grow with the number of requests, and percentiles are within 0.1% of the exact ones (cpnsim-report
 * computes exact ones from /requests). Every metric is defined in models/cpn_metrics.h (shared with
 * cpnsim-report); percentiles interpolate linearly between ranks, numpy's default. */
#ifndef CPN_ACCOUNTING_SUMMARY_H
#define CPN_ACCOUNTING_SUMMARY_H

#include <stdio.h>

#include "core/error.h"
#include "output/output.h"
#include "output/record.h"

typedef struct cpn_summary cpn_summary_t;

/* Group kinds: the summary keeps one table per kind. */
enum { CPN_GROUP_OVERALL = 0, CPN_GROUP_SITE, CPN_GROUP_CLASS, CPN_GROUP_TENANT, CPN_GROUP_MODEL, CPN_GROUP_KINDS };

/* Metric columns of every /summary table, in order. */
enum {
  CPN_M_REQUESTS, CPN_M_COMPLETED, CPN_M_REJECTED, CPN_M_FAILED, CPN_M_TIMED_OUT,
  CPN_M_PROMPT_TOKENS, CPN_M_OUTPUT_TOKENS,
  CPN_M_TTFT_P50, CPN_M_TTFT_P95, CPN_M_TTFT_P99, CPN_M_TTFT_MEAN,
  CPN_M_E2E_P50, CPN_M_E2E_P95, CPN_M_E2E_P99, CPN_M_E2E_MEAN,
  CPN_M_TPOT_P50, CPN_M_TPOT_P99,
  CPN_M_SLO_ATTAINMENT, CPN_M_TOKENS_PER_S, CPN_M_COST_USD, CPN_M_COST_PER_MTOK, CPN_M_ENERGY_J,
  CPN_M_CO2_G, CPN_M_CO2_PER_MTOK, CPN_M_CROSS_BORDER_REQUESTS, CPN_M_CROSS_BORDER_BYTES,
  CPN_M_UTILISATION,
  /* Full cost (see cpn_summary_full_cost): the installed fleet's cost over the measured window. */
  CPN_M_FULL_COST_USD, CPN_M_FULL_COST_PER_MTOK, CPN_M_SITE_ENERGY_J, CPN_M_IDLE_ENERGY_J,
  CPN_M_BILL_USD, /* what the accounts are billed (tenants[].price_*_usd_per_mtok), completed requests */
  CPN_M_COUNT
};
extern const char *const cpn_metric_names[CPN_M_COUNT];

/* names[kind] lists the group names of that kind (site, class, tenant names); n[kind] their count.
 * The pointer arrays are copied; the strings are borrowed and must outlive the summary. */
cpn_err_t cpn_summary_new(cpn_summary_t **s, const char *const *const names[CPN_GROUP_KINDS],
                          const int n[CPN_GROUP_KINDS]);
void cpn_summary_free(cpn_summary_t *s);
/* Adds requests on a worker thread from now on (cpn_summary_add then only copies what it needs): the
 * same sums in the same order as without one, off the simulation's thread. Returns 1 when the worker
 * runs, 0 when none could start (requests are then added on the caller's thread, with the same result).
 * Until cpn_summary_sync, only cpn_summary_add, cpn_summary_add_bill and cpn_summary_free may be called. */
int cpn_summary_start_worker(cpn_summary_t *s);
/* Waits until every request added so far is in the sums and stops the worker; CPN_ENOMEM when a
 * latency histogram could not grow on it. Call before finish, get, write or print. */
cpn_err_t cpn_summary_sync(cpn_summary_t *s);
/* Adds one ended request; ttft/tpot SLOs of its class decide SLO attainment; bytes crossed borders. */
cpn_err_t cpn_summary_add(cpn_summary_t *s, const cpn_record_t *r, double ttft_slo_s, double tpot_slo_s,
                          double cross_border_bytes);
/* Adds a measured request's bill (after cpn_summary_add). */
void cpn_summary_add_bill(cpn_summary_t *s, const cpn_record_t *r, double usd);
/* Computes the metrics. measured_s is the measured window (duration - warm-up); site_busy_accel_s and
 * site_accels give per-site utilisation (overall utilisation is their ratio of sums). */
void cpn_summary_finish(cpn_summary_t *s, double measured_s, const double *site_busy_accel_s, const int *site_accels);
/* The full cost, after finish. Per site, over the measured window: site_full_usd (capex of the installed
 * fleet, facility electricity including idle, cross-border transfer), site_energy_j (facility energy,
 * idle included) and site_idle_j (facility energy with nothing in service). The overall row sums the
 * sites. A class, tenant or model is charged, at each site, the site's full cost in proportion to its
 * share of the site's marginal cost (cost_usd): a site that served no measured request charges no group
 * (the overall row still carries it). Energies are NaN for classes, tenants and models. */
void cpn_summary_full_cost(cpn_summary_t *s, const double *site_full_usd, const double *site_energy_j,
                           const double *site_idle_j);
/* Metric m of group g of kind k (after finish). */
double cpn_summary_get(const cpn_summary_t *s, int kind, int group, int metric);
cpn_err_t cpn_summary_write(const cpn_summary_t *s, cpn_output_t *o);
void cpn_summary_print(const cpn_summary_t *s, FILE *f);

#endif
