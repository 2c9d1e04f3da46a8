/* policy_classic: the classic load-balancing policies (random, round-robin, nearest, least-loaded) and the built-in table.
 *
 * Each policy only reads the view and the request and fills a decision (no SimGrid). Candidates are
 * the engine's eligible sites (req->eligible); an empty list means a rejection. Ties are broken
 * deterministically (documented per policy) so tests can pin choices. */
#include <float.h>
#include <math.h>

#include "placement/policy.h"

static void reject(cpn_decision_t *out)
{
  out->site = -1;
  out->replica = -1;
  out->reject_reason = 0;
}

/* random: uniform among eligible sites. */
static void random_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  if (r->n_eligible == 0)
    return reject(out);
  int k = (int)(v->uniform01(v->rng) * r->n_eligible);
  if (k >= r->n_eligible)
    k = r->n_eligible - 1;
  out->site = r->eligible[k];
  out->replica = -1;
}

/* round-robin: the next eligible site after the one chosen last (by site index, wrapping). The list
 * ascends, so the next one is found by bisection. */
typedef struct { int last; } rr_state_t;

static int rr_init(void *state, const cpn_policy_params_t *params, const cpn_view_t *view)
{
  ((rr_state_t *)state)->last = -1;
  return 0;
}

static void rr_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  rr_state_t *s = state;
  if (r->n_eligible == 0)
    return reject(out);
  int lo = 0, hi = r->n_eligible; /* the first eligible site above s->last */
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (r->eligible[mid] > s->last)
      hi = mid;
    else
      lo = mid + 1;
  }
  int pick = lo < r->n_eligible ? r->eligible[lo] : r->eligible[0]; /* wrap to the lowest eligible index */
  s->last = pick;
  out->site = pick;
  out->replica = -1;
}

/* The eligible site that is lowest in (primary, secondary) order, latency and load being the two keys;
 * remaining ties go to the lower site index. Fills the decision with the primary key as its score. */
static void pick_lowest(const cpn_view_t *v, const cpn_request_view_t *r, int latency_first, cpn_decision_t *out)
{
  if (r->n_eligible == 0)
    return reject(out);
  int best = -1;
  double best_a = INFINITY, best_b = INFINITY;
  for (int i = 0; i < r->n_eligible; i++) {
    int s = r->eligible[i];
    double lat = cpn_view_latency(v, r, s), load = cpn_view_load(v, r, s);
    double a = latency_first ? lat : load, b = latency_first ? load : lat;
    if (a < best_a || (a == best_a && b < best_b)) {
      best = s;
      best_a = a;
      best_b = b;
    }
  }
  out->site = best;
  out->replica = -1;
  out->score = best_a;
}

/* With the engine's site index (req->index), the same choices as pick_lowest without a look at every
 * eligible site. */

/* Lowest (latency, load, site): the sites in (latency, site) order, from the first while the latency is
 * the first's; the lower load wins, the earlier (lower site) of equal loads. O(sites at that latency).
 * -1: the latency order is not ready (scan). */
int cpn_policy_nearest_indexed(const cpn_view_t *v, const cpn_request_view_t *r)
{
  const cpn_site_index_t *ix = r->index;
  if (!ix->latency_ready(ix->ctx))
    return -1;
  int best = ix->by_latency(ix->ctx, 0);
  double lat0 = cpn_view_latency(v, r, best), best_load = cpn_view_load(v, r, best);
  for (int k = 1;; k++) {
    int s = ix->by_latency(ix->ctx, k);
    if (s < 0 || cpn_view_latency(v, r, s) != lat0)
      break;
    double load = cpn_view_load(v, r, s);
    if (load < best_load) {
      best = s;
      best_load = load;
    }
  }
  return best;
}

/* Lowest (load, latency, site). The lowest load comes from the index; among the `count` sites that have
 * it, few are compared directly (count x log n), and with many the first of them in (latency, site) order
 * is the answer and comes after about n / count looks. Up to 128 tied sites (while count^2 <= n) are
 * compared directly: at 10,000 sites, with 32, least-loaded read origins' latency orders to rank 300 and
 * past, and building those orders was a tenth of the time per request. -1: the latency order is not
 * ready (scan). */
int cpn_policy_least_loaded_indexed(const cpn_view_t *v, const cpn_request_view_t *r)
{
  enum { FEW = 128 };
  const cpn_site_index_t *ix = r->index;
  int count;
  double low = ix->min_load(ix->ctx, &count);
  if (count <= FEW && count * count <= r->n_eligible) {
    int tied[FEW];
    int k = ix->min_load_sites(ix->ctx, tied, FEW), best = tied[0];
    double best_lat = cpn_view_latency(v, r, best);
    for (int i = 1; i < k; i++) {
      double lat = cpn_view_latency(v, r, tied[i]);
      if (lat < best_lat) {
        best = tied[i];
        best_lat = lat;
      }
    }
    return best;
  }
  if (!ix->latency_ready(ix->ctx))
    return -1;
  for (int k = 0;; k++) {
    int s = ix->by_latency(ix->ctx, k);
    if (s < 0 || cpn_view_load(v, r, s) == low)
      return s;
  }
}

/* nearest: lowest one-way route latency from the request's origin; ties go to the lower load. */
static void nearest_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  int s = r->index && r->n_eligible > 0 ? cpn_policy_nearest_indexed(v, r) : -1;
  if (s >= 0) {
    out->site = s;
    out->replica = -1;
    out->score = cpn_view_latency(v, r, s);
    return;
  }
  pick_lowest(v, r, 1, out);
}

/* least-loaded: fewest queued tokens per replica of the request's model; ties go to the lower latency. */
static void least_loaded_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  int s = r->index && r->n_eligible > 0 ? cpn_policy_least_loaded_indexed(v, r) : -1;
  if (s >= 0) {
    out->site = s;
    out->replica = -1;
    out->score = cpn_view_load(v, r, s);
    return;
  }
  pick_lowest(v, r, 0, out);
}

/* Scores for the decision trace (lower is better): what each policy compares. */
static double nearest_score(void *state, const cpn_view_t *v, const cpn_request_view_t *r, int site)
{
  return cpn_view_latency(v, r, site);
}

static double load_score(void *state, const cpn_view_t *v, const cpn_request_view_t *r, int site)
{
  return cpn_view_load(v, r, site);
}

static const cpn_policy_type_t random_type = {
  .abi = CPN_POLICY_ABI, .name = "random", .state_size = 0, .decide = random_decide};
static const cpn_policy_type_t rr_type = {
  .abi = CPN_POLICY_ABI, .name = "round-robin", .state_size = sizeof(rr_state_t), .init = rr_init, .decide = rr_decide};
static const cpn_policy_type_t nearest_type = {
  .abi = CPN_POLICY_ABI, .name = "nearest", .state_size = 0, .decide = nearest_decide, .score = nearest_score};
static const cpn_policy_type_t least_loaded_type = {
  .abi = CPN_POLICY_ABI, .name = "least-loaded", .state_size = 0, .decide = least_loaded_decide,
  .score = load_score};

const cpn_policy_type_t *const cpn_policy_builtins[] = {
  &random_type, &rr_type, &nearest_type, &least_loaded_type,
  &cpn_policy_power_of_two, &cpn_policy_jsq_latency, &cpn_policy_cost, &cpn_policy_carbon,
  &cpn_policy_east_west, &cpn_policy_weighted, &cpn_policy_prefix_aware,
};
const size_t cpn_policy_builtin_count = sizeof cpn_policy_builtins / sizeof cpn_policy_builtins[0];
