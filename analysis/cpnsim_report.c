/* cpnsim-report: summaries, policy comparisons and a regression gate computed from cpnsim HDF5 result
 * files (format: README.md "HDF5 output"; usage: analysis/README.md).
 *
 *   cpnsim-report summary RUN.h5 [RUN2.h5 ...]                   overall, per site, class, tenant, model
 *   cpnsim-report compare A.h5 B.h5 ...                          groups of seeds side by side, with noise
 *   cpnsim-report check --baseline B.h5 --tolerances T RUN.h5    exit 1 on a regression
 *
 * What it owns: one run_t per file (group names and per-group metrics). The /requests rows are streamed
 * in blocks; only the three latencies of each measured request and its group indices are kept, so the
 * percentiles are exact. Output is built as grids of strings and printed as aligned text, CSV or Markdown.
 *
 * Where each metric comes from: everything /requests can give is recomputed here, in double precision,
 * over the measured window (t_arrival >= the warmup_s root attribute), with the definitions of
 * models/cpn_metrics.h, the same functions the engine's /summary uses (documented in analysis/README.md
 * "Metrics"; TPOT between the first and last token as delivered to the user). Five metrics need
 * data /requests does not hold and are read from /summary by group name: slo_attainment (the class SLOs
 * live in the scenario), cross_border_bytes (request sizes in bytes), utilisation (accelerator counts
 * and busy time) and the full cost (full_cost_usd and per million tokens: the fleet's capex and idle
 * power are nowhere in /requests).
 *
 * Exit codes: 0 fine, 1 regression (check only), 2 bad input: command line, an unreadable or invalid
 * result file (the message names the file), a bad tolerance file (the message names file:line).
 *
 * Untrusted files: every size read from a file is bounded before it is allocated (see "limits" below),
 * and each file is read in a forked child (run_load_isolated), since libhdf5 1.10 itself crashes on some
 * corrupt files (e.g. a SEGV in H5HG_read on a bad global-heap id) and that cannot be fixed here: a crash
 * there becomes an error naming the file and exit 2, and the child sends the loaded run back through a pipe.
 *
 * This tool includes hdf5.h although it lives outside sim/output.c on purpose: it is a reader of the
 * documented format, independent of the simulator's code, so that machines that only analyse results
 * need neither SimGrid nor igraph, and old result files stay readable. It links only cpn_models (pure
 * functions, GSL and libc) for the metric definitions, never the simulator core. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr and the registers of a ucontext, to name the library a crash was in */
#endif
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <hdf5.h>

#include "cpn_metrics.h"

enum { EXIT_FINE = 0, EXIT_REGRESSION = 1, EXIT_BAD_INPUT = 2 };
enum { BLOCK_ROWS = 65536 }; /* /requests rows read per H5Dread */

/* ---- errors ------------------------------------------------------------------------------------- */

/* The last failure's message. Every fallible function returns -1 after fail() and writes its outputs
 * only on success; main prints the message and exits 2. */
static char err_msg[2048];

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err_msg, sizeof err_msg, fmt, ap);
  va_end(ap);
  return -1;
}

static volatile sig_atomic_t in_reading_child;
enum { CHILD_NO_MEMORY_OTHER = 61 }; /* the reading child's exit code: see run_load_isolated */

static void *xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size);
  if (!p && in_reading_child) /* over the reading child's memory budget: the parent says so */
    _exit(CHILD_NO_MEMORY_OTHER);
  if (!p) {
    fprintf(stderr, "cpnsim-report: out of memory\n");
    exit(EXIT_BAD_INPUT);
  }
  return p;
}

static char *xstrndup(const char *s, size_t max)
{
  size_t n = 0;
  while (n < max && s[n])
    n++;
  char *d = xcalloc(n + 1, 1);
  memcpy(d, s, n);
  return d;
}

static char *xstrdup(const char *s)
{
  return xstrndup(s, strlen(s));
}

/* ---- metrics ------------------------------------------------------------------------------------ */

enum { K_OVERALL, K_SITE, K_CLASS, K_TENANT, K_MODEL, KINDS };
static const char *const kind_names[KINDS] = {"overall", "site", "class", "tenant", "model"};
static const char *const kind_titles[KINDS] = {"overall", "per site", "per class", "per tenant", "per model"};
static const char *const summary_paths[KINDS] = {"/summary/overall", "/summary/sites", "/summary/classes",
                                                 "/summary/tenants", "/summary/models"};

/* The report's metrics, per group. The status and reason counts must follow the order of the names below
 * (they are matched by name against the file's enum types). */
enum {
  M_REQUESTS, M_COMPLETED, M_REJECTED, M_FAILED, M_TIMED_OUT,
  M_R_NO_ELIGIBLE_SITE, M_R_POLICY_REJECT, M_R_POLICY_VIOLATION, M_R_ADMISSION, M_R_QUEUE_TIMEOUT,
  M_R_SITE_FAILURE, M_R_LINK_FAILURE, M_R_TOO_LARGE, M_R_END_OF_RUN,
  M_COMPLETED_FRAC, M_PROMPT_TOKENS, M_OUTPUT_TOKENS, M_TOKENS_PER_S,
  M_TTFT_P50, M_TTFT_P95, M_TTFT_P99, M_TTFT_MEAN,
  M_E2E_P50, M_E2E_P95, M_E2E_P99, M_E2E_MEAN,
  M_TPOT_P50, M_TPOT_P95, M_TPOT_P99,
  M_SLO_ATTAINMENT, M_COST_USD, M_COST_PER_MTOK, M_ENERGY_J, M_ENERGY_KWH_PER_MTOK, M_CO2_G,
  M_CO2_PER_MTOK, M_XB_REQUESTS, M_XB_BYTES, M_UTILISATION, M_FULL_COST_USD, M_FULL_COST_PER_MTOK,
  M_COUNT
};

static const char *const metric_names[M_COUNT] = {
  "requests", "completed", "rejected", "failed", "timed_out",
  "reason_no_eligible_site", "reason_policy_reject", "reason_policy_violation", "reason_admission",
  "reason_queue_timeout", "reason_site_failure", "reason_link_failure", "reason_too_large",
  "reason_end_of_run",
  "completed_frac", "prompt_tokens", "output_tokens", "tokens_per_s",
  "ttft_p50_s", "ttft_p95_s", "ttft_p99_s", "ttft_mean_s",
  "e2e_p50_s", "e2e_p95_s", "e2e_p99_s", "e2e_mean_s",
  "tpot_p50_s", "tpot_p95_s", "tpot_p99_s",
  "slo_attainment", "cost_usd", "cost_usd_per_mtok", "energy_j", "energy_kwh_per_mtok", "co2_g",
  "co2_g_per_mtok", "cross_border_requests", "cross_border_bytes", "utilisation", "full_cost_usd",
  "full_cost_usd_per_mtok",
};

/* Metrics read from /summary (by column name) instead of being recomputed. */
static const int summary_metrics[] = {M_SLO_ATTAINMENT, M_XB_BYTES, M_UTILISATION, M_FULL_COST_USD,
                                      M_FULL_COST_PER_MTOK};

/* The metrics compare shows unless --metrics says otherwise. */
static const char *const default_compare_metrics =
  "ttft_p50_s,ttft_p95_s,ttft_p99_s,e2e_p99_s,tpot_p50_s,slo_attainment,completed_frac,cost_usd_per_mtok,"
  "full_cost_usd_per_mtok,co2_g_per_mtok,utilisation";

static int metric_find(const char *name)
{
  for (int m = 0; m < M_COUNT; m++)
    if (!strcmp(metric_names[m], name))
      return m;
  return -1;
}

/* The name of the site group that collects measured requests never placed on a site. */
static const char unplaced_name[] = "(unplaced)";

/* ---- one result file ---------------------------------------------------------------------------- */

typedef struct {
  char *path;
  char policy[256], scenario[256], format_version[64];
  long long seed;
  double warmup_s, duration_s;
  size_t n_rows, n_measured;
  int n_groups[KINDS];        /* groups shown */
  int n_slots[KINDS];         /* groups held: sites keep one more slot, for requests never placed */
  char **names[KINDS];
  double *m[KINDS]; /* n_groups[k] * M_COUNT */
} run_t;

static void run_destroy(run_t *r)
{
  if (!r)
    return;
  for (int k = 0; k < KINDS; k++) {
    if (r->names[k])
      for (int g = 0; g < r->n_slots[k]; g++)
        free(r->names[k][g]);
    free(r->names[k]);
    free(r->m[k]);
  }
  free(r->path);
  memset(r, 0, sizeof *r);
}

static double *metrics_of(const run_t *r, int k, int g)
{
  return &r->m[k][(size_t)g * M_COUNT];
}

static int group_find(const run_t *r, int k, const char *name)
{
  for (int g = 0; g < r->n_groups[k]; g++)
    if (!strcmp(r->names[k][g], name))
      return g;
  return -1;
}

/* ---- HDF5 readers ------------------------------------------------------------------------------- */

/* A string memory type matching the file type `ft`: fixed length (NUL-padded) or variable length, same
 * character set (HDF5 does not convert between ASCII and UTF-8). */
static hid_t string_memtype(hid_t ft)
{
  hid_t mt = H5Tcopy(H5T_C_S1);
  htri_t var = H5Tis_variable_str(ft);
  size_t size = H5Tget_size(ft);
  H5T_cset_t cset = H5Tget_cset(ft);
  if (mt < 0 || var < 0 || cset < 0 || (var > 0 ? H5Tset_size(mt, H5T_VARIABLE) < 0
                                                 : size == 0 || H5Tset_size(mt, size) < 0 ||
                                                       H5Tset_strpad(mt, H5T_STR_NULLPAD) < 0) ||
      H5Tset_cset(mt, cset) < 0) {
    if (mt >= 0)
      H5Tclose(mt);
    return -1; /* the caller reports it */
  }
  return mt;
}

/* ---- limits on what a file may claim ------------------------------------------------------------
 * A result file is untrusted input: every size read from it (a dataspace's extent, a string's width, a
 * compound's member count) is checked against the limits below and against the bytes the dataset really
 * stores before anything is allocated from it (a /names dataset that claims 2^32 entries of 8 bytes used
 * to allocate 32 GiB from a 2 KB file). */
enum {
  MAX_GROUPS = 1 << 22,          /* entries of a /names dataset or /summary table (sites, classes, tenants) */
  MAX_STRING_BYTES = 1 << 16,    /* width of a fixed-length string (cpnsim writes names of at most 256) */
  MAX_TABLE_COLUMNS = 4096,      /* members of a /summary table */
  MAX_COMPRESSION_RATIO = 1100,  /* deflate's ratio cannot pass 1032:1 (RFC 1951: 258 bytes per 2 bits) */
};
#define MAX_REQUEST_ROWS ((hsize_t)1 << 36) /* /requests rows (a sane bound; the stored bytes bind first) */

/* The number of entries n of the 1-D dataset d (space sp, file type ft), checked: at most max_n, and no
 * more than its stored bytes can hold: n x element size <= storage size (x MAX_COMPRESSION_RATIO when the
 * dataset is filtered), the storage no larger than the file. */
static int dataset_extent(hid_t f, hid_t d, hid_t sp, hid_t ft, const char *file, const char *dset,
                          hsize_t max_n, hsize_t *n_out)
{
  hsize_t n = 0, file_size = 0;
  size_t elem = H5Tget_size(ft);
  if (H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, &n, NULL) != 1)
    return fail("%s: %s is not a 1-D dataset", file, dset);
  if (n > max_n)
    return fail("%s: %s claims %llu entries, over this report's limit of %llu (corrupt file?)", file, dset,
                (unsigned long long)n, (unsigned long long)max_n);
  if (elem == 0 || elem > (size_t)MAX_STRING_BYTES * MAX_TABLE_COLUMNS)
    return fail("%s: %s has entries of %zu bytes (corrupt file?)", file, dset, elem);
  hid_t dcpl = H5Dget_create_plist(d);
  int n_filters = dcpl < 0 ? -1 : H5Pget_nfilters(dcpl);
  if (dcpl >= 0)
    H5Pclose(dcpl);
  if (n_filters < 0 || H5Fget_filesize(f, &file_size) < 0)
    return fail("%s: cannot read the storage properties of %s", file, dset);
  hsize_t stored = H5Dget_storage_size(d);
  double need = (double)n * (double)elem, can = (double)stored * (n_filters > 0 ? MAX_COMPRESSION_RATIO : 1);
  if (stored > file_size || need > can)
    return fail("%s: %s claims %llu entries of %zu bytes but stores %llu bytes in a file of %llu: truncated or "
                "corrupt", file, dset, (unsigned long long)n, elem, (unsigned long long)stored,
                (unsigned long long)file_size);
  *n_out = n;
  return 0;
}

