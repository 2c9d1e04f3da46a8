/* training: collaborative (data-parallel) training jobs across sites (scenario `training:`). Each step
 * computes for compute_s at every site at once, then all-reduces grad_bytes of gradients around a ring
 * of the job's sites (in the order listed): 2 (N - 1) phases, in each of which every site sends
 * grad_bytes / N to the next one as a bulk SimGrid flow (cpn_network_bulk_kind, /transfers rows keyed
 * "training"); a phase ends when its N flows have, the next step starts when the last phase ends. So the
 * flows share links with each other, with cold starts and model distribution under SimGrid's flow model,
 * and with requests: in flow mode requests are SimGrid flows too; in fluid mode a request gets an equal
 * share with each bulk flow on a link (network.h), and the bulk flows see the request traffic only with
 * run.fluid_share: concurrent.
 *
 * With ring hops that share no link in either direction (SimGrid counts a little reverse traffic for
 * each flow, so hops using one link both ways slow each other slightly), a step takes, by hand,
 *   compute_s + 2 (N - 1) x max over hops h of (latency_h + grad_bytes x 8 / (N x bottleneck_bps_h)).
 * The compute does not use the sites' accelerators (the serving stage has no training work): it is a
 * fixed time.
 *
 * Owns: each job's step, phase and flows in flight, and the step rows (/training). */
#ifndef CPN_JOBS_TRAINING_H
#define CPN_JOBS_TRAINING_H

#include "config/scenario.h"
#include "core/event.h"
#include "network/network.h"
#include "output/output.h"
#include "topology/topology.h"

typedef struct cpn_training cpn_training_t;

cpn_err_t cpn_training_new(cpn_training_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, const cpn_topology_t *topo,
                           cpn_network_t *net);
void cpn_training_free(cpn_training_t *t);
/* Schedules each job's first step. */
cpn_err_t cpn_training_start(cpn_training_t *t);
/* Steps done and their mean time (s) over every job; NaN mean when none is done. */
void cpn_training_stats(const cpn_training_t *t, long *steps, double *mean_step_s);
/* /training: one row per step begun (key: job; step, start_s, allreduce_s: when the exchange began,
 * end_s: NaN when it did not end, step_s); nothing without jobs. */
cpn_err_t cpn_training_write(const cpn_training_t *t, cpn_output_t *out);

#endif
