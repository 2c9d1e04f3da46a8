/* accounting: ending requests, conservation, attribution and the summary (see accounting.h). */
#include "accounting/accounting.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpn_metrics.h"

struct cpn_accounting {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  cpn_reqs_t *reqs;
  cpn_output_t *out;
  cpn_summary_t *summary;
  void (*on_record)(const cpn_record_t *rec, void *arg);
  void *on_record_arg;
  cpn_counts_t n;
  uint64_t record_below; /* a row is written when hash(id) < record_below (UINT64_MAX: every row) */
};

cpn_err_t cpn_accounting_new(cpn_accounting_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_reqs_t *reqs,
                             cpn_output_t *o, void (*on_record)(const cpn_record_t *rec, void *arg), void *arg)
{
  cpn_accounting_t *a = calloc(1, sizeof *a);
  const char **sn = calloc((size_t)sc->n_sites, sizeof *sn), **cn = calloc((size_t)sc->n_classes, sizeof *cn),
             **tn = calloc((size_t)sc->n_tenants, sizeof *tn);
  cpn_err_t err = CPN_OK;
  if (!a || !sn || !cn || !tn) {
    err = cpn_error_set(CPN_ENOMEM, "accounting: out of memory");
  } else {
    *a = (cpn_accounting_t){.sc = sc, .sim = sim, .reqs = reqs, .out = o, .on_record = on_record, .on_record_arg = arg,
                            .record_below = UINT64_MAX};
    if (sc->run.record_fraction > 0 && sc->run.record_fraction < 1)
      a->record_below = (uint64_t)(sc->run.record_fraction * 18446744073709551616.0);
    for (int i = 0; i < sc->n_sites; i++) sn[i] = sc->sites[i].name;
    for (int i = 0; i < sc->n_classes; i++) cn[i] = sc->classes[i].name;
    for (int i = 0; i < sc->n_tenants; i++) tn[i] = sc->tenants[i].name;
    const char *const *names[CPN_GROUP_KINDS] = {NULL, sn, cn, tn};
    int n[CPN_GROUP_KINDS] = {1, sc->n_sites, sc->n_classes, sc->n_tenants};
    err = cpn_summary_new(&a->summary, names, n);
  }
  free(sn), free(cn), free(tn);
  if (err) {
    cpn_accounting_free(a);
    return err;
  }
  *out = a;
  return CPN_OK;
}

void cpn_accounting_free(cpn_accounting_t *a)
{
  if (!a)
    return;
  cpn_summary_free(a->summary);
  free(a);
}

void cpn_accounting_set_output(cpn_accounting_t *a, cpn_output_t *o) { a->out = o; }

void cpn_accounting_arrive(cpn_accounting_t *a, const cpn_req_t *q)
{
  a->n.arrived++;
  a->n.arrived_prompt_tokens += q->rec.prompt_tokens;
  a->n.arrived_output_tokens += q->rec.output_tokens;
}

/* Whether the request's row goes to /requests: all of them, or a fraction chosen by a hash of the id
 * (splitmix64), so that a sampled file holds the same requests whatever the policy. */
static int recorded(const cpn_accounting_t *a, uint64_t id)
{
  if (a->record_below == UINT64_MAX)
    return 1;
  uint64_t z = id + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return z < a->record_below;
}

void cpn_accounting_end(cpn_accounting_t *a, cpn_req_t *q, cpn_status_t status, cpn_reason_t reason)
{
  const cpn_scenario_t *sc = a->sc;
  cpn_record_t *rec = &q->rec;
  rec->status = (uint8_t)status;
  rec->reason = (uint8_t)reason;
  if (rec->site >= 0) {
    const cpn_site_spec_t *s = &sc->sites[rec->site];
    const cpn_origin_spec_t *o = &sc->origins[rec->origin];
    rec->cross_border = strcmp(s->country, o->country) != 0;
    if (status == CPN_STATUS_COMPLETED) {
      /* Facility energy = accelerator energy x PUE; cost = accelerator time + electricity. */
      double energy_j = q->acct.energy_j * s->pue;
      double kwh = energy_j / 3.6e6;
      rec->energy_j = energy_j;
      rec->co2_g = kwh * s->co2_g_per_kwh;
      rec->cost_usd = kwh * s->price_usd_per_kwh + q->acct.accel_usd;
    }
  }
  a->n.ended_prompt_tokens += rec->prompt_tokens;
  a->n.ended_output_tokens += rec->output_tokens;
  switch (status) {
  case CPN_STATUS_COMPLETED: a->n.completed++; break;
  case CPN_STATUS_REJECTED: a->n.rejected++; break;
  case CPN_STATUS_FAILED: a->n.failed++; break;
  default: a->n.timed_out++; break;
  }
  if (a->out && !cpn_sim_error(a->sim) && recorded(a, rec->id))
    cpn_sim_fail(a->sim, cpn_output_request(a->out, rec));
  if (cpn_metric_measured(rec->t_arrival, sc->run.warmup_s) && !cpn_sim_error(a->sim)) {
    const cpn_class_spec_t *c = &sc->classes[rec->cls];
    cpn_sim_fail(a->sim, cpn_summary_add(a->summary, rec, c->ttft_slo_s, c->tpot_slo_s,
                                         q->net.bytes_in + q->net.bytes_out));
  }
  cpn_reqs_release(a->reqs, q);
}

void cpn_accounting_complete(cpn_accounting_t *a, cpn_req_t *q)
{
  if (a->on_record)
    a->on_record(&q->rec, a->on_record_arg);
  cpn_accounting_end(a, q, CPN_STATUS_COMPLETED, CPN_REASON_NONE);
}

void cpn_accounting_end_all(cpn_accounting_t *a, cpn_status_t status, cpn_reason_t reason)
{
  cpn_req_t *q;
  while ((q = cpn_reqs_first(a->reqs)) && !cpn_sim_error(a->sim))
    cpn_accounting_end(a, q, status, reason);
}

const cpn_counts_t *cpn_accounting_counts(const cpn_accounting_t *a) { return &a->n; }

cpn_err_t cpn_accounting_check(const cpn_accounting_t *a)
{
  const cpn_counts_t *n = &a->n;
  long ended = n->completed + n->rejected + n->failed + n->timed_out;
  if (ended != n->arrived || n->ended_prompt_tokens != n->arrived_prompt_tokens ||
      n->ended_output_tokens != n->arrived_output_tokens)
    return cpn_error_set(CPN_EINVARIANT,
                         "conservation broken: arrived %ld requests (%.0f prompt, %.0f output tokens), ended %ld "
                         "(%.0f prompt, %.0f output tokens)",
                         n->arrived, n->arrived_prompt_tokens, n->arrived_output_tokens, ended,
                         n->ended_prompt_tokens, n->ended_output_tokens);
  return CPN_OK;
}

void cpn_accounting_finish(cpn_accounting_t *a, double measured_s, const double *site_busy_accel_s,
                           const int *site_accels)
{
  cpn_summary_finish(a->summary, measured_s, site_busy_accel_s, site_accels);
}

double cpn_accounting_mean_response_s(const cpn_accounting_t *a)
{
  return cpn_summary_get(a->summary, CPN_GROUP_OVERALL, 0, CPN_M_E2E_MEAN);
}

const cpn_summary_t *cpn_accounting_summary(const cpn_accounting_t *a) { return a->summary; }