/* Opens the root attribute `name` and checks it holds one value (scalar or 1 element): the reads below
 * write one value, and H5Aread writes as many as the attribute's space holds. */
static hid_t open_attr1(hid_t f, const char *file, const char *name, hid_t *ft)
{
  if (H5Aexists(f, name) <= 0) {
    fail("%s: root attribute '%s' is missing (not a cpnsim result file?)", file, name);
    return -1;
  }
  hid_t a = H5Aopen(f, name, H5P_DEFAULT);
  hid_t sp = a < 0 ? -1 : H5Aget_space(a);
  hssize_t npoints = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
  if (sp >= 0)
    H5Sclose(sp);
  *ft = npoints == 1 ? H5Aget_type(a) : -1;
  if (*ft < 0) {
    if (a >= 0)
      H5Aclose(a);
    fail("%s: root attribute '%s' is unreadable or not a single value", file, name);
    return -1;
  }
  return a;
}

static int read_attr_str(hid_t f, const char *file, const char *name, char *out, size_t size)
{
  hid_t ft, a = open_attr1(f, file, name, &ft);
  if (a < 0)
    return -1;
  int rc = 0;
  if (H5Tget_class(ft) != H5T_STRING) {
    rc = fail("%s: root attribute '%s' is not a string", file, name);
  } else {
    hid_t mt = string_memtype(ft);
    if (mt < 0) {
      rc = fail("%s: root attribute '%s' has an unreadable string type", file, name);
    } else if (H5Tis_variable_str(ft) > 0) {
      char *s = NULL;
      if (H5Aread(a, mt, &s) < 0)
        rc = fail("%s: cannot read root attribute '%s'", file, name);
      else
        snprintf(out, size, "%s", s ? s : "");
      H5free_memory(s);
    } else {
      size_t n = H5Tget_size(ft);
      if (n == 0 || n > MAX_STRING_BYTES) {
        rc = fail("%s: root attribute '%s' is a string of %zu bytes (corrupt file?)", file, name, n);
      } else {
        char *buf = xcalloc(n + 1, 1);
        if (H5Aread(a, mt, buf) < 0)
          rc = fail("%s: cannot read root attribute '%s'", file, name);
        else
          snprintf(out, size, "%s", buf);
        free(buf);
      }
    }
    if (mt >= 0)
      H5Tclose(mt);
  }
  H5Tclose(ft);
  H5Aclose(a);
  return rc;
}

static int read_attr_double(hid_t f, const char *file, const char *name, double *out)
{
  hid_t ft, a = open_attr1(f, file, name, &ft);
  if (a < 0)
    return -1;
  H5T_class_t c = H5Tget_class(ft);
  double v = NAN;
  int rc = 0;
  if ((c != H5T_INTEGER && c != H5T_FLOAT) || H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
    rc = fail("%s: root attribute '%s' is not a number", file, name);
  H5Tclose(ft);
  H5Aclose(a);
  if (!rc)
    *out = v;
  return rc;
}

/* Opens dataset `dset` with its file type and space; -1 (after fail) when any of them cannot be had. */
static int open_dataset(hid_t f, const char *file, const char *dset, hid_t *d, hid_t *ft, hid_t *sp)
{
  *d = *ft = *sp = -1;
  if (H5Lexists(f, dset, H5P_DEFAULT) <= 0)
    return fail("%s: %s is missing (not a cpnsim result file?)", file, dset);
  if ((*d = H5Dopen2(f, dset, H5P_DEFAULT)) < 0 || (*ft = H5Dget_type(*d)) < 0 || (*sp = H5Dget_space(*d)) < 0)
    return fail("%s: %s cannot be opened (corrupt file?)", file, dset);
  return 0;
}

static void close_dataset(hid_t d, hid_t ft, hid_t sp)
{
  if (sp >= 0)
    H5Sclose(sp);
  if (ft >= 0)
    H5Tclose(ft);
  if (d >= 0)
    H5Dclose(d);
}

/* Reads the 1-D string dataset `dset` into a new array of n new strings (room for n + 1). */
static int read_strings(hid_t f, const char *file, const char *dset, char ***out, int *n_out)
{
  hid_t d, ft, sp, mt = -1;
  hsize_t n = 0;
  char **names = NULL;
  int rc = open_dataset(f, file, dset, &d, &ft, &sp);
  if (rc)
    goto done;
  if (H5Tget_class(ft) != H5T_STRING || H5Sget_simple_extent_ndims(sp) != 1) {
    rc = fail("%s: %s is not a 1-D string dataset", file, dset);
    goto done;
  }
  htri_t var = H5Tis_variable_str(ft);
  size_t sz = H5Tget_size(ft);
  if (var < 0 || (!var && (sz == 0 || sz > MAX_STRING_BYTES))) {
    rc = fail("%s: %s has strings of %zu bytes (corrupt file?)", file, dset, sz);
    goto done;
  }
  if ((rc = dataset_extent(f, d, sp, ft, file, dset, MAX_GROUPS, &n)))
    goto done;
  if ((mt = string_memtype(ft)) < 0) {
    rc = fail("%s: %s has an unreadable string type", file, dset);
    goto done;
  }
  names = xcalloc((size_t)n + 1, sizeof *names); /* +1: room for a group the caller appends */
  if (var) {
    char **tmp = xcalloc((size_t)n, sizeof *tmp);
    if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) < 0)
      rc = fail("%s: cannot read %s", file, dset);
    else {
      for (hsize_t i = 0; i < n; i++)
        names[i] = xstrndup(tmp[i] ? tmp[i] : "", MAX_STRING_BYTES);
      H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, tmp);
    }
    free(tmp);
  } else {
    char *buf = xcalloc((size_t)n, sz);
    if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
      rc = fail("%s: cannot read %s", file, dset);
    else
      for (hsize_t i = 0; i < n; i++)
        names[i] = xstrndup(buf + i * sz, sz);
    free(buf);
  }
done:
  if (mt >= 0)
    H5Tclose(mt);
  close_dataset(d, ft, sp);
  if (rc) {
    if (names)
      for (hsize_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
  }
  *out = names;
  *n_out = (int)n;
  return 0;
}

/* A /summary table: a fixed-length string column `key` and numeric columns, all read as doubles. */
typedef struct {
  int n_rows, n_cols;
  char **keys;
  char **cols;
  double *v; /* n_rows * n_cols */
} h5table_t;

static void h5table_destroy(h5table_t *t)
{
  for (int i = 0; i < t->n_rows; i++)
    free(t->keys[i]);
  for (int j = 0; j < t->n_cols; j++)
    free(t->cols[j]);
  free(t->keys);
  free(t->cols);
  free(t->v);
  memset(t, 0, sizeof *t);
}

static int read_table(hid_t f, const char *file, const char *dset, h5table_t *t)
{
  memset(t, 0, sizeof *t);
  hid_t d = -1, ft = -1, sp = -1, mt = -1, kt = -1, kft = -1;
  int rc = 0, nm = 0, key = -1;
  hsize_t n = 0;
  char *buf = NULL;
  if (H5Lexists(f, "/summary", H5P_DEFAULT) <= 0) {
    rc = fail("%s: %s is missing (not a cpnsim result file?)", file, dset);
    goto done;
  }
  if ((rc = open_dataset(f, file, dset, &d, &ft, &sp)))
    goto done;
  nm = H5Tget_nmembers(ft);
  if (H5Tget_class(ft) != H5T_COMPOUND || nm < 0 || nm > MAX_TABLE_COLUMNS || H5Sget_simple_extent_ndims(sp) != 1) {
    rc = fail("%s: %s is not a 1-D table of at most %d columns", file, dset, MAX_TABLE_COLUMNS);
    goto done;
  }
  if ((rc = dataset_extent(f, d, sp, ft, file, dset, MAX_GROUPS + 1, &n)))
    goto done;
  t->cols = xcalloc((size_t)nm, sizeof *t->cols);
  int nc = 0;
  for (int i = 0; i < nm; i++) {
    H5T_class_t c = H5Tget_member_class(ft, (unsigned)i);
    char *name = H5Tget_member_name(ft, (unsigned)i);
    if (!name) {
      rc = fail("%s: %s: column %d has no name", file, dset, i);
      goto done;
    }
    if (!strcmp(name, "key") && c == H5T_STRING)
      key = i;
    else if (c == H5T_FLOAT || c == H5T_INTEGER)
      t->cols[nc++] = xstrdup(name);
    t->n_cols = nc; /* so that an error below frees the names kept so far */
    H5free_memory(name);
  }
  if (key < 0) {
    rc = fail("%s: %s has no string column 'key'", file, dset);
    goto done;
  }
  kft = H5Tget_member_type(ft, (unsigned)key);
  htri_t kvar = kft < 0 ? -1 : H5Tis_variable_str(kft);
  if (kvar != 0) {
    rc = fail("%s: %s: %s", file, dset, kvar > 0 ? "variable-length keys are not supported" : "unreadable key type");
    goto done;
  }
  /* Memory row: the doubles first (aligned), then the key. */
  size_t ks = H5Tget_size(kft);
  if (ks == 0 || ks > MAX_STRING_BYTES) {
    rc = fail("%s: %s: keys of %zu bytes (corrupt file?)", file, dset, ks);
    goto done;
  }
  size_t row = ((size_t)nc * sizeof(double) + ks + 7) / 8 * 8;
  if ((mt = H5Tcreate(H5T_COMPOUND, row)) < 0 || (kt = string_memtype(kft)) < 0) {
    rc = fail("%s: %s: cannot make its memory type", file, dset);
    goto done;
  }
  for (int j = 0; j < nc; j++)
    if (H5Tinsert(mt, t->cols[j], (size_t)j * sizeof(double), H5T_NATIVE_DOUBLE) < 0) {
      rc = fail("%s: %s: column '%s' cannot be read (a repeated name?)", file, dset, t->cols[j]);
      goto done;
    }
  if (H5Tinsert(mt, "key", (size_t)nc * sizeof(double), kt) < 0) {
    rc = fail("%s: %s: column 'key' cannot be read", file, dset);
    goto done;
  }
  buf = xcalloc((size_t)n, row);
  if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
    rc = fail("%s: cannot read %s", file, dset);
    goto done;
  }
  t->n_rows = (int)n;
  t->n_cols = nc;
  t->keys = xcalloc((size_t)n, sizeof *t->keys);
  t->v = xcalloc((size_t)n * (size_t)nc, sizeof *t->v);
  for (hsize_t i = 0; i < n; i++) {
    memcpy(&t->v[i * (size_t)nc], buf + i * row, (size_t)nc * sizeof(double));
    t->keys[i] = xstrndup(buf + i * row + (size_t)nc * sizeof(double), ks);
  }
done:
  free(buf);
  if (kt >= 0)
    H5Tclose(kt);
  if (kft >= 0)
    H5Tclose(kft);
  if (mt >= 0)
    H5Tclose(mt);
  close_dataset(d, ft, sp);
  if (rc)
    h5table_destroy(t);
  return rc;
}

/* The /requests columns the report uses; read by name, so added columns do not matter. */
typedef struct {
  double t_arrival, t_first_token, t_done, net_out_s, cost_usd, energy_j, co2_g;
  int32_t tenant, cls, site, model;
  uint32_t prompt_tokens, output_tokens;
  uint8_t status, reason, cross_border;
} row_t;

/* One measured request: its latencies (NaN when it has none) and its group in each kind. */
typedef struct {
  double ttft_s, e2e_s, tpot_s;
  int32_t g[KINDS];
} sample_t;

/* Maps the values of the enum column `col` to metric indices by name: names[i] is the metric of
 * enum name i (first = metric of names[0], in order); `skip` names a value that counts nowhere. */
