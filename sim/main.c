/* main: the cpnsim command line. Parses options, loads the scenario (with --set overrides), resolves the
 * policy (built-in name or plug-in path) and runs one simulation. Exit codes: 0 success, 1 run failure
 * (including a broken invariant), 2 bad input (command line, scenario), 128 + signal when SIGINT (130)
 * or SIGTERM (143) stopped the run, which then leaves no result and no temporary file. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/signal.h"
#include "output/output.h"
#include "run/run.h"
#include "placement/policy.h"
#include "config/scenario.h"
#include "topology/topology.h"

#define MAX_SETS 256

static void usage(FILE *f)
{
  fprintf(f,
          "usage: cpnsim [SCENARIO] [options]\n"
          "Runs one simulation of SCENARIO (default: %s/national-2026.yaml) and writes an HDF5 result file.\n"
          "  --policy NAME|PATH.so  scheduling policy (built-in name or plug-in); overrides run.policy\n"
          "  --seed N               master seed; overrides run.seed\n"
          "  --out FILE             result file (default: <scenario name>.h5)\n"
          "  --set KEY=VALUE        override any scenario key, e.g. --set demand.scale=3 (repeatable)\n"
          "  --trace-errors=skip|stop  bad trace rows: skip and count them, or stop (demand.trace.errors)\n"
          "  --check                validate the scenario and exit\n"
          "  --print-config         print the fully resolved scenario and exit\n"
          "  --list-policies        list the built-in policies\n"
          "  --quiet                no summary table and no progress line (unless --progress)\n"
          "  --progress[=SECONDS]   the progress line even when standard error is not a terminal: a line every\n"
          "                         SECONDS of wall time (default 60; on a terminal, rewritten every SECONDS,\n"
          "                         default 1)\n"
          "  --cfg=..., --log=...   passed to SimGrid\n"
          "  -h, --help             this help\n",
          CPN_SCENARIO_DIR);
}

static int bad_cli(const char *fmt, const char *arg)
{
  fprintf(stderr, "cpnsim: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(cpnsim --help for usage)\n");
  return 2;
}

/* The one line printed when a signal stopped the run; returns the exit code. */
static int interrupted_exit(int sig)
{
  fprintf(stderr, "cpnsim: interrupted by %s; no result written\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  return 128 + sig;
}

/* --check: warnings about places no route reaches (the run itself never sends a request there). */
static cpn_err_t check_routes(const cpn_scenario_t *sc)
{
  return cpn_topology_check(sc, stderr, NULL);
}

int main(int argc, char **argv)
{
  /* First, before SimGrid or anything else starts a thread: they all inherit the blocked signals. */
  if (cpn_signal_install()) {
    fprintf(stderr, "cpnsim: %s\n", cpn_error_message());
    return 1;
  }
  const char *scenario = NULL, *out = NULL, *policy = NULL, *seed = NULL, *trace_errors = NULL;
  const char *sets[MAX_SETS + 3];
  char *sg_argv[64];
  int n_sets = 0, sg_argc = 0, check = 0, print = 0, quiet = 0, list = 0, progress = 0;
  double progress_s = 0; /* 0: the default interval */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--policy") || !strcmp(a, "--seed") || !strcmp(a, "--out") || !strcmp(a, "--set")) {
      if (i + 1 >= argc)
        return bad_cli("option '%s' needs a value", a);
      const char *v = argv[++i];
      if (!strcmp(a, "--policy"))
        policy = v;
      else if (!strcmp(a, "--out"))
        out = v;
      else if (!strcmp(a, "--seed")) {
        char *end;
        strtoul(v, &end, 10);
        if (!*v || *end || v[0] == '-')
          return bad_cli("--seed: '%s' is not a non-negative integer", v);
        seed = v;
      } else {
        if (!strchr(v, '='))
          return bad_cli("--set: '%s' is not KEY=VALUE", v);
        if (n_sets == MAX_SETS)
          return bad_cli("too many --set options (max %s)", "256");
        sets[n_sets++] = v;
      }
    } else if (!strncmp(a, "--trace-errors=", 15)) {
      if (strcmp(a + 15, "skip") && strcmp(a + 15, "stop"))
        return bad_cli("--trace-errors: '%s' is neither skip nor stop", a + 15);
      trace_errors = strcmp(a + 15, "skip") == 0 ? "demand.trace.errors=skip" : "demand.trace.errors=stop";
    } else if (!strcmp(a, "--check")) {
      check = 1;
    } else if (!strcmp(a, "--print-config")) {
      print = 1;
    } else if (!strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (!strcmp(a, "--progress")) {
      progress = 1;
    } else if (!strncmp(a, "--progress=", 11)) {
      char *end;
      progress_s = strtod(a + 11, &end);
      if (!a[11] || *end || !(progress_s > 0) || !isfinite(progress_s))
        return bad_cli("--progress: '%s' is not a positive number of seconds", a + 11);
      progress = 1;
    } else if (!strcmp(a, "--list-policies")) {
      list = 1;
    } else if (!strncmp(a, "--cfg=", 6) || !strncmp(a, "--log=", 6)) {
      if (sg_argc < 60)
        sg_argv[sg_argc++] = argv[i];
    } else if (a[0] == '-' && a[1]) {
      return bad_cli("unknown option '%s'", a);
    } else if (!scenario) {
      scenario = a;
    } else {
      return bad_cli("more than one scenario given ('%s')", a);
    }
  }

  cpn_policy_registry_t *reg = NULL;
  if (cpn_policy_registry_new(&reg)) {
    fprintf(stderr, "cpnsim: %s\n", cpn_error_message());
    return 1;
  }
  if (list) {
    for (size_t i = 0; i < cpn_policy_registry_count(reg); i++)
      printf("%s\n", cpn_policy_registry_at(reg, i)->name);
    cpn_policy_registry_free(reg);
    return 0;
  }

  static char seed_set[64];
  if (seed) {
    snprintf(seed_set, sizeof seed_set, "run.seed=%s", seed);
    sets[n_sets++] = seed_set;
  }
  if (trace_errors) /* after the --set options, so the dedicated option wins */
    sets[n_sets++] = trace_errors;
  char default_path[4096];
  if (!scenario) {
    snprintf(default_path, sizeof default_path, "%s/national-2026.yaml", CPN_SCENARIO_DIR);
    scenario = default_path;
  }
  cpn_scenario_t sc;
  cpn_err_t err = cpn_scenario_load(&sc, scenario, sets, n_sets);
  if (err) {
    fprintf(stderr, "%s\ncpnsim: %s: %s\n", cpn_error_message(), scenario, cpn_error_name(err));
    cpn_policy_registry_free(reg);
    return 2;
  }
  if (policy) {
    size_t len = strlen(policy);
    if (len >= sizeof sc.run.policy) {
      cpn_scenario_destroy(&sc);
      cpn_policy_registry_free(reg);
      return bad_cli("--policy: '%s' is too long", policy);
    }
    memcpy(sc.run.policy, policy, len + 1);
  }
  const cpn_policy_type_t *type = NULL;
  /* Validation never executes code: --check and --print-config do not load a plug-in. */
  err = check || print ? cpn_policy_check_spec(reg, sc.run.policy) : cpn_policy_resolve(reg, sc.run.policy, &type);
  if (err) {
    fprintf(stderr, "cpnsim: %s%s\n", policy ? "--policy: " : "run.policy: ", cpn_error_message());
    cpn_scenario_destroy(&sc);
    cpn_policy_registry_free(reg);
    return 2;
  }
  if (check || print) {
    if (print)
      err = cpn_scenario_print(&sc, stdout);
    else if ((err = cpn_run_check(&sc)) != CPN_OK)
      fprintf(stderr, "%s\ncpnsim: %s: %s\n", cpn_error_message(), scenario, cpn_error_name(err));
    else if ((err = check_routes(&sc)) != CPN_OK)
      fprintf(stderr, "%s\ncpnsim: %s: %s\n", cpn_error_message(), scenario, cpn_error_name(err));
    else
      printf("%s: ok (%d sites, %d links, %d models, %d origins, policy %s)\n", scenario, sc.n_sites, sc.n_links,
             sc.n_models, sc.n_origins, sc.run.policy);
    cpn_scenario_destroy(&sc);
    cpn_policy_registry_free(reg);
    return err == CPN_EINVAL ? 2 : err ? 1 : 0;
  }
  /* The name comes from the scenario (or --set name=...): made a plain file name in the working
   * directory, never a path ("/abs/x", "../x") or bytes a terminal or HDF5 reader would choke on. */
  char out_default[CPN_NAME_MAX + 8];
  if (!out) {
    cpn_output_default_path(sc.name, out_default, sizeof out_default);
    out = out_default;
  }
  cpn_run_config_t cfg = {.sc = &sc, .policy = type, .out_path = out, .report = quiet ? NULL : stdout,
                          .progress = progress || (!quiet && isatty(STDERR_FILENO)) ? stderr : NULL,
                          .progress_lines = !isatty(STDERR_FILENO), .progress_every_s = progress_s,
                             .sg_argc = sg_argc, .sg_argv = sg_argv};
  cpn_run_stats_t st;
  err = cpn_run(&cfg, &st);
  int rc = 0;
  /* A signal that arrived after the run had finished does not undo a committed result. */
  int sig = err ? cpn_signal_caught() : 0;
  if (sig) {
    rc = interrupted_exit(sig);
  } else if (err) {
    fprintf(stderr, "cpnsim: %s: %s\n", cpn_error_name(err), cpn_error_message());
    rc = err == CPN_EINVAL ? 2 : 1;
  } else if (!quiet) {
    printf("wrote %s\n", out);
  }
  cpn_scenario_destroy(&sc);
  cpn_policy_registry_free(reg);
  return rc;
}
