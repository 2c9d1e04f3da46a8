/* cpnsim-plan: capacity search by bisection over seeded cpnsim runs, and the cheapest fleet.
 *
 *   cpnsim-plan SCENARIO --knob KNOB [--knob KNOB]... [--total] --range LO:HI --target SPEC [--target SPEC]...
 *   cpnsim-plan SCENARIO [--knob KNOB]... --option NAME --knob KNOB... [--set K=V]... --option NAME ... --range LO:HI
 *               --target SPEC...
 *   cpnsim-plan SCENARIO --max-scale --range LO:HI [--tol 0.05] --target SPEC...
 *   common: [--seeds N] [--seed-base S] [--policy P] [--set KEY=VALUE]... [--workers N] [--out DIR] [--quiet]
 *
 * A knob is KEY[,KEY...][:WEIGHT]: integer scenario keys (a replica count, a pool count) that all take the
 * knob's value (a pool and the replicas on it grow together), and a weight for --total.
 * Smallest capacity: the candidate value v is given to the knobs by a placement rule: "equal" (default;
 * every knob gets v) or "weighted total" (--total: v is the total, split across the knobs in proportion to
 * their weights by largest remainder, ties to the knob named first, every knob at least 1). The answer is
 * the smallest v in [LO, HI] whose runs meet every target, assuming more capacity never makes a target
 * worse. Largest demand: demand.scale is bisected in [LO, HI] down to a relative tolerance; the answer is
 * the largest scale found to meet the targets, assuming more demand never helps.
 * Cheapest fleet: each --option NAME is a fleet design (its own knobs and --set overrides, after the common
 * ones: an accelerator type and its capex, a set of sites, a placement); the smallest capacity of each is
 * searched as above, and the option whose answer has the lowest full cost per million tokens
 * (full_cost_usd_per_mtok of /summary: amortised capex, energy with idle, transfer) is the answer. Within
 * one option the smallest capacity is taken as its cheapest, since capex and idle power grow with the
 * fleet while the tokens served do not (all demand is served once the targets are met).
 * A target is `[TABLE/KEY/]METRIC<=X` or `>=X`, read from /summary/TABLE (default overall/overall):
 * `ttft_p99_s<=2`, `classes/interactive/slo_attainment>=0.99`, `sites/west/ttft_mean_s<=0.5`.
 * Each value is run with N seeds (default 3); it meets a target when the mean over the seeds does; the
 * 95% confidence interval (Student t) is printed with each mean, and a decision whose interval contains
 * the threshold is marked "within noise". Every run is a point of a sweep in DIR (default plan-<scenario
 * base name>), so a rerun or a later search reuses runs made before, and DIR/index.h5 holds the evidence
 * (the HTML report draws the capacity curve from it).
 * Exit codes: 0 answer found; 1 no value in the range meets the targets (or a run failed); 2 bad input
 * (including a --target metric or row the result files do not have). */
#include "sweep.h"

#include <gsl/gsl_cdf.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TARGETS 16
#define MAX_KNOBS 64
#define MAX_SEEDS 64
#define MAX_EVALS 64
#define MAX_OPTIONS 16
#define MAX_SETS 200

typedef struct {
  char table[512], key[512], metric[512];
  int le;           /* 1: metric <= x; 0: metric >= x */
  double x;
  char text[256];
} target_t;

typedef struct {
  double value;
  int n;
  double mean[MAX_TARGETS], half[MAX_TARGETS];
  double cost, cost_half; /* full cost per million tokens (NaN: the result files have none) */
  int meets, noisy, failed;
} eval_t;

typedef struct {
  char keys[CPN_SWEEP_STR]; /* KEY[,KEY...] */
  double weight;            /* --total only; 1 when not given */
  int weighted;             /* a weight was given */
} knob_t;

/* A fleet design: the knobs searched and the overrides that make it (the implicit option "" when the
 * command has no --option). */
typedef struct {
  char name[64];
  knob_t knobs[MAX_KNOBS];
  int n_knobs;
  const char *sets[MAX_SETS];
  int n_sets;
  eval_t ev[MAX_EVALS];
  int n_ev;
  double answer; /* NaN: none in the range */
} option_t;

