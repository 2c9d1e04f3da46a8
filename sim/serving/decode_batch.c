/* decode_batch: the min-heap of a decode batch (see decode_batch.h). */
#include "serving/decode_batch.h"

#include <stdlib.h>

void cpn_batch_free(cpn_batch_t *b)
{
  free(b->e);
  b->e = NULL;
  b->n = b->cap = 0;
}

void cpn_batch_sift_down(cpn_batch_t *b, int i)
{
  cpn_batch_ent_t *h = b->e, x = h[i];
  int n = b->n;
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    double best = x.v_finish;
    if (l < n && h[l].v_finish < best)
      m = l, best = h[l].v_finish;
    if (r < n && h[r].v_finish < best)
      m = r;
    if (m == i)
      break;
    h[i] = h[m];
    i = m;
  }
  h[i] = x;
}

int cpn_batch_push(cpn_batch_t *b, cpn_req_t *q)
{
  if (b->n == b->cap) {
    int cap = b->cap ? 2 * b->cap : 8;
    cpn_batch_ent_t *e = realloc(b->e, (size_t)cap * sizeof *e);
    if (!e)
      return -1;
    b->e = e;
    b->cap = cap;
  }
  cpn_batch_ent_t x = {.v_finish = q->serve.v_finish, .q = q};
  int i = b->n++;
  while (i > 0) {
    int par = (i - 1) / 2;
    if (b->e[par].v_finish <= x.v_finish)
      break;
    b->e[i] = b->e[par];
    i = par;
  }
  b->e[i] = x;
  return 0;
}

cpn_req_t *cpn_batch_pop(cpn_batch_t *b)
{
  cpn_req_t *q = b->e[0].q;
  b->e[0] = b->e[--b->n];
  if (b->n)
    cpn_batch_sift_down(b, 0);
  return q;
}

cpn_req_t *cpn_batch_remove(cpn_batch_t *b, int i)
{
  cpn_req_t *x = b->e[i].q;
  b->e[i] = b->e[--b->n];
  for (int k = b->n / 2 - 1; k >= 0; k--)
    cpn_batch_sift_down(b, k);
  return x;
}

int cpn_batch_newest(const cpn_batch_t *b)
{
  int victim = 0;
  for (int i = 1; i < b->n; i++) {
    const cpn_req_t *x = b->e[i].q, *v = b->e[victim].q;
    if (x->serve.v_start > v->serve.v_start || (x->serve.v_start == v->serve.v_start && x->rec.id > v->rec.id))
      victim = i;
  }
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
