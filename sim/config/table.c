/* table: two-column numeric tables of a scenario, inline or from a CSV file (see table.h).
 *
 * Invariant: on success both columns hold finite numbers and the same number of rows (1 ..
 * CPN_TABLE_ROWS_MAX); what the numbers must satisfy (increasing times, probabilities) is the caller's
 * check, since only it knows the meaning. */
#include "config/table.h"
#include "config/csv_line.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 4096

/* Grows the block holding columns a and b (interleaved while reading, split at the end). */
typedef struct {
  double *v;
  int n, cap;
} pairs_t;

static int pairs_add(pairs_t *p, double x, double y)
{
  if (p->n == p->cap) {
    int cap = p->cap ? 2 * p->cap : 64;
    double *v = realloc(p->v, (size_t)cap * 2 * sizeof *v);
    if (!v)
      return -1;
    p->v = v;
    p->cap = cap;
  }
  p->v[2 * p->n] = x;
  p->v[2 * p->n + 1] = y;
  p->n++;
  return 0;
}

/* Splits interleaved pairs into [a..., b...] in place of a new block; frees p. */
static int pairs_finish(pairs_t *p, int *n, double **a, double **b)
{
  double *blk = malloc((size_t)(p->n ? p->n : 1) * 2 * sizeof *blk);
  if (!blk) {
    free(p->v);
    return -1;
  }
  for (int i = 0; i < p->n; i++) {
    blk[i] = p->v[2 * i];
    blk[p->n + i] = p->v[2 * i + 1];
  }
  free(p->v);
  *n = p->n;
  *a = blk;
  *b = blk + p->n;
  return 0;
}

static int read_csv(cpn_reader_t *r, const char *file_abs, const char *path, const char *col_a,
                    const char *const *col_b, pairs_t *p, int *which)
{
  const char *fn;
  FILE *f = cpn_csv_open(r, file_abs, path, &fn);
  if (!f)
    return 0;
  char line[LINE_MAX_BYTES], *fld[64];
  int col[64], lineno = 0, ia = -1, ib = -1, ok = 1, nf = 0;
  while (ok && fgets(line, sizeof line, f)) {
    lineno++;
    if (!strchr(line, '\n') && !feof(f)) {
      cpn_reader_report_at(r, fn, lineno, 1, path, "line longer than %d bytes", LINE_MAX_BYTES - 1);
      ok = 0;
      break;
    }
    if (cpn_csv_trim(line)[0] == '\0')
      continue;
    int k = cpn_csv_split(line, fld, col, 64);
    if (ia < 0) { /* the header */
      nf = k;
      for (int i = 0; i < k && i < 64; i++) {
        if (strcmp(fld[i], col_a) == 0)
          ia = i;
        for (int j = 0; col_b[j]; j++)
          if (strcmp(fld[i], col_b[j]) == 0) {
            if (ib >= 0) {
              cpn_reader_report_at(r, fn, lineno, col[i], path, "the header names both '%s' and '%s'; give one",
                                   col_b[*which], col_b[j]);
              ok = 0;
            }
            ib = i;
            *which = j;
          }
      }
      if (ia < 0 || ib < 0) {
        char want[160] = "";
        for (int j = 0; col_b[j]; j++)
          snprintf(want + strlen(want), sizeof want - strlen(want), "%s'%s'", j ? " or " : "", col_b[j]);
        cpn_reader_report_at(r, fn, lineno, 1, path, "the header must name the columns '%s' and %s", col_a, want);
        ok = 0;
      }
      continue;
    }
    if (k != nf) {
      cpn_reader_report_at(r, fn, lineno, 1, path, "%d fields, the header has %d", k, nf);
      ok = 0;
      break;
    }
    double x[2];
    int idx[2] = {ia, ib};
    for (int j = 0; j < 2 && ok; j++) {
      char *end;
      errno = 0;
      x[j] = strtod(fld[idx[j]], &end);
      if (fld[idx[j]][0] == '\0' || *end || errno == ERANGE || !isfinite(x[j])) {
        cpn_reader_report_at(r, fn, lineno, col[idx[j]], path, "column '%s': '%s' is not a finite number",
                             j ? col_b[*which] : col_a, fld[idx[j]]);
        ok = 0;
      }
    }
    if (!ok)
      break;
    if (p->n >= CPN_TABLE_ROWS_MAX) {
      cpn_reader_report_at(r, fn, lineno, 1, path, "more than %d rows", CPN_TABLE_ROWS_MAX);
      ok = 0;
    } else if (pairs_add(p, x[0], x[1]) != 0) {
      cpn_reader_set_out_of_memory(r);
      ok = 0;
    }
  }
  if (ok && ferror(f)) {
    cpn_reader_report_at(r, fn, lineno, 0, path, "read error");
    cpn_reader_set_io_error(r);
    ok = 0;
  }
  fclose(f);
  if (ok && p->n == 0) {
    cpn_reader_report_at(r, fn, lineno, 0, path, "the table has no rows");
    ok = 0;
  }
  return ok;
}

