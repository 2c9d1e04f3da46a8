/* summary: metrics from the measured requests (see summary.h). Latency percentiles come from one
 * histogram per group and latency (models/cpn_hist.h), so memory does not grow with the run. What each
 * metric means (percentile rule, TPOT, SLO, ratios) is defined once in models/cpn_metrics.h, which
 * cpnsim-report shares; this file only gathers the counts, sums and samples per group. */
#include "accounting/summary.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpn_hist.h"
#include "cpn_metrics.h"

const char *const cpn_metric_names[CPN_M_COUNT] = {
  "requests", "completed", "rejected", "failed", "timed_out", "prompt_tokens", "output_tokens",
  "ttft_p50_s", "ttft_p95_s", "ttft_p99_s", "ttft_mean_s", "e2e_p50_s", "e2e_p95_s", "e2e_p99_s", "e2e_mean_s",
  "tpot_p50_s", "tpot_p99_s", "slo_attainment", "tokens_per_s", "cost_usd", "cost_usd_per_mtok", "energy_j",
  "co2_g", "co2_g_per_mtok", "cross_border_requests", "cross_border_bytes", "utilisation",
  "full_cost_usd", "full_cost_usd_per_mtok", "site_energy_j", "idle_energy_j", "bill_usd",
};

/* Latencies of completed requests go into log-bucketed histograms, one per group and latency (TTFT,
 * end-to-end, TPOT): memory grows with the range of values, not with the number of requests, and each
 * percentile is within CPN_HIST_REL_ERR (0.1%) of the exact one; cpnsim-report computes exact ones from
 * /requests. Counts, tokens, cost, energy and CO2 are summed per group as requests end. */
enum { LAT_TTFT, LAT_E2E, LAT_TPOT, LAT_KINDS };

struct cpn_summary {
  cpn_hist_t *hist[CPN_GROUP_KINDS]; /* n_groups[k] * LAT_KINDS */
  int n_groups[CPN_GROUP_KINDS];
  const char *const *names[CPN_GROUP_KINDS];
  double *metrics[CPN_GROUP_KINDS]; /* n_groups[k] * CPN_M_COUNT */
  double *site_cost[CPN_GROUP_KINDS]; /* n_groups[k] * n_groups[SITE]: marginal cost of a group at a site
                                         (none for the sites themselves: a site's share of its own full cost
                                         is all of it; a table of S x S, 800 MB at 10,000 sites, would only
                                         hold its diagonal) */
  struct cpn_summary_worker *worker; /* NULL: requests are added on the caller's thread */
  int failed;                        /* a histogram could not grow */
};

static void stop_worker(cpn_summary_t *s, int flush);

cpn_err_t cpn_summary_new(cpn_summary_t **out, const char *const *const names[CPN_GROUP_KINDS],
                          const int n[CPN_GROUP_KINDS])
{
  cpn_summary_t *s = calloc(1, sizeof *s);
  if (!s)
    return cpn_error_set(CPN_ENOMEM, "summary: out of memory");
  for (int k = 0; k < CPN_GROUP_KINDS; k++) {
    s->n_groups[k] = k == CPN_GROUP_OVERALL ? 1 : n[k];
    if (k != CPN_GROUP_OVERALL) {
      /* Copies the array of pointers; the strings themselves are borrowed. */
      const char **copy = calloc((size_t)(n[k] ? n[k] : 1), sizeof *copy);
      if (!copy) {
        cpn_summary_free(s);
        return cpn_error_set(CPN_ENOMEM, "summary: out of memory");
      }
      for (int g = 0; g < n[k]; g++)
        copy[g] = names[k][g];
      s->names[k] = copy;
    }
    s->metrics[k] = calloc((size_t)s->n_groups[k] * CPN_M_COUNT, sizeof(double));
    s->hist[k] = calloc((size_t)s->n_groups[k] * LAT_KINDS, sizeof(cpn_hist_t));
    if (k != CPN_GROUP_SITE)
      s->site_cost[k] = calloc((size_t)(s->n_groups[k] ? s->n_groups[k] : 1) *
                               (size_t)(n[CPN_GROUP_SITE] ? n[CPN_GROUP_SITE] : 1), sizeof(double));
    if (!s->metrics[k] || !s->hist[k] || (k != CPN_GROUP_SITE && !s->site_cost[k])) {
      cpn_summary_free(s);
      return cpn_error_set(CPN_ENOMEM, "summary: out of memory");
    }
  }
  *out = s;
  return CPN_OK;
}