static int enum_map(hid_t ft, const char *file, const char *col, int first, const char *const *names, int n,
                    const char *prefix, const char *skip, int map[256])
{
  int idx = H5Tget_member_index(ft, col);
  hid_t et = idx < 0 ? -1 : H5Tget_member_type(ft, (unsigned)idx);
  int rc = 0;
  for (int i = 0; i < 256; i++)
    map[i] = -1;
  if (et < 0 || H5Tget_class(et) != H5T_ENUM || H5Tget_size(et) != 1) {
    if (et >= 0)
      H5Tclose(et);
    return fail("%s: /requests column '%s' is not a one-byte enum", file, col);
  }
  int nm = H5Tget_nmembers(et);
  if (nm < 0 || nm > 256)
    rc = fail("%s: /requests column '%s' has %d values (corrupt file?)", file, col, nm);
  for (int i = 0; i < nm && !rc; i++) {
    char *name = H5Tget_member_name(et, (unsigned)i);
    uint8_t v = 0;
    if (!name || H5Tget_member_value(et, (unsigned)i, &v) < 0) {
      H5free_memory(name);
      rc = fail("%s: /requests column '%s': value %d is unreadable", file, col, i);
      break;
    }
    if (skip && !strcmp(name, skip))
      map[v] = -2;
    for (int j = 0; j < n && map[v] == -1; j++) {
      char full[64];
      snprintf(full, sizeof full, "%s%s", prefix, name);
      if (!strcmp(names[j], full))
        map[v] = first + j;
    }
    if (map[v] == -1)
      rc = fail("%s: /requests column '%s' has value '%s', unknown to this report (newer format?)", file, col,
                name);
    H5free_memory(name);
  }
  H5Tclose(et);
  return rc;
}

static hid_t row_memtype(hid_t ft, const char *file)
{
  static const struct {
    const char *name;
    size_t off;
    int kind; /* 0 double, 1 int32, 2 uint32, 3 uint8 (enum or flag) */
  } cols[] = {
    {"t_arrival", offsetof(row_t, t_arrival), 0},   {"t_first_token", offsetof(row_t, t_first_token), 0},
    {"t_done", offsetof(row_t, t_done), 0},         {"net_out_s", offsetof(row_t, net_out_s), 0},
    {"cost_usd", offsetof(row_t, cost_usd), 0},     {"energy_j", offsetof(row_t, energy_j), 0},
    {"co2_g", offsetof(row_t, co2_g), 0},           {"tenant", offsetof(row_t, tenant), 1},
    {"class", offsetof(row_t, cls), 1},             {"site", offsetof(row_t, site), 1},
    {"model", offsetof(row_t, model), 1},
    {"prompt_tokens", offsetof(row_t, prompt_tokens), 2},
    {"output_tokens", offsetof(row_t, output_tokens), 2},
    {"status", offsetof(row_t, status), 3},         {"reason", offsetof(row_t, reason), 3},
    {"cross_border", offsetof(row_t, cross_border), 3},
  };
  hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(row_t));
  if (mt < 0) {
    fail("%s: cannot make the memory type of /requests", file);
    return -1;
  }
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
    int idx = H5Tget_member_index(ft, cols[i].name);
    if (idx < 0) {
      H5Tclose(mt);
      fail("%s: /requests has no column '%s'", file, cols[i].name);
      return -1;
    }
    hid_t t;
    if (cols[i].kind == 3) {
      /* Enums convert only to enums: use the file's own enum with a native base, so values pass as is
       * (one byte only: the field in row_t is one byte). */
      hid_t fm = H5Tget_member_type(ft, (unsigned)idx);
      H5T_class_t c = fm < 0 ? H5T_NO_CLASS : H5Tget_class(fm);
      t = c != H5T_ENUM ? H5Tcopy(H5T_NATIVE_UINT8) : H5Tget_size(fm) == 1 ? H5Tget_native_type(fm, H5T_DIR_ASCEND) : -1;
      if (fm >= 0)
        H5Tclose(fm);
    } else {
      t = H5Tcopy(cols[i].kind == 0 ? H5T_NATIVE_DOUBLE : cols[i].kind == 1 ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32);
    }
    herr_t ins = t < 0 ? -1 : H5Tinsert(mt, cols[i].name, cols[i].off, t);
    if (t >= 0)
      H5Tclose(t);
    if (ins < 0) {
      H5Tclose(mt);
      fail("%s: /requests column '%s' has a type this report cannot read", file, cols[i].name);
      return -1;
    }
  }
  return mt;
}

/* Percentiles of the three latencies for every group of kind k: a counting sort by group puts each
 * group's values in one segment of `buf`, which is then sorted. The means, summed by read_requests in
 * row order, are divided by the sample counts here. */
static void latency_metrics(run_t *r, int k, const sample_t *s, size_t n, double *buf, size_t *off)
{
  static const int pct[3][4] = {{M_TTFT_P50, M_TTFT_P95, M_TTFT_P99, M_TTFT_MEAN},
                                {M_E2E_P50, M_E2E_P95, M_E2E_P99, M_E2E_MEAN},
                                {M_TPOT_P50, M_TPOT_P95, M_TPOT_P99, -1}};
  int ng = r->n_slots[k];
  for (int which = 0; which < 3; which++) {
    memset(off, 0, (size_t)(ng + 1) * sizeof *off);
    for (size_t i = 0; i < n; i++) {
      double v = which == 0 ? s[i].ttft_s : which == 1 ? s[i].e2e_s : s[i].tpot_s;
      if (isfinite(v))
        off[s[i].g[k] + 1]++;
    }
    for (int g = 0; g < ng; g++)
      off[g + 1] += off[g];
    size_t *pos = xcalloc((size_t)ng, sizeof *pos);
    memcpy(pos, off, (size_t)ng * sizeof *pos);
    for (size_t i = 0; i < n; i++) {
      double v = which == 0 ? s[i].ttft_s : which == 1 ? s[i].e2e_s : s[i].tpot_s;
      if (isfinite(v))
        buf[pos[s[i].g[k]]++] = v;
    }
    free(pos);
    for (int g = 0; g < ng; g++) {
      double *seg = buf + off[g], *m = metrics_of(r, k, g);
      size_t cnt = off[g + 1] - off[g];
      gsl_sort(seg, 1, cnt);
      m[pct[which][0]] = cpn_metric_percentile(seg, cnt, 0.50);
      m[pct[which][1]] = cpn_metric_percentile(seg, cnt, 0.95);
      m[pct[which][2]] = cpn_metric_percentile(seg, cnt, 0.99);
      if (pct[which][3] >= 0)
        m[pct[which][3]] = cpn_metric_mean(m[pct[which][3]], cnt);
    }
  }
}

/* Streams /requests: counts, sums and samples of every measured request, then the per-group metrics. */
static int read_requests(hid_t f, run_t *r)
{
  const char *file = r->path;
  hid_t d, ft, sp, mt = -1;
  int status_map[256], reason_map[256];
  hsize_t n = 0;
  row_t *rows = NULL;
  sample_t *samples = NULL;
  size_t n_samples = 0;
  int rc = open_dataset(f, file, "/requests", &d, &ft, &sp);
  if (rc)
    goto done;
  if (H5Tget_class(ft) != H5T_COMPOUND || H5Sget_simple_extent_ndims(sp) != 1) {
    rc = fail("%s: /requests is not a 1-D table", file);
    goto done;
  }
  if ((rc = dataset_extent(f, d, sp, ft, file, "/requests", MAX_REQUEST_ROWS, &n)))
    goto done;
  if ((mt = row_memtype(ft, file)) < 0 ||
      enum_map(ft, file, "status", M_COMPLETED, &metric_names[M_COMPLETED], 4, "", NULL, status_map) ||
      enum_map(ft, file, "reason", M_R_NO_ELIGIBLE_SITE, &metric_names[M_R_NO_ELIGIBLE_SITE],
               M_R_END_OF_RUN - M_R_NO_ELIGIBLE_SITE + 1, "reason_", "none", reason_map)) {
    rc = -1;
    goto done;
  }
  int completed = -1;
  for (int v = 0; v < 256; v++)
    if (status_map[v] == M_COMPLETED)
      completed = v;
  if (completed < 0) {
    rc = fail("%s: /requests status enum has no 'completed'", file);
    goto done;
  }
  rows = xcalloc(BLOCK_ROWS, sizeof *rows);
  samples = xcalloc((size_t)n, sizeof *samples);
  int n_site = r->n_groups[K_SITE];
  for (hsize_t start = 0; start < n && !rc; start += BLOCK_ROWS) {
    hsize_t cnt = n - start < BLOCK_ROWS ? n - start : BLOCK_ROWS;
    hid_t ms = H5Screate_simple(1, &cnt, NULL);
    if (ms < 0 || H5Sselect_hyperslab(sp, H5S_SELECT_SET, &start, NULL, &cnt, NULL) < 0 ||
        H5Dread(d, mt, ms, sp, H5P_DEFAULT, rows) < 0)
      rc = fail("%s: cannot read /requests rows %llu..%llu", file, (unsigned long long)start,
                (unsigned long long)(start + cnt - 1));
    if (ms >= 0)
      H5Sclose(ms);
    for (hsize_t i = 0; i < cnt && !rc; i++) {
      const row_t *x = &rows[i];
      if (!cpn_metric_measured(x->t_arrival, r->warmup_s))
        continue;
      if (x->tenant < 0 || x->tenant >= r->n_groups[K_TENANT] || x->cls < 0 || x->cls >= r->n_groups[K_CLASS] ||
          x->model < 0 || x->model >= r->n_groups[K_MODEL] ||
          x->site < -1 || x->site >= n_site || status_map[x->status] < 0 || reason_map[x->reason] == -1) {
        rc = fail("%s: /requests row %llu: index or enum value out of range", file,
                  (unsigned long long)(start + i));
        break;
      }
      sample_t *s = &samples[n_samples++];
      s->g[K_OVERALL] = 0;
      s->g[K_SITE] = x->site >= 0 ? x->site : n_site;
      s->g[K_CLASS] = x->cls;
      s->g[K_TENANT] = x->tenant;
      s->g[K_MODEL] = x->model;
      int done = x->status == completed;
      s->ttft_s = done ? cpn_metric_ttft_s(x->t_arrival, x->t_first_token) : NAN;
      s->e2e_s = done ? cpn_metric_e2e_s(x->t_arrival, x->t_done) : NAN;
      s->tpot_s = done ? cpn_metric_tpot_s(x->t_first_token, x->t_done, x->output_tokens) : NAN;
      for (int k = 0; k < KINDS; k++) {
        double *m = metrics_of(r, k, s->g[k]);
        m[M_REQUESTS] += 1;
        m[status_map[x->status]] += 1;
        if (reason_map[x->reason] >= 0)
          m[reason_map[x->reason]] += 1;
        m[M_XB_REQUESTS] += x->cross_border != 0;
        m[M_COST_USD] += x->cost_usd;
        m[M_ENERGY_J] += x->energy_j;
        m[M_CO2_G] += x->co2_g;
        if (done) {
          m[M_PROMPT_TOKENS] += x->prompt_tokens;
          m[M_OUTPUT_TOKENS] += x->output_tokens;
          /* Summed in row order (the order requests ended), as the engine sums them for /summary. */
          m[M_TTFT_MEAN] += s->ttft_s;
          m[M_E2E_MEAN] += s->e2e_s;
        }
      }
    }
  }
  if (rc)
    goto done;
  r->n_rows = (size_t)n;
  r->n_measured = n_samples;
  double *buf = xcalloc(n_samples, sizeof *buf);
  int max_slots = 1;
  for (int k = 0; k < KINDS; k++)
    max_slots = r->n_slots[k] > max_slots ? r->n_slots[k] : max_slots;
  size_t *off = xcalloc((size_t)max_slots + 1, sizeof *off);
  double window_s = cpn_metric_window_s(r->duration_s, r->warmup_s);
  for (int k = 0; k < KINDS; k++) {
    latency_metrics(r, k, samples, n_samples, buf, off);
    for (int g = 0; g < r->n_slots[k]; g++) {
      double *m = metrics_of(r, k, g), tok = m[M_PROMPT_TOKENS] + m[M_OUTPUT_TOKENS];
      m[M_COMPLETED_FRAC] = cpn_metric_completed_frac(m[M_COMPLETED], m[M_REQUESTS]);
      m[M_TOKENS_PER_S] = cpn_metric_tokens_per_s(m[M_OUTPUT_TOKENS], window_s);
      m[M_COST_PER_MTOK] = cpn_metric_cost_usd_per_mtok(m[M_COST_USD], tok);
      m[M_ENERGY_KWH_PER_MTOK] = cpn_metric_energy_kwh_per_mtok(m[M_ENERGY_J], tok);
      m[M_CO2_PER_MTOK] = cpn_metric_co2_g_per_mtok(m[M_CO2_G], tok);
    }
  }
  free(buf);
  free(off);
  /* Shows the unplaced group only when it has requests. */
  if (metrics_of(r, K_SITE, n_site)[M_REQUESTS] > 0)
    r->n_groups[K_SITE]++;
done:
  free(rows);
  free(samples);
  if (mt >= 0)
    H5Tclose(mt);
  close_dataset(d, ft, sp);
  return rc;
}

