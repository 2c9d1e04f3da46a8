/* sweep_index: reads metrics from cpnsim result files and writes a sweep's index, DIR/index.h5.
 *
 * Index layout: /points, a compound table with one row per point in the sweep's order: `point` (int32),
 * `id` (the point's hash), `status` ("ok", "failed", "pending"), `exit_code` (int32, -1 not run),
 * `wall_s` (double), `worker` (int32: MPI rank that ran it, 0 locally, -1 reused from an earlier run), `path` (result file, relative to DIR), `error` (last log line of a failed point),
 * then one string column per parameter (named by its key: "policy", "seed", "demand.scale"...), then one
 * double column per metric of /summary/overall (NaN for a point without a result). Root attributes:
 * `sweep` (name), `scenario` (path), `sweep_file` (its text, "" when made by a program), `points`,
 * `ok`, `failed`, `pending`, `format_version` ("1.0").
 * Strings are fixed-length, NUL-padded UTF-8. Written to index.h5.tmp and renamed. */
#include "sweep.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METRICS 128

/* The float columns of /summary/<table>: names (caller frees each) and count. */
static int float_columns(hid_t ds, char **names, int max)
{
  hid_t t = H5Dget_type(ds);
  int n = 0, m = H5Tget_nmembers(t);
  for (int i = 0; i < m && n < max; i++)
    if (H5Tget_member_class(t, (unsigned)i) == H5T_FLOAT)
      names[n++] = H5Tget_member_name(t, (unsigned)i);
  H5Tclose(t);
  return n;
}

/* Row of `key` in a table with a string column `key`; -1 if absent. */
static long find_row(hid_t ds, const char *key)
{
  hid_t sp = H5Dget_space(ds);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  if (n <= 0)
    return -1;
  hid_t st = H5Tcopy(H5T_C_S1);
  H5Tset_size(st, 256);
  H5Tset_cset(st, H5T_CSET_UTF8); /* cpnsim writes UTF-8: HDF5 converts no other way */
  hid_t mt = H5Tcreate(H5T_COMPOUND, 256);
  H5Tinsert(mt, "key", 0, st);
  char *buf = calloc((size_t)n, 256);
  long row = -1;
  if (buf && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
    for (long i = 0; i < n && row < 0; i++)
      if (!strncmp(buf + 256 * i, key, 255))
        row = i;
  free(buf);
  H5Tclose(mt);
  H5Tclose(st);
  return row;
}

static double read_cell(hid_t ds, long row, const char *name)
{
  hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(double));
  H5Tinsert(mt, name, 0, H5T_NATIVE_DOUBLE);
  hid_t fs = H5Dget_space(ds);
  hsize_t start = (hsize_t)row, count = 1;
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL);
  hid_t ms = H5Screate_simple(1, &count, NULL);
  double v = NAN;
  if (H5Dread(ds, mt, ms, fs, H5P_DEFAULT, &v) < 0)
    v = NAN;
  H5Sclose(ms);
  H5Sclose(fs);
  H5Tclose(mt);
  return v;
}

