/* schedulers: the table of built-in serving scheduler types, found by name. */
#include "serving/scheduler.h"

#include <string.h>

static const cpn_sched_type_t *const builtins[] = {&cpn_sched_continuous, &cpn_sched_fcfs};

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
