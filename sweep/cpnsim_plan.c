/* cpnsim-plan: capacity search by bisection over seeded cpnsim runs.
 *
 *   cpnsim-plan SCENARIO --knob KEY [--knob KEY]... --range LO:HI --target SPEC [--target SPEC]...
 *   cpnsim-plan SCENARIO --max-scale --range LO:HI [--tol 0.05] --target SPEC...
 *   common: [--seeds N] [--seed-base S] [--policy P] [--set KEY=VALUE]... [--workers N] [--out DIR] [--quiet]
 *
 * Smallest capacity: every --knob (an integer scenario key: a replica count, a pool count) is set to the
 * same value v (the placement rule "equal per knob"); the answer is the smallest v in [LO, HI] whose runs
 * meet every target, assuming more capacity never makes a target worse. Largest demand: demand.scale is
 * bisected in [LO, HI] down to a relative tolerance; the answer is the largest scale found to meet the
 * targets, assuming more demand never helps. A target is `[TABLE/KEY/]METRIC<=X` or `>=X`, read from
 * /summary/TABLE (default overall/overall): `ttft_p99_s<=2`, `classes/interactive/slo_attainment>=0.99`.
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
  int meets, noisy, failed;
} eval_t;

static void usage(FILE *f)
{
  fprintf(f, "usage: cpnsim-plan SCENARIO (--knob KEY... | --max-scale) --range LO:HI --target SPEC... [options]\n"
             "  --knob KEY        an integer scenario key set to the candidate value (repeatable: all set alike)\n"
             "  --max-scale       search the largest demand.scale that meets the targets instead\n"
             "  --range LO:HI     the values searched\n"
             "  --target SPEC     [TABLE/KEY/]METRIC<=X or >=X, e.g. ttft_p99_s<=2, slo_attainment>=0.99\n"
             "  --seeds N         seeds per value (default 3), from --seed-base (default 1)\n"
             "  --tol R           --max-scale: stop when the bracket is within R of its top (default 0.05)\n"
             "  --policy P, --set KEY=VALUE   passed to every run\n"
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

typedef struct {
  cpn_sweep_t sw;
  cpn_sweep_opts_t o;
  const char *sets[256];
  int n_sets;
  const char *knobs[MAX_KNOBS];
  int n_knobs, max_scale, seeds, seed_base;
  const char *policy;
  target_t t[MAX_TARGETS];
  int n_t;
  eval_t ev[MAX_EVALS];
  int n_ev;
} plan_t;

static void fmt_value(const plan_t *pl, double v, char *out, size_t n)
{
  if (pl->max_scale)
    snprintf(out, n, "%.6g", v);
  else
    snprintf(out, n, "%.0f", v);
}

/* Runs (or reuses) the seeds of value v and decides whether it meets the targets. NULL on a failure. */
static eval_t *evaluate(plan_t *pl, double v, int *sig)
{
  for (int i = 0; i < pl->n_ev; i++)
    if (pl->ev[i].value == v)
      return &pl->ev[i];
  if (pl->n_ev == MAX_EVALS)
    return NULL;
  char val[64], sets[260][CPN_SWEEP_STR];
  fmt_value(pl, v, val, sizeof val);
  const char *setp[260];
  int n = 0;
  for (int i = 0; i < pl->n_sets; i++)
    setp[n++] = pl->sets[i];
  for (int k = 0; k < (pl->max_scale ? 1 : pl->n_knobs) && n < 258; k++) {
    snprintf(sets[n], CPN_SWEEP_STR, "%s=%s", pl->max_scale ? "demand.scale" : pl->knobs[k], val);
    setp[n] = sets[n];
    n++;
  }
  int idx[MAX_SEEDS];
  for (int s = 0; s < pl->seeds; s++) {
    char seed[32];
    snprintf(seed, sizeof seed, "%d", pl->seed_base + s);
    const char *params[2] = {val, seed};
    idx[s] = cpn_sweep_add_point(&pl->sw, setp, n, params, pl->policy, seed);
    if (idx[s] < 0)
      return NULL;
  }
  if (cpn_sweep_run(&pl->sw, &pl->o, sig) || *sig)
    return NULL;
  eval_t *e = &pl->ev[pl->n_ev++];
  memset(e, 0, sizeof *e);
  e->value = v;
  e->n = pl->seeds;
  e->meets = 1;
  for (int s = 0; s < pl->seeds; s++)
    if (pl->sw.points[idx[s]].state != CPN_POINT_OK) {
      fprintf(stderr, "cpnsim-plan: run %s (value %s, seed %d) failed: %s\n", pl->sw.points[idx[s]].id, val,
              pl->seed_base + s, pl->sw.points[idx[s]].error);
      e->failed = 1;
      return e;
    }
  double tq = pl->seeds > 1 ? gsl_cdf_tdist_Pinv(0.975, pl->seeds - 1) : INFINITY;
  for (int t = 0; t < pl->n_t; t++) {
    double x[MAX_SEEDS], sum = 0, ss = 0;
    for (int s = 0; s < pl->seeds; s++) {
      char path[CPN_SWEEP_PATH];
      cpn_sweep_result_path(&pl->sw, &pl->sw.points[idx[s]], path);
      if (cpn_sweep_read_metric(path, pl->t[t].table, pl->t[t].key, pl->t[t].metric, &x[s])) {
        fprintf(stderr, "cpnsim-plan: --target %s: %s\n", pl->t[t].text, cpn_error_message());
        e->failed = 2;
        return e;
      }
      sum += x[s];
    }
    double m = sum / pl->seeds;
    for (int s = 0; s < pl->seeds; s++)
      ss += (x[s] - m) * (x[s] - m);
    double half = pl->seeds > 1 ? tq * sqrt(ss / (pl->seeds - 1) / pl->seeds) : NAN;
    e->mean[t] = m;
    e->half[t] = half;
    /* A NaN (no sample: nothing completed) never meets a target. */
    int ok = pl->t[t].le ? m <= pl->t[t].x : m >= pl->t[t].x;
    e->meets &= ok;
    if (!(fabs(m - pl->t[t].x) > half))
      e->noisy = 1;
  }
  return e;
}

