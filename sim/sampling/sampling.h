/* sampling: time series of the sites, links and replicas, every run.sample_interval_s, written to
 * /timeseries. Sampling also closes the network's load window (the fluid network's link loads are the
 * traffic of the last window) and reports each site's KV use to the views.
 *
 * Owns: the sample tables (rows grow with the number of samples, not with requests). */
#ifndef CPN_SAMPLING_SAMPLING_H
#define CPN_SAMPLING_SAMPLING_H

#include "config/scenario.h"
#include "core/event.h"
#include "network/network.h"
#include "output/output.h"
#include "placement/view.h"
#include "serving/serving.h"

typedef struct cpn_sampling cpn_sampling_t;

cpn_err_t cpn_sampling_new(cpn_sampling_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_serving_t *sv,
                           cpn_network_t *net, cpn_views_t *views);
void cpn_sampling_free(cpn_sampling_t *sp);
/* Schedules the first sample at time 0 (when the scenario samples). */
cpn_err_t cpn_sampling_start(cpn_sampling_t *sp);
cpn_err_t cpn_sampling_write(const cpn_sampling_t *sp, cpn_output_t *out);

#endif
