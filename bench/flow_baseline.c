/* flow_baseline: the plain SimGrid program cpnsim's flow mode is compared against.
 *
 * Each request is one SimGrid actor with its own activities, the simplest way to write the default
 * scenario's request path against SimGrid's C API: upload (sg_host_sendto, origin's entry host to the
 * site), service (sg_actor_sleep_for), reply (sg_host_sendto back). The platform is bench/flow_platform.xml,
 * the one cpnsim writes for national-2026 (12 hosts, 21 links, lowest-latency routes), under the network
 * model cpnsim configures (CM02 without the TCP window). One generator actor draws Poisson arrivals over
 * the 13 origins of national-2026 in proportion to their rates and places each request on the site with
 * the fewest requests placed and not done (ties: lower index). An origin's access latency is added to the
 * service sleep (cpnsim adds it outside SimGrid too), and an origin at the site sends nothing.
 *
 * Defaults match what cpnsim's default scenario does under --set run.max_requests=N --set
 * run.duration_s=86400 (measured on national-2026: 727 req/s of arrivals, 4.3 s mean time at the site,
 * prompts of ~1,460 tokens and replies of ~222 tokens at 4 bytes per token, about 3,000 requests in flight).
 *
 * Usage: bench_flow_baseline N [RATE_RPS [SERVICE_MEAN_S [PLATFORM.xml]]] [--cfg=... passed to SimGrid]
 * Prints one line of key=value pairs like bench_floor: requests, wall_s (SimGrid set-up included), cpu_s,
 * req_per_s, req_per_cpu_s, mean_response_s, peak_live. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <simgrid/actor.h>
#include <simgrid/engine.h>
#include <simgrid/host.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef CPN_BENCH_DIR
#define CPN_BENCH_DIR "bench"
#endif

enum { N_SITES = 11, N_ORIGINS = 13 };

static const char *const site_host[N_SITES] = {"jingjinji", "yangtze-delta", "greater-bay", "chengdu-chongqing",
                                               "inner-mongolia", "guizhou", "gansu", "ningxia",
                                               "singapore", "uae", "brazil"};
/* national-2026 origins: entry host, rate (req/s before the diurnal profile), one-way access latency. */
static const struct {
  const char *host;
  double rate_rps, access_latency_s;
} origins[N_ORIGINS] = {
    {"jingjinji", 80, 0.003},     {"yangtze-delta", 80, 0.002}, {"yangtze-delta", 30, 0.003},
    {"yangtze-delta", 30, 0.005}, {"greater-bay", 50, 0.003},   {"greater-bay", 55, 0.004},
    {"chengdu-chongqing", 35, 0.002}, {"chengdu-chongqing", 20, 0.003}, {"gansu", 20, 0.003},
    {"hong-kong", 10, 0.002},     {"singapore", 30, 0.002},     {"uae", 15, 0.003},
    {"brazil", 15, 0.004},
};

static const double upload_bytes = 1460 * 4.0, reply_bytes = 222 * 4.0;

typedef struct {
  int origin, site;
  double t_arrival_s, service_s;
} req_t;

static struct {
  long n_target, done, live, peak_live;
  double rate_rps, service_mean_s, sum_response_s;
  long placed[N_SITES];
  sg_host_t origin_host[N_ORIGINS], site_host[N_SITES];
  req_t *reqs;
  gsl_rng *rng;
} g;

static void request_actor(int argc, char **argv)
{
  req_t *q = sg_actor_self_get_data();
  sg_host_t from = g.origin_host[q->origin], to = g.site_host[q->site];
  if (from != to)
    sg_host_sendto(from, to, upload_bytes);
  sg_actor_sleep_for(q->service_s + 2 * origins[q->origin].access_latency_s);
  if (from != to)
    sg_host_sendto(to, from, reply_bytes);
  g.sum_response_s += simgrid_get_clock() - q->t_arrival_s;
  g.placed[q->site]--, g.live--, g.done++;
}