static int cmp_eval(const void *a, const void *b)
{
  double x = ((const eval_t *)a)->value, y = ((const eval_t *)b)->value;
  return (x > y) - (x < y);
}

static void print_evidence(plan_t *pl)
{
  eval_t sorted[MAX_EVALS];
  memcpy(sorted, pl->ev, (size_t)pl->n_ev * sizeof *sorted);
  qsort(sorted, (size_t)pl->n_ev, sizeof *sorted, cmp_eval);
  printf("  %12s %5s", pl->max_scale ? "demand.scale" : "value", "runs");
  for (int t = 0; t < pl->n_t; t++)
    printf("  %28s", pl->t[t].text);
  printf("  meets\n");
  for (int i = 0; i < pl->n_ev; i++) {
    char v[64];
    fmt_value(pl, sorted[i].value, v, sizeof v);
    printf("  %12s %5d", v, sorted[i].n);
    for (int t = 0; t < pl->n_t; t++) {
      char cell[64];
      snprintf(cell, sizeof cell, "%.4g +- %.2g", sorted[i].mean[t], sorted[i].half[t]);
      printf("  %28s", sorted[i].failed == 2 ? "no such metric" : sorted[i].failed ? "run failed" : cell);
    }
    printf("  %s%s\n", sorted[i].failed ? "-" : sorted[i].meets ? "yes" : "no",
           sorted[i].noisy && !sorted[i].failed ? " (within noise)" : "");
  }
}

