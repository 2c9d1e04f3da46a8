/* autoscaler: the built-in autoscaler table and `queue-threshold`.
 *
 * queue-threshold: for each (site, model), load one more replica when the requests waiting exceed
 * `up_queue` (default 8) per ready-or-loading replica, or when TTFT SLO misses since the last call
 * exceed `up_slo_misses` (default 20); unload one replica when more than `min_ready` (default 1) are ready
 * and the load has been low for `idle_s` (default 300 s): nothing waiting, and what is in service would
 * fit on one replica fewer (the view's low_load_s). With min_ready 0 the last ready replica unloads once
 * it has been idle for idle_s (a rarely used model gives its accelerator's power back, and the next
 * request for it waits for a cold start). */
#include "fleet/autoscaler.h"

#include <string.h>

typedef struct {
  double up_queue, up_slo_misses, idle_s, min_ready;
} qt_state_t;

static int qt_init(void *state, const cpn_policy_params_t *params)
{
  qt_state_t *s = state;
  s->up_queue = cpn_policy_param(params, "up_queue", 8);
  s->up_slo_misses = cpn_policy_param(params, "up_slo_misses", 20);
  s->idle_s = cpn_policy_param(params, "idle_s", 300);
  s->min_ready = cpn_policy_param(params, "min_ready", 1);
  return s->up_queue <= 0 || s->idle_s < 0 || s->min_ready < 0 ? -1 : 0;
}

static int qt_decide(void *state, double now_s, const cpn_scale_view_t *v, int n, cpn_scale_action_t *out,
                     int max_out)
{
  const qt_state_t *s = state;
  int k = 0;
  for (int i = 0; i < n && k < max_out; i++) {
    int serving = v[i].ready + v[i].loading;
    if (v[i].unloaded > 0 &&
        (v[i].queued_requests > s->up_queue * (serving > 0 ? serving : 1) || v[i].slo_misses > s->up_slo_misses))
      out[k++] = (cpn_scale_action_t){.site = v[i].site, .model = v[i].model, .delta = +1};
    else if (v[i].queued_requests == 0 && v[i].ready > s->min_ready &&
             (v[i].low_load_s >= s->idle_s ||
              (v[i].ready == 1 && v[i].idle_ready == 1 && v[i].longest_idle_s >= s->idle_s)))
      out[k++] = (cpn_scale_action_t){.site = v[i].site, .model = v[i].model, .delta = -1};
  }
  return k;
}

const cpn_autoscaler_type_t cpn_autoscaler_queue_threshold = {
  .abi = CPN_AUTOSCALER_ABI, .name = "queue-threshold", .state_size = sizeof(qt_state_t), .init = qt_init,
  .decide = qt_decide};

static const cpn_autoscaler_type_t *const builtins[] = {&cpn_autoscaler_queue_threshold};

const cpn_autoscaler_type_t *cpn_autoscaler_find(const char *name)
{
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if (strcmp(builtins[i]->name, name) == 0)
      return builtins[i];
  return NULL;
}
