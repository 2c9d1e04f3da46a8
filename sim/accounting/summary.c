/* summary: metrics from the measured requests (see summary.h). Samples are kept in one array; each
 * group's percentiles sort a scratch copy of its values, so finish() costs O(N log N) per kind. What each
 * metric means (percentile rule, TPOT, SLO, ratios) is defined once in models/cpn_metrics.h, which
 * cpnsim-report shares; this file only gathers the counts, sums and samples per group. */
#include "accounting/summary.h"

#include <gsl/gsl_sort_float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpn_metrics.h"

const char *const cpn_metric_names[CPN_M_COUNT] = {
  "requests", "completed", "rejected", "failed", "timed_out", "prompt_tokens", "output_tokens",
  "ttft_p50_s", "ttft_p95_s", "ttft_p99_s", "ttft_mean_s", "e2e_p50_s", "e2e_p95_s", "e2e_p99_s", "e2e_mean_s",
  "tpot_p50_s", "tpot_p99_s", "slo_attainment", "tokens_per_s", "cost_usd", "cost_usd_per_mtok", "energy_j",
  "co2_g", "co2_g_per_mtok", "cross_border_requests", "cross_border_bytes", "utilisation",
};

/* One completed request's latencies, kept for exact percentiles: 20 bytes, so a 10-million-request run
 * holds 200 MB. Single precision (relative 6e-8) is ample for a summary; /requests keeps doubles.
 * Counts, tokens, cost, energy and CO2 are summed per group as requests end. */
typedef struct {
  float ttft_s, e2e_s, tpot_s;
  uint16_t group[CPN_GROUP_KINDS - 1]; /* site, class, tenant */
  uint8_t has_tpot;
} sample_t;

struct cpn_summary {
  sample_t *samples;
  size_t n, cap;
  int n_groups[CPN_GROUP_KINDS];
  const char *const *names[CPN_GROUP_KINDS];
  double *metrics[CPN_GROUP_KINDS]; /* n_groups[k] * CPN_M_COUNT */
};

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
    if (!s->metrics[k]) {
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
  for (int k = 0; k < CPN_GROUP_KINDS; k++) {
    free(s->metrics[k]);
    free((void *)s->names[k]);
  }
  free(s->samples);
  free(s);
}

cpn_err_t cpn_summary_add(cpn_summary_t *s, const cpn_record_t *r, double ttft_slo_s, double tpot_slo_s,
                          double cross_border_bytes)
{
  double ttft = cpn_metric_ttft_s(r->t_arrival, r->t_first_token), e2e = cpn_metric_e2e_s(r->t_arrival, r->t_done);
  double tpot = cpn_metric_tpot_s(r->t_first_token, r->t_done, r->output_tokens); /* NaN below 2 tokens */
  int done = r->status == CPN_STATUS_COMPLETED;
  int slo_ok = cpn_metric_slo_met(done, ttft, tpot, ttft_slo_s, tpot_slo_s);
  int group[CPN_GROUP_KINDS] = {0, r->site, r->cls, r->tenant};
  for (int k = 0; k < CPN_GROUP_KINDS; k++) {
    if (group[k] < 0 || group[k] >= s->n_groups[k])
      continue; /* never placed: counted overall, not per site */
    double *m = &s->metrics[k][(size_t)group[k] * CPN_M_COUNT];
    m[CPN_M_REQUESTS] += 1;
    m[CPN_M_COMPLETED + r->status] += 1; /* status order matches the metric order */
    m[CPN_M_CROSS_BORDER_REQUESTS] += r->cross_border;
    m[CPN_M_CROSS_BORDER_BYTES] += r->cross_border ? cross_border_bytes : 0.0;
    m[CPN_M_COST_USD] += r->cost_usd;
    m[CPN_M_ENERGY_J] += r->energy_j;
    m[CPN_M_CO2_G] += r->co2_g;
    m[CPN_M_SLO_ATTAINMENT] += slo_ok;
    if (done) {
      m[CPN_M_PROMPT_TOKENS] += r->prompt_tokens;
      m[CPN_M_OUTPUT_TOKENS] += r->output_tokens;
      m[CPN_M_TTFT_MEAN] += ttft;
      m[CPN_M_E2E_MEAN] += e2e;
    }
  }
  if (!done)
    return CPN_OK;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4096;
    sample_t *p = realloc(s->samples, cap * sizeof *p);
    if (!p)
      return cpn_error_set(CPN_ENOMEM, "summary: out of memory at %zu requests", s->n);
    s->samples = p;
    s->cap = cap;
  }
  sample_t *x = &s->samples[s->n++];
  x->ttft_s = (float)ttft;
  x->e2e_s = (float)e2e;
  x->tpot_s = (float)tpot;
  x->group[0] = (uint16_t)r->site;
  x->group[1] = (uint16_t)r->cls;
  x->group[2] = (uint16_t)r->tenant;
  x->has_tpot = !isnan(tpot);
  return CPN_OK;
}

/* Writes one latency (0 ttft, 1 e2e, 2 tpot) of every sample into scratch, grouped by the kind's group
 * (a counting sort: off[g] .. off[g+1] is group g), then sorts each group's segment. O(N log N). */