static hid_t open_quiet(const char *path)
{
  H5E_auto2_t fn;
  void *data;
  H5Eget_auto2(H5E_DEFAULT, &fn, &data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  H5Eset_auto2(H5E_DEFAULT, fn, data);
  return f;
}

cpn_err_t cpn_sweep_read_metric(const char *path, const char *table, const char *key, const char *name, double *out)
{
  hid_t f = open_quiet(path);
  if (f < 0)
    return cpn_error_set(CPN_EIO, "%s: not an HDF5 file", path);
  char dpath[256];
  snprintf(dpath, sizeof dpath, "/summary/%s", table);
  cpn_err_t err = CPN_OK;
  hid_t ds = H5Lexists(f, "summary", H5P_DEFAULT) > 0 && H5Lexists(f, dpath, H5P_DEFAULT) > 0
                 ? H5Dopen2(f, dpath, H5P_DEFAULT)
                 : -1;
  if (ds < 0) {
    err = cpn_error_set(CPN_ENOTFOUND, "%s: no table %s", path, dpath);
  } else {
    hid_t t = H5Dget_type(ds);
    int has = H5Tget_member_index(t, name) >= 0;
    H5Tclose(t);
    long row = find_row(ds, key);
    if (!has)
      err = cpn_error_set(CPN_ENOTFOUND, "%s: %s has no column '%s'", path, dpath, name);
    else if (row < 0)
      err = cpn_error_set(CPN_ENOTFOUND, "%s: %s has no row '%s'", path, dpath, key);
    else
      *out = read_cell(ds, row, name);
    H5Dclose(ds);
  }
  H5Fclose(f);
  return err;
}

double cpn_sweep_read_wall(const char *path)
{
  double w = NAN;
  hid_t f = open_quiet(path);
  if (f < 0)
    return w;
  if (H5Aexists(f, "wall_seconds") > 0) {
    hid_t a = H5Aopen(f, "wall_seconds", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_DOUBLE, &w);
    H5Aclose(a);
  }
  H5Fclose(f);
  return w;
}

static hid_t str_type(size_t n)
{
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, n);
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

static void put_attr_str(hid_t loc, const char *name, const char *v)
{
  hid_t t = str_type(strlen(v) ? strlen(v) : 1), sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, t, v);
  H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
}

static void put_attr_int(hid_t loc, const char *name, long long v)
{
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_LLONG, &v);
  H5Aclose(a);
  H5Sclose(sp);
}

