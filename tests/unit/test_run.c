/* test_run: a single request on an idle replica ends at the closed form of the serving model:
 * upload (latency + bytes over bandwidth) + prefill + (output - 1) decode steps with growing context +
 * reply, within 1e-9 relative. One engine per process (SimGrid), so this executable has one case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpn_perf.h"
#include "run/run.h"
#include "placement/policy.h"
#include "config/scenario.h"

static cpn_record_t got;
static int n_got;

static void capture(const cpn_record_t *rec, void *arg)
{
  got = *rec;
  n_got++;
}

static void assert_rel(double have, double want, double rel)
{
  if (fabs(have - want) > rel * fabs(want))
    fail_msg("have %.17g, want %.17g (relative error %.3g)", have, want, fabs(have - want) / fabs(want));
}

static void single_request_matches_closed_form(void **state)
{
  cpn_scenario_t sc;
  assert_int_equal(cpn_scenario_load(&sc, CPN_TEST_DATA "/single.yaml", NULL, 0), CPN_OK);
  cpn_policy_registry_t *reg;
  assert_int_equal(cpn_policy_registry_new(&reg), CPN_OK);
  cpn_run_config_t cfg = {.sc = &sc, .policy = cpn_policy_registry_find(reg, "nearest"), .on_record = capture};
  cpn_run_stats_t st;
  assert_int_equal(cpn_run(&cfg, &st), CPN_OK);
  assert_int_equal(n_got, 1);
  assert_int_equal(st.arrived, 1);

  cpn_perf_t perf;
  cpn_perf_init(&perf, cpn_llm_find("llama-3.1-8b"), cpn_accel_find("h100"), 1);
  const double lat = 0.002 + 0.012345, bw = 1.0e9;
  const double prompt = 1000, output = 200;
  double net_in = lat + prompt * 4 * 8 / bw;
  double net_out = lat + output * 4 * 8 / bw;
  double prefill = cpn_perf_prefill_s(&perf, prompt);
  /* Decode step j (j = 0 .. output-2) runs with a context of prompt + 1 + j tokens. */
  double decode = 0;
  for (int j = 0; j < (int)output - 1; j++)
    decode += cpn_perf_decode_step_s(&perf, 1, prompt + 1 + j);
  printf("closed form: net_in %.9f s, prefill %.9f s, decode %.9f s (%d steps), net_out %.9f s\n", net_in, prefill,
         decode, (int)output - 1, net_out);
  printf("simulated:   ttft %.12f s, e2e %.12f s\n", got.t_first_token - got.t_arrival, got.t_done - got.t_arrival);
  assert_rel(got.net_in_s, net_in, 1e-12);
  assert_rel(got.net_out_s, net_out, 1e-12);
  assert_rel(got.t_first_token - got.t_arrival, net_in + prefill + lat, 1e-9);
  assert_rel(got.t_done - got.t_arrival, net_in + prefill + decode + net_out, 1e-9);
  assert_int_equal(got.status, CPN_STATUS_COMPLETED);
  cpn_policy_registry_free(reg);
  cpn_scenario_destroy(&sc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(single_request_matches_closed_form)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
