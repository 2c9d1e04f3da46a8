/* test_output_safety: the result file survives what users and file systems do to it (sim/output).
 *
 * One writer per output path (a second open fails and leaves the first writer's file whole), no write
 * through a symbolic link planted at the temporary or lock name, leftovers of a killed run replaced,
 * write errors (a file size limit standing in for a full disk) reported with the temporary file
 * removed, strings stored as UTF-8 refused when they are not, and default result names that stay plain
 * file names in the working directory. Each case works in its own mkdtemp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#include "output/output.h"
#include "output/record.h"

/* ---- helpers ----------------------------------------------------------------------------------- */

typedef struct {
  char dir[256];
  char path[512], tmp[600], lock[600];
} fixture_t;

static int setup(void **state)
{
  fixture_t *f = calloc(1, sizeof *f);
  const char *tmp = getenv("TMPDIR");
  snprintf(f->dir, sizeof f->dir, "%s/cpn_outsafe_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(f->dir)) {
    free(f);
    return -1;
  }
  snprintf(f->path, sizeof f->path, "%s/run.h5", f->dir);
  snprintf(f->tmp, sizeof f->tmp, "%s.tmp", f->path);
  snprintf(f->lock, sizeof f->lock, "%s.lock", f->path);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fixture_t *f = *state;
  DIR *d = opendir(f->dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char p[800];
      snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(f->dir);
  free(f);
  return 0;
}

static int exists(const char *p)
{
  struct stat st;
  return lstat(p, &st) == 0;
}

/* Names in the directory, sorted, joined by spaces (for messages and exact checks). */
static void listing(const char *dir, char *out, size_t size)
{
  struct dirent **names;
  int n = scandir(dir, &names, NULL, alphasort);
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
      strncat(out, names[i]->d_name, size - strlen(out) - 2);
      strncat(out, " ", size - strlen(out) - 1);
    }
    free(names[i]);
  }
  free(names);
}

static void assert_contains(const char *haystack, const char *needle)
{
  if (!strstr(haystack, needle))
    fail_msg("'%s' does not contain '%s'", haystack, needle);
}

static cpn_record_t make_row(uint64_t i)
{
  cpn_record_t r;
  memset(&r, 0, sizeof r);
  r.id = i;
  r.tenant = (int32_t)(i % 3);
  r.site = (int32_t)(i % 7);
  r.t_arrival = 2.385 * (double)i;
  r.t_done = r.t_arrival + 0.731;
  r.prompt_tokens = (uint32_t)(100 + i % 913);
  r.output_tokens = (uint32_t)(7 + i % 211);
  r.status = CPN_STATUS_COMPLETED;
  r.reason = CPN_REASON_NONE;
  r.cost_usd = 1e-5 * (double)(i % 17);
  return r;
}

static void write_rows(cpn_output_t *o, uint64_t from, uint64_t n)
{
  for (uint64_t i = from; i < from + n; i++) {
    cpn_record_t r = make_row(i);
    assert_int_equal(cpn_output_request(o, &r), CPN_OK);
  }
}

/* Number of /requests rows of a committed file, checking every id is its row number; -1 if unreadable. */
static long count_rows(const char *path)
{
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    return -1;
  long n = -1;
  hid_t d = H5Dopen2(file, "/requests", H5P_DEFAULT);
  if (d >= 0) {
    hid_t space = H5Dget_space(d);
    hsize_t dims[1] = {0};
    H5Sget_simple_extent_dims(space, dims, NULL);
    uint64_t *ids = malloc((dims[0] ? dims[0] : 1) * sizeof *ids);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(uint64_t));
    H5Tinsert(t, "id", 0, H5T_NATIVE_UINT64);
    if (H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids) >= 0) {
      n = (long)dims[0];
      for (hsize_t i = 0; i < dims[0]; i++)
        if (ids[i] != i)
          n = -1;
    }
    H5Tclose(t);
    free(ids);
    H5Sclose(space);
    H5Dclose(d);
  }
  H5Fclose(file);
  return n;
}

static void write_text(const char *path, const char *text)
{
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  assert_int_equal(fclose(fp), 0);
}

static void assert_text(const char *path, const char *want)
{
  char got[256] = "";
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  size_t n = fread(got, 1, sizeof got - 1, fp);
  got[n] = '\0';
  fclose(fp);
  assert_string_equal(got, want);
}

/* ---- one writer per path ----------------------------------------------------------------------- */

