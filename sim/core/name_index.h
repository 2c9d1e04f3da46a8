/* name_index: a hash table from names (NUL-terminated strings) to non-negative ints, for the loader's and
 * the topology's name lookups, which were linear scans: quadratic over a 100,000-site topology.
 *
 * Owns its slot array only: the keys are borrowed, and must stay unchanged while the index is used.
 * Invariants: open addressing with linear probing, at most half the slots used (so a probe ends at an
 * empty slot); a name is held once, with the value it was first put with. */
#ifndef CPN_CORE_NAME_INDEX_H
#define CPN_CORE_NAME_INDEX_H

typedef struct cpn_name_index cpn_name_index_t;

/* An empty index sized for about `expected` names (it grows as needed); NULL when out of memory. */
cpn_name_index_t *cpn_name_index_new(int expected);
void cpn_name_index_free(cpn_name_index_t *ix);
/* Puts name -> value (value >= 0) unless the name is there: returns -1 when it was put, the value held
 * when the name was already there, -2 when out of memory. */
int cpn_name_index_put(cpn_name_index_t *ix, const char *name, int value);
/* The value of `name`, -1 when absent. Expected O(1). */
int cpn_name_index_get(const cpn_name_index_t *ix, const char *name);

#endif
