/* table: two-column numeric tables in a scenario (rate schedules: t_s and rate_rps; token-length
 * tables: values and probs or cdf), given inline as two lists of the same length or as a CSV file with
 * a header naming the two columns. Internal to sim/config/.
 *
 * Owns nothing after it returns: the columns are one malloc'd block handed to the caller. Problems are
 * reported through the reader with their location (the scenario's key for inline lists, FILE:LINE:COL
 * of the CSV for a file), and reading goes on. */
#ifndef CPN_CONFIG_TABLE_H
#define CPN_CONFIG_TABLE_H

#include "config/reader.h"

#define CPN_TABLE_ROWS_MAX 100000 /* rows of one table: schedules of a year by 5-minute windows fit */

/* Reads the table of mapping m (key path `path`): either `file` (the CSV; other columns ignored) or the
 * inline lists, never both. col_a is the first column's name; col_b lists the names the second may
 * take (NULL-terminated; exactly one of them must be present). On success returns 1 with *n rows, *a
 * and *b pointing into one malloc'd block of 2 * n doubles (free *a), *which the index in col_b, and
 * *file_node the `file` value (NULL inline). Returns 0 after reporting (nothing allocated). */
int cpn_table_read(cpn_reader_t *r, const cpn_reader_node_t *m, const char *path, const char *col_a,
                   const char *const *col_b, int *n, double **a, double **b, int *which);

/* 1 when mapping m names a `file` whose header has the column `col` (0 otherwise, and when the file
 * cannot be read: cpn_table_read then reports why). */
int cpn_table_has_column(cpn_reader_t *r, const cpn_reader_node_t *m, const char *path, const char *col);

#endif
