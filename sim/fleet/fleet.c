/* fleet: cold starts, the autoscaler and the life-cycle events (see fleet.h). */
#include "fleet/fleet.h"

#include <stdlib.h>
#include <string.h>

#include "fleet/autoscaler.h"

enum { EVK_LOAD_START, EVK_LOAD_DONE, EVK_UNLOAD };
static const char *const event_kind_names[] = {"load_start", "load_done", "unload"};

struct cpn_fleet {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  cpn_serving_t *sv;
  cpn_network_t *net;
  int n_sites, n_models;
  int *model_store;           /* per model: site holding its weights, -1 = local */
  long cold_starts;
  cpn_eventlog_t *log;        /* borrowed: the run's /events */
  const cpn_autoscaler_type_t *scaler;
  void *scaler_state;
  double *low_since;          /* per (site, model): since when the load has been low (-1: it is not) */
  cpn_scale_view_t *views;
  cpn_scale_action_t *actions;
  int ev_autoscale;
  int ev_ready;               /* a load ends after load_s or without a transfer (registered only when one can) */
};

static void log_event(cpn_fleet_t *f, int kind, int i)
{
  cpn_event_element_t e = {.site = cpn_serving_site(f->sv, i), .model = cpn_serving_model(f->sv, i),
                           .replica = cpn_serving_index_in_site(f->sv, i), .link = -1, .fault = -1};
  cpn_err_t err = cpn_eventlog_add(f->log, event_kind_names[kind], cpn_sim_now(f->sim), e, 0);
  if (err)
    cpn_sim_fail(f->sim, err);
}

static void ready(cpn_fleet_t *f, int i)
{
  log_event(f, EVK_LOAD_DONE, i);
  cpn_serving_load_done(f->sv, i);
}

/* The weights are at the site: the replica is ready now, or after the model's load_s (reading them into
 * accelerator memory, starting the engine), drawing power meanwhile as a loading replica does. */
static void load_done(void *ctx, int i)
{
  cpn_fleet_t *f = ctx;
  double load_s = f->sc->models[cpn_serving_model(f->sv, i)].load_s;
  if (load_s > 0)
    cpn_sim_at(f->sim, cpn_sim_now(f->sim) + load_s, f->ev_ready, i, NULL, 0);
  else
    ready(f, i);
}

static void on_ready(void *ctx, const cpn_event_t *e) { ready(ctx, e->idx); }

static void start_load(void *ctx, int i)
{
  cpn_fleet_t *f = ctx;
  cpn_serving_load_start(f->sv, i);
  f->cold_starts++;
  log_event(f, EVK_LOAD_START, i);
  int site = cpn_serving_site(f->sv, i), model = cpn_serving_model(f->sv, i);
  int src = f->model_store[model] >= 0 ? f->model_store[model] : site;
  /* Weights already at the site: no transfer (a SimGrid flow from a host to itself is not one), the
   * replica is ready after the model's load_s, through an event so that serving is not re-entered. */
  if (src == site)
    cpn_sim_at(f->sim, cpn_sim_now(f->sim) + f->sc->models[model].load_s, f->ev_ready, i, NULL, 0);
  else
    cpn_network_bulk(f->net, src, site, cpn_serving_weight_bytes(f->sv, i), model, i, load_done, f);
}

static void unloaded(void *ctx, int i) { log_event(ctx, EVK_UNLOAD, i); }

static void on_autoscale(void *ctx, const cpn_event_t *e)
{
  cpn_fleet_t *f = ctx;
  cpn_serving_t *sv = f->sv;
  double now = cpn_sim_now(f->sim);
  int n = 0;
  for (int s = 0; s < f->n_sites; s++)
    for (int m = 0; m < f->n_models; m++) {
      int nr = cpn_serving_group_size(sv, s, m);
      if (nr == 0)
        continue;
      cpn_scale_view_t *v = &f->views[n++];
      *v = (cpn_scale_view_t){.site = s, .model = m, .queued_requests = cpn_serving_queue_len(sv, s, m),
                              .slo_misses = cpn_serving_take_slo_misses(sv, s, m)};
      for (int k = 0; k < nr; k++) {
        int i = cpn_serving_group_replica(sv, s, m, k);
        cpn_rep_state_t st = cpn_serving_state(sv, i);
        v->ready += st == CPN_REP_READY;
        v->loading += st == CPN_REP_LOADING;
        v->unloaded += st == CPN_REP_UNLOADED;
        if (st == CPN_REP_READY)
          v->active_requests += cpn_serving_active(sv, i);
        if (st == CPN_REP_READY && !cpn_serving_busy(sv, i)) {
          v->idle_ready++;
          if (now - cpn_serving_idle_since(sv, i) > v->longest_idle_s)
            v->longest_idle_s = now - cpn_serving_idle_since(sv, i);
        }
      }
      double *low_since = &f->low_since[(size_t)s * f->n_models + m];
      int low = v->queued_requests == 0 && v->ready > 1 && v->active_requests <= 2 * (v->ready - 1);
      if (!low)
        *low_since = -1;
      else if (*low_since < 0)
        *low_since = now;
      v->low_load_s = low ? now - *low_since : 0;
    }
  int k = f->scaler->decide(f->scaler_state, now, f->views, n, f->actions, n);
  for (int a = 0; a < k && !cpn_sim_error(f->sim); a++) {
    const cpn_scale_action_t *act = &f->actions[a];
    if (act->site < 0 || act->site >= f->n_sites || act->model < 0 || act->model >= f->n_models)
      continue;
    int pick = -1, nr = cpn_serving_group_size(sv, act->site, act->model);
    for (int j = 0; j < nr; j++) {
      int i = cpn_serving_group_replica(sv, act->site, act->model, j);
      cpn_rep_state_t st = cpn_serving_state(sv, i);
      if (act->delta > 0 && st == CPN_REP_UNLOADED) {
        pick = i;
        break;
      }
      /* Unload the ready replica with the least work (it drains first if it has any). */
      if (act->delta < 0 && st == CPN_REP_READY && (pick < 0 || cpn_serving_active(sv, i) < cpn_serving_active(sv, pick)))
        pick = i;
    }
    if (pick >= 0 && act->delta > 0) {
      start_load(f, pick);
    } else if (pick >= 0) {
      f->low_since[(size_t)act->site * f->n_models + act->model] = -1;
      cpn_serving_drain(sv, pick);
    }
  }
  double t = now + (f->sc->run.autoscaler_interval_s > 0 ? f->sc->run.autoscaler_interval_s : 30);
  if (t <= f->sc->run.duration_s + f->sc->run.drain_s && !cpn_sim_idle(f->sim))
    cpn_sim_at(f->sim, t, f->ev_autoscale, 0, NULL, 0);
}

