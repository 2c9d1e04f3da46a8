/* test_event: the event core. Events pop in (time, scheduling order) through the 4-ary heap, including
 * events scheduled from handlers at the current time; SimGrid flows started with cpn_sim_transfer end at
 * CM02's closed form (latency + bytes / bandwidth, shared equally by two flows on one link) and schedule
 * their event after the given delay; a transfer with no bytes or to its own host is no flow.
 *
 * The self-profile's time per kind, estimated from sampled events, on a clock the test drives (each
 * handler advances it by its kind's cost): with every event timed it is exact; with one in 16 (the
 * default) it is within 4 standard errors of the truth, 20,000 events per kind.
 *
 * Timers: owners that move their one pending event (set later, earlier, cancel) from handlers see the same
 * events in the same order as owners that schedule a new event each time and skip stale ones; so do
 * owners with prefetch hooks (cpn_sim_kind_prefetch): `next` is given the event that runs next unless the
 * handler in between moves it, `ahead` most events some handlers before they run, neither one before the
 * clock.
 *
 * SimGrid allows one engine per process: one case runs the engine, with one actor doing both parts. */
#include "core/event.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>
#include <simgrid/actor.h>
#include <simgrid/engine.h>
#include <simgrid/host.h>

static char **g_argv;

enum { N_START = 20000, N_MAX = 3 * N_START };

typedef struct {
  double t;
  uint64_t seq;
  int idx;
} seen_t;

static struct {
  cpn_sim_t *sim;
  int kind_order, kind_flow;
  seen_t seen[N_MAX];
  int n_seen, n_scheduled;
  double flow_t[8];
  int flow_n;
  double prev_now; /* the clock never goes back */
  int order_after_flow; /* the flow's event ran before the later ordinary one */
  int kind_spin[2];
  double spin_true_s[2];
  unsigned long lcg;
} g;

static unsigned next_rand(void)
{
  g.lcg = g.lcg * 6364136223846793005UL + 1442695040888963407UL;
  return (unsigned)(g.lcg >> 33);
}

/* Logs the event; every third one schedules another at the same time or up to 2.5 s later (half-second
 * steps, so that ties are frequent). */
static void on_order(void *ctx, const cpn_event_t *e)
{
  (void)ctx;
  assert_true(cpn_sim_now(g.sim) >= g.prev_now);
  g.prev_now = cpn_sim_now(g.sim);
  if (e->idx == -2)
    g.order_after_flow = g.flow_t[5] > 0;
  g.seen[g.n_seen++] = (seen_t){.t = e->t, .seq = e->seq, .idx = e->idx};
  if (e->idx % 3 == 0 && g.n_scheduled < N_MAX) {
    cpn_sim_at(g.sim, cpn_sim_now(g.sim) + 0.5 * (next_rand() % 6), g.kind_order, g.n_scheduled, NULL, 0);
    g.n_scheduled++;
  }
}

static void on_flow(void *ctx, const cpn_event_t *e)
{
  (void)ctx;
  assert_true(e->idx >= 0 && e->idx < 8);
  assert_true(cpn_sim_now(g.sim) >= g.prev_now);
  g.prev_now = cpn_sim_now(g.sim);
  g.flow_t[e->idx] = cpn_sim_now(g.sim);
  g.flow_n++;
}

/* The profile's clock: advanced by the handlers only (and by 1 ns per read, so that the reads' own cost,
 * which the core measures and takes off each sample, is not zero). */
static double g_fake_clock_s;
static double fake_clock(void) { return g_fake_clock_s += 1e-9; }

/* Costs 10 us (idx 0) or 40 us (idx 1), plus up to 20% at random, on the fake clock. */
static void on_spin(void *ctx, const cpn_event_t *e)
{
  (void)ctx;
  double cost = (e->idx ? 40e-6 : 10e-6) * (1 + 0.2 * (next_rand() % 1000) / 1000.0);
  g_fake_clock_s += cost;
  g.spin_true_s[e->idx] += cost;
}

/* Timers against stale-skipping: N_OWN owners; each event of owner k logs (t, k) and moves two owners
 * chosen by a generator that only live events advance (later, earlier, or cancelled). */
enum { N_OWN = 64, N_TIMER_EVENTS = 20000 };
typedef struct {
  cpn_sim_t *sim;
  int use_timers, kind, timer[N_OWN];
  uint64_t gen[N_OWN];
  unsigned long rng;
  int n_log;
  double log_t[N_TIMER_EVENTS];
  int log_k[N_TIMER_EVENTS];
  int n_pf, n_pf_hit, n_pf_early; /* `next` hook: calls, calls whose event ran next, events before now */
  int n_ah, n_ah_hit, n_ah_early; /* `ahead` hook: calls, events that ran after a call with them, before now */
  double ah_t[N_OWN];             /* per owner: the time of the last event `ahead` was called with */
  double pf_t, pred_t; /* the hook's last event; what it was when the previous handler ran */
  int pf_k, pred_k;
} owners_t;