/* Copies the /summary metrics the report does not recompute, matching groups by name. */
static int read_summary(hid_t f, run_t *r)
{
  for (int k = 0; k < KINDS; k++) {
    h5table_t t;
    if (read_table(f, r->path, summary_paths[k], &t))
      return -1;
    for (size_t i = 0; i < sizeof summary_metrics / sizeof summary_metrics[0]; i++) {
      int metric = summary_metrics[i], col = -1;
      for (int j = 0; j < t.n_cols; j++)
        if (!strcmp(t.cols[j], metric_names[metric]))
          col = j;
      for (int g = 0; g < r->n_groups[k]; g++) {
        double v = NAN;
        for (int row = 0; row < t.n_rows && col >= 0; row++)
          if (!strcmp(t.keys[row], r->names[k][g]))
            v = t.v[(size_t)row * (size_t)t.n_cols + (size_t)col];
        metrics_of(r, k, g)[metric] = v;
      }
    }
    h5table_destroy(&t);
  }
  return 0;
}

static int run_load(run_t *r, const char *path)
{
  memset(r, 0, sizeof *r);
  r->path = xstrdup(path);
  FILE *probe = fopen(path, "rb");
  if (!probe) {
    fail("%s: cannot open: %s", path, strerror(errno));
    goto fail;
  }
  fclose(probe);
  if (H5Fis_hdf5(path) <= 0) {
    fail("%s: not an HDF5 file", path);
    goto fail;
  }
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    fail("%s: cannot open as HDF5", path);
    goto fail;
  }
  double seed = 0;
  int rc = read_attr_str(f, path, "format_version", r->format_version, sizeof r->format_version);
  if (!rc && strncmp(r->format_version, "1.", 2))
    rc = fail("%s: format_version '%s' is not supported (this report reads 1.x)", path, r->format_version);
  if (!rc)
    rc = read_attr_str(f, path, "policy", r->policy, sizeof r->policy);
  if (!rc)
    rc = read_attr_str(f, path, "scenario", r->scenario, sizeof r->scenario);
  if (!rc)
    rc = read_attr_double(f, path, "seed", &seed);
  if (!rc)
    rc = read_attr_double(f, path, "warmup_s", &r->warmup_s);
  if (!rc)
    rc = read_attr_double(f, path, "duration_s", &r->duration_s);
  r->seed = (long long)seed;
  static const char *const name_sets[KINDS] = {NULL, "/names/sites", "/names/classes", "/names/tenants",
                                               "/names/models"};
  for (int k = 0; k < KINDS && !rc; k++) {
    if (k == K_OVERALL) {
      r->names[k] = xcalloc(1, sizeof(char *));
      r->names[k][0] = xstrdup("overall");
      r->n_groups[k] = 1;
    } else {
      rc = read_strings(f, path, name_sets[k], &r->names[k], &r->n_groups[k]);
    }
    if (!rc) {
      r->n_slots[k] = r->n_groups[k] + (k == K_SITE);
      if (k == K_SITE)
        r->names[k][r->n_groups[k]] = xstrdup(unplaced_name);
      r->m[k] = xcalloc((size_t)r->n_slots[k] * M_COUNT, sizeof(double));
    }
  }
  if (!rc)
    rc = read_requests(f, r);
  if (!rc)
    rc = read_summary(f, r);
  H5Fclose(f);
  if (!rc)
    return 0;
fail:
  run_destroy(r);
  return -1;
}

/* ---- reading a file in a child process ---------------------------------------------------------
 * run_load_isolated forks; the child runs run_load and writes 'O' and the run, or 'E' and the error
 * message, to a pipe, then _exits (so nothing of the parent's stdio is flushed twice). A fatal signal in
 * the child is caught by child_crash, which exits with a code saying whether the faulting instruction was
 * inside libhdf5 (CHILD_CRASH_HDF5 + signal) or elsewhere (CHILD_CRASH_OTHER + signal). The parent reads
 * the pipe to its end, then waits for the child. Costs one fork per file; a file is read once. */
enum { CHILD_CRASH_HDF5 = 64, CHILD_CRASH_OTHER = 96 };
/* libhdf5 1.10 also loops forever on some corrupt files (in H5HG_read / H5C_protect on a bad global-heap
 * collection). The child gets a CPU time limit: this many seconds, or, when 0, 60 s plus 1 s per MiB of
 * the file (far more than reading takes: about 100 MiB/s); past it, SIGXCPU, classified like a crash. */
static int report_child_cpu_s = 0;
/* libhdf5 1.10 also allocates what a corrupt file claims: on one file of 6 KB (tests/data/reliability/
 * report-h5-libhdf5-oom.h5) one block of 12 GiB for a variable-length string (H5T__conv_vlen), which it
 * fills. The child gets a memory budget on top of what it holds when forked: this many MiB, or, when 0,
 * CPNSIM_REPORT_MEM_MIB, or else REPORT_MEM_BASE_MIB plus REPORT_MEM_PER_FILE_MIB times the file's size
 * (a whole result file needs about its own size: 72 MiB peak for a 65 MiB file of 1 M requests). An
 * allocation past it fails at once; libhdf5 then reports it on its error stack (child_h5_error) and the
 * file is refused with the budget named, instead of the machine's memory being taken. */
static long report_child_mem_mib = 0;
enum { REPORT_MEM_BASE_MIB = 1024, REPORT_MEM_PER_FILE_MIB = 4 };
enum { LOAD_OK_OR_ERROR = 0, LOAD_CRASH_IN_HDF5 = 1, LOAD_CRASH_OTHER = 2, LOAD_NO_MEMORY_IN_HDF5 = 3,
       LOAD_NO_MEMORY_OTHER = 4 };
/* Exit codes of the child that ran out of its memory budget, inside libhdf5 or in this program's code. */
enum { CHILD_NO_MEMORY_HDF5 = 60 }; /* and CHILD_NO_MEMORY_OTHER, by xcalloc */
/* In the reading child: set when libhdf5 reported an allocation that failed. */
static volatile sig_atomic_t child_h5_no_memory;

/* The budget of the child reading path, in MiB (see report_child_mem_mib); -1 when CPNSIM_REPORT_MEM_MIB
 * is set but not a whole number of MiB from 16 to 2^40 (refused before the first file is read). */
static long child_mem_budget_mib(const char *path)
{
  if (report_child_mem_mib > 0)
    return report_child_mem_mib;
  const char *env = getenv("CPNSIM_REPORT_MEM_MIB");
  if (env && *env) {
    char *end;
    errno = 0;
    long long v = strtoll(env, &end, 10);
    return errno || *end || v < 16 || v > (1LL << 40) ? -1 : (long)v;
  }
  struct stat st;
  long file_mib = stat(path, &st) == 0 ? (long)((st.st_size + (1 << 20) - 1) >> 20) : 0;
  return REPORT_MEM_BASE_MIB + REPORT_MEM_PER_FILE_MIB * file_mib;
}

/* libhdf5's error stack at the failure of an API call (the child's automatic error handler, which prints
 * nothing: the reader reports the failure itself): was it an allocation that failed? */
static herr_t child_h5_error_entry(unsigned n, const H5E_error2_t *e, void *data)
{
  (void)n;
  (void)data;
  if (e->min_num == H5E_CANTALLOC || e->min_num == H5E_NOSPACE)
    child_h5_no_memory = 1;
  return 0;
}

static herr_t child_h5_error(hid_t stack, void *data)
{
  (void)data;
  H5Ewalk2(stack, H5E_WALK_DOWNWARD, child_h5_error_entry, NULL);
  return 0;
}

/* The child's data limit, in a build without AddressSanitizer: its data segment now (VmData of
 * /proc/self/status) plus budget_mib. RLIMIT_DATA counts the heap and every private writable mapping
 * (Linux >= 4.7), so malloc's mmap of a large block fails too; libc's malloc returns NULL, and libhdf5
 * reports that on its error stack. */
static void child_limit_data(long budget_mib)
{
  unsigned long long data_kib = 0;
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmData: %llu kB", &data_kib) == 1)
      break;
  if (f)
    fclose(f);
  rlim_t lim = (rlim_t)data_kib * 1024 + (rlim_t)budget_mib * 1024 * 1024;
  struct rlimit data = {lim, lim};
  setrlimit(RLIMIT_DATA, &data);
}

/* Under AddressSanitizer (the sanitizer build, the fuzz target) neither limit of the address space works:
 * RLIMIT_AS counts the shadow memory's terabytes, and with RLIMIT_DATA over the data segment ASan's
 * allocator fails as wanted, but its report of that needs memory too (the symbolizer's module list): its
 * mmap fails, the CHECK that follows re-enters the symbolizer's lock and the child sleeps forever, under
 * no CPU limit (seen with gcc 12's libasan on a whole file and a 64 MiB budget). There the budget is kept
 * by a malloc hook of the sanitizer's allocator instead: after each allocation, when the bytes allocated
 * exceed those at fork plus the budget, the child exits with CHILD_NO_MEMORY_* (the block is mapped, not
 * yet touched). Weak: absent in a build without ASan. */
extern int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                                     void (*free_hook)(const volatile void *))
  __attribute__((weak));
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));
static size_t child_base_bytes, child_budget_bytes;

static void child_malloc_hook(const volatile void *p, size_t size)
{
  (void)p;
  (void)size;
  static int busy; /* backtrace and dladdr below may allocate */
  size_t now = __sanitizer_get_current_allocated_bytes();
  if (busy || now <= child_base_bytes || now - child_base_bytes <= child_budget_bytes)
    return;
  busy = 1;
  /* Whose allocation: libhdf5's when any caller of malloc here is in libhdf5 (the reader's own calls
   * into libhdf5 count as libhdf5's), cpnsim-report's otherwise. */
  void *frames[64];
  int n = backtrace(frames, 64), in_hdf5 = 0;
  for (int i = 0; i < n && !in_hdf5; i++) {
    Dl_info where;
    in_hdf5 = dladdr(frames[i], &where) && where.dli_fname && strstr(where.dli_fname, "libhdf5");
  }
  _exit(in_hdf5 ? CHILD_NO_MEMORY_HDF5 : CHILD_NO_MEMORY_OTHER);
}

static void child_free_hook(const volatile void *p)
{
  (void)p; /* the sanitizer installs a pair or nothing */
}

static void child_limit_memory(long budget_mib)
{
  if (__sanitizer_install_malloc_and_free_hooks && __sanitizer_get_current_allocated_bytes) {
    child_base_bytes = __sanitizer_get_current_allocated_bytes();
    child_budget_bytes = (size_t)budget_mib << 20;
    if (__sanitizer_install_malloc_and_free_hooks(child_malloc_hook, child_free_hook))
      return;
    /* No free slot for a hook (libFuzzer's use some): rather than no limit, one of the address space
     * that leaves ASan's report room to be written (the budget twice, plus 1 GiB). */
    budget_mib = 2 * budget_mib + 1024;
  }
  child_limit_data(budget_mib);
}

