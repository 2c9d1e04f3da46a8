/* hourly_csv: hourly price and carbon tables of a site from a CSV file (see hourly_csv.h).
 *
 * Invariant: on success every hour 0..23 of the site was given exactly once, in every column the file has. */
#include "config/hourly_csv.h"
#include "config/csv_line.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 4096
#define FIELDS_MAX 16

enum { C_HOUR, C_PRICE, C_CO2, C_SITE, C_SOURCE, C_N };
static const char *const COLS[C_N] = {"hour", "price_usd_per_kwh", "co2_g_per_kwh", "site", "source"};

static int number(cpn_reader_t *r, const char *fn, int line, int col, const char *path, const char *name,
                  const char *text, double *out)
{
  char *end;
  errno = 0;
  *out = strtod(text, &end);
  if (!text[0] || *end || errno == ERANGE || !isfinite(*out) || *out < 0) {
    cpn_reader_report_at(r, fn, line, col, path, "column '%s': '%s' is not a finite number >= 0", name, text);
    return 0;
  }
  return 1;
}

int cpn_hourly_csv_read(cpn_reader_t *r, const char *file_abs, const char *path, const char *site, double *price,
                        int *has_price, double *co2, int *has_co2)
{
  const char *fn;
  *has_price = *has_co2 = 0;
  FILE *f = cpn_csv_open(r, file_abs, path, &fn);
  if (!f)
    return 0;
  char line[LINE_MAX_BYTES], *fld[FIELDS_MAX];
  int col[FIELDS_MAX], idx[C_N], lineno = 0, ok = 1, nf = -1, seen[24] = {0}, rows = 0, other_sites = 0;
  for (int c = 0; c < C_N; c++)
    idx[c] = -1;
  while (ok && fgets(line, sizeof line, f)) {
    lineno++;
    if (!strchr(line, '\n') && !feof(f)) {
      cpn_reader_report_at(r, fn, lineno, 1, path, "line longer than %d bytes", LINE_MAX_BYTES - 1);
      ok = 0;
      break;
    }
    char *t = cpn_csv_trim(line);
    if (t[0] == '\0' || t[0] == '#')
      continue;
    int k = cpn_csv_split(line, fld, col, FIELDS_MAX);
    if (nf < 0) { /* the header */
      nf = k;
      if (k > FIELDS_MAX) {
        cpn_reader_report_at(r, fn, lineno, 1, path, "%d columns; at most %d", k, FIELDS_MAX);
        ok = 0;
        break;
      }
      for (int i = 0; i < k; i++) {
        int c = 0;
        while (c < C_N && strcmp(fld[i], COLS[c]))
          c++;
        if (c == C_N) {
          cpn_reader_report_at(r, fn, lineno, col[i], path,
                               "unknown column '%s' (columns: hour, price_usd_per_kwh, co2_g_per_kwh, site, source)",
                               fld[i]);
          ok = 0;
        } else if (idx[c] >= 0) {
          cpn_reader_report_at(r, fn, lineno, col[i], path, "column '%s' given twice", fld[i]);
          ok = 0;
        } else {
          idx[c] = i;
        }
      }
      if (ok && (idx[C_HOUR] < 0 || (idx[C_PRICE] < 0 && idx[C_CO2] < 0))) {
        cpn_reader_report_at(r, fn, lineno, 1, path,
                             "the header must name 'hour' and at least one of 'price_usd_per_kwh' and 'co2_g_per_kwh'");
        ok = 0;
      }
      continue;
    }
    if (k != nf) {
      cpn_reader_report_at(r, fn, lineno, 1, path, "%d fields, the header has %d (fields are not quoted: no commas "
                           "inside one)", k, nf);
      ok = 0;
      break;
    }
    if (idx[C_SITE] >= 0 && strcmp(fld[idx[C_SITE]], site) != 0) {
      other_sites++;
      continue;
    }
    double h;
    char *end;
    errno = 0;
    h = strtod(fld[idx[C_HOUR]], &end);
    if (!fld[idx[C_HOUR]][0] || *end || !(h >= 0 && h <= 23) || h != floor(h)) {
      cpn_reader_report_at(r, fn, lineno, col[idx[C_HOUR]], path, "column 'hour': '%s' is not a whole hour 0..23",
                           fld[idx[C_HOUR]]);
      ok = 0;
      break;
    }
    int hi = (int)h;
    if (seen[hi]) {
      cpn_reader_report_at(r, fn, lineno, col[idx[C_HOUR]], path, "hour %d of site '%s' again (first on line %d)", hi,
                           site, seen[hi]);
      ok = 0;
      break;
    }
    seen[hi] = lineno;
    if (idx[C_PRICE] >= 0 && !number(r, fn, lineno, col[idx[C_PRICE]], path, COLS[C_PRICE], fld[idx[C_PRICE]], &price[hi]))
      ok = 0;
    if (idx[C_CO2] >= 0 && !number(r, fn, lineno, col[idx[C_CO2]], path, COLS[C_CO2], fld[idx[C_CO2]], &co2[hi]))
      ok = 0;
    rows++;
  }
  if (ok && ferror(f)) {
    cpn_reader_report_at(r, fn, lineno, 0, path, "read error");
    cpn_reader_set_io_error(r);
    ok = 0;
  }
  fclose(f);
  if (ok && nf < 0) {
    cpn_reader_report_at(r, fn, lineno, 0, path, "the file has no header line");
    ok = 0;
  }
  if (ok && rows == 0) {
    cpn_reader_report_at(r, fn, lineno, 0, path, "no rows for site '%s'%s", site,
                         other_sites ? " (the 'site' column names other sites only)" : "");
    ok = 0;
  }
  if (ok && rows != 24) {
    int h = 0;
    while (seen[h])
      h++;
    cpn_reader_report_at(r, fn, lineno, 0, path, "site '%s' has %d of the 24 hours (hour %d missing)", site, rows, h);
    ok = 0;
  }
  if (ok) {
    *has_price = idx[C_PRICE] >= 0;
    *has_co2 = idx[C_CO2] >= 0;
  }
  return ok;
}
