/* schedulers: the table of built-in serving scheduler types, found by name. */
#include "serving/scheduler.h"

#include <math.h>
#include <string.h>

static const cpn_sched_type_t *const builtins[] = {&cpn_sched_continuous, &cpn_sched_fcfs, &cpn_sched_vllm,
                                                     &cpn_sched_trtllm};

const cpn_sched_type_t *cpn_sched_find(const char *name)
{
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if (strcmp(builtins[i]->name, name) == 0)
      return builtins[i];
  return NULL;
}

const cpn_sched_type_t *cpn_sched_at(size_t i)
{
  return i < sizeof builtins / sizeof builtins[0] ? builtins[i] : NULL;
}

double cpn_sched_param(const cpn_sched_type_t *type, const cpn_replica_info_t *info, const char *name)
{
  for (int i = 0; i < info->n_params; i++)
    if (strcmp(info->param_keys[i], name) == 0)
      return info->param_values[i];
  for (size_t i = 0; type->param_names && type->param_names[i]; i++)
    if (strcmp(type->param_names[i], name) == 0)
      return type->param_defaults[i];
  return 0.0;
}

double cpn_sched_spec_tokens_per_step(const cpn_replica_info_t *info)
{
  double k = info->spec_tokens, a = info->spec_acceptance;
  if (k <= 0)
    return 1.0;
  return a >= 1 ? k + 1 : (1 - pow(a, k + 1)) / (1 - a);
}

double cpn_sched_spec_token_s(const cpn_replica_info_t *info, double verify_step_s, double step_s)
{
  if (info->spec_tokens <= 0)
    return step_s;
  return (verify_step_s + info->spec_tokens * info->spec_draft_cost * step_s) / cpn_sched_spec_tokens_per_step(info);
}

double cpn_sched_token_s(const cpn_replica_info_t *info, int batch, double ctx_tokens)
{
  double d = cpn_perf_decode_step_s(&info->perf, batch, ctx_tokens);
  if (info->spec_tokens <= 0)
    return d;
  double v = cpn_perf_decode_step_s(&info->perf, batch * (info->spec_tokens + 1), ctx_tokens);
  return cpn_sched_spec_token_s(info, v, d);
}