void cpn_summary_free(cpn_summary_t *s)
{
  if (!s)
    return;
  stop_worker(s, 0);
  for (int k = 0; k < CPN_GROUP_KINDS; k++) {
    if (s->hist[k])
      for (size_t i = 0; i < (size_t)s->n_groups[k] * LAT_KINDS; i++)
        cpn_hist_destroy(&s->hist[k][i]);
    free(s->hist[k]);
    free(s->metrics[k]);
    free(s->site_cost[k]);
    free((void *)s->names[k]);
  }
  free(s);
}

/* What one ended request adds (or one bill, kind BILL): the record's figures that the sums and
 * histograms read, latencies already derived. Built on the simulation's thread, applied in order on
 * the worker's (or on the simulation's without one): the same additions in the same order either way. */
enum { MSG_ADD, MSG_BILL };
struct cpn_summary_msg {
  double ttft, e2e, tpot, cost_usd, energy_j, co2_g, xb_bytes, usd;
  int32_t group[CPN_GROUP_KINDS];
  uint32_t prompt_tokens, output_tokens;
  uint8_t kind, status, done, slo_ok, cross_border;
};

static int apply(cpn_summary_t *s, const struct cpn_summary_msg *r)
{
  if (r->kind == MSG_BILL) {
    for (int k = 0; k < CPN_GROUP_KINDS; k++)
      if (r->group[k] >= 0 && r->group[k] < s->n_groups[k])
        s->metrics[k][(size_t)r->group[k] * CPN_M_COUNT + CPN_M_BILL_USD] += r->usd;
    return 0;
  }
  int site = r->group[CPN_GROUP_SITE];
  for (int k = 0; k < CPN_GROUP_KINDS; k++) {
    int g = r->group[k];
    if (g < 0 || g >= s->n_groups[k])
      continue; /* never placed: counted overall, not per site */
    double *m = &s->metrics[k][(size_t)g * CPN_M_COUNT];
    m[CPN_M_REQUESTS] += 1;
    m[CPN_M_COMPLETED + r->status] += 1; /* status order matches the metric order */
    m[CPN_M_CROSS_BORDER_REQUESTS] += r->cross_border;
    m[CPN_M_CROSS_BORDER_BYTES] += r->cross_border ? r->xb_bytes : 0.0;
    m[CPN_M_COST_USD] += r->cost_usd;
    if (k != CPN_GROUP_SITE && site >= 0 && site < s->n_groups[CPN_GROUP_SITE])
      s->site_cost[k][(size_t)g * (size_t)s->n_groups[CPN_GROUP_SITE] + (size_t)site] += r->cost_usd;
    m[CPN_M_ENERGY_J] += r->energy_j;
    m[CPN_M_CO2_G] += r->co2_g;
    m[CPN_M_SLO_ATTAINMENT] += r->slo_ok;
    if (r->done) {
      m[CPN_M_PROMPT_TOKENS] += r->prompt_tokens;
      m[CPN_M_OUTPUT_TOKENS] += r->output_tokens;
      m[CPN_M_TTFT_MEAN] += r->ttft;
      m[CPN_M_E2E_MEAN] += r->e2e;
    }
  }
  if (!r->done)
    return 0;
  for (int k = 0; k < CPN_GROUP_KINDS; k++) {
    int g = r->group[k];
    if (g < 0 || g >= s->n_groups[k])
      continue;
    cpn_hist_t *h = &s->hist[k][(size_t)g * LAT_KINDS];
    if (cpn_hist_add(&h[LAT_TTFT], r->ttft) || cpn_hist_add(&h[LAT_E2E], r->e2e) || cpn_hist_add(&h[LAT_TPOT], r->tpot))
      return -1;
  }
  return 0;
}

