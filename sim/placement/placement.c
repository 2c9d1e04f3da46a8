/* placement: eligibility, the policy call, the decision trace (see placement.h). */
#include "placement/placement.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "placement/class_index.h"

enum { DEC_COLS = 7 };
static const char *const dec_cols[DEC_COLS] = {"id", "t_s", "site", "latency_s", "load_tokens", "score", "chosen"};

struct cpn_placement {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  const cpn_policy_type_t *policy;
  void *pstate;
  gsl_rng *rng;
  cpn_views_t *views;
  cpn_network_t *net;
  cpn_accounting_t *acct;
  int n_sites, n_models;
  int *eligible;
  cpn_class_index_t *index; /* eligible sites and the policies' index without a scan (when it applies) */
  double *cached;           /* [site]: the request's cached prompt tokens (requests with block hashes) */
  double (*cached_tokens)(void *ctx, const cpn_req_t *q, int site);
  void *cached_ctx;
  long violations;
  double *decisions;        /* rows of DEC_COLS */
  size_t n_decisions, cap_decisions;
  int ev_refresh;
};

static double uniform01(void *rng) { return gsl_rng_uniform(rng); }

static int site_eligible(const cpn_placement_t *pl, const cpn_req_t *q, int s, int conf, double need_kv)
{
  const cpn_capacity_t *c = cpn_views_capacity(pl->views, s, q->rec.model);
  if (!cpn_views_site(pl->views, s)->up || c->n_replicas == 0 || (conf && c->conf_replicas == 0))
    return 0;
  if (c->max_kv_cap < need_kv)
    return 0;
  /* A request lost to a site's failure is not sent back there. */
  if (q->fault.avoid_site == s + 1)
    return 0;
  /* A site no route reaches from the request's origin cannot serve it, whatever the policy says. */
  if (!isfinite(cpn_network_latency_s(pl->net, q->rec.origin, s)))
    return 0;
  return cpn_residency_allows(&pl->sc->origins[q->rec.origin], &pl->sc->sites[s]);
}

/* The stale view: every view_refresh_s the policy's copy of the site and model views is refreshed. */
static void on_refresh(void *ctx, const cpn_event_t *e)
{
  cpn_placement_t *pl = ctx;
  double now = cpn_sim_now(pl->sim);
  cpn_views_refresh(pl->views, now);
  double t = now + pl->sc->run.view_refresh_s;
  if (t <= pl->sc->run.duration_s + pl->sc->run.drain_s && !cpn_sim_idle(pl->sim))
    cpn_sim_at(pl->sim, t, pl->ev_refresh, 0, NULL, 0);
}

cpn_err_t cpn_placement_new(cpn_placement_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim,
                            const cpn_policy_type_t *policy, cpn_views_t *views, cpn_network_t *net,
                            cpn_accounting_t *acct)
{
  cpn_placement_t *pl = calloc(1, sizeof *pl);
  if (!pl)
    return cpn_error_set(CPN_ENOMEM, "placement: out of memory");
  *pl = (cpn_placement_t){.sc = sc, .sim = sim, .policy = policy, .views = views, .net = net, .acct = acct,
                          .n_sites = sc->n_sites, .n_models = sc->n_models};
  pl->rng = cpn_rng_stream(sc->run.seed, CPN_STREAM_POLICY);
  pl->eligible = calloc((size_t)(sc->n_sites ? sc->n_sites : 1), sizeof(int));
  pl->cached = calloc((size_t)(sc->n_sites ? sc->n_sites : 1), sizeof(double));
  pl->pstate = calloc(1, policy->state_size ? policy->state_size : 1);
  cpn_err_t err = CPN_OK;
  if (!pl->rng || !pl->eligible || !pl->cached || !pl->pstate)
    err = cpn_error_set(CPN_ENOMEM, "placement: out of memory (policy state)");
  if (!err) {
    cpn_views_set_routes(views, sc->n_origins, cpn_network_latency_table(net), cpn_network_bw_table(net));
    cpn_views_set_rng(views, uniform01, pl->rng);
    const char *keys[64];
    int np = sc->run.n_policy_params < 64 ? sc->run.n_policy_params : 64;
    for (int i = 0; i < np; i++)
      keys[i] = sc->run.policy_param_keys[i];
    cpn_policy_params_t prm = {.n = np, .keys = keys, .values = sc->run.policy_param_values};
    cpn_views_refresh(views, 0.0); /* stale views start as a copy of the views at set-up */
    cpn_view_t *view = cpn_views_policy(views, 0.0);
    if (policy->init && policy->init(pl->pstate, &prm, view) != 0)
      err = cpn_error_set(CPN_EINVAL, "%s: run.policy_params: policy '%s' refused its parameters", sc->file,
                          policy->name);
    if (!err)
      err = cpn_class_index_new(&pl->index, sc, views, view, net, cpn_network_topology(net));
  }
  if (err) {
    cpn_placement_free(pl);
    return err;
  }
  pl->ev_refresh = cpn_sim_kind(sim, "placement.refresh", on_refresh, pl);
  *out = pl;
  return CPN_OK;
}