static void usage(FILE *f)
{
  fprintf(f, "usage: cpnsim-plan SCENARIO (--knob KNOB... | --option NAME --knob KNOB... ... | --max-scale) --range LO:HI "
             "--target SPEC... [options]\n"
             "  --knob KNOB       KEY[,KEY...][:WEIGHT]: integer scenario keys set to the candidate value\n"
             "                    (repeatable; rule: all set alike, or --total)\n"
             "  --total           the value is a total split across the knobs in proportion to their weights\n"
             "                    (largest remainder, every knob at least 1)\n"
             "  --option NAME     a fleet design: the --knob and --set after it are its own; with several, the\n"
             "                    answer is the option with the lowest full cost per token meeting the targets\n"
             "  --max-scale       search the largest demand.scale that meets the targets instead\n"
             "  --range LO:HI     the values searched\n"
             "  --target SPEC     [TABLE/KEY/]METRIC<=X or >=X, e.g. ttft_p99_s<=2, slo_attainment>=0.99\n"
             "  --seeds N         seeds per value (default 3), from --seed-base (default 1)\n"
             "  --tol R           --max-scale: stop when the bracket is within R of its top (default 0.05)\n"
             "  --policy P, --set KEY=VALUE   passed to every run (after --option: to that option's runs)\n"
             "  --workers N       cpnsim processes at a time (default: online CPUs)\n"
             "  --out DIR         where the runs and index.h5 go (default plan-<scenario>)\n"
             "  --cpnsim PATH     the simulator (default $CPNSIM, else %s)\n"
             "  --quiet           no progress line\n",
          CPN_DEFAULT_CPNSIM);
}