static int read_inline(cpn_reader_t *r, const cpn_reader_node_t *m, const char *path, const char *col_a,
                       const char *const *col_b, pairs_t *p, int *which)
{
  char kp[CPN_PATH_LEN], buf[80];
  const cpn_reader_node_t *va = cpn_reader_map_get(m, col_a), *vb = NULL;
  for (int j = 0; col_b[j]; j++) {
    const cpn_reader_node_t *v = cpn_reader_map_get(m, col_b[j]);
    if (v && vb) {
      cpn_reader_join(kp, path, col_b[j]);
      cpn_reader_report(r, v, kp, "give '%s' or '%s', not both", col_b[*which], col_b[j]);
      return 0;
    }
    if (v) {
      vb = v;
      *which = j;
    }
  }
  if (!va || !vb) {
    char want[160] = "";
    for (int j = 0; col_b[j]; j++)
      snprintf(want + strlen(want), sizeof want - strlen(want), "%s'%s'", j ? " or " : "", col_b[j]);
    cpn_reader_report(r, m, path, "needs 'file' or the lists '%s' and %s", col_a, want);
    return 0;
  }
  const cpn_reader_node_t *v2[2] = {va, vb};
  const char *names[2] = {col_a, col_b[*which]};
  for (int j = 0; j < 2; j++) {
    cpn_reader_join(kp, path, names[j]);
    if (v2[j]->kind != CPN_READER_SEQ || v2[j]->n == 0) {
      cpn_reader_report(r, v2[j], kp, "expected a non-empty list of numbers, got %s", cpn_reader_show(v2[j], buf, sizeof buf));
      return 0;
    }
  }
  if (va->n != vb->n) {
    cpn_reader_join(kp, path, names[1]);
    cpn_reader_report(r, vb, kp, "has %d entries, '%s' has %d: the lists must have the same length", vb->n, col_a,
                      va->n);
    return 0;
  }
  if (va->n > CPN_TABLE_ROWS_MAX) {
    cpn_reader_report(r, va, path, "more than %d rows", CPN_TABLE_ROWS_MAX);
    return 0;
  }
  int ok = 1;
  for (int i = 0; i < va->n; i++) {
    double x[2];
    for (int j = 0; j < 2; j++) {
      char base[CPN_PATH_LEN];
      cpn_reader_join(base, path, names[j]);
      cpn_reader_join_index(kp, base, i);
      if (!cpn_reader_get_num(r, v2[j]->vals[i], kp, &x[j]))
        ok = 0;
    }
    if (ok && pairs_add(p, x[0], x[1]) != 0) {
      cpn_reader_set_out_of_memory(r);
      return 0;
    }
  }
  return ok;
}

int cpn_table_read(cpn_reader_t *r, const cpn_reader_node_t *m, const char *path, const char *col_a,
                   const char *const *col_b, int *n, double **a, double **b, int *which)
{
  pairs_t p = {0};
  const cpn_reader_node_t *fv = cpn_reader_map_get(m, "file");
  int ok;
  *which = 0;
  if (fv) {
    char kp[CPN_PATH_LEN];
    cpn_reader_join(kp, path, "file");
    const char *inl = cpn_reader_map_get(m, col_a) ? col_a : NULL;
    for (int j = 0; !inl && col_b[j]; j++)
      if (cpn_reader_map_get(m, col_b[j]))
        inl = col_b[j];
    if (inl) {
      cpn_reader_report(r, fv, kp, "give the table in 'file' or inline ('%s'), not both", inl);
      return 0;
    }
    char abs[4096];
    if (!cpn_reader_resolve_file(r, fv, kp, "the table", abs, sizeof abs))
      return 0;
    ok = read_csv(r, abs, kp, col_a, col_b, &p, which);
  } else {
    ok = read_inline(r, m, path, col_a, col_b, &p, which);
  }
  if (!ok || pairs_finish(&p, n, a, b) != 0) {
    if (ok)
      cpn_reader_set_out_of_memory(r);
    else
      free(p.v);
    return 0;
  }
  return 1;
}

int cpn_table_has_column(cpn_reader_t *r, const cpn_reader_node_t *m, const char *path, const char *col)
{
  const cpn_reader_node_t *fv = cpn_reader_map_get(m, "file");
  char kp[CPN_PATH_LEN], abs[4096], line[LINE_MAX_BYTES], *fld[64];
  int cols[64], found = 0;
  if (!fv)
    return 0;
  cpn_reader_join(kp, path, "file");
  if (!cpn_reader_resolve_file(r, fv, kp, "the table", abs, sizeof abs))
    return 0;
  FILE *f = fopen(abs, "r");
  if (!f)
    return 0;
  while (fgets(line, sizeof line, f)) {
    if (cpn_csv_trim(line)[0] == '\0')
      continue;
    int k = cpn_csv_split(line, fld, cols, 64);
    for (int i = 0; i < k && i < 64; i++)
      found |= strcmp(fld[i], col) == 0;
    break;
  }
  fclose(f);
  return found;
}
