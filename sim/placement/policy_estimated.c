/* policy_estimated: the policies that score sites by estimated TTFT, cost or carbon (power-of-two, jsq-latency,
 * prefix-aware, cost, carbon, east-west, weighted). Their types are listed in the built-in table of policy_classic.c.
 *
 * Like every policy, these only read the view and the request and fill a decision (no SimGrid, no
 * allocation). Candidates are the engine's eligible sites (req->eligible, ascending); an empty list is a
 * rejection (site -1). Every comparison ends in a documented deterministic tie-break, the last one always
 * being "lower site index", which the ascending candidate list gives by keeping the first of equals.
 *
 * Shared estimates (one definition, used by several policies, so that their choices can be compared):
 *
 *   load(s)      = queued tokens of the request's model at s / loaded replicas of it  [tokens]
 *                  (the work a new request queues behind, as in least-loaded).
 *   tok_s(s)     = decode_step_s / batch  [s per token]
 *                  A decode step of decode_step_s seconds yields one token for each of `batch` batched
 *                  sequences, so one queued token holds a replica for decode_step_s / batch seconds.
 *                  Prompt tokens in the queue are charged at this decode rate too: the view does not
 *                  split queued tokens into prompt and output, and a decode token costs far more replica
 *                  time than a prefill token, so this errs on the long side. `batch` is the policy
 *                  parameter `batch` (default 16, a typical continuous-batching occupancy; must be > 0).
 *   ttft(s)      = latency(origin, s) + load(s) * tok_s(s) + prompt_tokens / 1000 * prefill_s_per_ktok
 *                  [s]: one-way route latency (upload) + queue wait + prefill of this prompt.
 *   usd_tok(s)   = energy_j_per_token * pue * price_usd_per_kwh / 3.6e6 + usd_per_hour / 3600 * tok_s(s)
 *                  [USD per output token]: facility electricity of one token plus the replica-time it
 *                  holds (1 kWh = 3.6e6 J).
 *   co2_tok(s)   = energy_j_per_token * pue * co2_g_per_kwh / 3.6e6  [g CO2 per output token].
 *
 * A request "meets its SLO" at s when ttft(s) <= req->ttft_slo_s; a request with ttft_slo_s <= 0 has no
 * TTFT SLO and every candidate meets it. */
#include <math.h>
#include <string.h>

#include "placement/policy.h"

#define BATCH_DEFAULT 16.0

/* ---- view helpers: cpn_view_model, cpn_view_latency, cpn_view_load are in policy.h ---- */

static double tok_s_of(const cpn_view_t *v, const cpn_request_view_t *r, int site, double batch)
{
  return cpn_view_model(v, site, r->model)->decode_step_s / batch;
}

static double ttft_of(const cpn_view_t *v, const cpn_request_view_t *r, int site, double batch)
{
  const cpn_model_view_t *m = cpn_view_model(v, site, r->model);
  return cpn_view_latency(v, r, site) + cpn_view_load(v, r, site) * tok_s_of(v, r, site, batch) +
         (double)r->prompt_tokens / 1000.0 * m->prefill_s_per_ktok;
}

static double usd_per_token_of(const cpn_view_t *v, const cpn_request_view_t *r, int site, double batch)
{
  const cpn_model_view_t *m = cpn_view_model(v, site, r->model);
  const cpn_site_view_t *sv = &v->sites[site];
  return m->energy_j_per_token * sv->pue * sv->price_usd_per_kwh / 3.6e6 +
         m->usd_per_hour / 3600.0 * tok_s_of(v, r, site, batch);
}

static double co2_g_per_token_of(const cpn_view_t *v, const cpn_request_view_t *r, int site)
{
  const cpn_model_view_t *m = cpn_view_model(v, site, r->model);
  const cpn_site_view_t *sv = &v->sites[site];
  return m->energy_j_per_token * sv->pue * sv->co2_g_per_kwh / 3.6e6;
}

static int meets_slo(const cpn_request_view_t *r, double ttft_s)
{
  return r->ttft_slo_s <= 0 || ttft_s <= r->ttft_slo_s;
}

static void choose(cpn_decision_t *out, int site, double score)
{
  out->site = site;
  out->replica = -1;
  out->score = score;
}

static void reject(cpn_decision_t *out)
{
  out->site = -1;
  out->replica = -1;
  out->reject_reason = 0;
}

