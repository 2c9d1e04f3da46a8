"""Shared helpers for the Python integration tests: run cpnsim, read its HDF5 output with h5py."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

CPNSIM = os.environ["CPNSIM"]
SRC = os.environ["CPN_SRC"]


def run(scenario, *args, out=None, check=True):
    """Runs cpnsim on `scenario` with extra args; returns (CompletedProcess, path of the result file)."""
    tmp = tempfile.mkdtemp(prefix="cpntest-")
    out = out or os.path.join(tmp, "run.h5")
    p = subprocess.run([CPNSIM, scenario, "--out", out, "--quiet", *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: cpnsim {scenario} {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
    return p, out


def requests(path):
    with h5py.File(path, "r") as f:
        return f["requests"][:]


def fail(msg):
    sys.exit("FAIL: " + msg)
