/* test_signal: SIGINT and SIGTERM handling (sim/core/signal.c).
 *
 * Every case runs in a forked child, because installing the handler blocks the signals and starts a
 * thread for the rest of the process; the child reports through its exit status. What is pinned: a
 * signal sets the flag the engine polls (the run goes on until the next poll); a second signal, or a
 * first one before anything polled, ends the process at once as 128 + signal with the tracked files
 * removed; a forced exit waits while the output module holds the table; signals ignored at start stay
 * ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/signal.h"

static char dir[256];

static int group_setup(void **state)
{
  (void)state;
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/cpn_signal_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
  (void)state;
  char p[512];
  static const char *const names[] = {"a.tmp", "b.lock", "kept", "held"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    unlink(p);
  }
  rmdir(dir);
  return 0;
}

static void in_dir(const char *name, char out[512]) { snprintf(out, 512, "%s/%s", dir, name); }

static int exists(const char *p)
{
  struct stat st;
  return lstat(p, &st) == 0;
}

static void touch(const char *p)
{
  FILE *f = fopen(p, "w");
  if (f)
    fclose(f);
}

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs body in a child; returns its wait status. */
static int in_child(void (*body)(void))
{
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* Whatever the test runner ignores (ctest run in the background ignores SIGINT), start clean. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    body();
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

/* Waits up to 5 s for the flag; the child's exit code says what it saw. */
static int wait_flag(void)
{
  for (int i = 0; i < 500; i++) {
    int sig = cpn_interrupted();
    if (sig)
      return sig;
    sleep_ms(10);
  }
  return 0;
}

/* ---- bodies (in the child) --------------------------------------------------------------------- */

static void polled_run_gets_the_flag(void)
{
  if (cpn_signal_install())
    _exit(20);
  if (cpn_interrupted() != 0 || cpn_signal_caught() != 0)
    _exit(21);
  kill(getpid(), SIGTERM); /* the engine is polling: the run is told, not killed */
  int sig = wait_flag();
  if (sig != SIGTERM || cpn_signal_caught() != SIGTERM)
    _exit(22);
  _exit(7);
}

static void unpolled_signal_forces_exit_and_removes_files(void)
{
  char a[512], b[512], kept[512];
  in_dir("a.tmp", a);
  in_dir("b.lock", b);
  in_dir("kept", kept);
  touch(a);
  touch(b);
  touch(kept);
  if (cpn_signal_install())
    _exit(20);
  int ha = cpn_signal_track(a), hb = cpn_signal_track(b), hk = cpn_signal_track(kept);
  if (ha < 0 || hb < 0 || hk < 0)
    _exit(21);
  cpn_signal_untrack(hk); /* e.g. a result already renamed into place */
  kill(getpid(), SIGINT);
  sleep_ms(5000);
  _exit(23); /* not reached: nobody polls, so the first signal ends the process */
}

static void second_signal_forces_exit(void)
{
  if (cpn_signal_install())
    _exit(20);
  (void)cpn_interrupted();
  kill(getpid(), SIGINT);
  if (wait_flag() != SIGINT)
    _exit(22);
  kill(getpid(), SIGTERM); /* the user insists */
  sleep_ms(5000);
  _exit(23);
}

static void forced_exit_waits_for_hold(void)
{
  char held[512];
  in_dir("held", held);
  if (cpn_signal_install())
    _exit(20);
  cpn_signal_hold();
  kill(getpid(), SIGTERM);
  sleep_ms(300);
  touch(held); /* still alive while holding */
  cpn_signal_release();
  sleep_ms(5000);
  _exit(23);
}

static void ignored_signal_stays_ignored(void)
{
  signal(SIGINT, SIG_IGN); /* as nohup or a non-interactive shell's background job */
  if (cpn_signal_install())
    _exit(20);
  (void)cpn_interrupted();
  kill(getpid(), SIGINT);
  sleep_ms(200);
  if (cpn_signal_caught() != 0)
    _exit(22);
  kill(getpid(), SIGTERM); /* not ignored */
  if (wait_flag() != SIGTERM)
    _exit(23);
  _exit(7);
}

/* ---- cases ------------------------------------------------------------------------------------- */

static void signal_sets_flag_when_the_loop_polls(void **state)
{
  (void)state;
  int st = in_child(polled_run_gets_the_flag);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 7);
}

static void signal_before_any_poll_exits_130_and_removes_tracked_files(void **state)
{
  (void)state;
  char a[512], b[512], kept[512];
  in_dir("a.tmp", a);
  in_dir("b.lock", b);
  in_dir("kept", kept);
  int st = in_child(unpolled_signal_forces_exit_and_removes_files);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 128 + SIGINT);
  assert_false(exists(a));
  assert_false(exists(b));
  assert_true(exists(kept));
}

static void second_signal_exits_at_once(void **state)
{
  (void)state;
  int st = in_child(second_signal_forces_exit);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 128 + SIGTERM);
}

static void forced_exit_waits_while_held(void **state)
{
  (void)state;
  char held[512];
  in_dir("held", held);
  int st = in_child(forced_exit_waits_for_hold);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 128 + SIGTERM);
  assert_true(exists(held));
}

static void signals_ignored_at_start_stay_ignored(void **state)
{
  (void)state;
  int st = in_child(ignored_signal_stays_ignored);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 7);
}

static void track_refuses_what_it_cannot_hold(void **state)
{
  (void)state;
  assert_int_equal(cpn_signal_track(NULL), -1);
  assert_int_equal(cpn_signal_track(""), -1);
  char *longp = malloc(5000);
  memset(longp, 'x', 4999);
  longp[4999] = '\0';
  assert_int_equal(cpn_signal_track(longp), -1);
  free(longp);
  int h[64], n = 0;
  while (n < 64 && (h[n] = cpn_signal_track("/nonexistent/x")) >= 0)
    n++;
  assert_true(n >= 2 && n < 64); /* a small fixed table */
  for (int i = 0; i < n; i++)
    cpn_signal_untrack(h[i]);
  cpn_signal_untrack(-1);
  assert_true(cpn_signal_track("/nonexistent/y") >= 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(signal_sets_flag_when_the_loop_polls),
    cmocka_unit_test(signal_before_any_poll_exits_130_and_removes_tracked_files),
    cmocka_unit_test(second_signal_exits_at_once),
    cmocka_unit_test(forced_exit_waits_while_held),
    cmocka_unit_test(signals_ignored_at_start_stay_ignored),
    cmocka_unit_test(track_refuses_what_it_cannot_hold),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
