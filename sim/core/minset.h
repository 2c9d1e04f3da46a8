/* minset: a set of positions 0..n-1, each with a small integer key, that finds its least (key,
 * position) in O(1) and moves a member to another key in O(1): the free replicas of a (site, model)
 * group (serving), tens of thousands of them in national-2026-full, whose key (requests in service)
 * changes by one at almost every event of theirs.
 *
 * Owns, per key in use, a bitmap of the positions with that key and a summary word per 64 words of it,
 * and a bitmap of the keys in use; levels are made on first use and kept. Memory: about n/8 bytes per
 * distinct key seen. A binary heap did the same in O(log n) with a cache miss per level at that size.
 *
 * Invariants: a position is in at most one key's bitmap; a summary bit is set exactly when its word of
 * the bitmap is not zero, and a key's bit exactly when its bitmap is not empty. */
#ifndef CPN_CORE_MINSET_H
#define CPN_CORE_MINSET_H

#include <stdint.h>

#include "core/error.h"

typedef struct {
  uint64_t *bits; /* [n_words] */
  uint64_t *sum;  /* [n_sum]: bit j of word i set when bits[64 i + j] != 0 */
  int count;
} cpn_minset_level_t;

typedef struct {
  int n, n_words, n_sum;
  cpn_minset_level_t *lv; /* [n_keys] */
  int n_keys;
  uint64_t *keys;         /* bit k set when level k is not empty; [ (n_keys + 63) / 64 ] */
  int count;
} cpn_minset_t;

/* An empty set over positions 0..n-1 (n >= 0). */
cpn_err_t cpn_minset_init(cpn_minset_t *s, int n);
void cpn_minset_free(cpn_minset_t *s);
/* Adds position pos (not a member) with key >= 0: 0, or -1 when out of memory (the set is unchanged). */
int cpn_minset_add(cpn_minset_t *s, int pos, int key);
/* Removes position pos, a member with that key. */
void cpn_minset_remove(cpn_minset_t *s, int pos, int key);
/* The member with the least key, the lowest position among equals; -1 when empty. */
int cpn_minset_min(const cpn_minset_t *s, int *key);
/* Members in order of (key, position): the first (-1 when empty) and the one after (pos, key). */
int cpn_minset_next(const cpn_minset_t *s, int pos, int key, int *next_key);

#endif
