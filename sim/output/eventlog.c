/* eventlog: the run's timeline of state changes (see eventlog.h).
 *
 * Invariant: rows are stored in the order they were added, which is simulated-time order since every
 * stage adds its row at the current time. */
#include "output/eventlog.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *kind;
  double t_s;
  cpn_event_element_t e;
  double detail;
} row_t;

struct cpn_eventlog {
  row_t *rows;
  size_t n, cap;
};

cpn_err_t cpn_eventlog_new(cpn_eventlog_t **out)
{
  cpn_eventlog_t *log = calloc(1, sizeof *log);
  if (!log)
    return cpn_error_set(CPN_ENOMEM, "eventlog: out of memory");
  *out = log;
  return CPN_OK;
}

void cpn_eventlog_free(cpn_eventlog_t *log)
{
  if (!log)
    return;
  free(log->rows);
  free(log);
}

cpn_err_t cpn_eventlog_add(cpn_eventlog_t *log, const char *kind, double t_s, cpn_event_element_t e, double detail)
{
  assert(log->n == 0 || t_s >= log->rows[log->n - 1].t_s);
  if (log->n == log->cap) {
    size_t cap = log->cap ? log->cap * 2 : 64;
    row_t *v = realloc(log->rows, cap * sizeof *v);
    if (!v)
      return cpn_error_set(CPN_ENOMEM, "eventlog: out of memory (%zu rows)", log->n);
    log->rows = v;
    log->cap = cap;
  }
  log->rows[log->n++] = (row_t){kind, t_s, e, detail};
  return CPN_OK;
}

size_t cpn_eventlog_count(const cpn_eventlog_t *log) { return log->n; }

cpn_err_t cpn_eventlog_write(const cpn_eventlog_t *log, cpn_output_t *out)
{
  enum { NC = 7 };
  static const char *const cols[NC] = {"t_s", "site", "model", "replica", "link", "fault", "detail"};
  size_t n = log->n;
  double *v = calloc(n ? n * NC : 1, sizeof *v);
  const char **keys = calloc(n ? n : 1, sizeof *keys);
  cpn_err_t err = CPN_OK;
  if (!v || !keys)
    err = cpn_error_set(CPN_ENOMEM, "eventlog: out of memory (writing %zu rows)", n);
  for (size_t i = 0; !err && i < n; i++) {
    const row_t *r = &log->rows[i];
    keys[i] = r->kind;
    double row[NC] = {r->t_s, r->e.site, r->e.model, r->e.replica, r->e.link, r->e.fault, r->detail};
    memcpy(&v[i * NC], row, sizeof row);
  }
  if (!err) {
    cpn_table_t t = {.path = "/events", .n_rows = n, .n_cols = NC, .col_names = cols, .keys = keys, .values = v};
    err = cpn_output_table(out, &t);
  }
  free(v);
  free(keys);
  return err;
}
