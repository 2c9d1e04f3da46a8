/* request: the request that travels along the path (sources -> gateway -> placement -> network ->
 * serving -> network -> accounting), and the pool that holds every live one.
 *
 * The record (`rec`) is what /requests stores. The other fields are grouped by the stage that owns
 * them: only that stage writes its group, the others may read it. The pool allocates requests in slabs
 * (no allocation per request once warm) and numbers them in order of allocation, so that the live ones can be
 * listed newest first (a list through them cost two cache misses per release, at the neighbours). */
#ifndef CPN_REQUEST_REQUEST_H
#define CPN_REQUEST_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "output/record.h"

typedef struct cpn_req cpn_req_t;
struct cpn_req {
  cpn_record_t rec;
  cpn_req_t *next;         /* pool: the free list */
  uint64_t pool_seq;       /* pool: its order of allocation (1, 2, ...) while live, 0 when free */
  struct {                 /* sources: agent fan-out (classes[].fanout) */
    int fanout_parent;     /* 1 + the fan-out slot this request waits on as a parent; 0 none */
    int fanout_child;      /* 1 + the slot of the parent this request was made for; 0 none */
    int no_fanout;         /* made by a fan-out into its own class: does not fan out again */
  } src;
  struct {                 /* network */
    double bytes_in, bytes_out;
    double t_site_done;    /* flow mode: when the last token left the site */
    int phase;             /* cpn_net_phase_t: where the request is on the path */
    uint64_t gen;          /* stamp of its current transfer's event (an aborted transfer's is stale) */
  } net;
  struct {                 /* faults */
    int retries;           /* times it was placed again after a fault */
    int avoid_site;        /* 1 + the site it was lost at (0: none), never offered to the policy again */
  } fault;
  struct {                 /* serving */
    cpn_req_t *qnext;      /* site queue */
    int queue;             /* which of the (site, model) queues it waits in */
    int resumed;           /* preempted before: recomputes resume_ctx, then decodes `remaining` */
    double resume_ctx, remaining;
    double v_start, v_finish, ctx0, s_start, e_start; /* the scheduler's batch bookkeeping */
    double prefill_left, chunk; /* prompt tokens left to prefill, and those of the iteration in flight */
    int kv_in;             /* disaggregated serving: its KV came from a prefill replica (not prefilled again) */
    int hand_tag;          /* 1 + the tag of its KV transfer in flight (0: none) */
    int adapter_slot;      /* 1 + its replica's adapter slot it pins (0: none) */
    int held;              /* blocks it holds in its replica's prefix cache (0: none) */
    double cached;         /* prompt tokens found in the replica's prefix cache when it was taken (not
                            * prefilled); 0 without block hashes */
  } serve;
  uint64_t adapter;        /* sources: the adapter (LoRA) it asks for, 0 = the base model */
  struct {                 /* sources: the prompt's block hashes (a trace's hash_col), one per block of
                            * demand.trace.block_tokens tokens; the buffer stays with the pool slot */
    uint64_t *ids;
    int n, cap;
    uint64_t uid;          /* generated: the conversation its tokens belong to (its own id outside sessions) */
    int sys;               /* generated: 1 + the shared system prompt it starts with (0: none) */
  } prefix;
  struct {                 /* accounting: what the request used, attributed by serving */
    double share_s;        /* replica-seconds */
    double energy_j;       /* accelerator energy, before PUE */
    double accel_usd;      /* cost of the replica-seconds */
  } acct;
};

/* Asks for every line of q (__builtin_prefetch): a handler that will end or move it, one event ahead. */
static inline void cpn_prefetch_req(const cpn_req_t *q)
{
  for (size_t off = 0; off < sizeof *q; off += 64)
    __builtin_prefetch((const char *)q + off);
}

typedef struct cpn_reqs cpn_reqs_t;

cpn_err_t cpn_reqs_new(cpn_reqs_t **out);
void cpn_reqs_free(cpn_reqs_t *p);

/* A zeroed request, live; NULL when out of memory. Cost: O(1) amortised. */
cpn_req_t *cpn_reqs_alloc(cpn_reqs_t *p);
/* Gives q the block hashes ids[0..n-1] (copied into its slot's buffer, grown when too small: after
 * warm-up no allocation). CPN_ENOMEM leaves q without hashes. */
cpn_err_t cpn_reqs_set_prefix(cpn_req_t *q, const uint64_t *ids, int n);
/* Returns a live request to the pool. O(1). */
void cpn_reqs_release(cpn_reqs_t *p, cpn_req_t *q);
/* The live requests that keep(q, ctx) selects (all of them when keep is NULL), newest first, in *out: a
 * buffer of the pool's, valid until the next call. Returns the count, or (size_t)-1 when out of memory.
 * Cost: O(pool slots + k log k) for k selected. */
size_t cpn_reqs_select(cpn_reqs_t *p, int (*keep)(const cpn_req_t *q, void *ctx), void *ctx, cpn_req_t ***out);
int cpn_reqs_empty(const cpn_reqs_t *p);
/* Live requests now and at most so far. */
size_t cpn_reqs_live(const cpn_reqs_t *p);
size_t cpn_reqs_peak(const cpn_reqs_t *p);

#endif