cpn_err_t cpn_sweep_write_index(const cpn_sweep_t *sw)
{
  /* Metric columns: those of the first finished point. */
  char *metrics[MAX_METRICS];
  int n_m = 0;
  for (int i = 0; i < sw->n_points && n_m == 0; i++) {
    if (sw->points[i].state != CPN_POINT_OK)
      continue;
    char out[CPN_SWEEP_PATH];
    cpn_sweep_result_path(sw, &sw->points[i], out);
    hid_t f = open_quiet(out);
    if (f < 0)
      continue;
    hid_t ds = H5Lexists(f, "summary", H5P_DEFAULT) > 0 && H5Lexists(f, "/summary/overall", H5P_DEFAULT) > 0
                   ? H5Dopen2(f, "/summary/overall", H5P_DEFAULT)
                   : -1;
    if (ds >= 0) {
      n_m = float_columns(ds, metrics, MAX_METRICS);
      H5Dclose(ds);
    }
    H5Fclose(f);
  }
  /* Row layout: fixed fields, parameters, metrics. */
  enum { ID = 17, STATUS = 8, PATHLEN = 128, ERR = CPN_SWEEP_STR, PARAM = 64 };
  size_t o_point = 0, o_id = 4, o_status = o_id + ID, o_exit = o_status + STATUS + 3, o_wall = o_exit + 4;
  size_t o_worker = o_wall + 8, o_path = o_worker + 8, o_err = o_path + PATHLEN, o_par = o_err + ERR;
  size_t o_met = o_par + (size_t)sw->n_cols * PARAM;
  o_met = (o_met + 7) & ~(size_t)7;
  size_t row = o_met + (size_t)n_m * 8;
  hid_t t_id = str_type(ID), t_st = str_type(STATUS), t_path = str_type(PATHLEN), t_err = str_type(ERR),
        t_par = str_type(PARAM);
  hid_t mt = H5Tcreate(H5T_COMPOUND, row);
  H5Tinsert(mt, "point", o_point, H5T_NATIVE_INT32);
  H5Tinsert(mt, "id", o_id, t_id);
  H5Tinsert(mt, "status", o_status, t_st);
  H5Tinsert(mt, "exit_code", o_exit, H5T_NATIVE_INT32);
  H5Tinsert(mt, "wall_s", o_wall, H5T_NATIVE_DOUBLE);
  H5Tinsert(mt, "worker", o_worker, H5T_NATIVE_INT32);
  H5Tinsert(mt, "path", o_path, t_path);
  H5Tinsert(mt, "error", o_err, t_err);
  for (int c = 0; c < sw->n_cols; c++)
    H5Tinsert(mt, sw->cols[c], o_par + (size_t)c * PARAM, t_par);
  for (int m = 0; m < n_m; m++)
    H5Tinsert(mt, metrics[m], o_met + (size_t)m * 8, H5T_NATIVE_DOUBLE);
  char *buf = calloc(sw->n_points ? (size_t)sw->n_points : 1, row);
  int n_ok = 0, n_failed = 0;
  for (int i = 0; buf && i < sw->n_points; i++) {
    const cpn_sweep_point_t *p = &sw->points[i];
    char *r = buf + (size_t)i * row;
    *(int32_t *)(r + o_point) = i;
    memcpy(r + o_id, p->id, 16);
    const char *st = p->state == CPN_POINT_OK ? "ok" : p->state == CPN_POINT_FAILED ? "failed" : "pending";
    memcpy(r + o_status, st, strlen(st));
    n_ok += p->state == CPN_POINT_OK;
    n_failed += p->state == CPN_POINT_FAILED;
    int32_t code = p->state == CPN_POINT_PENDING ? -1 : p->exit_code;
    memcpy(r + o_exit, &code, 4);
    double w = p->state == CPN_POINT_PENDING ? NAN : p->wall_s;
    memcpy(r + o_wall, &w, 8);
    int32_t worker = p->state == CPN_POINT_PENDING ? -1 : p->worker;
    memcpy(r + o_worker, &worker, 4);
    snprintf(r + o_path, PATHLEN, "points/%s.h5", p->id);
    memcpy(r + o_err, p->error, strnlen(p->error, ERR - 1));
    for (int c = 0; c < sw->n_cols; c++)
      memcpy(r + o_par + (size_t)c * PARAM, p->params[c], strnlen(p->params[c], PARAM - 1));
    for (int m = 0; m < n_m; m++) {
      double v = NAN;
      if (p->state == CPN_POINT_OK) {
        char out[CPN_SWEEP_PATH];
        cpn_sweep_result_path(sw, p, out);
        if (cpn_sweep_read_metric(out, "overall", "overall", metrics[m], &v))
          v = NAN;
      }
      memcpy(r + o_met + (size_t)m * 8, &v, 8);
    }
  }
  char tmp[CPN_SWEEP_PATH + 8], final[CPN_SWEEP_PATH];
  snprintf(final, sizeof final, "%s/index.h5", sw->dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", final);
  cpn_err_t err = CPN_OK;
  hid_t f = buf ? H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT) : -1;
  if (f < 0) {
    err = cpn_error_set(buf ? CPN_EIO : CPN_ENOMEM, "%s: cannot write the sweep index", tmp);
  } else {
    hsize_t dim = (hsize_t)sw->n_points;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t ds = H5Dcreate2(f, "points", mt, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    put_attr_str(f, "format_version", "1.0");
    put_attr_str(f, "sweep", sw->name);
    put_attr_str(f, "scenario", sw->scenario);
    put_attr_str(f, "sweep_file", sw->file_text ? sw->file_text : "");
    put_attr_int(f, "points", sw->n_points);
    put_attr_int(f, "ok", n_ok);
    put_attr_int(f, "failed", n_failed);
    put_attr_int(f, "pending", sw->n_points - n_ok - n_failed);
    if (ds >= 0)
      H5Dclose(ds);
    H5Sclose(sp);
    if (H5Fclose(f) < 0 || rc < 0 || rename(tmp, final))
      err = cpn_error_set(CPN_EIO, "%s: cannot write the sweep index", final);
  }
  free(buf);
  H5Tclose(mt);
  H5Tclose(t_id);
  H5Tclose(t_st);
  H5Tclose(t_path);
  H5Tclose(t_err);
  H5Tclose(t_par);
  for (int m = 0; m < n_m; m++)
    H5free_memory(metrics[m]);
  return err;
}
