/* decode_batch: the decode batch of a continuously batching scheduler, a binary min-heap of requests on
 * their virtual finish time (req->serve.v_finish), shared by sched_continuous and sched_mixed.
 *
 * Each entry holds a copy of its request's v_finish, so that heap moves and the look at the top read the
 * batch's array only: with millions of requests in flight (national-2026-full) every comparison through
 * the request missed the cache. Up to CPN_BATCH_INLINE entries live inside the struct, that is inside
 * the scheduler's state, whose cache lines a step fetches anyway; a bigger batch moves to an array that
 * grows by doubling (to at most max_batch entries) and comes back inside when it is down to half.
 * Invariant: e[i].v_finish == e[i].q->serve.v_finish (a member's v_finish does not change in the batch). */
#ifndef CPN_SERVING_DECODE_BATCH_H
#define CPN_SERVING_DECODE_BATCH_H

#include "request/request.h"

typedef struct {
  double v_finish;
  cpn_req_t *q;
} cpn_batch_ent_t;

enum { CPN_BATCH_INLINE = 16 };

typedef struct {
  int n, cap;                /* cap: the outside array's; 0 while the entries are inside */
  cpn_batch_ent_t *out;      /* NULL while the entries are inside */
  _Alignas(16) cpn_batch_ent_t in[CPN_BATCH_INLINE]; /* 16-byte entries never straddle a cache line */
} cpn_batch_t;

/* The heap's array: e[0] is the least v_finish. A zeroed cpn_batch_t is an empty batch. */
static inline cpn_batch_ent_t *cpn_batch_e(cpn_batch_t *b) { return b->out ? b->out : b->in; }
static inline const cpn_batch_ent_t *cpn_batch_ce(const cpn_batch_t *b) { return b->out ? b->out : b->in; }

void cpn_batch_free(cpn_batch_t *b);
void cpn_batch_sift_down(cpn_batch_t *b, int i);
/* Adds q. O(log n). Returns 0, or -1 when out of memory (the batch is unchanged). */
int cpn_batch_push(cpn_batch_t *b, cpn_req_t *q);
/* Removes and returns the member with the least v_finish. n > 0. O(log n). */
cpn_req_t *cpn_batch_pop(cpn_batch_t *b);
/* Removes and returns e[i].q (O(n) rebuild: only preemptions remove from the middle). */
cpn_req_t *cpn_batch_remove(cpn_batch_t *b, int i);
/* The preemption victim: the most recently admitted member (highest virtual start, then highest id). n > 0. */
int cpn_batch_newest(const cpn_batch_t *b);
/* Records on q, just removed from the batch at virtual time v, what a recompute resume needs (context
 * and output left) and counts the preemption. */
void cpn_batch_mark_preempted(cpn_req_t *q, double v);

#endif
