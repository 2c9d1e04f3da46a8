/* cpn_hist: a log-bucketed histogram of non-negative values (latencies) for percentiles in bounded
 * memory: the run's summary keeps one per group and metric instead of every request's values.
 *
 * Buckets are read off the IEEE-754 bits: the exponent and the top CPN_HIST_BITS bits of the mantissa,
 * so a bucket spans a relative width of 2^-CPN_HIST_BITS (0.195%) and its midpoint is within
 * CPN_HIST_REL_ERR (0.098%) of any value in it. Values below 1e-9 (and zero) share one bucket valued 0.
 * Memory grows with the range of values seen (about 1,700 buckets of 8 bytes per decade), never with
 * their number; adding a value is O(1) unless the range grows.
 *
 * Percentiles follow cpn_metric_percentile's rule (linear interpolation between closest ranks, numpy's
 * default) applied to the bucket midpoints, so each is within CPN_HIST_REL_ERR of the exact percentile
 * of the same values. Pure: libc only. */
#ifndef CPN_MODELS_CPN_HIST_H
#define CPN_MODELS_CPN_HIST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CPN_HIST_BITS 9
#define CPN_HIST_REL_ERR 0.00098

typedef struct {
  uint64_t *counts;   /* buckets lo .. lo + n - 1 */
  int64_t lo;
  size_t n;
  uint64_t zeros;     /* values below 1e-9 */
  uint64_t total;
} cpn_hist_t;

void cpn_hist_init(cpn_hist_t *h);
void cpn_hist_destroy(cpn_hist_t *h);
/* Adds a value (NaN and negative values are ignored: latencies are >= 0). Returns 0, or -1 when out of
 * memory (the histogram is unchanged). The common case (a value in the range already held) is inline. */
int cpn_hist_add_slow(cpn_hist_t *h, double x);
static inline int cpn_hist_add(cpn_hist_t *h, double x)
{
  if (x >= 1e-9 && x <= 1.7976931348623157e308) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    int64_t i = (int64_t)(b >> (52 - CPN_HIST_BITS)) - h->lo;
    if (i >= 0 && (uint64_t)i < h->n) {
      h->counts[i]++;
      h->total++;
      return 0;
    }
  }
  return cpn_hist_add_slow(h, x);
}
/* The q-quantile (0 <= q <= 1), NaN when empty. Cost: O(buckets). */
double cpn_hist_quantile(const cpn_hist_t *h, double q);
/* Bytes held (for the memory budget). */
size_t cpn_hist_bytes(const cpn_hist_t *h);

#endif
