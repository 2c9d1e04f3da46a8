/* run: set-up, the run and its output (see run.h).
 *
 * The stages are built in the order of their dependencies and wired by callbacks where a stage hands a
 * request back up the path (the network hands uploads to serving and replies to accounting). Their
 * first events are scheduled in a fixed order (autoscaler, arrivals, trace, view refresh, sampling),
 * which with the event core's equal-time rule makes a run's bytes a function of its inputs and seed.
 * The run owns nothing of the request path: only the stage objects, the SimGrid set-up and the output. */
#include "run/run.h"

#include <math.h>
#include <simgrid/actor.h>
#include <simgrid/engine.h>
#include <simgrid/host.h>
#include <simgrid/version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <xbt/log.h>

#include "accounting/accounting.h"
#include "core/event.h"
#include "core/signal.h"
#include "cpn_metrics.h"
#include "cpn_workload.h"
#include "faults/faults.h"
#include "jobs/training.h"
#include "output/eventlog.h"
#include "fleet/fleet.h"
#include "gateway/gateway.h"
#include "jobs/distribution.h"
#include "network/network.h"
#include "output/output.h"
#include "placement/placement.h"
#include "placement/view.h"
#include "request/request.h"
#include "sampling/sampling.h"
#include "serving/serving.h"
#include "sources/sources.h"
#include "sources/trace.h"
#include "topology/topology.h"

XBT_LOG_NEW_DEFAULT_CATEGORY(cpn_run, "cpnsim run: set-up and output");

#define CPN_FORMAT_VERSION "1.0"

typedef struct {
  const cpn_run_config_t *cfg;
  const cpn_scenario_t *sc;
  cpn_topology_t *topo;
  cpn_sim_t *sim;
  cpn_reqs_t *reqs;
  cpn_output_t *out;
  cpn_accounting_t *acct;
  cpn_views_t *views;
  cpn_network_t *net;
  cpn_serving_t *sv;
  cpn_fleet_t *fleet;
  cpn_eventlog_t *log;        /* /events: fleet, faults and distribution add to it */
  cpn_placement_t *pl;
  cpn_gateway_t *gw;
  cpn_sources_t *src;
  cpn_sampling_t *samp;
  cpn_faults_t *faults;
  cpn_distribution_t *dist;
  cpn_training_t *train;
  double t_end;
  double sim_end_s;
  struct timespec w0;         /* wall clock at the start */
  double last_progress_wall_s;
  double progress_every_s;    /* the resolved interval of cfg->progress_every_s */
  double last_tick_now;
  int stalled_ticks;
} run_t;

static run_t *g_run; /* the actor's argument: SimGrid actors take argc/argv only */

/* Periodic events stop once nothing more can happen: no arrival pending, no request live, no SimGrid
 * activity running. */
static int run_idle(void *arg)
{
  const run_t *r = arg;
  return cpn_sources_pending(r->src) == 0 && cpn_reqs_empty(r->reqs) && cpn_sim_activities(r->sim) == 0;
}

static double wall_since(const struct timespec *w0)
{
  struct timespec w;
  clock_gettime(CLOCK_MONOTONIC, &w);
  return (double)(w.tv_sec - w0->tv_sec) + 1e-9 * (double)(w.tv_nsec - w0->tv_nsec);
}

/* Every 2^12 events: the interruption flag (SIGINT, SIGTERM), the stall guard, and a progress line (simulated time, requests, rate, time left) at most once a second. */
static int tick(void *arg)
{
  run_t *r = arg;
  if (cpn_interrupted()) {
    cpn_sim_fail(r->sim, cpn_error_set(CPN_EIO, "interrupted"));
    return 1;
  }
  double now = cpn_sim_now(r->sim);
  /* A run whose simulated time stops advancing would never end: 2^24 events at one instant stop it. */
  if (now == r->last_tick_now) {
    if (++r->stalled_ticks >= 4096) {
      cpn_sim_fail(r->sim, cpn_error_set(CPN_EINVAL, "run: simulated time stopped advancing at %.9g s (%.0f events "
                                                      "at that instant); a rate or a count is too large",
                                         now, 4096.0 * 4096));
      return 1;
    }
  } else {
    r->last_tick_now = now;
    r->stalled_ticks = 0;
  }
  FILE *f = r->cfg->progress;
  if (!f)
    return 0;
  double wall = wall_since(&r->w0);
  if (wall - r->last_progress_wall_s < r->progress_every_s)
    return 0;
  r->last_progress_wall_s = wall;
  long arrived = cpn_accounting_counts(r->acct)->arrived;
  double left = now > 0 ? (r->t_end - now) * wall / now : NAN;
  long budget = r->sc->run.max_requests;
  if (budget > 0 && arrived > 0 && (budget - arrived) * wall / arrived < left)
    left = (budget - arrived) * wall / arrived; /* the request budget ends the run first */
  fprintf(f, "%s  simulated %.0f of %.0f s, %ld requests, %.0f requests/s, about %.0f s left%s",
          r->cfg->progress_lines ? "" : "\r", now, r->t_end, arrived, arrived / wall, left,
          r->cfg->progress_lines ? "\n" : "   ");
  fflush(f);
  return 0;
}