static int bad(const char *fmt, const char *arg)
{
  fprintf(stderr, "cpnsim-plan: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, " (cpnsim-plan --help)\n");
  return 2;
}

static int parse_target(const char *s, target_t *t)
{
  memset(t, 0, sizeof *t);
  snprintf(t->text, sizeof t->text, "%s", s);
  const char *op = strstr(s, "<=");
  t->le = 1;
  if (!op) {
    op = strstr(s, ">=");
    t->le = 0;
  }
  if (!op || op == s)
    return 0;
  char *end;
  t->x = strtod(op + 2, &end);
  if (end == op + 2 || *end || !isfinite(t->x))
    return 0;
  char lhs[512];
  snprintf(lhs, sizeof lhs, "%.*s", (int)(op - s), s);
  char *a = strchr(lhs, '/');
  if (a) {
    char *b = strchr(a + 1, '/');
    if (!b)
      return 0;
    *a = *b = 0;
    snprintf(t->table, sizeof t->table, "%s", lhs);
    snprintf(t->key, sizeof t->key, "%s", a + 1);
    snprintf(t->metric, sizeof t->metric, "%s", b + 1);
  } else {
    snprintf(t->table, sizeof t->table, "overall");
    snprintf(t->key, sizeof t->key, "overall");
    snprintf(t->metric, sizeof t->metric, "%s", lhs);
  }
  return t->metric[0] != 0;
}

/* KEY[,KEY...][:WEIGHT] -> knob; 0 when malformed. */
static int parse_knob(const char *s, knob_t *k)
{
  memset(k, 0, sizeof *k);
  k->weight = 1;
  const char *colon = strrchr(s, ':');
  size_t n = colon ? (size_t)(colon - s) : strlen(s);
  if (!n || n >= sizeof k->keys || strchr(s, '=') || strchr(s, ' '))
    return 0;
  memcpy(k->keys, s, n);
  k->keys[n] = 0;
  if (k->keys[0] == ',' || k->keys[n - 1] == ',' || strstr(k->keys, ",,"))
    return 0;
  if (colon) {
    char *end;
    k->weight = strtod(colon + 1, &end);
    if (end == colon + 1 || *end || !(k->weight > 0) || !isfinite(k->weight))
      return 0;
    k->weighted = 1;
  }
  return 1;
}

typedef struct {
  cpn_sweep_t sw;
  cpn_sweep_opts_t o;
  const char *sets[MAX_SETS];
  int n_sets;
  option_t opt[MAX_OPTIONS];
  int n_opt, named, total, max_scale, seeds, seed_base, has_cost;
  const char *policy;
  target_t t[MAX_TARGETS];
  int n_t;
} plan_t;

static void fmt_value(const plan_t *pl, double v, char *out, size_t n)
{
  if (pl->max_scale)
    snprintf(out, n, "%.6g", v);
  else
    snprintf(out, n, "%.0f", v);
}

/* The values the knobs of option o take for candidate v under the placement rule. Returns 0 when the rule
 * cannot give every knob at least 1 (a total smaller than the knobs). */
static int split(const option_t *o, int total_rule, long v, long *out)
{
  if (!total_rule) {
    for (int k = 0; k < o->n_knobs; k++)
      out[k] = v;
    return 1;
  }
  double wsum = 0, frac[MAX_KNOBS];
  for (int k = 0; k < o->n_knobs; k++)
    wsum += o->knobs[k].weight;
  long given = 0;
  for (int k = 0; k < o->n_knobs; k++) {
    double q = (double)v * o->knobs[k].weight / wsum;
    out[k] = (long)floor(q);
    frac[k] = q - (double)out[k];
    given += out[k];
  }
  /* Largest remainder: the units left go to the largest fractional parts, ties to the knob named first. */
  for (; given < v; given++) {
    int best = 0;
    for (int k = 1; k < o->n_knobs; k++)
      if (frac[k] > frac[best])
        best = k;
    out[best]++;
    frac[best] = -1;
  }
  for (int k = 0; k < o->n_knobs; k++)
    if (out[k] < 1)
      return 0;
  return 1;
}

static void fmt_split(const plan_t *pl, const option_t *o, double v, char *out, size_t n)
{
  long a[MAX_KNOBS];
  out[0] = 0;
  if (!pl->total || pl->max_scale || !split(o, 1, (long)v, a))
    return;
  size_t len = 0;
  for (int k = 0; k < o->n_knobs && len < n; k++)
    len += (size_t)snprintf(out + len, n - len, "%s%ld", k ? "+" : "", a[k]);
}

/* Mean and 95% half-width (Student t) of x[0..n-1]. */
static void mean_ci(const double *x, int n, double *mean, double *half)
{
  double sum = 0, ss = 0;
  for (int s = 0; s < n; s++)
    sum += x[s];
  double m = sum / n;
  for (int s = 0; s < n; s++)
    ss += (x[s] - m) * (x[s] - m);
  *mean = m;
  *half = n > 1 ? gsl_cdf_tdist_Pinv(0.975, n - 1) * sqrt(ss / (n - 1) / n) : NAN;
}

/* Runs (or reuses) the seeds of value v of option o and decides whether it meets the targets. NULL on a
 * failure to run the sweep or an interruption. */
static eval_t *evaluate(plan_t *pl, option_t *o, double v, int *sig)
{
  for (int i = 0; i < o->n_ev; i++)
    if (o->ev[i].value == v)
      return &o->ev[i];
  if (o->n_ev == MAX_EVALS)
    return NULL;
  static char sets[2 * MAX_SETS + MAX_KNOBS * 8][CPN_SWEEP_STR];
  const char *setp[2 * MAX_SETS + MAX_KNOBS * 8];
  char val[64];
  fmt_value(pl, v, val, sizeof val);
  int n = 0;
  for (int i = 0; i < pl->n_sets; i++)
    setp[n++] = pl->sets[i];
  for (int i = 0; i < o->n_sets; i++)
    setp[n++] = o->sets[i];
  if (pl->max_scale) {
    snprintf(sets[n], CPN_SWEEP_STR, "demand.scale=%s", val);
    setp[n] = sets[n];
    n++;
  } else {
    long a[MAX_KNOBS];
    if (!split(o, pl->total, (long)v, a))
      return NULL; /* the caller keeps v in the range where the rule can split it */
    for (int k = 0; k < o->n_knobs; k++) {
      char keys[CPN_SWEEP_STR], *save = NULL;
      snprintf(keys, sizeof keys, "%s", o->knobs[k].keys);
      for (char *key = strtok_r(keys, ",", &save); key && n < (int)(sizeof setp / sizeof *setp);
           key = strtok_r(NULL, ",", &save)) {
        snprintf(sets[n], CPN_SWEEP_STR, "%s=%ld", key, a[k]);
        setp[n] = sets[n];
        n++;
      }
    }
  }
  int idx[MAX_SEEDS];
  for (int s = 0; s < pl->seeds; s++) {
    char seed[32];
    snprintf(seed, sizeof seed, "%d", pl->seed_base + s);
    const char *params[3] = {val, seed, NULL};
    if (pl->named)
      params[0] = o->name, params[1] = val, params[2] = seed;
    idx[s] = cpn_sweep_add_point(&pl->sw, setp, n, params, pl->policy, seed);
    if (idx[s] < 0)
      return NULL;
  }
  if (cpn_sweep_run(&pl->sw, &pl->o, sig) || *sig)
    return NULL;
  eval_t *e = &o->ev[o->n_ev++];
  memset(e, 0, sizeof *e);
  e->value = v;
  e->n = pl->seeds;
  e->meets = 1;
  e->cost = e->cost_half = NAN;
  for (int s = 0; s < pl->seeds; s++)
    if (pl->sw.points[idx[s]].state != CPN_POINT_OK) {
      fprintf(stderr, "cpnsim-plan: run %s (%s%svalue %s, seed %d) failed: %s\n", pl->sw.points[idx[s]].id,
              o->name, o->name[0] ? ", " : "", val, pl->seed_base + s, pl->sw.points[idx[s]].error);
      e->failed = 1;
      return e;
    }
  double x[MAX_SEEDS];
  for (int t = 0; t < pl->n_t; t++) {
    for (int s = 0; s < pl->seeds; s++) {
      char path[CPN_SWEEP_PATH];
      cpn_sweep_result_path(&pl->sw, &pl->sw.points[idx[s]], path);
      if (cpn_sweep_read_metric(path, pl->t[t].table, pl->t[t].key, pl->t[t].metric, &x[s])) {
        fprintf(stderr, "cpnsim-plan: --target %s: %s\n", pl->t[t].text, cpn_error_message());
        e->failed = 2;
        return e;
      }
    }
    double m, half;
    mean_ci(x, pl->seeds, &m, &half);
    e->mean[t] = m;
    e->half[t] = half;
    /* A NaN (no sample: nothing completed) never meets a target. */
    int ok = pl->t[t].le ? m <= pl->t[t].x : m >= pl->t[t].x;
    e->meets &= ok;
    if (!(fabs(m - pl->t[t].x) > half))
      e->noisy = 1;
  }
  /* The full cost per token, when the result files have it (evidence; the cheapest-fleet comparison). */
  int s = 0;
  for (; s < pl->seeds; s++) {
    char path[CPN_SWEEP_PATH];
    cpn_sweep_result_path(&pl->sw, &pl->sw.points[idx[s]], path);
    if (cpn_sweep_read_metric(path, "overall", "overall", "full_cost_usd_per_mtok", &x[s]))
      break;
  }
  if (s == pl->seeds) {
    mean_ci(x, pl->seeds, &e->cost, &e->cost_half);
    pl->has_cost = 1;
  }
  return e;
}

static int cmp_eval(const void *a, const void *b)
{
  double x = ((const eval_t *)a)->value, y = ((const eval_t *)b)->value;
  return (x > y) - (x < y);
}

static void print_evidence(plan_t *pl, const option_t *o)
{
  eval_t sorted[MAX_EVALS];
  memcpy(sorted, o->ev, (size_t)o->n_ev * sizeof *sorted);
  qsort(sorted, (size_t)o->n_ev, sizeof *sorted, cmp_eval);
  if (o->name[0])
    printf(" option %s:\n", o->name);
  printf("  %12s %5s", pl->max_scale ? "demand.scale" : pl->total ? "total" : "value", "runs");
  if (pl->total)
    printf("  %16s", "split");
  for (int t = 0; t < pl->n_t; t++)
    printf("  %28s", pl->t[t].text);
  if (pl->has_cost)
    printf("  %24s", "full USD per Mtok");
  printf("  meets\n");
  for (int i = 0; i < o->n_ev; i++) {
    char v[64], sp[256], cell[64];
    fmt_value(pl, sorted[i].value, v, sizeof v);
    printf("  %12s %5d", v, sorted[i].n);
    if (pl->total) {
      fmt_split(pl, o, sorted[i].value, sp, sizeof sp);
      printf("  %16s", sp);
    }
    for (int t = 0; t < pl->n_t; t++) {
      snprintf(cell, sizeof cell, "%.4g +- %.2g", sorted[i].mean[t], sorted[i].half[t]);
      printf("  %28s", sorted[i].failed == 2 ? "no such metric" : sorted[i].failed ? "run failed" : cell);
    }
    if (pl->has_cost) {
      snprintf(cell, sizeof cell, "%.4g +- %.2g", sorted[i].cost, sorted[i].cost_half);
      printf("  %24s", sorted[i].failed ? "-" : cell);
    }
    printf("  %s%s\n", sorted[i].failed ? "-" : sorted[i].meets ? "yes" : "no",
           sorted[i].noisy && !sorted[i].failed ? " (within noise)" : "");
  }
}

/* The search assumes that more capacity (or less demand) never turns a met target into a missed one.
Warns when the evidence says otherwise: the answer is then only the boundary the bisection found. */
static void check_monotone(const plan_t *pl, const option_t *o)
{
  eval_t s[MAX_EVALS];
  memcpy(s, o->ev, (size_t)o->n_ev * sizeof *s);
  qsort(s, (size_t)o->n_ev, sizeof *s, cmp_eval);
  for (int t = 0; t < pl->n_t; t++)
    for (int i = 0; i < o->n_ev; i++)
      for (int j = i + 1; j < o->n_ev; j++) {
        if (s[i].failed || s[j].failed)
          continue;
        int ok_i = pl->t[t].le ? s[i].mean[t] <= pl->t[t].x : s[i].mean[t] >= pl->t[t].x;
        int ok_j = pl->t[t].le ? s[j].mean[t] <= pl->t[t].x : s[j].mean[t] >= pl->t[t].x;
        if (pl->max_scale ? !ok_i && ok_j : ok_i && !ok_j) {
          char a[64], b[64];
          fmt_value(pl, s[i].value, a, sizeof a);
          fmt_value(pl, s[j].value, b, sizeof b);
          printf("warning: %s%s%s meets its target at %s (%.4g) but not at %s (%.4g): the search assumes %s, so "
                 "the answer is only the boundary the bisection found\n",
                 o->name, o->name[0] ? ": " : "", pl->t[t].metric, pl->max_scale ? b : a,
                 s[pl->max_scale ? j : i].mean[t], pl->max_scale ? a : b, s[pl->max_scale ? i : j].mean[t],
                 pl->max_scale ? "more demand never helps" : "more capacity never hurts");
          return;
        }
      }
}

static const eval_t *find_eval(const option_t *o, double v)
{
  for (int i = 0; i < o->n_ev; i++)
    if (o->ev[i].value == v)
      return &o->ev[i];
  return NULL;
}

/* Smallest v in [lo, hi] meeting the targets for option o. Returns 0 with o->answer set (NaN when no
 * value in the range meets), 1 when a run failed or the search stopped. */
static int search_capacity(plan_t *pl, option_t *o, double lo, double hi, int *sig)
{
  eval_t *e;
  long a[MAX_KNOBS];
  o->answer = NAN;
  /* Under --total, start where the rule gives every knob at least one. */
  while (lo < hi && !split(o, pl->total, (long)lo, a))
    lo++;
  if (!split(o, pl->total, (long)hi, a)) {
    fprintf(stderr, "cpnsim-plan: %s%s--total %g cannot give each of the %d knobs at least 1\n", o->name,
            o->name[0] ? ": " : "", hi, o->n_knobs);
    return 1;
  }
  /* Invariant: lo fails (or is untested), hi meets. */
  if (!(e = evaluate(pl, o, hi, sig)) || e->failed)
    return 1;
  if (!e->meets)
    return 0;
  if (!(e = evaluate(pl, o, lo, sig)) || e->failed)
    return 1;
  if (e->meets) {
    o->answer = lo;
    return 0;
  }
  while (hi - lo > 1) {
    double mid = floor((lo + hi) / 2);
    if (!(e = evaluate(pl, o, mid, sig)) || e->failed)
      return 1;
    *(e->meets ? &hi : &lo) = mid;
  }
  o->answer = hi;
  return 0;
}

static void describe(const option_t *o, char *what, size_t n)
{
  what[0] = 0;
  for (int k = 0; k < o->n_knobs; k++)
    snprintf(what + strlen(what), n - strlen(what), "%s%s", k ? ", " : "", o->knobs[k].keys);
}

int main(int argc, char **argv)
{
  static plan_t pl;
  const char *scenario = NULL, *dir = NULL, *cpnsim = getenv("CPNSIM"), *range = NULL;
  int workers = -1, quiet = 0, tol_given = 0;
  double tol = 0.05;
  pl.seeds = 3;
  pl.seed_base = 1;
  pl.n_opt = 1; /* option 0 holds what comes before the first --option */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    option_t *cur = &pl.opt[pl.n_opt - 1];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--max-scale") || !strcmp(a, "--total") || !strcmp(a, "--quiet")) {
      *(!strcmp(a, "--max-scale") ? &pl.max_scale : !strcmp(a, "--total") ? &pl.total : &quiet) = 1;
      continue;
    }
    int has_value = !strcmp(a, "--knob") || !strcmp(a, "--range") || !strcmp(a, "--target") ||
                    !strcmp(a, "--seeds") || !strcmp(a, "--seed-base") || !strcmp(a, "--tol") ||
                    !strcmp(a, "--policy") || !strcmp(a, "--set") || !strcmp(a, "--workers") ||
                    !strcmp(a, "--out") || !strcmp(a, "--cpnsim") || !strcmp(a, "--option");
    if (has_value && i + 1 >= argc)
      return bad("option '%s' needs a value", a);
    if (!has_value) {
      if (a[0] == '-' && a[1])
        return bad("unknown option '%s'", a);
      if (scenario)
        return bad("more than one scenario ('%s')", a);
      scenario = a;
      continue;
    }
    const char *v = argv[++i];
    char *end;
    if (!strcmp(a, "--knob")) {
      if (cur->n_knobs == MAX_KNOBS || !parse_knob(v, &cur->knobs[cur->n_knobs]))
        return bad("--knob: '%s' is not KEY[,KEY...][:WEIGHT] (at most 64 knobs)", v);
      cur->n_knobs++;
    } else if (!strcmp(a, "--option")) {
      if (pl.n_opt == MAX_OPTIONS || !*v || strlen(v) >= sizeof cur->name || strchr(v, '='))
        return bad("--option: '%s' is not a name (at most 15 options)", v);
      for (int o = 1; o < pl.n_opt; o++)
        if (!strcmp(pl.opt[o].name, v))
          return bad("--option: '%s' given twice", v);
      snprintf(pl.opt[pl.n_opt++].name, sizeof cur->name, "%s", v);
    } else if (!strcmp(a, "--range")) {
      range = v;
    } else if (!strcmp(a, "--target")) {
      if (pl.n_t == MAX_TARGETS || !parse_target(v, &pl.t[pl.n_t]))
        return bad("--target: '%s' is not [TABLE/KEY/]METRIC<=X or >=X", v);
      pl.n_t++;
    } else if (!strcmp(a, "--seeds") || !strcmp(a, "--seed-base") || !strcmp(a, "--workers")) {
      long n = strtol(v, &end, 10);
      if (!*v || *end || n < (strcmp(a, "--seeds") ? 0 : 1) || n > (strcmp(a, "--seeds") ? 1000000 : MAX_SEEDS))
        return bad("'%s' is out of range", v);
      *(!strcmp(a, "--seeds") ? &pl.seeds : !strcmp(a, "--seed-base") ? &pl.seed_base : &workers) = (int)n;
    } else if (!strcmp(a, "--tol")) {
      tol = strtod(v, &end);
      tol_given = 1;
      if (!*v || *end || !(tol > 0 && tol < 1))
        return bad("--tol: '%s' is not a fraction in (0, 1)", v);
    } else if (!strcmp(a, "--policy")) {
      pl.policy = v;
    } else if (!strcmp(a, "--set")) {
      if (!strchr(v, '=') || cur->n_sets == MAX_SETS)
        return bad("--set: '%s' is not KEY=VALUE", v);
      cur->sets[cur->n_sets++] = v;
    } else if (!strcmp(a, "--out")) {
      dir = v;
    } else {
      cpnsim = v;
    }
  }
  if (!scenario)
    return bad("%s", "no scenario given");
  if (!pl.n_t)
    return bad("%s", "no --target given");
  /* Fold the common part (option 0) into each named option: its knobs first, then the option's own. */
  memcpy(pl.sets, pl.opt[0].sets, (size_t)pl.opt[0].n_sets * sizeof *pl.sets);
  pl.n_sets = pl.opt[0].n_sets;
  option_t *opts = pl.opt;
  int n_opt = 1;
  if (pl.n_opt == 1)
    pl.opt[0].n_sets = 0; /* its --set are the common ones, now in pl.sets */
  if (pl.n_opt > 1) {
    pl.named = 1;
    opts = pl.opt + 1;
    n_opt = pl.n_opt - 1;
    for (int o = 0; o < n_opt; o++) {
      option_t *op = &opts[o];
      if (op->n_knobs + pl.opt[0].n_knobs > MAX_KNOBS)
        return bad("--option %s: more than 64 knobs", op->name);
      memmove(op->knobs + pl.opt[0].n_knobs, op->knobs, (size_t)op->n_knobs * sizeof *op->knobs);
      memcpy(op->knobs, pl.opt[0].knobs, (size_t)pl.opt[0].n_knobs * sizeof *op->knobs);
      op->n_knobs += pl.opt[0].n_knobs;
    }
  }
  for (int o = 0; o < n_opt; o++) {
    if (pl.max_scale && opts[o].n_knobs)
      return bad("%s", "give either --knob KEY (smallest capacity) or --max-scale (largest demand), not both");
    if (!pl.max_scale && !opts[o].n_knobs)
      return bad(pl.named ? "--option %s has no --knob (and no common --knob comes before the options)"
                          : "%s",
                 pl.named ? opts[o].name : "give either --knob KEY (smallest capacity) or --max-scale (largest demand)");
    for (int k = 0; k < opts[o].n_knobs; k++)
      if (opts[o].knobs[k].weighted && !pl.total)
        return bad("--knob %s: a weight has no effect without --total", opts[o].knobs[k].keys);
  }
  if (pl.max_scale && (pl.named || pl.total))
    return bad("%s", "--max-scale searches demand: --option and --total are for capacity searches");
  if (tol_given && !pl.max_scale)
    return bad("%s", "--tol has no effect without --max-scale (capacity is searched to 1)");
  double lo, hi;
  char *end;
  if (!range || (lo = strtod(range, &end), *end != ':') || (hi = strtod(end + 1, &end), *end) || !(lo < hi) ||
      !(lo > 0) || (!pl.max_scale && (lo != floor(lo) || hi != floor(hi))))
    return bad("--range: '%s' is not LO:HI with 0 < LO < HI (whole numbers for --knob)", range ? range : "");
  if (!cpnsim || !*cpnsim)
    cpnsim = CPN_DEFAULT_CPNSIM;
  if (access(cpnsim, X_OK))
    return bad("'%s' is not an executable (--cpnsim or $CPNSIM)", cpnsim);
  char defdir[CPN_SWEEP_STR], base[CPN_SWEEP_PATH];
  snprintf(base, sizeof base, "%s", scenario);
  char *b = basename(base), *dot = strrchr(b, '.');
  if (dot)
    *dot = 0;
  snprintf(defdir, sizeof defdir, "plan-%s", b);
  /* Parameter columns of the index: the searched value (named for the knob when there is one knob and
   * one design, as before options existed), the seed, and the option when there are several. */
  const char *col0 = pl.max_scale ? "demand.scale" : pl.total ? "total" : opts[0].n_knobs == 1 ? opts[0].knobs[0].keys : "value";
  const char *cols_plain[] = {col0, "seed", NULL};
  const char *cols_named[] = {"option", pl.total ? "total" : "value", "seed", NULL};
  if (cpn_sweep_init(&pl.sw, defdir, scenario, dir ? dir : defdir, pl.named ? cols_named : cols_plain)) {
    fprintf(stderr, "cpnsim-plan: %s\n", cpn_error_message());
    return 2;
  }
  if (workers < 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    workers = n > 0 ? (int)n : 1;
  }
  pl.o = (cpn_sweep_opts_t){.cpnsim = cpnsim, .workers = workers ? workers : 1, .quiet = quiet, .write_index = 1};
  cpn_sweep_signals_install();
  /* Check the scenario with every override of each design once, through cpnsim --check (it names a bad key). */
  for (int o = 0; o < n_opt; o++) {
    char cmd[CPN_SWEEP_PATH * 2];
    int n = snprintf(cmd, sizeof cmd, "'%s' '%s' --check", cpnsim, pl.sw.scenario);
    for (int i = 0; i < pl.n_sets && n < (int)sizeof cmd - 300; i++)
      n += snprintf(cmd + n, sizeof cmd - (size_t)n, " --set '%s'", pl.sets[i]);
    for (int i = 0; i < opts[o].n_sets && n < (int)sizeof cmd - 300; i++)
      n += snprintf(cmd + n, sizeof cmd - (size_t)n, " --set '%s'", opts[o].sets[i]);
    for (int k = 0; k < opts[o].n_knobs; k++) {
      char keys[CPN_SWEEP_STR], *save = NULL;
      snprintf(keys, sizeof keys, "%s", opts[o].knobs[k].keys);
      for (char *key = strtok_r(keys, ",", &save); key && n < (int)sizeof cmd - 300; key = strtok_r(NULL, ",", &save))
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " --set '%s=%.0f'", key, hi);
    }
    if (pl.policy)
      n += snprintf(cmd + n, sizeof cmd - (size_t)n, " --policy '%s'", pl.policy);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " >/dev/null");
    if (system(cmd) != 0) {
      fprintf(stderr, "cpnsim-plan: the scenario refuses these options%s%s (cpnsim --check above)\n",
              pl.named ? " of --option " : "", opts[o].name);
      cpn_sweep_destroy(&pl.sw);
      return 2;
    }
  }
  int sig = 0, rc = 1;
  char what[1024] = "";
  if (!pl.named)
    describe(&opts[0], what, sizeof what);
  if (pl.max_scale)
    printf("cpnsim-plan: largest demand.scale meeting");
  else if (pl.named)
    printf("cpnsim-plan: cheapest of %d fleet options (full cost per token), each at its smallest %s meeting", n_opt,
           pl.total ? "total" : "value");
  else
    printf("cpnsim-plan: smallest %s%s meeting", pl.total ? "total of " : "", what);
  for (int t = 0; t < pl.n_t; t++)
    printf("%s %s", t ? " and" : "", pl.t[t].text);
  printf(" in [%g, %g]%s, %d seed%s each (%s)\n", lo, hi,
         pl.total ? " split by weight (largest remainder, each at least 1)" : "", pl.seeds, pl.seeds > 1 ? "s" : "",
         pl.sw.dir);
  fflush(stdout);
  double answer = NAN;
  char verdict[512] = "";
  if (!pl.max_scale) {
    rc = 0;
    for (int o = 0; o < n_opt && !rc; o++)
      rc = search_capacity(&pl, &opts[o], lo, hi, &sig);
    if (!pl.named && !rc) {
      answer = opts[0].answer;
      if (isnan(answer)) {
        snprintf(verdict, sizeof verdict, "no value in [%g, %g] meets the targets (%g does not)", lo, hi, hi);
        rc = 1;
      }
    }
  } else {
    eval_t *e;
    option_t *o = &opts[0];
    /* Largest scale that meets: lo meets, hi fails. */
    if (!(e = evaluate(&pl, o, lo, &sig)) || e->failed)
      goto out;
    if (!e->meets) {
      snprintf(verdict, sizeof verdict, "even demand.scale %g misses the targets", lo);
      goto out;
    }
    if (!(e = evaluate(&pl, o, hi, &sig)) || e->failed)
      goto out;
    if (e->meets) {
      answer = hi;
    } else {
      while (hi - lo > tol * hi) {
        double mid = (lo + hi) / 2;
        if (!(e = evaluate(&pl, o, mid, &sig)) || e->failed)
          goto out;
        *(e->meets ? &lo : &hi) = mid;
      }
      answer = lo;
    }
    rc = 0;
  }
