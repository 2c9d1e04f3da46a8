/* view: the state of the network as policies see it (cpnsim/policy.h's cpn_view_t), and what the engine
 * needs to decide eligibility. Serving and sampling report changes through the functions below; the
 * placement stage reads it, fresh or as the copy of the last refresh (stale views).
 *
 * Owns: the live site and model views, their stale copies, and the capacity table (replicas of a model
 * at a site, how many are confidential, the largest KV capacity), which policies do not see. */
#ifndef CPN_PLACEMENT_VIEW_H
#define CPN_PLACEMENT_VIEW_H

#include "config/scenario.h"
#include "core/error.h"
#include "cpnsim/policy.h"

typedef struct cpn_views cpn_views_t;

typedef struct {
  int n_replicas;      /* replicas of the model at the site, loaded or not */
  int conf_replicas;   /* of which on confidential pools */
  double max_kv_cap;   /* KV tokens of the largest of them */
} cpn_capacity_t;

/* Views of the scenario's sites (names, prices, PUE filled in) with no replica; `stale` keeps a copy for
 * policies that is refreshed by cpn_views_refresh only. */
cpn_err_t cpn_views_new(cpn_views_t **out, const cpn_scenario_t *sc, int stale);
void cpn_views_free(cpn_views_t *v);

/* Routes as policies see them: one-way latency and bandwidth, [origin * n_sites + site] (borrowed). */
void cpn_views_set_routes(cpn_views_t *v, int n_origins, const double *latency_s, const double *bw_bps);

/* Set-up: a replica of `model` at `site` was built with these figures. */
void cpn_views_add_replica(cpn_views_t *v, int site, int model, int conf, double kv_cap, int accels,
                           double prefill_s_per_ktok, double decode_step_s, double energy_j_per_token,
                           double usd_per_hour);

/* Run time, from serving and sampling. */
void cpn_views_queued(cpn_views_t *v, int site, int model, int d_requests);
void cpn_views_tokens(cpn_views_t *v, int site, int model, double d_tokens);
void cpn_views_busy(cpn_views_t *v, int site, int d_accels);
void cpn_views_kv(cpn_views_t *v, int site, double used_frac);
/* Electricity price and grid carbon intensity in force at the site from now on (the tariff's hours). */
void cpn_views_energy_prices(cpn_views_t *v, int site, double usd_per_kwh, double co2_g_per_kwh);

/* Faults: the site is known to be down (0) or up again (1); eligibility and policies read it. */
void cpn_views_set_up(cpn_views_t *v, int site, int up);
/* How many sites are down now. */
int cpn_views_n_down(const cpn_views_t *v);
/* Sets the hook told when a load the policies read changes: (site, model) after each change of its
 * queued tokens with live views; (-1, -1) after each refresh with stale views (every load may differ). */
void cpn_views_on_load(cpn_views_t *v, void (*changed)(void *ctx, int site, int model), void *ctx);
const cpn_site_view_t *cpn_views_site(const cpn_views_t *v, int site);
const cpn_model_view_t *cpn_views_model(const cpn_views_t *v, int site, int model);
const cpn_capacity_t *cpn_views_capacity(const cpn_views_t *v, int site, int model);

/* The view a policy reads now (stale copy or live), with now_s and view_time_s set. */
cpn_view_t *cpn_views_policy(cpn_views_t *v, double now_s);
/* Copies the live views into the stale ones (no-op without stale views). */
void cpn_views_refresh(cpn_views_t *v, double now_s);
/* Sets the policy's random stream (tie-breaks). */
void cpn_views_set_rng(cpn_views_t *v, double (*uniform01)(void *rng), void *rng);

#endif