/* Reads `batch` (> 0 and finite) into *batch; returns non-zero to refuse. */
static int read_batch(const cpn_policy_params_t *params, double *batch)
{
  double b = cpn_policy_param(params, "batch", BATCH_DEFAULT);
  if (!(b > 0) || !isfinite(b))
    return -1;
  *batch = b;
  return 0;
}

/* ---- power-of-two ---- */

/* power-of-two (power of two choices): draws two distinct eligible sites uniformly (two draws from
 * view->uniform01) and takes the one with the lower load(s); ties go to the lower route latency, then
 * the lower site index. With one eligible site it is chosen without a draw. Score: the winner's load. */
static void p2_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  int n = r->n_eligible;
  if (n == 0)
    return reject(out);
  if (n == 1)
    return choose(out, r->eligible[0], cpn_view_load(v, r, r->eligible[0]));
  int i = (int)(v->uniform01(v->rng) * n);
  if (i >= n)
    i = n - 1;
  int j = (int)(v->uniform01(v->rng) * (n - 1)); /* one of the n - 1 others */
  if (j >= n - 1)
    j = n - 2;
  if (j >= i)
    j++;
  int a = r->eligible[i < j ? i : j], b = r->eligible[i < j ? j : i]; /* a < b: site indices ascend */
  double la = cpn_view_load(v, r, a), lb = cpn_view_load(v, r, b);
  int pick_b = lb < la || (lb == la && cpn_view_latency(v, r, b) < cpn_view_latency(v, r, a));
  choose(out, pick_b ? b : a, pick_b ? lb : la);
}

/* ---- jsq-latency ---- */

typedef struct {
  double batch;
} batch_state_t;

static int batch_init(void *state, const cpn_policy_params_t *params, const cpn_view_t *view)
{
  return read_batch(params, &((batch_state_t *)state)->batch);
}

/* jsq-latency (join the shortest queue, measured in time): the lowest predicted ttft(s) (see the head
 * of this file); ties go to the lower route latency, then the lower site index. Score: the winner's
 * ttft(s) in seconds. Parameter: `batch`. */
/* With the engine's site index: the sites in (latency, site) order, stopped at the first whose latency
 * alone exceeds the best ttft so far. ttft(s) = latency + terms that are not negative (the index's lowest
 * load is checked to be >= 0; decode step and prefill times are durations), and a sum of non-negative
 * floating-point terms is never below its first, so no site after the stop can do better; sites of equal
 * ttft are compared by (latency, site) as in the scan. Returns -1 when the index cannot be used. */
static int jsq_indexed(const cpn_view_t *v, const cpn_request_view_t *r, double batch, double *best_t_out)
{
  const cpn_site_index_t *ix = r->index;
  if (!(ix->min_load(ix->ctx, NULL) >= 0) || !ix->latency_ready(ix->ctx))
    return -1;
  int best = -1;
  double best_t = INFINITY, best_lat = INFINITY;
  for (int k = 0;; k++) {
    int s = ix->by_latency(ix->ctx, k);
    if (s < 0)
      break;
    double lat = cpn_view_latency(v, r, s);
    if (best >= 0 && lat > best_t)
      break;
    double t = ttft_of(v, r, s, batch);
    if (best < 0 || t < best_t || (t == best_t && (lat < best_lat || (lat == best_lat && s < best)))) {
      best = s;
      best_t = t;
      best_lat = lat;
    }
  }
  *best_t_out = best_t;
  return best;
}

static void jsq_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  const batch_state_t *st = state;
  if (r->n_eligible == 0)
    return reject(out);
  double t_ix;
  int s_ix = r->index ? jsq_indexed(v, r, st->batch, &t_ix) : -1;
  if (s_ix >= 0)
    return choose(out, s_ix, t_ix);
  int best = -1;
  double best_t = INFINITY, best_lat = INFINITY;
  for (int i = 0; i < r->n_eligible; i++) {
    int s = r->eligible[i];
    double t = ttft_of(v, r, s, st->batch), lat = cpn_view_latency(v, r, s);
    if (best < 0 || t < best_t || (t == best_t && lat < best_lat)) {
      best = s;
      best_t = t;
      best_lat = lat;
    }
  }
  choose(out, best, best_t);
}

/* ---- prefix-aware ---- */

