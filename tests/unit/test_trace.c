/* test_trace: the streaming trace reader (sim/trace.c) and the piecewise-rate Poisson process
 * (models/cpn_piecewise.c).
 *
 * The Azure traces in tests/data are checked against an independent plain parse done here (sscanf of
 * the timestamp into integer 100 ns ticks, sums of the token columns), so the reader is not checked
 * against itself. Small CSV/JSONL files are written into one mkdtemp directory per run, removed at the
 * end. Random tests use fixed seeds; tolerances are 4 standard deviations of the statistic. */
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

#include <gsl/gsl_rng.h>

#include "cpn_piecewise.h"
#include "sources/trace.h"

#ifndef CPN_TEST_DATA
#error "CPN_TEST_DATA must be the path of tests/data"
#endif

#define CODE_CSV CPN_TEST_DATA "/AzureLLMInferenceTrace_code.csv"
#define CONV_CSV CPN_TEST_DATA "/AzureLLMInferenceTrace_conv.csv"

/* ---- helpers ----------------------------------------------------------------------------------- */

static char tmp_dir[256];

static int group_setup(void **state) {
  (void)state;
  const char *tmp = getenv("TMPDIR");
  snprintf(tmp_dir, sizeof tmp_dir, "%s/cpn_trace_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  DIR *d = opendir(tmp_dir);
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(tmp_dir);
  return 0;
}

/* Writes content to tmp_dir/name; path receives the full name. */
static void write_file(const char *name, const char *content, char path[512]) {
  snprintf(path, 512, "%s/%s", tmp_dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fputs(content, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static cpn_trace_options_t mapping(const char *name) {
  cpn_trace_options_t o;
  assert_int_equal(cpn_trace_mapping(name, &o), CPN_OK);
  return o;
}

static cpn_trace_t *open_ok(const char *path, const cpn_trace_options_t *o) {
  cpn_trace_t *t = NULL;
  cpn_err_t err = cpn_trace_open(&t, path, o);
  if (err != CPN_OK) fail_msg("cpn_trace_open(%s): %s", path, cpn_error_message());
  return t;
}

static void assert_contains(const char *haystack, const char *needle) {
  if (!strstr(haystack, needle)) fail_msg("'%s' does not contain '%s'", haystack, needle);
}

/* An Azure trace parsed the plain way: times in 100 ns ticks since midnight (every row is 2023-11-16),
 * token sums. */
typedef struct {
  long n;
  long long *ticks;
  unsigned *prompt, *output;
  unsigned long long prompt_sum, output_sum;
} plain_t;

static plain_t plain_parse(const char *path) {
  plain_t p = {0};
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char line[256];
  assert_non_null(fgets(line, sizeof line, f)); /* header */
  size_t cap = 1024;
  p.ticks = malloc(cap * sizeof *p.ticks);
  p.prompt = malloc(cap * sizeof *p.prompt);
  p.output = malloc(cap * sizeof *p.output);
  while (fgets(line, sizeof line, f)) {
    int y, mo, d, h, mi, s;
    char frac[16];
    unsigned a, b;
    assert_int_equal(sscanf(line, "%d-%d-%d %d:%d:%d.%15[0-9],%u,%u", &y, &mo, &d, &h, &mi, &s, frac, &a, &b), 9);
    assert_true(y == 2023 && mo == 11 && d == 16);
    assert_int_equal(strlen(frac), 7);
    if ((size_t)p.n == cap) {
      cap *= 2;
      p.ticks = realloc(p.ticks, cap * sizeof *p.ticks);
      p.prompt = realloc(p.prompt, cap * sizeof *p.prompt);
      p.output = realloc(p.output, cap * sizeof *p.output);
    }
    p.ticks[p.n] = ((h * 60LL + mi) * 60 + s) * 10000000LL + atoll(frac);
    p.prompt[p.n] = a;
    p.output[p.n] = b;
    p.prompt_sum += a;
    p.output_sum += b;
    p.n++;
  }
  fclose(f);
  return p;
}

static void plain_free(plain_t *p) {
  free(p->ticks);
  free(p->prompt);
  free(p->output);
}

/* Seconds from the first row to row i, from the plain parse. */
static double plain_tau(const plain_t *p, long i) { return (double)(p->ticks[i] - p->ticks[0]) * 1e-7; }

/* ---- Azure traces ------------------------------------------------------------------------------ */

static void azure_matches_plain_parse(const char *path, long want_rows) {
  plain_t p = plain_parse(path);
  assert_int_equal(p.n, want_rows);
  cpn_trace_options_t o = mapping("azure-2023");
  cpn_trace_t *t = open_ok(path, &o);
  cpn_trace_row_t row;
  long n = 0;
  unsigned long long ps = 0, os = 0;
  double first = -1, last = -1, prev = -1;
  int rc;
  while ((rc = cpn_trace_next(t, &row)) == 1) {
    if (n == 0) first = row.t_s;
    assert_true(row.t_s >= prev);
    assert_int_equal(row.line, n + 2); /* line 1 is the header */
    assert_int_equal(row.prompt_tokens, p.prompt[n]);
    assert_int_equal(row.output_tokens, p.output[n]);
    assert_true(fabs(row.t_s - plain_tau(&p, n)) < 1e-6);
    assert_int_equal(row.copy, 0);
    assert_int_equal(row.pass, 0);
    assert_string_equal(row.model, "");
    prev = last = row.t_s;
    ps += row.prompt_tokens;
    os += row.output_tokens;
    n++;
  }
  assert_int_equal(rc, 0);
  assert_int_equal(cpn_trace_next(t, &row), 0); /* the end is sticky */
  assert_int_equal(n, want_rows);
  assert_true(ps == p.prompt_sum);
  assert_true(os == p.output_sum);
  assert_true(first == 0.0);
  assert_true(fabs(last - plain_tau(&p, p.n - 1)) < 1e-6); /* the span, to the microsecond */
  assert_int_equal(cpn_trace_rows_read(t), want_rows);
  assert_int_equal(cpn_trace_skipped(t), 0);
  cpn_trace_stats_t st;
  cpn_trace_stats(t, &st);
  assert_int_equal(st.rows_valid, want_rows);
  assert_int_equal(st.passes_done, 1);
  cpn_trace_close(t);
  plain_free(&p);
}

static void azure_code_trace_counts_and_tokens_match_file(void **state) {
  (void)state;
  azure_matches_plain_parse(CODE_CSV, 8819);
}

static void azure_conv_same(void **state) {
  (void)state;
  azure_matches_plain_parse(CONV_CSV, 19366);
}

static void datetime_parsing_to_microsecond(void **state) {
  (void)state;
  long long a, b;
  assert_int_equal(cpn_trace_datetime_ns("2023-11-16 18:17:03.9799600", &a), 0);
  assert_int_equal(cpn_trace_datetime_ns("2023-11-16 18:17:04.0319600", &b), 0);
  assert_true(b - a == 52000000LL);
  /* Calendar anchors: the epoch, a date after a century leap day, 'T' and 'Z', no fraction. */
  assert_int_equal(cpn_trace_datetime_ns("1970-01-01 00:00:00", &a), 0);
  assert_true(a == 0);
  assert_int_equal(cpn_trace_datetime_ns("2000-03-01T00:00:00Z", &a), 0);
  assert_true(a == 951868800LL * 1000000000LL);
  assert_int_equal(cpn_trace_datetime_ns("2024-02-29 12:00:00.5", &a), 0);
  assert_int_equal(cpn_trace_datetime_ns("2024-03-01 00:00:00", &b), 0);
  assert_true(b - a == 43199500000000LL);
  /* Across a year boundary, 100 ns resolution. */
  assert_int_equal(cpn_trace_datetime_ns("2023-12-31 23:59:59.9999999", &a), 0);
  assert_int_equal(cpn_trace_datetime_ns("2024-01-01 00:00:00.0000001", &b), 0);
  assert_true(b - a == 200);
  long long untouched = 42;
  const char *badv[] = {"2023-02-29 00:00:00", "2023-11-31 00:00:00", "2023-13-01 00:00:00", "2023-11-16 24:00:00",
                        "2023-11-16 18:60:00", "2023-11-16", "2023-11-16 18:17:03.", "2023-11-16 18:17:03x",
                        "23-11-16 18:17:03", "", "2023-11-16 18:17:03.97 99"};
  for (size_t i = 0; i < sizeof badv / sizeof *badv; i++) {
    if (cpn_trace_datetime_ns(badv[i], &untouched) != -1) fail_msg("'%s' accepted", badv[i]);
    assert_true(untouched == 42);
  }
  /* Through the reader: the first two rows of the code trace are those two timestamps. */
  cpn_trace_options_t o = mapping("azure-2023");
  cpn_trace_t *t = open_ok(CODE_CSV, &o);
  cpn_trace_row_t r0, r1;
  assert_int_equal(cpn_trace_next(t, &r0), 1);
  assert_int_equal(cpn_trace_next(t, &r1), 1);
  assert_true(r0.t_s == 0.0);
  assert_true(fabs(r1.t_s - r0.t_s - 0.052) < 1e-7);
  assert_int_equal(r0.prompt_tokens, 4808);
  assert_int_equal(r1.output_tokens, 8);
  cpn_trace_close(t);
}

/* ---- other formats ----------------------------------------------------------------------------- */

static void vidur_format(void **state) {
  (void)state;
  char path[512];
  /* CRLF endings, an extra column, a quoted field with a comma and an escaped quote, spaces around
   * fields, a blank line, no final newline. */
  write_file("vidur.csv",
             "arrived_at,num_prefill_tokens,num_decode_tokens,num_total_tokens,model\r\n"
             "0.0,591,140,731,llama-70b\r\n"
             "0.125, 547 ,248,795,\"qwen, \"\"8b\"\"\"\r\n"
             "\r\n"
             "2.385,12,1,13,\"\"",
             path);
  const char *names[] = {"vidur", "splitwise"};
  for (int k = 0; k < 2; k++) {
    cpn_trace_options_t o = mapping(names[k]);
    strcpy(o.model_col, "model");
    cpn_trace_t *t = open_ok(path, &o);
    cpn_trace_row_t r;
    assert_int_equal(cpn_trace_next(t, &r), 1);
    assert_true(r.t_s == 0.0);
    assert_int_equal(r.prompt_tokens, 591);
    assert_int_equal(r.output_tokens, 140);
    assert_string_equal(r.model, "llama-70b");
    assert_int_equal(r.line, 2);
    assert_int_equal(cpn_trace_next(t, &r), 1);
    assert_true(r.t_s == 0.125);
    assert_int_equal(r.prompt_tokens, 547);
    assert_int_equal(r.output_tokens, 248);
    assert_string_equal(r.model, "qwen, \"8b\"");
    assert_int_equal(cpn_trace_next(t, &r), 1);
    assert_true(r.t_s == 2.385);
    assert_int_equal(r.prompt_tokens, 12);
    assert_int_equal(r.output_tokens, 1);
    assert_string_equal(r.model, "");
    assert_int_equal(r.line, 5);
    assert_int_equal(cpn_trace_next(t, &r), 0);
    cpn_trace_close(t);
  }
  /* Numeric times are the file's own unless rebase_time is set. */
  write_file("vidur_late.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n1700000000.5,3,4\n1700000002,5,6\n",
             path);
  cpn_trace_options_t o = mapping("vidur");
  cpn_trace_t *t = open_ok(path, &o);
  cpn_trace_row_t r;
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_true(r.t_s == 1700000000.5);
  cpn_trace_close(t);
  o.rebase_time = 1;
  t = open_ok(path, &o);
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_true(r.t_s == 0.0);
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_true(r.t_s == 1.5);
  cpn_trace_close(t);
}

/* A CSV hash column: integers separated by spaces or ';', up to 2^64 - 1; an empty field has none. */
static void csv_hash_column(void **state) {
  (void)state;
  char path[512];
  write_file("hash.csv", "t,p,o,h\n0,1024,2,1 2;18446744073709551615\n1,10,2,\n2,10,2,3 x\n", path);
  cpn_trace_options_t o;
  cpn_trace_options_default(&o);
  strcpy(o.time_col, "t");
  strcpy(o.prompt_col, "p");
  strcpy(o.output_col, "o");
  strcpy(o.hash_col, "h");
  cpn_trace_t *t = open_ok(path, &o);
  cpn_trace_row_t r;
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_int_equal(r.n_hashes, 3);
  assert_true(r.hashes[0] == 1 && r.hashes[1] == 2 && r.hashes[2] == UINT64_MAX);
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_int_equal(r.n_hashes, 0);
  assert_int_equal(cpn_trace_next(t, &r), -1);
  assert_non_null(strstr(cpn_error_message(), ":4:"));
  assert_non_null(strstr(cpn_error_message(), "a block hash must be a non-negative integer"));
  cpn_trace_close(t);
}

static void jsonl_ms_format(void **state) {
  (void)state;
  char path[512];
  /* Mooncake's layout (hash_ids arrays), keys in any order, escapes, a nested object holding a '}'. */
  write_file("trace.jsonl",
             "{\"timestamp\": 0, \"input_length\": 6955, \"output_length\": 52, \"hash_ids\": [46, 47, 48]}\n"
             "\n"
             "{\"timestamp\": 27482, \"input_length\": 6472, \"output_length\": 26, \"hash_ids\": [46, 47],"
             " \"tenant\": \"t\\u00e9st \\\"q\\\"\", \"origin\": 7}\n"
             "  {\"output_length\":3,\"input_length\":1,\"timestamp\":30000.5,\"nested\":{\"a\":\"}\"},"
             "\"tenant\":null}  \n",
             path);
  cpn_trace_options_t o = mapping("jsonl-ms");
  strcpy(o.tenant_col, "tenant");
  strcpy(o.origin_col, "origin");
  cpn_trace_t *t = open_ok(path, &o);
  cpn_trace_row_t r;
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_true(r.t_s == 0.0);
  assert_int_equal(r.prompt_tokens, 6955);
  assert_int_equal(r.output_tokens, 52);
  assert_string_equal(r.tenant, "");
  assert_int_equal(r.line, 1);
  assert_int_equal(r.n_hashes, 3); /* the mapping reads hash_ids (prefix caching) */
  assert_true(r.hashes[0] == 46 && r.hashes[1] == 47 && r.hashes[2] == 48);
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_true(fabs(r.t_s - 27.482) < 1e-12);
  assert_int_equal(r.n_hashes, 2);
  assert_int_equal(r.prompt_tokens, 6472);
  assert_string_equal(r.tenant, "t\xc3\xa9st \"q\"");
  assert_string_equal(r.origin, "7");
  assert_int_equal(r.line, 3);
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_true(fabs(r.t_s - 30.0005) < 1e-12);
  assert_int_equal(r.n_hashes, 0); /* no hash_ids key: no hashes, not an error */
  assert_int_equal(r.prompt_tokens, 1);
  assert_int_equal(r.output_tokens, 3);
  assert_string_equal(r.tenant, "");
  assert_int_equal(cpn_trace_next(t, &r), 0);
  cpn_trace_close(t);
}

/* ---- transformations --------------------------------------------------------------------------- */

static void time_scale_halves_span(void **state) {
  (void)state;
  cpn_trace_options_t o1 = mapping("azure-2023"), o2 = o1;
  o2.time_scale = 0.5;
  cpn_trace_t *a = open_ok(CODE_CSV, &o1), *b = open_ok(CODE_CSV, &o2);
  cpn_trace_row_t ra, rb;
  long n = 0;
  double last_a = 0, last_b = 0;
  while (cpn_trace_next(a, &ra) == 1) {
    assert_int_equal(cpn_trace_next(b, &rb), 1);
    assert_true(rb.t_s == ra.t_s * 0.5);
    assert_int_equal(rb.prompt_tokens, ra.prompt_tokens);
    last_a = ra.t_s;
    last_b = rb.t_s;
    n++;
  }
  assert_int_equal(cpn_trace_next(b, &rb), 0);
  assert_int_equal(n, 8819);
  assert_true(last_a > 3000 && fabs(last_b - last_a / 2) < 1e-9);
  cpn_trace_close(a);
  cpn_trace_close(b);
}

/* Reads the whole trace; returns the count and a hash of (line, copy) in order. */
static long read_all(const char *path, const cpn_trace_options_t *o, uint64_t *hash, long per_copy[4]) {
  cpn_trace_t *t = open_ok(path, o);
  cpn_trace_row_t r;
  long n = 0;
  double prev = -1;
  uint64_t h = 1469598103934665603ULL;
  if (per_copy) memset(per_copy, 0, 4 * sizeof *per_copy);
  int rc;
  while ((rc = cpn_trace_next(t, &r)) == 1) {
    assert_true(r.t_s >= prev);
    prev = r.t_s;
    h = (h ^ (uint64_t)(r.line * 8 + r.copy)) * 1099511628211ULL;
    if (per_copy) per_copy[r.copy]++;
    n++;
  }
  assert_int_equal(rc, 0);
  assert_int_equal(cpn_trace_rows_read(t), n);
  cpn_trace_stats_t st;
  cpn_trace_stats(t, &st);
  assert_int_equal(st.rows_returned, n);
  cpn_trace_close(t);
  if (hash) *hash = h;
  return n;
}

static void thinning_keeps_fraction(void **state) {
  (void)state;
  cpn_trace_options_t o = mapping("azure-2023");
  o.rate_scale = 0.5;
  o.seed = 2385;
  uint64_t h1, h2, h3;
  long n1 = read_all(CONV_CSV, &o, &h1, NULL);
  double mean = 19366 * 0.5, sd = sqrt(19366 * 0.25);
  if (fabs(n1 - mean) > 4 * sd) fail_msg("kept %ld of 19366, expected %.0f +- %.0f", n1, mean, 4 * sd);
  long n2 = read_all(CONV_CSV, &o, &h2, NULL);
  assert_int_equal(n2, n1);
  assert_true(h2 == h1); /* same seed, same rows */
  o.seed = 2386;
  long n3 = read_all(CONV_CSV, &o, &h3, NULL);
  assert_true(h3 != h1);
  assert_true(fabs(n3 - mean) <= 4 * sd);
  o.rate_scale = 0.1;
  long n4 = read_all(CONV_CSV, &o, NULL, NULL);
  assert_true(fabs(n4 - 1936.6) <= 4 * sqrt(19366 * 0.09));
  /* Thinned plus returned is everything. */
  o.rate_scale = 0.5;
  o.seed = 2385;
  cpn_trace_t *t = open_ok(CONV_CSV, &o);
  cpn_trace_row_t r;
  while (cpn_trace_next(t, &r) == 1) {}
  cpn_trace_stats_t st;
  cpn_trace_stats(t, &st);
  assert_int_equal(st.rows_returned + st.rows_thinned, 19366);
  assert_int_equal(st.rows_returned, n1);
  cpn_trace_close(t);
}

static void superposing_doubles_count(void **state) {
  (void)state;
  cpn_trace_options_t o = mapping("azure-2023");
  o.rate_scale = 2;
  o.shift_s = 0.5;
  long per[4];
  long n = read_all(CODE_CSV, &o, NULL, per); /* read_all checks time order */
  assert_int_equal(n, 2 * 8819);
  assert_int_equal(per[0], 8819);
  assert_int_equal(per[1], 8819);
  /* Copy 1 is copy 0 delayed by shift_s. */
  double *t0 = calloc(8830, sizeof *t0);
  cpn_trace_t *t = open_ok(CODE_CSV, &o);
  cpn_trace_row_t r;
  int seen1 = 0;
  while (cpn_trace_next(t, &r) == 1) {
    if (r.copy == 0) {
      t0[r.line] = r.t_s;
    } else {
      /* the copy-0 row of the same line came first, being 0.5 s earlier */
      assert_true(fabs(r.t_s - (t0[r.line] + 0.5)) < 1e-9);
      seen1++;
    }
  }
  assert_int_equal(seen1, 8819);
  cpn_trace_close(t);
  free(t0);
  /* 2.5: two whole copies and a third thinned to one half. */
  o.rate_scale = 2.5;
  n = read_all(CODE_CSV, &o, NULL, per);
  assert_int_equal(per[0], 8819);
  assert_int_equal(per[1], 8819);
  assert_true(fabs(per[2] - 8819 * 0.5) <= 4 * sqrt(8819 * 0.25));
  assert_int_equal(n, per[0] + per[1] + per[2]);
}

static void loop_repeats_with_offset(void **state) {
  (void)state;
  plain_t p = plain_parse(CODE_CSV);
  double span = plain_tau(&p, p.n - 1), period = span * 8819.0 / 8818.0;
  cpn_trace_options_t o = mapping("azure-2023");
  o.loop = 1;
  cpn_trace_t *t = open_ok(CODE_CSV, &o);
  long n = 2 * 8819 + 10;
  cpn_trace_row_t *rows = malloc((size_t)n * sizeof *rows);
  for (long i = 0; i < n; i++) assert_int_equal(cpn_trace_next(t, &rows[i]), 1);
  for (long i = 1; i < n; i++) assert_true(rows[i].t_s >= rows[i - 1].t_s);
  for (long i = 0; i + 8819 < n; i++) {
    const cpn_trace_row_t *a = &rows[i], *b = &rows[i + 8819];
    assert_int_equal(b->pass, a->pass + 1);
    assert_int_equal(b->line, a->line);
    assert_int_equal(b->prompt_tokens, a->prompt_tokens);
    assert_int_equal(b->output_tokens, a->output_tokens);
    assert_true(fabs(b->t_s - a->t_s - period) < 1e-6);
  }
  /* The second pass starts one mean gap after the first ends. */
  assert_true(fabs(rows[8819].t_s - rows[8818].t_s - span / 8818.0) < 1e-6);
  assert_int_equal(rows[2 * 8819].pass, 2);
  cpn_trace_stats_t st;
  cpn_trace_stats(t, &st);
  assert_true(fabs(st.period_s - period) < 1e-6);
  assert_int_equal(st.passes_done, 2);
  cpn_trace_close(t);
  free(rows);
  plain_free(&p);
}

static void start_offset_skips(void **state) {
  (void)state;
  plain_t p = plain_parse(CODE_CSV);
  const double start = 600;
  long first = 0;
  while (plain_tau(&p, first) < start) first++;
  cpn_trace_options_t o = mapping("azure-2023");
  o.start_offset_s = start;
  cpn_trace_t *t = open_ok(CODE_CSV, &o);
  cpn_trace_row_t r;
  long n = 0;
  while (cpn_trace_next(t, &r) == 1) {
    assert_true(r.t_s >= 0);
    assert_true(fabs(r.t_s - (plain_tau(&p, first + n) - start)) < 1e-6);
    assert_int_equal(r.prompt_tokens, p.prompt[first + n]);
    assert_int_equal(r.line, first + n + 2);
    n++;
  }
  assert_true(first > 1000 && first < 8000);
  assert_int_equal(n, p.n - first);
  cpn_trace_stats_t st;
  cpn_trace_stats(t, &st);
  assert_int_equal(st.rows_before_start, first);
  cpn_trace_close(t);
  /* With loop, each pass replays the window from start_offset_s. */
  o.loop = 1;
  t = open_ok(CODE_CSV, &o);
  for (long i = 0; i < n; i++) assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_int_equal(r.pass, 1);
  assert_int_equal(r.line, first + 2);
  cpn_trace_close(t);
  plain_free(&p);
}

/* ---- validation -------------------------------------------------------------------------------- */

static const char *BAD_LINES[] = {
  "arrived_at,num_prefill_tokens,num_decode_tokens\n",
  "0.5,100,10\n",
  "1.0,200\n",     /* 3: missing field */
  "1.5,300,30\n",
  "2.0,-4,40\n",   /* 5: negative tokens */
  "2.5,500,50\n",
  "2.0,600,60\n",  /* 7: time goes backwards */
  "3.0,700,70\n",
};
static const char *FIXED_LINES[] = {NULL, NULL, "1.0,200,20\n", NULL, "2.0,400,40\n", NULL, "2.75,600,60\n", NULL};

static void write_bad(const int fixed[8], char path[512]) {
  char content[512] = "";
  for (int i = 0; i < 8; i++) strcat(content, fixed[i] ? FIXED_LINES[i] : BAD_LINES[i]);
  write_file("bad.csv", content, path);
}

static void bad_rows_have_line_numbers(void **state) {
  (void)state;
  char path[512], want[600];
  int fixed[8] = {0};
  cpn_trace_options_t o = mapping("vidur");
  cpn_trace_row_t r;
  /* Stop mode: the first bad line is the error; fixing it moves the error to the next one. */
  const int bad_line[3] = {3, 5, 7};
  const char *problem[3] = {"missing field", "negative token count", "time goes backwards"};
  for (int k = 0; k < 3; k++) {
    write_bad(fixed, path);
    cpn_trace_t *t = open_ok(path, &o);
    long good = 0;
    int rc;
    while ((rc = cpn_trace_next(t, &r)) == 1) good++;
    assert_int_equal(rc, -1);
    assert_int_equal(good, bad_line[k] - 2);
    snprintf(want, sizeof want, "%s:%d:", path, bad_line[k]);
    assert_contains(cpn_error_message(), want);
    assert_contains(cpn_error_message(), problem[k]);
    /* The error is sticky. */
    assert_int_equal(cpn_trace_next(t, &r), -1);
    assert_contains(cpn_error_message(), want);
    cpn_trace_close(t);
    fixed[bad_line[k] - 1] = 1;
  }
  /* The column is named, with its position on the line. */
  memset(fixed, 0, sizeof fixed);
  fixed[2] = 1;
  write_bad(fixed, path);
  cpn_trace_t *t = open_ok(path, &o);
  while (cpn_trace_next(t, &r) == 1) {}
  snprintf(want, sizeof want, "%s:5:5: column 'num_prefill_tokens': negative token count -4", path);
  assert_contains(cpn_error_message(), want);
  cpn_trace_close(t);
  /* Skip mode: the three bad lines are skipped and counted once, whatever the number of copies. */
  memset(fixed, 0, sizeof fixed);
  write_bad(fixed, path);
  o.skip_errors = 1;
  for (int copies = 1; copies <= 2; copies++) {
    o.rate_scale = copies;
    o.shift_s = 0.01;
    t = open_ok(path, &o);
    long lines[16], n = 0;
    int rc;
    while ((rc = cpn_trace_next(t, &r)) == 1) {
      assert_true(n < 16);
      lines[n++] = r.line;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 4 * copies);
    if (copies == 1) {
      assert_int_equal(lines[0], 2);
      assert_int_equal(lines[1], 4);
      assert_int_equal(lines[2], 6);
      assert_int_equal(lines[3], 8);
    }
    assert_int_equal(cpn_trace_skipped(t), 3);
    snprintf(want, sizeof want, "%s:3:", path);
    assert_contains(cpn_trace_first_skip_message(t), want);
    cpn_trace_close(t);
  }
}

/* Opens content (a file named name) with o and returns the error message of the first row. */
static void expect_row_error(const char *name, const char *content, const cpn_trace_options_t *o, const char *where,
                             const char *problem) {
  char path[512], want[600];
  write_file(name, content, path);
  cpn_trace_t *t = open_ok(path, o);
  cpn_trace_row_t r;
  assert_int_equal(cpn_trace_next(t, &r), -1);
  snprintf(want, sizeof want, "%s:%s", path, where);
  assert_contains(cpn_error_message(), want);
  assert_contains(cpn_error_message(), problem);
  cpn_trace_close(t);
}

static void every_bad_value_is_reported(void **state) {
  (void)state;
  cpn_trace_options_t v = mapping("vidur"), a = mapping("azure-2023"), j = mapping("jsonl-ms");
  const char *H = "arrived_at,num_prefill_tokens,num_decode_tokens\n";
  char buf[256];
#define CSV(body) (snprintf(buf, sizeof buf, "%s%s", H, body), buf)
  expect_row_error("e1.csv", CSV("0.5,abc,3\n"), &v, "2:5:", "not a number: 'abc'");
  expect_row_error("e2.csv", CSV("0.5,1.5,3\n"), &v, "2:5:", "is not an integer");
  expect_row_error("e3.csv", CSV("0.5,,3\n"), &v, "2:5:", "empty value");
  expect_row_error("e4.csv", CSV("x0.5,1,3\n"), &v, "2:1:", "column 'arrived_at': not a number");
  expect_row_error("e5.csv", CSV("inf,1,3\n"), &v, "2:1:", "not a finite number");
  expect_row_error("e6.csv", CSV("0.5,1,3,4\n"), &v, "2:9:", "more fields than the 3 columns");
  expect_row_error("e7.csv", CSV("0.5,\"1,3\n"), &v, "2:5:", "quoted field is not closed");
  expect_row_error("e8.csv", CSV("0.5,\"1\"x,3\n"), &v, "2:8:", "unexpected character after a closing quote");
  expect_row_error("e9.csv", CSV("0.5,1,5000000000\n"), &v, "2:7:", "too large");
  expect_row_error("e10.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 25:17:03.9799600,4808,10\n", &a,
                   "2:1:", "not a datetime");
  expect_row_error("j1.jsonl", "{\"timestamp\": 1, \"input_length\": 2 \"output_length\": 3}\n", &j, "1:36:",
                   "expected ',' or '}'");
  expect_row_error("j2.jsonl", "{\"timestamp\": 1, \"input_length\": 2}\n", &j, "1:1:",
                   "key 'output_length' (output_col) is missing");
  expect_row_error("j3.jsonl", "{\"timestamp\": 1, \"input_length\": \"2\", \"output_length\": 3}\n", &j, "1:34:",
                   "expected a number, found the string \"2\"");
  expect_row_error("j4.jsonl", "[1, 2, 3]\n", &j, "1:1:", "expected '{'");
  expect_row_error("j5.jsonl", "{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3} x\n", &j, "1:57:",
                   "unexpected text after the object");
  expect_row_error("j6.jsonl", "{\"timestamp\": 1, \"input_length\": 2, \"output_length\": [3]}\n", &j, "1:54:",
                   "expected a number, found an object or array");
  cpn_trace_options_t jm = j;
  strcpy(jm.model_col, "model");
  expect_row_error("j7.jsonl",
                   "{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"model\": "
                   "\"0123456789012345678901234567890123456789012345678901234567890123\"}\n",
                   &jm, "1:", "value longer than 63 bytes");
#undef CSV
  /* A line longer than the buffer is one bad line; reading resumes on the next. */
  size_t big = CPN_TRACE_LINE_MAX + 100;
  char *content = malloc(big + 200);
  strcpy(content, H);
  strcat(content, "0.5,1,2\n0.75,");
  size_t len = strlen(content);
  memset(content + len, '7', big);
  strcpy(content + len + big, ",3\n1.0,4,5\n");
  char path[512];
  write_file("long.csv", content, path);
  free(content);
  cpn_trace_options_t vs = v;
  vs.skip_errors = 1;
  cpn_trace_t *t = open_ok(path, &vs);
  cpn_trace_row_t r;
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_int_equal(r.line, 2);
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_int_equal(r.line, 4);
  assert_int_equal(r.prompt_tokens, 4);
  assert_int_equal(cpn_trace_next(t, &r), 0);
  assert_int_equal(cpn_trace_skipped(t), 1);
  assert_contains(cpn_trace_first_skip_message(t), ":3:");
  assert_contains(cpn_trace_first_skip_message(t), "line longer than");
  cpn_trace_close(t);
}

static void missing_column_error_names_column(void **state) {
  (void)state;
  char path[512];
  cpn_trace_options_t o = mapping("azure-2023");
  write_file("nocol.csv", "TIMESTAMP,ContextTokens,Generated\n2023-11-16 18:17:03.9799600,4808,10\n", path);
  cpn_trace_t *t = NULL;
  assert_int_equal(cpn_trace_open(&t, path, &o), CPN_EINVAL);
  assert_null(t);
  assert_contains(cpn_error_message(), path);
  assert_contains(cpn_error_message(), "column 'GeneratedTokens' (output_col) is not in the header");
  assert_contains(cpn_error_message(), "'Generated'");
  /* A mapped optional column must be there too; a duplicated one is ambiguous. */
  write_file("dup.csv", "TIMESTAMP,ContextTokens,GeneratedTokens,ContextTokens\n", path);
  assert_int_equal(cpn_trace_open(&t, path, &o), CPN_EINVAL);
  assert_contains(cpn_error_message(), "appears twice");
  strcpy(o.tenant_col, "tenant");
  assert_int_equal(cpn_trace_open(&t, CODE_CSV, &o), CPN_EINVAL);
  assert_contains(cpn_error_message(), "column 'tenant' (tenant_col)");
  /* An empty file, a missing file, an unknown mapping, bad options. */
  o = mapping("azure-2023");
  write_file("empty.csv", "", path);
  assert_int_equal(cpn_trace_open(&t, path, &o), CPN_EINVAL);
  assert_contains(cpn_error_message(), "empty file");
  assert_int_equal(cpn_trace_open(&t, "/nonexistent/trace.csv", &o), CPN_EIO);
  assert_contains(cpn_error_message(), "/nonexistent/trace.csv");
  cpn_trace_options_t keep = o;
  assert_int_equal(cpn_trace_mapping("azure-2024", &o), CPN_ENOTFOUND);
  assert_contains(cpn_error_message(), "azure-2023");
  assert_memory_equal(&o, &keep, sizeof o);
  o.time_scale = 0;
  assert_int_equal(cpn_trace_open(&t, CODE_CSV, &o), CPN_EINVAL);
  assert_contains(cpn_error_message(), "time_scale");
  o = keep;
  o.rate_scale = -1;
  assert_int_equal(cpn_trace_open(&t, CODE_CSV, &o), CPN_EINVAL);
  o = keep;
  o.rate_scale = CPN_TRACE_COPIES_MAX + 1;
  assert_int_equal(cpn_trace_open(&t, CODE_CSV, &o), CPN_EINVAL);
  o = keep;
  o.prompt_col[0] = '\0';
  assert_int_equal(cpn_trace_open(&t, CODE_CSV, &o), CPN_EINVAL);
  assert_contains(cpn_error_message(), "prompt_col");
  assert_null(t);
  cpn_trace_close(NULL);
}

static void loop_needs_two_rows(void **state) {
  (void)state;
  char path[512];
  write_file("one.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n4.5,10,20\n", path);
  cpn_trace_options_t o = mapping("vidur");
  o.loop = 1;
  cpn_trace_t *t = open_ok(path, &o);
  cpn_trace_row_t r;
  assert_int_equal(cpn_trace_next(t, &r), 1);
  assert_int_equal(cpn_trace_next(t, &r), -1);
  assert_contains(cpn_error_message(), "cannot loop");
  cpn_trace_close(t);
  /* A header-only file is an empty trace, without loop. */
  write_file("header.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n", path);
  o.loop = 0;
  t = open_ok(path, &o);
  assert_int_equal(cpn_trace_next(t, &r), 0);
  cpn_trace_close(t);
}

/* ---- memory ------------------------------------------------------------------------------------ */

/* Resident set size now, from /proc/self/statm (Linux). */
static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* A 1,000,000-row Azure-format file (about 37 MB) is read through while the resident set size is
 * sampled every 65,536 rows: it must stay within 20 MB of its value before opening. A reader that kept
 * the file, or the rows (1M x 224 bytes), would exceed that. Run with one copy and with two. */
static void streaming_memory_bounded(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/big.csv", tmp_dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs("TIMESTAMP,ContextTokens,GeneratedTokens\r\n", f);
  const long n = 1000000;
  unsigned long long psum = 0;
  for (long i = 0; i < n; i++) {
    long long tick = i * 500000LL; /* 0.05 s in 100 ns ticks */
    long long s = tick / 10000000LL;
    unsigned prompt = (unsigned)(i % 7919) + 1;
    psum += prompt;
    fprintf(f, "2023-11-16 %02lld:%02lld:%02lld.%07lld,%u,%u\r\n", s / 3600, s / 60 % 60, s % 60, tick % 10000000LL,
            prompt, (unsigned)(i % 13));
  }
  assert_int_equal(fclose(f), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(st.st_size > 30L * 1000 * 1000);
  for (int copies = 1; copies <= 2; copies++) {
    cpn_trace_options_t o = mapping("azure-2023");
    o.rate_scale = copies;
    o.shift_s = 0.025;
    long before = rss_bytes(), peak = before;
    assert_true(before > 0);
    cpn_trace_t *t = open_ok(path, &o);
    cpn_trace_row_t r;
    long rows = 0;
    unsigned long long ps = 0;
    double prev = -1;
    while (cpn_trace_next(t, &r) == 1) {
      assert_true(r.t_s >= prev);
      prev = r.t_s;
      ps += r.prompt_tokens;
      if (++rows % 65536 == 0) {
        long now = rss_bytes();
        if (now > peak) peak = now;
      }
    }
    long now = rss_bytes();
    if (now > peak) peak = now;
    cpn_trace_close(t);
    assert_int_equal(rows, n * copies);
    assert_true(ps == psum * (unsigned long long)copies);
    assert_true(fabs(prev - ((n - 1) * 0.05 + (copies - 1) * 0.025)) < 1e-6);
    if (peak - before >= 20L * 1024 * 1024) fail_msg("RSS grew by %ld bytes", peak - before);
    print_message("streaming %ld rows with %d copies: RSS grew by %ld KiB\n", rows, copies, (peak - before) / 1024);
  }
  unlink(path);
}

/* ---- piecewise-rate Poisson -------------------------------------------------------------------- */

static gsl_rng *rng_new(unsigned long seed) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  assert_non_null(r);
  gsl_rng_set(r, seed);
  return r;
}

static void piecewise_rate_counts(void **state) {
  (void)state;
  /* Windows [0,10) 2.385/s, [10,25) 0, [25,40) 7.5/s, [40,inf) 0.5/s; count over [0,100), 2000 runs. */
  const double starts[] = {0, 10, 25, 40}, rates[] = {2.385, 0, 7.5, 0.5};
  const double edges[] = {0, 10, 25, 40, 100};
  cpn_piecewise_t p = {.n = 4, .t_start_s = starts, .rate_rps = rates};
  assert_int_equal(cpn_piecewise_check(&p), 0);
  gsl_rng *g = rng_new(2385);
  const int runs = 2000;
  long count[4] = {0};
  double sumsq0 = 0;
  for (int k = 0; k < runs; k++) {
    double t = 0;
    long c0 = 0;
    for (;;) {
      double next = cpn_piecewise_next(&p, t, g);
      assert_true(next > t);
      t = next;
      if (t >= 100) break;
      int w = t < 10 ? 0 : t < 25 ? 1 : t < 40 ? 2 : 3;
      count[w]++;
      c0 += w == 0;
    }
    sumsq0 += (double)c0 * (double)c0;
  }
  for (int w = 0; w < 4; w++) {
    double mean = runs * rates[w] * (edges[w + 1] - edges[w]);
    assert_true(fabs(cpn_piecewise_integral(&p, edges[w], edges[w + 1]) * runs - mean) < 1e-6);
    if (fabs(count[w] - mean) > 4 * sqrt(mean) + 1e-9)
      fail_msg("window %d: %ld arrivals, expected %.1f", w, count[w], mean);
  }
  assert_int_equal(count[1], 0);
  /* Poisson counts: variance equals the mean (23.85 per run in window 0), within 10%. */
  double m0 = (double)count[0] / runs, var0 = sumsq0 / runs - m0 * m0;
  assert_true(fabs(var0 / m0 - 1) < 0.1);
  assert_true(cpn_piecewise_rate_at(&p, 12) == 0 && cpn_piecewise_rate_at(&p, 25) == 7.5);
  /* Starting before the first window: nothing until it opens. */
  const double late_starts[] = {50}, late_rates[] = {3};
  cpn_piecewise_t late = {.n = 1, .t_start_s = late_starts, .rate_rps = late_rates};
  for (int k = 0; k < 100; k++) assert_true(cpn_piecewise_next(&late, 0, g) >= 50);
  /* A schedule that ends at rate 0 ends. */
  const double end_rates[] = {2.385, 0};
  cpn_piecewise_t ending = {.n = 2, .t_start_s = starts, .rate_rps = end_rates};
  assert_true(isinf(cpn_piecewise_next(&ending, 10, g)));
  /* Periodic: 24 hourly rates repeated for 400 days; each hour's count matches its rate. */
  double hs[24], hr[24];
  for (int h = 0; h < 24; h++) {
    hs[h] = h * 3600.0;
    hr[h] = h < 6 ? 0.0 : 0.001 * (h + 1);
  }
  cpn_piecewise_t day = {.n = 24, .t_start_s = hs, .rate_rps = hr, .period_s = 86400};
  assert_int_equal(cpn_piecewise_check(&day), 0);
  long hcount[24] = {0};
  double t = 1234.5;
  const double horizon = 400 * 86400.0;
  for (;;) {
    t = cpn_piecewise_next(&day, t, g);
    if (t >= horizon + 1234.5) break;
    hcount[(int)(fmod(t, 86400.0) / 3600.0)]++;
  }
  for (int h = 0; h < 24; h++) {
    double mean = 400 * 3600.0 * hr[h];
    if (fabs(hcount[h] - mean) > 4 * sqrt(mean) + 1e-9) fail_msg("hour %d: %ld, expected %.1f", h, hcount[h], mean);
  }
  assert_true(fabs(cpn_piecewise_integral(&day, 1234.5, horizon + 1234.5) - 400 * 3600.0 * 0.001 * 279) < 1e-6);
  /* Same seed, same arrivals. */
  gsl_rng *g1 = rng_new(7), *g2 = rng_new(7);
  double t1 = 0, t2 = 0;
  for (int k = 0; k < 1000; k++) {
    t1 = cpn_piecewise_next(&day, t1, g1);
    t2 = cpn_piecewise_next(&day, t2, g2);
    assert_true(t1 == t2);
  }
  gsl_rng_free(g1);
  gsl_rng_free(g2);
  gsl_rng_free(g);
  /* Rejected schedules. */
  const double dec[] = {0, 5, 5}, neg[] = {1, -1, 1}, ok3[] = {1, 1, 1};
  cpn_piecewise_t bad1 = {.n = 3, .t_start_s = dec, .rate_rps = ok3};
  cpn_piecewise_t bad2 = {.n = 3, .t_start_s = starts, .rate_rps = neg};
  cpn_piecewise_t bad3 = {.n = 0, .t_start_s = starts, .rate_rps = ok3};
  cpn_piecewise_t bad4 = {.n = 4, .t_start_s = starts, .rate_rps = rates, .period_s = 40};
  cpn_piecewise_t bad5 = {.n = 1, .t_start_s = late_starts, .rate_rps = late_rates, .period_s = 100};
  assert_int_equal(cpn_piecewise_check(&bad1), -1);
  assert_int_equal(cpn_piecewise_check(&bad2), -1);
  assert_int_equal(cpn_piecewise_check(&bad3), -1);
  assert_int_equal(cpn_piecewise_check(&bad4), -1);
  assert_int_equal(cpn_piecewise_check(&bad5), -1);
  assert_int_equal(cpn_piecewise_check(NULL), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(azure_code_trace_counts_and_tokens_match_file),
    cmocka_unit_test(azure_conv_same),
    cmocka_unit_test(datetime_parsing_to_microsecond),
    cmocka_unit_test(vidur_format),
    cmocka_unit_test(jsonl_ms_format),
    cmocka_unit_test(csv_hash_column),
    cmocka_unit_test(time_scale_halves_span),
    cmocka_unit_test(thinning_keeps_fraction),
    cmocka_unit_test(superposing_doubles_count),
    cmocka_unit_test(loop_repeats_with_offset),
    cmocka_unit_test(start_offset_skips),
    cmocka_unit_test(bad_rows_have_line_numbers),
    cmocka_unit_test(every_bad_value_is_reported),
    cmocka_unit_test(missing_column_error_names_column),
    cmocka_unit_test(loop_needs_two_rows),
    cmocka_unit_test(streaming_memory_bounded),
    cmocka_unit_test(piecewise_rate_counts),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
