/* cpn_hist: log-bucketed histogram (see cpn_hist.h). Invariant: total = zeros + sum of counts. */
#include "cpn_hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ZERO_BELOW 1e-9

void cpn_hist_init(cpn_hist_t *h) { memset(h, 0, sizeof *h); }

void cpn_hist_destroy(cpn_hist_t *h)
{
  if (h)
    free(h->counts);
}

/* Bucket of a positive finite double: its bits without the sign and the low mantissa bits. Monotone in x. */
static int64_t bucket(double x)
{
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return (int64_t)(b >> (52 - CPN_HIST_BITS));
}

static double midpoint(int64_t i)
{
  uint64_t lo = (uint64_t)i << (52 - CPN_HIST_BITS), hi = (uint64_t)(i + 1) << (52 - CPN_HIST_BITS);
  double a, b;
  memcpy(&a, &lo, sizeof a);
  memcpy(&b, &hi, sizeof b);
  return 0.5 * (a + b);
}

int cpn_hist_add_slow(cpn_hist_t *h, double x)
{
  if (!(x >= 0))
    return 0;
  if (x < ZERO_BELOW || !isfinite(x)) {
    if (!isfinite(x))
      return 0;
    h->zeros++;
    h->total++;
    return 0;
  }
  int64_t i = bucket(x);
  if (h->n == 0 || i < h->lo || i >= h->lo + (int64_t)h->n) {
    int64_t lo = h->n ? (i < h->lo ? i : h->lo) : i;
    int64_t hi = h->n ? (i >= h->lo + (int64_t)h->n ? i + 1 : h->lo + (int64_t)h->n) : i + 1;
    /* Grow with a margin of a quarter octave on the side that grew, so a drifting range costs few copies. */
    int64_t margin = 1 << (CPN_HIST_BITS - 2);
    if (h->n && i < h->lo)
      lo -= margin;
    else if (h->n)
      hi += margin;
    size_t n = (size_t)(hi - lo);
    uint64_t *c = calloc(n, sizeof *c);
    if (!c)
      return -1;
    if (h->n)
      memcpy(c + (h->lo - lo), h->counts, h->n * sizeof *c);
    free(h->counts);
    h->counts = c;
    h->lo = lo;
    h->n = n;
  }
  h->counts[i - h->lo]++;
  h->total++;
  return 0;
}

/* The value of the k-th smallest (0-based) sample: its bucket's midpoint. */
static double order_stat(const cpn_hist_t *h, uint64_t k, size_t *pos, uint64_t *below)
{
  if (k < h->zeros)
    return 0.0;
  while (*pos < h->n && *below + h->counts[*pos] <= k)
    *below += h->counts[(*pos)++];
  return midpoint(h->lo + (int64_t)*pos);
}

double cpn_hist_quantile(const cpn_hist_t *h, double q)
{
  if (h->total == 0)
    return NAN;
  double rank = q * (double)(h->total - 1);
  uint64_t k = (uint64_t)floor(rank);
  double frac = rank - (double)k;
  size_t pos = 0;
  uint64_t below = h->zeros;
  double a = order_stat(h, k, &pos, &below);
  if (frac <= 0 || k + 1 >= h->total)
    return a;
  double b = order_stat(h, k + 1, &pos, &below);
  return a + frac * (b - a);
}

size_t cpn_hist_bytes(const cpn_hist_t *h) { return sizeof *h + h->n * sizeof *h->counts; }