static void arrived(void *ctx, cpn_req_t *q) { cpn_serving_arrive(ctx, q); }
static void replied(void *ctx, cpn_req_t *q)
{
  run_t *r = ctx;
  /* a conversation's next turn starts from this reply; a fan-out parent is held until its children end */
  if (!cpn_sources_replied(r->src, q))
    cpn_accounting_complete(r->acct, q);
}

/* Tariff hooks: the sites' accelerator energy so far (replicas brought to now), and the hour's figures. */
static void site_energy(void *ctx, double *it_j)
{
  run_t *r = ctx;
  for (int i = 0; i < cpn_serving_replicas(r->sv); i++) {
    double tot, idle;
    cpn_serving_advance(r->sv, i);
    cpn_serving_energy_j(r->sv, i, &tot, &idle);
    it_j[cpn_serving_site(r->sv, i)] += tot;
  }
}
static void site_prices(void *ctx, int site, double usd_per_kwh, double co2_g_per_kwh)
{
  cpn_views_energy_prices(((run_t *)ctx)->views, site, usd_per_kwh, co2_g_per_kwh);
}

static void request_ended(void *ctx, const cpn_req_t *q)
{
  run_t *r = ctx;
  cpn_gateway_ended(r->gw, q);
  cpn_sources_ended(r->src, q);
}

static double prefix_tokens(void *ctx, const cpn_req_t *q, int site) { return cpn_serving_prefix_tokens(ctx, q, site); }

/* Prefix caching: the root attributes (always; the ratio is NaN when no request carried block hashes)
 * and /summary/prefix_cache, one row per replica that took requests with hashes. */
static cpn_err_t write_prefix(const run_t *r, cpn_output_t *o)
{
  int n = cpn_serving_replicas(r->sv), rows = 0;
  double tot[4] = {0};
  for (int i = 0; i < n; i++) {
    double v[4];
    cpn_serving_prefix_stats(r->sv, i, &v[0], &v[1], &v[2], &v[3]);
    rows += v[0] > 0;
    for (int k = 0; k < 4; k++)
      tot[k] += v[k];
  }
  cpn_err_t err = cpn_output_attr_double(o, "prefix_cached_tokens", tot[2]);
  if (!err) err = cpn_output_attr_double(o, "prefix_prompt_tokens", tot[1]);
  if (!err) err = cpn_output_attr_double(o, "prefix_hit_ratio", tot[1] > 0 ? tot[2] / tot[1] : NAN);
  if (err || rows == 0)
    return err;
  static const char *const cols[] = {"site", "replica", "requests", "prompt_tokens", "cached_tokens", "hit_ratio",
                                     "evicted_blocks"};
  double *v = calloc((size_t)rows * 7, sizeof *v);
  char (*names)[96] = calloc((size_t)rows, sizeof *names);
  const char **keys = calloc((size_t)rows, sizeof *keys);
  if (!v || !names || !keys) {
    free(v), free(names), free(keys);
    return cpn_error_set(CPN_ENOMEM, "run: out of memory (prefix cache table)");
  }
  for (int i = 0, k = 0; i < n; i++) {
    double x[4];
    cpn_serving_prefix_stats(r->sv, i, &x[0], &x[1], &x[2], &x[3]);
    if (x[0] <= 0)
      continue;
    int site = cpn_serving_site(r->sv, i), idx = cpn_serving_index_in_site(r->sv, i);
    snprintf(names[k], sizeof names[k], "%s/%d", r->sc->sites[site].name, idx);
    keys[k] = names[k];
    double row[7] = {site, idx, x[0], x[1], x[2], x[1] > 0 ? x[2] / x[1] : NAN, x[3]};
    memcpy(&v[(size_t)k * 7], row, sizeof row);
    k++;
  }
  cpn_table_t t = {.path = "/summary/prefix_cache", .n_rows = (size_t)rows, .n_cols = 7, .col_names = cols,
                   .keys = keys, .values = v};
  err = cpn_output_table(o, &t);
  free(v), free(names), free(keys);
  return err;
}

static void engine_actor(int argc, char **argv)
{
  run_t *r = g_run;
  int cut = cpn_sim_run(r->sim, r->t_end);
  /* The drain period is over: whatever is still in flight times out. */
  if (!cpn_sim_error(r->sim)) {
    (void)cut;
    for (int i = 0; i < cpn_serving_replicas(r->sv); i++)
      cpn_serving_advance(r->sv, i);
    cpn_accounting_end_all(r->acct, CPN_STATUS_TIMED_OUT, CPN_REASON_END_OF_RUN);
  }
  r->sim_end_s = cpn_sim_now(r->sim);
}