static void child_crash(int sig, siginfo_t *info, void *ctx)
{
  (void)info;
  void *pc = NULL;
#if defined(__x86_64__)
  pc = (void *)((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
  pc = (void *)((ucontext_t *)ctx)->uc_mcontext.pc;
#else
  (void)ctx;
#endif
  /* dladdr and backtrace are not async-signal-safe, but this process only ever ends here: should they
   * hang, the alarm ends it, and the parent reports the file as unreadable all the same. The frame that
   * decides is the faulting one, or, when that is in libc (libhdf5 calls memmove), its first caller
   * outside libc. */
  alarm(5);
  void *frames[64];
  int n = backtrace(frames, 64), at = -1;
  for (int i = 0; i < n && at < 0; i++)
    if (frames[i] == pc)
      at = i;
  Dl_info where;
  const char *module = pc && dladdr(pc, &where) ? where.dli_fname : NULL;
  for (int i = at; at >= 0 && i < n && module && strstr(module, "/libc.so"); i++)
    module = dladdr(frames[i], &where) ? where.dli_fname : NULL;
  int in_hdf5 = module && strstr(module, "libhdf5");
  _exit((in_hdf5 ? CHILD_CRASH_HDF5 : CHILD_CRASH_OTHER) + (sig & 31));
}

/* Under AddressSanitizer (the sanitizer build, the fuzz target) the child leaves fatal signals to ASan,
 * whose report has the whole stack: libhdf5's own out-of-bounds reads of its buffers are caught by ASan's
 * memcpy interceptor, and a SEGV inside libhdf5's memmove shows ASan's memmove on top. Such a report is
 * classified by its first stack frame that is not the sanitizer's or a mem* / *alloc interceptor. Weak:
 * absent (NULL) in a build without ASan, where child_crash classifies by the faulting instruction (a
 * crash in libc's memmove called by libhdf5 is then "a crash", not "inside libhdf5": same exit 2). */
extern void __asan_set_error_report_callback(void (*callback)(const char *)) __attribute__((weak));

static void child_asan_report(const char *report)
{
  /* An allocation over the child's data limit (RLIMIT_DATA): ASan's allocator cannot map it and reports
   * "allocator is out of memory trying to allocate N bytes" (gcc 12's and clang 14's libasan), or, for a
   * size no allocator could give, "requested allocation size N exceeds maximum supported size". */
  int no_memory = report && (strstr(report, "out of memory") || strstr(report, "out-of-memory") ||
                             strstr(report, "exceeds maximum supported size") ||
                             strstr(report, "allocation-size-too-big") || strstr(report, "failed to allocate"));
  for (const char *line = report; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
    const char *p = line;
    while (*p == ' ')
      p++;
    if (*p != '#')
      continue;
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char frame[512];
    snprintf(frame, sizeof frame, "%.*s", (int)(len < sizeof frame ? len : sizeof frame - 1), p);
    static const char *const runtime[] = {" in __interceptor_", " in __asan", " in __sanitizer", " in __lsan",
                                          " in __ubsan", " in memmove ", " in memcpy ", " in memset ",
                                          " in malloc ", " in calloc ", " in realloc ", " in strdup ", "libasan.so"};
    int skip = 0;
    for (size_t r = 0; r < sizeof runtime / sizeof runtime[0]; r++)
      skip |= strstr(frame, runtime[r]) != NULL;
    if (skip)
      continue;
    if (no_memory)
      _exit(strstr(frame, "libhdf5") ? CHILD_NO_MEMORY_HDF5 : CHILD_NO_MEMORY_OTHER);
    if (strstr(frame, "libhdf5"))
      _exit(CHILD_CRASH_HDF5 + SIGSEGV); /* a memory error inside libhdf5, reported as one */
    return; /* in cpnsim's code: ASan goes on and dies with its report */
  }
  if (no_memory) /* no frame but the allocator's own (an unsymbolized stack): still over the budget */
    _exit(CHILD_NO_MEMORY_OTHER);
}

typedef struct {
  char *p;
  size_t n, cap;
} wbuf_t;

static void wbuf_put(wbuf_t *b, const void *x, size_t n)
{
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p && in_reading_child) /* over the child's memory budget: the parent says so */
      _exit(CHILD_NO_MEMORY_OTHER);
    if (!p) {
      fprintf(stderr, "cpnsim-report: out of memory\n");
      exit(EXIT_BAD_INPUT);
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, x, n);
  b->n += n;
}

/* The run as bytes: its fixed fields, then per kind the slot names (length, bytes) and the metrics. */
static void run_serialise(const run_t *r, wbuf_t *b)
{
  wbuf_put(b, "O", 1);
  wbuf_put(b, r->policy, sizeof r->policy);
  wbuf_put(b, r->scenario, sizeof r->scenario);
  wbuf_put(b, r->format_version, sizeof r->format_version);
  wbuf_put(b, &r->seed, sizeof r->seed);
  wbuf_put(b, &r->warmup_s, sizeof r->warmup_s);
  wbuf_put(b, &r->duration_s, sizeof r->duration_s);
  wbuf_put(b, &r->n_rows, sizeof r->n_rows);
  wbuf_put(b, &r->n_measured, sizeof r->n_measured);
  wbuf_put(b, r->n_groups, sizeof r->n_groups);
  wbuf_put(b, r->n_slots, sizeof r->n_slots);
  for (int k = 0; k < KINDS; k++) {
    for (int g = 0; g < r->n_slots[k]; g++) {
      uint32_t len = (uint32_t)strlen(r->names[k][g]);
      wbuf_put(b, &len, sizeof len);
      wbuf_put(b, r->names[k][g], len);
    }
    wbuf_put(b, r->m[k], (size_t)r->n_slots[k] * M_COUNT * sizeof(double));
  }
}

static int take(const char *p, size_t n, size_t *at, void *x, size_t size)
{
  if (n - *at < size)
    return -1;
  memcpy(x, p + *at, size);
  *at += size;
  return 0;
}

/* The inverse of run_serialise into r (r->path already set); -1 when the bytes are short or inconsistent. */
static int run_deserialise(run_t *r, const char *p, size_t n)
{
  size_t at = 1;
  if (take(p, n, &at, r->policy, sizeof r->policy) || take(p, n, &at, r->scenario, sizeof r->scenario) ||
      take(p, n, &at, r->format_version, sizeof r->format_version) || take(p, n, &at, &r->seed, sizeof r->seed) ||
      take(p, n, &at, &r->warmup_s, sizeof r->warmup_s) || take(p, n, &at, &r->duration_s, sizeof r->duration_s) ||
      take(p, n, &at, &r->n_rows, sizeof r->n_rows) || take(p, n, &at, &r->n_measured, sizeof r->n_measured) ||
      take(p, n, &at, r->n_groups, sizeof r->n_groups) || take(p, n, &at, r->n_slots, sizeof r->n_slots))
    return -1;
  r->policy[sizeof r->policy - 1] = r->scenario[sizeof r->scenario - 1] = 0;
  r->format_version[sizeof r->format_version - 1] = 0;
  int slots[KINDS];
  memcpy(slots, r->n_slots, sizeof slots);
  memset(r->n_slots, 0, sizeof r->n_slots); /* counts what is allocated, for run_destroy on failure */
  for (int k = 0; k < KINDS; k++) {
    if (slots[k] < 0 || slots[k] > MAX_GROUPS + 1 || r->n_groups[k] < 0 || r->n_groups[k] > slots[k])
      return -1;
    r->names[k] = xcalloc((size_t)slots[k], sizeof(char *));
    for (int g = 0; g < slots[k]; g++) {
      uint32_t len;
      if (take(p, n, &at, &len, sizeof len) || n - at < len)
        return -1;
      r->names[k][g] = xstrndup(p + at, len);
      r->n_slots[k] = g + 1;
      at += len;
    }
    r->n_slots[k] = slots[k];
    r->m[k] = xcalloc((size_t)slots[k] * M_COUNT, sizeof(double));
    if (take(p, n, &at, r->m[k], (size_t)slots[k] * M_COUNT * sizeof(double)))
      return -1;
  }
  return at == n ? 0 : -1;
}

static void write_all(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    p += w;
    n -= (size_t)w;
  }
}

/* run_load in a child process. *how (may be NULL) tells a clean outcome (loaded, or refused with a
 * message) from a crash inside libhdf5 or elsewhere; every failure sets the message and returns -1. */
