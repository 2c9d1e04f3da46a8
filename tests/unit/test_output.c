/* test_output: the HDF5 result file (sim/output.c) and the status/reason names (sim/record.c).
 *
 * Each case writes into its own mkdtemp directory and removes it afterwards. Files are read back with
 * the plain HDF5 API, as an analysis script would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "output/output.h"
#include "output/record.h"

/* ---- helpers ----------------------------------------------------------------------------------- */

typedef struct {
  char dir[256];
} fixture_t;

static int setup(void **state)
{
  fixture_t *f = calloc(1, sizeof *f);
  const char *tmp = getenv("TMPDIR");
  snprintf(f->dir, sizeof f->dir, "%s/cpn_output_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(f->dir)) {
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

/* Removes the test directory: files directly in it and in its immediate subdirectories. */
static void remove_tree(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
      remove_tree(p);
    else
      unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

static int teardown(void **state)
{
  fixture_t *f = *state;
  remove_tree(f->dir);
  free(f);
  return 0;
}

static const char *in_dir(void **state, const char *name)
{
  static char path[512];
  fixture_t *f = *state;
  snprintf(path, sizeof path, "%s/%s", f->dir, name);
  return path;
}

static int exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0;
}

/* A row whose every field differs from its neighbours' and from the defaults, with NaN where the
 * request never reached a stage, as the engine writes them. */
static cpn_record_t make_row(uint64_t i)
{
  cpn_record_t r;
  memset(&r, 0, sizeof r);
  r.id = 1000003u * i + 7u;
  r.tenant = (int32_t)(i % 5);
  r.cls = (int32_t)(i % 3);
  r.origin = (int32_t)(i % 7);
  r.model = (int32_t)(i % 4);
  r.site = (i % 11 == 0) ? -1 : (int32_t)(i % 9);
  r.replica = (i % 11 == 0) ? -1 : (int32_t)(i % 2);
  r.t_arrival = 2.385 * (double)i;
  r.t_dispatch = r.t_arrival + 0.0125;
  r.t_first_token = (i % 11 == 0) ? NAN : r.t_arrival + 0.317;
  r.t_done = (i % 11 == 0) ? NAN : r.t_arrival + 4.721;
  r.prompt_tokens = (uint32_t)(137 + i);
  r.output_tokens = (uint32_t)(4000000000u - i);
  r.net_in_s = 0.00385 * (double)(i % 13);
  r.net_out_s = 0.00219 * (double)(i % 17);
  r.status = (uint8_t)(i % CPN_STATUS_COUNT);
  r.reason = (uint8_t)(i % CPN_REASON_COUNT);
  r.cross_border = (uint8_t)(i % 2);
  r.preempted = (uint8_t)(i % 256);
  r.cost_usd = 1.5e-6 * (double)i;
  r.energy_j = 12.75 + (double)i;
  r.co2_g = -0.0 + 3.3e-3 * (double)i;
  return r;
}

static cpn_err_t write_rows(const char *path, size_t n)
{
  cpn_output_t *o = NULL;
  cpn_err_t err = cpn_output_open(&o, path);
  if (err != CPN_OK)
    return err;
  for (size_t i = 0; i < n && err == CPN_OK; i++) {
    cpn_record_t r = make_row(i);
    err = cpn_output_request(o, &r);
  }
  cpn_err_t close_err = cpn_output_close(o, err == CPN_OK);
  return err != CPN_OK ? err : close_err;
}

static int same_double(double a, double b)
{
  return (isnan(a) && isnan(b)) || a == b;
}

static void assert_rows_equal(const cpn_record_t *a, const cpn_record_t *b)
{
  assert_int_equal(a->id, b->id);
  assert_int_equal(a->tenant, b->tenant);
  assert_int_equal(a->cls, b->cls);
  assert_int_equal(a->origin, b->origin);
  assert_int_equal(a->model, b->model);
  assert_int_equal(a->site, b->site);
  assert_int_equal(a->replica, b->replica);
  assert_true(same_double(a->t_arrival, b->t_arrival));
  assert_true(same_double(a->t_dispatch, b->t_dispatch));
  assert_true(same_double(a->t_first_token, b->t_first_token));
  assert_true(same_double(a->t_done, b->t_done));
  assert_int_equal(a->prompt_tokens, b->prompt_tokens);
  assert_int_equal(a->output_tokens, b->output_tokens);
  assert_true(same_double(a->net_in_s, b->net_in_s));
  assert_true(same_double(a->net_out_s, b->net_out_s));
  assert_int_equal(a->status, b->status);
  assert_int_equal(a->reason, b->reason);
  assert_int_equal(a->cross_border, b->cross_border);
  assert_int_equal(a->preempted, b->preempted);
  assert_true(same_double(a->cost_usd, b->cost_usd));
  assert_true(same_double(a->energy_j, b->energy_j));
  assert_true(same_double(a->co2_g, b->co2_g));
}

static hsize_t dataset_rows(hid_t dset)
{
  hid_t space = H5Dget_space(dset);
  assert_true(space >= 0);
  hsize_t dims[1] = {0};
  assert_int_equal(H5Sget_simple_extent_ndims(space), 1);
  H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  return dims[0];
}

/* Reads /requests in its file type: the bytes exactly as stored (after decompression). */
static unsigned char *read_raw_requests(const char *path, size_t *n_bytes)
{
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(file >= 0);
  hid_t dset = H5Dopen2(file, "/requests", H5P_DEFAULT);
  assert_true(dset >= 0);
  hid_t type = H5Dget_type(dset);
  size_t n = (size_t)dataset_rows(dset) * H5Tget_size(type);
  unsigned char *buf = malloc(n > 0 ? n : 1);
  assert_non_null(buf);
  assert_true(H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
  H5Tclose(type);
  H5Dclose(dset);
  H5Fclose(file);
  *n_bytes = n;
  return buf;
}

static char *slurp(const char *path, size_t *len)
{
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *len = (size_t)n;
  return buf;
}

/* After every case, no HDF5 file may still be open anywhere in the process: a leaked id inside the
 * output module would keep its file open. */
static void assert_no_open_files(void)
{
  assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
}

/* ---- record names ------------------------------------------------------------------------------ */

static void status_and_reason_names_are_the_format(void **state)
{
  assert_string_equal(cpn_status_name(CPN_STATUS_COMPLETED), "completed");
  assert_string_equal(cpn_status_name(CPN_STATUS_REJECTED), "rejected");
  assert_string_equal(cpn_status_name(CPN_STATUS_FAILED), "failed");
  assert_string_equal(cpn_status_name(CPN_STATUS_TIMED_OUT), "timed_out");
  assert_string_equal(cpn_status_name(CPN_STATUS_COUNT), "unknown");
  static const char *const reasons[CPN_REASON_COUNT] = {
    "none", "no_eligible_site", "policy_reject", "policy_violation", "admission",
    "queue_timeout", "site_failure", "link_failure", "too_large", "end_of_run"};
  for (int r = 0; r < CPN_REASON_COUNT; r++)
    assert_string_equal(cpn_reason_name((cpn_reason_t)r), reasons[r]);
  assert_string_equal(cpn_reason_name(CPN_REASON_COUNT), "unknown");
}

/* ---- /requests --------------------------------------------------------------------------------- */

static void writes_and_reads_back_rows(void **state)
{
  enum { N = 10000 }; /* two full chunks and a partial one */
  const char *path = in_dir(state, "run.h5");
  assert_int_equal(write_rows(path, N), CPN_OK);
  assert_no_open_files();

  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(file >= 0);
  hid_t dset = H5Dopen2(file, "/requests", H5P_DEFAULT);
  assert_true(dset >= 0);
  assert_int_equal(dataset_rows(dset), N);
  hid_t mem = (hid_t)cpn_output_record_memtype();
  assert_true(mem >= 0);
  cpn_record_t *rows = calloc(N, sizeof *rows);
  assert_non_null(rows);
  assert_true(H5Dread(dset, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
  for (uint64_t i = 0; i < N; i++) {
    cpn_record_t want = make_row(i);
    assert_rows_equal(&rows[i], &want);
  }
  assert_true(isnan(rows[0].t_first_token));
  assert_true(rows[1].t_arrival == 2.385);
  free(rows);
  H5Tclose(mem);
  H5Dclose(dset);
  H5Fclose(file);
}

static void requests_is_chunked_shuffled_deflated_and_extendible(void **state)
{
  const char *path = in_dir(state, "run.h5");
  assert_int_equal(write_rows(path, 5), CPN_OK);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t dset = H5Dopen2(file, "/requests", H5P_DEFAULT);
  hid_t dcpl = H5Dget_create_plist(dset);
  assert_int_equal(H5Pget_layout(dcpl), H5D_CHUNKED);
  hsize_t chunk[1] = {0};
  assert_int_equal(H5Pget_chunk(dcpl, 1, chunk), 1);
  assert_int_equal(chunk[0], 4096);
  assert_int_equal(H5Pget_nfilters(dcpl), 2);
  unsigned flags = 0, level = 0;
  size_t n_values = 1;
  assert_int_equal(H5Pget_filter2(dcpl, 0, &flags, NULL, NULL, 0, NULL, NULL), H5Z_FILTER_SHUFFLE);
  assert_int_equal(H5Pget_filter2(dcpl, 1, &flags, &n_values, &level, 0, NULL, NULL), H5Z_FILTER_DEFLATE);
  assert_int_equal(level, 1);
  hid_t space = H5Dget_space(dset);
  hsize_t dims[1], maxdims[1];
  H5Sget_simple_extent_dims(space, dims, maxdims);
  assert_int_equal(dims[0], 5);
  assert_true(maxdims[0] == H5S_UNLIMITED);
  H5Sclose(space);
  H5Pclose(dcpl);
  H5Dclose(dset);
  H5Fclose(file);
}

static void fields_mirror_the_record(void **state)
{
  static const char *const names[] = {
    "id", "tenant", "class", "origin", "model", "site", "replica", "t_arrival", "t_dispatch",
    "t_first_token", "t_done", "prompt_tokens", "output_tokens", "net_in_s", "net_out_s", "status",
    "reason", "cross_border", "preempted", "cost_usd", "energy_j", "co2_g", "cached_tokens"};
  enum { N_NAMES = sizeof names / sizeof names[0] };
  const char *path = in_dir(state, "run.h5");
  assert_int_equal(write_rows(path, 0), CPN_OK);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t dset = H5Dopen2(file, "/requests", H5P_DEFAULT);
  hid_t type = H5Dget_type(dset);
  assert_int_equal(H5Tget_nmembers(type), N_NAMES);
  for (unsigned i = 0; i < N_NAMES; i++) {
    char *name = H5Tget_member_name(type, i);
    assert_string_equal(name, names[i]);
    H5free_memory(name);
  }
  /* Fixed little-endian types in the file, whatever the host. */
  hid_t id = H5Tget_member_type(type, 0), t0 = H5Tget_member_type(type, 7);
  assert_true(H5Tequal(id, H5T_STD_U64LE) > 0);
  assert_true(H5Tequal(t0, H5T_IEEE_F64LE) > 0);
  H5Tclose(id);
  H5Tclose(t0);
  hid_t mem = (hid_t)cpn_output_record_memtype();
  assert_int_equal(H5Tget_size(mem), sizeof(cpn_record_t));
  assert_int_equal(H5Tget_nmembers(mem), N_NAMES);
  H5Tclose(mem);
  H5Tclose(type);
  H5Dclose(dset);
  H5Fclose(file);
}

static void enum_names_visible(void **state)
{
  const char *path = in_dir(state, "run.h5");
  assert_int_equal(write_rows(path, 4), CPN_OK);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t dset = H5Dopen2(file, "/requests", H5P_DEFAULT);
  hid_t type = H5Dget_type(dset);
  hid_t status = H5Tget_member_type(type, (unsigned)H5Tget_member_index(type, "status"));
  hid_t reason = H5Tget_member_type(type, (unsigned)H5Tget_member_index(type, "reason"));
  assert_int_equal(H5Tget_class(status), H5T_ENUM);
  assert_int_equal(H5Tget_class(reason), H5T_ENUM);
  assert_int_equal(H5Tget_size(status), 1);
  char name[64];
  uint8_t v = CPN_STATUS_TIMED_OUT;
  assert_true(H5Tenum_nameof(status, &v, name, sizeof name) >= 0);
  assert_string_equal(name, "timed_out");
  assert_int_equal(H5Tget_nmembers(status), CPN_STATUS_COUNT);
  assert_int_equal(H5Tget_nmembers(reason), CPN_REASON_COUNT);
  for (int r = 0; r < CPN_REASON_COUNT; r++) {
    v = (uint8_t)r;
    assert_true(H5Tenum_nameof(reason, &v, name, sizeof name) >= 0);
    assert_string_equal(name, cpn_reason_name((cpn_reason_t)r));
  }
  H5Tclose(reason);
  H5Tclose(status);
  H5Tclose(type);
  H5Dclose(dset);
  H5Fclose(file);
}

static void out_of_range_status_is_einval(void **state)
{
  const char *path = in_dir(state, "run.h5");
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, path), CPN_OK);
  cpn_record_t r = make_row(3);
  r.status = CPN_STATUS_COUNT;
  assert_int_equal(cpn_output_request(o, &r), CPN_EINVAL);
  assert_non_null(strstr(cpn_error_message(), "status"));
  r = make_row(3);
  r.reason = 200;
  assert_int_equal(cpn_output_request(o, &r), CPN_EINVAL);
  assert_int_equal(cpn_output_close(o, 0), CPN_OK);
}

static void empty_requests_dataset_exists(void **state)
{
  const char *path = in_dir(state, "run.h5");
  assert_int_equal(write_rows(path, 0), CPN_OK);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(file >= 0);
  assert_true(H5Lexists(file, "/requests", H5P_DEFAULT) > 0);
  hid_t dset = H5Dopen2(file, "/requests", H5P_DEFAULT);
  assert_true(dset >= 0);
  assert_int_equal(dataset_rows(dset), 0);
  H5Dclose(dset);
  H5Fclose(file);
}

/* ---- temporary file and errors ----------------------------------------------------------------- */

static void open_writes_under_tmp_name(void **state)
{
  const char *path = in_dir(state, "run.h5");
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, path), CPN_OK);
  assert_true(exists(tmp));
  assert_false(exists(path));
  assert_int_equal(cpn_output_close(o, 1), CPN_OK);
}

static void close_without_commit_leaves_no_file(void **state)
{
  char path[512], tmp[600];
  snprintf(path, sizeof path, "%s", in_dir(state, "run.h5"));
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, path), CPN_OK);
  for (uint64_t i = 0; i < 5000; i++) {
    cpn_record_t r = make_row(i);
    assert_int_equal(cpn_output_request(o, &r), CPN_OK);
  }
  assert_int_equal(cpn_output_attr_int(o, "seed", 42), CPN_OK);
  assert_int_equal(cpn_output_close(o, 0), CPN_OK);
  assert_false(exists(path));
  assert_false(exists(tmp));
  assert_no_open_files();
}