static long peak_rss_bytes(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss * 1024L;
}

static cpn_err_t build(run_t *r)
{
  const cpn_scenario_t *sc = r->sc;
  const cpn_run_config_t *cfg = r->cfg;
  cpn_err_t err = cpn_topology_new(&r->topo, sc);
  if (!err) err = cpn_sim_new(&r->sim);
  if (!err) err = cpn_reqs_new(&r->reqs);
  if (!err) err = cpn_views_new(&r->views, sc, sc->run.view_refresh_s > 0);
  if (!err) err = cpn_accounting_new(&r->acct, sc, r->sim, r->reqs, NULL, cfg->on_record, cfg->on_record_arg);
  if (!err) err = cpn_eventlog_new(&r->log);
  if (!err) err = cpn_network_new(&r->net, sc, r->topo, r->sim);
  if (!err) cpn_network_log_to(r->net, r->log);
  if (!err) err = cpn_serving_new(&r->sv, sc, r->sim, r->views, r->net, r->acct);
  if (!err) err = cpn_fleet_new(&r->fleet, sc, r->sim, r->sv, r->net, r->log);
  if (!err) err = cpn_placement_new(&r->pl, sc, r->sim, cfg->policy, r->views, r->net, r->acct);
  if (!err) cpn_placement_on_prefix(r->pl, prefix_tokens, r->sv);
  if (!err) err = cpn_gateway_new(&r->gw, sc, r->sim, r->pl, r->acct);
  if (!err) err = cpn_sources_new(&r->src, sc, r->sim, r->reqs, r->acct, r->gw, sc->run.duration_s);
  if (!err) err = cpn_sampling_new(&r->samp, sc, r->sim, r->sv, r->net, r->views);
  if (!err) err = cpn_faults_new(&r->faults, sc, r->sim, r->topo, r->net, r->sv, r->views, r->pl, r->reqs, r->acct, r->log);
  if (!err) err = cpn_distribution_new(&r->dist, sc, r->sim, r->topo, r->net, r->log);
  if (!err) err = cpn_training_new(&r->train, sc, r->sim, r->topo, r->net);
  if (err)
    return err;
  if (cpn_faults_enabled(r->faults))
    cpn_network_on_arrived(r->net, cpn_faults_arrived, r->faults);
  else
    cpn_network_on_arrived(r->net, arrived, r->sv);
  cpn_network_on_replied(r->net, replied, r);
  cpn_network_on_arrive_prefetch(r->net, cpn_serving_prefetch_arrive, r->sv);
  cpn_sim_set_idle_check(r->sim, run_idle, r);
  cpn_tariff_on(cpn_accounting_tariff(r->acct), site_energy, site_prices, r);
  cpn_accounting_on_end(r->acct, request_ended, r);
  cpn_sim_set_tick(r->sim, 1u << 12, tick, r);
  /* First events, in a fixed order (equal times pop in the order they were scheduled). */
  err = cpn_fleet_start(r->fleet);
  if (!err) err = cpn_sources_start(r->src);
  if (!err) err = cpn_placement_start(r->pl);
  if (!err) err = cpn_sampling_start(r->samp);
  if (!err) err = cpn_tariff_start(cpn_accounting_tariff(r->acct));
  if (!err) err = cpn_faults_start(r->faults);
  if (!err) err = cpn_distribution_start(r->dist);
  if (!err) err = cpn_training_start(r->train);
  return err;
}

static cpn_err_t write_names(const cpn_scenario_t *sc, cpn_output_t *out)
{
  int n_max = sc->n_sites;
  if (sc->n_models > n_max) n_max = sc->n_models;
  if (sc->n_classes > n_max) n_max = sc->n_classes;
  if (sc->n_tenants > n_max) n_max = sc->n_tenants;
  if (sc->n_origins > n_max) n_max = sc->n_origins;
  if (sc->n_links > n_max) n_max = sc->n_links;
  const char **names = calloc((size_t)(n_max ? n_max : 1), sizeof *names);
  char (*lnames)[2 * CPN_NAME_MAX + 2] = calloc((size_t)(sc->n_links ? sc->n_links : 1), sizeof *lnames);
  if (!names || !lnames) {
    free(names);
    free(lnames);
    return cpn_error_set(CPN_ENOMEM, "run: out of memory (names)");
  }
  cpn_err_t err = CPN_OK;
#define NAMES(arr, n, what)                                                                                            \
  if (!err) {                                                                                                          \
    for (int i = 0; i < (n); i++)                                                                                      \
      names[i] = sc->arr[i].name;                                                                                      \
    err = cpn_output_names(out, what, names, (size_t)(n));                                                             \
  }
  NAMES(sites, sc->n_sites, "sites")
  NAMES(models, sc->n_models, "models")
  NAMES(classes, sc->n_classes, "classes")
  NAMES(tenants, sc->n_tenants, "tenants")
  NAMES(origins, sc->n_origins, "origins")
#undef NAMES
  if (!err) {
    for (int i = 0; i < sc->n_links; i++) {
      snprintf(lnames[i], sizeof lnames[i], "%s--%s", sc->links[i].a, sc->links[i].b);
      names[i] = lnames[i];
    }
    err = cpn_output_names(out, "links", names, (size_t)sc->n_links);
  }
  free(names);
  free(lnames);
  return err;
}

