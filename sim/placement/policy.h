/* policy: the policy registry (built-ins + user plug-ins loaded with dlopen) and helpers shared by the
 * built-in policies. The ABI itself is the public header cpnsim/policy.h. */
#ifndef CPN_PLACEMENT_POLICY_H
#define CPN_PLACEMENT_POLICY_H

#include <stddef.h>

#include "core/error.h"
#include "cpnsim/policy.h"

/* A registry holding every built-in type. */
cpn_err_t cpn_policy_registry_new(cpn_policy_registry_t **reg);
/* Unloads plug-ins. Accepts NULL. */
void cpn_policy_registry_free(cpn_policy_registry_t *reg);
const cpn_policy_type_t *cpn_policy_registry_find(const cpn_policy_registry_t *reg, const char *name);
size_t cpn_policy_registry_count(const cpn_policy_registry_t *reg);
const cpn_policy_type_t *cpn_policy_registry_at(const cpn_policy_registry_t *reg, size_t i);
/* Loads a plug-in shared object and registers its types; *first names the first type it registered.
 * Errors (not found, no entry symbol, ABI mismatch) name the path. */
cpn_err_t cpn_policy_registry_load(cpn_policy_registry_t *reg, const char *path, const char **first);
/* Resolves a --policy argument: a registered name, or a path (contains '/' or ends in .so) to load. */
cpn_err_t cpn_policy_resolve(cpn_policy_registry_t *reg, const char *spec, const cpn_policy_type_t **type);

/* Helpers shared by the built-in policies (inline: they run once per candidate per request). */
static inline const cpn_model_view_t *cpn_view_model(const cpn_view_t *v, int site, int model)
{
  return &v->models[(size_t)site * (size_t)v->n_models + (size_t)model];
}

/* One-way route latency from the request's origin to `site`. */
static inline double cpn_view_latency(const cpn_view_t *v, const cpn_request_view_t *r, int site)
{
  return v->route_latency_s[(size_t)r->origin * (size_t)v->n_sites + (size_t)site];
}

/* Queued tokens per loaded replica of the request's model at `site`: the load one more request joins. */
static inline double cpn_view_load(const cpn_view_t *v, const cpn_request_view_t *r, int site)
{
  const cpn_model_view_t *m = cpn_view_model(v, site, r->model);
  return m->queued_tokens / (m->replicas > 0 ? m->replicas : 1);
}

/* The choices of nearest and least-loaded (policy_classic.c) read from req->index (non-NULL, at least one
 * eligible site) instead of a scan of req->eligible: the same site, or -1 when the index's latency order
 * is not ready yet (the caller scans). */
int cpn_policy_nearest_indexed(const cpn_view_t *v, const cpn_request_view_t *r);
int cpn_policy_least_loaded_indexed(const cpn_view_t *v, const cpn_request_view_t *r);

/* The built-in table (policy_classic.c). */
extern const cpn_policy_type_t *const cpn_policy_builtins[];
extern const size_t cpn_policy_builtin_count;

/* The second set of built-ins (policy_estimated.c; their rules are documented there). */
extern const cpn_policy_type_t cpn_policy_power_of_two, cpn_policy_jsq_latency, cpn_policy_cost, cpn_policy_carbon,
    cpn_policy_east_west, cpn_policy_weighted, cpn_policy_prefix_aware;

/* Validation only: a built-in name, or a plug-in path that exists and can be read. Loads nothing, so
 * --check and --print-config never run a plug-in's code. */
cpn_err_t cpn_policy_check_spec(const cpn_policy_registry_t *reg, const char *spec);

#endif
