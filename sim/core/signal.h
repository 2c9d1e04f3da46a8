/* cpn_signal: stopping a run on SIGINT or SIGTERM without leaving a half-written file behind.
 *
 * What it is for: main() calls cpn_signal_install() first thing; the engine's event loop polls
 * cpn_interrupted() and, when it returns non-zero, stops, closes its output without committing and
 * returns an error; main() then exits 128 + signal (130 for SIGINT, 143 for SIGTERM).
 *
 * How: the signals are blocked in every thread this process starts after main() begins, and a small
 * thread takes them with sigwait(), so no cpnsim code runs in signal context. Threads that libraries
 * start before main() (OpenBLAS, pulled in through igraph and GSL on machines where it is the BLAS, starts
 * its workers from a constructor) do not block them: there a handler forwards the signal to the waiting
 * thread. SimGrid replaces the SIGINT handler with its own (which calls exit() from whatever thread it
 * lands on, while the engine runs: a segfault) when its engine starts; cpn_signal_reclaim() puts ours
 * back. The first signal only sets the flag, provided something has polled it: the run then
 * stops at its next poll. A second signal, or a first one before anything has polled, forces the exit
 * at once: the files registered with cpn_signal_track() are removed and the process _exits.
 *
 * What it owns: the flag, the waiting thread and a small table of paths to remove on a forced exit.
 * Invariant: a tracked path is removed by a forced exit unless it was untracked before; the output
 * module wraps the creation and the final rename of its files in cpn_signal_hold()/cpn_signal_release(),
 * so a forced exit never runs half-way through them. Signals ignored when the process started (nohup,
 * background jobs of non-interactive shells) stay ignored. */
#ifndef CPN_CORE_SIGNAL_H
#define CPN_CORE_SIGNAL_H

#include "core/error.h"

/* Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it creates later) and starts
 * the thread that waits for them. Call once, from main, before any other thread exists. */
cpn_err_t cpn_signal_install(void);

/* Puts back the handlers cpn_signal_install() set (SimGrid's initialisation replaces SIGINT's). Call
 * right after simgrid_init(). Does nothing before cpn_signal_install(). */
void cpn_signal_reclaim(void);

/* The signal that asked the run to stop (SIGINT, SIGTERM), or 0. For the engine's event loop: cheap (one
 * atomic load), call it once per event or per few events. Calling it tells the module that someone is
 * polling, so that a first signal waits for the loop to stop instead of forcing the exit. */
int cpn_interrupted(void);

/* The signal received so far, or 0, without counting as a poll (for main, after the run). */
int cpn_signal_caught(void);

/* Registers a file to remove if the process is forced to exit. Returns a handle >= 0, or -1 when the
 * table is full or the path too long (the file is then simply not removed by a forced exit). */
int cpn_signal_track(const char *path);
/* Forgets a handle from cpn_signal_track; accepts -1. */
void cpn_signal_untrack(int handle);

/* Delays a forced exit until cpn_signal_release(): around creating or renaming a tracked file. */
void cpn_signal_hold(void);
void cpn_signal_release(void);

#endif