/* The search assumes that more capacity (or less demand) never turns a met target into a missed one.
Warns when the evidence says otherwise: the answer is then only the boundary the bisection found. */
static void check_monotone(const plan_t *pl)
{
  eval_t s[MAX_EVALS];
  memcpy(s, pl->ev, (size_t)pl->n_ev * sizeof *s);
  qsort(s, (size_t)pl->n_ev, sizeof *s, cmp_eval);
  for (int t = 0; t < pl->n_t; t++)
    for (int i = 0; i < pl->n_ev; i++)
      for (int j = i + 1; j < pl->n_ev; j++) {
        if (s[i].failed || s[j].failed)
          continue;
        int ok_i = pl->t[t].le ? s[i].mean[t] <= pl->t[t].x : s[i].mean[t] >= pl->t[t].x;
        int ok_j = pl->t[t].le ? s[j].mean[t] <= pl->t[t].x : s[j].mean[t] >= pl->t[t].x;
        if (pl->max_scale ? !ok_i && ok_j : ok_i && !ok_j) {
          char a[64], b[64];
          fmt_value(pl, s[i].value, a, sizeof a);
          fmt_value(pl, s[j].value, b, sizeof b);
          printf("warning: %s meets its target at %s (%.4g) but not at %s (%.4g): the search assumes %s, so the "
                 "answer is only the boundary the bisection found\n",
                 pl->t[t].metric, pl->max_scale ? b : a, s[pl->max_scale ? j : i].mean[t], pl->max_scale ? a : b,
                 s[pl->max_scale ? i : j].mean[t],
                 pl->max_scale ? "more demand never helps" : "more capacity never hurts");
          return;
        }
      }
}

int main(int argc, char **argv)
{
  static plan_t pl;
  const char *scenario = NULL, *dir = NULL, *cpnsim = getenv("CPNSIM"), *range = NULL;
  int workers = -1, quiet = 0;
  double tol = 0.05;
  pl.seeds = 3;
  pl.seed_base = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--max-scale")) {
      pl.max_scale = 1;
      continue;
    }
    if (!strcmp(a, "--quiet")) {
      quiet = 1;
      continue;
    }
    int has_value = !strcmp(a, "--knob") || !strcmp(a, "--range") || !strcmp(a, "--target") ||
                    !strcmp(a, "--seeds") || !strcmp(a, "--seed-base") || !strcmp(a, "--tol") ||
                    !strcmp(a, "--policy") || !strcmp(a, "--set") || !strcmp(a, "--workers") ||
                    !strcmp(a, "--out") || !strcmp(a, "--cpnsim");
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
      if (pl.n_knobs == MAX_KNOBS || !*v || strchr(v, '='))
        return bad("--knob: '%s' is not a scenario key (at most 64 knobs)", v);
      pl.knobs[pl.n_knobs++] = v;
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
      if (!*v || *end || !(tol > 0 && tol < 1))
        return bad("--tol: '%s' is not a fraction in (0, 1)", v);
    } else if (!strcmp(a, "--policy")) {
      pl.policy = v;
    } else if (!strcmp(a, "--set")) {
      if (!strchr(v, '=') || pl.n_sets == 200)
        return bad("--set: '%s' is not KEY=VALUE", v);
      pl.sets[pl.n_sets++] = v;
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
  if (pl.max_scale == (pl.n_knobs > 0))
    return bad("%s", "give either --knob KEY (smallest capacity) or --max-scale (largest demand), not both");
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
  const char *cols[] = {pl.max_scale ? "demand.scale" : pl.knobs[0], "seed", NULL};
  if (cpn_sweep_init(&pl.sw, defdir, scenario, dir ? dir : defdir, cols)) {
    fprintf(stderr, "cpnsim-plan: %s\n", cpn_error_message());
    return 2;
  }
  if (workers < 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    workers = n > 0 ? (int)n : 1;
  }
  pl.o = (cpn_sweep_opts_t){.cpnsim = cpnsim, .workers = workers ? workers : 1, .quiet = quiet, .write_index = 1};
  cpn_sweep_signals_install();
  /* Check the scenario with every override once, through cpnsim --check (it names a bad key). */
  {
    char cmd[CPN_SWEEP_PATH * 2];
    int n = snprintf(cmd, sizeof cmd, "'%s' '%s' --check", cpnsim, pl.sw.scenario);
    for (int i = 0; i < pl.n_sets && n < (int)sizeof cmd - 300; i++)
      n += snprintf(cmd + n, sizeof cmd - (size_t)n, " --set '%s'", pl.sets[i]);
    for (int k = 0; k < pl.n_knobs && n < (int)sizeof cmd - 300; k++)
      n += snprintf(cmd + n, sizeof cmd - (size_t)n, " --set '%s=%.0f'", pl.knobs[k], hi);
    if (pl.policy)
      n += snprintf(cmd + n, sizeof cmd - (size_t)n, " --policy '%s'", pl.policy);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " >/dev/null");
    if (system(cmd) != 0) {
      fprintf(stderr, "cpnsim-plan: the scenario refuses these options (cpnsim --check above)\n");
      cpn_sweep_destroy(&pl.sw);
      return 2;
    }
  }
  int sig = 0, rc = 1;
  char what[512] = "";
  for (int k = 0; k < pl.n_knobs; k++)
    snprintf(what + strlen(what), sizeof what - strlen(what), "%s%s", k ? ", " : "", pl.knobs[k]);
  printf("cpnsim-plan: %s %s meeting", pl.max_scale ? "largest" : "smallest", pl.max_scale ? "demand.scale" : what);
  for (int t = 0; t < pl.n_t; t++)
    printf("%s %s", t ? " and" : "", pl.t[t].text);
  printf(" in [%g, %g], %d seed%s each (%s)\n", lo, hi, pl.seeds, pl.seeds > 1 ? "s" : "", pl.sw.dir);
  fflush(stdout);
  eval_t *e;
  double answer = NAN;
  char verdict[512] = "";
  if (!pl.max_scale) {
    /* Smallest v in [lo, hi] that meets: invariant lo fails (or is untested), hi meets. */
    if (!(e = evaluate(&pl, hi, &sig)) || e->failed)
      goto out;
    if (!e->meets) {
      snprintf(verdict, sizeof verdict, "no value in [%g, %g] meets the targets (%g does not)", lo, hi, hi);
      goto out;
    }
    if (!(e = evaluate(&pl, lo, &sig)) || e->failed)
      goto out;
    if (e->meets) {
      answer = lo;
    } else {
      while (hi - lo > 1) {
        double mid = floor((lo + hi) / 2);
        if (!(e = evaluate(&pl, mid, &sig)) || e->failed)
          goto out;
        *(e->meets ? &hi : &lo) = mid;
      }
      answer = hi;
    }
  } else {
    /* Largest scale that meets: lo meets, hi fails. */
    if (!(e = evaluate(&pl, lo, &sig)) || e->failed)
      goto out;
    if (!e->meets) {
      snprintf(verdict, sizeof verdict, "even demand.scale %g misses the targets", lo);
      goto out;
    }
    if (!(e = evaluate(&pl, hi, &sig)) || e->failed)
      goto out;
    if (e->meets) {
      answer = hi;
    } else {
      while (hi - lo > tol * hi) {
        double mid = (lo + hi) / 2;
        if (!(e = evaluate(&pl, mid, &sig)) || e->failed)
          goto out;
        *(e->meets ? &lo : &hi) = mid;
      }
      answer = lo;
    }
  }
  rc = 0;
