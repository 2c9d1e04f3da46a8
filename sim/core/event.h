/* event: the event core. It keeps simulated time and the order of events, and synchronises with
 * SimGrid's clock; it knows nothing of requests, replicas or sites (ns-3's Simulator, Redis's ae.c).
 *
 * Modules register a handler per kind of event they own (cpn_sim_kind) and schedule their own events
 * (cpn_sim_at); the loop (cpn_sim_run, inside one SimGrid actor) pops them in time order and calls the
 * handler. Equal times pop in the order they were scheduled, which makes runs deterministic.
 *
 * SimGrid activities (bulk flows, flow-mode transfers) are asynchronous flows the loop starts itself
 * (cpn_sim_transfer); while any is in flight the loop waits for them until the next event, and a flow's
 * end schedules its event. The first error stops the run. */
#ifndef CPN_CORE_EVENT_H
#define CPN_CORE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct cpn_sim cpn_sim_t;

typedef struct {
  double t;
  uint64_t seq; /* scheduling order: the tie-break of equal times */
  void *ptr;    /* the handler's argument (an object it owns) */
  uint64_t gen; /* the handler's generation stamp (stale events are the handler's to skip); a timer's
                 event carries its timer here (top bit set) */
  int kind;
  int idx;
} cpn_event_t;

typedef void (*cpn_event_fn)(void *ctx, const cpn_event_t *e);

enum { CPN_SIM_MAX_KINDS = 32 };

/* Creates an empty event core at time 0. Cost: O(1). */
cpn_err_t cpn_sim_new(cpn_sim_t **out);
void cpn_sim_free(cpn_sim_t *sim);

/* Registers the handler of a kind of event; returns the kind (>= 0), or -1 when the table is full. The
 * name labels the kind in the self-profile. */
int cpn_sim_kind(cpn_sim_t *sim, const char *name, cpn_event_fn fn, void *ctx);

/* Optional: prefetch hooks of a kind, so that a handler finds its memory in cache (__builtin_prefetch).
 * Once any kind has them, the loop keeps the next few events pulled ahead of the one it runs. `ahead`
 * (or NULL) is called with an event when it is pulled, some handlers before it runs: it asks for the
 * memory the event names (its owner's struct). `next` (or NULL) is called with the event that runs
 * next, while the handler before it is about to run: what `ahead` asked for has arrived by then, so it
 * may read it to ask for what it points to. An event may be called with and not run (it went stale,
 * or the run ended), and one scheduled in between runs first. Neither hook may change anything: the
 * events and their order are those without hooks. */
void cpn_sim_kind_prefetch(cpn_sim_t *sim, int kind, cpn_event_fn ahead, cpn_event_fn next);

/* Schedules an event at time t (>= now; an earlier t is taken as now). Returns 0, or -1 after recording
 * an out-of-memory error that stops the run. Cost: O(1) amortised (radix heap, event.c). */
int cpn_sim_at(cpn_sim_t *sim, double t, int kind, int idx, void *ptr, uint64_t gen);

/* Timers: an owner with one pending event at a time that it often moves (a replica's next step) holds a
 * timer instead of checking generation stamps itself. Setting a timer replaces its pending event, if
 * any: the new event takes the next scheduling order exactly as cpn_sim_at would, so the events that
 * run, and their order, are those of cpn_sim_at with stale events skipped; the core drops the replaced
 * one unseen (not counted as an event). The handler gets gen = the timer with the top bit set. cpn_sim_timer_new returns the timer (>= 0) or -1 after
 * recording an out-of-memory error; set returns 0 or -1 likewise. Cost: O(log events). */
int cpn_sim_timer_new(cpn_sim_t *sim);
int cpn_sim_timer_set(cpn_sim_t *sim, int timer, double t, int kind, int idx, void *ptr);
void cpn_sim_timer_cancel(cpn_sim_t *sim, int timer);

double cpn_sim_now(const cpn_sim_t *sim);

/* Records the first error of the run (later ones are dropped); the loop stops before the next event. */
void cpn_sim_fail(cpn_sim_t *sim, cpn_err_t err);
cpn_err_t cpn_sim_error(const cpn_sim_t *sim);

/* A SimGrid flow of `bytes` from host `from` to host `to` (node names of the platform) starts now under
 * SimGrid's network model; when it ends at time T, the event (kind, idx, ptr, gen 0) is scheduled at
 * T + delay_s. With no bytes or from == to there is no flow: the event is scheduled at now + delay_s.
 * Flows still in flight when the loop returns are cancelled. Call from a handler. Cost: O(1) amortised,
 * no actor. */
void cpn_sim_transfer(cpn_sim_t *sim, const char *from, const char *to, double bytes, double delay_s, int kind,
                      int idx, void *ptr);
/* SimGrid flows in flight. */
int cpn_sim_activities(const cpn_sim_t *sim);

/* Periodic events stop once the run is idle; what "idle" means is the run's (set once). */
void cpn_sim_set_idle_check(cpn_sim_t *sim, int (*idle)(void *arg), void *arg);
int cpn_sim_idle(const cpn_sim_t *sim);

/* A hook the loop calls every `every` events (progress lines, interruption checks); a non-zero return
 * stops the run with the error it recorded (cpn_sim_fail). */
void cpn_sim_set_tick(cpn_sim_t *sim, unsigned every, int (*tick)(void *arg), void *arg);

/* The loop: pops events until none is left before t_end (or an error). Must run inside a SimGrid actor.
 * Returns 1 when it stopped at t_end with work left (the clock is then set to t_end), 0 otherwise. */
int cpn_sim_run(cpn_sim_t *sim, double t_end);

/* Self-profile: events processed in all, and per kind: name, count, and the wall time spent in its
 * handler, estimated from a random sample of about one event in 16 (each sampled event's time counts 16
 * times), so a kind with k events has a relative standard error of about sqrt(16 / k) times the
 * coefficient of variation of its events' times: under 1% from 10^5 events on a quiet machine; on a
 * shared one, preemptions that hit a sample add noise (event.c). */
double cpn_sim_events(const cpn_sim_t *sim);
int cpn_sim_kinds(const cpn_sim_t *sim);
const char *cpn_sim_kind_name(const cpn_sim_t *sim, int kind);
double cpn_sim_kind_events(const cpn_sim_t *sim, int kind);
double cpn_sim_kind_wall_s(const cpn_sim_t *sim, int kind);
/* Wall time inside cpn_sim_run (measured, not sampled): the handlers' estimates plus the loop itself
 * (the event heap, waits on SimGrid's flows). */
double cpn_sim_wall_s(const cpn_sim_t *sim);
/* The mean sampling interval (1: every event), and the clock (tests give one they drive). */
void cpn_sim_set_profile_every(cpn_sim_t *sim, unsigned every);
void cpn_sim_set_profile_clock(cpn_sim_t *sim, double (*clock_s)(void));

#endif
