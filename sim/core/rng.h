/* rng: random streams and discrete choices. One master seed derives independent GSL streams by id
 * (splitmix64), so that adding draws to one stream (a policy's tie-breaks) never changes another (the
 * workload). The stream ids in use are listed here so that no two modules share one. */
#ifndef CPN_CORE_RNG_H
#define CPN_CORE_RNG_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

enum {
  CPN_STREAM_ARRIVALS = 0,          /* + origin index: one stream per origin */
  CPN_STREAM_TOKENS = 1000000,      /* classes, tenants, models and token counts */
  CPN_STREAM_POLICY = 2000000,      /* policy tie-breaks */
  CPN_STREAM_TRACE_ASSIGN = 3000000, /* origins, tenants, models for trace rows that lack them */
  CPN_STREAM_TRACE_READER = 4000000, /* the trace reader's own thinning and looping */
  CPN_STREAM_FAULTS = 5000000,       /* + fault index: random failure and repair times of each fault */
  CPN_STREAM_CLASS_ARRIVALS = 6000000, /* + class index: a class's own process (classes[].schedule) and origins */
  CPN_STREAM_ADAPTERS = 7000000,     /* the adapter (LoRA) each generated request asks for */
  CPN_STREAM_SYSTEM_PROMPTS = 8000000 /* the shared system prompt each generated request starts with */
};

/* A seed for stream `id` derived from the master seed (never 0). */
unsigned long cpn_rng_seed(unsigned long master, unsigned long id);
/* A Mersenne Twister stream seeded with cpn_rng_seed(master, id), or NULL (out of memory). */
gsl_rng *cpn_rng_stream(unsigned long master, unsigned long id);

/* Index of the first cdf[i] above u (cdf ascending, last entry 1); n - 1 when none is. Cost: O(n). */
int cpn_rng_pick(const double *cdf, int n, double u);
/* The cumulative distribution of n weights read with a stride (bytes) from w; equal weights when they
 * sum to 0. The caller frees it; NULL when out of memory. */
double *cpn_rng_cdf(const double *w, size_t stride, int n);

#endif