out:
  for (int i = 0; i < pl.n_ev; i++)
    if (pl.ev[i].failed == 2)
      rc = 2; /* a --target naming a metric or row the result files do not have */
  if (sig) {
    fprintf(stderr, "cpnsim-plan: interrupted; rerun to resume (finished runs are reused)\n");
    rc = 128 + sig;
  }
  printf("evidence (mean over seeds +- 95%% confidence half-width, Student t):\n");
  print_evidence(&pl);
  check_monotone(&pl);
  if (!rc) {
    char v[64];
    fmt_value(&pl, answer, v, sizeof v);
    const eval_t *a = NULL;
    for (int i = 0; i < pl.n_ev; i++)
      if (pl.ev[i].value == answer)
        a = &pl.ev[i];
    if (pl.max_scale)
      printf("answer: demand.scale %s is the largest found to meet the targets (to within %g%%)%s\n", v, 100 * tol,
             a && a->noisy ? "; within the seed-to-seed noise of a threshold: more seeds would firm it up" : "");
    else
      printf("answer: %s = %s%s%s\n", what, v, pl.n_knobs > 1 ? " each" : "",
             a && a->noisy ? " (within the seed-to-seed noise of a threshold: more seeds would firm it up)" : "");
  } else if (verdict[0]) {
    printf("answer: %s\n", verdict);
  }
  printf("runs: %s/index.h5 (%d runs)\n", pl.sw.dir, pl.sw.n_points);
  cpn_sweep_destroy(&pl.sw);
  return rc;
}
