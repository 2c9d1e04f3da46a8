/* sources: where requests come from. Generators draw arrivals per origin (Poisson with a diurnal
 * profile, Gamma, Weibull, MMPP) and each request's class, tenant, model and token counts; trace replay
 * reads them from a file (sources/trace.c) and draws only what a row lacks. A class with a session makes
 * conversations: each completed turn with turns left brings the next after a think time, its prompt
 * the previous prompt and output plus new tokens. A class with its own schedule arrives by its own
 * process (one per class). A class that fans out holds each request at its reply until the children it
 * makes have ended, then ends it. Each new request is counted by accounting and handed to the gateway.
 *
 * Owns: the arrival processes and their random streams (one per origin, one per scheduled class), the
 * workload stream, the trace reader and its assignment stream, the request ids and the request budget,
 * sessions and fan-out parents in flight, and the count of arrival events pending (the run is idle only
 * when none is). Invariant: a held fan-out parent is ended exactly once, by sources when its last child
 * ends, or by the end of the run before that (then its children end with nothing left to end). */
#ifndef CPN_SOURCES_SOURCES_H
#define CPN_SOURCES_SOURCES_H

#include "accounting/accounting.h"
#include "config/scenario.h"
#include "core/event.h"
#include "gateway/gateway.h"
#include "request/request.h"

typedef struct cpn_sources cpn_sources_t;

/* Checks the arrival processes' parameters without building anything (for --check). */
cpn_err_t cpn_sources_check(const cpn_scenario_t *sc);

/* Prepares the generators (and opens the trace, when the scenario names one); t_end_arrivals is when
 * arrivals stop. */
cpn_err_t cpn_sources_new(cpn_sources_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_reqs_t *reqs,
                          cpn_accounting_t *acct, cpn_gateway_t *gw, double t_end_arrivals);
void cpn_sources_free(cpn_sources_t *src);
/* Schedules the first arrival of each origin, then the first trace row. */
cpn_err_t cpn_sources_start(cpn_sources_t *src);
/* The reply of q reached its user (completed): when q is a turn of a conversation with turns left,
 * its next turn is scheduled after a think time; when q's class fans out, its children are made now and
 * q is held (returns 1: sources ends it when its last child ends); otherwise returns 0 and run/ ends q. */
int cpn_sources_replied(cpn_sources_t *src, cpn_req_t *q);
/* Every request as it ends (accounting's end hook, through run/): a fan-out child's end may end its
 * parent. */
void cpn_sources_ended(cpn_sources_t *src, const cpn_req_t *q);
/* Arrival events still in the event core. */
long cpn_sources_pending(const cpn_sources_t *src);
/* The trace reader (NULL when the demand is generated). */
const struct cpn_trace *cpn_sources_trace(const cpn_sources_t *src);

#endif