out:
  for (int o = 0; o < n_opt; o++)
    for (int i = 0; i < opts[o].n_ev; i++)
      if (opts[o].ev[i].failed == 2)
        rc = 2; /* a --target naming a metric or row the result files do not have */
  if (sig) {
    fprintf(stderr, "cpnsim-plan: interrupted; rerun to resume (finished runs are reused)\n");
    rc = 128 + sig;
  }
  printf("evidence (mean over seeds +- 95%% confidence half-width, Student t):\n");
  for (int o = 0; o < n_opt; o++) {
    print_evidence(&pl, &opts[o]);
    check_monotone(&pl, &opts[o]);
  }
  if (!rc && pl.named) {
    /* The cheapest fleet: each option's answer and its full cost per token. */
    printf("fleet options (smallest %s meeting the targets; full cost per million tokens, USD, at that %s):\n",
           pl.total ? "total" : "value", pl.total ? "total" : "value");
    int best = -1;
    for (int o = 0; o < n_opt; o++) {
      const eval_t *e = isnan(opts[o].answer) ? NULL : find_eval(&opts[o], opts[o].answer);
      char v[64] = "none", sp[256] = "", what_o[1024];
      describe(&opts[o], what_o, sizeof what_o);
      if (e) {
        fmt_value(&pl, opts[o].answer, v, sizeof v);
        fmt_split(&pl, &opts[o], opts[o].answer, sp, sizeof sp);
      }
      printf("  %-16s %s = %s%s%s%s", opts[o].name, what_o, v, sp[0] ? " (" : "", sp, sp[0] ? ")" : "");
      if (e)
        printf("  full cost %.4g +- %.2g\n", e->cost, e->cost_half);
      else
        printf("  no value in [%g, %g] meets the targets\n", lo, hi);
      if (e && !isnan(e->cost) &&
          (best < 0 || e->cost < find_eval(&opts[best], opts[best].answer)->cost))
        best = o;
    }
    int any = 0;
    for (int o = 0; o < n_opt; o++)
      any |= !isnan(opts[o].answer);
    if (best >= 0) {
      const eval_t *e = find_eval(&opts[best], opts[best].answer);
      char v[64], sp[256], what_o[1024], close[1024] = "";
      fmt_value(&pl, opts[best].answer, v, sizeof v);
      fmt_split(&pl, &opts[best], opts[best].answer, sp, sizeof sp);
      describe(&opts[best], what_o, sizeof what_o);
      for (int o = 0; o < n_opt; o++) {
        const eval_t *f = o == best || isnan(opts[o].answer) ? NULL : find_eval(&opts[o], opts[o].answer);
        if (f && !(f->cost - f->cost_half > e->cost + e->cost_half))
          snprintf(close + strlen(close), sizeof close - strlen(close), "%s%.63s", close[0] ? ", " : "", opts[o].name);
      }
      printf("answer: cheapest fleet: option %s, %s = %s%s%s%s, full cost %.4g USD per million tokens%s%s%s\n",
             opts[best].name, what_o, v, sp[0] ? " (" : "", sp, sp[0] ? ")" : "", e->cost,
             close[0] ? " (within the seed-to-seed noise of " : "", close, close[0] ? ": more seeds would separate them)" : "");
    } else if (any) {
      printf("answer: options meet the targets but the result files have no full_cost_usd_per_mtok to compare\n");
      rc = 1;
    } else {
      printf("answer: no option meets the targets in [%g, %g]\n", lo, hi);
      rc = 1;
    }
  } else if (!rc) {
    char v[64], sp[256];
    fmt_value(&pl, answer, v, sizeof v);
    fmt_split(&pl, &opts[0], answer, sp, sizeof sp);
    const eval_t *a = find_eval(&opts[0], answer);
    if (pl.max_scale)
      printf("answer: demand.scale %s is the largest found to meet the targets (to within %g%%)%s\n", v, 100 * tol,
             a && a->noisy ? "; within the seed-to-seed noise of a threshold: more seeds would firm it up" : "");
    else
      printf("answer: %s%s = %s%s%s%s%s%s\n", pl.total ? "total of " : "", what, v,
             pl.total ? " split " : opts[0].n_knobs > 1 ? " each" : "", sp, "",
             a && a->noisy ? " (within the seed-to-seed noise of a threshold: more seeds would firm it up)" : "", "");
  } else if (verdict[0]) {
    printf("answer: %s\n", verdict);
  }
  printf("runs: %s/index.h5 (%d runs)\n", pl.sw.dir, pl.sw.n_points);
  cpn_sweep_destroy(&pl.sw);
  return rc;
}