extern const char cpn_git_commit_id[]; /* generated at build time (scripts/git-commit.cmake) */

static cpn_err_t write_output(run_t *r, const cpn_run_stats_t *st)
{
  const cpn_scenario_t *sc = r->sc;
  cpn_output_t *o = r->out;
  char commit[64];
  snprintf(commit, sizeof commit, "%s", cpn_git_commit_id);
  cpn_err_t err = cpn_output_attr_str(o, "format_version", CPN_FORMAT_VERSION);
  if (!err) err = cpn_output_attr_str(o, "cpnsim_version", CPN_VERSION);
  if (!err) err = cpn_output_attr_str(o, "git_commit", commit);
  if (!err) err = cpn_output_attr_str(o, "simgrid_version", SIMGRID_VERSION_STRING);
  if (!err) err = cpn_output_attr_int(o, "seed", (int64_t)sc->run.seed);
  if (!err) err = cpn_output_attr_str(o, "policy", r->cfg->policy->name);
  if (!err) err = cpn_output_attr_str(o, "scenario", sc->name);
  if (!err) err = cpn_output_attr_str(o, "network_mode", sc->run.network_mode == CPN_NET_FLOW ? "flow" : "fluid");
  if (!err) err = cpn_output_attr_double(o, "duration_s", sc->run.duration_s);
  if (!err) err = cpn_output_attr_double(o, "warmup_s", sc->run.warmup_s);
  if (!err) err = cpn_output_attr_double(o, "record_fraction", sc->run.record_fraction);
  if (!err) err = cpn_output_attr_double(o, "wall_seconds", st->wall_s);
  if (!err) err = cpn_output_attr_double(o, "events_processed", st->events);
  if (!err) err = cpn_output_attr_double(o, "wall_s_event_loop", cpn_sim_wall_s(r->sim));
  if (!err) err = cpn_output_attr_int(o, "peak_rss_bytes", st->peak_rss_bytes);
  if (!err) err = cpn_output_attr_int(o, "peak_live_requests", st->peak_live_requests);
  if (!err) err = cpn_output_attr_int(o, "preemptions", st->preemptions);
  if (!err) err = cpn_output_attr_int(o, "cold_starts", st->cold_starts);
  if (!err) err = write_prefix(r, o);
  if (!err) err = cpn_output_attr_int(o, "adapter_loads", cpn_serving_adapter_loads(r->sv));
  /* Self-profile: events handled per kind of event and the wall time in their handlers (attributes
   * "events.<kind>" and "wall_s.<kind>", the time estimated from a sample: core/event.h). */
  for (int k = 0; !err && k < cpn_sim_kinds(r->sim); k++) {
    char name[96];
    snprintf(name, sizeof name, "events.%s", cpn_sim_kind_name(r->sim, k));
    err = cpn_output_attr_double(o, name, cpn_sim_kind_events(r->sim, k));
    snprintf(name, sizeof name, "wall_s.%s", cpn_sim_kind_name(r->sim, k));
    if (!err)
      err = cpn_output_attr_double(o, name, cpn_sim_kind_wall_s(r->sim, k));
  }
  if (!err) err = cpn_output_scenario_text(o, sc->text ? sc->text : "");
  if (!err) err = cpn_sampling_write(r->samp, o);
  if (!err) err = cpn_network_write(r->net, o);
  if (!err) err = cpn_eventlog_write(r->log, o);
  if (!err) err = cpn_accounting_write(r->acct, o);
  if (!err) err = cpn_gateway_write(r->gw, o);
  if (!err) err = cpn_placement_write(r->pl, o);
  if (!err) err = cpn_faults_write(r->faults, o);
  if (!err) err = cpn_distribution_write(r->dist, o);
  if (!err) err = cpn_training_write(r->train, o);
  const cpn_trace_t *trace = cpn_sources_trace(r->src);
  if (!err && trace) {
    static const char *const cols[] = {"rows_replayed", "skipped_rows", "rows_valid", "rows_before_start",
                                       "rows_thinned", "passes_done"};
    cpn_trace_stats_t ts;
    cpn_trace_stats(trace, &ts);
    double v[6] = {ts.rows_returned, ts.bad_lines, ts.rows_valid, ts.rows_before_start, ts.rows_thinned,
                   ts.passes_done};
    static const char *const key[] = {"trace"};
    cpn_table_t t = {.path = "/summary/trace", .n_rows = 1, .n_cols = 6, .col_names = cols, .keys = key, .values = v};
    err = cpn_output_table(o, &t);
  }
  return err;
}

