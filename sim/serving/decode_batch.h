/* decode_batch: the decode batch of a continuously batching scheduler, a binary min-heap of requests on
 * their virtual finish time (req->serve.v_finish), shared by sched_continuous and sched_mixed.
 * The caller owns the array (max_batch slots) and the count. */
#ifndef CPN_SERVING_DECODE_BATCH_H
#define CPN_SERVING_DECODE_BATCH_H

#include "request/request.h"

void cpn_batch_sift_down(cpn_req_t **batch, int n, int i);
/* Adds q (the array has room). O(log n). */
void cpn_batch_push(cpn_req_t **batch, int *n, cpn_req_t *q);
/* Removes and returns batch[i] (O(n) rebuild: only preemptions remove from the middle). */
cpn_req_t *cpn_batch_remove(cpn_req_t **batch, int *n, int i);
/* The preemption victim: the most recently admitted member (highest virtual start, then highest id). n > 0. */
int cpn_batch_newest(cpn_req_t *const *batch, int n);
/* Records on q, just removed from the batch at virtual time v, what a recompute resume needs (context
 * and output left) and counts the preemption. */
void cpn_batch_mark_preempted(cpn_req_t *q, double v);

#endif
