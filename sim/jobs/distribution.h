/* distribution: model distribution jobs (scenario `distribution:`). A job pushes a model version of
 * `bytes` from its source site to every target site at `at_s`, and a new version every `every_s` while
 * arrivals run; each push to a site is one bulk SimGrid flow (cpn_network_bulk_kind, /transfers rows
 * keyed "distribution"), so pushes share links with each other and with cold starts under SimGrid's
 * flow model. A version is complete when every target site has it; its skew is the time from its start
 * until then. Replicas are not switched to the new version (the serving stage has no model versions yet):
 * only when each site has it is recorded, in /distribution and as version_arrived and version_complete
 * rows of the run's /events.
 *
 * Owns: the versions pushed and their arrival times, bytes per link, /distribution. */
#ifndef CPN_JOBS_DISTRIBUTION_H
#define CPN_JOBS_DISTRIBUTION_H

#include "config/scenario.h"
#include "core/event.h"
#include "network/network.h"
#include "output/eventlog.h"
#include "output/output.h"
#include "topology/topology.h"

typedef struct cpn_distribution cpn_distribution_t;

cpn_err_t cpn_distribution_new(cpn_distribution_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim,
                               const cpn_topology_t *topo, cpn_network_t *net, cpn_eventlog_t *log);
void cpn_distribution_free(cpn_distribution_t *d);
/* Schedules each job's first version. */
cpn_err_t cpn_distribution_start(cpn_distribution_t *d);
/* /distribution/versions (job, version, start_s, done_s, skew_s, sites with it), /distribution/arrivals
 * (job, version, site, start_s, end_s) and /distribution/links (bytes per link); nothing without jobs. */
cpn_err_t cpn_distribution_write(const cpn_distribution_t *d, cpn_output_t *out);

#endif
