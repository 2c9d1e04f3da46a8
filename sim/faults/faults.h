/* faults: outages of links and sites, and degraded links, as events of the run (scenario `faults:`).
 *
 * A fault is planned (at a time, for a duration) or random (exponential times between failures and to
 * repair, drawn from its own seeded stream, so that faults never change the workload's draws). A cut
 * link takes no route: routes are computed again around it at once, and the requests whose upload or
 * reply was crossing it are lost. A failed site loses every request queued or in service there, and
 * every request that reaches it while it is down; policies learn that it is down (the view's `up`
 * flag) only `detection_s` after it fails, and that it is back as soon as it is. A lost request is
 * placed again (never at the site it was lost at, its KV gone, so prefill is redone) up to
 * `max_retries` times, then ends `failed` with reason link_failure or site_failure. A degraded link
 * keeps a fraction of its bandwidth for fluid transfers and SimGrid flows alike.
 *
 * Owns: the occurrences of the faults (drawn at the start), the down counts of links and sites, the
 * counts of lost, retried and failed requests per reason, the counts of occurrences begun and ended, and
 * the table /faults (one row per change of an element's state). Every occurrence, begin or end, is also
 * one row of the run's /events (kinds link_down, link_up, link_degraded, link_restored, site_down,
 * site_up; site_detected when policies learn of a failure). */
#ifndef CPN_FAULTS_FAULTS_H
#define CPN_FAULTS_FAULTS_H

#include "accounting/accounting.h"
#include "config/scenario.h"
#include "core/event.h"
#include "network/network.h"
#include "output/eventlog.h"
#include "output/output.h"
#include "placement/placement.h"
#include "placement/view.h"
#include "request/request.h"
#include "serving/serving.h"
#include "topology/topology.h"

typedef struct cpn_faults cpn_faults_t;

/* Counts per reason (index 0: link_failure, 1: site_failure). */
typedef struct {
  long lost[2];     /* requests caught by a fault (a request lost twice counts twice) */
  long retried[2];  /* of which placed again */
  long failed[2];   /* of which ended `failed` (retries exhausted, or no site left) */
} cpn_fault_counts_t;

/* Draws the occurrences of every fault of the scenario over the run (duration + drain). */
cpn_err_t cpn_faults_new(cpn_faults_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_topology_t *topo,
                         cpn_network_t *net, cpn_serving_t *sv, cpn_views_t *views, cpn_placement_t *pl,
                         cpn_reqs_t *reqs, cpn_accounting_t *acct, cpn_eventlog_t *log);
void cpn_faults_free(cpn_faults_t *f);
/* Schedules the occurrences (none without faults). */
cpn_err_t cpn_faults_start(cpn_faults_t *f);
/* The network's `arrived` hand-off when faults are on: a request reaching a site that is down is lost;
 * others go on to serving. */
void cpn_faults_arrived(void *ctx, cpn_req_t *q);
/* 1 when the scenario has faults (the run then routes arrivals through cpn_faults_arrived). */
int cpn_faults_enabled(const cpn_faults_t *f);
const cpn_fault_counts_t *cpn_faults_counts(const cpn_faults_t *f);
/* Occurrences of faults begun (failures, degradations) and ended (repairs) so far. */
void cpn_faults_occurrences(const cpn_faults_t *f, long *begun, long *ended);
/* /faults: one row per change of state (kind, t_s, site, link, requests lost) and /summary/faults (per
 * kind of fault: lost, retried, failed, begun, ended). */
cpn_err_t cpn_faults_write(const cpn_faults_t *f, cpn_output_t *out);

#endif
