/* output: the HDF5 result file of one run (the only module that includes hdf5.h).
 *
 * Owns the file handle and the /requests row buffer. Rows are streamed: appended to a buffer and
 * flushed as chunks of a chunked, shuffled, deflated compound dataset. The file is written under
 * "<path>.tmp" and renamed to <path> by cpn_output_close(commit=1); cpn_output_close(commit=0) (or a
 * crash) leaves no file at <path>. One writer per path: "<path>.lock" is flocked from open to close, so
 * a second writer of the same path fails at open without touching the first one's files. Strings stored
 * as UTF-8 (names, keys, string attributes, the scenario text) must be valid UTF-8 (CPN_EINVAL if not). */
#ifndef CPN_OUTPUT_OUTPUT_H
#define CPN_OUTPUT_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "output/record.h"

typedef struct cpn_output cpn_output_t;

/* Locks "<path>.lock" (CPN_EIO naming the lock when another writer holds it), removes a leftover
 * "<path>.tmp" of a killed run, and creates "<path>.tmp" exclusively (never through a symbolic link).
 * Both files are registered with cpn_signal_track until close. */
cpn_err_t cpn_output_open(cpn_output_t **out, const char *path);
/* As cpn_output_open; with CPN_OUTPUT_SESSIONS /requests also has the columns `session` and `parent`
 * (cpn_record_t), which runs without sessions leave out so that their bytes stay the same. */
#define CPN_OUTPUT_SESSIONS 1u
cpn_err_t cpn_output_open_ex(cpn_output_t **out, const char *path, unsigned flags);

/* The default result file name for a scenario called scenario_name, in the working directory:
 * "<name>.h5" where every byte that could make it something other than a plain file name there is
 * replaced by '_': '/', '\\', control bytes, bytes that are not well-formed UTF-8, a leading '-',
 * a '.' that is first, last or next to another '.' (so no ".", ".." or hidden file). An empty name gives "cpnsim.h5"; a long one is cut (on a character
 * boundary) to fit buf and NAME_MAX. CPN_EINVAL only when buf is smaller than 5 bytes. */
cpn_err_t cpn_output_default_path(const char *scenario_name, char *buf, size_t size);
/* Root attributes. Call any time before close. */
cpn_err_t cpn_output_attr_str(cpn_output_t *o, const char *name, const char *value);
cpn_err_t cpn_output_attr_double(cpn_output_t *o, const char *name, double value);
cpn_err_t cpn_output_attr_int(cpn_output_t *o, const char *name, int64_t value);
/* /scenario: the scenario text as loaded. */
cpn_err_t cpn_output_scenario_text(cpn_output_t *o, const char *text);
/* /names/<what>: a 1-D dataset of strings (site, model, class, tenant, origin names). */
cpn_err_t cpn_output_names(cpn_output_t *o, const char *what, const char *const *names, size_t n);
/* Appends one row to /requests (buffered). */
cpn_err_t cpn_output_request(cpn_output_t *o, const cpn_record_t *r);

/* A generic table written at once: /<group>/<name> as a compound dataset with string column `key`
 * ("overall", a site name...) and double columns. Used for /summary, /timeseries, /transfers, /events. */
typedef struct {
  const char *path;             /* e.g. "/summary/sites" (intermediate groups are created) */
  size_t n_rows;
  size_t n_cols;
  const char *const *col_names; /* n_cols double columns */
  const char *const *keys;      /* n_rows row labels, or NULL for no key column */
  const double *values;         /* n_rows * n_cols, row-major */
} cpn_table_t;
cpn_err_t cpn_output_table(cpn_output_t *o, const cpn_table_t *t);

/* Flushes, closes and, if commit, renames the temporary file to its final path; otherwise removes it.
 * Accepts NULL. */
cpn_err_t cpn_output_close(cpn_output_t *o, int commit);

/* The HDF5 memory datatype of one cpn_record_t row (an hid_t, returned as int64_t so that this header
 * need not include hdf5.h), for readers that H5Dread /requests straight into cpn_record_t: tests and
 * analysis tools. Field names and order are those of /requests. The caller owns it and releases it
 * with H5Tclose. Returns a negative value (and sets the error message) on failure. */
int64_t cpn_output_record_memtype(void);

#endif
