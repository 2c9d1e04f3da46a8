/* autoscaler: plug-in types that add or remove model replicas from what they see of the queues
 * (same pattern as policies: a versioned const struct, a built-in table, found by name).
 *
 * Every run.autoscaler_interval_s the engine fills one cpn_scale_view_t per (site, model) that has
 * replicas, and the autoscaler returns actions: +1 loads one unloaded replica (a cold start: the
 * weights travel from the model's store site as a SimGrid flow), -1 unloads one idle ready replica. The
 * engine ignores actions that are impossible (nothing to load, nothing ready). An unloaded replica that
 * still serves requests drains first: it admits nothing new and unloads when its batch is empty. */
#ifndef CPN_FLEET_AUTOSCALER_H
#define CPN_FLEET_AUTOSCALER_H

#include <stddef.h>

#include "core/error.h"
#include "cpnsim/policy.h"

#define CPN_AUTOSCALER_ABI 1u

typedef struct {
  int site, model;
  int ready, loading, unloaded; /* replicas by state */
  int idle_ready;               /* ready replicas without work */
  double longest_idle_s;        /* of the idle ready replicas, the longest idle time */
  int queued_requests;          /* waiting in the site's queues for the model */
  int active_requests;          /* in service (prefill or decode) on the ready replicas */
  double low_load_s;            /* for how long nothing has waited and the requests in service would
                                 * have fitted on one ready replica fewer at batch 2 each (0: not now) */
  double slo_misses;            /* TTFT SLO misses at the site for the model since the last call */
} cpn_scale_view_t;

typedef struct {
  int site, model;
  int delta;                    /* +1 load one replica, -1 unload one */
} cpn_scale_action_t;

typedef struct {
  unsigned abi;                 /* CPN_AUTOSCALER_ABI */
  const char *name;
  size_t state_size;
  int (*init)(void *state, const cpn_policy_params_t *params); /* optional; non-zero refuses params */
  /* Fills up to max_out actions; returns how many. */
  int (*decide)(void *state, double now_s, const cpn_scale_view_t *views, int n, cpn_scale_action_t *out,
                int max_out);
} cpn_autoscaler_type_t;

/* The built-in autoscaler with that name ("queue-threshold"), or NULL. */
const cpn_autoscaler_type_t *cpn_autoscaler_find(const char *name);
extern const cpn_autoscaler_type_t cpn_autoscaler_queue_threshold;

#endif
