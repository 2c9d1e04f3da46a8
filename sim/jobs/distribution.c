/* distribution: model versions pushed to sites as bulk flows (see distribution.h).
 *
 * Invariants: one arrival row per (version, target site), its end set once when its flow completes; a
 * version's done time is the last of its arrivals' ends (NaN while one is missing). */
#include "jobs/distribution.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int job, version, site;
  double start_s, end_s;
} arrival_t;

struct cpn_distribution {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  const cpn_topology_t *topo;
  cpn_network_t *net;
  cpn_eventlog_t *log;     /* borrowed: the run's /events */
  arrival_t *arr;
  size_t n_arr, cap_arr;
  int *versions;           /* per job: versions started */
  double *link_bytes;      /* per link */
  int ev_push;
};

/* A version reached a site: one version_arrived row in /events (detail: the version), and a
 * version_complete row (site -1) when it was the last target site without it. */
static void arrived(void *ctx, int tag)
{
  cpn_distribution_t *d = ctx;
  arrival_t *a = &d->arr[tag];
  double now = cpn_sim_now(d->sim);
  a->end_s = now;
  cpn_event_element_t e = {.site = a->site, .model = -1, .replica = -1, .link = -1, .fault = -1};
  cpn_err_t err = cpn_eventlog_add(d->log, "version_arrived", now, e, a->version);
  int missing = 0;
  for (size_t i = 0; i < d->n_arr; i++)
    missing += d->arr[i].job == a->job && d->arr[i].version == a->version && isnan(d->arr[i].end_s);
  if (!err && !missing) {
    e.site = -1;
    err = cpn_eventlog_add(d->log, "version_complete", now, e, a->version);
  }
  if (err)
    cpn_sim_fail(d->sim, err);
}

/* A new version of job e->idx leaves its source for every target site. */
static void on_push(void *ctx, const cpn_event_t *e)
{
  cpn_distribution_t *d = ctx;
  const cpn_distribution_spec_t *j = &d->sc->distributions[e->idx];
  double now = cpn_sim_now(d->sim);
  int version = ++d->versions[e->idx];
  if (d->n_arr + (size_t)j->n_to > d->cap_arr) {
    size_t cap = d->cap_arr ? d->cap_arr * 2 : 64;
    while (cap < d->n_arr + (size_t)j->n_to)
      cap *= 2;
    arrival_t *v = realloc(d->arr, cap * sizeof *v);
    if (!v) {
      cpn_sim_fail(d->sim, cpn_error_set(CPN_ENOMEM, "distribution: out of memory"));
      return;
    }
    d->arr = v;
    d->cap_arr = cap;
  }
  for (int k = 0; k < j->n_to; k++) {
    size_t i = d->n_arr++;
    d->arr[i] = (arrival_t){e->idx, version, j->to[k], now, NAN};
    const int *links;
    int nl = cpn_topology_platform_route_links(d->topo, j->from_site, j->to[k], &links); /* SimGrid's route */
    for (int l = 0; l < nl; l++)
      d->link_bytes[links[l]] += j->bytes;
    cpn_network_bulk_kind(d->net, "distribution", j->from_site, j->to[k], j->bytes, -1, (int)i, arrived, d);
  }
  if (j->every_s > 0 && now + j->every_s < d->sc->run.duration_s)
    cpn_sim_at(d->sim, now + j->every_s, d->ev_push, e->idx, NULL, 0);
}

cpn_err_t cpn_distribution_new(cpn_distribution_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim,
                               const cpn_topology_t *topo, cpn_network_t *net, cpn_eventlog_t *log)
{
  cpn_distribution_t *d = calloc(1, sizeof *d);
  if (!d)
    return cpn_error_set(CPN_ENOMEM, "distribution: out of memory");
  *d = (cpn_distribution_t){.sc = sc, .sim = sim, .topo = topo, .net = net, .log = log};
  d->versions = calloc((size_t)(sc->n_distributions ? sc->n_distributions : 1), sizeof(int));
  d->link_bytes = calloc((size_t)(sc->n_links ? sc->n_links : 1), sizeof(double));
  if (!d->versions || !d->link_bytes) {
    cpn_distribution_free(d);
    return cpn_error_set(CPN_ENOMEM, "distribution: out of memory");
  }
  for (int i = 0; i < sc->n_distributions; i++) {
    const cpn_distribution_spec_t *j = &sc->distributions[i];
    for (int k = 0; k < j->n_to; k++)
      if (!isfinite(cpn_topology_route_latency_s(topo, j->from_site, j->to[k]))) {
        cpn_err_t err = cpn_error_set(CPN_EINVAL, "%s:%d: distribution.%s.to: no route joins '%s' to '%s'", sc->file,
                                      j->line, j->name, j->from, sc->sites[j->to[k]].name);
        cpn_distribution_free(d);
        return err;
      }
  }
  d->ev_push = cpn_sim_kind(sim, "distribution.push", on_push, d);
  *out = d;
  return CPN_OK;
}

