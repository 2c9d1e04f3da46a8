/* prefix_cache: a replica's cached prompt blocks (see prefix_cache.h).
 *
 * Blocks live in one array (unused slots on a free list through `chain`); a power-of-two bucket array
 * chains them by a mix of their hash; the unheld ones form a doubly linked LRU list, head = least
 * recently released. The arrays double when full, so after warm-up nothing is allocated. */
#include "serving/prefix_cache.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  uint64_t h;
  int refs;               /* requests in service holding the block; -1: the slot is unused */
  int prev, next;         /* LRU list (unheld blocks only) */
  int chain;              /* next in its bucket, or next free slot */
} blk_t;

struct cpn_pcache {
  blk_t *b;
  int cap, n;             /* slots, blocks in use */
  int free_slot;          /* head of the free-slot list, -1 when none */
  int *bucket;            /* nb heads, -1 = empty */
  int nb;
  int lru_head, lru_tail, n_free;
  long evictions;
};

static uint64_t mix(uint64_t z)
{
  z ^= z >> 33;
  z *= 0xff51afd7ed558ccdULL;
  z ^= z >> 33;
  return z;
}

static int find(const cpn_pcache_t *c, uint64_t h)
{
  if (c->nb == 0)
    return -1;
  for (int i = c->bucket[mix(h) & (uint64_t)(c->nb - 1)]; i >= 0; i = c->b[i].chain)
    if (c->b[i].h == h)
      return i;
  return -1;
}

static void lru_unlink(cpn_pcache_t *c, int i)
{
  blk_t *x = &c->b[i];
  if (x->prev >= 0) c->b[x->prev].next = x->next; else c->lru_head = x->next;
  if (x->next >= 0) c->b[x->next].prev = x->prev; else c->lru_tail = x->prev;
  c->n_free--;
}

static void lru_push_tail(cpn_pcache_t *c, int i)
{
  blk_t *x = &c->b[i];
  x->next = -1;
  x->prev = c->lru_tail;
  if (c->lru_tail >= 0) c->b[c->lru_tail].next = i; else c->lru_head = i;
  c->lru_tail = i;
  c->n_free++;
}

static void rehash(cpn_pcache_t *c)
{
  for (int k = 0; k < c->nb; k++)
    c->bucket[k] = -1;
  for (int i = 0; i < c->cap; i++)
    if (c->b[i].refs >= 0) {
      int k = (int)(mix(c->b[i].h) & (uint64_t)(c->nb - 1));
      c->b[i].chain = c->bucket[k];
      c->bucket[k] = i;
    }
}

static cpn_err_t grow(cpn_pcache_t *c)
{
  int cap = c->cap ? 2 * c->cap : 1024;
  blk_t *b = realloc(c->b, (size_t)cap * sizeof *b);
  if (!b)
    return cpn_error_set(CPN_ENOMEM, "serving: out of memory (prefix cache)");
  c->b = b;
  int *bucket = realloc(c->bucket, (size_t)(2 * cap) * sizeof *bucket);
  if (!bucket)
    return cpn_error_set(CPN_ENOMEM, "serving: out of memory (prefix cache)");
  c->bucket = bucket;
  c->nb = 2 * cap;
  for (int i = cap - 1; i >= c->cap; i--) {
    c->b[i].refs = -1;
    c->b[i].chain = c->free_slot;
    c->free_slot = i;
  }
  c->cap = cap;
  rehash(c);
  return CPN_OK;
}

static void remove_block(cpn_pcache_t *c, int i)
{
  int *at = &c->bucket[mix(c->b[i].h) & (uint64_t)(c->nb - 1)];
  while (*at != i)
    at = &c->b[*at].chain;
  *at = c->b[i].chain;
  c->b[i].refs = -1;
  c->b[i].chain = c->free_slot;
  c->free_slot = i;
  c->n--;
}

cpn_err_t cpn_pcache_new(cpn_pcache_t **out)
{
  cpn_pcache_t *c = calloc(1, sizeof *c);
  if (!c)
    return cpn_error_set(CPN_ENOMEM, "serving: out of memory (prefix cache)");
  c->free_slot = c->lru_head = c->lru_tail = -1;
  *out = c;
  return CPN_OK;
}

void cpn_pcache_free(cpn_pcache_t *c)
{
  if (!c)
    return;
  free(c->b);
  free(c->bucket);
  free(c);
}

void cpn_pcache_clear(cpn_pcache_t *c)
{
  c->free_slot = c->lru_head = c->lru_tail = -1;
  c->n = c->n_free = 0;
  for (int i = c->cap - 1; i >= 0; i--) {
    c->b[i].refs = -1;
    c->b[i].chain = c->free_slot;
    c->free_slot = i;
  }
  for (int k = 0; k < c->nb; k++)
    c->bucket[k] = -1;
}

int cpn_pcache_lookup(const cpn_pcache_t *c, const uint64_t *ids, int n)
{
  int h = 0;
  while (h < n && find(c, ids[h]) >= 0)
    h++;
  return h;
}

cpn_err_t cpn_pcache_acquire(cpn_pcache_t *c, const uint64_t *ids, int n, int *hits)
{
  *hits = cpn_pcache_lookup(c, ids, n);
  for (int k = 0; k < n; k++) {
    int i = find(c, ids[k]);
    if (i < 0) {
      if (c->free_slot < 0) {
        cpn_err_t err = grow(c);
        if (err)
          return err;
      }
      i = c->free_slot;
      c->free_slot = c->b[i].chain;
      int bk = (int)(mix(ids[k]) & (uint64_t)(c->nb - 1));
      c->b[i] = (blk_t){.h = ids[k], .refs = 0, .prev = -1, .next = -1, .chain = c->bucket[bk]};
      c->bucket[bk] = i;
      c->n++;
    } else if (c->b[i].refs == 0) {
      lru_unlink(c, i);
    }
    c->b[i].refs++;
  }
  return CPN_OK;
}

void cpn_pcache_release(cpn_pcache_t *c, const uint64_t *ids, int n)
{
  for (int k = 0; k < n; k++) {
    int i = find(c, ids[k]);
    if (i < 0 || c->b[i].refs <= 0)
      continue;
    if (--c->b[i].refs == 0)
      lru_push_tail(c, i);
  }
}

void cpn_pcache_trim(cpn_pcache_t *c, double free_blocks)
{
  while (c->n_free > 0 && c->n_free > free_blocks) {
    int i = c->lru_head;
    lru_unlink(c, i);
    remove_block(c, i);
    c->evictions++;
  }
}

int cpn_pcache_blocks(const cpn_pcache_t *c) { return c->n; }
int cpn_pcache_unheld(const cpn_pcache_t *c) { return c->n_free; }
long cpn_pcache_evictions(const cpn_pcache_t *c) { return c->evictions; }
