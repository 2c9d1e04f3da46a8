/* accounting: where every request ends, exactly once, with a status and a reason.
 *
 * Ending a request attributes its facility energy (accelerator energy x PUE), carbon and cost (its
 * replica time plus electricity), writes its row to /requests, adds it to the summary when it arrived
 * after the warm-up, and returns it to the pool. At the end it adds the fleet's side: idle energy and the
 * full cost of the installed fleet (capex, electricity incl. idle, cross-border transfer), per site, and
 * shared out to classes, tenants and models by their marginal cost. Accounting also counts what arrived, so that the run
 * can check conservation: what arrived (count, prompt and output tokens) equals what ended.
 *
 * Owns: the counts of arrived and ended requests and tokens, the summary, the mean response time. */
#ifndef CPN_ACCOUNTING_ACCOUNTING_H
#define CPN_ACCOUNTING_ACCOUNTING_H

#include <stdio.h>

#include "accounting/summary.h"
#include "accounting/tariff.h"
#include "config/scenario.h"
#include "core/event.h"
#include "output/output.h"
#include "request/request.h"

typedef struct cpn_accounting cpn_accounting_t;

typedef struct {
  long arrived, completed, rejected, failed, timed_out;
  double arrived_prompt_tokens, arrived_output_tokens;
  double ended_prompt_tokens, ended_output_tokens;
} cpn_counts_t;

/* `out` (may be NULL) receives the /requests rows; on_record (may be NULL) sees every completed request
 * before it is written. */
cpn_err_t cpn_accounting_new(cpn_accounting_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_reqs_t *reqs,
                             cpn_output_t *o, void (*on_record)(const cpn_record_t *rec, void *arg), void *arg);
void cpn_accounting_free(cpn_accounting_t *a);

/* The result file that receives /requests rows from now on (it opens after set-up). */
void cpn_accounting_set_output(cpn_accounting_t *a, cpn_output_t *o);
/* A request has arrived (sources). */
void cpn_accounting_arrive(cpn_accounting_t *a, const cpn_req_t *q);
/* The request's reply has reached its user: it ends completed. */
void cpn_accounting_complete(cpn_accounting_t *a, cpn_req_t *q);
/* The request ends with this status and reason. */
void cpn_accounting_end(cpn_accounting_t *a, cpn_req_t *q, cpn_status_t status, cpn_reason_t reason);
/* Every live request ends with this status and reason (end of the run). */
void cpn_accounting_end_all(cpn_accounting_t *a, cpn_status_t status, cpn_reason_t reason);

const cpn_counts_t *cpn_accounting_counts(const cpn_accounting_t *a);
/* Hook called for every request as it ends, after its row is written (the gateway counts what is in
 * flight). */
void cpn_accounting_on_end(cpn_accounting_t *a, void (*fn)(void *ctx, const cpn_req_t *q), void *ctx);
/* The hourly prices and carbon intensities (owned by accounting; run/ sets its hooks and starts it). */
cpn_tariff_t *cpn_accounting_tariff(cpn_accounting_t *a);
/* Conservation: CPN_OK, or CPN_EINVARIANT with a message giving both totals. */
cpn_err_t cpn_accounting_check(const cpn_accounting_t *a);
/* Computes the summary (see cpn_summary_sync, cpn_summary_finish): CPN_ENOMEM when its histograms
 * could not grow; then the mean response time of measured completions. */
cpn_err_t cpn_accounting_finish(cpn_accounting_t *a, double measured_s, const double *site_busy_accel_s,
                                const int *site_accels);
double cpn_accounting_mean_response_s(const cpn_accounting_t *a);

/* Seconds in a (Julian) year, the unit of capex lifetimes. */
#define CPN_SECONDS_PER_YEAR (365.25 * 86400.0)

/* Energy and full cost, after finish. site_it_j and site_it_idle_j are each site's accelerator energy
 * over the whole run and the part drawn with nothing in service (serving). Fills the whole-run
 * /energy/sites table (facility energy = IT x PUE; idle; the requests' own energies, which with idle add
 * up to the facility energy; capex amortised over sites[].capex_lifetime_years for every accelerator of
 * the pools, loaded or not; electricity incl. idle; cross-border transfer; their sum, the full cost)
 * and the summary's full cost over the measured window (cpn_summary_full_cost). */
cpn_err_t cpn_accounting_fleet(cpn_accounting_t *a, double sim_end_s, double measured_s, const double *site_it_j,
                               const double *site_it_idle_j);
/* Writes /energy/sites and the summary tables. */
cpn_err_t cpn_accounting_write(const cpn_accounting_t *a, cpn_output_t *o);
const cpn_summary_t *cpn_accounting_summary(const cpn_accounting_t *a);

#endif