/* The reproducer output-concurrent-same-out-corrupt.sh in one process: before, the second open
 * truncated the first writer's temporary file (then failed on HDF5's own lock), and the first writer
 * committed a corrupt file. */
static void second_writer_fails_and_first_file_stays_whole(void **state)
{
  fixture_t *f = *state;
  cpn_output_t *a = NULL, *b = (cpn_output_t *)(uintptr_t)0x2385;
  assert_int_equal(cpn_output_open(&a, f->path), CPN_OK);
  write_rows(a, 0, 10000); /* two whole chunks are in the file already */
  struct stat before, after;
  assert_int_equal(stat(f->tmp, &before), 0);

  assert_int_equal(cpn_output_open(&b, f->path), CPN_EIO);
  assert_ptr_equal(b, (cpn_output_t *)(uintptr_t)0x2385);
  assert_contains(cpn_error_message(), "another run is writing it");
  assert_contains(cpn_error_message(), f->lock);
  assert_int_equal(stat(f->tmp, &after), 0);
  assert_true(after.st_size == before.st_size && after.st_ino == before.st_ino);
  assert_true(exists(f->lock));

  write_rows(a, 10000, 2385);
  assert_int_equal(cpn_output_close(a, 1), CPN_OK);
  assert_int_equal(count_rows(f->path), 12385);
  char names[512];
  listing(f->dir, names, sizeof names);
  assert_string_equal(names, "run.h5 ");

  /* Once the first writer is done, the path is free again. */
  assert_int_equal(cpn_output_open(&b, f->path), CPN_OK);
  write_rows(b, 0, 17);
  assert_int_equal(cpn_output_close(b, 1), CPN_OK);
  assert_int_equal(count_rows(f->path), 17);
}

static void aborted_close_removes_tmp_and_lock(void **state)
{
  fixture_t *f = *state;
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, f->path), CPN_OK);
  assert_true(exists(f->tmp) && exists(f->lock));
  write_rows(o, 0, 5000);
  assert_int_equal(cpn_output_close(o, 0), CPN_OK);
  char names[512];
  listing(f->dir, names, sizeof names);
  assert_string_equal(names, "");
}

/* ---- leftovers and planted links --------------------------------------------------------------- */

/* A killed run (SIGKILL) leaves "<path>.tmp" and "<path>.lock": neither looks like a result, and the
 * next run with the same path replaces them and cleans up. */
static void leftover_of_killed_run_is_replaced(void **state)
{
  fixture_t *f = *state;
  write_text(f->tmp, "half a result file of a killed run");
  write_text(f->lock, "");
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, f->path), CPN_OK);
  write_rows(o, 0, 4096);
  assert_int_equal(cpn_output_close(o, 1), CPN_OK);
  assert_int_equal(count_rows(f->path), 4096);
  char names[512];
  listing(f->dir, names, sizeof names);
  assert_string_equal(names, "run.h5 ");
}

/* Before, the temporary file was opened with O_TRUNC through whatever was at its name: a symbolic link
 * planted there had its target overwritten. */
static void symlink_at_tmp_name_is_not_followed(void **state)
{
  fixture_t *f = *state;
  char victim[600];
  snprintf(victim, sizeof victim, "%s/victim", f->dir);
  write_text(victim, "precious 2.385\n");
  assert_int_equal(symlink(victim, f->tmp), 0);
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, f->path), CPN_OK);
  struct stat st;
  assert_int_equal(lstat(f->tmp, &st), 0);
  assert_true(S_ISREG(st.st_mode)); /* a new file, not the link */
  write_rows(o, 0, 5000);
  assert_int_equal(cpn_output_close(o, 1), CPN_OK);
  assert_text(victim, "precious 2.385\n");
  assert_int_equal(count_rows(f->path), 5000);
  assert_int_equal(lstat(f->path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
}

static void symlink_at_lock_name_is_refused(void **state)
{
  fixture_t *f = *state;
  char victim[600];
  snprintf(victim, sizeof victim, "%s/victim", f->dir);
  write_text(victim, "precious\n");
  assert_int_equal(symlink(victim, f->lock), 0);
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, f->path), CPN_EIO);
  assert_null(o);
  assert_contains(cpn_error_message(), "symbolic link");
  assert_contains(cpn_error_message(), f->lock);
  assert_text(victim, "precious\n");
  assert_false(exists(f->tmp));
  assert_false(exists(f->path));
}

