/* gateway: the one door of the network. Every new request passes it before placement.
 *
 * Admission by account (gateway/accounts.h): a request over its account's token quota for the period,
 * or over its request-rate limit, ends rejected with reason `admission`. An admitted request is held for
 * the scenario's decision latency (run.decision_latency_s), then handed to placement. With
 * run.gateway_max_in_flight = N > 0, at most N admitted requests are in the network at once; the others
 * wait at the gateway in priority order (tenants[].priority, higher first; then arrival order) and go
 * on as requests end (cpn_gateway_ended, called for every ended request).
 *
 * Owns: the accounts, the priority queue of waiting requests, the count in flight, its event kind. */
#ifndef CPN_GATEWAY_GATEWAY_H
#define CPN_GATEWAY_GATEWAY_H

#include "accounting/accounting.h"
#include "config/scenario.h"
#include "core/event.h"
#include "output/output.h"
#include "placement/placement.h"
#include "request/request.h"

typedef struct cpn_gateway cpn_gateway_t;

cpn_err_t cpn_gateway_new(cpn_gateway_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_placement_t *pl,
                          cpn_accounting_t *acct);
void cpn_gateway_free(cpn_gateway_t *gw);
/* A new request arrives at the gateway now. */
void cpn_gateway_admit(cpn_gateway_t *gw, cpn_req_t *q);
/* A request ended (any status): one in flight fewer if the gateway let it in. */
void cpn_gateway_ended(cpn_gateway_t *gw, const cpn_req_t *q);
/* /accounts. */
cpn_err_t cpn_gateway_write(const cpn_gateway_t *gw, cpn_output_t *o);

#endif
