/* test_prefix_cache: a replica's cached prompt blocks (sim/serving/prefix_cache.c): prefix hits, holders,
 * LRU eviction of unheld blocks only, growth past the first allocation, clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "serving/prefix_cache.h"

static void hits_are_a_prefix(void **state)
{
  (void)state;
  cpn_pcache_t *c;
  assert_int_equal(cpn_pcache_new(&c), CPN_OK);
  const uint64_t a[] = {11, 12, 13, 14}, b[] = {11, 12, 99, 14}, d[] = {99, 12, 13};
  int hits = -1;
  assert_int_equal(cpn_pcache_acquire(c, a, 4, &hits), CPN_OK);
  assert_int_equal(hits, 0);
  /* 14 is cached, but after the miss on 99: only the prefix counts. */
  assert_int_equal(cpn_pcache_lookup(c, b, 4), 2);
  assert_int_equal(cpn_pcache_lookup(c, d, 3), 0);
  assert_int_equal(cpn_pcache_acquire(c, b, 4, &hits), CPN_OK);
  assert_int_equal(hits, 2);
  assert_int_equal(cpn_pcache_blocks(c), 5);
  assert_int_equal(cpn_pcache_unheld(c), 0);
  cpn_pcache_free(c);
}

static void only_unheld_blocks_are_evicted_least_recent_first(void **state)
{
  (void)state;
  cpn_pcache_t *c;
  assert_int_equal(cpn_pcache_new(&c), CPN_OK);
  const uint64_t a[] = {1, 2}, b[] = {3, 4}, d[] = {5, 6};
  int hits;
  cpn_pcache_acquire(c, a, 2, &hits);
  cpn_pcache_acquire(c, b, 2, &hits);
  cpn_pcache_acquire(c, d, 2, &hits);
  cpn_pcache_trim(c, 0); /* everything is held: nothing goes */
  assert_int_equal(cpn_pcache_blocks(c), 6);
  cpn_pcache_release(c, b, 2); /* released first: least recent */
  cpn_pcache_release(c, a, 2);
  assert_int_equal(cpn_pcache_unheld(c), 4);
  cpn_pcache_trim(c, 2.5);     /* room for 2 unheld blocks: b's go */
  assert_int_equal(cpn_pcache_evictions(c), 2);
  assert_int_equal(cpn_pcache_lookup(c, b, 2), 0);
  assert_int_equal(cpn_pcache_lookup(c, a, 2), 2);
  assert_int_equal(cpn_pcache_lookup(c, d, 2), 2); /* held: kept whatever the room */
  /* A hit takes a block off the LRU list; released again it is the most recent. */
  cpn_pcache_acquire(c, a, 1, &hits);
  assert_int_equal(hits, 1);
  assert_int_equal(cpn_pcache_unheld(c), 1);
  cpn_pcache_release(c, a, 1);
  cpn_pcache_release(c, d, 2); /* order now: 2, 1, 5, 6 */
  cpn_pcache_trim(c, 2);
  const uint64_t one[] = {1}, two[] = {2}, five[] = {5};
  assert_int_equal(cpn_pcache_lookup(c, two, 1), 0);
  assert_int_equal(cpn_pcache_lookup(c, one, 1), 0);
  assert_int_equal(cpn_pcache_lookup(c, five, 1), 1);
  assert_int_equal(cpn_pcache_evictions(c), 4);
  cpn_pcache_clear(c);
  assert_int_equal(cpn_pcache_blocks(c), 0);
  assert_int_equal(cpn_pcache_lookup(c, five, 1), 0);
  cpn_pcache_release(c, d, 2); /* blocks gone with a clear are skipped */
  assert_int_equal(cpn_pcache_unheld(c), 0);
  cpn_pcache_free(c);
}

static void grows_past_its_first_allocation(void **state)
{
  (void)state;
  cpn_pcache_t *c;
  assert_int_equal(cpn_pcache_new(&c), CPN_OK);
  enum { N = 5000 };
  static uint64_t ids[N];
  for (int i = 0; i < N; i++)
    ids[i] = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1); /* distinct */
  int hits;
  assert_int_equal(cpn_pcache_acquire(c, ids, N, &hits), CPN_OK);
  assert_int_equal(hits, 0);
  assert_int_equal(cpn_pcache_blocks(c), N);
  assert_int_equal(cpn_pcache_lookup(c, ids, N), N);
  cpn_pcache_release(c, ids, N);
  cpn_pcache_trim(c, 1000);
  assert_int_equal(cpn_pcache_blocks(c), 1000);
  assert_int_equal(cpn_pcache_lookup(c, ids + N - 1000, 1000), 1000); /* the last released stay */
  assert_int_equal(cpn_pcache_lookup(c, ids, 1), 0);
  cpn_pcache_free(c);
  cpn_pcache_free(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(hits_are_a_prefix),
    cmocka_unit_test(only_unheld_blocks_are_evicted_least_recent_first),
    cmocka_unit_test(grows_past_its_first_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
