/* test_decode_batch: the decode batch (serving/decode_batch.h) pops its members in order of virtual finish
 * time, as a sort of them would, while it grows past the entries kept inside its struct, shrinks back
 * inside and grows again; removal from the middle (preemption) keeps the order of the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serving/decode_batch.h"

enum { N_REQ = 4 * CPN_BATCH_INLINE + 7 };

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static double uniform(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

/* The least v_finish among the members (brute force). */
static double least(cpn_req_t *const *in, int n)
{
  double m = INFINITY;
  for (int i = 0; i < n; i++)
    if (in[i]->serve.v_finish < m)
      m = in[i]->serve.v_finish;
  return m;
}

static int is_member(cpn_req_t *const *members, int n, const cpn_req_t *q)
{
  for (int i = 0; i < n; i++)
    if (members[i] == q)
      return 1;
  return 0;
}

static void drop_member(cpn_req_t **members, int *n, const cpn_req_t *q)
{
  for (int i = 0; i < *n; i++)
    if (members[i] == q) {
      members[i] = members[--*n];
      return;
    }
}

static void pops_in_order_across_the_inside_boundary(void **state)
{
  (void)state;
  static cpn_req_t req[N_REQ];
  cpn_req_t *members[N_REQ];
  int n = 0;
  cpn_batch_t b;
  memset(&b, 0, sizeof b);
  for (int k = 0; k < N_REQ; k++)
    req[k].rec.id = (uint64_t)k;
  int next = 0, max_n = 0, moved_out = 0, moved_in = 0;
  for (int round = 0; round < 6; round++) {
    /* Fill well past the inside entries, then drain to a few, with pops and pushes interleaved. */
    int target = round % 2 == 0 ? N_REQ - 1 : 3;
    while (n != target) {
      int push = n < target ? uniform() < 0.8 : uniform() < 0.2;
      if (push && n < N_REQ - 1) {
        cpn_req_t *q = &req[next++ % N_REQ];
        if (is_member(members, n, q))
          continue;
        q->serve.v_finish = floor(uniform() * 40.0); /* ties on purpose */
        int was_out = b.out != NULL;
        assert_int_equal(cpn_batch_push(&b, q), 0);
        moved_out += !was_out && b.out != NULL;
        members[n++] = q;
      } else if (n > 0) {
        double want = least(members, n);
        int was_out = b.out != NULL;
        cpn_req_t *q = cpn_batch_pop(&b);
        moved_in += was_out && b.out == NULL;
        assert_true(q->serve.v_finish == want);
        drop_member(members, &n, q);
      }
      assert_int_equal(b.n, n);
      if (n > max_n)
        max_n = n;
    }
  }
  assert_true(max_n > CPN_BATCH_INLINE);
  assert_true(moved_out >= 2 && moved_in >= 2); /* out and back in, more than once */
  /* A removal from the middle: the rest still pop in order. */
  while (n < 2 * CPN_BATCH_INLINE) {
    cpn_req_t *q = &req[next++ % N_REQ];
    if (is_member(members, n, q))
      continue;
    q->serve.v_finish = uniform() * 100.0;
    assert_int_equal(cpn_batch_push(&b, q), 0);
    members[n++] = q;
  }
  drop_member(members, &n, cpn_batch_remove(&b, cpn_batch_newest(&b)));
  double last = -1;
  while (b.n > 0) {
    double want = least(members, n);
    cpn_req_t *q = cpn_batch_pop(&b);
    assert_true(q->serve.v_finish == want && q->serve.v_finish >= last);
    last = q->serve.v_finish;
    drop_member(members, &n, q);
  }
  assert_null(b.out);
  cpn_batch_free(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(pops_in_order_across_the_inside_boundary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
