/* transfers: SimGrid host-to-host flows started without an actor each, and waited for together from one
 * actor (the engine's). The event core uses them for every SimGrid activity (bulk flows, flow-mode
 * uploads and replies): one context switch per flow end instead of an actor created, scheduled and ended
 * per flow. Must be called from inside a SimGrid actor. */
#ifndef CPN_CORE_TRANSFERS_H
#define CPN_CORE_TRANSFERS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cpn_transfers cpn_transfers_t;

/* NULL when out of memory. Free cancels the flows in flight. */
cpn_transfers_t *cpn_transfers_new(void);
void cpn_transfers_free(cpn_transfers_t *x);
/* Flows in flight. */
size_t cpn_transfers_count(const cpn_transfers_t *x);
/* Starts a flow of `bytes` (whole bytes, as sg_host_sendto) from host `from` to host `to` now, under
 * SimGrid's network model; `tag` is reported when it ends. -1 when a host does not exist. */
int cpn_transfers_start(cpn_transfers_t *x, const char *from, const char *to, double bytes, size_t tag);
/* Blocks the calling actor until a flow ends (returns 1 and its tag; SimGrid's clock is then its end) or
 * timeout_s of simulated time pass (returns 0). Cost: O(flows in flight). */
int cpn_transfers_wait_any_for(cpn_transfers_t *x, double timeout_s, size_t *tag);
/* Cancels every flow in flight (the end of the run). */
void cpn_transfers_cancel_all(cpn_transfers_t *x);

#ifdef __cplusplus
}
#endif

#endif
