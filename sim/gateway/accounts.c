/* accounts: quotas and rate limits per account (see accounts.h). */
#include "gateway/accounts.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
  float used;      /* tokens admitted in `period` */
  float period;    /* index of the quota period of `used` (-1: none yet) */
  float level;     /* bucket level, requests */
  float t;         /* time of `level`, s */
} acct_t;

enum { A_SUBSCRIBERS, A_SEEN, A_ADMITTED, A_QUOTA, A_RATE, A_TOKENS, A_COLS };
static const char *const cols[A_COLS] = {"subscribers", "subscribers_seen", "admitted", "rejected_quota",
                                         "rejected_rate", "tokens_admitted"};

struct cpn_accounts {
  const cpn_scenario_t *sc;
  size_t *first;    /* per tenant: its first account in `acct` */
  acct_t *acct;
  double *counts;   /* per tenant, A_COLS */
  int limited;
};

static long n_accounts(const cpn_tenant_spec_t *t) { return t->subscribers > 0 ? t->subscribers : 1; }

cpn_err_t cpn_accounts_new(cpn_accounts_t **out, const cpn_scenario_t *sc)
{
  size_t total = 0;
  for (int i = 0; i < sc->n_tenants; i++)
    total += (size_t)n_accounts(&sc->tenants[i]);
  if ((double)total * sizeof(acct_t) > CPN_ACCOUNTS_MAX_BYTES)
    return cpn_error_set(CPN_EINVAL, "%s: tenants[].subscribers: %zu accounts in all would take %.1f GB (limit %.1f GB)",
                         sc->file, total, (double)total * sizeof(acct_t) / 1e9, CPN_ACCOUNTS_MAX_BYTES / 1e9);
  cpn_accounts_t *ac = calloc(1, sizeof *ac);
  if (ac) {
    ac->first = calloc((size_t)sc->n_tenants + 1, sizeof *ac->first);
    ac->acct = malloc((total ? total : 1) * sizeof *ac->acct);
    ac->counts = calloc((size_t)sc->n_tenants * A_COLS + 1, sizeof *ac->counts);
  }
  if (!ac || !ac->first || !ac->acct || !ac->counts) {
    cpn_accounts_free(ac);
    return cpn_error_set(CPN_ENOMEM, "accounts: out of memory");
  }
  ac->sc = sc;
  size_t k = 0;
  for (int i = 0; i < sc->n_tenants; i++) {
    const cpn_tenant_spec_t *t = &sc->tenants[i];
    ac->first[i] = k;
    double burst = t->rate_burst > 0 ? t->rate_burst : fmax(1.0, t->rate_limit_rps);
    for (long j = 0; j < n_accounts(t); j++)
      ac->acct[k++] = (acct_t){.used = 0, .period = -1, .level = (float)burst, .t = 0};
    ac->counts[(size_t)i * A_COLS + A_SUBSCRIBERS] = (double)n_accounts(t);
    ac->limited |= t->quota_tokens > 0 || t->rate_limit_rps > 0;
  }
  *out = ac;
  return CPN_OK;
}

void cpn_accounts_free(cpn_accounts_t *ac)
{
  if (!ac)
    return;
  free(ac->first);
  free(ac->acct);
  free(ac->counts);
  free(ac);
}

int cpn_accounts_limited(const cpn_accounts_t *ac) { return ac->limited; }

/* splitmix64: a fixed hash of (seed, request id), uniform in [0, 1). */
static double hash_u(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return (double)(x >> 11) * 0x1.0p-53;
}

long cpn_accounts_subscriber(const cpn_accounts_t *ac, int tenant, uint64_t request_id)
{
  const cpn_tenant_spec_t *t = &ac->sc->tenants[tenant];
  if (t->subscribers <= 0)
    return 0;
  double n = (double)t->subscribers, s = t->subscriber_zipf_s, u = hash_u(request_id ^ (ac->sc->run.seed << 32));
  double r = fabs(s - 1) < 1e-9 ? pow(n, u) : pow((pow(n, 1 - s) - 1) * u + 1, 1 / (1 - s));
  long rank = (long)floor(r) - 1;
  return rank < 0 ? 0 : rank >= t->subscribers ? t->subscribers - 1 : rank;
}

int cpn_accounts_admit(cpn_accounts_t *ac, int tenant, uint64_t request_id, double tokens, double now_s)
{
  const cpn_tenant_spec_t *t = &ac->sc->tenants[tenant];
  double *c = &ac->counts[(size_t)tenant * A_COLS];
  acct_t *a = &ac->acct[ac->first[tenant] + (size_t)cpn_accounts_subscriber(ac, tenant, request_id)];
  if (a->period == -1.0f) { /* first request of this account */
    c[A_SEEN] += 1;
    a->period = -0.5f;
  }
  double level = a->level;
  if (t->rate_limit_rps > 0) {
    double burst = t->rate_burst > 0 ? t->rate_burst : fmax(1.0, t->rate_limit_rps);
    level = fmin(burst, level + (now_s - a->t) * t->rate_limit_rps);
    a->t = (float)now_s;
    a->level = (float)level;
    if (level < 1) {
      c[A_RATE] += 1;
      return 0;
    }
  }
  if (t->quota_tokens > 0) {
    float period = (float)floor(now_s / t->quota_period_s);
    if (a->period != period)
      a->used = 0, a->period = period;
    if (a->used + tokens > t->quota_tokens) {
      c[A_QUOTA] += 1;
      return 0;
    }
    a->used += (float)tokens;
  }
  if (t->rate_limit_rps > 0)
    a->level = (float)(level - 1);
  c[A_ADMITTED] += 1;
  c[A_TOKENS] += tokens;
  return 1;
}

cpn_err_t cpn_accounts_write(const cpn_accounts_t *ac, cpn_output_t *o)
{
  const cpn_scenario_t *sc = ac->sc;
  const char **keys = calloc((size_t)sc->n_tenants + 1, sizeof *keys);
  if (!keys)
    return cpn_error_set(CPN_ENOMEM, "accounts: out of memory");
  for (int i = 0; i < sc->n_tenants; i++) keys[i] = sc->tenants[i].name;
  cpn_table_t t = {.path = "/accounts", .n_rows = (size_t)sc->n_tenants, .n_cols = A_COLS, .col_names = cols,
                   .keys = keys, .values = ac->counts};
  cpn_err_t err = cpn_output_table(o, &t);
  free(keys);
  return err;
}