/* ---- the worker -----------------------------------------------------------------------------------
 * The simulation's thread fills a batch of messages it owns, then hands it over whole (one lock per
 * BATCH_MSGS requests); the worker applies batches in the order handed over and gives them back. A
 * full queue makes the simulation wait for the worker. Everything the worker writes (sums, histograms,
 * `failed`) is read by the simulation's thread only after cpn_summary_sync, under the lock. */
enum { BATCH_MSGS = 512, N_BATCHES = 16 };

struct cpn_summary_worker {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv_work, cv_done;    /* a batch was handed over / one was applied */
  struct cpn_summary_msg *buf;        /* N_BATCHES batches of BATCH_MSGS */
  int fill[N_BATCHES];                /* messages in each batch */
  int head, queued;                   /* the ring of handed-over batches: [head, head + queued) */
  int busy;                           /* the worker is applying the batch at head */
  int cur, n;                         /* the batch the simulation fills, and its messages so far */
  int stop, failed;
};

static void *worker_main(void *arg)
{
  cpn_summary_t *s = arg;
  struct cpn_summary_worker *w = s->worker;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->queued && !w->stop)
      pthread_cond_wait(&w->cv_work, &w->mu);
    if (!w->queued)
      break;
    int b = w->head;
    w->busy = 1;
    pthread_mutex_unlock(&w->mu);
    int failed = 0;
    const struct cpn_summary_msg *m = &w->buf[(size_t)b * BATCH_MSGS];
    for (int i = 0; i < w->fill[b]; i++)
      failed |= apply(s, &m[i]);
    pthread_mutex_lock(&w->mu);
    w->failed |= failed;
    w->busy = 0;
    w->head = (w->head + 1) % N_BATCHES;
    w->queued--;
    pthread_cond_signal(&w->cv_done);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* Hands the batch being filled to the worker and takes the next free one (waiting for it if need be). */
static void hand_over(struct cpn_summary_worker *w)
{
  pthread_mutex_lock(&w->mu);
  w->fill[w->cur] = w->n;
  w->queued++;
  pthread_cond_signal(&w->cv_work);
  while (w->queued == N_BATCHES)
    pthread_cond_wait(&w->cv_done, &w->mu);
  w->cur = (w->cur + 1) % N_BATCHES;
  w->n = 0;
  pthread_mutex_unlock(&w->mu);
}

static void put(cpn_summary_t *s, const struct cpn_summary_msg *m)
{
  struct cpn_summary_worker *w = s->worker;
  if (!w) {
    if (apply(s, m))
      s->failed = 1;
    return;
  }
  w->buf[(size_t)w->cur * BATCH_MSGS + (size_t)w->n++] = *m;
  if (w->n == BATCH_MSGS)
    hand_over(w);
}

/* A worker's lock, conditions and buffer (its thread not running). */
static void worker_free(struct cpn_summary_worker *w)
{
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv_work);
  pthread_cond_destroy(&w->cv_done);
  free(w->buf);
  free(w);
}

int cpn_summary_start_worker(cpn_summary_t *s)
{
  if (s->worker)
    return 1;
  struct cpn_summary_worker *w = calloc(1, sizeof *w);
  if (!w)
    return 0;
  w->buf = malloc((size_t)N_BATCHES * BATCH_MSGS * sizeof *w->buf);
  if (!w->buf) {
    free(w);
    return 0;
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv_work, NULL);
  pthread_cond_init(&w->cv_done, NULL);
  s->worker = w;
  if (pthread_create(&w->thread, NULL, worker_main, s) != 0) {
    s->worker = NULL;
    worker_free(w);
    return 0;
  }
  return 1;
}

/* Stops the worker once it has applied everything handed over (and, when `flush`, the batch in hand). */
static void stop_worker(cpn_summary_t *s, int flush)
{
  struct cpn_summary_worker *w = s->worker;
  if (!w)
    return;
  pthread_mutex_lock(&w->mu);
  if (flush && w->n > 0) {
    w->fill[w->cur] = w->n;
    w->queued++; /* room: hand_over never leaves the queue full */
    w->n = 0;
  }
  w->stop = 1;
  pthread_cond_signal(&w->cv_work);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  s->failed |= w->failed;
  s->worker = NULL;
  worker_free(w);
}

