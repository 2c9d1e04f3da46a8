/* fleet: the replicas' life cycle. A cold start loads a replica's weights from the model's store site
 * (models[].store) or locally, as a bulk transfer over the network; the autoscaler plug-in
 * (fleet/autoscaler.h) is called every run.autoscaler_interval_s with a view per (site, model) and
 * loads or unloads replicas (a busy replica drains first).
 *
 * Owns: the autoscaler's state and memory (since when each (site, model) has been lightly loaded), each
 * model's store site and the cold-start count. It adds the life-cycle events (load_start, load_done,
 * unload) to the run's event log (/events). */
#ifndef CPN_FLEET_FLEET_H
#define CPN_FLEET_FLEET_H

#include "config/scenario.h"
#include "core/event.h"
#include "network/network.h"
#include "output/eventlog.h"
#include "output/output.h"
#include "serving/serving.h"

typedef struct cpn_fleet cpn_fleet_t;

cpn_err_t cpn_fleet_new(cpn_fleet_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_serving_t *sv,
                        cpn_network_t *net, cpn_eventlog_t *log);
void cpn_fleet_free(cpn_fleet_t *f);
/* Schedules the first autoscaler call (when the scenario names an autoscaler). */
cpn_err_t cpn_fleet_start(cpn_fleet_t *f);
long cpn_fleet_cold_starts(const cpn_fleet_t *f);

#endif
