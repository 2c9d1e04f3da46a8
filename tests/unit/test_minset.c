/* test_minset: the set of free replicas (core/minset.h) agrees with a brute-force scan on the least
 * (key, position) and on the order of its members, through random adds, removes and moves, at sizes
 * that cross its word and summary boundaries (64 and 4096 positions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "core/minset.h"

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t next_u64(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* key[pos] >= 0 for members, -1 otherwise. */
static int brute_min(const int *key, int n, int *k_out)
{
  int best = -1;
  for (int p = 0; p < n; p++)
    if (key[p] >= 0 && (best < 0 || key[p] < key[best]))
      best = p;
  if (best >= 0)
    *k_out = key[best];
  return best;
}

static void check_order(const cpn_minset_t *s, const int *key, int n, int max_key)
{
  int k = 0, at = cpn_minset_next(s, -1, 0, &k), seen = 0;
  for (int want_k = 0; want_k <= max_key; want_k++)
    for (int p = 0; p < n; p++)
      if (key[p] == want_k) {
        assert_int_equal(at, p);
        assert_int_equal(k, want_k);
        at = cpn_minset_next(s, at, k, &k);
        seen++;
      }
  assert_int_equal(at, -1);
  assert_int_equal(seen, s->count);
}

static void run(int n, int max_key, int ops)
{
  cpn_minset_t s;
  assert_int_equal(cpn_minset_init(&s, n), CPN_OK);
  int *key = malloc((size_t)n * sizeof *key);
  for (int p = 0; p < n; p++)
    key[p] = -1;
  int k;
  assert_int_equal(cpn_minset_min(&s, &k), -1);
  for (int i = 0; i < ops; i++) {
    int p = (int)(next_u64() % (uint64_t)n);
    /* Mostly moves by one, as a replica's requests in service change; sometimes far jumps. */
    int nk = next_u64() % 8 == 0 ? (int)(next_u64() % (uint64_t)(max_key + 1))
                                 : (key[p] < 0 ? 0 : key[p] + (next_u64() % 2 ? 1 : -1));
    if (nk > max_key)
      nk = max_key;
    if (key[p] >= 0) {
      cpn_minset_remove(&s, p, key[p]);
      key[p] = -1;
    }
    if (nk >= 0 && next_u64() % 4 != 0) {
      assert_int_equal(cpn_minset_add(&s, p, nk), 0);
      key[p] = nk;
    }
    int bk = -1, sk = -1, bp = brute_min(key, n, &bk), sp = cpn_minset_min(&s, &sk);
    assert_int_equal(sp, bp);
    if (bp >= 0)
      assert_int_equal(sk, bk);
    if (i % (ops / 20) == 0)
      check_order(&s, key, n, max_key);
  }
  check_order(&s, key, n, max_key);
  free(key);
  cpn_minset_free(&s);
}

static void agrees_with_a_scan_small(void **state)
{
  (void)state;
  run(1, 3, 2000);
  run(63, 5, 20000);
  run(65, 200, 20000); /* keys past the first word of the key bitmap */
}

static void agrees_with_a_scan_across_summary_words(void **state)
{
  (void)state;
  run(4097, 40, 40000);
  run(9000, 130, 30000);
}

/* Positions at the ends of words and of summary words, and the lowest key winning over a lower position. */
static void boundaries(void **state)
{
  (void)state;
  cpn_minset_t s;
  cpn_minset_init(&s, 9000);
  int k;
  assert_int_equal(cpn_minset_add(&s, 8999, 3), 0);
  assert_int_equal(cpn_minset_add(&s, 4096, 2), 0);
  assert_int_equal(cpn_minset_add(&s, 0, 7), 0);
  assert_int_equal(cpn_minset_min(&s, &k), 4096);
  assert_int_equal(k, 2);
  cpn_minset_remove(&s, 4096, 2);
  assert_int_equal(cpn_minset_min(&s, &k), 8999);
  assert_int_equal(cpn_minset_add(&s, 4095, 3), 0);
  assert_int_equal(cpn_minset_min(&s, &k), 4095);
  assert_int_equal(cpn_minset_next(&s, 4095, 3, &k), 8999);
  assert_int_equal(cpn_minset_next(&s, 8999, 3, &k), 0);
  assert_int_equal(k, 7);
  assert_int_equal(cpn_minset_next(&s, 0, 7, &k), -1);
  cpn_minset_free(&s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(agrees_with_a_scan_small),
    cmocka_unit_test(agrees_with_a_scan_across_summary_words),
    cmocka_unit_test(boundaries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