static void generator_actor(int argc, char **argv)
{
  double w[N_ORIGINS];
  for (int o = 0; o < N_ORIGINS; o++)
    w[o] = origins[o].rate_rps;
  gsl_ran_discrete_t *pick = gsl_ran_discrete_preproc(N_ORIGINS, w);
  for (long i = 0; i < g.n_target; i++) {
    sg_actor_sleep_for(gsl_ran_exponential(g.rng, 1.0 / g.rate_rps));
    req_t *q = &g.reqs[i];
    q->origin = (int)gsl_ran_discrete(g.rng, pick);
    q->site = 0;
    for (int s = 1; s < N_SITES; s++)
      if (g.placed[s] < g.placed[q->site])
        q->site = s;
    q->t_arrival_s = simgrid_get_clock();
    q->service_s = gsl_ran_exponential(g.rng, g.service_mean_s);
    g.placed[q->site]++;
    if (++g.live > g.peak_live)
      g.peak_live = g.live;
    sg_actor_t a = sg_actor_init("req", g.origin_host[q->origin]);
    sg_actor_set_data(a, q);
    sg_actor_start(a, request_actor, 0, NULL);
  }
  gsl_ran_discrete_free(pick);
}

static double seconds(clockid_t clk)
{
  struct timespec ts;
  clock_gettime(clk, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  double w0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
  /* Positional arguments first, then anything starting with "--" goes to SimGrid. */
  const char *pos[4] = {NULL, NULL, NULL, NULL};
  char *sg_argv[64];
  int sg_argc = 0, n_pos = 0;
  sg_argv[sg_argc++] = argv[0];
  sg_argv[sg_argc++] = "--cfg=network/model:CM02";
  sg_argv[sg_argc++] = "--cfg=network/TCP-gamma:0";
  sg_argv[sg_argc++] = "--log=root.thres:warning";
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--", 2) == 0) {
      if (sg_argc < 63)
        sg_argv[sg_argc++] = argv[i];
    } else if (n_pos < 4) {
      pos[n_pos++] = argv[i];
    }
  }
  sg_argv[sg_argc] = NULL;
  if (!pos[0]) {
    fprintf(stderr, "usage: bench_flow_baseline N [RATE_RPS [SERVICE_MEAN_S [PLATFORM.xml]]] [--cfg=...]\n");
    return 2;
  }
  g.n_target = strtol(pos[0], NULL, 10);
  g.rate_rps = pos[1] ? strtod(pos[1], NULL) : 727.0;
  g.service_mean_s = pos[2] ? strtod(pos[2], NULL) : 4.3;
  const char *platform = pos[3] ? pos[3] : CPN_BENCH_DIR "/flow_platform.xml";
  if (g.n_target <= 0 || !(g.rate_rps > 0) || !(g.service_mean_s >= 0)) {
    fprintf(stderr, "bench_flow_baseline: N and RATE_RPS must be > 0, SERVICE_MEAN_S >= 0\n");
    return 2;
  }
  g.reqs = calloc((size_t)g.n_target, sizeof *g.reqs);
  g.rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!g.reqs || !g.rng) {
    fprintf(stderr, "bench_flow_baseline: out of memory\n");
    return 1;
  }
  gsl_rng_set(g.rng, 1);

  simgrid_init(&sg_argc, sg_argv);
  simgrid_load_platform(platform);
  for (int s = 0; s < N_SITES; s++)
    g.site_host[s] = sg_host_by_name(site_host[s]);
  for (int o = 0; o < N_ORIGINS; o++)
    g.origin_host[o] = sg_host_by_name(origins[o].host);
  for (int s = 0; s < N_SITES; s++)
    if (!g.site_host[s]) {
      fprintf(stderr, "bench_flow_baseline: %s has no host %s\n", platform, site_host[s]);
      return 1;
    }
  for (int o = 0; o < N_ORIGINS; o++)
    if (!g.origin_host[o]) {
      fprintf(stderr, "bench_flow_baseline: %s has no host %s\n", platform, origins[o].host);
      return 1;
    }
  sg_actor_create("generator", g.site_host[0], generator_actor, 0, NULL);
  simgrid_run();

  double wall_s = seconds(CLOCK_MONOTONIC) - w0, cpu_s = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
  printf("requests=%ld wall_s=%.4f cpu_s=%.4f req_per_s=%.0f req_per_cpu_s=%.0f mean_response_s=%.4f "
         "peak_live=%ld simulated_s=%.1f\n",
         g.done, wall_s, cpu_s, g.done / wall_s, g.done / cpu_s, g.done ? g.sum_response_s / g.done : 0.0,
         g.peak_live, simgrid_get_clock());
  gsl_rng_free(g.rng);
  free(g.reqs);
  return g.done == g.n_target ? 0 : 1;
}
