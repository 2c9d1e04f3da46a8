/* faults: link and site outages, degraded links, failover (see faults.h).
 *
 * Invariants: a link is down while at least one cut of it lasts, a site while at least one of its
 * outages lasts; every request lost to a fault is either placed again or ended, at once, so nothing is
 * lost from the accounting; the view's tokens of a lost request are returned when it had not yet left
 * its site (serving returns them when it completes). */
#include "faults/faults.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

/* At most this many occurrences in a run (random faults with a tiny MTBF are refused). */
#define MAX_OCCURRENCES 1000000

enum { LINK_DOWN, LINK_UP, LINK_DEGRADED, LINK_RESTORED, SITE_DOWN, SITE_UP, SITE_DETECTED, N_KINDS };
static const char *const kind_names[N_KINDS] = {"link_down", "link_up",     "link_degraded", "link_restored",
                                                "site_down", "site_up",     "site_detected"};

typedef struct {
  double t_s;
  int fault, begin;
} occurrence_t;

typedef struct {
  int kind;
  double t_s;
  int site, link;
  long lost;
} row_t;

struct cpn_faults {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  cpn_topology_t *topo;
  cpn_network_t *net;
  cpn_serving_t *sv;
  cpn_views_t *views;
  cpn_placement_t *pl;
  cpn_reqs_t *reqs;
  cpn_accounting_t *acct;
  cpn_eventlog_t *log;     /* borrowed: the run's /events */
  occurrence_t *occ;
  size_t n_occ;
  int *link_cuts, *link_degrades, *site_downs;
  double *link_degrade_frac;
  uint64_t *site_gen;
  cpn_req_t **scratch;
  size_t cap_scratch;
  row_t *rows;
  size_t n_rows, cap_rows;
  cpn_fault_counts_t counts;
  long begun[3], ended[3]; /* occurrences begun and ended: cuts, site outages, degradations */
  int ev_change, ev_detect;
};

static int reason_index(cpn_reason_t r) { return r == CPN_REASON_SITE_FAILURE; }

static void log_row(cpn_faults_t *f, int kind, int site, int link, long lost)
{
  if (f->n_rows == f->cap_rows) {
    size_t cap = f->cap_rows ? f->cap_rows * 2 : 64;
    row_t *v = realloc(f->rows, cap * sizeof *v);
    if (!v) {
      cpn_sim_fail(f->sim, cpn_error_set(CPN_ENOMEM, "faults: out of memory (rows)"));
      return;
    }
    f->rows = v;
    f->cap_rows = cap;
  }
  f->rows[f->n_rows++] = (row_t){kind, cpn_sim_now(f->sim), site, link, lost};
}

/* One row of /events for an occurrence of fault `fault` (or a detection: fault -1). */
static void log_event(cpn_faults_t *f, int kind, int site, int link, int fault, double detail)
{
  cpn_event_element_t e = {.site = site, .model = -1, .replica = -1, .link = link, .fault = fault};
  cpn_err_t err = cpn_eventlog_add(f->log, kind_names[kind], cpn_sim_now(f->sim), e, detail);
  if (err)
    cpn_sim_fail(f->sim, err);
}

/* The request is lost to a fault: placed again elsewhere, or ended `failed`. */
static void lose(cpn_faults_t *f, cpn_req_t *q, cpn_reason_t reason, int avoid_site)
{
  int r = reason_index(reason);
  if (q->net.phase == CPN_NET_UPLOAD || q->net.phase == CPN_NET_AT_SITE)
    cpn_views_tokens(f->views, q->rec.site, q->rec.model, -((double)q->rec.prompt_tokens + q->rec.output_tokens));
  q->net.phase = CPN_NET_NONE;
  cpn_serving_forget(q);
  f->counts.lost[r]++;
  if (q->fault.retries >= f->sc->faults.max_retries) {
    f->counts.failed[r]++;
    cpn_accounting_end(f->acct, q, CPN_STATUS_FAILED, reason);
    return;
  }
  q->fault.retries++;
  f->counts.retried[r]++;
  if (avoid_site >= 0)
    q->fault.avoid_site = avoid_site + 1;
  q->rec.replica = -1;
  q->rec.t_first_token = NAN;
  q->rec.t_done = NAN;
  q->rec.net_in_s = q->rec.net_out_s = 0;
  long ended_before = cpn_accounting_counts(f->acct)->failed;
  cpn_placement_retry(f->pl, q, reason);
  if (cpn_accounting_counts(f->acct)->failed != ended_before) {
    /* No site is left for it: it ended failed after all. */
    f->counts.retried[r]--;
    f->counts.failed[r]++;
  }
}