void cpn_distribution_free(cpn_distribution_t *d)
{
  if (!d)
    return;
  free(d->arr);
  free(d->versions);
  free(d->link_bytes);
  free(d);
}

cpn_err_t cpn_distribution_start(cpn_distribution_t *d)
{
  for (int i = 0; i < d->sc->n_distributions; i++)
    if (d->sc->distributions[i].at_s < d->sc->run.duration_s + d->sc->run.drain_s)
      cpn_sim_at(d->sim, d->sc->distributions[i].at_s, d->ev_push, i, NULL, 0);
  return cpn_sim_error(d->sim);
}

cpn_err_t cpn_distribution_write(const cpn_distribution_t *d, cpn_output_t *out)
{
  const cpn_scenario_t *sc = d->sc;
  if (sc->n_distributions == 0)
    return CPN_OK;
  size_t n = d->n_arr, nv = 0;
  for (int i = 0; i < sc->n_distributions; i++)
    nv += (size_t)d->versions[i];
  double *v = calloc((n + nv + (size_t)sc->n_links + 1) * 6, sizeof *v);
  const char **keys = calloc(n + nv + (size_t)sc->n_links + 1, sizeof *keys);
  char (*lnames)[2 * CPN_NAME_MAX + 2] = calloc((size_t)sc->n_links + 1, sizeof *lnames);
  cpn_err_t err = CPN_OK;
  if (!v || !keys || !lnames)
    err = cpn_error_set(CPN_ENOMEM, "distribution: out of memory");
  if (!err) {
    static const char *const cols[] = {"version", "site", "start_s", "end_s"};
    for (size_t i = 0; i < n; i++) {
      const arrival_t *a = &d->arr[i];
      keys[i] = sc->distributions[a->job].name;
      double row[4] = {a->version, a->site, a->start_s, a->end_s};
      memcpy(&v[i * 4], row, sizeof row);
    }
    cpn_table_t t = {.path = "/distribution/arrivals", .n_rows = n, .n_cols = 4, .col_names = cols, .keys = keys,
                     .values = v};
    err = cpn_output_table(out, &t);
  }
  if (!err) {
    /* One row per version: its start, when the last site had it (NaN if one never did), the skew, and
     * how many sites had it by the end of the run. */
    static const char *const cols[] = {"version", "start_s", "done_s", "skew_s", "sites_done", "sites"};
    size_t r = 0;
    for (int j = 0; j < sc->n_distributions; j++)
      for (int ver = 1; ver <= d->versions[j]; ver++, r++) {
        double start = NAN, done = -INFINITY;
        int got = 0, all = 0;
        for (size_t i = 0; i < n; i++) {
          const arrival_t *a = &d->arr[i];
          if (a->job != j || a->version != ver)
            continue;
          start = a->start_s;
          all++;
          if (!isnan(a->end_s)) {
            got++;
            if (a->end_s > done)
              done = a->end_s;
          }
        }
        if (got < all)
          done = NAN;
        keys[r] = sc->distributions[j].name;
        double row[6] = {ver, start, done, done - start, got, all};
        memcpy(&v[r * 6], row, sizeof row);
      }
    cpn_table_t t = {.path = "/distribution/versions", .n_rows = nv, .n_cols = 6, .col_names = cols, .keys = keys,
                     .values = v};
    err = cpn_output_table(out, &t);
  }
  if (!err) {
    static const char *const cols[] = {"bytes"};
    for (int l = 0; l < sc->n_links; l++) {
      snprintf(lnames[l], sizeof lnames[l], "%s--%s", sc->links[l].a, sc->links[l].b);
      keys[l] = lnames[l];
      v[l] = d->link_bytes[l];
    }
    cpn_table_t t = {.path = "/distribution/links", .n_rows = (size_t)sc->n_links, .n_cols = 1, .col_names = cols,
                     .keys = keys, .values = v};
    err = cpn_output_table(out, &t);
  }
  free(v);
  free(keys);
  free(lnames);
  return err;
}