static void on_owner_prefetch(void *ctx, const cpn_event_t *e)
{
  (void)ctx;
  owners_t *o = e->ptr;
  o->n_pf++;
  o->n_pf_early += e->t < cpn_sim_now(o->sim);
  o->pf_t = e->t;
  o->pf_k = e->idx;
}

static void on_owner_ahead(void *ctx, const cpn_event_t *e)
{
  (void)ctx;
  owners_t *o = e->ptr;
  o->n_ah++;
  o->n_ah_early += e->t < cpn_sim_now(o->sim);
  o->ah_t[e->idx] = e->t;
}

static unsigned owners_rand(owners_t *o)
{
  o->rng = o->rng * 6364136223846793005UL + 1442695040888963407UL;
  return (unsigned)(o->rng >> 33);
}

static void owner_move(owners_t *o, int k, double t)
{
  if (o->use_timers) {
    if (t < 0)
      cpn_sim_timer_cancel(o->sim, o->timer[k]);
    else
      cpn_sim_timer_set(o->sim, o->timer[k], t, o->kind, k, o);
  } else {
    o->gen[k]++;
    if (t >= 0)
      cpn_sim_at(o->sim, t, o->kind, k, o, o->gen[k]);
  }
}

static void on_owner(void *ctx, const cpn_event_t *e)
{
  (void)ctx;
  owners_t *o = e->ptr;
  if (!o->use_timers && e->gen != o->gen[e->idx])
    return; /* stale */
  if (o->n_log == N_TIMER_EVENTS)
    return;
  /* The hook is called with the next event just before the current one's handler runs. */
  if (o->pred_k >= 0 && o->pred_t == e->t && o->pred_k == e->idx)
    o->n_pf_hit++;
  o->n_ah_hit += o->ah_t[e->idx] == e->t; /* an owner has one event pending: this one was announced */
  o->ah_t[e->idx] = -1;
  o->pred_t = o->pf_t;
  o->pred_k = o->n_pf > 0 ? o->pf_k : -1;
  o->pf_k = -1;
  o->log_t[o->n_log] = e->t;
  o->log_k[o->n_log++] = e->idx;
  double now = cpn_sim_now(o->sim);
  for (int m = 0; m < 2; m++) {
    int k = (int)(owners_rand(o) % N_OWN);
    unsigned r = owners_rand(o) % 8;
    owner_move(o, k, r == 0 ? -1.0 : now + 0.25 * (r - 1)); /* cancel, now (a tie), or up to 1.5 s on */
  }
}

static void run_owners(owners_t *o, int use_timers, int prefetch)
{
  assert_int_equal(cpn_sim_new(&o->sim), CPN_OK);
  o->use_timers = use_timers;
  o->rng = 77;
  o->pf_k = o->pred_k = -1;
  for (int k = 0; k < N_OWN; k++)
    o->ah_t[k] = -1;
  o->kind = cpn_sim_kind(o->sim, "owner", on_owner, NULL);
  if (prefetch)
    cpn_sim_kind_prefetch(o->sim, o->kind, on_owner_ahead, on_owner_prefetch);
  for (int k = 0; k < N_OWN; k++) {
    if (use_timers)
      assert_true((o->timer[k] = cpn_sim_timer_new(o->sim)) >= 0);
    owner_move(o, k, 0.5 * (k % 5));
  }
  cpn_sim_run(o->sim, 1e9);
  assert_null(cpn_sim_error(o->sim));
  cpn_sim_free(o->sim);
}

static owners_t g_owners[3];

