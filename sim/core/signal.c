/* cpn_signal: the interrupt flag, the thread that waits for SIGINT/SIGTERM, and the files a forced exit
 * removes. See signal.h for the protocol. */
#include "core/signal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { TRACK_MAX = 8, TRACK_PATH_MAX = 4096 };

static atomic_int caught;       /* the first signal received, 0 if none */
static atomic_int polled;       /* 1 once cpn_interrupted() has been called */
static int installed;
static sigset_t waited;         /* the signals the thread takes */
static pthread_t waiter;        /* the thread that takes them */

/* The tracked paths. The mutex is held by whoever changes the table, by cpn_signal_hold() callers, and
 * by a forced exit, which never releases it. It is recursive, so that a holder may track and untrack. */
static pthread_mutex_t track_lock;
static pthread_once_t track_once = PTHREAD_ONCE_INIT;
static char track_path[TRACK_MAX][TRACK_PATH_MAX];
static int track_used[TRACK_MAX];

static void init_lock(void)
{
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&track_lock, &a);
  pthread_mutexattr_destroy(&a);
}

static void lock(void)
{
  pthread_once(&track_once, init_lock);
  pthread_mutex_lock(&track_lock);
}

static void unlock(void) { pthread_mutex_unlock(&track_lock); }

static const char *signal_name(int sig)
{
  switch (sig) {
  case SIGINT: return "SIGINT";
  case SIGTERM: return "SIGTERM";
  }
  return "a signal";
}

/* Removes the tracked files and ends the process as 128 + sig, without running atexit handlers or
 * destructors (SimGrid's and HDF5's would work on state another thread is in the middle of changing). */
static void forced_exit(int sig)
{
  lock();
  int removed = 0;
  for (int i = 0; i < TRACK_MAX; i++)
    if (track_used[i] && unlink(track_path[i]) == 0)
      removed++;
  char msg[160];
  int n = snprintf(msg, sizeof msg, "cpnsim: interrupted by %s; stopped at once, no result written%s\n",
                   signal_name(sig), removed ? " (temporary files removed)" : "");
  if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0) {
    /* Nothing left to report to. */
  }
  _exit(128 + sig);
}

static void *wait_signals(void *arg)
{
  (void)arg;
  for (;;) {
    int sig = 0;
    if (sigwait(&waited, &sig) != 0)
      continue;
    int expected = 0;
    int first = atomic_compare_exchange_strong(&caught, &expected, sig);
    /* A second signal means "now"; a first one with nobody polling would otherwise never be seen. */
    if (!first || !atomic_load(&polled))
      forced_exit(sig);
  }
  return NULL;
}

/* Runs in a thread that does not block the signal: one a library started before main() (OpenBLAS starts
 * its worker threads from a constructor). It hands the signal to the waiting thread; pthread_kill is
 * async-signal-safe. */
static void forward(int sig)
{
  int saved = errno;
  pthread_kill(waiter, sig);
  errno = saved;
}

/* The disposition of each signal: forwarded to the waiting thread, or ignored as it was at start. */
static void set_handlers(void)
{
  static const int sigs[] = {SIGINT, SIGTERM};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = sigismember(&waited, sigs[i]) ? forward : SIG_IGN;
    sigaction(sigs[i], &sa, NULL);
  }
}

void cpn_signal_reclaim(void)
{
  if (installed)
    set_handlers();
}

cpn_err_t cpn_signal_install(void)
{
  if (installed)
    return CPN_OK;
  static const int sigs[] = {SIGINT, SIGTERM};
  sigset_t blocked;
  sigemptyset(&waited);
  sigemptyset(&blocked);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    /* A signal ignored by whoever started us stays ignored. It is blocked all the same, and never
     * waited for: SimGrid installs its own SIGINT handler whatever the disposition was. */
    sigaddset(&blocked, sigs[i]);
    struct sigaction old;
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
      continue;
    sigaddset(&waited, sigs[i]);
  }
  int rc = pthread_sigmask(SIG_BLOCK, &blocked, NULL);
  if (rc != 0)
    return cpn_error_set(CPN_EIO, "cannot block SIGINT and SIGTERM: %s", strerror(rc));
  pthread_attr_t attr;
  rc = pthread_attr_init(&attr);
  if (rc == 0) {
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&waiter, &attr, wait_signals, NULL);
    pthread_attr_destroy(&attr);
  }
  if (rc != 0) {
    pthread_sigmask(SIG_UNBLOCK, &blocked, NULL);
    return cpn_error_set(CPN_EIO, "cannot start the thread that handles SIGINT and SIGTERM: %s", strerror(rc));
  }
  installed = 1;
  set_handlers();
  return CPN_OK;
}

int cpn_interrupted(void)
{
  atomic_store_explicit(&polled, 1, memory_order_relaxed);
  return atomic_load_explicit(&caught, memory_order_relaxed);
}

int cpn_signal_caught(void) { return atomic_load(&caught); }

int cpn_signal_track(const char *path)
{
  size_t len = path ? strlen(path) : 0;
  if (len == 0 || len >= TRACK_PATH_MAX)
    return -1;
  int handle = -1;
  lock();
  for (int i = 0; i < TRACK_MAX && handle < 0; i++) {
    if (!track_used[i]) {
      memcpy(track_path[i], path, len + 1);
      track_used[i] = 1;
      handle = i;
    }
  }
  unlock();
  return handle;
}

void cpn_signal_untrack(int handle)
{
  if (handle < 0 || handle >= TRACK_MAX)
    return;
  lock();
  track_used[handle] = 0;
  unlock();
}

void cpn_signal_hold(void) { lock(); }

void cpn_signal_release(void) { unlock(); }
