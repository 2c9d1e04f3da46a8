/* csv_line: the one CSV opener and line splitter of the scenario's own CSV inputs (config/table.c's
 * per-window tables, config/hourly_csv.c's hourly price and carbon). No quoting: those files hold numbers
 * and plain names. Owns nothing; works in place on the caller's line. */
#ifndef CPN_CONFIG_CSV_LINE_H
#define CPN_CONFIG_CSV_LINE_H

#include <stdio.h>

#include "config/reader.h"

/* Drops leading blanks and trailing blanks and line ends, in place; returns the first kept character. */
char *cpn_csv_trim(char *s);

/* Splits a line at commas in place into trimmed fields f[] with their 1-based columns col[]; returns the
 * number of fields (those past max are counted, not kept). */
int cpn_csv_split(char *line, char **f, int *col, int max);

/* Opens a CSV input named at scenario key `path` (file_abs: its resolved path); on failure reports
 * "cannot open" at that key, marks the reader's I/O error and returns NULL. *fn: the interned file name
 * for later reports. */
FILE *cpn_csv_open(cpn_reader_t *r, const char *file_abs, const char *path, const char **fn);

#endif
