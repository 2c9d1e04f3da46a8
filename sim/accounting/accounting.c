/* accounting: ending requests, conservation, attribution and the summary (see accounting.h). */
#include "accounting/accounting.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpn_metrics.h"
#include "cpn_perf.h"
#include "accounting/tariff.h"

struct cpn_accounting {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  cpn_reqs_t *reqs;
  cpn_output_t *out;
  cpn_summary_t *summary;
  void (*on_record)(const cpn_record_t *rec, void *arg);
  void *on_record_arg;
  void (*on_end)(void *ctx, const cpn_req_t *q);
  void *on_end_ctx;
  cpn_counts_t n;
  uint64_t record_below; /* a row is written when hash(id) < record_below (UINT64_MAX: every row) */
  cpn_tariff_t *tariff;
  double *site_req_energy_j;  /* facility energy of every request ended at a site (whole run) */
  double *site_xb_bytes;      /* cross-border bytes of every request ended at a site (whole run) */
  double *site_table;         /* the /energy/sites rows, CPN_FLEET_COLS per site */
};

/* /energy/sites: whole-run figures per site, from time 0 to the end of the simulation. */
enum { F_IT_J, F_FACILITY_J, F_IDLE_J, F_REQ_J, F_ACCELS, F_CAPEX, F_ELEC, F_TRANSFER, F_FULL, F_CO2, CPN_FLEET_COLS };
static const char *const fleet_cols[CPN_FLEET_COLS] = {
    "it_energy_j", "facility_energy_j", "idle_energy_j", "requests_energy_j", "accelerators",
    "capex_usd", "electricity_usd", "transfer_usd", "full_cost_usd", "co2_g"};

cpn_err_t cpn_accounting_new(cpn_accounting_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_reqs_t *reqs,
                             cpn_output_t *o, void (*on_record)(const cpn_record_t *rec, void *arg), void *arg)
{
  cpn_accounting_t *a = calloc(1, sizeof *a);
  const char **sn = calloc((size_t)sc->n_sites, sizeof *sn), **cn = calloc((size_t)sc->n_classes, sizeof *cn),
             **tn = calloc((size_t)sc->n_tenants, sizeof *tn), **mn = calloc((size_t)sc->n_models + 1, sizeof *mn);
  cpn_err_t err = CPN_OK;
  if (a) {
    a->site_req_energy_j = calloc((size_t)sc->n_sites + 1, sizeof(double));
    a->site_xb_bytes = calloc((size_t)sc->n_sites + 1, sizeof(double));
    a->site_table = calloc(((size_t)sc->n_sites + 1) * CPN_FLEET_COLS, sizeof(double));
  }
  if (!a || !sn || !cn || !tn || !mn || !a->site_req_energy_j || !a->site_xb_bytes || !a->site_table) {
    err = cpn_error_set(CPN_ENOMEM, "accounting: out of memory");
  } else {
    *a = (cpn_accounting_t){.sc = sc, .sim = sim, .reqs = reqs, .out = o, .on_record = on_record, .on_record_arg = arg,
                            .site_req_energy_j = a->site_req_energy_j, .site_xb_bytes = a->site_xb_bytes,
                            .site_table = a->site_table, .record_below = UINT64_MAX};
    if (sc->run.record_fraction > 0 && sc->run.record_fraction < 1)
      a->record_below = (uint64_t)(sc->run.record_fraction * 18446744073709551616.0);
    for (int i = 0; i < sc->n_sites; i++) sn[i] = sc->sites[i].name;
    for (int i = 0; i < sc->n_classes; i++) cn[i] = sc->classes[i].name;
    for (int i = 0; i < sc->n_tenants; i++) tn[i] = sc->tenants[i].name;
    for (int i = 0; i < sc->n_models; i++) mn[i] = sc->models[i].name;
    const char *const *names[CPN_GROUP_KINDS] = {NULL, sn, cn, tn, mn};
    int n[CPN_GROUP_KINDS] = {1, sc->n_sites, sc->n_classes, sc->n_tenants, sc->n_models};
    err = cpn_summary_new(&a->summary, names, n);
    if (!err)
      cpn_summary_start_worker(a->summary); /* sums and histograms off the simulation's thread, if it can */
    if (!err)
      err = cpn_tariff_new(&a->tariff, sc, sim);
  }
  free(sn), free(cn), free(tn), free(mn);
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
  cpn_tariff_free(a->tariff);
  free(a->site_req_energy_j);
  free(a->site_xb_bytes);
  free(a->site_table);
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
      /* Priced and weighed at the hour the request ends (flat tariffs: the site's one figure). */
      double now = cpn_sim_now(a->sim);
      rec->co2_g = kwh * cpn_tariff_co2(a->tariff, rec->site, now);
      rec->cost_usd = kwh * cpn_tariff_price(a->tariff, rec->site, now) + q->acct.accel_usd;
      a->site_req_energy_j[rec->site] += energy_j;
    }
    if (rec->cross_border)
      a->site_xb_bytes[rec->site] += q->net.bytes_in + q->net.bytes_out;
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
    /* The account's bill: completed requests at its prices per million prompt and output tokens. */
    const cpn_tenant_spec_t *t = &sc->tenants[rec->tenant];
    if (status == CPN_STATUS_COMPLETED && (t->price_in_usd_per_mtok > 0 || t->price_out_usd_per_mtok > 0))
      cpn_summary_add_bill(a->summary, rec,
                           (rec->prompt_tokens * t->price_in_usd_per_mtok + rec->output_tokens * t->price_out_usd_per_mtok) /
                               1e6);
  }
  if (a->on_end)
    a->on_end(a->on_end_ctx, q);
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
  /* Newest first, as they are listed; one that ending another released is skipped, and one it made
   * (newer than the list) is taken in the next round. */
  for (;;) {
    cpn_req_t **v;
    size_t n = cpn_reqs_select(a->reqs, NULL, NULL, &v);
    if (n == (size_t)-1) {
      cpn_sim_fail(a->sim, cpn_error_set(CPN_ENOMEM, "accounting: out of memory (ending the requests left)"));
      return;
    }
    if (n == 0)
      return;
    uint64_t newest = v[0]->pool_seq;
    for (size_t i = 0; i < n; i++) {
      if (cpn_sim_error(a->sim))
        return;
      if (v[i]->pool_seq != 0 && v[i]->pool_seq <= newest)
        cpn_accounting_end(a, v[i], status, reason);
    }
  }
}