static void print_report(const run_t *r, const cpn_run_stats_t *st, FILE *f)
{
  const cpn_scenario_t *sc = r->sc;
  fprintf(f, "cpnsim %s: scenario '%s', policy '%s', seed %lu, arrivals for %.0f s, simulated to %.0f s, in %.2f s wall\n",
          CPN_VERSION, sc->name, r->cfg->policy->name, sc->run.seed, sc->run.duration_s, st->sim_end_s, st->wall_s);
  fprintf(f, "  %ld requests arrived, %ld completed, %ld rejected, %ld failed, %ld timed out; %.0f events, "
             "%.0f requests/s of wall time, peak RSS %.1f MiB\n",
          st->arrived, st->completed, st->rejected, st->failed, st->timed_out, st->events,
          st->wall_s > 0 ? st->arrived / st->wall_s : 0, st->peak_rss_bytes / 1048576.0);
  fprintf(f, "  %ld preemptions (KV cache full), %ld cold starts (weights transfers), %ld policy violations\n",
          st->preemptions, st->cold_starts, st->policy_violations);
  if (cpn_faults_enabled(r->faults)) {
    const cpn_fault_counts_t *fc = cpn_faults_counts(r->faults);
    long begun, ended;
    cpn_faults_occurrences(r->faults, &begun, &ended);
    fprintf(f, "  faults: %ld failures, %ld repairs (/events); link_failure %ld lost, %ld retried, %ld failed; "
               "site_failure %ld lost, %ld retried, %ld failed\n",
            begun, ended, fc->lost[0], fc->retried[0], fc->failed[0], fc->lost[1], fc->retried[1], fc->failed[1]);
    long stalls, waiting;
    cpn_network_bulk_stalls(r->net, &stalls, &waiting);
    if (stalls)
      fprintf(f, "  bulk transfers: %ld waits on a cut link (they resume where they were once it is repaired: "
                 "SimGrid's routes are fixed), %ld still waiting at the end (/transfers status 2)\n", stalls, waiting);
  }
  if (sc->n_trainings) {
    long steps;
    double mean_s;
    cpn_training_stats(r->train, &steps, &mean_s);
    fprintf(f, "  training: %ld steps done, mean step %.6g s (/training)\n", steps, mean_s);
  }
  const cpn_trace_t *trace = cpn_sources_trace(r->src);
  if (trace)
    fprintf(f, "  trace %s: %ld rows replayed, %ld bad rows skipped%s%s\n", sc->demand.trace_file,
            cpn_trace_rows_read(trace), st->trace_skipped, st->trace_skipped ? ", first: " : "",
            cpn_trace_first_skip_message(trace));
  fprintf(f, "  measured after %.0f s warm-up (times in seconds):\n", sc->run.warmup_s);
  cpn_summary_print(cpn_accounting_summary(r->acct), f);
}

static cpn_err_t setup_simgrid(run_t *r, const char *platform)
{
  /* CM02 without the TCP window bound: transfer time = latency + size / bandwidth, which is what the
   * fluid path computes (SIMGRID-NOTES.md "Network model choice matters"). */
  char *argv[64];
  int argc = 0;
  argv[argc++] = "cpnsim";
  argv[argc++] = "--cfg=network/model:CM02";
  argv[argc++] = "--cfg=network/TCP-gamma:0";
  argv[argc++] = "--log=root.thres:warning";
  argv[argc++] = "--log=root.app:stdout";
  for (int i = 0; i < r->cfg->sg_argc && argc < 63; i++)
    argv[argc++] = r->cfg->sg_argv[i];
  argv[argc] = NULL;
  simgrid_init(&argc, argv);
  /* SimGrid's initialisation installs its own SIGINT handler: cpnsim's must stay (core/signal.h). */
  cpn_signal_reclaim();
  simgrid_load_platform(platform);
  if (sg_host_count() != (size_t)cpn_topology_node_count(r->topo))
    return cpn_error_set(CPN_EINVARIANT, "run: SimGrid platform has %zu hosts, topology %d nodes", sg_host_count(),
                         cpn_topology_node_count(r->topo));
  return CPN_OK;
}

