"""Shared helpers for the Python integration tests: run cpnsim, read its HDF5 output with h5py, and name
the Debian package of a missing Python module (run_test.py, which ctest runs every test through), and the
M/M/c closed forms the queueing tests compare with."""
import os
import subprocess
import sys
import tempfile

CPNSIM = os.environ["CPNSIM"]
SRC = os.environ["CPN_SRC"]


def erlang_c(lam, mu, c):
    """Erlang C: the probability that an arrival waits in an M/M/c queue (stable: the Erlang B recursion,
    then C from B)."""
    a = lam / mu
    rho = a / c
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b / (1 - rho + rho * b)


def mmc_wait(lam, mu, c):
    """Mean wait in queue of an M/M/c queue; infinite when it is not stable."""
    return erlang_c(lam, mu, c) / (c * mu - lam) if lam < c * mu else float("inf")


def run(scenario, *args, out=None, check=True):
    """Runs cpnsim on `scenario` with extra args; returns (CompletedProcess, path of the result file)."""
    tmp = tempfile.mkdtemp(prefix="cpntest-")
    out = out or os.path.join(tmp, "run.h5")
    p = subprocess.run([CPNSIM, scenario, "--out", out, "--quiet", *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: cpnsim {scenario} {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
    return p, out


def requests(path):
    import h5py  # here, not at the top, so that run_test.py can import this file without h5py

    with h5py.File(path, "r") as f:
        return f["requests"][:]


def fail(msg):
    sys.exit("FAIL: " + msg)


def debian_package(module):
    """The Debian package that provides `module` per scripts/python-deps.txt, or None."""
    with open(os.path.join(SRC, "scripts", "python-deps.txt"), encoding="utf-8") as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if len(words) == 2 and words[0] == module.split(".")[0]:
                return words[1]
    return None


def missing_module_message(module):
    pkg = debian_package(module)
    if pkg:
        return (f"FAIL: Python module '{module}' is missing: install the Debian package {pkg} "
                f"(bash scripts/setup.sh installs it)")
    return (f"FAIL: Python module '{module}' is missing, and scripts/python-deps.txt names no Debian "
            f"package for it: add a row there so that scripts/setup.sh installs it")