static void directory_at_output_path_is_refused_at_open(void **state)
{
  fixture_t *f = *state;
  assert_int_equal(mkdir(f->path, 0700), 0);
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, f->path), CPN_EIO);
  assert_contains(cpn_error_message(), "is a directory");
  assert_false(exists(f->tmp));
  assert_false(exists(f->lock));
  rmdir(f->path);
}

/* ---- write errors ------------------------------------------------------------------------------ */

/* A file size limit makes write() fail with EFBIG the way a full disk fails with ENOSPC: the failure is
 * reported (by the write or by the close that flushes) with the system's reason and the file's name, and
 * nothing is left behind. In a child process: HDF5 1.10 keeps a file whose close failed half-open, which
 * would disturb the other cases (tests/integration/test_result_file_hostile.sh checks that cpnsim still exits
 * cleanly afterwards). */
static void write_error_is_reported_and_tmp_removed(void **state)
{
  fixture_t *f = *state;
  int pipefd[2];
  assert_int_equal(pipe(pipefd), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(pipefd[0]);
    signal(SIGXFSZ, SIG_IGN);
    cpn_output_t *o = NULL;
    if (cpn_output_open(&o, f->path) != CPN_OK)
      _exit(10);
    struct rlimit small;
    getrlimit(RLIMIT_FSIZE, &small);
    small.rlim_cur = 64 * 1024;
    if (setrlimit(RLIMIT_FSIZE, &small) != 0)
      _exit(11);
    cpn_err_t err = CPN_OK;
    for (uint64_t i = 0; i < 200000 && err == CPN_OK; i++) {
      cpn_record_t r = make_row(i);
      r.t_arrival = (double)(i * 2654435761u % 1000003); /* compresses badly */
      err = cpn_output_request(o, &r);
    }
    char msg[2048];
    snprintf(msg, sizeof msg, "%d %s", (int)err, cpn_error_message());
    cpn_err_t cerr = cpn_output_close(o, err == CPN_OK);
    if (err == CPN_OK)
      snprintf(msg, sizeof msg, "%d %s", (int)cerr, cpn_error_message());
    if (write(pipefd[1], msg, strlen(msg)) < 0)
      _exit(12);
    _exit(0);
  }
  close(pipefd[1]);
  char msg[2048] = "";
  size_t n = 0;
  ssize_t got;
  while ((got = read(pipefd[0], msg + n, sizeof msg - 1 - n)) > 0)
    n += (size_t)got;
  msg[n] = '\0';
  close(pipefd[0]);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_true(msg[0] == '0' + CPN_EIO);
  assert_contains(msg, f->path);
  assert_contains(msg, ": File too large"); /* the system's reason, not HDF5's whole dump */
  assert_null(strstr(msg, "file descriptor ="));
  char names[512];
  listing(f->dir, names, sizeof names);
  assert_string_equal(names, "");
}

/* ---- UTF-8 ------------------------------------------------------------------------------------- */

