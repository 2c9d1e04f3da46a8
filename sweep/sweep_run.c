/* sweep_run: runs a sweep's points as cpnsim processes, a few at a time on this machine and one at a
 * time on each remote (MPI) worker, handing points out in order as slots free up.
 *
 * Owns the child processes it starts (their pids are in the points) and the progress line. A point is
 * finished when its result file exists; a failed point keeps its log (DIR/points/<id>.log) and the
 * others go on. On SIGINT/SIGTERM the running children get SIGTERM (cpnsim then removes its temporary
 * file), are waited for, and the index is written with them as pending. */
#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
  caught = sig;
}

void cpn_sweep_signals_install(void)
{
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int cpn_sweep_signal_caught(void)
{
  return caught;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int make_dirs(const char *dir)
{
  char p[CPN_SWEEP_PATH];
  snprintf(p, sizeof p, "%s/points", dir);
  for (char *s = p + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      if (mkdir(p, 0777) && errno != EEXIST)
        return -1;
      *s = '/';
    }
  return mkdir(p, 0777) && errno != EEXIST ? -1 : 0;
}

/* Starts cpnsim for point i with stdout and stderr in its log. */
static pid_t spawn_point(cpn_sweep_t *sw, const char *cpnsim, int i)
{
  cpn_sweep_point_t *p = &sw->points[i];
  char out[CPN_SWEEP_PATH], log[CPN_SWEEP_PATH];
  cpn_sweep_result_path(sw, p, out);
  cpn_sweep_log_path(sw, p, log);
  char *argv[2 * 256 + 16];
  int n = 0;
  argv[n++] = (char *)cpnsim;
  argv[n++] = sw->scenario;
  argv[n++] = "--quiet";
  argv[n++] = "--out";
  argv[n++] = out;
  if (p->policy[0]) {
    argv[n++] = "--policy";
    argv[n++] = p->policy;
  }
  if (p->seed[0]) {
    argv[n++] = "--seed";
    argv[n++] = p->seed;
  }
  for (int k = 0; k < p->n_sets && k < 256; k++) {
    argv[n++] = "--set";
    argv[n++] = p->sets[k];
  }
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addclose(&fa, STDIN_FILENO);
  /* The child starts with default signal dispositions and no blocked signal. */
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t all, none;
  sigemptyset(&none);
  sigemptyset(&all);
  sigaddset(&all, SIGINT);
  sigaddset(&all, SIGTERM);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid;
  int rc = posix_spawn(&pid, cpnsim, &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc) {
    errno = rc;
    return -1;
  }
  return pid;
}

/* Records how point i ended (its process is gone). */
static void finish(cpn_sweep_t *sw, int i, int exit_code, double wall_s)
{
  cpn_sweep_point_t *p = &sw->points[i];
  char out[CPN_SWEEP_PATH];
  cpn_sweep_result_path(sw, p, out);
  p->exit_code = exit_code;
  p->wall_s = wall_s;
  p->error[0] = 0;
  if (exit_code == 0 && access(out, R_OK) == 0) {
    p->state = CPN_POINT_OK;
    return;
  }
  p->state = CPN_POINT_FAILED;
  /* The last non-empty line of the log says why. */
  char log[CPN_SWEEP_PATH], line[1024];
  cpn_sweep_log_path(sw, p, log);
  FILE *f = fopen(log, "r");
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    size_t n = strlen(line);
    if (n) { /* kept whole up to the column's size */
      n = n < sizeof p->error - 1 ? n : sizeof p->error - 1;
      memcpy(p->error, line, n);
      p->error[n] = 0;
    }
  }
  if (f)
    fclose(f);
  if (!p->error[0])
    snprintf(p->error, sizeof p->error, "cpnsim exited with status %d and no message", exit_code);
}

static int exit_code_of(int status)
{
  return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}

void cpn_sweep_run_one(cpn_sweep_t *sw, const char *cpnsim, int i)
{
  double t0 = now_s();
  if (make_dirs(sw->dir)) {
    sw->points[i].state = CPN_POINT_FAILED;
    sw->points[i].exit_code = 1;
    return;
  }
  pid_t pid = spawn_point(sw, cpnsim, i);
  int status = 0;
  if (pid < 0) {
    finish(sw, i, 127, 0);
    return;
  }
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    if (cpn_sweep_signal_caught())
      kill(pid, SIGTERM);
  finish(sw, i, exit_code_of(status), now_s() - t0);
}

typedef struct {
  int done, ok, failed, reused, running;
  double t0, run_wall_sum;
  int run_count;
  double last_print;
} progress_t;

static void print_progress(const cpn_sweep_t *sw, progress_t *pg, int slots, int force)
{
  double t = now_s();
  if (!force && t - pg->last_print < 0.5)
    return;
  pg->last_print = t;
  int left = sw->n_points - pg->done;
  char eta[64] = "time left unknown";
  if (pg->run_count > 0 && slots > 0)
    snprintf(eta, sizeof eta, "about %.0f s left", ceil(pg->run_wall_sum / pg->run_count * left / slots));
  else if (left == 0)
    snprintf(eta, sizeof eta, "no time left");
  int tty = isatty(STDERR_FILENO);
  fprintf(stderr, "%ssweep %s: %d/%d points done (%d reused), %d failed, %d running, %.0f s elapsed, %s%s",
          tty ? "\r\033[K" : "", sw->name, pg->done, sw->n_points, pg->reused, pg->failed, pg->running,
          t - pg->t0, eta, tty && !force ? "" : "\n");
  fflush(stderr);
}

cpn_err_t cpn_sweep_run(cpn_sweep_t *sw, const cpn_sweep_opts_t *o, int *signal_out)
{
  *signal_out = 0;
  if (make_dirs(sw->dir))
    return cpn_error_set(CPN_EIO, "%s/points: cannot make the directory: %s", sw->dir, strerror(errno));
  progress_t pg = {.t0 = now_s()};
  /* Points already finished are reused: their wall time is the one their result file recorded. */
  for (int i = 0; i < sw->n_points; i++) {
    cpn_sweep_point_t *p = &sw->points[i];
    char out[CPN_SWEEP_PATH];
    cpn_sweep_result_path(sw, p, out);
    if (p->state == CPN_POINT_OK || access(out, R_OK) == 0) {
      if (p->state != CPN_POINT_OK) {
        p->state = CPN_POINT_OK;
        p->reused = 1;
        p->exit_code = 0;
        p->wall_s = cpn_sweep_read_wall(out);
        p->worker = -1;
        pg.reused++;
      }
      pg.done++;
      pg.ok++;
    } else {
      p->state = CPN_POINT_PENDING;
    }
  }
  int remote_n = o->remote ? o->remote->n_workers : 0, remote_stopped = 0;
  int slots = o->workers + remote_n;
  if (slots <= 0)
    return cpn_error_set(CPN_EINVAL, "a sweep needs at least one worker");
  int next = 0, local_running = 0, dirty = 0;
  double last_index = 0;
  cpn_err_t err = CPN_OK;
  if (!o->quiet)
    print_progress(sw, &pg, slots, 1);
  for (;;) {
    int sig = cpn_sweep_signal_caught();
    while (next < sw->n_points && sw->points[next].state != CPN_POINT_PENDING)
      next++;
    /* Local slots. */
    while (!sig && local_running < o->workers && next < sw->n_points) {
      cpn_sweep_point_t *p = &sw->points[next];
      p->pid = spawn_point(sw, o->cpnsim, next);
      if (p->pid < 0) {
        err = cpn_error_set(CPN_EIO, "%s: cannot start: %s", o->cpnsim, strerror(errno));
        sig = -1;
        break;
      }
      p->state = CPN_POINT_RUNNING;
      p->t_start = now_s();
      p->worker = 0;
      local_running++;
      pg.running++;
      while (next < sw->n_points && sw->points[next].state != CPN_POINT_PENDING)
        next++;
    }
    /* Remote workers asking for work, with the result of their last point. */
    int who, idx, code;
    double wall;
    while (o->remote && o->remote->poll(o->remote->arg, &who, &idx, &code, &wall)) {
      if (idx >= 0 && idx < sw->n_points && sig && code != 0) {
        sw->points[idx].state = CPN_POINT_PENDING; /* stopped by the signal: still to do */
        pg.running--;
      } else if (idx >= 0 && idx < sw->n_points) {
        finish(sw, idx, code, wall);
        pg.running--;
        pg.done++;
        pg.run_count++;
        pg.run_wall_sum += wall;
        sw->points[idx].state == CPN_POINT_OK ? pg.ok++ : pg.failed++;
        dirty = 1;
        if (!o->quiet)
          print_progress(sw, &pg, slots, 0);
      }
      while (next < sw->n_points && sw->points[next].state != CPN_POINT_PENDING)
        next++;
      if (!sig && next < sw->n_points) {
        sw->points[next].state = CPN_POINT_RUNNING;
        sw->points[next].t_start = now_s();
        sw->points[next].worker = who;
        pg.running++;
        o->remote->give(o->remote->arg, who, next);
      } else {
        o->remote->give(o->remote->arg, who, -1);
        remote_stopped++;
      }
    }
    /* Local children that ended. */
    int status;
    for (int i = 0; i < sw->n_points && local_running > 0; i++) {
      cpn_sweep_point_t *p = &sw->points[i];
      if (p->state != CPN_POINT_RUNNING || p->pid <= 0 || waitpid(p->pid, &status, WNOHANG) != p->pid)
        continue;
      double w = now_s() - p->t_start;
      p->pid = 0;
      local_running--;
      pg.running--;
      if (sig && exit_code_of(status) != 0) { /* stopped by us: not a failure, still to do */
        p->state = CPN_POINT_PENDING;
        continue;
      }
      finish(sw, i, exit_code_of(status), w);
      pg.done++;
      pg.run_count++;
      pg.run_wall_sum += w;
      p->state == CPN_POINT_OK ? pg.ok++ : pg.failed++;
      dirty = 1;
      if (!o->quiet)
        print_progress(sw, &pg, slots, 0);
    }
    if (sig && local_running > 0) {
      static int told;
      if (!told)
        for (int i = 0; i < sw->n_points; i++)
          if (sw->points[i].state == CPN_POINT_RUNNING && sw->points[i].pid > 0)
            kill(sw->points[i].pid, SIGTERM);
      told = 1;
    }
    if (o->write_index && dirty && now_s() - last_index > 2.0) {
      cpn_sweep_write_index(sw); /* a progress snapshot; the final write below reports errors */
      last_index = now_s();
      dirty = 0;
    }
    if (local_running == 0 && remote_stopped == remote_n && (sig || next >= sw->n_points))
      break;
    if (sig && local_running == 0 && remote_n == 0)
      break;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  for (int i = 0; i < sw->n_points; i++)
    if (sw->points[i].state == CPN_POINT_RUNNING)
      sw->points[i].state = CPN_POINT_PENDING;
  if (!o->quiet)
    print_progress(sw, &pg, slots, 1);
  if (o->write_index) {
    cpn_err_t e = cpn_sweep_write_index(sw);
    if (!err)
      err = e;
  }
  int s = cpn_sweep_signal_caught();
  *signal_out = s > 0 ? s : 0;
  return err;
}
