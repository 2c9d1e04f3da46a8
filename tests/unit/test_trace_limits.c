/* test_trace_limits: the trace reader (sim/sources/trace.c) at the edges of what it can represent.
 *
 * Datetimes beyond 64-bit nanoseconds and traces spanning more than 292 years are refused with
 * FILE:LINE:COLUMN instead of overflowing (run the sanitizer build to see the overflow come back if a
 * check goes); lines holding NUL bytes are bad rows, not blank ones; with require_rows a trace that
 * yields nothing is an error that says why. The two reproducers come from tests/data/reliability. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources/trace.h"

#ifndef CPN_TEST_DATA
#error "CPN_TEST_DATA must be the path of tests/data"
#endif

#define YEAR_2263 CPN_TEST_DATA "/reliability/trace-year-2263.csv"
#define SPAN_550Y CPN_TEST_DATA "/reliability/trace-1700-then-2250.csv"

static char tmp_dir[256];

static int group_setup(void **state)
{
  (void)state;
  const char *tmp = getenv("TMPDIR");
  snprintf(tmp_dir, sizeof tmp_dir, "%s/cpn_trace_limits_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
  (void)state;
  DIR *d = opendir(tmp_dir);
  if (!d)
    return 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(tmp_dir);
  return 0;
}

/* Writes n bytes (NULs included) to tmp_dir/name; path receives the full name. */
static void write_bytes(const char *name, const char *content, size_t n, char path[512])
{
  snprintf(path, 512, "%s/%s", tmp_dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(content, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

static void assert_contains(const char *haystack, const char *needle)
{
  if (!strstr(haystack, needle))
    fail_msg("'%s' does not contain '%s'", haystack, needle);
}

static cpn_trace_options_t mapping(const char *name)
{
  cpn_trace_options_t o;
  assert_int_equal(cpn_trace_mapping(name, &o), CPN_OK);
  return o;
}

static cpn_trace_t *open_ok(const char *path, const cpn_trace_options_t *o)
{
  cpn_trace_t *t = NULL;
  if (cpn_trace_open(&t, path, o) != CPN_OK)
    fail_msg("cpn_trace_open(%s): %s", path, cpn_error_message());
  return t;
}

/* Reads the whole trace; returns the last cpn_trace_next result and the number of rows. */
static int read_all(cpn_trace_t *t, long *rows)
{
  cpn_trace_row_t r;
  int rc;
  *rows = 0;
  while ((rc = cpn_trace_next(t, &r)) == 1)
    (*rows)++;
  return rc;
}

/* ---- datetimes --------------------------------------------------------------------------------- */

static void datetimes_outside_64_bit_nanoseconds_are_out_of_range(void **state)
{
  (void)state;
  long long ns = 2385;
  /* The last and first whole seconds that fit. */
  assert_int_equal(cpn_trace_datetime_ns("2262-04-11 23:47:16", &ns), 0);
  assert_true(ns == 9223372036000000000LL);
  assert_int_equal(cpn_trace_datetime_ns("2262-04-11 23:47:16.854775807", &ns), 0);
  assert_true(ns == INT64_MAX);
  assert_int_equal(cpn_trace_datetime_ns("1677-09-21 00:12:44", &ns), 0);
  assert_true(ns == -9223372036000000000LL);
  /* One step beyond, and the far ends of four-digit years. */
  ns = 2385;
  const char *out[] = {"2262-04-11 23:47:17", "2262-04-11 23:47:16.854775808", "2263-01-01 00:00:00",
                       "9999-12-31 23:59:59.999999999", "1677-09-21 00:12:43", "0000-01-01 00:00:00"};
  for (size_t i = 0; i < sizeof out / sizeof *out; i++) {
    int rc = cpn_trace_datetime_ns(out[i], &ns);
    if (rc != -2)
      fail_msg("'%s': %d, want -2 (out of range)", out[i], rc);
    assert_true(ns == 2385);
  }
  /* Still -1 for what is not a datetime at all. */
  assert_int_equal(cpn_trace_datetime_ns("2263-02-30 00:00:00", &ns), -1);
}

/* Before: signed overflow in cpn_trace_datetime_ns (UBSan), a wrapped time in a release build. */
static void year_2263_is_a_bad_row_naming_file_line_column(void **state)
{
  (void)state;
  cpn_trace_options_t o = mapping("azure-2023");
  cpn_trace_t *t = open_ok(YEAR_2263, &o);
  long rows;
  assert_int_equal(read_all(t, &rows), -1);
  assert_int_equal(rows, 0);
  assert_contains(cpn_error_message(), YEAR_2263 ":2:1: column 'TIMESTAMP'");
  assert_contains(cpn_error_message(), "out of range");
  assert_contains(cpn_error_message(), "2262-04-11");
  cpn_trace_close(t);
  /* Skipped and counted with skip_errors; then the trace has nothing left. */
  o.skip_errors = 1;
  t = open_ok(YEAR_2263, &o);
  assert_int_equal(read_all(t, &rows), 0);
  assert_int_equal(cpn_trace_skipped(t), 1);
  cpn_trace_close(t);
}

/* Before: signed overflow in get_time (ns - origin_ns); a release build called it "time goes backwards". */
static void span_of_550_years_is_refused_not_wrapped(void **state)
{
  (void)state;
  cpn_trace_options_t o = mapping("azure-2023");
  cpn_trace_t *t = open_ok(SPAN_550Y, &o);
  long rows;
  assert_int_equal(read_all(t, &rows), -1);
  assert_int_equal(rows, 1);
  assert_contains(cpn_error_message(), SPAN_550Y ":3:1: column 'TIMESTAMP'");
  assert_contains(cpn_error_message(), "550 years");
  assert_null(strstr(cpn_error_message(), "backwards"));
  cpn_trace_close(t);
  /* 290 years is fine, and exact to the second. */
  char path[512];
  const char *ok = "TIMESTAMP,ContextTokens,GeneratedTokens\n1700-01-01 00:00:00,1,1\n1990-01-01 00:00:00,2,3\n";
  write_bytes("span290.csv", ok, strlen(ok), path);
  t = open_ok(path, &o);
  cpn_trace_row_t r;
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_true(r.t_s == 9151488000.0); /* 105,920 days */
  cpn_trace_close(t);
}

/* ---- NUL bytes --------------------------------------------------------------------------------- */

static const char NUL_TRACE[] = "arrived_at,num_prefill_tokens,num_decode_tokens\n"
                                "0.5,100,10\n"
                                "\0\0\0\0\0\0\n"
                                "1.5,300,30\n"
                                "2.0,4\0junk,40\n"
                                "2.5,500,50\n";

/* Before: fgets + strlen saw the NUL line as blank (ignored even in stop mode) and "2.0,4\0junk" as a
 * line cut short. */
static void nul_lines_are_bad_rows(void **state)
{
  (void)state;
  char path[512];
  write_bytes("nul.csv", NUL_TRACE, sizeof NUL_TRACE - 1, path);
  cpn_trace_options_t o = mapping("vidur");
  cpn_trace_t *t = open_ok(path, &o);
  long rows;
  assert_int_equal(read_all(t, &rows), -1);
  assert_int_equal(rows, 1);
  char want[600];
  snprintf(want, sizeof want, "%s:3:1: line contains a NUL byte", path);
  assert_contains(cpn_error_message(), want);
  cpn_trace_close(t);

  o.skip_errors = 1;
  t = open_ok(path, &o);
  cpn_trace_row_t r;
  long lines[8], n = 0;
  int rc;
  while ((rc = cpn_trace_next(t, &r)) == 1 && n < 8)
    lines[n++] = r.line;
  assert_int_equal(rc, 0);
  assert_int_equal(n, 3);
  assert_int_equal(lines[0], 2);
  assert_int_equal(lines[1], 4);
  assert_int_equal(lines[2], 6);
  assert_int_equal(cpn_trace_skipped(t), 2);
  snprintf(want, sizeof want, "%s:3:1:", path);
  assert_contains(cpn_trace_first_skip_message(t), want);
  cpn_trace_close(t);
}

/* A UTF-16 file: its header is full of NULs. */
static void utf16_header_is_refused(void **state)
{
  (void)state;
  char path[512];
  static const char h[] = "\xff\xfe" "a\0r\0r\0i\0v\0e\0d\0_\0a\0t\0\n\0";
  write_bytes("utf16.csv", h, sizeof h - 1, path);
  cpn_trace_options_t o = mapping("vidur");
  cpn_trace_t *t = NULL;
  assert_int_equal(cpn_trace_open(&t, path, &o), CPN_EINVAL);
  assert_null(t);
  assert_contains(cpn_error_message(), ":1:4: header line contains a NUL byte");
}

/* Blank lines (spaces, tabs, CR) are still not rows. */
static void blank_lines_are_still_ignored(void **state)
{
  (void)state;
  char path[512];
  const char *c = "arrived_at,num_prefill_tokens,num_decode_tokens\r\n0.5,1,2\r\n\r\n \t \n1.0,3,4\n\n";
  write_bytes("blank.csv", c, strlen(c), path);
  cpn_trace_options_t o = mapping("vidur");
  cpn_trace_t *t = open_ok(path, &o);
  long rows;
  assert_int_equal(read_all(t, &rows), 0);
  assert_int_equal(rows, 2);
  assert_int_equal(cpn_trace_skipped(t), 0);
  cpn_trace_close(t);
}

/* ---- empty traces ------------------------------------------------------------------------------ */

static void expect_empty_error(const char *name, const char *content, cpn_trace_options_t o, const char *why)
{
  char path[512];
  write_bytes(name, content, strlen(content), path);
  /* Without require_rows: an empty replay, as before. */
  cpn_trace_t *t = open_ok(path, &o);
  long rows;
  assert_int_equal(read_all(t, &rows), 0);
  assert_int_equal(rows, 0);
  cpn_trace_close(t);
  o.require_rows = 1;
  t = open_ok(path, &o);
  assert_int_equal(read_all(t, &rows), -1);
  assert_contains(cpn_error_message(), path);
  assert_contains(cpn_error_message(), why);
  cpn_trace_row_t r;
  assert_int_equal(cpn_trace_next(t, &r), -1); /* sticky */
  cpn_trace_close(t);
}

static void require_rows_makes_an_empty_trace_an_error(void **state)
{
  (void)state;
  const char *H = "arrived_at,num_prefill_tokens,num_decode_tokens\n";
  cpn_trace_options_t v = mapping("vidur");
  expect_empty_error("header.csv", H, v, "no data rows after its header");
  char body[256];
  snprintf(body, sizeof body, "%s\n  \n", H);
  expect_empty_error("blanks.csv", body, v, "no data rows");
  cpn_trace_options_t skip = v;
  skip.skip_errors = 1;
  snprintf(body, sizeof body, "%s0.5,x,1\n0.7,-1,1\n", H);
  expect_empty_error("allbad.csv", body, skip, "its 2 data row(s) are all bad");
  cpn_trace_options_t late = v;
  late.start_offset_s = 100;
  snprintf(body, sizeof body, "%s0.5,1,1\n0.7,1,1\n", H);
  expect_empty_error("early.csv", body, late, "no row at or after start_offset_s = 100");
  cpn_trace_options_t j = mapping("jsonl-ms");
  expect_empty_error("empty.jsonl", "", j, "no data rows");
  /* A trace with rows is unaffected. */
  char path[512];
  snprintf(body, sizeof body, "%s0.5,1,1\n", H);
  write_bytes("one.csv", body, strlen(body), path);
  v.require_rows = 1;
  cpn_trace_t *t = open_ok(path, &v);
  long rows;
  assert_int_equal(read_all(t, &rows), 0);
  assert_int_equal(rows, 1);
  cpn_trace_close(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(datetimes_outside_64_bit_nanoseconds_are_out_of_range),
    cmocka_unit_test(year_2263_is_a_bad_row_naming_file_line_column),
    cmocka_unit_test(span_of_550_years_is_refused_not_wrapped),
    cmocka_unit_test(nul_lines_are_bad_rows),
    cmocka_unit_test(utf16_header_is_refused),
    cmocka_unit_test(blank_lines_are_still_ignored),
    cmocka_unit_test(require_rows_makes_an_empty_trace_an_error),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