static void run_free(run_t *r)
{
  cpn_distribution_free(r->dist);
  cpn_training_free(r->train);
  cpn_faults_free(r->faults);
  cpn_sampling_free(r->samp);
  cpn_sources_free(r->src);
  cpn_gateway_free(r->gw);
  cpn_placement_free(r->pl);
  cpn_fleet_free(r->fleet);
  cpn_eventlog_free(r->log);
  cpn_serving_free(r->sv);
  cpn_network_free(r->net);
  cpn_accounting_free(r->acct);
  cpn_views_free(r->views);
  cpn_reqs_free(r->reqs);
  cpn_sim_free(r->sim);
  cpn_topology_free(r->topo);
}

/* The event budget: a run that would take more events is refused before it starts (at about five
 * events per request, 10^11 events are 2 * 10^10 requests: five national hours). */
#define CPN_RUN_MAX_EVENTS 1e11
#define CPN_RUN_EVENTS_PER_REQUEST 5.0

/* Expected arrivals of a rate schedule over [0, duration_s]: its integral (a peak times the duration
 * would refuse a schedule with a short burst; its first window's rate would miss one that grows). */
static double schedule_arrivals(const cpn_schedule_spec_t *sp, double scale, double duration_s)
{
  cpn_piecewise_t pw = {.n = sp->n, .t_start_s = sp->t_s, .rate_rps = sp->rate_rps, .period_s = sp->period_s,
                        .interp = sp->linear ? CPN_PW_LINEAR : CPN_PW_STEP};
  if (cpn_piecewise_check(&pw) != 0 || !(duration_s > 0))
    return 0;
  return scale * cpn_piecewise_integral(&pw, 0, duration_s);
}

/* Requests one request of class c makes with its fan-out: itself, plus the mean calls times what each
 * call makes (a chain of fan-outs; the loader refuses cycles, depth bounds it anyway; a fan-out into the
 * class itself is one level). Means of the distributions, capped at their max. */
static double fanout_requests(const cpn_scenario_t *sc, const cpn_class_spec_t *c, int depth)
{
  if (!c->fanout || depth >= sc->n_classes)
    return 1;
  double n = cpn_dist_mean(&c->fanout_calls);
  if (c->fanout_calls.max > 0 && n > c->fanout_calls.max)
    n = c->fanout_calls.max;
  const cpn_class_spec_t *k = &sc->classes[c->fanout_class];
  return 1 + n * (k == c ? 1 : fanout_requests(sc, k, depth + 1));
}

/* Requests made per arrival of class c: its session's mean turns (children never open sessions), each
 * with its fan-out. */
static double requests_per_arrival(const cpn_scenario_t *sc, const cpn_class_spec_t *c, int depth)
{
  double m = fanout_requests(sc, c, depth);
  if (c->session) {
    double t = cpn_dist_mean(&c->session_turns);
    m *= c->session_turns.max > 0 && t > c->session_turns.max ? c->session_turns.max : t > 1 ? t : 1;
  }
  return m;
}

