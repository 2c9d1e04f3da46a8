/* gateway: decision latency, then placement (see gateway.h). */
#include "gateway/gateway.h"

#include <stdlib.h>

struct cpn_gateway {
  cpn_sim_t *sim;
  cpn_placement_t *pl;
  double decision_latency_s;
  int ev_decide;
};

static void on_decide(void *ctx, const cpn_event_t *e)
{
  cpn_gateway_t *gw = ctx;
  cpn_placement_place(gw->pl, e->ptr);
}

cpn_err_t cpn_gateway_new(cpn_gateway_t **out, const cpn_scenario_t *sc, cpn_sim_t *sim, cpn_placement_t *pl)
{
  cpn_gateway_t *gw = calloc(1, sizeof *gw);
  if (!gw)
    return cpn_error_set(CPN_ENOMEM, "gateway: out of memory");
  *gw = (cpn_gateway_t){.sim = sim, .pl = pl, .decision_latency_s = sc->run.decision_latency_s};
  gw->ev_decide = cpn_sim_kind(sim, "gateway.decide", on_decide, gw);
  *out = gw;
  return CPN_OK;
}

void cpn_gateway_free(cpn_gateway_t *gw) { free(gw); }

void cpn_gateway_admit(cpn_gateway_t *gw, cpn_req_t *q)
{
  if (gw->decision_latency_s > 0)
    cpn_sim_at(gw->sim, cpn_sim_now(gw->sim) + gw->decision_latency_s, gw->ev_decide, 0, q, 0);
  else
    cpn_placement_place(gw->pl, q);
}
