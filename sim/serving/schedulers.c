/* schedulers: the table of built-in serving scheduler types, found by name. */
#include "serving/scheduler.h"

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