/* Collects the live requests that `match` selects, newest first, into scratch (handling one may release
 * another or make new ones). */
struct match_ctx {
  const cpn_faults_t *f;
  int (*match)(const cpn_faults_t *f, const cpn_req_t *q, int arg);
  int arg;
};

static int keep_match(const cpn_req_t *q, void *ctx)
{
  const struct match_ctx *m = ctx;
  return m->match(m->f, q, m->arg);
}

static size_t collect(cpn_faults_t *f, int (*match)(const cpn_faults_t *f, const cpn_req_t *q, int arg), int arg)
{
  cpn_req_t **v;
  size_t n = cpn_reqs_select(f->reqs, keep_match, &(struct match_ctx){.f = f, .match = match, .arg = arg}, &v);
  if (n != (size_t)-1 && n > f->cap_scratch) {
    cpn_req_t **s = realloc(f->scratch, n * sizeof *s);
    if (s) {
      f->scratch = s;
      f->cap_scratch = n;
    } else {
      n = (size_t)-1;
    }
  }
  if (n == (size_t)-1) {
    cpn_sim_fail(f->sim, cpn_error_set(CPN_ENOMEM, "faults: out of memory"));
    return 0;
  }
  if (n)
    memcpy(f->scratch, v, n * sizeof *v);
  return n;
}

static int crossing(const cpn_faults_t *f, const cpn_req_t *q, int link)
{
  return (q->net.phase == CPN_NET_UPLOAD || q->net.phase == CPN_NET_REPLY) &&
         cpn_network_route_uses(f->net, q->rec.origin, q->rec.site, link);
}

static int at_site(const cpn_faults_t *f, const cpn_req_t *q, int site)
{
  return q->net.phase == CPN_NET_AT_SITE && q->rec.site == site;
}

static long link_down(cpn_faults_t *f, int link)
{
  size_t n = collect(f, crossing, link);
  cpn_err_t err = cpn_topology_set_link_up(f->topo, link, 0);
  if (err) {
    cpn_sim_fail(f->sim, err);
    return 0;
  }
  cpn_network_reroute(f->net);
  cpn_network_set_bw_fraction(f->net, link, 0.0);
  log_row(f, LINK_DOWN, -1, link, (long)n);
  for (size_t i = 0; i < n; i++) {
    cpn_req_t *q = f->scratch[i];
    int phase = q->net.phase; /* lose() needs it: an upload still holds its tokens in the view */
    cpn_network_abort(f->net, q);
    q->net.phase = phase;
    lose(f, q, CPN_REASON_LINK_FAILURE, -1);
  }
  return (long)n;
}

static void link_up(cpn_faults_t *f, int link)
{
  cpn_err_t err = cpn_topology_set_link_up(f->topo, link, 1);
  if (err) {
    cpn_sim_fail(f->sim, err);
    return;
  }
  cpn_network_reroute(f->net);
  cpn_network_set_bw_fraction(f->net, link, f->link_degrades[link] ? f->link_degrade_frac[link] : 1.0);
  log_row(f, LINK_UP, -1, link, 0);
}

static long site_down(cpn_faults_t *f, int site)
{
  cpn_serving_site_fail(f->sv, site);
  size_t n = collect(f, at_site, site);
  log_row(f, SITE_DOWN, site, -1, (long)n);
  f->site_gen[site]++;
  cpn_sim_at(f->sim, cpn_sim_now(f->sim) + f->sc->faults.detection_s, f->ev_detect, site, NULL, f->site_gen[site]);
  for (size_t i = 0; i < n; i++)
    lose(f, f->scratch[i], CPN_REASON_SITE_FAILURE, site);
  return (long)n;
}

/* Every occurrence (begin or end of one fault) is one row of /events, whether or not it changes the
 * element's state (two cuts of one link may overlap: the link is down while either lasts). Its detail is
 * the requests lost when it took the element down, the bandwidth fraction for a degradation, else 0. */