static cpn_err_t hist_error(void) { return cpn_error_set(CPN_ENOMEM, "summary: out of memory (latency histograms)"); }

cpn_err_t cpn_summary_sync(cpn_summary_t *s)
{
  stop_worker(s, 1);
  return s->failed ? hist_error() : CPN_OK;
}

cpn_err_t cpn_summary_add(cpn_summary_t *s, const cpn_record_t *r, double ttft_slo_s, double tpot_slo_s,
                          double cross_border_bytes)
{
  struct cpn_summary_msg m = {
    .ttft = cpn_metric_ttft_s(r->t_arrival, r->t_first_token),
    .e2e = cpn_metric_e2e_s(r->t_arrival, r->t_done),
    .tpot = cpn_metric_tpot_s(r->t_first_token, r->t_done, r->output_tokens), /* NaN below 2 tokens */
    .cost_usd = r->cost_usd, .energy_j = r->energy_j, .co2_g = r->co2_g, .xb_bytes = cross_border_bytes,
    .group = {0, r->site, r->cls, r->tenant, r->model},
    .prompt_tokens = r->prompt_tokens, .output_tokens = r->output_tokens,
    .kind = MSG_ADD, .status = r->status, .done = r->status == CPN_STATUS_COMPLETED,
    .cross_border = r->cross_border,
  };
  m.slo_ok = cpn_metric_slo_met(m.done, m.ttft, m.tpot, ttft_slo_s, tpot_slo_s);
  put(s, &m);
  /* Without a worker a failure shows at once; with one, at cpn_summary_sync. */
  return !s->worker && s->failed ? hist_error() : CPN_OK;
}

void cpn_summary_add_bill(cpn_summary_t *s, const cpn_record_t *r, double usd)
{
  struct cpn_summary_msg m = {.usd = usd, .group = {0, r->site, r->cls, r->tenant, r->model}, .kind = MSG_BILL};
  put(s, &m);
}

static void finish_kind(cpn_summary_t *s, int k, double measured_s)
{
  static const int cols[LAT_KINDS][3] = {{CPN_M_TTFT_P50, CPN_M_TTFT_P95, CPN_M_TTFT_P99},
                                         {CPN_M_E2E_P50, CPN_M_E2E_P95, CPN_M_E2E_P99},
                                         {CPN_M_TPOT_P50, -1, CPN_M_TPOT_P99}};
  static const double qs[3] = {0.50, 0.95, 0.99};
  for (int g = 0; g < s->n_groups[k]; g++) {
    double *m = &s->metrics[k][(size_t)g * CPN_M_COUNT];
    const cpn_hist_t *h = &s->hist[k][(size_t)g * LAT_KINDS];
    for (int which = 0; which < LAT_KINDS; which++)
      for (int j = 0; j < 3; j++)
        if (cols[which][j] >= 0)
          m[cols[which][j]] = cpn_hist_quantile(&h[which], qs[j]);
    m[CPN_M_TTFT_MEAN] = cpn_metric_mean(m[CPN_M_TTFT_MEAN], h[LAT_TTFT].total);
    m[CPN_M_E2E_MEAN] = cpn_metric_mean(m[CPN_M_E2E_MEAN], h[LAT_E2E].total);
  }
  for (int g = 0; g < s->n_groups[k]; g++) {
    double *m = &s->metrics[k][(size_t)g * CPN_M_COUNT];
    m[CPN_M_SLO_ATTAINMENT] = cpn_metric_slo_attainment(m[CPN_M_SLO_ATTAINMENT], m[CPN_M_REQUESTS]);
    double tok = m[CPN_M_PROMPT_TOKENS] + m[CPN_M_OUTPUT_TOKENS];
    m[CPN_M_TOKENS_PER_S] = cpn_metric_tokens_per_s(m[CPN_M_OUTPUT_TOKENS], measured_s);
    m[CPN_M_COST_PER_MTOK] = cpn_metric_cost_usd_per_mtok(m[CPN_M_COST_USD], tok);
    m[CPN_M_CO2_PER_MTOK] = cpn_metric_co2_g_per_mtok(m[CPN_M_CO2_G], tok);
    m[CPN_M_UTILISATION] = NAN; /* set per site and overall by finish(); classes and tenants have none */
    m[CPN_M_FULL_COST_USD] = m[CPN_M_FULL_COST_PER_MTOK] = NAN; /* set by cpn_summary_full_cost */
    m[CPN_M_SITE_ENERGY_J] = m[CPN_M_IDLE_ENERGY_J] = NAN;
  }
}

