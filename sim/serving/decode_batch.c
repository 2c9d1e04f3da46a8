/* decode_batch: the min-heap of a decode batch (see decode_batch.h). */
#include "serving/decode_batch.h"

#include <stdlib.h>
#include <string.h>

void cpn_batch_free(cpn_batch_t *b)
{
  free(b->out);
  b->out = NULL;
  b->n = b->cap = 0;
}

void cpn_batch_sift_down(cpn_batch_t *b, int i)
{
  cpn_batch_ent_t *h = cpn_batch_e(b), x = h[i];
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
  if (b->n == (b->out ? b->cap : CPN_BATCH_INLINE)) {
    int cap = 2 * b->n;
    cpn_batch_ent_t *e = realloc(b->out, (size_t)cap * sizeof *e);
    if (!e)
      return -1;
    if (!b->out)
      memcpy(e, b->in, sizeof b->in);
    b->out = e;
    b->cap = cap;
  }
  cpn_batch_ent_t *h = cpn_batch_e(b), x = {.v_finish = q->serve.v_finish, .q = q};
  int i = b->n++;
  while (i > 0) {
    int par = (i - 1) / 2;
    if (h[par].v_finish <= x.v_finish)
      break;
    h[i] = h[par];
    i = par;
  }
  h[i] = x;
  return 0;
}

/* Back inside once the batch is down to half of what fits there (not at once: a batch around the
 * boundary would move out and in at every request). */
static void shrink(cpn_batch_t *b)
{
  if (b->out && b->n <= CPN_BATCH_INLINE / 2) {
    memcpy(b->in, b->out, (size_t)b->n * sizeof *b->in);
    free(b->out);
    b->out = NULL;
    b->cap = 0;
  }
}

cpn_req_t *cpn_batch_pop(cpn_batch_t *b)
{
  cpn_batch_ent_t *h = cpn_batch_e(b);
  cpn_req_t *q = h[0].q;
  h[0] = h[--b->n];
  if (b->n)
    cpn_batch_sift_down(b, 0);
  shrink(b);
  return q;
}

cpn_req_t *cpn_batch_remove(cpn_batch_t *b, int i)
{
  cpn_batch_ent_t *h = cpn_batch_e(b);
  cpn_req_t *x = h[i].q;
  h[i] = h[--b->n];
  for (int k = b->n / 2 - 1; k >= 0; k--)
    cpn_batch_sift_down(b, k);
  shrink(b);
  return x;
}

int cpn_batch_newest(const cpn_batch_t *b)
{
  const cpn_batch_ent_t *h = cpn_batch_ce(b);
  int victim = 0;
  for (int i = 1; i < b->n; i++) {
    const cpn_req_t *x = h[i].q, *v = h[victim].q;
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
