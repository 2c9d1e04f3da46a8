/* gateway: admission by account, priority queue, decision latency, then placement (see gateway.h). */
#include "gateway/gateway.h"

#include <stdlib.h>

#include "gateway/accounts.h"

typedef struct {
  int prio;
  uint64_t seq;
  cpn_req_t *q;
} waiting_t;

struct cpn_gateway {
  const cpn_scenario_t *sc;
  cpn_sim_t *sim;
  cpn_placement_t *pl;
  cpn_accounting_t *acct;
  cpn_accounts_t *accounts;
  double decision_latency_s;
  int ev_decide;
  int max_in_flight, in_flight;
  waiting_t *heap; /* max-heap on (prio, -seq) */
  size_t n, cap;
  uint64_t seq;
};

static void on_decide(void *ctx, const cpn_event_t *e)
{
  cpn_gateway_t *gw = ctx;
  cpn_placement_place(gw->pl, e->ptr);
}

cpn_err_t cpn_gateway_new(cpn_gateway_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_placement_t *pl,
                          cpn_accounting_t *acct)
{
  cpn_gateway_t *gw = calloc(1, sizeof *gw);
  if (!gw)
    return cpn_error_set(CPN_ENOMEM, "gateway: out of memory");
  *gw = (cpn_gateway_t){.sc = sc, .sim = sim, .pl = pl, .acct = acct, .decision_latency_s = sc->run.decision_latency_s,
                        .max_in_flight = sc->run.gateway_max_in_flight};
  cpn_err_t err = cpn_accounts_new(&gw->accounts, sc);
  if (err) {
    free(gw);
    return err;
  }
  gw->ev_decide = cpn_sim_kind(sim, "gateway.decide", on_decide, gw);
  *out = gw;
  return CPN_OK;
}

void cpn_gateway_free(cpn_gateway_t *gw)
{
  if (!gw)
    return;
  cpn_accounts_free(gw->accounts);
  free(gw->heap);
  free(gw);
}

static int before(const waiting_t *a, const waiting_t *b) { return a->prio > b->prio || (a->prio == b->prio && a->seq < b->seq); }

static int push(cpn_gateway_t *gw, cpn_req_t *q)
{
  if (gw->n == gw->cap) {
    size_t cap = gw->cap ? 2 * gw->cap : 256;
    waiting_t *h = realloc(gw->heap, cap * sizeof *h);
    if (!h)
      return -1;
    gw->heap = h, gw->cap = cap;
  }
  waiting_t w = {.prio = gw->sc->tenants[q->rec.tenant].priority, .seq = gw->seq++, .q = q};
  size_t i = gw->n++;
  while (i > 0 && before(&w, &gw->heap[(i - 1) / 2])) {
    gw->heap[i] = gw->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  gw->heap[i] = w;
  return 0;
}

static cpn_req_t *pop(cpn_gateway_t *gw)
{
  cpn_req_t *top = gw->heap[0].q;
  waiting_t last = gw->heap[--gw->n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const waiting_t *best = &last;
    if (l < gw->n && before(&gw->heap[l], best))
      m = l, best = &gw->heap[l];
    if (r < gw->n && before(&gw->heap[r], best))
      m = r;
    if (m == i)
      break;
    gw->heap[i] = gw->heap[m];
    i = m;
  }
  if (gw->n)
    gw->heap[i] = last;
  return top;
}

/* Into the network: decision latency, then placement. */
static void let_in(cpn_gateway_t *gw, cpn_req_t *q)
{
  gw->in_flight++;
  if (gw->decision_latency_s > 0)
    cpn_sim_at(gw->sim, cpn_sim_now(gw->sim) + gw->decision_latency_s, gw->ev_decide, 0, q, 0);
  else
    cpn_placement_place(gw->pl, q);
}

void cpn_gateway_admit(cpn_gateway_t *gw, cpn_req_t *q)
{
  if (cpn_accounts_limited(gw->accounts) &&
      !cpn_accounts_admit(gw->accounts, q->rec.tenant, q->rec.id,
                          (double)q->rec.prompt_tokens + (double)q->rec.output_tokens, cpn_sim_now(gw->sim))) {
    cpn_accounting_end(gw->acct, q, CPN_STATUS_REJECTED, CPN_REASON_ADMISSION);
    return;
  }
  if (gw->max_in_flight > 0 && gw->in_flight >= gw->max_in_flight) {
    if (push(gw, q))
      cpn_sim_fail(gw->sim, cpn_error_set(CPN_ENOMEM, "gateway: out of memory (queue)"));
    return;
  }
  let_in(gw, q);
}

void cpn_gateway_ended(cpn_gateway_t *gw, const cpn_req_t *q)
{
  if (q->rec.reason == CPN_REASON_ADMISSION || q->rec.reason == CPN_REASON_END_OF_RUN)
    return; /* never let in (or the run is over) */
  gw->in_flight--;
  while (gw->max_in_flight > 0 && gw->n > 0 && gw->in_flight < gw->max_in_flight)
    let_in(gw, pop(gw));
}

cpn_err_t cpn_gateway_write(const cpn_gateway_t *gw, cpn_output_t *o) { return cpn_accounts_write(gw->accounts, o); }