cpn_err_t cpn_run_check(const cpn_scenario_t *sc)
{
  if (sc->n_sites == 0 || sc->n_models == 0 || sc->n_classes == 0 || sc->n_tenants == 0)
    return cpn_error_set(CPN_EINVAL, "%s: a scenario needs at least one site, model, class and tenant", sc->file);
  /* Expected arrivals: the rates (at the diurnal profile's peak) over the arrival window, or the request
   * budget when one is set. Refused before anything runs, naming the key that makes it too large. */
  if (!sc->demand.trace_file[0]) {
    double peak = sc->demand.diurnal_enabled ? cpn_diurnal_max(&sc->demand.diurnal) : 1.0, total = 0, worst_n = -1;
    int worst = -1, worst_class = 0, origins_make = 0;
    double share = 0, per_arrival = 0; /* the origins' arrivals: requests each, by the classes' shares */
    for (int k = 0; k < sc->n_classes; k++) {
      origins_make |= sc->classes[k].sched.n == 0;
      if (sc->classes[k].sched.n == 0)
        share += sc->classes[k].share, per_arrival += sc->classes[k].share * requests_per_arrival(sc, &sc->classes[k], 0);
    }
    per_arrival = share > 0 ? per_arrival / share : 1;
    /* n + scheduled: origins (their rate at the profile's peak, or their schedule's integral), then the
     * classes with their own schedule (its integral); each times the requests an arrival makes (session
     * turns, fan-out calls). */
    for (int i = 0; i < sc->n_origins + sc->n_classes; i++) {
      const cpn_schedule_spec_t *sp = i < sc->n_origins ? &sc->origins[i].sched : &sc->classes[i - sc->n_origins].sched;
      double n;
      if (i < sc->n_origins && !origins_make)
        continue;
      if (sp->n)
        n = schedule_arrivals(sp, sc->demand.scale, sc->run.duration_s);
      else if (i < sc->n_origins)
        n = sc->origins[i].rate_rps * sc->demand.scale * peak * sc->run.duration_s;
      else
        continue;
      n *= i < sc->n_origins ? per_arrival : requests_per_arrival(sc, &sc->classes[i - sc->n_origins], 0);
      total += n;
      if (n > worst_n)
        worst_n = n, worst = i < sc->n_origins ? i : i - sc->n_origins, worst_class = i >= sc->n_origins;
    }
    if (sc->run.max_requests > 0 && total > (double)sc->run.max_requests)
      total = (double)sc->run.max_requests;
    if (!(total * CPN_RUN_EVENTS_PER_REQUEST <= CPN_RUN_MAX_EVENTS) && worst >= 0) {
      const cpn_schedule_spec_t *sp = worst_class ? &sc->classes[worst].sched : &sc->origins[worst].sched;
      if (sp->n)
        return cpn_error_set(CPN_EINVAL,
                             "%s:%d: %s.%s.schedule: its windows (x demand.scale %g) over run.duration_s %g s make "
                             "about %.3g requests (%.3g per arrival, with session turns and fan-out calls), %.3g "
                             "in all, over the event budget of %.3g events (%.0f per request); lower the rates or "
                             "the duration, or set run.max_requests",
                             sc->file, worst_class ? sc->classes[worst].line : sc->origins[worst].line, worst_class ? "classes" : "origins",
                             worst_class ? sc->classes[worst].name : sc->origins[worst].name, sc->demand.scale,
                             sc->run.duration_s, worst_n,
                             worst_class ? requests_per_arrival(sc, &sc->classes[worst], 0) : per_arrival, total,
                             CPN_RUN_MAX_EVENTS, CPN_RUN_EVENTS_PER_REQUEST);
      return cpn_error_set(CPN_EINVAL,
                           "%s:%d: origins.%s.rate_rps: %g requests/s (x demand.scale %g) over run.duration_s %g s "
                           "would make about %.3g requests in all, over the event budget of %.3g events (%.0f per "
                           "request); lower the rates or the duration, or set run.max_requests",
                           sc->file, sc->origins[worst].line, sc->origins[worst].name, sc->origins[worst].rate_rps,
                           sc->demand.scale, sc->run.duration_s, total, CPN_RUN_MAX_EVENTS, CPN_RUN_EVENTS_PER_REQUEST);
    }
  }
  if (!(sc->run.duration_s + sc->run.drain_s < 1e12))
    return cpn_error_set(CPN_EINVAL, "%s: run.duration_s + run.drain_s: %g s is more than 30,000 years of simulated time",
                         sc->file, sc->run.duration_s + sc->run.drain_s);
  cpn_err_t err = cpn_sources_check(sc);
  return err ? err : cpn_serving_check(sc);
}

/* A run whose classes make sessions writes the /requests columns session and parent. */
static int sessions_made(const cpn_scenario_t *sc)
{
  for (int k = 0; k < sc->n_classes; k++)
    if (sc->classes[k].session || sc->classes[k].fanout)
      return 1;
  return 0;
}

