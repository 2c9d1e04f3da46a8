/* view: the policies' view of the network (see view.h). */
#include "placement/view.h"

#include <stdlib.h>
#include <string.h>

struct cpn_views {
  int n_sites, n_models;
  cpn_site_view_t *sites;
  cpn_model_view_t *models;
  cpn_site_view_t *snap_sites; /* NULL: policies read the live views */
  cpn_model_view_t *snap_models;
  cpn_capacity_t *cap;
  cpn_view_t view;
  int n_down;                  /* sites with up == 0 */
  void (*load_changed)(void *ctx, int site, int model);
  void *load_ctx;
};

cpn_err_t cpn_views_new(cpn_views_t **out, const cpn_scenario_t *sc, int stale)
{
  cpn_views_t *v = calloc(1, sizeof *v);
  if (!v)
    return cpn_error_set(CPN_ENOMEM, "views: out of memory");
  v->n_sites = sc->n_sites;
  v->n_models = sc->n_models;
  size_t nsm = (size_t)sc->n_sites * sc->n_models;
  v->sites = calloc((size_t)sc->n_sites, sizeof *v->sites);
  v->models = calloc(nsm, sizeof *v->models);
  v->cap = calloc(nsm, sizeof *v->cap);
  if (stale) {
    v->snap_sites = calloc((size_t)sc->n_sites, sizeof *v->snap_sites);
    v->snap_models = calloc(nsm, sizeof *v->snap_models);
  }
  if (!v->sites || !v->models || !v->cap || (stale && (!v->snap_sites || !v->snap_models))) {
    cpn_views_free(v);
    return cpn_error_set(CPN_ENOMEM, "views: out of memory");
  }
  for (int s = 0; s < sc->n_sites; s++) {
    const cpn_site_spec_t *ss = &sc->sites[s];
    cpn_site_view_t *x = &v->sites[s];
    x->name = ss->name;
    x->region = ss->region;
    x->country = ss->country;
    x->up = 1;
    for (int k = 0; k < ss->n_pools; k++)
      x->total_accels += ss->pools[k].count;
    x->price_usd_per_kwh = ss->price_usd_per_kwh;
    x->co2_g_per_kwh = ss->co2_g_per_kwh;
    x->pue = ss->pue;
  }
  v->view = (cpn_view_t){.n_sites = v->n_sites, .sites = stale ? v->snap_sites : v->sites, .n_models = v->n_models,
                         .models = stale ? v->snap_models : v->models};
  *out = v;
  return CPN_OK;
}

void cpn_views_free(cpn_views_t *v)
{
  if (!v)
    return;
  free(v->sites);
  free(v->models);
  free(v->snap_sites);
  free(v->snap_models);
  free(v->cap);
  free(v);
}

void cpn_views_set_routes(cpn_views_t *v, int n_origins, const double *latency_s, const double *bw_bps)
{
  v->view.n_origins = n_origins;
  v->view.route_latency_s = latency_s;
  v->view.route_bw_bps = bw_bps;
}

void cpn_views_set_rng(cpn_views_t *v, double (*uniform01)(void *rng), void *rng)
{
  v->view.uniform01 = uniform01;
  v->view.rng = rng;
}

void cpn_views_add_replica(cpn_views_t *v, int site, int model, int conf, double kv_cap, int accels,
                           double prefill_s_per_ktok, double decode_step_s, double energy_j_per_token,
                           double usd_per_hour)
{
  (void)accels;
  size_t i = (size_t)site * v->n_models + model;
  cpn_capacity_t *c = &v->cap[i];
  c->n_replicas++;
  c->conf_replicas += conf;
  if (kv_cap > c->max_kv_cap)
    c->max_kv_cap = kv_cap;
  cpn_model_view_t *mv = &v->models[i];
  mv->replicas++;
  mv->prefill_s_per_ktok = prefill_s_per_ktok;
  mv->decode_step_s = decode_step_s;
  mv->energy_j_per_token = energy_j_per_token;
  mv->usd_per_hour = usd_per_hour;
}

void cpn_views_queued(cpn_views_t *v, int site, int model, int d_requests)
{
  v->models[(size_t)site * v->n_models + model].queued_requests += d_requests;
  v->sites[site].queued_requests += d_requests;
}

void cpn_views_tokens(cpn_views_t *v, int site, int model, double d_tokens)
{
  v->models[(size_t)site * v->n_models + model].queued_tokens += d_tokens;
  v->sites[site].queued_tokens += d_tokens;
  if (v->load_changed && !v->snap_sites)
    v->load_changed(v->load_ctx, site, model);
}

void cpn_views_busy(cpn_views_t *v, int site, int d_accels) { v->sites[site].busy_accels += d_accels; }
void cpn_views_kv(cpn_views_t *v, int site, double used_frac) { v->sites[site].kv_used_frac = used_frac; }

const cpn_site_view_t *cpn_views_site(const cpn_views_t *v, int site) { return &v->sites[site]; }
const cpn_model_view_t *cpn_views_model(const cpn_views_t *v, int site, int model)
{
  return &v->models[(size_t)site * v->n_models + model];
}
const cpn_capacity_t *cpn_views_capacity(const cpn_views_t *v, int site, int model)
{
  return &v->cap[(size_t)site * v->n_models + model];
}

cpn_view_t *cpn_views_policy(cpn_views_t *v, double now_s)
{
  v->view.now_s = now_s;
  if (!v->snap_sites)
    v->view.view_time_s = now_s;
  return &v->view;
}

void cpn_views_energy_prices(cpn_views_t *v, int site, double usd_per_kwh, double co2_g_per_kwh)
{
  v->sites[site].price_usd_per_kwh = usd_per_kwh;
  v->sites[site].co2_g_per_kwh = co2_g_per_kwh;
}

void cpn_views_refresh(cpn_views_t *v, double now_s)
{
  if (!v->snap_sites)
    return;
  memcpy(v->snap_sites, v->sites, (size_t)v->n_sites * sizeof *v->sites);
  memcpy(v->snap_models, v->models, (size_t)v->n_sites * v->n_models * sizeof *v->models);
  v->view.view_time_s = now_s;
  if (v->load_changed)
    v->load_changed(v->load_ctx, -1, -1);
}

void cpn_views_set_up(cpn_views_t *v, int site, int up)
{
  if (!v->sites[site].up != !up)
    v->n_down += up ? -1 : 1;
  v->sites[site].up = up;
}

int cpn_views_n_down(const cpn_views_t *v) { return v->n_down; }

void cpn_views_on_load(cpn_views_t *v, void (*changed)(void *ctx, int site, int model), void *ctx)
{
  v->load_changed = changed;
  v->load_ctx = ctx;
}
