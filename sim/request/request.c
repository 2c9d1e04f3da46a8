/* request: the request pool (see request.h). Owns the slabs, the free list and the live list.
 * Invariant: a request is either on the free list or on the live list, never both. */
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
  cpn_req_t live; /* sentinel */
  size_t n_live, peak;
};

cpn_err_t cpn_reqs_new(cpn_reqs_t **out)
{
  cpn_reqs_t *p = calloc(1, sizeof *p);
  if (!p)
    return cpn_error_set(CPN_ENOMEM, "requests: out of memory");
  p->live.next = p->live.prev = &p->live;
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
  q->next = p->live.next;
  q->prev = &p->live;
  p->live.next->prev = q;
  p->live.next = q;
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
  q->prev->next = q->next;
  q->next->prev = q->prev;
  q->next = p->free;
  p->free = q;
  p->n_live--;
}

cpn_req_t *cpn_reqs_first(const cpn_reqs_t *p) { return p->live.next == &p->live ? NULL : p->live.next; }
cpn_req_t *cpn_reqs_next(const cpn_reqs_t *p, const cpn_req_t *q) { return q->next == &p->live ? NULL : q->next; }
int cpn_reqs_empty(const cpn_reqs_t *p) { return p->live.next == &p->live; }
size_t cpn_reqs_live(const cpn_reqs_t *p) { return p->n_live; }
size_t cpn_reqs_peak(const cpn_reqs_t *p) { return p->peak; }