void cpn_summary_finish(cpn_summary_t *s, double measured_s, const double *site_busy_accel_s, const int *site_accels)
{
  for (int k = 0; k < CPN_GROUP_KINDS; k++)
    finish_kind(s, k, measured_s);
  double busy = 0, cap = 0;
  for (int g = 0; g < s->n_groups[CPN_GROUP_SITE]; g++) {
    double c = (double)site_accels[g] * measured_s;
    double *m = &s->metrics[CPN_GROUP_SITE][(size_t)g * CPN_M_COUNT];
    m[CPN_M_UTILISATION] = cpn_metric_utilisation(site_busy_accel_s[g], c);
    busy += site_busy_accel_s[g];
    cap += c;
  }
  s->metrics[CPN_GROUP_OVERALL][CPN_M_UTILISATION] = cpn_metric_utilisation(busy, cap);
}

void cpn_summary_full_cost(cpn_summary_t *s, const double *site_full_usd, const double *site_energy_j,
                           const double *site_idle_j)
{
  int ns = s->n_groups[CPN_GROUP_SITE];
  for (int k = 0; k < CPN_GROUP_KINDS; k++)
    for (int g = 0; g < s->n_groups[k]; g++) {
      double *m = &s->metrics[k][(size_t)g * CPN_M_COUNT];
      double full = 0, e = 0, idle = 0;
      for (int site = 0; site < ns; site++) {
        double site_marginal = s->metrics[CPN_GROUP_SITE][(size_t)site * CPN_M_COUNT + CPN_M_COST_USD];
        if (k == CPN_GROUP_OVERALL || (k == CPN_GROUP_SITE && site == g)) {
          full += site_full_usd[site];
          e += site_energy_j[site];
          idle += site_idle_j[site];
        } else if (k != CPN_GROUP_SITE && site_marginal > 0) {
          full += site_full_usd[site] * s->site_cost[k][(size_t)g * (size_t)ns + (size_t)site] / site_marginal;
        }
      }
      double tok = m[CPN_M_PROMPT_TOKENS] + m[CPN_M_OUTPUT_TOKENS];
      m[CPN_M_FULL_COST_USD] = full;
      m[CPN_M_FULL_COST_PER_MTOK] = cpn_metric_cost_usd_per_mtok(full, tok);
      if (k == CPN_GROUP_OVERALL || k == CPN_GROUP_SITE) {
        m[CPN_M_SITE_ENERGY_J] = e;
        m[CPN_M_IDLE_ENERGY_J] = idle;
      }
    }
}

double cpn_summary_get(const cpn_summary_t *s, int kind, int group, int metric)
{
  return s->metrics[kind][(size_t)group * CPN_M_COUNT + (size_t)metric];
}

cpn_err_t cpn_summary_write(const cpn_summary_t *s, cpn_output_t *o)
{
  static const char *const paths[CPN_GROUP_KINDS] = {"/summary/overall", "/summary/sites", "/summary/classes",
                                                      "/summary/tenants", "/summary/models"};
  static const char *const overall[] = {"overall"};
  for (int k = 0; k < CPN_GROUP_KINDS; k++) {
    cpn_table_t t = {.path = paths[k], .n_rows = (size_t)s->n_groups[k], .n_cols = CPN_M_COUNT,
                     .col_names = cpn_metric_names, .keys = k == CPN_GROUP_OVERALL ? overall : s->names[k],
                     .values = s->metrics[k]};
    cpn_err_t err = cpn_output_table(o, &t);
    if (err)
      return err;
  }
  return CPN_OK;
}