static int run_load_isolated(run_t *r, const char *path, int *how)
{
  int fds[2], dummy;
  how = how ? how : &dummy;
  *how = LOAD_OK_OR_ERROR;
  memset(r, 0, sizeof *r);
  struct stat st_file;
  long cpu_s = report_child_cpu_s > 0 ? report_child_cpu_s
                                      : 60 + (stat(path, &st_file) == 0 ? (long)(st_file.st_size >> 20) : 0);
  long mem_mib = child_mem_budget_mib(path);
  if (mem_mib < 0)
    return fail("CPNSIM_REPORT_MEM_MIB '%s': use a whole number of MiB from 16 to 1099511627776",
                getenv("CPNSIM_REPORT_MEM_MIB"));
  fflush(NULL);
  if (pipe(fds) < 0)
    return fail("%s: cannot read it in a child process: pipe: %s", path, strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    return fail("%s: cannot read it in a child process: fork: %s", path, strerror(e));
  }
  if (pid == 0) {
    close(fds[0]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = child_crash;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    /* The CPU limit: SIGXCPU at cpu_s (classified by child_crash, also under ASan, which leaves it alone),
     * SIGKILL 5 s later should that handler not end the process. */
    struct rlimit cpu = {(rlim_t)cpu_s, (rlim_t)cpu_s + 5};
    setrlimit(RLIMIT_CPU, &cpu);
    sigaction(SIGXCPU, &sa, NULL);
    in_reading_child = 1;
    child_h5_no_memory = 0;
    H5Eset_auto2(H5E_DEFAULT, child_h5_error, NULL);
    void *warm[1];
    backtrace(warm, 1); /* loads the unwinder now, not in a signal handler or a malloc hook */
    if (__asan_set_error_report_callback)
      __asan_set_error_report_callback(child_asan_report);
    else {
      for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &sa, NULL);
    }
    /* Last, so that nothing above is refused: from here every allocation counts against mem_mib. */
    child_limit_memory(mem_mib);
    wbuf_t b = {0};
    run_t x;
    int loaded = run_load(&x, path) == 0;
    if (loaded) {
      run_serialise(&x, &b);
      run_destroy(&x);
    } else {
      wbuf_put(&b, "E", 1);
      wbuf_put(&b, err_msg, strlen(err_msg));
    }
    write_all(fds[1], b.p, b.n);
    _exit(!loaded && child_h5_no_memory ? CHILD_NO_MEMORY_HDF5 : 0);
  }
  close(fds[1]);
  wbuf_t b = {0};
  char chunk[65536];
  for (;;) {
    ssize_t got = read(fds[0], chunk, sizeof chunk);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    wbuf_put(&b, chunk, (size_t)got);
  }
  close(fds[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  int rc = -1;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && b.n > 0 && b.p[0] == 'O') {
    r->path = xstrdup(path);
    rc = run_deserialise(r, b.p, b.n);
    if (rc) {
      run_destroy(r);
      fail("%s: the reading process sent back a malformed result", path);
    }
  } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && b.n > 0 && b.p[0] == 'E') {
    fail("%.*s", (int)(b.n - 1 < sizeof err_msg - 1 ? b.n - 1 : sizeof err_msg - 1), b.p + 1);
  } else if (WIFEXITED(st) &&
             (WEXITSTATUS(st) == CHILD_NO_MEMORY_HDF5 || WEXITSTATUS(st) == CHILD_NO_MEMORY_OTHER)) {
    int in_hdf5 = WEXITSTATUS(st) == CHILD_NO_MEMORY_HDF5;
    *how = in_hdf5 ? LOAD_NO_MEMORY_IN_HDF5 : LOAD_NO_MEMORY_OTHER;
    /* The reader's own message, when it sent one, says what it was reading (without the file's name). */
    const char *what = b.n > 1 && b.p[0] == 'E' ? b.p + 1 : "";
    int what_n = what[0] ? (int)(b.n - 1) : 0;
    size_t path_n = strlen(path);
    if ((size_t)what_n > path_n + 2 && !strncmp(what, path, path_n) && !strncmp(what + path_n, ": ", 2)) {
      what += path_n + 2;
      what_n -= (int)path_n + 2;
    }
    fail("%s: needs more memory than the limit of %ld MiB while reading (%s%s%.*s): a corrupt file, or set "
         "CPNSIM_REPORT_MEM_MIB higher for a file this large",
         path, mem_mib, in_hdf5 ? "libhdf5" : "cpnsim-report", what_n ? ": " : "", what_n > 512 ? 512 : what_n, what);
  } else if (WIFEXITED(st) && WEXITSTATUS(st) > CHILD_CRASH_HDF5 && WEXITSTATUS(st) < CHILD_CRASH_OTHER) {
    *how = LOAD_CRASH_IN_HDF5;
    if (WEXITSTATUS(st) - CHILD_CRASH_HDF5 == SIGXCPU)
      fail("%s: libhdf5 did not finish reading this file in %ld s of CPU time (a loop on a corrupt file?)", path,
           cpu_s);
    else
      fail("%s: libhdf5 crashed reading this file (signal %d inside the library): it is corrupt or not an HDF5 "
           "file cpnsim wrote", path, WEXITSTATUS(st) - CHILD_CRASH_HDF5);
  } else {
    *how = LOAD_CRASH_OTHER;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
      fail("%s: reading this file was killed (signal 9; over its CPU time limit of %ld s?)", path, cpu_s);
    else if (WIFSIGNALED(st))
      fail("%s: reading this file was killed by signal %d", path, WTERMSIG(st));
    else if (WIFEXITED(st) && WEXITSTATUS(st) > CHILD_CRASH_OTHER)
      fail("%s: reading this file crashed (signal %d)", path, WEXITSTATUS(st) - CHILD_CRASH_OTHER);
    else
      fail("%s: reading this file failed (the reading process exited %d)", path,
           WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  }
  free(b.p);
  return rc;
}

/* ---- statistics across files -------------------------------------------------------------------- */

typedef struct {
  int n;           /* finite values */
  double mean, sd; /* sd: sample standard deviation, NaN when n < 2 */
  double half;     /* 95 % confidence half-width (Student t), NaN when n < 2 */
} agg_t;

static agg_t aggregate(const double *v, int n_in)
{
  double *x = xcalloc((size_t)n_in, sizeof *x);
  int n = 0;
  for (int i = 0; i < n_in; i++)
    if (isfinite(v[i]))
      x[n++] = v[i];
  agg_t a = {.n = n, .mean = NAN, .sd = NAN, .half = NAN};
  if (n)
    a.mean = gsl_stats_mean(x, 1, (size_t)n);
  if (n >= 2) {
    a.sd = gsl_stats_sd_m(x, 1, (size_t)n, a.mean);
    a.half = gsl_cdf_tdist_Pinv(0.975, n - 1) * a.sd / sqrt(n);
  }
  free(x);
  return a;
}

/* The noise rule of compare (see README): a difference b - a is significant when it exceeds
 * t(0.975, df) * sqrt(var_a/n_a + var_b/n_b) (Welch's two-sided t-test at 5 %, Welch-Satterthwaite df).
 * A group of one file has no variance of its own and borrows the other group's (df = that group's n - 1).
 * Returns 1 significant, 0 not, -1 undecidable (neither group has two values); writes the threshold. */
static int differs(agg_t a, agg_t b, double *noise)
{
  *noise = NAN;
  if (a.n == 0 || b.n == 0 || (a.n < 2 && b.n < 2))
    return -1;
  double diff = b.mean - a.mean, va = a.sd * a.sd, vb = b.sd * b.sd, se2, df;
  if (a.n < 2 || b.n < 2) {
    double v = a.n >= 2 ? va : vb;
    se2 = v * (1.0 / a.n + 1.0 / b.n);
    df = (a.n >= 2 ? a.n : b.n) - 1;
  } else {
    double qa = va / a.n, qb = vb / b.n;
    se2 = qa + qb;
    df = se2 > 0 ? se2 * se2 / (qa * qa / (a.n - 1) + qb * qb / (b.n - 1)) : a.n + b.n - 2;
  }
  if (se2 <= 0) { /* the metric did not vary between seeds: any change is real */
    *noise = 0;
    return diff != 0;
  }
  *noise = gsl_cdf_tdist_Pinv(0.975, df) * sqrt(se2);
  return fabs(diff) > *noise;
}

/* ---- metric specs: [KIND:GROUP/]METRIC ------------------------------------------------------------ */

typedef struct {
  int kind, metric;
  char group[256];
  char text[320]; /* as written, for messages */
} spec_t;

static int spec_parse(const char *s, spec_t *out)
{
  spec_t sp = {.kind = K_OVERALL};
  snprintf(sp.text, sizeof sp.text, "%s", s);
  snprintf(sp.group, sizeof sp.group, "overall");
  const char *name = s, *slash = strrchr(s, '/');
  if (slash) {
    const char *colon = strchr(s, ':');
    if (!colon || colon > slash)
      return fail("'%s': a scoped metric is KIND:GROUP/METRIC (KIND site, class or tenant)", s);
    sp.kind = -1;
    for (int k = K_SITE; k < KINDS; k++)
      if ((size_t)(colon - s) == strlen(kind_names[k]) && !strncmp(s, kind_names[k], (size_t)(colon - s)))
        sp.kind = k;
    if (sp.kind < 0)
      return fail("'%s': unknown group kind '%.*s' (site, class or tenant)", s, (int)(colon - s), s);
    snprintf(sp.group, sizeof sp.group, "%.*s", (int)(slash - colon - 1), colon + 1);
    name = slash + 1;
  }
  sp.metric = metric_find(name);
  if (sp.metric < 0)
    return fail("unknown metric '%s' (cpnsim-report --list-metrics lists them)", name);
  *out = sp;
  return 0;
}

/* The value of a spec in one run (NaN when the run does not have the group). */
static double spec_value(const run_t *r, const spec_t *sp)
{
  int g = group_find(r, sp->kind, sp->group);
  return g < 0 ? NAN : metrics_of(r, sp->kind, g)[sp->metric];
}

static int spec_check_group(const spec_t *sp, run_t *const *runs, int n)
{
  for (int i = 0; i < n; i++)
    if (group_find(runs[i], sp->kind, sp->group) >= 0)
      return 0;
  return fail("'%s': no %s named '%s' in the files given", sp->text, kind_names[sp->kind], sp->group);
}

/* ---- output grids ------------------------------------------------------------------------------- */

typedef enum { FMT_TEXT, FMT_CSV, FMT_MARKDOWN } format_t;

typedef struct {
  char *title;
  int n_cols, n_rows, cap;
  char **cell; /* row-major, row 0 is the header */
} grid_t;

static grid_t *grid_new(const char *title, int n_cols)
{
  grid_t *g = xcalloc(1, sizeof *g);
  g->title = title ? xstrdup(title) : NULL;
  g->n_cols = n_cols;
  g->cap = 16;
  g->cell = xcalloc((size_t)g->cap * (size_t)n_cols, sizeof *g->cell);
  g->n_rows = 1;
  return g;
}

static void grid_free(grid_t *g)
{
  if (!g)
    return;
  for (int i = 0; i < g->n_rows * g->n_cols; i++)
    free(g->cell[i]);
  free(g->cell);
  free(g->title);
  free(g);
}

static int grid_row(grid_t *g)
{
  if (g->n_rows == g->cap) {
    g->cap *= 2;
    char **c = realloc(g->cell, (size_t)g->cap * (size_t)g->n_cols * sizeof *c);
    if (!c) {
      fprintf(stderr, "cpnsim-report: out of memory\n");
      exit(EXIT_BAD_INPUT);
    }
    memset(c + (size_t)g->n_rows * (size_t)g->n_cols, 0,
           (size_t)(g->cap - g->n_rows) * (size_t)g->n_cols * sizeof *c);
    g->cell = c;
  }
  return g->n_rows++;
}

static void grid_set(grid_t *g, int row, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void grid_set(grid_t *g, int row, int col, const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char **c = &g->cell[(size_t)row * (size_t)g->n_cols + (size_t)col];
  free(*c);
  *c = xstrdup(buf);
}

/* Display width: code points, so that "±" counts as one column. */
static int width_of(const char *s)
{
  int w = 0;
  for (; *s; s++)
    w += ((unsigned char)*s & 0xC0) != 0x80;
  return w;
}

static void csv_field(FILE *f, const char *s)
{
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void grid_print(const grid_t *g, format_t fmt, FILE *f)
{
  int *w = xcalloc((size_t)g->n_cols, sizeof *w);
  for (int r = 0; r < g->n_rows; r++)
    for (int c = 0; c < g->n_cols; c++) {
      const char *s = g->cell[(size_t)r * (size_t)g->n_cols + (size_t)c];
      int cw = width_of(s ? s : "");
      if (cw > w[c])
        w[c] = cw;
    }
  if (g->title && fmt == FMT_TEXT)
    fprintf(f, "%s\n", g->title);
  else if (g->title && fmt == FMT_MARKDOWN)
    fprintf(f, "### %s\n\n", g->title);
  for (int r = 0; r < g->n_rows; r++) {
    for (int c = 0; c < g->n_cols; c++) {
      const char *s = g->cell[(size_t)r * (size_t)g->n_cols + (size_t)c];
      s = s ? s : "";
      int pad = w[c] - width_of(s);
      if (fmt == FMT_CSV) {
        if (c)
          fputc(',', f);
        csv_field(f, s);
      } else if (fmt == FMT_MARKDOWN) {
        fputs(c ? " " : "| ", f);
        for (; *s; s++)
          fputs(*s == '|' ? "\\|" : (char[2]){*s, 0}, f);
        fprintf(f, "%*s |", pad, "");
      } else {
        /* The first column (names) is left-aligned, values right-aligned. */
        if (c)
          fputs("  ", f);
        if (c == 0)
          fprintf(f, "%s%*s", s, c == g->n_cols - 1 ? 0 : pad, "");
        else
          fprintf(f, "%*s%s", pad, "", s);
      }
    }
    fputc('\n', f);
    if (r == 0 && fmt == FMT_MARKDOWN) {
      for (int c = 0; c < g->n_cols; c++)
        fprintf(f, "%s%s |", c ? " " : "| ", c ? "---:" : ":---");
      fputc('\n', f);
    }
  }
  free(w);
}

/* A number for people (text, Markdown): integers in full, others with five significant digits, "-" for
 * NaN. For CSV: round-trip precision. */
static const char *num(char *buf, size_t size, double v, format_t fmt)
{
  if (fmt == FMT_CSV) {
    if (isnan(v))
      snprintf(buf, size, "nan");
    else
      snprintf(buf, size, "%.17g", v);
  } else if (isnan(v)) {
    snprintf(buf, size, "-");
  } else if (v == floor(v) && fabs(v) < 1e12) {
    snprintf(buf, size, "%.0f", v);
  } else {
    snprintf(buf, size, "%.5g", v);
  }
  return buf;
}

/* "mean ± half" for people, or just the mean when there is no interval. */
static const char *mean_ci(char *buf, size_t size, agg_t a, format_t fmt)
{
  char m[48], h[32];
  num(m, sizeof m, a.mean, fmt);
  if (isnan(a.half))
    snprintf(buf, size, "%s", m);
  else {
    snprintf(h, sizeof h, "%.2g", a.half);
    snprintf(buf, size, "%s ± %s", m, h);
  }
  return buf;
}

static const char *signed_num(char *buf, size_t size, double v, format_t fmt)
{
  char b[64];
  num(b, sizeof b, v, fmt);
  snprintf(buf, size, "%s%s", isfinite(v) && v >= 0 && fmt != FMT_CSV ? "+" : "", b);
  return buf;
}

static const char *rel_pct(char *buf, size_t size, double diff, double base)
{
  double rel = base != 0 ? diff / fabs(base) * 100 : NAN;
  if (isfinite(rel))
    snprintf(buf, size, "%+.1f%%", rel);
  else
    snprintf(buf, size, "-");
  return buf;
}

static const char *base_name(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* ---- loading several files ---------------------------------------------------------------------- */

static run_t **load_runs(char *const *paths, int n)
{
  run_t **runs = xcalloc((size_t)n, sizeof *runs);
  for (int i = 0; i < n; i++) {
    runs[i] = xcalloc(1, sizeof *runs[i]);
    if (run_load_isolated(runs[i], paths[i], NULL)) {
      for (int j = 0; j <= i; j++) {
        run_destroy(runs[j]);
        free(runs[j]);
      }
      free(runs);
      return NULL;
    }
  }
  return runs;
}

static void free_runs(run_t **runs, int n)
{
  for (int i = 0; runs && i < n; i++) {
    run_destroy(runs[i]);
    free(runs[i]);
  }
  free(runs);
}

/* The union of the group names of kind k over the runs, in order of first appearance. */
static char **group_union(run_t *const *runs, int n, int k, int *n_out)
{
  int cap = 0, cnt = 0;
  for (int i = 0; i < n; i++)
    cap += runs[i]->n_groups[k];
  char **names = xcalloc((size_t)cap, sizeof *names);
  for (int i = 0; i < n; i++)
    for (int g = 0; g < runs[i]->n_groups[k]; g++) {
      int seen = 0;
      for (int j = 0; j < cnt && !seen; j++)
        seen = !strcmp(names[j], runs[i]->names[k][g]);
      if (!seen)
        names[cnt++] = runs[i]->names[k][g];
    }
  *n_out = cnt;
  return names;
}

static agg_t aggregate_spec(run_t *const *runs, int n, const spec_t *sp)
{
  double *v = xcalloc((size_t)n, sizeof *v);
  for (int i = 0; i < n; i++)
    v[i] = spec_value(runs[i], sp);
  agg_t a = aggregate(v, n);
  free(v);
  return a;
}

static void print_run_list(run_t *const *runs, int n, format_t fmt, FILE *f)
{
  for (int i = 0; i < n; i++)
    fprintf(f, "%s%s: scenario %s, policy %s, seed %lld, %zu measured of %zu requests (warm-up %g s)\n",
            fmt == FMT_MARKDOWN ? "- " : "  ", runs[i]->path, runs[i]->scenario, runs[i]->policy, runs[i]->seed,
            runs[i]->n_measured, runs[i]->n_rows, runs[i]->warmup_s);
  fputc('\n', f);
}

/* ---- summary ------------------------------------------------------------------------------------ */

static int cmd_summary(char *const *files, int n, format_t fmt)
{
  run_t **runs = load_runs(files, n);
  if (!runs)
    return -1;
  for (int i = 1; i < n; i++)
    if (strcmp(runs[i]->policy, runs[0]->policy) || strcmp(runs[i]->scenario, runs[0]->scenario))
      fprintf(stderr, "cpnsim-report: warning: the files mix scenarios or policies; the summary averages them "
                      "anyway (cpnsim-report compare keeps them apart)\n");
  char a[128], b[128];
  if (fmt == FMT_CSV) {
    /* One tidy table: one row per kind, group and metric. */
    grid_t *g = grid_new(NULL, 8);
    const char *hdr[] = {"kind", "group", "metric", "n", "mean", "sd", "ci95_low", "ci95_high"};
    for (int c = 0; c < 8; c++)
      grid_set(g, 0, c, "%s", hdr[c]);
    for (int k = 0; k < KINDS; k++) {
      int ng;
      char **names = group_union(runs, n, k, &ng);
      for (int gi = 0; gi < ng; gi++)
        for (int m = 0; m < M_COUNT; m++) {
          spec_t sp = {.kind = k, .metric = m};
          snprintf(sp.group, sizeof sp.group, "%s", names[gi]);
          agg_t ag = aggregate_spec(runs, n, &sp);
          int r = grid_row(g);
          grid_set(g, r, 0, "%s", kind_names[k]);
          grid_set(g, r, 1, "%s", names[gi]);
          grid_set(g, r, 2, "%s", metric_names[m]);
          grid_set(g, r, 3, "%d", ag.n);
          grid_set(g, r, 4, "%s", num(a, sizeof a, ag.mean, fmt));
          grid_set(g, r, 5, "%s", num(a, sizeof a, ag.sd, fmt));
          grid_set(g, r, 6, "%s", num(a, sizeof a, ag.mean - ag.half, fmt));
          grid_set(g, r, 7, "%s", num(b, sizeof b, ag.mean + ag.half, fmt));
        }
      free(names);
    }
    grid_print(g, fmt, stdout);
    grid_free(g);
  } else {
    if (fmt == FMT_MARKDOWN)
      printf("## cpnsim-report summary\n\n");
    else
      printf("cpnsim-report summary\n");
    if (n > 1)
      printf("%d files; each value is the mean ± the 95%% confidence half-width (Student t) across them.\n", n);
    if (fmt == FMT_MARKDOWN)
      printf("\n");
    print_run_list(runs, n, fmt, stdout);
    for (int k = 0; k < KINDS; k++) {
      int ng;
      char **names = group_union(runs, n, k, &ng);
      grid_t *g = grid_new(kind_titles[k], ng + 1);
      grid_set(g, 0, 0, "metric");
      for (int gi = 0; gi < ng; gi++)
        grid_set(g, 0, gi + 1, "%s", names[gi]);
      for (int m = 0; m < M_COUNT; m++) {
        int r = grid_row(g);
        grid_set(g, r, 0, "%s", metric_names[m]);
        for (int gi = 0; gi < ng; gi++) {
          spec_t sp = {.kind = k, .metric = m};
          snprintf(sp.group, sizeof sp.group, "%s", names[gi]);
          grid_set(g, r, gi + 1, "%s", mean_ci(a, sizeof a, aggregate_spec(runs, n, &sp), fmt));
        }
      }
      grid_print(g, fmt, stdout);
      printf("\n");
      grid_free(g);
      free(names);
    }
  }
  free_runs(runs, n);
  return 0;
}

/* ---- compare ------------------------------------------------------------------------------------ */

typedef struct {
  char label[600];
  run_t **runs; /* borrowed */
  int n;
} cgroup_t;

static int parse_specs(const char *list, spec_t **out, int *n_out)
{
  int cap = 1;
  for (const char *p = list; *p; p++)
    cap += *p == ',';
  spec_t *specs = xcalloc((size_t)cap, sizeof *specs);
  int n = 0;
  char *copy = xstrdup(list), *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*tok))
      tok++;
    char *end = tok + strlen(tok);
    while (end > tok && isspace((unsigned char)end[-1]))
      *--end = 0;
    if (!*tok)
      continue;
    if (spec_parse(tok, &specs[n])) {
      char why[sizeof err_msg];
      snprintf(why, sizeof why, "%s", err_msg);
      free(copy);
      free(specs);
      return fail("--metrics: %s", why);
    }
    n++;
  }
  free(copy);
  if (!n) {
    free(specs);
    return fail("--metrics: no metric given");
  }
  *out = specs;
  *n_out = n;
  return 0;
}

static int cmd_compare(char *const *files, int n, format_t fmt, const char *group_by, const char *metrics)
{
  spec_t *specs = NULL;
  int n_specs = 0;
  if (parse_specs(metrics ? metrics : default_compare_metrics, &specs, &n_specs))
    return -1;
  run_t **runs = load_runs(files, n);
  if (!runs) {
    free(specs);
    return -1;
  }
  for (int s = 0; s < n_specs; s++)
    if (spec_check_group(&specs[s], runs, n)) {
      free(specs);
      free_runs(runs, n);
      return -1;
    }
  /* Groups: files of one scenario and policy are seeds of one configuration (or one group per file). */
  int by_file = !strcmp(group_by, "file"), same_scenario = 1;
  for (int i = 1; i < n; i++)
    same_scenario &= !strcmp(runs[i]->scenario, runs[0]->scenario);
  cgroup_t *groups = xcalloc((size_t)n, sizeof *groups);
  int ng = 0;
  for (int i = 0; i < n; i++) {
    int gi = -1;
    for (int j = 0; j < ng && gi < 0 && !by_file; j++)
      if (!strcmp(groups[j].runs[0]->policy, runs[i]->policy) &&
          !strcmp(groups[j].runs[0]->scenario, runs[i]->scenario))
        gi = j;
    if (gi < 0) {
      gi = ng++;
      groups[gi].runs = xcalloc((size_t)n, sizeof(run_t *));
      if (by_file)
        snprintf(groups[gi].label, sizeof groups[gi].label, "%s", base_name(runs[i]->path));
      else if (same_scenario)
        snprintf(groups[gi].label, sizeof groups[gi].label, "%s", runs[i]->policy);
      else
        snprintf(groups[gi].label, sizeof groups[gi].label, "%s/%s", runs[i]->scenario, runs[i]->policy);
    }
    groups[gi].runs[groups[gi].n++] = runs[i];
  }
  agg_t *ag = xcalloc((size_t)n_specs * (size_t)ng, sizeof *ag);
  for (int s = 0; s < n_specs; s++)
    for (int gi = 0; gi < ng; gi++)
      ag[s * ng + gi] = aggregate_spec(groups[gi].runs, groups[gi].n, &specs[s]);

  char a[128], b[128], c[128];
  static const char *const sig_names[] = {"n/a", "no", "yes"};
  if (fmt == FMT_CSV) {
    grid_t *g = grid_new(NULL, 11);
    const char *hdr[] = {"metric", "group", "n", "mean", "sd", "ci95_low", "ci95_high", "diff", "diff_rel",
                         "noise", "significant"};
    for (int col = 0; col < 11; col++)
      grid_set(g, 0, col, "%s", hdr[col]);
    for (int s = 0; s < n_specs; s++)
      for (int gi = 0; gi < ng; gi++) {
        agg_t x = ag[s * ng + gi], ref = ag[s * ng];
        int r = grid_row(g);
        grid_set(g, r, 0, "%s", specs[s].text);
        grid_set(g, r, 1, "%s", groups[gi].label);
        grid_set(g, r, 2, "%d", x.n);
        grid_set(g, r, 3, "%s", num(a, sizeof a, x.mean, fmt));
        grid_set(g, r, 4, "%s", num(a, sizeof a, x.sd, fmt));
        grid_set(g, r, 5, "%s", num(a, sizeof a, x.mean - x.half, fmt));
        grid_set(g, r, 6, "%s", num(a, sizeof a, x.mean + x.half, fmt));
        if (gi > 0) {
          double noise, diff = x.mean - ref.mean;
          int sig = differs(ref, x, &noise);
          grid_set(g, r, 7, "%s", num(a, sizeof a, diff, fmt));
          grid_set(g, r, 8, "%s", num(a, sizeof a, ref.mean != 0 ? diff / fabs(ref.mean) : NAN, fmt));
          grid_set(g, r, 9, "%s", num(a, sizeof a, noise, fmt));
          grid_set(g, r, 10, "%s", sig_names[sig + 1]);
        }
      }
    grid_print(g, fmt, stdout);
    grid_free(g);
  } else {
    printf(fmt == FMT_MARKDOWN ? "## cpnsim-report compare\n\n" : "cpnsim-report compare\n");
    printf("%d groups; the reference is the first, '%s'. Values: mean ± 95%% confidence half-width across the "
           "group's files (seeds).\n",
           ng, groups[0].label);
    printf("A difference is significant ('yes') when |diff| > noise = t(0.975, Welch df) * sqrt(sd_a^2/n_a + "
           "sd_b^2/n_b)\n(Welch's two-sided t-test at 5%%); a group of one file borrows the other's variance; "
           "'n/a' when neither group has two files.\n\n");
    for (int gi = 0; gi < ng; gi++) {
      printf("%s%s: %d file%s, seeds", fmt == FMT_MARKDOWN ? "- " : "  ", groups[gi].label, groups[gi].n,
             groups[gi].n == 1 ? "" : "s");
      for (int i = 0; i < groups[gi].n; i++)
        printf(" %lld", groups[gi].runs[i]->seed);
      printf(" (");
      for (int i = 0; i < groups[gi].n; i++)
        printf("%s%s", i ? " " : "", groups[gi].runs[i]->path);
      printf(")\n");
    }
    printf("\n");
    grid_t *g = grid_new(NULL, 1 + ng + 3 * (ng - 1));
    grid_set(g, 0, 0, "metric");
    for (int gi = 0; gi < ng; gi++)
      grid_set(g, 0, 1 + gi, "%s (n=%d)", groups[gi].label, groups[gi].n);
    for (int gi = 1; gi < ng; gi++) {
      int col = 1 + ng + 3 * (gi - 1);
      grid_set(g, 0, col, "%s - %s", groups[gi].label, groups[0].label);
      grid_set(g, 0, col + 1, "noise");
      grid_set(g, 0, col + 2, "sig");
    }
    for (int s = 0; s < n_specs; s++) {
      int r = grid_row(g);
      grid_set(g, r, 0, "%s", specs[s].text);
      for (int gi = 0; gi < ng; gi++)
        grid_set(g, r, 1 + gi, "%s", mean_ci(a, sizeof a, ag[s * ng + gi], fmt));
      for (int gi = 1; gi < ng; gi++) {
        agg_t x = ag[s * ng + gi], ref = ag[s * ng];
        double noise, diff = x.mean - ref.mean;
        int sig = differs(ref, x, &noise), col = 1 + ng + 3 * (gi - 1);
        grid_set(g, r, col, "%s (%s)", signed_num(a, sizeof a, diff, fmt), rel_pct(b, sizeof b, diff, ref.mean));
        grid_set(g, r, col + 1, "%s", num(c, sizeof c, noise, fmt));
        grid_set(g, r, col + 2, "%s", sig_names[sig + 1]);
      }
    }
    grid_print(g, fmt, stdout);
    grid_free(g);
  }
  free(ag);
  for (int gi = 0; gi < ng; gi++)
    free(groups[gi].runs);
  free(groups);
  free(specs);
  free_runs(runs, n);
  return 0;
}

/* ---- check -------------------------------------------------------------------------------------- */

/* One tolerance line: METRIC OP BOUND, e.g. `ttft_p99_s <= +5%` (see README "Tolerance file"). */
typedef struct {
  spec_t spec;
  int at_most;     /* '<=': the metric may rise by at most bound; '>=': may fall by at most -bound */
  int relative;    /* bound in % of |baseline| */
  double bound;    /* signed: absolute in the metric's unit, or percent */
  char rule[80];   /* as written, e.g. "<= +5%" */
  int line;
} tol_t;

static int parse_tolerances(const char *path, tol_t **out, int *n_out)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return fail("%s: cannot open: %s", path, strerror(errno));
  int cap = 16, n = 0, line_no = 0, rc = 0;
  tol_t *t = xcalloc((size_t)cap, sizeof *t);
  char line[1024];
  while (!rc && fgets(line, sizeof line, f)) {
    line_no++;
    char *hash = strchr(line, '#');
    if (hash)
      *hash = 0;
    char metric[400], op[8], bound[64], extra[8];
    int k = sscanf(line, "%399s %7s %63s %7s", metric, op, bound, extra);
    if (k <= 0)
      continue;
    if (k != 3) {
      rc = fail("%s:%d: expected 'METRIC <= BOUND' or 'METRIC >= BOUND', e.g. 'ttft_p99_s <= +5%%'", path, line_no);
      break;
    }
    if (n == cap) {
      cap *= 2;
      tol_t *p = realloc(t, (size_t)cap * sizeof *p);
      if (!p) {
        rc = fail("out of memory");
        break;
      }
      t = p;
    }
    tol_t *x = &t[n];
    memset(x, 0, sizeof *x);
    x->line = line_no;
    if (spec_parse(metric, &x->spec)) {
      char why[sizeof err_msg];
      snprintf(why, sizeof why, "%s", err_msg);
      rc = fail("%s:%d: %s", path, line_no, why);
      break;
    }
    if (!strcmp(op, "<="))
      x->at_most = 1;
    else if (strcmp(op, ">=")) {
      rc = fail("%s:%d: operator '%s': use '<=' (may rise by at most) or '>=' (may fall by at most)", path, line_no,
                op);
      break;
    }
    char *end;
    x->bound = strtod(bound, &end);
    x->relative = *end == '%';
    if (end == bound || (*end && strcmp(end, "%")) || !isfinite(x->bound)) {
      rc = fail("%s:%d: bound '%s' is not a number or a percentage, e.g. +5%% or -0.01", path, line_no, bound);
      break;
    }
    snprintf(x->rule, sizeof x->rule, "%s %s", op, bound);
    n++;
  }
  if (!rc && ferror(f))
    rc = fail("%s: read error", path);
  fclose(f);
  if (!rc && n == 0)
    rc = fail("%s: no tolerance lines", path);
  if (rc) {
    free(t);
    return rc;
  }
  *out = t;
  *n_out = n;
  return 0;
}