/* prefix-aware (cache-aware routing, the idea of Mooncake's conductor and llm-d's prefix-aware scorer):
 * jsq-latency's ttft(s) with the prompt's cached tokens at s taken off its prefill,
 *     ttft(s) - cached_tokens(s) / 1000 * prefill_s_per_ktok,
 * so a site that holds a long prefix wins as long as its queue wait does not cost more than the prefill
 * it saves (the bound by load). Without block hashes (req->cached_tokens NULL) it is jsq-latency. Ties
 * go to the lower route latency, then the lower site index. Score: the winner's estimate in seconds.
 * Parameter: `batch`. */
static void prefix_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  const batch_state_t *st = state;
  if (r->n_eligible == 0)
    return reject(out);
  if (!r->cached_tokens)
    return jsq_decide(state, v, r, out);
  int best = -1;
  double best_t = INFINITY, best_lat = INFINITY;
  for (int i = 0; i < r->n_eligible; i++) {
    int s = r->eligible[i];
    double t = ttft_of(v, r, s, st->batch), lat = cpn_view_latency(v, r, s);
    if (r->cached_tokens)
      t -= r->cached_tokens[s] / 1000.0 * cpn_view_model(v, s, r->model)->prefill_s_per_ktok;
    if (best < 0 || t < best_t || (t == best_t && lat < best_lat)) {
      best = s;
      best_t = t;
      best_lat = lat;
    }
  }
  choose(out, best, best_t);
}

/* ---- cost and carbon ---- */

/* The shared rule of cost and carbon: among candidates that meet the SLO, the lowest metric(s); ties go
 * to the lower ttft(s), then the lower site index. When no candidate meets the SLO, the lowest ttft(s)
 * (the best chance to come close), ties to the lower site index. Score: the chosen site's metric. */
static void cheapest_meeting_slo(const cpn_view_t *v, const cpn_request_view_t *r, double batch,
                                 double (*metric)(const cpn_view_t *, const cpn_request_view_t *, int, double),
                                 cpn_decision_t *out)
{
  if (r->n_eligible == 0)
    return reject(out);
  int best = -1, fastest = -1;
  double best_m = INFINITY, best_t = INFINITY, fastest_t = INFINITY;
  for (int i = 0; i < r->n_eligible; i++) {
    int s = r->eligible[i];
    double t = ttft_of(v, r, s, batch);
    if (fastest < 0 || t < fastest_t) {
      fastest = s;
      fastest_t = t;
    }
    if (!meets_slo(r, t))
      continue;
    double m = metric(v, r, s, batch);
    if (best < 0 || m < best_m || (m == best_m && t < best_t)) {
      best = s;
      best_m = m;
      best_t = t;
    }
  }
  int pick = best >= 0 ? best : fastest;
  choose(out, pick, best >= 0 ? best_m : metric(v, r, pick, batch));
}

static double usd_metric(const cpn_view_t *v, const cpn_request_view_t *r, int s, double batch)
{
  return usd_per_token_of(v, r, s, batch);
}

static double co2_metric(const cpn_view_t *v, const cpn_request_view_t *r, int s, double batch)
{
  return co2_g_per_token_of(v, r, s);
}

/* cost: the lowest usd_tok(s) among candidates meeting the SLO (rule above). Parameter: `batch`. */
static void cost_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  cheapest_meeting_slo(v, r, ((const batch_state_t *)state)->batch, usd_metric, out);
}

/* carbon: the lowest co2_tok(s) among candidates meeting the SLO (rule above). Parameter: `batch` (for
 * the TTFT estimate only). */
static void carbon_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  cheapest_meeting_slo(v, r, ((const batch_state_t *)state)->batch, co2_metric, out);
}

/* ---- east-west ---- */

/* The western hubs of China's "East Data, West Computing" programme; any region whose name starts with
 * "west" also counts as western, so scenarios can mark other sites. */
static const char *const western_regions[] = {"inner-mongolia", "guizhou", "gansu", "ningxia"};

static int is_western(const cpn_site_view_t *sv)
{
  if (!sv->region)
    return 0;
  if (strncmp(sv->region, "west", 4) == 0)
    return 1;
  for (size_t i = 0; i < sizeof western_regions / sizeof western_regions[0]; i++)
    if (strcmp(sv->region, western_regions[i]) == 0)
      return 1;
  return 0;
}

typedef struct {
  double full_tokens;   /* a western site is full above this load(s) [tokens per replica] */
  double full_kv_frac;  /* ... or above this KV-cache use */
} ew_state_t;