cpn_err_t cpn_fleet_new(cpn_fleet_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_serving_t *sv,
                        cpn_network_t *net, cpn_eventlog_t *log)
{
  cpn_fleet_t *f = calloc(1, sizeof *f);
  if (!f)
    return cpn_error_set(CPN_ENOMEM, "fleet: out of memory");
  *f = (cpn_fleet_t){.sc = sc, .sim = sim, .sv = sv, .net = net, .log = log, .n_sites = sc->n_sites, .n_models = sc->n_models};
  size_t nsm = (size_t)sc->n_sites * sc->n_models;
  f->model_store = calloc((size_t)sc->n_models, sizeof(int));
  f->low_since = calloc(nsm, sizeof(double));
  f->views = calloc(nsm, sizeof *f->views);
  f->actions = calloc(nsm, sizeof *f->actions);
  cpn_err_t err = CPN_OK;
  if (!f->model_store || !f->low_since || !f->views || !f->actions)
    err = cpn_error_set(CPN_ENOMEM, "fleet: out of memory (models)");
  for (size_t i = 0; !err && i < nsm; i++)
    f->low_since[i] = -1;
  for (int m = 0; !err && m < sc->n_models; m++) {
    f->model_store[m] = -1;
    if (sc->models[m].store[0]) {
      f->model_store[m] = cpn_scenario_site_index(sc, sc->models[m].store);
      if (f->model_store[m] < 0)
        err = cpn_error_set(CPN_EINVAL, "%s: models.%s.store: no site named '%s'", sc->file, sc->models[m].name,
                            sc->models[m].store);
    }
  }
  const char *as = sc->run.autoscaler;
  if (!err && as[0] && strcmp(as, "none") != 0) {
    f->scaler = cpn_autoscaler_find(as);
    if (!f->scaler)
      err = cpn_error_set(CPN_EINVAL, "%s: run.autoscaler: unknown autoscaler '%s' (known: none, queue-threshold)",
                          sc->file, as);
    else if (!(f->scaler_state = calloc(1, f->scaler->state_size ? f->scaler->state_size : 1)))
      err = cpn_error_set(CPN_ENOMEM, "fleet: out of memory (autoscaler)");
    if (!err) {
      const char *keys[64];
      int n = sc->run.n_autoscaler_params < 64 ? sc->run.n_autoscaler_params : 64;
      for (int i = 0; i < n; i++)
        keys[i] = sc->run.autoscaler_param_keys[i];
      cpn_policy_params_t prm = {.n = n, .keys = keys, .values = sc->run.autoscaler_param_values};
      if (f->scaler->init && f->scaler->init(f->scaler_state, &prm) != 0)
        err = cpn_error_set(CPN_EINVAL, "%s: run.autoscaler_params: refused by autoscaler '%s'", sc->file, as);
    }
  }
  if (err) {
    cpn_fleet_free(f);
    return err;
  }
  f->ev_autoscale = cpn_sim_kind(sim, "fleet.autoscale", on_autoscale, f);
  /* The readiness event exists only where a load can end through it (a load time, or weights at the
   * site), so that other runs keep their event kinds. */
  int cold = f->scaler != NULL;
  for (int s = 0; s < sc->n_sites && !cold; s++)
    for (int j = 0; j < sc->sites[s].n_replicas; j++)
      cold |= sc->sites[s].replicas[j].unloaded > 0;
  for (int m = 0; m < sc->n_models && cold; m++)
    if (sc->models[m].load_s > 0 || f->model_store[m] < 0) {
      f->ev_ready = cpn_sim_kind(sim, "fleet.ready", on_ready, f);
      break;
    }
  cpn_serving_on_fleet(sv, start_load, unloaded, f);
  *out = f;
  return CPN_OK;
}

void cpn_fleet_free(cpn_fleet_t *f)
{
  if (!f)
    return;
  free(f->model_store);
  free(f->low_since);
  free(f->views);
  free(f->actions);
  free(f->scaler_state);
  free(f);
}

cpn_err_t cpn_fleet_start(cpn_fleet_t *f)
{
  if (f->scaler) {
    double dt = f->sc->run.autoscaler_interval_s > 0 ? f->sc->run.autoscaler_interval_s : 30;
    cpn_sim_at(f->sim, dt, f->ev_autoscale, 0, NULL, 0);
  }
  return cpn_sim_error(f->sim);
}

long cpn_fleet_cold_starts(const cpn_fleet_t *f) { return f->cold_starts; }
