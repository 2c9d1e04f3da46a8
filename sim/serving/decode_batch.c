/* decode_batch: the min-heap of a decode batch (see decode_batch.h). */
#include "serving/decode_batch.h"

void cpn_batch_sift_down(cpn_req_t **batch, int n, int i)
{
  cpn_req_t *x = batch[i];
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    double best = x->serve.v_finish;
    if (l < n && batch[l]->serve.v_finish < best)
      m = l, best = batch[l]->serve.v_finish;
    if (r < n && batch[r]->serve.v_finish < best)
      m = r;
    if (m == i)
      break;
    batch[i] = batch[m];
    i = m;
  }
  batch[i] = x;
}

void cpn_batch_push(cpn_req_t **batch, int *n, cpn_req_t *q)
{
  int i = (*n)++;
  while (i > 0) {
    int par = (i - 1) / 2;
    if (batch[par]->serve.v_finish <= q->serve.v_finish)
      break;
    batch[i] = batch[par];
    i = par;
  }
  batch[i] = q;
}

cpn_req_t *cpn_batch_remove(cpn_req_t **batch, int *n, int i)
{
  cpn_req_t *x = batch[i];
  batch[i] = batch[--*n];
  for (int k = *n / 2 - 1; k >= 0; k--)
    cpn_batch_sift_down(batch, *n, k);
  return x;
}

int cpn_batch_newest(cpn_req_t *const *batch, int n)
{
  int victim = 0;
  for (int i = 1; i < n; i++)
    if (batch[i]->serve.v_start > batch[victim]->serve.v_start ||
        (batch[i]->serve.v_start == batch[victim]->serve.v_start && batch[i]->rec.id > batch[victim]->rec.id))
      victim = i;
  return victim;
}

void cpn_batch_mark_preempted(cpn_req_t *q, double v)
{
  q->serve.resume_ctx = q->serve.ctx0 + (v - q->serve.v_start);
  q->serve.remaining = q->serve.v_finish - v;
  q->serve.resumed = 1;
  if (q->rec.preempted < 255)
    q->rec.preempted++;
}