void cpn_placement_free(cpn_placement_t *pl)
{
  if (!pl)
    return;
  cpn_class_index_free(pl->index);
  if (pl->pstate && pl->policy->destroy)
    pl->policy->destroy(pl->pstate);
  free(pl->pstate);
  if (pl->rng)
    gsl_rng_free(pl->rng);
  free(pl->eligible);
  free(pl->cached);
  free(pl->decisions);
  free(pl);
}

cpn_err_t cpn_placement_start(cpn_placement_t *pl)
{
  if (pl->sc->run.view_refresh_s > 0) {
    /* Stale views: the policy reads copies refreshed every view_refresh_s (first at time 0). */
    cpn_sim_at(pl->sim, 0.0, pl->ev_refresh, 0, NULL, 0);
  }
  return cpn_sim_error(pl->sim);
}

static void trace_decision(cpn_placement_t *pl, const cpn_view_t *view, const cpn_req_t *q,
                           const cpn_request_view_t *rv, const cpn_decision_t *d)
{
  for (int i = 0; i < rv->n_eligible; i++) {
    if (pl->n_decisions == pl->cap_decisions) {
      size_t cap = pl->cap_decisions ? pl->cap_decisions * 2 : 4096;
      double *v = realloc(pl->decisions, cap * DEC_COLS * sizeof *v);
      if (!v) {
        cpn_sim_fail(pl->sim, cpn_error_set(CPN_ENOMEM, "placement: out of memory (decision trace)"));
        return;
      }
      pl->decisions = v;
      pl->cap_decisions = cap;
    }
    int s = rv->eligible[i];
    const cpn_model_view_t *mv = &view->models[(size_t)s * pl->n_models + q->rec.model];
    double score = pl->policy->score ? pl->policy->score(pl->pstate, view, rv, s) : NAN;
    double row[DEC_COLS] = {(double)q->rec.id, cpn_sim_now(pl->sim), s,
                            cpn_network_latency_s(pl->net, q->rec.origin, s),
                            mv->queued_tokens / (mv->replicas > 0 ? mv->replicas : 1), score, d->site == s};
    memcpy(&pl->decisions[pl->n_decisions++ * DEC_COLS], row, sizeof row);
  }
}

static void place(cpn_placement_t *pl, cpn_req_t *q, cpn_status_t none_status, cpn_reason_t none_reason);

/* 1 if site is in the ascending list. O(log n). */
static int listed(const int *sites, int n, int site)
{
  int lo = 0, hi = n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (sites[mid] < site)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && sites[lo] == site;
}

void cpn_placement_place(cpn_placement_t *pl, cpn_req_t *q) { place(pl, q, CPN_STATUS_REJECTED, CPN_REASON_NONE); }

void cpn_placement_retry(cpn_placement_t *pl, cpn_req_t *q, cpn_reason_t reason)
{
  place(pl, q, CPN_STATUS_FAILED, reason);
}

/* Places the request; when no site is eligible it ends with none_status and none_reason (REASON_NONE:
 * too large or no eligible site). */
