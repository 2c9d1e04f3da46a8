/* gateway: the one door of the network. Every new request passes it before placement; it holds the
 * request for the scenario's decision latency (run.decision_latency_s), then hands it to placement.
 * Admission control by account (quotas, rate limits, priorities) belongs here.
 *
 * Owns: its event kind (a decision due). */
#ifndef CPN_GATEWAY_GATEWAY_H
#define CPN_GATEWAY_GATEWAY_H

#include "config/scenario.h"
#include "core/event.h"
#include "placement/placement.h"
#include "request/request.h"

typedef struct cpn_gateway cpn_gateway_t;

cpn_err_t cpn_gateway_new(cpn_gateway_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_placement_t *pl);
void cpn_gateway_free(cpn_gateway_t *gw);
/* A new request arrives at the gateway now. */
void cpn_gateway_admit(cpn_gateway_t *gw, cpn_req_t *q);

#endif
