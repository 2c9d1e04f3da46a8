/* test_sched_single: one request on an idle replica under each serving scheduler type ends at the
 * closed form of the serving model, within 1e-9 relative (tests/data/single.yaml: 1000 prompt / 200
 * output tokens, one H100, Llama 3.1 8B):
 *   - vllm and trtllm with their default budgets (8192 >= the prompt): the prompt is prefilled whole in
 *     one iteration with nothing to decode, prefill_s(1000), then 199 decode steps at batch 1;
 *   - vllm with max_num_batched_tokens 300: the prompt is chunked into 300, 300, 300 and 100 tokens,
 *     four iterations of prefill_s(chunk) each, so TTFT pays four step overheads;
 *   - fcfs with fixed times (step_s 0.002385, prefill_s_per_token 1.3e-5): TTFT = 1000 x 1.3e-5 and
 *     decode = 199 x 0.002385, exactly.
 * SimGrid allows one engine per process: each case runs in a child process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/scenario.h"
#include "cpn_perf.h"
#include "placement/policy.h"
#include "run/run.h"

static cpn_record_t got;
static int n_got;

static void capture(const cpn_record_t *rec, void *arg)
{
  (void)arg;
  got = *rec;
  n_got++;
}

static int close_rel(const char *what, double have, double want, double rel)
{
  int ok = fabs(have - want) <= rel * fabs(want);
  printf("  %-5s simulated %.12f s, closed form %.12f s%s\n", what, have, want, ok ? "" : "  <-- off");
  return ok;
}

/* Runs single.yaml with `sets` in this (child) process; returns 0 when TTFT and end-to-end time match. */
static int run_case(const char *const *sets, int n_sets, double prefill_s, double decode_s)
{
  cpn_scenario_t sc;
  if (cpn_scenario_load(&sc, CPN_TEST_DATA "/single.yaml", sets, n_sets) != CPN_OK)
    return 1;
  cpn_policy_registry_t *reg;
  if (cpn_policy_registry_new(&reg) != CPN_OK)
    return 1;
  cpn_run_config_t cfg = {.sc = &sc, .policy = cpn_policy_registry_find(reg, "nearest"), .on_record = capture};
  cpn_run_stats_t st;
  if (cpn_run(&cfg, &st) != CPN_OK || n_got != 1 || got.status != CPN_STATUS_COMPLETED || got.preempted != 0)
    return 1;
  const double lat = 0.002 + 0.012345, bw = 1.0e9;
  double net_in = lat + 1000 * 4 * 8 / bw, net_out = lat + 200 * 4 * 8 / bw;
  int ok = close_rel("ttft", got.t_first_token - got.t_arrival, net_in + prefill_s + lat, 1e-9);
  ok &= close_rel("e2e", got.t_done - got.t_arrival, net_in + prefill_s + decode_s + net_out, 1e-9);
  cpn_policy_registry_free(reg);
  cpn_scenario_destroy(&sc);
  return ok ? 0 : 1;
}

static int in_child(const char *name, const char *const *sets, int n_sets, double prefill_s, double decode_s)
{
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    printf("%s:\n", name);
    int rc = run_case(sets, n_sets, prefill_s, decode_s);
    fflush(stdout);
    _exit(rc);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static void each_type_matches_closed_form(void **state)
{
  (void)state;
  cpn_perf_t perf;
  cpn_perf_init(&perf, cpn_llm_find("llama-3.1-8b"), cpn_accel_find("h100"), 1);
  double decode = 0;
  for (int j = 0; j < 199; j++)
    decode += cpn_perf_decode_step_s(&perf, 1, 1000 + 1 + j);
  double whole = cpn_perf_prefill_s(&perf, 1000);
  double chunked = 3 * cpn_perf_prefill_s(&perf, 300) + cpn_perf_prefill_s(&perf, 100);

  const char *vllm[] = {"sites.s.replicas.0.scheduler=vllm"};
  const char *trt[] = {"sites.s.replicas.0.scheduler=trtllm"};
  const char *vllm300[] = {"sites.s.replicas.0.scheduler=vllm",
                           "sites.s.replicas.0.scheduler_params.max_num_batched_tokens=300"};
  const char *fixed[] = {"sites.s.replicas.0.scheduler=fcfs", "sites.s.replicas.0.scheduler_params.step_s=0.002385",
                         "sites.s.replicas.0.scheduler_params.prefill_s_per_token=1.3e-5"};
  assert_int_equal(in_child("vllm", vllm, 1, whole, decode), 0);
  assert_int_equal(in_child("trtllm", trt, 1, whole, decode), 0);
  assert_int_equal(in_child("vllm, budget 300", vllm300, 2, chunked, decode), 0);
  assert_int_equal(in_child("fcfs, fixed times", fixed, 3, 1000 * 1.3e-5, 199 * 0.002385), 0);
  /* The chunked prompt pays three more step overheads than the whole one, and its last chunk of 100
   * tokens, alone in its pass, costs the weight read (8.03 GB over the H100's HBM) rather than its FLOPs. */
  double floor_100 = 8.03e9 / (3.35e12 * perf.decode_eff) - 2 * 8.03e9 * 100 / (1979e12 * perf.prefill_eff);
  assert_true(floor_100 > 0);
  assert_true(fabs(chunked - whole - 3 * perf.step_overhead_s - floor_100) < 1e-12);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(each_type_matches_closed_form)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