static int ew_init(void *state, const cpn_policy_params_t *params, const cpn_view_t *view)
{
  ew_state_t *st = state;
  st->full_tokens = cpn_policy_param(params, "full_tokens", 200000.0);
  st->full_kv_frac = cpn_policy_param(params, "full_kv_frac", 0.95);
  if (!(st->full_tokens >= 0) || !(st->full_kv_frac >= 0))
    return -1;
  return 0;
}

/* Least-loaded among eligible sites for which keep(site) holds: lowest load(s), ties to the lower route
 * latency, then the lower site index. Returns -1 when none is kept. */
static int least_loaded_where(const cpn_view_t *v, const cpn_request_view_t *r, const ew_state_t *st,
                              int (*keep)(const cpn_view_t *, const cpn_request_view_t *, const ew_state_t *, int),
                              double *load_out)
{
  int best = -1;
  double best_load = INFINITY, best_lat = INFINITY;
  for (int i = 0; i < r->n_eligible; i++) {
    int s = r->eligible[i];
    if (keep && !keep(v, r, st, s))
      continue;
    double load = cpn_view_load(v, r, s), lat = cpn_view_latency(v, r, s);
    if (best < 0 || load < best_load || (load == best_load && lat < best_lat)) {
      best = s;
      best_load = load;
      best_lat = lat;
    }
  }
  *load_out = best_load;
  return best;
}

static int west_not_full(const cpn_view_t *v, const cpn_request_view_t *r, const ew_state_t *st, int s)
{
  const cpn_site_view_t *sv = &v->sites[s];
  return is_western(sv) && cpn_view_load(v, r, s) <= st->full_tokens && sv->kv_used_frac <= st->full_kv_frac;
}

static int not_west(const cpn_view_t *v, const cpn_request_view_t *r, const ew_state_t *st, int s)
{
  return !is_western(&v->sites[s]);
}

/* east-west ("East Data, West Computing"): a request of the class named "batch" goes to the
 * least-loaded western site that is not full (full: load(s) > full_tokens, default 200000, or
 * kv_used_frac > full_kv_frac, default 0.95); when every eligible western site is full, or none is
 * eligible, to the least-loaded non-western site; when there is none either, to the least-loaded
 * eligible site (a full western one: queueing beats rejecting). Least-loaded ties go to the lower route
 * latency, then the lower site index. Score: the chosen site's load(s).
 * Every other request (interactive, edge, ...) goes to the nearest site: lowest route latency, ties to
 * the lower load(s), then the lower site index. Score: the latency in seconds. */
static void ew_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  const ew_state_t *st = state;
  if (r->n_eligible == 0)
    return reject(out);
  if (r->class_name && strcmp(r->class_name, "batch") == 0) {
    double load;
    int s = least_loaded_where(v, r, st, west_not_full, &load);
    if (s < 0)
      s = least_loaded_where(v, r, st, not_west, &load);
    if (s < 0)
      s = least_loaded_where(v, r, st, NULL, &load);
    return choose(out, s, load);
  }
  int s_ix = r->index ? cpn_policy_nearest_indexed(v, r) : -1;
  if (s_ix >= 0)
    return choose(out, s_ix, cpn_view_latency(v, r, s_ix));
  int best = -1;
  double best_lat = INFINITY, best_load = INFINITY;
  for (int i = 0; i < r->n_eligible; i++) {
    int s = r->eligible[i];
    double lat = cpn_view_latency(v, r, s), load = cpn_view_load(v, r, s);
    if (best < 0 || lat < best_lat || (lat == best_lat && load < best_load)) {
      best = s;
      best_lat = lat;
      best_load = load;
    }
  }
  choose(out, best, best_lat);
}

/* ---- weighted ---- */

typedef struct {
  double w_latency, w_load, w_cost, w_carbon;
  double batch;
} weighted_state_t;

/* Reads the weights (defaults 1, 1, 0, 0) and `batch`; refuses a negative or non-finite weight. All-zero
 * weights are accepted: every score is then 0 and the tie-break (nearest) decides. */
