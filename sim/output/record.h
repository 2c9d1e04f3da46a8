/* record: one finished request as written to /requests, and the status and reason codes.
 *
 * The layout is the HDF5 compound row (see output.c and README "HDF5 output"): fixed-size, no pointers,
 * so rows can be buffered and written in chunks. Index columns (tenant, class, origin, model, site) are
 * positions in the scenario's arrays; their names are stored in /names. */
#ifndef CPN_OUTPUT_RECORD_H
#define CPN_OUTPUT_RECORD_H

#include <stdint.h>

typedef enum {
  CPN_STATUS_COMPLETED = 0,
  CPN_STATUS_REJECTED = 1,
  CPN_STATUS_FAILED = 2,
  CPN_STATUS_TIMED_OUT = 3,
  CPN_STATUS_COUNT
} cpn_status_t;

typedef enum {
  CPN_REASON_NONE = 0,          /* completed */
  CPN_REASON_NO_ELIGIBLE_SITE,  /* no site can serve the model under residency/confidentiality */
  CPN_REASON_POLICY_REJECT,     /* the policy chose to reject */
  CPN_REASON_POLICY_VIOLATION,  /* the policy chose an ineligible site */
  CPN_REASON_ADMISSION,         /* gateway admission control / quota */
  CPN_REASON_QUEUE_TIMEOUT,     /* waited longer than the class timeout */
  CPN_REASON_SITE_FAILURE,
  CPN_REASON_LINK_FAILURE,
  CPN_REASON_TOO_LARGE,         /* prompt + output exceed the replica's KV capacity */
  CPN_REASON_END_OF_RUN,        /* still in flight when the drain period ended */
  CPN_REASON_COUNT
} cpn_reason_t;

const char *cpn_status_name(cpn_status_t s);
const char *cpn_reason_name(cpn_reason_t r);

typedef struct {
  uint64_t id;
  int32_t tenant, cls, origin, model;
  int32_t site;                 /* -1 when never placed */
  int32_t replica;              /* index of the replica within its site, -1 when never placed */
  double t_arrival, t_dispatch, t_first_token, t_done; /* simulated seconds; NaN when not reached */
  uint32_t prompt_tokens, output_tokens;
  double net_in_s, net_out_s;   /* upload and reply transfer times */
  uint8_t status;               /* cpn_status_t */
  uint8_t reason;               /* cpn_reason_t */
  uint8_t cross_border;         /* origin country != site country */
  uint8_t preempted;            /* times the request was preempted (saturating) */
  double cost_usd, energy_j, co2_g;
  uint32_t cached_tokens;       /* prompt tokens found in the replica's prefix cache (not prefilled) */
  /* Written only by runs that make sessions (the `session` and `parent` columns, see output.h). */
  int64_t session;              /* id of the conversation's first turn (its own id for a first turn); -1 none */
  int64_t parent;               /* the request that made this one (agent fan-out); -1 none */
} cpn_record_t;

#endif
