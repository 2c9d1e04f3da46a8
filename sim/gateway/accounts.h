/* accounts: the limits of the accounts behind the gateway: token quotas per period, request-rate limits
 * (token buckets) and the counts that go into the per-account usage table (/accounts).
 *
 * A tenant is one account, or a plan of tenants[].subscribers accounts (subscribers of an operator whose
 * phone subscription is also an AI account): then each request belongs to one subscriber, drawn from a
 * bounded Zipf law of exponent subscriber_zipf_s over ranks 1..N by a hash of (seed, request id) (the
 * continuous approximation: rank = floor(((N^(1-s) - 1) u + 1)^(1/(1-s))), floor(N^u) for s = 1), so the
 * draw uses no stream of the simulation's random numbers, and every limit applies to each subscriber.
 *
 * Owns: per-account state, compact (16 bytes an account: tokens used this period, the period, the
 * bucket's level and time as floats), so a million subscribers take 16 MB; per-tenant counts. */
#ifndef CPN_GATEWAY_ACCOUNTS_H
#define CPN_GATEWAY_ACCOUNTS_H

#include <stdint.h>

#include "config/scenario.h"
#include "core/error.h"
#include "output/output.h"

typedef struct cpn_accounts cpn_accounts_t;

/* Refuses plans whose state would exceed CPN_ACCOUNTS_MAX_BYTES. */
#define CPN_ACCOUNTS_MAX_BYTES 2e9

cpn_err_t cpn_accounts_new(cpn_accounts_t **out, const cpn_scenario_t *sc);
void cpn_accounts_free(cpn_accounts_t *ac);
/* Whether any tenant has a limit (else the gateway never asks). */
int cpn_accounts_limited(const cpn_accounts_t *ac);
/* The subscriber (0-based rank) a request of this tenant belongs to; 0 for a one-account tenant. */
long cpn_accounts_subscriber(const cpn_accounts_t *ac, int tenant, uint64_t request_id);
/* Admits (1: charges its tokens to the quota and a request to the bucket) or refuses (0) a request of
 * `tokens` prompt + output tokens at time now_s. */
int cpn_accounts_admit(cpn_accounts_t *ac, int tenant, uint64_t request_id, double tokens, double now_s);
/* /accounts: per tenant, subscribers, subscribers seen, admitted and refused requests (quota, rate),
 * tokens admitted. */
cpn_err_t cpn_accounts_write(const cpn_accounts_t *ac, cpn_output_t *o);

#endif
