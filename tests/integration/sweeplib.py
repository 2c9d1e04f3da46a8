"""Helpers of the sweep tests: run cpnsim-sweep, read a sweep index, compare two indexes."""
import os
import subprocess
import sys

BUILD = os.environ["CPN_BUILD"]
SWEEP = os.path.join(BUILD, "sweep", "cpnsim-sweep")
PLAN = os.path.join(BUILD, "sweep", "cpnsim-plan")


def sweep(*args, check=True, **kw):
    p = subprocess.run([SWEEP, *args], capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: cpnsim-sweep {' '.join(args)} exited {p.returncode}:\n{p.stderr[-3000:]}")
    return p


def index(path):
    import h5py

    with h5py.File(path, "r") as f:
        return f["points"][:], dict(f.attrs)


def text(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def same_values(a, b, skip=("wall_s", "worker")):
    """Column names whose values differ between two indexes (NaN equals NaN), ignoring `skip`."""
    import numpy as np

    if a.dtype.names != b.dtype.names:
        return [f"columns {a.dtype.names} vs {b.dtype.names}"]
    bad = []
    for n in a.dtype.names:
        if n in skip:
            continue
        x, y = a[n], b[n]
        eq = np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else bool((x == y).all())
        if not eq:
            bad.append(n)
    return bad
