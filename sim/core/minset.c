/* minset: see minset.h. */
#include "core/minset.h"

#include <stdlib.h>
#include <string.h>

cpn_err_t cpn_minset_init(cpn_minset_t *s, int n)
{
  memset(s, 0, sizeof *s);
  s->n = n;
  s->n_words = (n + 63) / 64;
  s->n_sum = (s->n_words + 63) / 64;
  return CPN_OK;
}

void cpn_minset_free(cpn_minset_t *s)
{
  for (int k = 0; k < s->n_keys; k++) {
    free(s->lv[k].bits);
    free(s->lv[k].sum);
  }
  free(s->lv);
  free(s->keys);
  memset(s, 0, sizeof *s);
}

/* Makes levels up to key (inclusive). */
static int grow(cpn_minset_t *s, int key)
{
  int n_keys = s->n_keys ? s->n_keys : 8;
  while (n_keys <= key)
    n_keys *= 2;
  cpn_minset_level_t *lv = realloc(s->lv, (size_t)n_keys * sizeof *lv);
  if (!lv)
    return -1;
  s->lv = lv;
  uint64_t *keys = realloc(s->keys, (size_t)((n_keys + 63) / 64) * sizeof *keys);
  if (!keys)
    return -1;
  s->keys = keys;
  for (int w = (s->n_keys + 63) / 64; w < (n_keys + 63) / 64; w++)
    s->keys[w] = 0;
  for (int k = s->n_keys; k < n_keys; k++)
    lv[k] = (cpn_minset_level_t){0};
  s->n_keys = n_keys;
  return 0;
}

int cpn_minset_add(cpn_minset_t *s, int pos, int key)
{
  if (key >= s->n_keys && grow(s, key))
    return -1;
  cpn_minset_level_t *l = &s->lv[key];
  if (!l->bits) {
    l->bits = calloc((size_t)(s->n_words ? s->n_words : 1), sizeof *l->bits);
    l->sum = calloc((size_t)(s->n_sum ? s->n_sum : 1), sizeof *l->sum);
    if (!l->bits || !l->sum) {
      free(l->bits);
      free(l->sum);
      l->bits = l->sum = NULL;
      return -1;
    }
  }
  int w = pos >> 6;
  l->bits[w] |= UINT64_C(1) << (pos & 63);
  l->sum[w >> 6] |= UINT64_C(1) << (w & 63);
  if (l->count++ == 0)
    s->keys[key >> 6] |= UINT64_C(1) << (key & 63);
  s->count++;
  return 0;
}

void cpn_minset_remove(cpn_minset_t *s, int pos, int key)
{
  cpn_minset_level_t *l = &s->lv[key];
  int w = pos >> 6;
  if (!(l->bits[w] &= ~(UINT64_C(1) << (pos & 63))))
    l->sum[w >> 6] &= ~(UINT64_C(1) << (w & 63));
  if (--l->count == 0)
    s->keys[key >> 6] &= ~(UINT64_C(1) << (key & 63));
  s->count--;
}

/* The lowest member of level l at a position >= from; -1 when none. */
static int level_from(const cpn_minset_t *s, const cpn_minset_level_t *l, int from)
{
  if (from >= s->n)
    return -1;
  int w = from >> 6;
  uint64_t m = l->bits[w] & (~UINT64_C(0) << (from & 63));
  if (m)
    return (w << 6) | __builtin_ctzll(m);
  w++; /* the next non-zero word, through the summary */
  for (int i = w >> 6; i < s->n_sum; i++) {
    uint64_t sm = l->sum[i];
    if (i == w >> 6)
      sm &= (w & 63) ? ~UINT64_C(0) << (w & 63) : ~UINT64_C(0);
    if (sm) {
      int wi = (i << 6) | __builtin_ctzll(sm);
      return (wi << 6) | __builtin_ctzll(l->bits[wi]);
    }
  }
  return -1;
}

/* The lowest key in use >= from; -1 when none. */
static int key_from(const cpn_minset_t *s, int from)
{
  for (int i = from >> 6; i < (s->n_keys + 63) / 64; i++) {
    uint64_t m = s->keys[i];
    if (i == from >> 6)
      m &= ~UINT64_C(0) << (from & 63);
    if (m)
      return (i << 6) | __builtin_ctzll(m);
  }
  return -1;
}

int cpn_minset_min(const cpn_minset_t *s, int *key)
{
  if (s->count == 0)
    return -1;
  int k = key_from(s, 0);
  *key = k;
  return level_from(s, &s->lv[k], 0);
}

int cpn_minset_next(const cpn_minset_t *s, int pos, int key, int *next_key)
{
  if (pos >= 0) {
    int p = level_from(s, &s->lv[key], pos + 1);
    if (p >= 0) {
      *next_key = key;
      return p;
    }
  }
  int k = key_from(s, pos >= 0 ? key + 1 : 0);
  if (k < 0)
    return -1;
  *next_key = k;
  return level_from(s, &s->lv[k], 0);
}
