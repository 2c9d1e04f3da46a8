/* sweep: many cpnsim runs from one description, each a point with its own result file, and the index
 * of a sweep (one row per point).
 *
 * A sweep (cpn_sweep_t) is a scenario, overrides common to every point, and a list of points; a point is
 * a policy, a seed and `--set key=value` overrides. A point's identity is a hash of the scenario's text,
 * its overrides, policy and seed: its result file is DIR/points/<id>.h5 and its log DIR/points/<id>.log,
 * so a point whose result file exists is finished (cpnsim renames a complete file into place, never
 * leaves a partial one) and a rerun skips it, and the capacity search reuses runs it made before.
 *
 * Owns: the points (heap), their state during a run, the index file DIR/index.h5 (written to a
 * temporary name and renamed, so a reader never sees half an index).
 * Invariants: points are in expansion order and keep it in the index; the index's metric columns are
 * the double columns of /summary/overall of the first finished point, in its order, so that two runs of
 * the same sweep (local or MPI) write the same columns in the same order. */
#ifndef CPN_SWEEP_SWEEP_H
#define CPN_SWEEP_SWEEP_H

#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

#define CPN_SWEEP_STR 256
#define CPN_SWEEP_PATH 4096

typedef enum { CPN_POINT_PENDING, CPN_POINT_RUNNING, CPN_POINT_OK, CPN_POINT_FAILED } cpn_point_state_t;

typedef struct {
  int line;                        /* line of the sweep file that made the point (0: made by a program) */
  char policy[CPN_SWEEP_STR];      /* "" : the scenario's run.policy */
  char seed[32];                   /* "" : the scenario's run.seed */
  int n_sets;
  char (*sets)[CPN_SWEEP_STR];     /* "key=value", common overrides first */
  char (*params)[CPN_SWEEP_STR];   /* one value per parameter column of the sweep ("" when not set) */
  char id[17];                     /* 16 hex digits */
  /* State of the run (set by cpn_sweep_run). */
  cpn_point_state_t state;
  int exit_code;                   /* cpnsim's exit status (128 + signal when killed) */
  int reused;                      /* the result file was there before this run */
  int worker;                      /* MPI rank that ran it (0: this process; -1: not run now) */
  double wall_s;                   /* the point's wall time: the run's own, or the result file's attribute */
  pid_t pid;
  double t_start;
  char error[CPN_SWEEP_STR];       /* last line of the log of a failed point */
} cpn_sweep_point_t;

typedef struct {
  char name[CPN_SWEEP_STR];
  char file[CPN_SWEEP_PATH];       /* the sweep file ("" when made by a program) */
  char *file_text;                 /* its text (malloc'd) */
  char scenario[CPN_SWEEP_PATH];   /* absolute path */
  char *scenario_text;             /* malloc'd, part of every point's identity */
  char dir[CPN_SWEEP_PATH - 256];  /* output directory */
  int n_cols;
  char (*cols)[CPN_SWEEP_STR];     /* parameter column names: "policy", "seed", or a --set key */
  int n_points, cap_points;
  cpn_sweep_point_t *points;
} cpn_sweep_t;

/* Reads a sweep file (strict YAML, see sweep/README.md): problems name file:line:col and key; the
 * scenario path is relative to the sweep file; `dir` (may be NULL) overrides its `out` key. On
 * success the points are expanded (grid product, then the list), identified, and every point's scenario
 * and policy are checked with the scenario loader, so a bad key fails before anything runs. */
cpn_err_t cpn_sweep_load(cpn_sweep_t *sw, const char *path, const char *dir);

/* A sweep made by a program (the capacity search): scenario path, output directory, parameter columns
 * (NULL-terminated). Add points with cpn_sweep_add_point. */
cpn_err_t cpn_sweep_init(cpn_sweep_t *sw, const char *name, const char *scenario, const char *dir,
                         const char *const *cols);
/* Appends a point: sets (n "key=value"), params (n_cols values, NULL entries = ""), policy and seed
 * ("" or NULL for the scenario's). Returns the index of the point (an existing equal point's index when
 * the same point is already there), or -1 when out of memory. */
int cpn_sweep_add_point(cpn_sweep_t *sw, const char *const *sets, int n, const char *const *params,
                        const char *policy, const char *seed);
void cpn_sweep_destroy(cpn_sweep_t *sw);

/* Paths of a point's files (buffers of CPN_SWEEP_PATH). */
void cpn_sweep_result_path(const cpn_sweep_t *sw, const cpn_sweep_point_t *p, char *out);
void cpn_sweep_log_path(const cpn_sweep_t *sw, const cpn_sweep_point_t *p, char *out);

/* ---- Running (sweep_run.c) ------------------------------------------------------------------------ */

/* A source of remote slots (MPI): the runner polls it for ranks asking for work and their results. */
typedef struct cpn_sweep_remote cpn_sweep_remote_t;
struct cpn_sweep_remote {
  void *arg;
  /* Returns 1 and fills *who (a handle) and the result of the point it ran (*index -1: none yet) when a
   * remote worker asks for work; 0 when none asks now. */
  int (*poll)(void *arg, int *who, int *index, int *exit_code, double *wall_s);
  /* Gives point `index` to worker `who`, or tells it to stop (index -1). */
  void (*give)(void *arg, int who, int index);
  int n_workers;                   /* remote workers that will ask */
};

typedef struct {
  const char *cpnsim;              /* the cpnsim executable */
  int workers;                     /* local worker processes (0 allowed with remote workers) */
  int quiet;                       /* no progress line */
  int write_index;                 /* write DIR/index.h5 as points finish and at the end */
  cpn_sweep_remote_t *remote;      /* NULL: local only */
} cpn_sweep_opts_t;

/* Runs every point of `sw` whose result file is missing (the others count as finished, reused), at most
 * o->workers at a time locally plus one per remote worker, handing points out in order as slots free up.
 * A point that fails is recorded and the others go on. Prints a progress line on stderr (points done,
 * failed, running, time left) unless quiet. Stops on SIGINT/SIGTERM (running points are stopped, the
 * index is written, *signal_out receives the signal). Returns CPN_OK when it ran to the end (failed
 * points included), or an error when it could not start a process or write the index. */
cpn_err_t cpn_sweep_run(cpn_sweep_t *sw, const cpn_sweep_opts_t *o, int *signal_out);

/* Runs point `i` in this process and waits for it (the worker side of MPI). */
void cpn_sweep_run_one(cpn_sweep_t *sw, const char *cpnsim, int i);

/* Installs the SIGINT/SIGTERM flag handler (once per process) and reads it. */
void cpn_sweep_signals_install(void);
int cpn_sweep_signal_caught(void);

/* ---- Results and index (sweep_index.c) ------------------------------------------------------------ */

/* Reads metric `name` of the `key` row ("overall", a site...) of /summary/<table> of a result file.
 * CPN_ENOTFOUND when the file has no such column or row. */
cpn_err_t cpn_sweep_read_metric(const char *path, const char *table, const char *key, const char *name, double *out);
/* The root attribute wall_seconds of a result file (NaN when absent). */
double cpn_sweep_read_wall(const char *path);
/* Writes DIR/index.h5 (see sweep/README.md for its layout). */
cpn_err_t cpn_sweep_write_index(const cpn_sweep_t *sw);

#endif