static void engine_actor(int argc, char **argv)
{
  (void)argc, (void)argv;
  for (int i = 0; i < N_START; i++)
    cpn_sim_at(g.sim, 0.5 * (next_rand() % 200), g.kind_order, g.n_scheduled++, NULL, 0);
  cpn_sim_run(g.sim, 1e9);
  assert_true(cpn_sim_now(g.sim) < 1000);
  /* Flows from t = 1000 on the 1e8 B/s, 10 ms link between a and b (CM02, no TCP window). */
  cpn_sim_at(g.sim, 1000, g.kind_order, -1, NULL, 0);
  cpn_sim_run(g.sim, 1e9);
  cpn_sim_transfer(g.sim, "a", "b", 2.385e6, 0.5, g.kind_flow, 0, NULL); /* alone at first */
  cpn_sim_transfer(g.sim, "a", "a", 2.385e6, 0.25, g.kind_flow, 1, NULL); /* its own host: no flow */
  cpn_sim_transfer(g.sim, "a", "b", 0, 0.125, g.kind_flow, 2, NULL);      /* no bytes: no flow */
  assert_int_equal(cpn_sim_activities(g.sim), 1);
  cpn_sim_run(g.sim, 1e9);
  assert_int_equal(cpn_sim_activities(g.sim), 0);
  cpn_sim_at(g.sim, 1001.5, g.kind_order, -1, NULL, 0);
  cpn_sim_run(g.sim, 1e9);
  cpn_sim_transfer(g.sim, "a", "b", 2.385e6, 0, g.kind_flow, 3, NULL); /* two at once share the link */
  cpn_sim_transfer(g.sim, "a", "b", 2.385e6, 0.75, g.kind_flow, 4, NULL);
  g.flow_t[6] = cpn_sim_now(g.sim);
  cpn_sim_run(g.sim, 1e9);
  /* An event at 1010 is the next one while a flow runs: the loop looks at it first, then the flow's end
   * (about 1002.08) comes before it. */
  g.flow_t[7] = cpn_sim_now(g.sim);
  cpn_sim_at(g.sim, 1010, g.kind_order, -2, NULL, 0);
  cpn_sim_transfer(g.sim, "a", "b", 2.385e6, 0, g.kind_flow, 5, NULL);
  cpn_sim_run(g.sim, 1e9);
  run_owners(&g_owners[0], 0, 0);
  run_owners(&g_owners[1], 1, 0);
  run_owners(&g_owners[2], 1, 1);
  /* Self-profile: two kinds interleaved at random, every event timed, then one in 16. */
  cpn_sim_set_profile_clock(g.sim, fake_clock);
  for (int every = 1; every <= 16; every += 15) {
    cpn_sim_set_profile_every(g.sim, (unsigned)every);
    double before[2] = {cpn_sim_kind_wall_s(g.sim, g.kind_spin[0]), cpn_sim_kind_wall_s(g.sim, g.kind_spin[1])};
    g.spin_true_s[0] = g.spin_true_s[1] = 0;
    for (int i = 0; i < 40000; i++) {
      int which = (int)(next_rand() % 2);
      cpn_sim_at(g.sim, 2000 + i, g.kind_spin[which], which, NULL, 0);
    }
    cpn_sim_run(g.sim, 1e9);
    for (int w = 0; w < 2; w++) {
      double est = cpn_sim_kind_wall_s(g.sim, g.kind_spin[w]) - before[w], truth = g.spin_true_s[w];
      /* Sampled: about 20,000 / 16 samples of a cost with CV ~ 0.05, and a count whose relative standard
       * error is about 1 / sqrt(1250 * 3 / 4) (the intervals' spread); 4 of those. */
      double bound = every == 1 ? 1e-9 : 4 * sqrt(16.0 / 20000);
      printf("self-profile every %d, %s: estimated %.6f s, true %.6f s\n", every,
             cpn_sim_kind_name(g.sim, g.kind_spin[w]), est, truth);
      if (!(fabs(est / truth - 1) <= bound))
        fail_msg("every %d: estimated %.6f s against %.6f s, beyond %.2g relative", every, est, truth, bound);
    }
  }
}

