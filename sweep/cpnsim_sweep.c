/* cpnsim-sweep: runs a sweep file on this machine (N worker processes) or across machines with MPI.
 *
 *   cpnsim-sweep SWEEP.yaml [--workers N] [--out DIR] [--cpnsim PATH] [--quiet] [--check]
 *   mpirun -np R cpnsim-sweep SWEEP.yaml --mpi [--workers N] ...
 *
 * With --mpi, rank 0 hands points out one at a time to the ranks that ask (dynamic: a rank asks again
 * when its point ends), runs --workers points itself meanwhile (default 1), and alone writes the index;
 * every rank reads the sweep file itself. Result files go to DIR, which all ranks must see (a shared
 * file system): rank 0 reads them for the index and to skip finished points.
 * Exit codes: 0 every point ran and succeeded; 1 some point failed (the others ran); 2 bad input;
 * 130/143 stopped by SIGINT/SIGTERM (rerun to resume). */
#include "sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef CPN_HAVE_MPI
#include <mpi.h>
#endif

static void usage(FILE *f)
{
  fprintf(f, "usage: cpnsim-sweep SWEEP.yaml [--workers N] [--out DIR] [--cpnsim PATH] [--mpi] [--quiet] [--check]\n"
             "Runs every point of a sweep whose result file is missing and writes DIR/index.h5.\n"
             "  --workers N    local cpnsim processes at a time (default: online CPUs; with --mpi: 1 on rank 0)\n"
             "  --out DIR      output directory (default: the sweep's `out`, else its name)\n"
             "  --cpnsim PATH  the simulator (default: $CPNSIM, else %s)\n"
             "  --mpi          run under mpirun: rank 0 hands points out, the other ranks run them\n"
             "  --quiet        no progress line\n"
             "  --check        read and check the sweep file, print its points, run nothing\n",
          CPN_DEFAULT_CPNSIM);
}

#ifdef CPN_HAVE_MPI
/* LeakSanitizer (the sanitizer build, scripts/sanitize.sh) checks for leaks at exit, after MPI_Finalize
 * has unloaded Open MPI's components (dlclose): their own unfreed strings are then reported from frames
 * of "<unknown module>" that no suppression can name, and every rank exits 1 (test_sweep_mpi). So the
 * check runs just before MPI_Finalize instead: everything of cpnsim-sweep's is freed by then (the
 * callers destroy the sweep first), so a leak of ours is still reported, while Open MPI's memory is still
 * reachable. Weak: NULL without the sanitizers. After this check LeakSanitizer does not check again. */
extern void __lsan_do_leak_check(void) __attribute__((weak));

static void mpi_finalize(void)
{
  if (__lsan_do_leak_check)
    __lsan_do_leak_check();
  MPI_Finalize();
}

enum { TAG_ASK = 1, TAG_GIVE = 2 };

typedef struct {
  int index, exit_code;
  double wall_s;
} ask_t;

static int mpi_poll(void *arg, int *who, int *index, int *exit_code, double *wall_s)
{
  (void)arg;
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &flag, &st);
  if (!flag)
    return 0;
  ask_t a;
  MPI_Recv(&a, (int)sizeof a, MPI_BYTE, st.MPI_SOURCE, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  *who = st.MPI_SOURCE;
  *index = a.index;
  *exit_code = a.exit_code;
  *wall_s = a.wall_s;
  return 1;
}

static void mpi_give(void *arg, int who, int index)
{
  (void)arg;
  MPI_Send(&index, 1, MPI_INT, who, TAG_GIVE, MPI_COMM_WORLD);
}

