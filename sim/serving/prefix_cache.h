/* prefix_cache: one replica's KV cache seen as blocks of prompt tokens, found by the hash of the prefix
 * they end (Mooncake's `hash_ids`, vLLM's automatic prefix caching), with LRU eviction of the blocks no
 * request in service holds.
 *
 * What it is for: a request whose leading blocks are cached skips their prefill. What it owns: the
 * blocks (hash, holders), a hash index on them, and the LRU list of the blocks nobody holds.
 * The memory model (vLLM's): blocks held by requests in service are part of the KV the scheduler
 * counts; blocks nobody holds keep their content in the KV memory that is free, and are evicted, least
 * recently released first, when that free memory shrinks below them (cpn_pcache_trim).
 * Invariants: a block is on the LRU list exactly when it has no holder; n_free counts that list.
 * Depends on libc only. */
#ifndef CPN_SERVING_PREFIX_CACHE_H
#define CPN_SERVING_PREFIX_CACHE_H

#include <stdint.h>

#include "core/error.h"

typedef struct cpn_pcache cpn_pcache_t;

cpn_err_t cpn_pcache_new(cpn_pcache_t **out);
void cpn_pcache_free(cpn_pcache_t *c);
/* Drops every block (the replica's KV is lost). */
void cpn_pcache_clear(cpn_pcache_t *c);

/* Leading blocks of ids[0..n-1] that are cached (held or not). No side effect. Cost O(hits + 1). */
int cpn_pcache_lookup(const cpn_pcache_t *c, const uint64_t *ids, int n);
/* A request starts with these blocks: returns its leading cached blocks, then holds all n (the missing
 * ones are added: their content is computed by the prefill it is about to run). */
cpn_err_t cpn_pcache_acquire(cpn_pcache_t *c, const uint64_t *ids, int n, int *hits);
/* The request leaves (completed or preempted): its blocks lose a holder; unheld ones become the most
 * recently used of the LRU list. Blocks no longer present (after a clear) are skipped. */
void cpn_pcache_release(cpn_pcache_t *c, const uint64_t *ids, int n);
/* Evicts unheld blocks, least recently used first, until at most free_blocks are left. */
void cpn_pcache_trim(cpn_pcache_t *c, double free_blocks);
/* Blocks now, of which unheld; blocks evicted so far. */
int cpn_pcache_blocks(const cpn_pcache_t *c);
int cpn_pcache_unheld(const cpn_pcache_t *c);
long cpn_pcache_evictions(const cpn_pcache_t *c);

#endif
