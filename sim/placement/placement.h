/* placement: chooses the site of each request. The engine decides which sites are eligible (the model
 * is served there, the site is up and reachable from the request's origin, residency and
 * confidentiality allow it, the request fits in KV);
 * the policy plug-in chooses among them on its view (fresh, or refreshed every run.view_refresh_s);
 * a choice outside the eligible sites is a violation and the request is rejected. A placed request's
 * upload starts at once.
 *
 * Owns: the policy's state and random stream, the eligible-site scratch list, the class index (the
 * eligible sites and an index over them without a scan of every site, class_index.h), the decision trace
 * (/decisions), the view refresh event, the count of policy violations. */
#ifndef CPN_PLACEMENT_PLACEMENT_H
#define CPN_PLACEMENT_PLACEMENT_H

#include "accounting/accounting.h"
#include "config/scenario.h"
#include "core/event.h"
#include "cpnsim/policy.h"
#include "network/network.h"
#include "output/output.h"
#include "placement/view.h"
#include "request/request.h"

typedef struct cpn_placement cpn_placement_t;

/* Initialises the policy with the scenario's run.policy_params (a refusal is an error naming them). */
cpn_err_t cpn_placement_new(cpn_placement_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim,
                            const cpn_policy_type_t *policy, cpn_views_t *views, cpn_network_t *net,
                            cpn_accounting_t *acct);
void cpn_placement_free(cpn_placement_t *pl);
/* Schedules the first view refresh (stale views only). */
cpn_err_t cpn_placement_start(cpn_placement_t *pl);
/* Places the request now: upload to the chosen site, or the request ends rejected with the reason. */
void cpn_placement_place(cpn_placement_t *pl, cpn_req_t *q);
/* Places again a request lost to a fault (sim/faults): as cpn_placement_place, but when no site is
 * eligible any more it ends `failed` with `reason`. */
void cpn_placement_retry(cpn_placement_t *pl, cpn_req_t *q, cpn_reason_t reason);
long cpn_placement_violations(const cpn_placement_t *pl);
/* Prefix caching: how the policies' cached_tokens are found (set by run/: serving's caches). */
void cpn_placement_on_prefix(cpn_placement_t *pl, double (*cached_tokens)(void *ctx, const cpn_req_t *q, int site),
                             void *ctx);
/* Writes /decisions when the scenario asks for the decision trace. */
cpn_err_t cpn_placement_write(const cpn_placement_t *pl, cpn_output_t *out);

#endif
