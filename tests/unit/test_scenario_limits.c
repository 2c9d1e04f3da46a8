/* test_scenario_limits: the scenario loader's limits, checked as the YAML is read (config/reader.c) and
 * on the values that the engine's libraries cannot take (config/schema_network.c, topology imports).
 *
 * Each case is a hostile input of the reliability findings (tests/data/reliability/README.md) that the
 * loader used to hang on, accept, or pass on to a library that aborted: deep nesting, a huge mapping, a
 * UTF-16 text, a subnormal bandwidth, non-UTF-8 ids in a SimGrid platform. Each must now be refused with
 * FILE:LINE:COLUMN and the key, quickly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/scenario.h"
#include "core/error.h"

#ifndef CPN_TEST_DATA
#error "CPN_TEST_DATA must be the path of tests/data"
#endif
#ifndef CPN_SCENARIO_DIR
#error "CPN_SCENARIO_DIR must be the path of scenarios"
#endif

static char tmp_dir[256];

static int make_tmp_dir(void **state)
{
  (void)state;
  const char *tmp = getenv("TMPDIR");
  snprintf(tmp_dir, sizeof tmp_dir, "%s/test_scenario_limits.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void **state)
{
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Writes n bytes to tmp_dir/name; returns the path (static storage). */
static const char *write_bytes(const char *name, const char *bytes, size_t n)
{
  static char p[512];
  snprintf(p, sizeof p, "%s/%s", tmp_dir, name);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(bytes, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
  return p;
}

static char *slurp(const char *path, size_t *n)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *buf = malloc(1 << 20);
  assert_non_null(buf);
  *n = fread(buf, 1, (1 << 20) - 1, f);
  buf[*n] = 0;
  fclose(f);
  return buf;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Loads path (with sets) expecting a refusal whose message holds every one of the NULL-ended needles;
 * returns the seconds it took. */
static double expect_refused(const char *path, const char *const *sets, int n_sets, ...)
{
  cpn_scenario_t sc;
  double t0 = now_s();
  cpn_err_t rc = cpn_scenario_load(&sc, path, sets, n_sets);
  double dt = now_s() - t0;
  if (rc == CPN_OK)
    cpn_scenario_destroy(&sc);
  assert_int_not_equal(rc, CPN_OK);
  const char *msg = cpn_error_message();
  va_list ap;
  va_start(ap, n_sets);
  for (const char *needle; (needle = va_arg(ap, const char *));) {
    if (!strstr(msg, needle))
      fail_msg("message lacks '%s':\n%s", needle, msg);
  }
  va_end(ap);
  return dt;
}

/* 10^6 '[': libyaml's loader slowed down quadratically with the depth and never finished; the event
 * stream is now checked first and stops at level 65. */
static void deep_nesting_is_refused_at_its_place_quickly(void **state)
{
  (void)state;
  size_t n = 1000000;
  char *text = malloc(n + 1);
  assert_non_null(text);
  memset(text, '[', n);
  text[n] = '\n';
  const char *p = write_bytes("deep.yaml", text, n + 1);
  free(text);
  double dt = expect_refused(p, NULL, 0, "deep.yaml:1:66:", "nesting deeper than 64 levels", NULL);
  assert_true(dt < 5.0);
}

/* 300,000 keys in one mapping: the duplicate check compared each key with every earlier one (over 60 s);
 * now the mapping is refused at its 10,001st key, before the tree is built. */
static void huge_mapping_is_refused_at_the_key_past_the_limit(void **state)
{
  (void)state;
  size_t cap = 300000 * 16, o = 0;
  char *text = malloc(cap);
  assert_non_null(text);
  for (int i = 0; i < 300000; i++)
    o += (size_t)snprintf(text + o, cap - o, "k%d: %d\n", i, i);
  const char *p = write_bytes("wide.yaml", text, o);
  free(text);
  double dt = expect_refused(p, NULL, 0, "wide.yaml:10001:1:", "more than 10000 keys in one mapping",
                             "starts at line 1, column 1", NULL);
  assert_true(dt < 5.0);
}

/* Duplicates in a mapping at the limit are still found, each naming the first occurrence, and the
 * check is no longer quadratic (10,000 keys, two of them repeated). */
static void duplicates_in_a_wide_mapping_name_the_first_key(void **state)
{
  (void)state;
  size_t cap = 10000 * 24, o = 0;
  char *text = malloc(cap);
  assert_non_null(text);
  /* The repeats come early: messages are listed by line and only the first 200 are kept. */
  o += (size_t)snprintf(text + o, cap - o, "name: x\nzz00000: 0\nname: y\nzz00000: 1\n");
  for (int i = 1; i < 9997; i++)
    o += (size_t)snprintf(text + o, cap - o, "zz%05d: %d\n", (i * 7919) % 9997, i);
  const char *p = write_bytes("dups.yaml", text, o);
  free(text);
  double dt = expect_refused(p, NULL, 0, "dups.yaml:3:1: name: duplicate key 'name' (first at line 1, column 1)",
                             "dups.yaml:4:1: zz00000: duplicate key 'zz00000' (first at line 2, column 1)", NULL);
  assert_true(dt < 5.0);
}

/* A UTF-16 scenario ran, but the result's /scenario kept 3 bytes of it: refused, saying why. */
static void utf16_scenario_is_refused(void **state)
{
  (void)state;
  size_t n;
  char *utf8 = slurp(CPN_SCENARIO_DIR "/tiny.yaml", &n);
  char *utf16 = malloc(2 * n + 2);
  assert_non_null(utf16);
  utf16[0] = (char)0xFF;
  utf16[1] = (char)0xFE;
  for (size_t i = 0; i < n; i++) { /* tiny.yaml is ASCII */
    assert_true((unsigned char)utf8[i] < 0x80);
    utf16[2 + 2 * i] = utf8[i];
    utf16[3 + 2 * i] = 0;
  }
  const char *p = write_bytes("utf16.yaml", utf16, 2 * n + 2);
  free(utf8);
  free(utf16);
  expect_refused(p, NULL, 0, "utf16.yaml:1:1:", "UTF-16", "save it as UTF-8", NULL);
}

/* bw_bps 1e-310 passed validation (> 0) and SimGrid's platform parser aborted the process. */
static void subnormal_bandwidth_is_refused(void **state)
{
  (void)state;
  const char *sets[] = {"links.0.bw_bps=1e-310"};
  expect_refused(CPN_SCENARIO_DIR "/tiny.yaml", sets, 1, "links[0].bw_bps", "must be >= 1", NULL);
  const char *half[] = {"links.0.bw_bps=0.5"};
  expect_refused(CPN_SCENARIO_DIR "/tiny.yaml", half, 1, "links[0].bw_bps", "must be >= 1", NULL);
  const char *gen[] = {"topology.bw_bps=4.9e-324"};
  expect_refused(CPN_SCENARIO_DIR "/scale-1000.yaml", gen, 1, "topology.bw_bps", "must be >= 1", NULL);
  /* 1 bit/s itself is accepted. */
  const char *one[] = {"links.0.bw_bps=1"};
  cpn_scenario_t sc;
  assert_int_equal(cpn_scenario_load(&sc, CPN_SCENARIO_DIR "/tiny.yaml", one, 1), CPN_OK);
  cpn_scenario_destroy(&sc);
}

/* A SimGrid platform whose host ids are not UTF-8 was accepted; the bytes reached the result's UTF-8
 * strings. Refused at load time now, with the place in the XML file and the bytes escaped. */
static void simgrid_xml_non_utf8_host_id_is_refused_at_load(void **state)
{
  (void)state;
  expect_refused(CPN_TEST_DATA "/reliability/xml-nonutf8-hostid.yaml", NULL, 0, "xml-nonutf8-hostid.xml:3:",
                 "<host> id 'caf\\xe9\\xff' is not valid UTF-8", NULL);
  /* And a bandwidth below 1 bps in the XML, which SimGrid's parser would abort on. */
  char xml[512];
  int n = snprintf(xml, sizeof xml,
                   "<?xml version=\"1.0\"?>\n<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">\n"
                   "<host id=\"a\" speed=\"1Gf\"/><host id=\"hub\" speed=\"1Gf\"/>\n"
                   "<link id=\"l1\" bandwidth=\"1e-310Bps\" latency=\"1ms\"/>\n"
                   "<route src=\"a\" dst=\"hub\"><link_ctn id=\"l1\"/></route>\n</zone></platform>\n");
  write_bytes("sub.xml", xml, (size_t)n);
  size_t len;
  char *yaml = slurp(CPN_TEST_DATA "/reliability/xml-nonutf8-hostid.yaml", &len);
  char *at = strstr(yaml, "xml-nonutf8-hostid.xml");
  assert_non_null(at);
  char out[2048];
  int m = snprintf(out, sizeof out, "%.*ssub.xml%s", (int)(at - yaml), yaml, at + strlen("xml-nonutf8-hostid.xml"));
  const char *p = write_bytes("sub.yaml", out, (size_t)m);
  free(yaml);
  expect_refused(p, NULL, 0, "sub.xml:4:", "bandwidth '1e-310Bps' is not a number of at least 1 bps", NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(deep_nesting_is_refused_at_its_place_quickly),
      cmocka_unit_test(huge_mapping_is_refused_at_the_key_past_the_limit),
      cmocka_unit_test(duplicates_in_a_wide_mapping_name_the_first_key),
      cmocka_unit_test(utf16_scenario_is_refused),
      cmocka_unit_test(subnormal_bandwidth_is_refused),
      cmocka_unit_test(simgrid_xml_non_utf8_host_id_is_refused_at_load),
  };
  return cmocka_run_group_tests(tests, make_tmp_dir, remove_tmp_dir);
}