static void on_change(void *ctx, const cpn_event_t *e)
{
  cpn_faults_t *f = ctx;
  const occurrence_t *o = &f->occ[e->idx];
  const cpn_fault_spec_t *s = &f->sc->faults.events[o->fault];
  if (s->site_index >= 0) {
    int site = s->site_index;
    long lost = 0;
    f->begun[1] += o->begin;
    f->ended[1] += !o->begin;
    if (o->begin && f->site_downs[site]++ == 0) {
      lost = site_down(f, site);
    } else if (!o->begin && --f->site_downs[site] == 0) {
      f->site_gen[site]++; /* a detection still pending is stale */
      cpn_views_set_up(f->views, site, 1);
      log_row(f, SITE_UP, site, -1, 0);
    }
    log_event(f, o->begin ? SITE_DOWN : SITE_UP, site, -1, o->fault, (double)lost);
    return;
  }
  int link = s->link_index;
  if (s->bw_fraction > 0) {
    /* Degraded: the last degradation begun sets the fraction while any lasts. */
    f->begun[2] += o->begin;
    f->ended[2] += !o->begin;
    if (o->begin) {
      f->link_degrades[link]++;
      f->link_degrade_frac[link] = s->bw_fraction;
    } else {
      f->link_degrades[link]--;
    }
    if (f->link_cuts[link] == 0)
      cpn_network_set_bw_fraction(f->net, link, f->link_degrades[link] ? f->link_degrade_frac[link] : 1.0);
    log_row(f, f->link_degrades[link] ? LINK_DEGRADED : LINK_RESTORED, -1, link, 0);
    log_event(f, o->begin ? LINK_DEGRADED : LINK_RESTORED, -1, link, o->fault, o->begin ? s->bw_fraction : 1.0);
    return;
  }
  long lost = 0;
  f->begun[0] += o->begin;
  f->ended[0] += !o->begin;
  if (o->begin && f->link_cuts[link]++ == 0)
    lost = link_down(f, link);
  else if (!o->begin && --f->link_cuts[link] == 0)
    link_up(f, link);
  log_event(f, o->begin ? LINK_DOWN : LINK_UP, -1, link, o->fault, (double)lost);
}

static void on_detect(void *ctx, const cpn_event_t *e)
{
  cpn_faults_t *f = ctx;
  if (e->gen != f->site_gen[e->idx])
    return;
  cpn_views_set_up(f->views, e->idx, 0);
  log_row(f, SITE_DETECTED, e->idx, -1, 0);
  log_event(f, SITE_DETECTED, e->idx, -1, -1, f->sc->faults.detection_s);
}

void cpn_faults_arrived(void *ctx, cpn_req_t *q)
{
  cpn_faults_t *f = ctx;
  if (f->site_downs[q->rec.site] > 0) {
    lose(f, q, CPN_REASON_SITE_FAILURE, q->rec.site);
    return;
  }
  cpn_serving_arrive(f->sv, q);
}

static int add_occ(cpn_faults_t *f, size_t *cap, double t, int fault, int begin)
{
  if (f->n_occ == *cap) {
    size_t c = *cap ? *cap * 2 : 16;
    if (c > MAX_OCCURRENCES)
      return -1;
    occurrence_t *v = realloc(f->occ, c * sizeof *v);
    if (!v)
      return -2;
    f->occ = v;
    *cap = c;
  }
  f->occ[f->n_occ++] = (occurrence_t){t, fault, begin};
  return 0;
}

cpn_err_t cpn_faults_new(cpn_faults_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_topology_t *topo,
                         cpn_network_t *net, cpn_serving_t *sv, cpn_views_t *views, cpn_placement_t *pl,
                         cpn_reqs_t *reqs, cpn_accounting_t *acct, cpn_eventlog_t *log)
{
  cpn_faults_t *f = calloc(1, sizeof *f);
  if (!f)
    return cpn_error_set(CPN_ENOMEM, "faults: out of memory");
  *f = (cpn_faults_t){.sc = sc, .sim = sim, .topo = topo, .net = net, .sv = sv, .views = views, .pl = pl,
                      .reqs = reqs, .acct = acct, .log = log};
  size_t nl = (size_t)(sc->n_links ? sc->n_links : 1), ns = (size_t)(sc->n_sites ? sc->n_sites : 1);
  f->link_cuts = calloc(nl, sizeof(int));
  f->link_degrades = calloc(nl, sizeof(int));
  f->link_degrade_frac = calloc(nl, sizeof(double));
  f->site_downs = calloc(ns, sizeof(int));
  f->site_gen = calloc(ns, sizeof(uint64_t));
  cpn_err_t err = CPN_OK;
  if (!f->link_cuts || !f->link_degrades || !f->link_degrade_frac || !f->site_downs || !f->site_gen)
    err = cpn_error_set(CPN_ENOMEM, "faults: out of memory");
  double t_end = sc->run.duration_s + sc->run.drain_s;
  size_t cap = 0;
  for (int i = 0; !err && i < sc->faults.n_events; i++) {
    const cpn_fault_spec_t *s = &sc->faults.events[i];
    int rc = 0;
    if (s->mtbf_s > 0) {
      gsl_rng *rng = cpn_rng_stream(sc->run.seed, CPN_STREAM_FAULTS + (unsigned long)i);
      if (!rng) {
        err = cpn_error_set(CPN_ENOMEM, "faults: out of memory");
        break;
      }
      for (double t = gsl_ran_exponential(rng, s->mtbf_s); !rc && t < t_end; t += gsl_ran_exponential(rng, s->mtbf_s)) {
        double repair = gsl_ran_exponential(rng, s->mttr_s);
        rc = add_occ(f, &cap, t, i, 1);
        if (!rc && t + repair < t_end)
          rc = add_occ(f, &cap, t + repair, i, 0);
        t += repair;
      }
      gsl_rng_free(rng);
    } else {
      rc = add_occ(f, &cap, s->at_s, i, 1);
      if (!rc && s->duration_s > 0)
        rc = add_occ(f, &cap, s->at_s + s->duration_s, i, 0);
    }
    if (rc == -1)
      err = cpn_error_set(CPN_EINVAL, "%s:%d: faults.events[%d].mtbf_s: %g s makes more than %d failures and repairs "
                          "in the run; raise it", sc->file, s->line, i, s->mtbf_s, MAX_OCCURRENCES);
    else if (rc)
      err = cpn_error_set(CPN_ENOMEM, "faults: out of memory");
  }
  if (err) {
    cpn_faults_free(f);
    return err;
  }
  f->ev_change = cpn_sim_kind(sim, "faults.change", on_change, f);
  f->ev_detect = cpn_sim_kind(sim, "faults.detect", on_detect, f);
  if (f->n_occ)
    cpn_network_track_replies(net);
  *out = f;
  return CPN_OK;
}