static void print_row(FILE *f, const char *name, const double *m)
{
  char util[16] = "      -";
  if (!isnan(m[CPN_M_UTILISATION]))
    snprintf(util, sizeof util, "%6.1f%%", 100 * m[CPN_M_UTILISATION]);
  fprintf(f, "  %-20s %9.0f %9.0f %8.0f %7.3f %7.3f %7.3f %8.3f %8.3f %8.3f %6.1f%% %10.0f %s\n", name,
          m[CPN_M_REQUESTS], m[CPN_M_COMPLETED], m[CPN_M_REJECTED] + m[CPN_M_FAILED] + m[CPN_M_TIMED_OUT],
          m[CPN_M_TTFT_P50], m[CPN_M_TTFT_P95], m[CPN_M_TTFT_P99], m[CPN_M_E2E_P50], m[CPN_M_E2E_P95],
          m[CPN_M_E2E_P99], 100 * m[CPN_M_SLO_ATTAINMENT], m[CPN_M_TOKENS_PER_S], util);
}

void cpn_summary_print(const cpn_summary_t *s, FILE *f)
{
  static const char *const titles[CPN_GROUP_KINDS] = {"overall", "per site", "per class", "per tenant",
                                                       "per model"};
  fprintf(f, "  %-20s %9s %9s %8s %7s %7s %7s %8s %8s %8s %7s %10s %7s\n", "", "requests", "completed",
          "not-done", "ttft50", "ttft95", "ttft99", "e2e50", "e2e95", "e2e99", "slo", "out-tok/s", "util");
  for (int k = 0; k < CPN_GROUP_KINDS; k++) {
    if (k)
      fprintf(f, " %s\n", titles[k]);
    for (int g = 0; g < s->n_groups[k]; g++)
      print_row(f, k == CPN_GROUP_OVERALL ? "overall" : s->names[k][g], &s->metrics[k][(size_t)g * CPN_M_COUNT]);
  }
  const double *m = s->metrics[CPN_GROUP_OVERALL];
  fprintf(f, "  rejected %.0f, failed %.0f, timed out %.0f; cost %.4f USD per million tokens, %.1f g CO2 per million "
             "tokens, %.0f cross-border requests\n",
          m[CPN_M_REJECTED], m[CPN_M_FAILED], m[CPN_M_TIMED_OUT], m[CPN_M_COST_PER_MTOK], m[CPN_M_CO2_PER_MTOK],
          m[CPN_M_CROSS_BORDER_REQUESTS]);
  if (isnan(m[CPN_M_FULL_COST_USD]))
    return;
  /* The bill (a total, not per million tokens) only where accounts have prices: a column of zeros would
   * read as "served for free". */
  int billed = m[CPN_M_BILL_USD] > 0;
  fprintf(f, " cost per million tokens, USD: %-20s %12s %12s", "", "marginal", "full");
  fprintf(f, billed ? " %14s\n" : "\n", "bill USD total");
  for (int k = 0; k < CPN_GROUP_KINDS; k++)
    for (int g = 0; g < s->n_groups[k]; g++) {
      const double *x = &s->metrics[k][(size_t)g * CPN_M_COUNT];
      char label[96];
      snprintf(label, sizeof label, "%s %s", k == CPN_GROUP_OVERALL ? "" : titles[k] + 4,
               k == CPN_GROUP_OVERALL ? "overall" : s->names[k][g]);
      fprintf(f, "  %-50s %12.4f %12.4f", label, x[CPN_M_COST_PER_MTOK], x[CPN_M_FULL_COST_PER_MTOK]);
      if (billed)
        fprintf(f, " %14.4f", x[CPN_M_BILL_USD]);
      fputc('\n', f);
    }
  fprintf(f, "  full cost: capex of the installed fleet, facility electricity incl. idle (%.1f of %.1f kWh idle), "
             "cross-border transfer\n",
          m[CPN_M_IDLE_ENERGY_J] / 3.6e6, m[CPN_M_SITE_ENERGY_J] / 3.6e6);
}