static void committed_file_has_no_tmp(void **state)
{
  char path[512], tmp[600];
  snprintf(path, sizeof path, "%s", in_dir(state, "run.h5"));
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  assert_int_equal(write_rows(path, 17), CPN_OK);
  assert_true(exists(path));
  assert_false(exists(tmp));
}

static void close_accepts_null(void **state)
{
  assert_int_equal(cpn_output_close(NULL, 1), CPN_OK);
  assert_int_equal(cpn_output_close(NULL, 0), CPN_OK);
}

static void unwritable_path_is_eio(void **state)
{
  char path[512];
  snprintf(path, sizeof path, "%s", in_dir(state, "no/such/dir/run.h5"));
  cpn_output_t *o = (cpn_output_t *)(uintptr_t)0x2385;
  assert_int_equal(cpn_output_open(&o, path), CPN_EIO);
  assert_ptr_equal(o, (cpn_output_t *)(uintptr_t)0x2385); /* outputs are written only on success */
  assert_non_null(strstr(cpn_error_message(), path));
  assert_no_open_files();
}

/* ---- attributes, scenario, names, tables ------------------------------------------------------- */

static void root_attributes_roundtrip_and_overwrite(void **state)
{
  const char *path = in_dir(state, "run.h5");
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, path), CPN_OK);
  assert_int_equal(cpn_output_attr_str(o, "policy", "round_robin"), CPN_OK);
  assert_int_equal(cpn_output_attr_str(o, "policy", "least_loaded"), CPN_OK); /* overwrites */
  assert_int_equal(cpn_output_attr_str(o, "scenario", ""), CPN_OK);
  assert_int_equal(cpn_output_attr_double(o, "wall_seconds", 1.0), CPN_OK);
  assert_int_equal(cpn_output_attr_double(o, "wall_seconds", 2.385), CPN_OK);
  assert_int_equal(cpn_output_attr_int(o, "seed", -9007199254740993LL), CPN_OK);
  assert_int_equal(cpn_output_close(o, 1), CPN_OK);

  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t a = H5Aopen(file, "policy", H5P_DEFAULT);
  hid_t t = H5Aget_type(a);
  char *s = NULL;
  assert_true(H5Aread(a, t, &s) >= 0);
  assert_string_equal(s, "least_loaded");
  H5free_memory(s);
  H5Tclose(t);
  H5Aclose(a);
  double d = 0;
  a = H5Aopen(file, "wall_seconds", H5P_DEFAULT);
  assert_true(H5Aread(a, H5T_NATIVE_DOUBLE, &d) >= 0);
  assert_true(d == 2.385);
  H5Aclose(a);
  int64_t i = 0;
  a = H5Aopen(file, "seed", H5P_DEFAULT);
  assert_true(H5Aread(a, H5T_NATIVE_INT64, &i) >= 0);
  assert_true(i == -9007199254740993LL);
  H5Aclose(a);
  H5O_info_t info;
  assert_true(H5Oget_info2(file, &info, H5O_INFO_NUM_ATTRS) >= 0);
  assert_int_equal(info.num_attrs, 4);
  H5Fclose(file);
}