/* A worker rank: ask, run, ask again with the result, until told to stop. */
static void mpi_worker(cpn_sweep_t *sw, const char *cpnsim)
{
  ask_t a = {-1, 0, 0};
  for (;;) {
    MPI_Send(&a, (int)sizeof a, MPI_BYTE, 0, TAG_ASK, MPI_COMM_WORLD);
    int idx;
    MPI_Recv(&idx, 1, MPI_INT, 0, TAG_GIVE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (idx < 0 || idx >= sw->n_points)
      return;
    cpn_sweep_run_one(sw, cpnsim, idx);
    a.index = idx;
    a.exit_code = sw->points[idx].exit_code;
    a.wall_s = sw->points[idx].wall_s;
  }
}
#endif

int main(int argc, char **argv)
{
  const char *file = NULL, *dir = NULL, *cpnsim = getenv("CPNSIM");
  int workers = -1, quiet = 0, check = 0, mpi = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--workers") || !strcmp(a, "--out") || !strcmp(a, "--cpnsim")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "cpnsim-sweep: option '%s' needs a value\n", a);
        return 2;
      }
      const char *v = argv[++i];
      if (!strcmp(a, "--workers")) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 0 || n > 4096) {
          fprintf(stderr, "cpnsim-sweep: --workers: '%s' is not a count from 0 to 4096\n", v);
          return 2;
        }
        workers = (int)n;
      } else if (!strcmp(a, "--out")) {
        dir = v;
      } else {
        cpnsim = v;
      }
    } else if (!strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (!strcmp(a, "--check")) {
      check = 1;
    } else if (!strcmp(a, "--mpi")) {
      mpi = 1;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "cpnsim-sweep: unknown option '%s' (cpnsim-sweep --help)\n", a);
      return 2;
    } else if (!file) {
      file = a;
    } else {
      fprintf(stderr, "cpnsim-sweep: more than one sweep file ('%s')\n", a);
      return 2;
    }
  }
  if (!file) {
    usage(stderr);
    return 2;
  }
  if (workers == 0 && !mpi) {
    fprintf(stderr, "cpnsim-sweep: --workers 0 runs nothing (0 is only for rank 0 under --mpi)\n");
    return 2;
  }
  if (!cpnsim || !*cpnsim)
    cpnsim = CPN_DEFAULT_CPNSIM;
  int rank = 0, size = 1;
  if (mpi) {
#ifdef CPN_HAVE_MPI
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
#else
    fprintf(stderr, "cpnsim-sweep: --mpi: this build has no MPI (install libopenmpi-dev and rebuild)\n");
    return 2;
#endif
  }
  cpn_sweep_t sw;
  cpn_err_t err = cpn_sweep_load(&sw, file, dir);
  if (err) {
    if (rank == 0)
      fprintf(stderr, "%s\ncpnsim-sweep: %s: %s\n", cpn_error_message(), file, cpn_error_name(err));
#ifdef CPN_HAVE_MPI
    if (mpi)
      mpi_finalize();
#endif
    return err == CPN_EINVAL ? 2 : 1;
  }
  if (check) {
    if (rank == 0) {
      printf("%s: ok, %d points, scenario %s, output %s\n", file, sw.n_points, sw.scenario, sw.dir);
      for (int i = 0; i < sw.n_points; i++) {
        printf("  %4d %s", i, sw.points[i].id);
        for (int c = 0; c < sw.n_cols; c++)
          printf(" %s=%s", sw.cols[c], sw.points[i].params[c]);
        printf("\n");
      }
    }
    cpn_sweep_destroy(&sw);
#ifdef CPN_HAVE_MPI
    if (mpi)
      mpi_finalize();
#endif
    return 0;
  }
  if (access(cpnsim, X_OK)) {
    if (rank == 0)
      fprintf(stderr, "cpnsim-sweep: %s: not an executable (--cpnsim or $CPNSIM)\n", cpnsim);
    cpn_sweep_destroy(&sw);
#ifdef CPN_HAVE_MPI
    if (mpi)
      mpi_finalize();
#endif
    return 2;
  }
  cpn_sweep_signals_install();
  int rc = 0;
#ifdef CPN_HAVE_MPI
  if (mpi && rank > 0) {
    mpi_worker(&sw, cpnsim);
    cpn_sweep_destroy(&sw);
    mpi_finalize();
    return 0;
  }
  cpn_sweep_remote_t remote = {.poll = mpi_poll, .give = mpi_give, .n_workers = size - 1};
#endif
  if (workers < 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    workers = mpi ? 1 : n > 0 ? (int)n : 1;
  }
  cpn_sweep_opts_t o = {.cpnsim = cpnsim, .workers = workers, .quiet = quiet, .write_index = 1};
#ifdef CPN_HAVE_MPI
  if (mpi)
    o.remote = &remote;
#endif
  int sig = 0;
  err = cpn_sweep_run(&sw, &o, &sig);
  int failed = 0, ok = 0;
  for (int i = 0; i < sw.n_points; i++) {
    failed += sw.points[i].state == CPN_POINT_FAILED;
    ok += sw.points[i].state == CPN_POINT_OK;
  }
  if (err) {
    fprintf(stderr, "cpnsim-sweep: %s\n", cpn_error_message());
    rc = 1;
  } else if (sig) {
    fprintf(stderr, "cpnsim-sweep: interrupted; %d of %d points done; rerun to resume\n", ok, sw.n_points);
    rc = 128 + sig;
  } else {
    for (int i = 0; i < sw.n_points && failed; i++)
      if (sw.points[i].state == CPN_POINT_FAILED)
        fprintf(stderr, "cpnsim-sweep: point %d (%s) failed, exit %d: %s\n", i, sw.points[i].id,
                sw.points[i].exit_code, sw.points[i].error);
    if (!quiet)
      printf("wrote %s/index.h5 (%d points: %d ok, %d failed)\n", sw.dir, sw.n_points, ok, failed);
    rc = failed ? 1 : 0;
  }
  cpn_sweep_destroy(&sw);
#ifdef CPN_HAVE_MPI
  if (mpi)
    mpi_finalize();
#endif
  return rc;
}
