/* training: data-parallel steps with a ring all-reduce over bulk flows (see training.h).
 *
 * Invariants: a job has at most one step in progress; during its exchange `pending` counts the flows of
 * the current phase still in flight, and the next phase starts only when it reaches 0; a step row's
 * end is set once, when its last phase ends. */
#include "jobs/training.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int job, step;
  double start_s, allreduce_s, end_s;
} step_row_t;

typedef struct {
  int steps;    /* steps begun */
  int phase;    /* phase of the exchange in progress */
  int pending;  /* its flows still in flight */
  size_t row;   /* its row */
} job_state_t;

struct cpn_training {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  cpn_network_t *net;
  job_state_t *jobs;
  step_row_t *rows;
  size_t n_rows, cap_rows;
  int ev_step, ev_exchange;
};

static void begin_step(cpn_training_t *t, int j)
{
  if (t->n_rows == t->cap_rows) {
    size_t cap = t->cap_rows ? t->cap_rows * 2 : 64;
    step_row_t *v = realloc(t->rows, cap * sizeof *v);
    if (!v) {
      cpn_sim_fail(t->sim, cpn_error_set(CPN_ENOMEM, "training: out of memory (steps)"));
      return;
    }
    t->rows = v;
    t->cap_rows = cap;
  }
  job_state_t *js = &t->jobs[j];
  double now = cpn_sim_now(t->sim);
  js->row = t->n_rows++;
  t->rows[js->row] = (step_row_t){j, ++js->steps, now, NAN, NAN};
  cpn_sim_at(t->sim, now + t->sc->trainings[j].compute_s, t->ev_exchange, j, NULL, 0);
}

static void flow_done(void *ctx, int j);

/* Every site sends its 1/N share to the next site of the ring. */
static void start_phase(cpn_training_t *t, int j)
{
  const cpn_training_spec_t *s = &t->sc->trainings[j];
  t->jobs[j].pending = s->n_sites;
  for (int i = 0; i < s->n_sites; i++)
    cpn_network_bulk_kind(t->net, "training", s->sites[i], s->sites[(i + 1) % s->n_sites],
                          s->grad_bytes / s->n_sites, -1, j, flow_done, t);
}

static void flow_done(void *ctx, int j)
{
  cpn_training_t *t = ctx;
  const cpn_training_spec_t *s = &t->sc->trainings[j];
  job_state_t *js = &t->jobs[j];
  if (--js->pending > 0)
    return;
  if (++js->phase < 2 * (s->n_sites - 1)) {
    start_phase(t, j);
    return;
  }
  double now = cpn_sim_now(t->sim);
  t->rows[js->row].end_s = now;
  int more = s->steps > 0 ? js->steps < s->steps : now < t->sc->run.duration_s;
  if (more)
    begin_step(t, j);
}

static void on_step(void *ctx, const cpn_event_t *e) { begin_step(ctx, e->idx); }

static void on_exchange(void *ctx, const cpn_event_t *e)
{
  cpn_training_t *t = ctx;
  t->rows[t->jobs[e->idx].row].allreduce_s = cpn_sim_now(t->sim);
  t->jobs[e->idx].phase = 0;
  start_phase(t, e->idx);
}

cpn_err_t cpn_training_new(cpn_training_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, const cpn_topology_t *topo,
                           cpn_network_t *net)
{
  cpn_training_t *t = calloc(1, sizeof *t);
  if (!t)
    return cpn_error_set(CPN_ENOMEM, "training: out of memory");
  *t = (cpn_training_t){.sc = sc, .sim = sim, .net = net};
  t->jobs = calloc((size_t)(sc->n_trainings ? sc->n_trainings : 1), sizeof *t->jobs);
  if (!t->jobs) {
    cpn_training_free(t);
    return cpn_error_set(CPN_ENOMEM, "training: out of memory");
  }
  for (int j = 0; j < sc->n_trainings; j++) {
    const cpn_training_spec_t *s = &sc->trainings[j];
    for (int i = 0; i < s->n_sites; i++) {
      int a = s->sites[i], b = s->sites[(i + 1) % s->n_sites];
      if (!isfinite(cpn_topology_route_latency_s(topo, a, b))) {
        cpn_err_t err = cpn_error_set(CPN_EINVAL, "%s:%d: training.%s.sites: no route joins '%s' to '%s' (the "
                                      "ring goes from each site to the next, and from the last to the first)",
                                      sc->file, s->line, s->name, sc->sites[a].name, sc->sites[b].name);
        cpn_training_free(t);
        return err;
      }
    }
  }
  t->ev_step = cpn_sim_kind(sim, "training.step", on_step, t);
  t->ev_exchange = cpn_sim_kind(sim, "training.exchange", on_exchange, t);
  *out = t;
  return CPN_OK;
}

void cpn_training_free(cpn_training_t *t)
{
  if (!t)
    return;
  free(t->jobs);
  free(t->rows);
  free(t);
}

cpn_err_t cpn_training_start(cpn_training_t *t)
{
  const cpn_scenario_t *sc = t->sc;
  for (int j = 0; j < sc->n_trainings; j++)
    if (sc->trainings[j].at_s < sc->run.duration_s)
      cpn_sim_at(t->sim, sc->trainings[j].at_s, t->ev_step, j, NULL, 0);
  return cpn_sim_error(t->sim);
}

void cpn_training_stats(const cpn_training_t *t, long *steps, double *mean_step_s)
{
  double sum = 0;
  long n = 0;
  for (size_t i = 0; i < t->n_rows; i++)
    if (!isnan(t->rows[i].end_s)) {
      sum += t->rows[i].end_s - t->rows[i].start_s;
      n++;
    }
  *steps = n;
  *mean_step_s = n ? sum / (double)n : NAN;
}

cpn_err_t cpn_training_write(const cpn_training_t *t, cpn_output_t *out)
{
  if (t->sc->n_trainings == 0)
    return CPN_OK;
  enum { NC = 5 };
  static const char *const cols[NC] = {"step", "start_s", "allreduce_s", "end_s", "step_s"};
  size_t n = t->n_rows;
  double *v = calloc(n ? n * NC : 1, sizeof *v);
  const char **keys = calloc(n ? n : 1, sizeof *keys);
  cpn_err_t err = CPN_OK;
  if (!v || !keys)
    err = cpn_error_set(CPN_ENOMEM, "training: out of memory (writing %zu steps)", n);
  for (size_t i = 0; !err && i < n; i++) {
    const step_row_t *r = &t->rows[i];
    keys[i] = t->sc->trainings[r->job].name;
    double row[NC] = {r->step, r->start_s, r->allreduce_s, r->end_s, r->end_s - r->start_s};
    memcpy(&v[i * NC], row, sizeof row);
  }
  if (!err) {
    cpn_table_t tab = {.path = "/training", .n_rows = n, .n_cols = NC, .col_names = cols, .keys = keys, .values = v};
    err = cpn_output_table(out, &tab);
  }
  free(v);
  free(keys);
  return err;
}