void cpn_accounting_on_end(cpn_accounting_t *a, void (*fn)(void *ctx, const cpn_req_t *q), void *ctx)
{
  a->on_end = fn;
  a->on_end_ctx = ctx;
}

cpn_tariff_t *cpn_accounting_tariff(cpn_accounting_t *a) { return a->tariff; }

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

cpn_err_t cpn_accounting_finish(cpn_accounting_t *a, double measured_s, const double *site_busy_accel_s,
                                const int *site_accels)
{
  cpn_err_t err = cpn_summary_sync(a->summary);
  if (!err)
    cpn_summary_finish(a->summary, measured_s, site_busy_accel_s, site_accels);
  return err;
}

cpn_err_t cpn_accounting_fleet(cpn_accounting_t *a, double sim_end_s, double measured_s, const double *site_it_j,
                               const double *site_it_idle_j)
{
  const cpn_scenario_t *sc = a->sc;
  int ns = sc->n_sites;
  double *w = calloc(5 * (size_t)ns + 1, sizeof *w);
  if (!w)
    return cpn_error_set(CPN_ENOMEM, "accounting: out of memory");
  double *full = w, *energy = w + ns, *idle = w + 2 * ns, *elec = w + 3 * ns, *co2 = w + 4 * ns;
  cpn_tariff_close(a->tariff, site_it_j, elec, co2);
  /* The run's figures cover [0, sim_end_s]; the window's are the same rates over measured_s (the rule
   * utilisation follows), except transfer, which is the measured requests' own bytes. */
  double scale = sim_end_s > 0 ? measured_s / sim_end_s : 0;
  for (int i = 0; i < ns; i++) {
    const cpn_site_spec_t *s = &sc->sites[i];
    double *row = &a->site_table[(size_t)i * CPN_FLEET_COLS], accels = 0, capex = 0;
    for (int j = 0; j < s->n_pools; j++) {
      const cpn_accel_t *acc = cpn_accel_find(s->pools[j].accel);
      double price = s->pools[j].capex_usd_per_accel > 0 ? s->pools[j].capex_usd_per_accel : acc ? acc->capex_usd : 0;
      accels += s->pools[j].count;
      capex += s->pools[j].count * price;
    }
    row[F_IT_J] = site_it_j[i];
    row[F_FACILITY_J] = site_it_j[i] * s->pue;
    row[F_IDLE_J] = site_it_idle_j[i] * s->pue;
    row[F_REQ_J] = a->site_req_energy_j[i];
    row[F_ACCELS] = accels;
    row[F_CAPEX] = capex / (s->capex_lifetime_years * CPN_SECONDS_PER_YEAR) * sim_end_s;
    row[F_ELEC] = elec[i];
    row[F_CO2] = co2[i];
    row[F_TRANSFER] = a->site_xb_bytes[i] / 1e9 * s->transfer_usd_per_gb;
    row[F_FULL] = row[F_CAPEX] + row[F_ELEC] + row[F_TRANSFER];
    double xb = cpn_summary_get(a->summary, CPN_GROUP_SITE, i, CPN_M_CROSS_BORDER_BYTES);
    full[i] = (row[F_CAPEX] + row[F_ELEC]) * scale + xb / 1e9 * s->transfer_usd_per_gb;
    energy[i] = row[F_FACILITY_J] * scale;
    idle[i] = row[F_IDLE_J] * scale;
  }
  cpn_summary_full_cost(a->summary, full, energy, idle);
  free(w);
  return CPN_OK;
}

cpn_err_t cpn_accounting_write(const cpn_accounting_t *a, cpn_output_t *o)
{
  const cpn_scenario_t *sc = a->sc;
  const char **keys = calloc((size_t)sc->n_sites + 1, sizeof *keys);
  if (!keys)
    return cpn_error_set(CPN_ENOMEM, "accounting: out of memory");
  for (int i = 0; i < sc->n_sites; i++) keys[i] = sc->sites[i].name;
  cpn_table_t t = {.path = "/energy/sites", .n_rows = (size_t)sc->n_sites, .n_cols = CPN_FLEET_COLS,
                   .col_names = fleet_cols, .keys = keys, .values = a->site_table};
  cpn_err_t err = cpn_output_table(o, &t);
  free(keys);
  if (!err)
    err = cpn_summary_write(a->summary, o);
  return err;
}

double cpn_accounting_mean_response_s(const cpn_accounting_t *a)
{
  return cpn_summary_get(a->summary, CPN_GROUP_OVERALL, 0, CPN_M_E2E_MEAN);
}

const cpn_summary_t *cpn_accounting_summary(const cpn_accounting_t *a) { return a->summary; }