static void scenario_and_names_roundtrip(void **state)
{
  const char *path = in_dir(state, "run.h5");
  const char *text = "sites:\n  - name: fra\n    accelerators: 8\n";
  const char *sites[] = {"fra", "ams-north", "x"};
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, path), CPN_OK);
  assert_int_equal(cpn_output_scenario_text(o, text), CPN_OK);
  assert_int_equal(cpn_output_names(o, "sites", sites, 3), CPN_OK);
  assert_int_equal(cpn_output_names(o, "tenants", NULL, 0), CPN_OK);
  assert_int_equal(cpn_output_names(o, "bad/name", sites, 3), CPN_EINVAL);
  assert_int_equal(cpn_output_close(o, 1), CPN_OK);

  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t d = H5Dopen2(file, "/scenario", H5P_DEFAULT);
  hid_t t = H5Dget_type(d);
  assert_int_equal(H5Tget_class(t), H5T_STRING);
  size_t n = H5Tget_size(t);
  assert_int_equal(n, strlen(text));
  char *buf = calloc(1, n + 1);
  assert_true(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
  assert_string_equal(buf, text);
  free(buf);
  H5Tclose(t);
  H5Dclose(d);

  d = H5Dopen2(file, "/names/sites", H5P_DEFAULT);
  assert_int_equal(dataset_rows(d), 3);
  t = H5Dget_type(d);
  n = H5Tget_size(t);
  assert_int_equal(n, strlen("ams-north"));
  buf = calloc(3, n);
  assert_true(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
  for (int i = 0; i < 3; i++)
    assert_true(strncmp(buf + (size_t)i * n, sites[i], n) == 0 && strlen(sites[i]) <= n);
  assert_int_equal(buf[2 * n + 1], '\0');
  free(buf);
  H5Tclose(t);
  H5Dclose(d);

  d = H5Dopen2(file, "/names/tenants", H5P_DEFAULT);
  assert_true(d >= 0);
  assert_int_equal(dataset_rows(d), 0);
  H5Dclose(d);
  H5Fclose(file);
}

typedef struct {
  char key[16];
  double requests;
  double p99_ttft_s;
} site_row_t;

static void table_roundtrip(void **state)
{
  const char *path = in_dir(state, "run.h5");
  const char *cols[] = {"requests", "p99_ttft_s"};
  const char *keys[] = {"overall", "fra", "ams-north"};
  const double values[] = {1200, 2.385, 700, 1.125, 500, 3.5};
  cpn_table_t sites = {"/summary/sites", 3, 2, cols, keys, values};
  const double ts[] = {0.0, 1.5, 10.0, 2.5};
  const char *ts_cols[] = {"t_s", "busy"};
  cpn_table_t timeseries = {"/timeseries/sites", 2, 2, ts_cols, NULL, ts};
  cpn_table_t classes = {"/summary/classes", 0, 2, cols, keys, NULL};
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, path), CPN_OK);
  assert_int_equal(cpn_output_table(o, &sites), CPN_OK);
  assert_int_equal(cpn_output_table(o, &timeseries), CPN_OK);
  assert_int_equal(cpn_output_table(o, &classes), CPN_OK); /* 0 rows, existing group */
  assert_int_equal(cpn_output_table(o, &sites), CPN_EIO);   /* already there */
  assert_non_null(strstr(cpn_error_message(), "/summary/sites"));
  const char *dup_cols[] = {"x", "x"};
  cpn_table_t dup = {"/events", 1, 2, dup_cols, NULL, values};
  assert_int_equal(cpn_output_table(o, &dup), CPN_EINVAL);
  cpn_table_t nothing = {"/transfers", 1, 0, NULL, NULL, NULL};
  assert_int_equal(cpn_output_table(o, &nothing), CPN_EINVAL);
  assert_int_equal(cpn_output_close(o, 1), CPN_OK);

  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t d = H5Dopen2(file, "/summary/sites", H5P_DEFAULT);
  assert_true(d >= 0);
  assert_int_equal(dataset_rows(d), 3);
  hid_t ft = H5Dget_type(d);
  assert_int_equal(H5Tget_nmembers(ft), 3);
  const char *want[] = {"key", "requests", "p99_ttft_s"};
  for (unsigned i = 0; i < 3; i++) {
    char *name = H5Tget_member_name(ft, i);
    assert_string_equal(name, want[i]);
    H5free_memory(name);
  }
  H5Tclose(ft);
  hid_t key = H5Tcopy(H5T_C_S1);
  H5Tset_size(key, sizeof ((site_row_t *)0)->key);
  H5Tset_cset(key, H5T_CSET_UTF8); /* HDF5 does not convert between ASCII and UTF-8 */
  hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(site_row_t));
  H5Tinsert(mt, "key", offsetof(site_row_t, key), key);
  H5Tinsert(mt, "requests", offsetof(site_row_t, requests), H5T_NATIVE_DOUBLE);
  H5Tinsert(mt, "p99_ttft_s", offsetof(site_row_t, p99_ttft_s), H5T_NATIVE_DOUBLE);
  site_row_t rows[3];
  memset(rows, 0, sizeof rows);
  assert_true(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
  for (int i = 0; i < 3; i++) {
    assert_string_equal(rows[i].key, keys[i]);
    assert_true(rows[i].requests == values[2 * i]);
    assert_true(rows[i].p99_ttft_s == values[2 * i + 1]);
  }
  H5Tclose(mt);
  H5Tclose(key);
  H5Dclose(d);

  d = H5Dopen2(file, "/timeseries/sites", H5P_DEFAULT);
  ft = H5Dget_type(d);
  assert_int_equal(H5Tget_nmembers(ft), 2);
  assert_true(H5Tget_member_index(ft, "key") < 0);
  H5Tclose(ft);
  double back[4];
  mt = H5Tcreate(H5T_COMPOUND, 2 * sizeof(double));
  H5Tinsert(mt, "t_s", 0, H5T_NATIVE_DOUBLE);
  H5Tinsert(mt, "busy", sizeof(double), H5T_NATIVE_DOUBLE);
  assert_true(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
  assert_memory_equal(back, ts, sizeof ts);
  H5Tclose(mt);
  H5Dclose(d);

  d = H5Dopen2(file, "/summary/classes", H5P_DEFAULT);
  assert_int_equal(dataset_rows(d), 0);
  H5Dclose(d);
  assert_true(H5Lexists(file, "/events", H5P_DEFAULT) == 0);
  H5Fclose(file);
  assert_no_open_files();
}

/* ---- determinism ------------------------------------------------------------------------------- */

static cpn_err_t write_full_file(const char *path, size_t n_rows)
{
  const char *cols[] = {"requests", "p99_ttft_s"};
  const char *keys[] = {"overall", "fra"};
  const double values[] = {1200, 2.385, 700, 1.125};
  cpn_table_t sites = {"/summary/sites", 2, 2, cols, keys, values};
  const char *names[] = {"fra", "ams"};
  cpn_output_t *o = NULL;
  cpn_err_t err = cpn_output_open(&o, path);
  if (err != CPN_OK)
    return err;
  for (size_t i = 0; i < n_rows && err == CPN_OK; i++) {
    cpn_record_t r = make_row(i);
    err = cpn_output_request(o, &r);
  }
  if (err == CPN_OK)
    err = cpn_output_scenario_text(o, "seed: 42\n");
  if (err == CPN_OK)
    err = cpn_output_names(o, "sites", names, 2);
  if (err == CPN_OK)
    err = cpn_output_table(o, &sites);
  if (err == CPN_OK)
    err = cpn_output_attr_str(o, "policy", "least_loaded");
  if (err == CPN_OK)
    err = cpn_output_attr_int(o, "seed", 42);
  cpn_err_t close_err = cpn_output_close(o, err == CPN_OK);
  return err != CPN_OK ? err : close_err;
}

static void same_rows_same_bytes(void **state)
{
  enum { N = 5000 };
  fixture_t *f = *state;
  char a[512], b[512];
  snprintf(a, sizeof a, "%s/a", f->dir);
  snprintf(b, sizeof b, "%s/b", f->dir);
  assert_int_equal(mkdir(a, 0700), 0);
  assert_int_equal(mkdir(b, 0700), 0);
  strcat(a, "/run.h5");
  strcat(b, "/run.h5");
  assert_int_equal(write_full_file(a, N), CPN_OK);
  assert_int_equal(write_full_file(b, N), CPN_OK);

  size_t na = 0, nb = 0;
  unsigned char *ra = read_raw_requests(a, &na), *rb = read_raw_requests(b, &nb);
  assert_int_equal(na, nb);
  assert_true(na > 0);
  assert_memory_equal(ra, rb, na);
  free(ra);
  free(rb);

  /* No timestamps, no uninitialised padding: the whole files are identical too. */
  size_t la = 0, lb = 0;
  char *fa = slurp(a, &la), *fb = slurp(b, &lb);
  assert_int_equal(la, lb);
  assert_memory_equal(fa, fb, la);
  free(fa);
  free(fb);

  if (system("command -v h5dump >/dev/null 2>&1") != 0) {
    fprintf(stderr, "# h5dump not installed: skipping the h5dump comparison\n");
    return;
  }
  /* Same file name in both directories, so even h5dump's header line must match. */
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "cd '%s/a' && h5dump -d /requests run.h5 > dump.txt", f->dir);
  assert_int_equal(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "cd '%s/b' && h5dump -d /requests run.h5 > dump.txt", f->dir);
  assert_int_equal(system(cmd), 0);
  snprintf(a, sizeof a, "%s/a/dump.txt", f->dir);
  snprintf(b, sizeof b, "%s/b/dump.txt", f->dir);
  char *da = slurp(a, &la), *db = slurp(b, &lb);
  assert_int_equal(la, lb);
  assert_true(la > 1000);
  assert_memory_equal(da, db, la);
  da[la] = '\0';
  assert_non_null(strstr(da, "timed_out")); /* enum names, not numbers */
  assert_non_null(strstr(da, "H5T_STD_U64LE"));
  free(da);
  free(db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(status_and_reason_names_are_the_format),
    cmocka_unit_test(close_accepts_null),
    cmocka_unit_test_setup_teardown(writes_and_reads_back_rows, setup, teardown),
    cmocka_unit_test_setup_teardown(requests_is_chunked_shuffled_deflated_and_extendible, setup, teardown),
    cmocka_unit_test_setup_teardown(fields_mirror_the_record, setup, teardown),
    cmocka_unit_test_setup_teardown(enum_names_visible, setup, teardown),
    cmocka_unit_test_setup_teardown(out_of_range_status_is_einval, setup, teardown),
    cmocka_unit_test_setup_teardown(empty_requests_dataset_exists, setup, teardown),
    cmocka_unit_test_setup_teardown(open_writes_under_tmp_name, setup, teardown),
    cmocka_unit_test_setup_teardown(close_without_commit_leaves_no_file, setup, teardown),
    cmocka_unit_test_setup_teardown(committed_file_has_no_tmp, setup, teardown),
    cmocka_unit_test_setup_teardown(unwritable_path_is_eio, setup, teardown),
    cmocka_unit_test_setup_teardown(root_attributes_roundtrip_and_overwrite, setup, teardown),
    cmocka_unit_test_setup_teardown(scenario_and_names_roundtrip, setup, teardown),
    cmocka_unit_test_setup_teardown(table_roundtrip, setup, teardown),
    cmocka_unit_test_setup_teardown(same_rows_same_bytes, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
