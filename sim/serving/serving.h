/* serving: the sites' model replicas, their queues, and the serving scheduler of each replica.
 *
 * A request placed at a site waits in the (site, model) queue (ordinary or confidential) until a ready
 * replica of the model takes it; the replica's scheduler (scheduler.h) then serves it and hands it on
 * to the network for the reply. Replicas that are unloaded are loaded on demand by the fleet stage
 * (the `cold` hook), which also drives loads, drains and unloads.
 *
 * Owns: replicas (figures, life-cycle state, busy and energy accumulators, scheduler state), the
 * (site, model) queues, per-(site, model) TTFT SLO misses, the preemption count. */
#ifndef CPN_SERVING_SERVING_H
#define CPN_SERVING_SERVING_H

#include "accounting/accounting.h"
#include "config/scenario.h"
#include "core/event.h"
#include "network/network.h"
#include "placement/view.h"
#include "request/request.h"

typedef struct cpn_serving cpn_serving_t;

/* Limits checked before anything is built: replicas in all, and the memory their state would take. */
#define CPN_SERVING_MAX_REPLICAS 10000000
#define CPN_SERVING_MAX_BYTES 8e9

typedef enum { CPN_REP_READY = 0, CPN_REP_UNLOADED, CPN_REP_LOADING, CPN_REP_DRAINING } cpn_rep_state_t;

/* Checks what building the scenario's replicas needs, without building: counts and memory within the
 * limits, known accelerators and models, models that fit (for --check). */
cpn_err_t cpn_serving_check(const cpn_scenario_t *sc);

/* Builds every replica of the scenario (refuses unknown accelerators, models and schedulers, and models
 * that do not fit) and reports each to the views. */
cpn_err_t cpn_serving_new(cpn_serving_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_views_t *views,
                          cpn_network_t *net, cpn_accounting_t *acct);
void cpn_serving_free(cpn_serving_t *sv);

/* Fleet hooks: `cold` when a request waits where no replica of its model is loaded or loading (argument:
 * a replica to load); `unloaded` when a replica has been unloaded (after a drain). */
void cpn_serving_on_fleet(cpn_serving_t *sv, void (*cold)(void *ctx, int replica),
                          void (*unloaded)(void *ctx, int replica), void *ctx);

/* A request reaches its site (rec.site): it queues, and a replica takes it if one can. */
void cpn_serving_arrive(cpn_serving_t *sv, cpn_req_t *q);
/* Asks for the memory cpn_serving_arrive(q) will read first (the replica it would dispatch q to, and its
 * scheduler state), one event ahead; changes nothing. Takes a const cpn_serving_t (void * for the hook). */
void cpn_serving_prefetch_arrive(const void *sv, const cpn_req_t *q);

/* Replicas, by index 0 .. n-1 (site by site, in scenario order). */
int cpn_serving_replicas(const cpn_serving_t *sv);
int cpn_serving_site(const cpn_serving_t *sv, int replica);
int cpn_serving_model(const cpn_serving_t *sv, int replica);
int cpn_serving_index_in_site(const cpn_serving_t *sv, int replica);
cpn_rep_state_t cpn_serving_state(const cpn_serving_t *sv, int replica);
int cpn_serving_busy(const cpn_serving_t *sv, int replica);         /* has work in service */
int cpn_serving_active(const cpn_serving_t *sv, int replica);       /* requests in service */
double cpn_serving_idle_since(const cpn_serving_t *sv, int replica);
double cpn_serving_weight_bytes(const cpn_serving_t *sv, int replica);

/* The replicas of (site, model): how many, and the k-th one's index. */
int cpn_serving_group_size(const cpn_serving_t *sv, int site, int model);
int cpn_serving_group_replica(const cpn_serving_t *sv, int site, int model, int k);
int cpn_serving_queue_len(const cpn_serving_t *sv, int site, int model);
/* TTFT SLO misses of (site, model) since the last call. */
double cpn_serving_take_slo_misses(cpn_serving_t *sv, int site, int model);

/* Life cycle (fleet): load starts, load done (serves what waits), drain (unload when idle), unload. */
void cpn_serving_load_start(cpn_serving_t *sv, int replica);
void cpn_serving_load_done(cpn_serving_t *sv, int replica);
void cpn_serving_drain(cpn_serving_t *sv, int replica);
void cpn_serving_unload(cpn_serving_t *sv, int replica);

/* Sampling: brings the replica's accumulators to now, then its batch, power (W) and KV tokens in use
 * (0 when its capacity is infinite). */
void cpn_serving_advance(cpn_serving_t *sv, int replica);
void cpn_serving_figures(const cpn_serving_t *sv, int replica, int *batch, double *power_w, double *kv_tokens);
double cpn_serving_site_kv_cap(const cpn_serving_t *sv, int site);

/* Totals at the end: accelerator-seconds busy per site (added to busy_accel_s[site]), preemptions. */
void cpn_serving_busy_accel_s(const cpn_serving_t *sv, double *busy_accel_s);
long cpn_serving_preemptions(const cpn_serving_t *sv);
/* Accelerator (IT) energy of one replica so far, as of its last advance: in all, and the part drawn with
 * nothing in service (idle or loading). The rest is what the scheduler shares out among the requests it
 * serves (each request's share of its batch), so per-request energies + idle = total. */
void cpn_serving_energy_j(const cpn_serving_t *sv, int replica, double *total_j, double *idle_j);

/* Prefix caching (requests with block hashes, prefix_cache.h): the prompt tokens of q the best ready
 * replica of its model at `site` holds in its cache now (0 without hashes); per replica, its requests
 * with hashes (first admissions), their prompt and cached tokens, and the blocks it evicted. */
double cpn_serving_prefix_tokens(const cpn_serving_t *sv, const cpn_req_t *q, int site);
void cpn_serving_prefix_stats(const cpn_serving_t *sv, int replica, double *requests, double *prompt_tokens,
                              double *cached_tokens, double *evictions);

/* Adapter loads (a replica loading an adapter that was not resident), all replicas so far. */
long cpn_serving_adapter_loads(const cpn_serving_t *sv);

/* Faults (sim/faults): the site fails; its replicas' schedulers restart empty and its queues are emptied
 * (the requests that were there are the fault stage's to retry or end: it finds them on the live list).
 * Replicas keep their life-cycle state. */
void cpn_serving_site_fail(cpn_serving_t *sv, int site);
/* A request leaves the serving stage for good or for another site: its serving bookkeeping is cleared
 * (a preempted request's progress is lost with its KV). */
void cpn_serving_forget(cpn_req_t *q);

#endif