static int cmd_check(char *const *baselines, int n_base, const char *tol_path, char *const *files, int n,
                     format_t fmt, int *regressions)
{
  tol_t *tols = NULL;
  int n_tols = 0;
  if (parse_tolerances(tol_path, &tols, &n_tols))
    return -1;
  run_t **base = load_runs(baselines, n_base);
  run_t **runs = base ? load_runs(files, n) : NULL;
  if (!runs) {
    free_runs(base, n_base);
    free(tols);
    return -1;
  }
  for (int i = 0; i < n_tols; i++)
    if (spec_check_group(&tols[i].spec, base, n_base)) {
      char why[sizeof err_msg];
      snprintf(why, sizeof why, "%s", err_msg);
      int line = tols[i].line;
      free_runs(base, n_base);
      free_runs(runs, n);
      free(tols);
      return fail("%s:%d: %s", tol_path, line, why);
    }
  static const char *const hdr[] = {"metric", "baseline", "run", "change", "tolerance", "limit", "result"};
  grid_t *g = grid_new(NULL, 7);
  for (int c = 0; c < 7; c++)
    grid_set(g, 0, c, "%s", hdr[c]);
  char a[128], b[128];
  int failed = 0;
  /* Failures are also written to stderr, one line each, so CI logs show them whatever --format says. */
  char (*why)[512] = xcalloc((size_t)n_tols, sizeof *why);
  for (int i = 0; i < n_tols; i++) {
    const tol_t *t = &tols[i];
    double bv = aggregate_spec(base, n_base, &t->spec).mean, rv = aggregate_spec(runs, n, &t->spec).mean;
    double limit = bv + (t->relative ? t->bound / 100 * fabs(bv) : t->bound);
    const char *result;
    if (isnan(bv))
      result = isnan(rv) ? "ok" : "ok (no baseline)";
    else if (isnan(rv))
      result = "FAIL";
    else
      result = (t->at_most ? rv <= limit : rv >= limit) ? "ok" : "FAIL";
    int r = grid_row(g);
    grid_set(g, r, 0, "%s", t->spec.text);
    grid_set(g, r, 1, "%s", num(a, sizeof a, bv, fmt));
    grid_set(g, r, 2, "%s", num(a, sizeof a, rv, fmt));
    if (fmt == FMT_CSV)
      grid_set(g, r, 3, "%s", num(a, sizeof a, rv - bv, fmt));
    else
      grid_set(g, r, 3, "%s (%s)", signed_num(a, sizeof a, rv - bv, fmt), rel_pct(b, sizeof b, rv - bv, bv));
    grid_set(g, r, 4, "%s", t->rule);
    grid_set(g, r, 5, "%s", num(a, sizeof a, limit, fmt));
    grid_set(g, r, 6, "%s", result);
    if (!strcmp(result, "FAIL")) {
      char bs[64], rs[64], ls[64];
      snprintf(why[failed++], sizeof why[0],
               "regression: %s: run %s, baseline %s, tolerance %s (%s %s) [%s:%d]", t->spec.text,
               num(rs, sizeof rs, rv, FMT_TEXT), num(bs, sizeof bs, bv, FMT_TEXT), t->rule,
               isnan(rv) ? "the run has no value, limit" : t->at_most ? "limit <=" : "limit >=",
               num(ls, sizeof ls, limit, FMT_TEXT), tol_path, t->line);
    }
  }
  if (fmt != FMT_CSV) {
    printf(fmt == FMT_MARKDOWN ? "## cpnsim-report check\n\n" : "cpnsim-report check\n");
    printf("baseline:%s", fmt == FMT_MARKDOWN ? "\n\n" : "\n");
    print_run_list(base, n_base, fmt, stdout);
    printf("run:%s", fmt == FMT_MARKDOWN ? "\n\n" : "\n");
    print_run_list(runs, n, fmt, stdout);
  }
  grid_print(g, fmt, stdout);
  if (fmt != FMT_CSV)
    printf("\n%s: %d of %d metrics outside tolerance\n", failed ? "REGRESSION" : "ok", failed, n_tols);
  fflush(stdout);
  for (int i = 0; i < failed; i++)
    fprintf(stderr, "cpnsim-report: %s\n", why[i]);
  free(why);
  grid_free(g);
  free_runs(base, n_base);
  free_runs(runs, n);
  free(tols);
  *regressions = failed;
  return 0;
}

