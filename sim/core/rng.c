/* rng: random streams and discrete choices (see rng.h). Pure functions over GSL. */
#include "core/rng.h"

#include <stdint.h>
#include <stdlib.h>

unsigned long cpn_rng_seed(unsigned long master, unsigned long stream)
{
  uint64_t z = (uint64_t)master * 0x9E3779B97F4A7C15ull + (stream + 1) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (unsigned long)(z & 0xFFFFFFFFul) | 1ul;
}

gsl_rng *cpn_rng_stream(unsigned long master, unsigned long id)
{
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (r)
    gsl_rng_set(r, cpn_rng_seed(master, id));
  return r;
}

int cpn_rng_pick(const double *cdf, int n, double u)
{
  for (int i = 0; i < n; i++)
    if (u < cdf[i])
      return i;
  return n - 1;
}

double *cpn_rng_cdf(const double *w, size_t stride, int n)
{
  double *cdf = malloc((size_t)(n > 0 ? n : 1) * sizeof *cdf), sum = 0;
  if (!cdf)
    return NULL;
  for (int i = 0; i < n; i++)
    sum += *(const double *)((const char *)w + (size_t)i * stride);
  double acc = 0;
  for (int i = 0; i < n; i++) {
    acc += *(const double *)((const char *)w + (size_t)i * stride);
    cdf[i] = sum > 0 ? acc / sum : (double)(i + 1) / n;
  }
  return cdf;
}