static int weighted_init(void *state, const cpn_policy_params_t *params, const cpn_view_t *view)
{
  weighted_state_t *st = state;
  st->w_latency = cpn_policy_param(params, "w_latency", 1.0);
  st->w_load = cpn_policy_param(params, "w_load", 1.0);
  st->w_cost = cpn_policy_param(params, "w_cost", 0.0);
  st->w_carbon = cpn_policy_param(params, "w_carbon", 0.0);
  const double w[4] = {st->w_latency, st->w_load, st->w_cost, st->w_carbon};
  for (int i = 0; i < 4; i++)
    if (!(w[i] >= 0) || !isfinite(w[i]))
      return -1;
  return read_batch(params, &st->batch);
}

/* x / max, or 0 when max is 0 (every candidate is 0 on that criterion, so it cannot discriminate). */
static double norm(double x, double max) { return max > 0 ? x / max : 0.0; }

/* weighted: score(s) = w_latency * latency(s) / max latency + w_load * load(s) / max load
 *                    + w_cost * usd_tok(s) / max usd_tok + w_carbon * co2_tok(s) / max co2_tok,
 * each maximum taken over the eligible candidates of this request (division by the maximum, not
 * min-max: it keeps ratios, so a site 5% slower than another scores 5% worse rather than the whole
 * range, and a single candidate is well defined). Lowest score wins; ties go to the lower route latency,
 * then the lower site index. Score: the winner's score. Parameters: w_latency, w_load, w_cost,
 * w_carbon (defaults 1, 1, 0, 0; non-negative), batch (for usd_tok). */
static void weighted_decide(void *state, const cpn_view_t *v, const cpn_request_view_t *r, cpn_decision_t *out)
{
  const weighted_state_t *st = state;
  if (r->n_eligible == 0)
    return reject(out);
  double max_lat = 0, max_load = 0, max_usd = 0, max_co2 = 0;
  for (int i = 0; i < r->n_eligible; i++) {
    int s = r->eligible[i];
    max_lat = fmax(max_lat, cpn_view_latency(v, r, s));
    max_load = fmax(max_load, cpn_view_load(v, r, s));
    max_usd = fmax(max_usd, usd_per_token_of(v, r, s, st->batch));
    max_co2 = fmax(max_co2, co2_g_per_token_of(v, r, s));
  }
  int best = -1;
  double best_score = INFINITY, best_lat = INFINITY;
  for (int i = 0; i < r->n_eligible; i++) {
    int s = r->eligible[i];
    double lat = cpn_view_latency(v, r, s);
    double score = st->w_latency * norm(lat, max_lat) + st->w_load * norm(cpn_view_load(v, r, s), max_load) +
                   st->w_cost * norm(usd_per_token_of(v, r, s, st->batch), max_usd) +
                   st->w_carbon * norm(co2_g_per_token_of(v, r, s), max_co2);
    if (best < 0 || score < best_score || (score == best_score && lat < best_lat)) {
      best = s;
      best_score = score;
      best_lat = lat;
    }
  }
  choose(out, best, best_score);
}

/* ---- types ---- */

const cpn_policy_type_t cpn_policy_power_of_two = {
  .abi = CPN_POLICY_ABI, .name = "power-of-two", .state_size = 0, .decide = p2_decide};
const cpn_policy_type_t cpn_policy_jsq_latency = {
  .abi = CPN_POLICY_ABI, .name = "jsq-latency", .state_size = sizeof(batch_state_t), .init = batch_init,
  .decide = jsq_decide};
const cpn_policy_type_t cpn_policy_prefix_aware = {
  .abi = CPN_POLICY_ABI, .name = "prefix-aware", .state_size = sizeof(batch_state_t), .init = batch_init,
  .decide = prefix_decide};
const cpn_policy_type_t cpn_policy_cost = {
  .abi = CPN_POLICY_ABI, .name = "cost", .state_size = sizeof(batch_state_t), .init = batch_init,
  .decide = cost_decide};
const cpn_policy_type_t cpn_policy_carbon = {
  .abi = CPN_POLICY_ABI, .name = "carbon", .state_size = sizeof(batch_state_t), .init = batch_init,
  .decide = carbon_decide};
const cpn_policy_type_t cpn_policy_east_west = {
  .abi = CPN_POLICY_ABI, .name = "east-west", .state_size = sizeof(ew_state_t), .init = ew_init,
  .decide = ew_decide};
const cpn_policy_type_t cpn_policy_weighted = {
  .abi = CPN_POLICY_ABI, .name = "weighted", .state_size = sizeof(weighted_state_t), .init = weighted_init,
  .decide = weighted_decide};