cpn_err_t cpn_run(const cpn_run_config_t *cfg, cpn_run_stats_t *stats)
{
  const cpn_scenario_t *sc = cfg->sc;
  if (sc->n_sites == 0 || sc->n_models == 0 || sc->n_classes == 0 || sc->n_tenants == 0)
    return cpn_error_set(CPN_EINVAL, "%s: a scenario needs at least one site, model, class and tenant", sc->file);
  struct timespec w0, w1;
  clock_gettime(CLOCK_MONOTONIC, &w0);
  run_t *r = calloc(1, sizeof *r);
  if (!r)
    return cpn_error_set(CPN_ENOMEM, "run: out of memory");
  r->w0 = w0;
  r->cfg = cfg;
  r->progress_every_s = cfg->progress_every_s > 0 ? cfg->progress_every_s : cfg->progress_lines ? 60.0 : 1.0;
  r->sc = sc;
  r->t_end = sc->run.duration_s + sc->run.drain_s;
  char platform[] = "/tmp/cpnsim-platform-XXXXXX";
  int pfd = -1;
  cpn_err_t err = cpn_run_check(sc);
  if (!err)
    err = build(r);
  if (!err && cfg->out_path)
    err = cpn_output_open_ex(&r->out, cfg->out_path, sessions_made(sc) ? CPN_OUTPUT_SESSIONS : 0);
  if (!err && r->out)
    cpn_accounting_set_output(r->acct, r->out);
  /* Names first: a name the result file cannot hold (not UTF-8) stops the run before it simulates. */
  if (!err && r->out)
    err = write_names(sc, r->out);
  if (!err) {
    pfd = mkstemp(platform);
    if (pfd < 0)
      err = cpn_error_set(CPN_EIO, "run: cannot create a temporary platform file in /tmp");
    else
      close(pfd);
  }
  if (!err)
    err = cpn_topology_write_platform(r->topo, platform, cpn_network_route_needed, r->net);
  if (!err)
    err = setup_simgrid(r, platform);
  if (pfd >= 0)
    unlink(platform);
  if (!err) {
    g_run = r;
    sg_actor_create("cpn-engine", sg_host_by_name(cpn_topology_node_name(r->topo, 0)), engine_actor, 0, NULL);
    simgrid_run();
    err = cpn_sim_error(r->sim);
    if (cfg->progress && !cfg->progress_lines && r->last_progress_wall_s > 0) {
      fprintf(cfg->progress, "\r%*s\r", 100, "");
      fflush(cfg->progress);
    }
  }
  cpn_run_stats_t st = {0};
  clock_gettime(CLOCK_MONOTONIC, &w1);
  st.wall_s = (double)(w1.tv_sec - w0.tv_sec) + 1e-9 * (double)(w1.tv_nsec - w0.tv_nsec);
  st.peak_rss_bytes = peak_rss_bytes();
  if (r->sim) {
    st.events = cpn_sim_events(r->sim);
    st.sim_end_s = r->sim_end_s;
  }
  if (r->acct) {
    const cpn_counts_t *n = cpn_accounting_counts(r->acct);
    st.arrived = n->arrived, st.completed = n->completed, st.rejected = n->rejected, st.failed = n->failed;
    st.timed_out = n->timed_out;
    st.arrived_prompt_tokens = n->arrived_prompt_tokens, st.arrived_output_tokens = n->arrived_output_tokens;
    st.ended_prompt_tokens = n->ended_prompt_tokens, st.ended_output_tokens = n->ended_output_tokens;
  }
  if (r->reqs) st.peak_live_requests = (long)cpn_reqs_peak(r->reqs);
  if (r->sv) st.preemptions = cpn_serving_preemptions(r->sv);
  if (r->fleet) st.cold_starts = cpn_fleet_cold_starts(r->fleet);
  if (r->pl) st.policy_violations = cpn_placement_violations(r->pl);
  if (r->src && cpn_sources_trace(r->src)) st.trace_skipped = cpn_trace_skipped(cpn_sources_trace(r->src));

  /* Conservation: what arrived ended, exactly once, with a status. */
  if (!err)
    err = cpn_accounting_check(r->acct);
  if (!err) {
    double measured = cpn_metric_window_s(sc->run.duration_s, sc->run.warmup_s);
    double *busy = calloc((size_t)sc->n_sites, sizeof *busy);
    int *accels = calloc((size_t)sc->n_sites, sizeof *accels);
    if (!busy || !accels) {
      err = cpn_error_set(CPN_ENOMEM, "run: out of memory");
    } else {
      cpn_serving_busy_accel_s(r->sv, busy);
      for (int s = 0; s < sc->n_sites; s++) {
        accels[s] = cpn_views_site(r->views, s)->total_accels;
        /* Busy time over the whole run, normalised to the measured window's length. */
        busy[s] *= measured / (st.sim_end_s > 0 ? st.sim_end_s : 1);
      }
      err = cpn_accounting_finish(r->acct, measured, busy, accels);
      st.mean_response_s = cpn_accounting_mean_response_s(r->acct);
      /* The fleet's side of the accounts: accelerator energy per site, idle included. */
      double *it_j = err ? NULL : calloc(2 * (size_t)sc->n_sites + 1, sizeof *it_j);
      if (err) {
        /* the summary's error stands */
      } else if (!it_j) {
        err = cpn_error_set(CPN_ENOMEM, "run: out of memory");
      } else {
        for (int i = 0; i < cpn_serving_replicas(r->sv); i++) {
          double tot, idle;
          cpn_serving_energy_j(r->sv, i, &tot, &idle);
          it_j[cpn_serving_site(r->sv, i)] += tot;
          it_j[sc->n_sites + cpn_serving_site(r->sv, i)] += idle;
        }
        err = cpn_accounting_fleet(r->acct, st.sim_end_s, measured, it_j, it_j + sc->n_sites);
        free(it_j);
      }
    }
    free(busy);
    free(accels);
  }
  if (!err && r->out)
    err = write_output(r, &st);
  if (!err && cfg->report)
    print_report(r, &st, cfg->report);
  /* A signal that came after the last event still cancels the run: nothing is committed. */
  if (!err && cpn_interrupted())
    err = cpn_error_set(CPN_EIO, "interrupted");
  /* On error the temporary file is removed; the first error's message is kept. */
  cpn_err_t cerr = cpn_output_close(r->out, !err);
  if (!err)
    err = cerr;
  if (stats)
    *stats = st;
  run_free(r);
  free(r);
  return err;
}
