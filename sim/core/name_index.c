/* name_index: hash table of borrowed names to ints (see name_index.h). FNV-1a hashing, linear probing,
 * the table doubled when half full. */
#include "core/name_index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *name; /* NULL: empty slot */
  int value;
} slot_t;

struct cpn_name_index {
  slot_t *slots;
  size_t cap, used; /* cap: a power of two */
};

static uint64_t hash(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static slot_t *find(slot_t *slots, size_t cap, const char *name)
{
  size_t i = (size_t)hash(name) & (cap - 1);
  while (slots[i].name && strcmp(slots[i].name, name) != 0)
    i = (i + 1) & (cap - 1);
  return &slots[i];
}

cpn_name_index_t *cpn_name_index_new(int expected)
{
  cpn_name_index_t *ix = calloc(1, sizeof *ix);
  if (!ix)
    return NULL;
  ix->cap = 16;
  while (expected > 0 && ix->cap < 2 * (size_t)expected + 2)
    ix->cap *= 2;
  ix->slots = calloc(ix->cap, sizeof *ix->slots);
  if (!ix->slots) {
    free(ix);
    return NULL;
  }
  return ix;
}

void cpn_name_index_free(cpn_name_index_t *ix)
{
  if (ix)
    free(ix->slots);
  free(ix);
}

int cpn_name_index_put(cpn_name_index_t *ix, const char *name, int value)
{
  slot_t *s = find(ix->slots, ix->cap, name);
  if (s->name)
    return s->value;
  if (2 * (ix->used + 1) > ix->cap) {
    size_t cap = 2 * ix->cap;
    slot_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
      return -2;
    for (size_t i = 0; i < ix->cap; i++)
      if (ix->slots[i].name)
        *find(slots, cap, ix->slots[i].name) = ix->slots[i];
    free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
    s = find(slots, cap, name);
  }
  s->name = name;
  s->value = value;
  ix->used++;
  return -1;
}

int cpn_name_index_get(const cpn_name_index_t *ix, const char *name)
{
  const slot_t *s = find(ix->slots, ix->cap, name);
  return s->name ? s->value : -1;
}
