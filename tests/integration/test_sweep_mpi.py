"""cpnsim-sweep under `mpirun -np 2` (Debian's OpenMPI): rank 0 hands the 18 points of the small sweep out
one at a time and writes the index; both ranks run points; the index holds the same values as the
2-worker local run's (wall times and the worker column aside)."""
import os
import shutil
import subprocess
import tempfile

from cpntest import SRC, fail
from sweeplib import SWEEP, index, same_values, sweep

mpirun = shutil.which("mpirun")
if not mpirun:
    fail("mpirun is missing: install the Debian package openmpi-bin (bash scripts/setup.sh installs it)")
SMALL = f"{SRC}/tests/data/sweep-small.yaml"
tmp = tempfile.mkdtemp(prefix="cpnsweep-mpi-")
# As root, OpenMPI wants --allow-run-as-root; in a container, --oversubscribe (more ranks than cores it
# counts) and no cross-memory-attach single copy.
env = dict(os.environ, OMPI_MCA_btl_vader_single_copy_mechanism="none", OMPI_MCA_rmaps_base_oversubscribe="1")
if "ASAN_OPTIONS" in env:
    # Under the sanitizers (scripts/sanitize.sh): full malloc stacks, so that Open MPI's own leaks are
    # matched by the libraries on their stacks (tests/sanitizer/lsan.supp) even when the component that
    # allocated was unloaded since.
    env["ASAN_OPTIONS"] += ":fast_unwind_on_malloc=0"
cmd = [mpirun, "-np", "2", "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
p = subprocess.run(cmd + [SWEEP, SMALL, "--mpi", "--out", f"{tmp}/mpi"], capture_output=True, text=True, env=env,
                   timeout=600)
if p.returncode != 0:
    fail(f"mpirun exited {p.returncode}:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
sweep(SMALL, "--workers", "2", "--out", f"{tmp}/local", "--quiet")
m, am = index(f"{tmp}/mpi/index.h5")
loc, al = index(f"{tmp}/local/index.h5")
if am["ok"] != 18 or al["ok"] != 18:
    fail(f"ok points: mpi {am['ok']}, local {al['ok']}")
bad = same_values(m, loc)
if bad:
    fail(f"MPI and local indexes differ in {bad}")
ranks = sorted(set(int(w) for w in m["worker"]))
if ranks != [0, 1]:
    fail(f"points ran on ranks {ranks}, expected both 0 and 1")
print(f"mpirun -np 2: 18 points, {sum(m['worker'] == 1)} on rank 1 and {sum(m['worker'] == 0)} on rank 0; "
      f"index equals the local run's in all {len(m.dtype.names) - 2} compared columns")
shutil.rmtree(tmp)
print("ok")