/* ---- command line ------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
  fprintf(f,
          "usage:\n"
          "  cpnsim-report summary RUN.h5 [RUN2.h5 ...] [--format text|csv|markdown]\n"
          "  cpnsim-report compare A.h5 B.h5 ... [--group-by policy|file] [--metrics M1,M2,...] [--format F]\n"
          "  cpnsim-report check --baseline BASE.h5 [--baseline ...] --tolerances FILE RUN.h5 [...] [--format F]\n"
          "  cpnsim-report --list-metrics\n"
          "Reads cpnsim HDF5 result files. summary: metrics overall and per site, class and tenant (mean and 95%%\n"
          "confidence interval across several files). compare: files with the same scenario and policy form a\n"
          "group (seeds); differences versus the first group, marked significant when they exceed the seed noise.\n"
          "check: exit 1 when a metric of RUN is worse than BASE beyond its tolerance. A metric is NAME or\n"
          "KIND:GROUP/NAME (KIND site, class or tenant), e.g. site:east/ttft_p99_s. See analysis/README.md.\n"
          "Exit codes: 0 fine, 1 regression (check), 2 bad input.\n");
}

int main(int argc, char **argv)
{
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported by this program, once, with the file name */
  if (argc < 2) {
    usage(stderr);
    return EXIT_BAD_INPUT;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    usage(stdout);
    return EXIT_FINE;
  }
  if (!strcmp(cmd, "--list-metrics")) {
    for (int m = 0; m < M_COUNT; m++)
      printf("%s\n", metric_names[m]);
    return EXIT_FINE;
  }
  if (strcmp(cmd, "summary") && strcmp(cmd, "compare") && strcmp(cmd, "check")) {
    fprintf(stderr, "cpnsim-report: unknown command '%s' (summary, compare or check)\n", cmd);
    usage(stderr);
    return EXIT_BAD_INPUT;
  }
  format_t fmt = FMT_TEXT;
  const char *group_by = "policy", *metrics = NULL, *tolerances = NULL;
  char **files = xcalloc((size_t)argc, sizeof *files), **baselines = xcalloc((size_t)argc, sizeof *baselines);
  int n_files = 0, n_base = 0, rc = EXIT_FINE;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      goto out;
    }
    if (!strcmp(a, "--format") || !strcmp(a, "--group-by") || !strcmp(a, "--metrics") ||
        !strcmp(a, "--baseline") || !strcmp(a, "--tolerances")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "cpnsim-report: option '%s' needs a value\n", a);
        rc = EXIT_BAD_INPUT;
        goto out;
      }
      const char *v = argv[++i];
      if (!strcmp(a, "--format")) {
        if (!strcmp(v, "text"))
          fmt = FMT_TEXT;
        else if (!strcmp(v, "csv"))
          fmt = FMT_CSV;
        else if (!strcmp(v, "markdown") || !strcmp(v, "md"))
          fmt = FMT_MARKDOWN;
        else {
          fprintf(stderr, "cpnsim-report: --format '%s': use text, csv or markdown\n", v);
          rc = EXIT_BAD_INPUT;
          goto out;
        }
      } else if (!strcmp(a, "--group-by")) {
        if (strcmp(v, "policy") && strcmp(v, "file")) {
          fprintf(stderr, "cpnsim-report: --group-by '%s': use policy or file\n", v);
          rc = EXIT_BAD_INPUT;
          goto out;
        }
        group_by = v;
      } else if (!strcmp(a, "--metrics")) {
        metrics = v;
      } else if (!strcmp(a, "--baseline")) {
        baselines[n_base++] = (char *)v;
      } else {
        tolerances = v;
      }
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "cpnsim-report: unknown option '%s'\n", a);
      rc = EXIT_BAD_INPUT;
      goto out;
    } else {
      files[n_files++] = (char *)a;
    }
  }
  int err = 0;
  if (!strcmp(cmd, "check") && (n_base || tolerances)) {
    /* checked below */
  } else if (n_base || tolerances) {
    fprintf(stderr, "cpnsim-report: --baseline and --tolerances belong to 'check'\n");
    rc = EXIT_BAD_INPUT;
    goto out;
  }
  if (!strcmp(cmd, "summary")) {
    if (!n_files) {
      fprintf(stderr, "cpnsim-report: summary needs at least one result file\n");
      rc = EXIT_BAD_INPUT;
      goto out;
    }
    err = cmd_summary(files, n_files, fmt);
  } else if (!strcmp(cmd, "compare")) {
    if (!n_files) {
      fprintf(stderr, "cpnsim-report: compare needs result files\n");
      rc = EXIT_BAD_INPUT;
      goto out;
    }
    err = cmd_compare(files, n_files, fmt, group_by, metrics);
  } else {
    if (!n_base || !tolerances || !n_files) {
      fprintf(stderr, "cpnsim-report: check needs --baseline BASE.h5, --tolerances FILE and a result file\n");
      rc = EXIT_BAD_INPUT;
      goto out;
    }
    int regressions = 0;
    err = cmd_check(baselines, n_base, tolerances, files, n_files, fmt, &regressions);
    if (!err && regressions)
      rc = EXIT_REGRESSION;
  }
  if (err) {
    fprintf(stderr, "cpnsim-report: %s\n", err_msg);
    rc = EXIT_BAD_INPUT;
  }
out:
  free(files);
  free(baselines);
  return rc;
}
