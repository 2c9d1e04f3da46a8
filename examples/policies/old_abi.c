/* old_abi: a deliberately incompatible plug-in, for tests. It registers a type whose `abi` is one more
 * than the header's CPN_POLICY_ABI, as a plug-in built against another cpnsim would; cpnsim must refuse
 * it (exit code 2) and name both ABI versions. */
#include <cpnsim/policy.h>

static void never_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  out->site = -1;
  out->replica = -1;
}

static const cpn_policy_type_t future_type = {
  .abi = CPN_POLICY_ABI + 1, .name = "from-the-future", .state_size = 0, .decide = never_decide};

int cpn_policy_register(cpn_policy_registry_t *reg)
{
  return cpn_policy_registry_add(reg, &future_type);
}