/* The host ids of xml-nonutf8-hostid.xml ("caf\xe9\xff") reached /names/links, declared UTF-8. */
static void non_utf8_strings_are_refused(void **state)
{
  fixture_t *f = *state;
  cpn_output_t *o = NULL;
  assert_int_equal(cpn_output_open(&o, f->path), CPN_OK);
  const char *links[] = {"hub--east", "caf\xe9\xff--hub"};
  assert_int_equal(cpn_output_names(o, "links", links, 2), CPN_EINVAL);
  assert_contains(cpn_error_message(), "name 1 of '/names/links' is not valid UTF-8");
  assert_contains(cpn_error_message(), "byte 0xe9 at offset 3");
  assert_contains(cpn_error_message(), "caf\\xe9\\xff--hub");
  /* Overlong forms, surrogates, code points past U+10FFFF and cut sequences are not UTF-8 either. */
  const char *bad[] = {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xe4\xba", "\x80", "\xf8\x88\x80\x80\x80"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *one[] = {bad[i]};
    if (cpn_output_names(o, "sites", one, 1) != CPN_EINVAL)
      fail_msg("bad UTF-8 #%zu accepted", i);
  }
  assert_int_equal(cpn_output_attr_str(o, "scenario", "na\xefve"), CPN_EINVAL);
  assert_contains(cpn_error_message(), "root attribute 'scenario'");
  assert_int_equal(cpn_output_scenario_text(o, "name: x\n# \xff\xfe\n"), CPN_EINVAL);
  assert_contains(cpn_error_message(), "/scenario");
  static const char *const cols[] = {"p50"};
  static const char *const keys[] = {"overall", "\xb1"};
  const double v[] = {2.385, 1.0};
  cpn_table_t t = {.path = "/summary/sites", .n_rows = 2, .n_cols = 1, .col_names = cols, .keys = keys, .values = v};
  assert_int_equal(cpn_output_table(o, &t), CPN_EINVAL);
  assert_contains(cpn_error_message(), "key 1 of table '/summary/sites'");

  /* Real UTF-8 (two-, three- and four-byte characters) goes through and reads back as written. */
  const char *good[] = {"京津冀", "Zürich", "\xf0\x9f\x9a\x80", ""};
  assert_int_equal(cpn_output_names(o, "sites", good, 4), CPN_OK);
  assert_int_equal(cpn_output_attr_str(o, "scenario", "Île-de-France"), CPN_OK);
  assert_int_equal(cpn_output_close(o, 1), CPN_OK);
  hid_t file = H5Fopen(f->path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(file >= 0);
  hid_t d = H5Dopen2(file, "/names/sites", H5P_DEFAULT);
  assert_true(d >= 0);
  hid_t type = H5Dget_type(d);
  size_t width = H5Tget_size(type);
  assert_int_equal(H5Tget_cset(type), H5T_CSET_UTF8);
  char *buf = calloc(4, width + 1);
  assert_true(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
  assert_memory_equal(buf, "京津冀", strlen("京津冀"));
  assert_memory_equal(buf + width, "Zürich", strlen("Zürich"));
  free(buf);
  H5Tclose(type);
  H5Dclose(d);
  H5Fclose(file);
  /* /names/links was refused: nothing of it reached the file. */
  assert_int_equal(count_rows(f->path), 0);
}

/* ---- default names ----------------------------------------------------------------------------- */

static void expect_default(const char *name, const char *want)
{
  char buf[80];
  assert_int_equal(cpn_output_default_path(name, buf, sizeof buf), CPN_OK);
  if (strcmp(buf, want))
    fail_msg("default for '%s': '%s', want '%s'", name, buf, want);
  assert_null(strchr(buf, '/'));
  assert_null(strstr(buf, ".."));
}

/* Before, "--set name=/abs/path" without --out wrote "/abs/path.h5". */
static void default_name_is_a_plain_file_name(void **state)
{
  (void)state;
  expect_default("national-2026", "national-2026.h5");
  expect_default("/abs/path", "_abs_path.h5");
  expect_default("../../etc/x", "______etc_x.h5");
  expect_default("..", "__.h5");
  expect_default(".", "_.h5");
  expect_default(".hidden", "_hidden.h5");
  expect_default("run.v2", "run.v2.h5");
  expect_default("a..b", "a__b.h5");
  expect_default("end.", "end_.h5");
  expect_default("-rf", "_rf.h5");
  expect_default("caf\xe9\xff", "caf__.h5");
  expect_default("tab\there\nnew\x7f", "tab_here_new_.h5");
  expect_default("back\\slash", "back_slash.h5");
  expect_default("京津冀", "京津冀.h5");
  expect_default("", "cpnsim.h5");
  expect_default(NULL, "cpnsim.h5");
  /* Cut to the buffer on a character boundary: 11 bytes of room hold three 3-byte characters, not 3.67. */
  char buf[15];
  assert_int_equal(cpn_output_default_path("京津冀京津冀", buf, sizeof buf), CPN_OK);
  assert_string_equal(buf, "京津冀.h5");
  assert_int_equal(cpn_output_default_path("x", buf, 4), CPN_EINVAL);
  /* Never longer than NAME_MAX. */
  char longname[400], big[600];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_int_equal(cpn_output_default_path(longname, big, sizeof big), CPN_OK);
  assert_int_equal(strlen(big), 255);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(non_utf8_strings_are_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(second_writer_fails_and_first_file_stays_whole, setup, teardown),
    cmocka_unit_test_setup_teardown(aborted_close_removes_tmp_and_lock, setup, teardown),
    cmocka_unit_test_setup_teardown(leftover_of_killed_run_is_replaced, setup, teardown),
    cmocka_unit_test_setup_teardown(symlink_at_tmp_name_is_not_followed, setup, teardown),
    cmocka_unit_test_setup_teardown(symlink_at_lock_name_is_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(directory_at_output_path_is_refused_at_open, setup, teardown),
    cmocka_unit_test_setup_teardown(write_error_is_reported_and_tmp_removed, setup, teardown),
    cmocka_unit_test(default_name_is_a_plain_file_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
