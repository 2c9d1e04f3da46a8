/* eventlog: the run's timeline of state changes, written as /events. Every stage that changes the state
 * of an element (a replica loads or unloads, a link is cut, degraded or repaired, a site fails, is
 * detected down or comes back, a model version reaches a site) appends one row as it happens, so the
 * rows are in simulated-time order without sorting.
 *
 * A row is (kind, t_s, element, detail): the kind is a static string ("load_done", "link_down", ...);
 * the element is given by the columns that apply (site, model, replica, link, fault: the index of the
 * fault in the scenario's faults.events; -1 where a column does not apply); detail is a number whose
 * meaning the kind gives (README "HDF5 output", /events).
 *
 * Owns: the rows. Invariant: t_s never decreases from one row to the next. */
#ifndef CPN_OUTPUT_EVENTLOG_H
#define CPN_OUTPUT_EVENTLOG_H

#include "core/error.h"
#include "output/output.h"

typedef struct cpn_eventlog cpn_eventlog_t;

/* The element of a row: -1 in every column that does not apply. */
typedef struct {
  int site, model, replica, link, fault;
} cpn_event_element_t;

#define CPN_EVENT_NONE ((cpn_event_element_t){-1, -1, -1, -1, -1})

cpn_err_t cpn_eventlog_new(cpn_eventlog_t **out);
void cpn_eventlog_free(cpn_eventlog_t *log);
/* Appends one row; `kind` must outlive the log (a string literal). Returns CPN_ENOMEM (with its
 * message) when the row cannot be stored. O(1) amortised. */
cpn_err_t cpn_eventlog_add(cpn_eventlog_t *log, const char *kind, double t_s, cpn_event_element_t e, double detail);
size_t cpn_eventlog_count(const cpn_eventlog_t *log);
/* /events: key (kind), t_s, site, model, replica, link, fault, detail. */
cpn_err_t cpn_eventlog_write(const cpn_eventlog_t *log, cpn_output_t *out);

#endif
