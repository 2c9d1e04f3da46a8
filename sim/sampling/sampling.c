/* sampling: the time series (see sampling.h). */
#include "sampling/sampling.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* power_w is accelerator (IT) power; facility_power_w = power_w x the site's PUE; energy_j is the site's
 * facility energy since time 0 (every replica's accelerator energy so far x PUE), so the last sample's
 * energy_j is what the run's energy accounts (/energy) must add up to. */
enum { TS_T, TS_BUSY, TS_QUEUE, TS_BATCH, TS_KV, TS_POWER, TS_FPOWER, TS_ENERGY, TS_COLS };
static const char *const ts_site_cols[TS_COLS] = {"t_s",     "busy_accels", "queue_len",        "batch",
                                                  "kv_used_frac", "power_w", "facility_power_w", "energy_j"};
enum { TL_COLS = 3 };
static const char *const ts_link_cols[TL_COLS] = {"t_s", "utilisation", "bytes"};

struct cpn_sampling {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  cpn_serving_t *sv;
  cpn_network_t *net;
  cpn_views_t *views;
  int n_sites, n_models, n_links;
  double dt;
  size_t n, cap;
  double *sites;     /* rows: n * n_sites, columns TS_COLS */
  double *links;     /* rows: n * n_links, columns TL_COLS */
  double *replicas;  /* rows: n * n_sites, columns 1 + n_models (t, ready replicas per model) */
  int ev_sample;
};

static void on_sample(void *ctx, const cpn_event_t *e)
{
  cpn_sampling_t *sp = ctx;
  double now = cpn_sim_now(sp->sim);
  size_t nrc = 1 + (size_t)sp->n_models;
  if (sp->n == sp->cap) {
    size_t cap = sp->cap ? sp->cap * 2 : 64;
    double *a = realloc(sp->sites, cap * sp->n_sites * TS_COLS * sizeof *a);
    if (a)
      sp->sites = a;
    double *b = realloc(sp->links, cap * (size_t)(sp->n_links ? sp->n_links : 1) * TL_COLS * sizeof *b);
    if (b)
      sp->links = b;
    double *c = realloc(sp->replicas, cap * sp->n_sites * nrc * sizeof *c);
    if (c)
      sp->replicas = c;
    if (!a || !b || !c) {
      cpn_sim_fail(sp->sim, cpn_error_set(CPN_ENOMEM, "sampling: out of memory (time series)"));
      return;
    }
    sp->cap = cap;
  }
  double *row = &sp->sites[sp->n * sp->n_sites * TS_COLS];
  for (int s = 0; s < sp->n_sites; s++) {
    double *x = &row[s * TS_COLS];
    const cpn_site_view_t *v = cpn_views_site(sp->views, s);
    memset(x, 0, TS_COLS * sizeof *x);
    x[TS_T] = now;
    x[TS_BUSY] = v->busy_accels;
    x[TS_QUEUE] = v->queued_requests;
  }
  double *rrow = &sp->replicas[sp->n * sp->n_sites * nrc];
  memset(rrow, 0, (size_t)sp->n_sites * nrc * sizeof *rrow);
  for (int i = 0; i < cpn_serving_replicas(sp->sv); i++) {
    int site = cpn_serving_site(sp->sv, i), batch;
    double power_w, kv, energy_j, idle_j;
    cpn_serving_advance(sp->sv, i);
    cpn_serving_figures(sp->sv, i, &batch, &power_w, &kv);
    cpn_serving_energy_j(sp->sv, i, &energy_j, &idle_j);
    row[site * TS_COLS + TS_BATCH] += batch;
    row[site * TS_COLS + TS_POWER] += power_w;
    row[site * TS_COLS + TS_ENERGY] += energy_j;
    row[site * TS_COLS + TS_KV] += kv;
    rrow[(size_t)site * nrc] = now;
    rrow[(size_t)site * nrc + 1 + (size_t)cpn_serving_model(sp->sv, i)] += cpn_serving_state(sp->sv, i) == CPN_REP_READY;
  }
  for (int s = 0; s < sp->n_sites; s++) {
    double *x = &row[s * TS_COLS];
    double kv_cap = cpn_serving_site_kv_cap(sp->sv, s);
    x[TS_KV] = kv_cap > 0 ? x[TS_KV] / kv_cap : 0;
    x[TS_FPOWER] = x[TS_POWER] * sp->sc->sites[s].pue;
    x[TS_ENERGY] *= sp->sc->sites[s].pue;
    cpn_views_kv(sp->views, s, x[TS_KV]);
    rrow[(size_t)s * nrc] = now;
  }
  cpn_network_sample(sp->net, now, sp->dt, &sp->links[sp->n * (size_t)sp->n_links * TL_COLS]);
  sp->n++;
  double t = now + sp->dt;
  if (t <= sp->sc->run.duration_s + sp->sc->run.drain_s && !cpn_sim_idle(sp->sim))
    cpn_sim_at(sp->sim, t, sp->ev_sample, 0, NULL, 0);
}

cpn_err_t cpn_sampling_new(cpn_sampling_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_serving_t *sv,
                           cpn_network_t *net, cpn_views_t *views)
{
  cpn_sampling_t *sp = calloc(1, sizeof *sp);
  if (!sp)
    return cpn_error_set(CPN_ENOMEM, "sampling: out of memory");
  *sp = (cpn_sampling_t){.sc = sc, .sim = sim, .sv = sv, .net = net, .views = views, .n_sites = sc->n_sites,
                         .n_models = sc->n_models, .n_links = cpn_network_links(net), .dt = sc->run.sample_interval_s};
  sp->ev_sample = cpn_sim_kind(sim, "sampling.sample", on_sample, sp);
  *out = sp;
  return CPN_OK;
}

void cpn_sampling_free(cpn_sampling_t *sp)
{
  if (!sp)
    return;
  free(sp->sites);
  free(sp->links);
  free(sp->replicas);
  free(sp);
}

cpn_err_t cpn_sampling_start(cpn_sampling_t *sp)
{
  if (sp->dt > 0)
    cpn_sim_at(sp->sim, 0.0, sp->ev_sample, 0, NULL, 0);
  return cpn_sim_error(sp->sim);
}

cpn_err_t cpn_sampling_write(const cpn_sampling_t *sp, cpn_output_t *out)
{
  const cpn_scenario_t *sc = sp->sc;
  size_t ns = sp->n * (size_t)sp->n_sites, nl = sp->n * (size_t)sp->n_links;
  const char **keys = calloc(ns > nl ? (ns ? ns : 1) : nl, sizeof *keys);
  if (!keys)
    return cpn_error_set(CPN_ENOMEM, "sampling: out of memory (time series)");
  for (size_t i = 0; i < ns; i++)
    keys[i] = sc->sites[i % (size_t)sp->n_sites].name;
  cpn_table_t t = {.path = "/timeseries/sites", .n_rows = ns, .n_cols = TS_COLS, .col_names = ts_site_cols,
                   .keys = keys, .values = sp->sites};
  cpn_err_t err = cpn_output_table(out, &t);
  if (!err) {
    /* Link rows are keyed by the link's position in /names/links. */
    char **lk = calloc(nl ? nl : 1, sizeof *lk);
    char *buf = calloc(nl ? nl : 1, 24);
    if (!lk || !buf) {
      err = cpn_error_set(CPN_ENOMEM, "sampling: out of memory (time series)");
    } else {
      for (size_t i = 0; i < nl; i++) {
        lk[i] = buf + i * 24;
        snprintf(lk[i], 24, "l%zu", i % (size_t)sp->n_links);
      }
      cpn_table_t tl = {.path = "/timeseries/links", .n_rows = nl, .n_cols = TL_COLS, .col_names = ts_link_cols,
                        .keys = (const char *const *)lk, .values = sp->links};
      err = cpn_output_table(out, &tl);
    }
    free(lk);
    free(buf);
  }
  if (!err) {
    /* Ready replicas per model at each sample: columns t_s and one per model name. */
    const char **cols = calloc(1 + (size_t)sp->n_models, sizeof *cols);
    if (!cols) {
      err = cpn_error_set(CPN_ENOMEM, "sampling: out of memory (time series)");
    } else {
      cols[0] = "t_s";
      for (int m = 0; m < sp->n_models; m++)
        cols[1 + m] = sc->models[m].name;
      cpn_table_t tr = {.path = "/timeseries/replicas", .n_rows = ns, .n_cols = 1 + (size_t)sp->n_models,
                        .col_names = cols, .keys = keys, .values = sp->replicas};
      err = cpn_output_table(out, &tr);
      free(cols);
    }
  }
  free(keys);
  return err;
}
