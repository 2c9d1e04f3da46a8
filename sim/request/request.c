/* request: the request pool (see request.h). Owns the slabs, the free list and the buffers of
 * cpn_reqs_select. Invariant: a slot is on the free list exactly when its pool_seq is 0. */
#include "request/request.h"

#include <stdlib.h>
#include <string.h>

#include "core/hugemem.h"

/* Slabs of 4 MiB on huge pages where the kernel offers them (core/hugemem.h): requests in flight are
 * touched at random. */
#define SLAB_BYTES (UINT64_C(4) << 20)
#define POOL_SLAB (SLAB_BYTES / sizeof(cpn_req_t))

struct cpn_reqs {
  cpn_req_t *free;
  cpn_req_t **slabs;
  size_t n_slabs;
  uint64_t seq;   /* the last pool_seq given */
  size_t n_live, peak;
  struct sel { uint64_t seq; cpn_req_t *q; } *sel; /* cpn_reqs_select's buffers */
  cpn_req_t **out;
  size_t cap_sel;
};

cpn_err_t cpn_reqs_new(cpn_reqs_t **out)
{
  cpn_reqs_t *p = calloc(1, sizeof *p);
  if (!p)
    return cpn_error_set(CPN_ENOMEM, "requests: out of memory");
  *out = p;
  return CPN_OK;
}

void cpn_reqs_free(cpn_reqs_t *p)
{
  if (!p)
    return;
  for (size_t i = 0; i < p->n_slabs; i++) {
    for (size_t k = 0; k < POOL_SLAB; k++)
      free(p->slabs[i][k].prefix.ids);
    free(p->slabs[i]);
  }
  free(p->slabs);
  free(p->sel);
  free(p->out);
  free(p);
}

cpn_req_t *cpn_reqs_alloc(cpn_reqs_t *p)
{
  if (!p->free) {
    cpn_req_t *slab = cpn_huge_calloc(POOL_SLAB * sizeof *slab);
    cpn_req_t **slabs = realloc(p->slabs, (p->n_slabs + 1) * sizeof *slabs);
    if (slabs)
      p->slabs = slabs;
    if (!slab || !slabs) {
      free(slab);
      return NULL;
    }
    p->slabs[p->n_slabs++] = slab;
    for (size_t i = 0; i < POOL_SLAB; i++) {
      slab[i].next = p->free;
      p->free = &slab[i];
    }
  }
  cpn_req_t *q = p->free;
  p->free = q->next;
  uint64_t *ids = q->prefix.ids; /* the slot's hash buffer outlives its requests */
  int cap = q->prefix.cap;
  memset(q, 0, sizeof *q);
  q->prefix.ids = ids;
  q->prefix.cap = cap;
  q->pool_seq = ++p->seq;
  if (++p->n_live > p->peak)
    p->peak = p->n_live;
  return q;
}

cpn_err_t cpn_reqs_set_prefix(cpn_req_t *q, const uint64_t *ids, int n)
{
  q->prefix.n = 0;
  if (n > q->prefix.cap) {
    uint64_t *b = realloc(q->prefix.ids, (size_t)n * sizeof *b);
    if (!b)
      return cpn_error_set(CPN_ENOMEM, "requests: out of memory (block hashes)");
    q->prefix.ids = b;
    q->prefix.cap = n;
  }
  if (n > 0)
    memcpy(q->prefix.ids, ids, (size_t)n * sizeof *ids);
  q->prefix.n = n;
  return CPN_OK;
}

void cpn_reqs_release(cpn_reqs_t *p, cpn_req_t *q)
{
  q->pool_seq = 0;
  q->next = p->free;
  p->free = q;
  p->n_live--;
}

static int newest_first(const void *a, const void *b)
{
  uint64_t x = ((const struct sel *)a)->seq, y = ((const struct sel *)b)->seq;
  return (x < y) - (x > y);
}

size_t cpn_reqs_select(cpn_reqs_t *p, int (*keep)(const cpn_req_t *q, void *ctx), void *ctx, cpn_req_t ***out)
{
  size_t n = 0;
  for (size_t i = 0; i < p->n_slabs; i++)
    for (size_t k = 0; k < POOL_SLAB; k++) {
      cpn_req_t *q = &p->slabs[i][k];
      if (!q->pool_seq || (keep && !keep(q, ctx)))
        continue;
      if (n == p->cap_sel) {
        size_t cap = p->cap_sel ? 2 * p->cap_sel : 256;
        struct sel *v = realloc(p->sel, cap * sizeof *v);
        if (v)
          p->sel = v;
        cpn_req_t **o = v ? realloc(p->out, cap * sizeof *o) : NULL;
        if (o)
          p->out = o;
        if (!v || !o)
          return (size_t)-1;
        p->cap_sel = cap;
      }
      p->sel[n++] = (struct sel){.seq = q->pool_seq, .q = q};
    }
  if (n > 1)
    qsort(p->sel, n, sizeof *p->sel, newest_first);
  for (size_t i = 0; i < n; i++)
    p->out[i] = p->sel[i].q;
  *out = p->out;
  return n;
}

int cpn_reqs_empty(const cpn_reqs_t *p) { return p->n_live == 0; }
size_t cpn_reqs_live(const cpn_reqs_t *p) { return p->n_live; }
size_t cpn_reqs_peak(const cpn_reqs_t *p) { return p->peak; }