static void place(cpn_placement_t *pl, cpn_req_t *q, cpn_status_t none_status, cpn_reason_t none_reason)
{
  cpn_record_t *rec = &q->rec;
  const cpn_class_spec_t *c = &pl->sc->classes[rec->cls];
  double need_kv = (double)rec->prompt_tokens + rec->output_tokens;
  int n_el = 0, too_large = 0;
  const int *el = pl->eligible;
  /* The class index gives the same eligible list without a scan, unless something about this request
   * or the run needs every site looked at: an avoided site, the decision trace (a row per eligible
   * site), cached prompt tokens (one look-up per eligible site). */
  const cpn_site_index_t *index = NULL;
  if (!q->fault.avoid_site && !pl->sc->run.decision_trace && !(q->prefix.n > 0 && pl->cached_tokens))
    index = cpn_class_index_find(pl->index, rec->origin, rec->model, c->confidential, need_kv, &n_el, &el);
  if (!index)
    for (int s = 0; s < pl->n_sites; s++) {
      if (site_eligible(pl, q, s, c->confidential, need_kv))
        pl->eligible[n_el++] = s;
      else if (cpn_views_capacity(pl->views, s, rec->model)->n_replicas > 0 &&
               cpn_views_capacity(pl->views, s, rec->model)->max_kv_cap < need_kv)
        too_large = 1;
    }
  if (n_el == 0) {
    cpn_accounting_end(pl->acct, q, none_status,
                       none_reason != CPN_REASON_NONE ? none_reason
                       : too_large                    ? CPN_REASON_TOO_LARGE
                                                      : CPN_REASON_NO_ELIGIBLE_SITE);
    return;
  }
  cpn_request_view_t rv = {.id = rec->id, .origin = rec->origin, .model = rec->model, .cls = rec->cls,
                           .class_name = c->name, .tenant = rec->tenant, .prompt_tokens = rec->prompt_tokens,
                           .output_tokens = rec->output_tokens, .ttft_slo_s = c->ttft_slo_s,
                           .tpot_slo_s = c->tpot_slo_s, .confidential = c->confidential, .n_eligible = n_el,
                           .eligible = el, .index = index};
  if (q->prefix.n > 0 && pl->cached_tokens) {
    for (int i = 0; i < n_el; i++)
      pl->cached[el[i]] = pl->cached_tokens(pl->cached_ctx, q, el[i]);
    rv.cached_tokens = pl->cached;
  }
  cpn_decision_t d = {.site = -1, .replica = -1, .score = NAN};
  cpn_view_t *view = cpn_views_policy(pl->views, cpn_sim_now(pl->sim));
  pl->policy->decide(pl->pstate, view, &rv, &d);
  if (index && cpn_class_index_failed(pl->index)) {
    cpn_sim_fail(pl->sim, cpn_error_set(CPN_ENOMEM, "placement: out of memory (latency order of the class index)"));
    cpn_accounting_end(pl->acct, q, CPN_STATUS_REJECTED, CPN_REASON_POLICY_REJECT);
    return;
  }
  if (rv.cached_tokens)
    for (int i = 0; i < n_el; i++)
      pl->cached[el[i]] = 0;
  if (pl->sc->run.decision_trace)
    trace_decision(pl, view, q, &rv, &d);
  if (d.site < 0) {
    cpn_accounting_end(pl->acct, q, CPN_STATUS_REJECTED, CPN_REASON_POLICY_REJECT);
    return;
  }
  if (!listed(el, n_el, d.site)) {
    pl->violations++;
    cpn_accounting_end(pl->acct, q, CPN_STATUS_REJECTED, CPN_REASON_POLICY_VIOLATION);
    return;
  }
  rec->site = d.site;
  rec->t_dispatch = cpn_sim_now(pl->sim);
  cpn_views_tokens(pl->views, d.site, rec->model, need_kv);
  cpn_network_upload(pl->net, q);
}

long cpn_placement_violations(const cpn_placement_t *pl) { return pl->violations; }

void cpn_placement_on_prefix(cpn_placement_t *pl, double (*cached_tokens)(void *ctx, const cpn_req_t *q, int site),
                             void *ctx)
{
  pl->cached_tokens = cached_tokens;
  pl->cached_ctx = ctx;
}

cpn_err_t cpn_placement_write(const cpn_placement_t *pl, cpn_output_t *out)
{
  if (!pl->sc->run.decision_trace)
    return CPN_OK;
  cpn_table_t t = {.path = "/decisions", .n_rows = pl->n_decisions, .n_cols = DEC_COLS, .col_names = dec_cols,
                   .values = pl->decisions};
  return cpn_output_table(out, &t);
}