static void events_pop_in_time_then_scheduling_order_and_flows_end_at_cm02(void **state)
{
  (void)state;
  char *argv[] = {g_argv[0], "--cfg=network/model:CM02", "--cfg=network/TCP-gamma:0", "--log=root.thres:critical",
                  NULL};
  int argc = 4;
  /* The same network model as cpnsim's runs (run/run.c). */
  simgrid_init(&argc, argv);
  const char *path = "test_event_platform.xml";
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
        "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">\n"
        "<host id=\"a\" speed=\"1Gf\"/><host id=\"b\" speed=\"1Gf\"/>\n"
        "<link id=\"l\" bandwidth=\"800Mbps\" latency=\"10ms\" sharing_policy=\"SPLITDUPLEX\"/>\n"
        "<route src=\"a\" dst=\"b\" symmetrical=\"YES\"><link_ctn id=\"l\" direction=\"UP\"/></route>\n"
        "</zone></platform>\n",
        f);
  fclose(f);
  simgrid_load_platform(path);
  remove(path);
  assert_int_equal(cpn_sim_new(&g.sim), CPN_OK);
  g.lcg = 2385;
  g.kind_order = cpn_sim_kind(g.sim, "order", on_order, NULL);
  g.kind_flow = cpn_sim_kind(g.sim, "flow", on_flow, NULL);
  g.kind_spin[0] = cpn_sim_kind(g.sim, "spin10", on_spin, NULL);
  g.kind_spin[1] = cpn_sim_kind(g.sim, "spin40", on_spin, NULL);
  sg_actor_create("engine", sg_host_by_name("a"), engine_actor, 0, NULL);
  simgrid_run();
  assert_null(cpn_sim_error(g.sim));

  /* Order: every event popped once, by time, equal times in scheduling order. */
  int n_order = 0;
  for (int i = 0; i < g.n_seen; i++)
    n_order += g.seen[i].idx >= 0;
  g.n_seen -= g.seen[g.n_seen - 1].idx == -2; /* the marker after the flows, checked below */
  assert_int_equal(n_order, g.n_scheduled);
  int ties = 0;
  for (int i = 1; i < g.n_seen; i++) {
    const seen_t *a = &g.seen[i - 1], *b = &g.seen[i];
    if (!(a->t < b->t || (a->t == b->t && a->seq < b->seq)))
      fail_msg("event %d (t %g, seq %llu) popped after (t %g, seq %llu)", i, b->t, (unsigned long long)b->seq, a->t,
               (unsigned long long)a->seq);
    ties += a->t == b->t;
  }
  assert_true(ties > N_START / 2); /* the case tests ties */

  /* Flows: 10 ms + 2.385e6 B / 1e8 B/s = 33.85 ms; with two on one direction, each has half. */
  assert_int_equal(g.flow_n, 6);
  if (fabs(g.flow_t[5] - (g.flow_t[7] + 0.03385)) > 1e-9 || !g.order_after_flow)
    fail_msg("a flow ending before the next event: at %.12f (started %.12f), before it: %d", g.flow_t[5], g.flow_t[7],
             g.order_after_flow);
  if (fabs(g.flow_t[0] - (1000 + 0.03385 + 0.5)) > 1e-9)
    fail_msg("flow alone ended at %.12f", g.flow_t[0]);
  assert_true(g.flow_t[1] == 1000.25);
  assert_true(g.flow_t[2] == 1000.125);
  assert_true(g.flow_t[6] == 1001.5);
  if (fabs(g.flow_t[3] - (g.flow_t[6] + 0.01 + 2 * 0.02385)) > 1e-9 ||
      fabs(g.flow_t[4] - (g.flow_t[6] + 0.01 + 2 * 0.02385 + 0.75)) > 1e-9)
    fail_msg("two flows ended at %.12f and %.12f", g.flow_t[3], g.flow_t[4]);

  assert_true(cpn_sim_kind_wall_s(g.sim, g.kind_order) >= 0);

  /* Timers: the same events in the same order as stale-skipping. */
  assert_int_equal(g_owners[0].n_log, N_TIMER_EVENTS);
  assert_int_equal(g_owners[1].n_log, g_owners[0].n_log);
  for (int i = 0; i < g_owners[0].n_log; i++)
    if (g_owners[0].log_t[i] != g_owners[1].log_t[i] || g_owners[0].log_k[i] != g_owners[1].log_k[i])
      fail_msg("event %d: stale-skipping ran owner %d at %g, timers owner %d at %g", i, g_owners[0].log_k[i],
               g_owners[0].log_t[i], g_owners[1].log_k[i], g_owners[1].log_t[i]);
  /* With a prefetch hook: the same events; the hook saw the next event most of the time (each handler moves
   * two owners, so the peeked one is sometimes replaced or preceded), and never one before the clock. */
  const owners_t *pf = &g_owners[2];
  assert_int_equal(pf->n_log, g_owners[1].n_log);
  for (int i = 0; i < pf->n_log; i++)
    if (pf->log_t[i] != g_owners[1].log_t[i] || pf->log_k[i] != g_owners[1].log_k[i])
      fail_msg("event %d: with a prefetch hook owner %d ran at %g, without owner %d at %g", i, pf->log_k[i],
               pf->log_t[i], g_owners[1].log_k[i], g_owners[1].log_t[i]);
  printf("prefetch hooks: `next` %d calls, %d of them the event that ran next; `ahead` %d calls, %d events "
         "of %d ran after one\n", pf->n_pf, pf->n_pf_hit, pf->n_ah, pf->n_ah_hit, pf->n_log);
  assert_int_equal(pf->n_pf_early, 0);
  assert_int_equal(pf->n_ah_early, 0);
  assert_true(pf->n_ah_hit > pf->n_log / 2);
  assert_true(pf->n_pf >= pf->n_log - 1);
  assert_true(pf->n_pf_hit > pf->n_log / 2);
  cpn_sim_free(g.sim);
}

int main(int argc, char **argv)
{
  (void)argc;
  g_argv = argv;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(events_pop_in_time_then_scheduling_order_and_flows_end_at_cm02),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