static void gather(const cpn_summary_t *s, int k, int which, float *scratch, size_t *off)
{
  int ng = s->n_groups[k];
  memset(off, 0, (size_t)(ng + 1) * sizeof *off);
  for (size_t i = 0; i < s->n; i++) {
    const sample_t *x = &s->samples[i];
    if (which == 2 && !x->has_tpot)
      continue;
    off[(k == CPN_GROUP_OVERALL ? 0 : x->group[k - 1]) + 1]++;
  }
  for (int g = 0; g < ng; g++)
    off[g + 1] += off[g];
  size_t *pos = off + ng + 1; /* second half of the caller's array: fill positions */
  memcpy(pos, off, (size_t)ng * sizeof *pos);
  for (size_t i = 0; i < s->n; i++) {
    const sample_t *x = &s->samples[i];
    if (which == 2 && !x->has_tpot)
      continue;
    int g = k == CPN_GROUP_OVERALL ? 0 : x->group[k - 1];
    scratch[pos[g]++] = which == 0 ? x->ttft_s : which == 1 ? x->e2e_s : x->tpot_s;
  }
  for (int g = 0; g < ng; g++)
    gsl_sort_float(scratch + off[g], 1, off[g + 1] - off[g]);
}

/* One scratch array of floats (4 bytes per completed request), reused for every kind and latency. */
static void finish_kind(cpn_summary_t *s, int k, double measured_s, float *scratch, size_t *off)
{
  static const int cols[3][3] = {{CPN_M_TTFT_P50, CPN_M_TTFT_P95, CPN_M_TTFT_P99},
                                 {CPN_M_E2E_P50, CPN_M_E2E_P95, CPN_M_E2E_P99},
                                 {CPN_M_TPOT_P50, -1, CPN_M_TPOT_P99}};
  static const double qs[3] = {0.50, 0.95, 0.99};
  for (int which = 0; which < 3; which++) {
    gather(s, k, which, scratch, off);
    for (int g = 0; g < s->n_groups[k]; g++) {
      double *m = &s->metrics[k][(size_t)g * CPN_M_COUNT];
      size_t n = off[g + 1] - off[g];
      for (int j = 0; j < 3; j++)
        if (cols[which][j] >= 0)
          m[cols[which][j]] = cpn_metric_percentile_f(scratch + off[g], n, qs[j]);
      if (which == 0)
        m[CPN_M_TTFT_MEAN] = cpn_metric_mean(m[CPN_M_TTFT_MEAN], n);
      if (which == 1)
        m[CPN_M_E2E_MEAN] = cpn_metric_mean(m[CPN_M_E2E_MEAN], n);
    }
  }
  for (int g = 0; g < s->n_groups[k]; g++) {
    double *m = &s->metrics[k][(size_t)g * CPN_M_COUNT];
    m[CPN_M_SLO_ATTAINMENT] = cpn_metric_slo_attainment(m[CPN_M_SLO_ATTAINMENT], m[CPN_M_REQUESTS]);
    double tok = m[CPN_M_PROMPT_TOKENS] + m[CPN_M_OUTPUT_TOKENS];
    m[CPN_M_TOKENS_PER_S] = cpn_metric_tokens_per_s(m[CPN_M_OUTPUT_TOKENS], measured_s);
    m[CPN_M_COST_PER_MTOK] = cpn_metric_cost_usd_per_mtok(m[CPN_M_COST_USD], tok);
    m[CPN_M_CO2_PER_MTOK] = cpn_metric_co2_g_per_mtok(m[CPN_M_CO2_G], tok);
    m[CPN_M_UTILISATION] = NAN; /* set per site and overall by finish(); classes and tenants have none */
  }
}

void cpn_summary_finish(cpn_summary_t *s, double measured_s, const double *site_busy_accel_s, const int *site_accels)
{
  int max_groups = 1;
  for (int k = 0; k < CPN_GROUP_KINDS; k++)
    if (s->n_groups[k] > max_groups)
      max_groups = s->n_groups[k];
  float *scratch = malloc((s->n ? s->n : 1) * sizeof *scratch);
  size_t *off = malloc(2 * ((size_t)max_groups + 1) * sizeof *off);
  if (scratch && off)
    for (int k = 0; k < CPN_GROUP_KINDS; k++)
      finish_kind(s, k, measured_s, scratch, off);
  /* Without memory the percentiles stay 0 and the sums stand; the run is about to fail anyway. */
  free(scratch);
  free(off);
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

double cpn_summary_get(const cpn_summary_t *s, int kind, int group, int metric)
{
  return s->metrics[kind][(size_t)group * CPN_M_COUNT + (size_t)metric];
}

cpn_err_t cpn_summary_write(const cpn_summary_t *s, cpn_output_t *o)
{
  static const char *const paths[CPN_GROUP_KINDS] = {"/summary/overall", "/summary/sites", "/summary/classes",
                                                      "/summary/tenants"};
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
  static const char *const titles[CPN_GROUP_KINDS] = {"overall", "per site", "per class", "per tenant"};
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
}