void cpn_faults_free(cpn_faults_t *f)
{
  if (!f)
    return;
  free(f->occ);
  free(f->link_cuts);
  free(f->link_degrades);
  free(f->link_degrade_frac);
  free(f->site_downs);
  free(f->site_gen);
  free(f->scratch);
  free(f->rows);
  free(f);
}

cpn_err_t cpn_faults_start(cpn_faults_t *f)
{
  for (size_t i = 0; i < f->n_occ; i++)
    cpn_sim_at(f->sim, f->occ[i].t_s, f->ev_change, (int)i, NULL, 0);
  return cpn_sim_error(f->sim);
}

int cpn_faults_enabled(const cpn_faults_t *f) { return f->n_occ > 0; }
const cpn_fault_counts_t *cpn_faults_counts(const cpn_faults_t *f) { return &f->counts; }

void cpn_faults_occurrences(const cpn_faults_t *f, long *begun, long *ended)
{
  *begun = f->begun[0] + f->begun[1] + f->begun[2];
  *ended = f->ended[0] + f->ended[1] + f->ended[2];
}

cpn_err_t cpn_faults_write(const cpn_faults_t *f, cpn_output_t *out)
{
  if (f->sc->faults.n_events == 0)
    return CPN_OK;
  static const char *const cols[] = {"t_s", "site", "link", "requests_lost"};
  size_t n = f->n_rows;
  double *v = calloc(n ? n * 4 : 1, sizeof *v);
  const char **keys = calloc(n ? n : 1, sizeof *keys);
  cpn_err_t err = CPN_OK;
  if (!v || !keys)
    err = cpn_error_set(CPN_ENOMEM, "faults: out of memory (rows)");
  for (size_t i = 0; !err && i < n; i++) {
    keys[i] = kind_names[f->rows[i].kind];
    double row[4] = {f->rows[i].t_s, f->rows[i].site, f->rows[i].link, (double)f->rows[i].lost};
    memcpy(&v[i * 4], row, sizeof row);
  }
  if (!err) {
    cpn_table_t t = {.path = "/faults", .n_rows = n, .n_cols = 4, .col_names = cols, .keys = keys, .values = v};
    err = cpn_output_table(out, &t);
  }
  if (!err) {
    /* Per kind of fault: requests lost, retried and failed (none for a degradation), and the
     * occurrences begun (failures) and ended (repairs) during the run. */
    static const char *const ccols[] = {"lost", "retried", "failed", "begun", "ended"};
    static const char *const ckeys[] = {"link_failure", "site_failure", "link_degraded"};
    double c[15] = {f->counts.lost[0], f->counts.retried[0], f->counts.failed[0], f->begun[0], f->ended[0],
                    f->counts.lost[1], f->counts.retried[1], f->counts.failed[1], f->begun[1], f->ended[1],
                    0, 0, 0, f->begun[2], f->ended[2]};
    cpn_table_t t = {.path = "/summary/faults", .n_rows = 3, .n_cols = 5, .col_names = ccols, .keys = ckeys, .values = c};
    err = cpn_output_table(out, &t);
  }
  free(v);
  free(keys);
  return err;
}
