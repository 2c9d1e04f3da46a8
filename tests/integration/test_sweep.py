"""cpnsim-sweep on one machine: a 2 policies x 3 seeds x 3 demand scales sweep with 2 workers writes one
result file per point and an index whose rows are the grid in order and whose metrics are those of the
points' own /summary/overall; a sweep killed midway (the sweep and its children, SIGKILL) and rerun runs
only the missing points; a failing point is recorded and the others go on; a bad sweep file is refused
with file:line and key, exit 2."""
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time

import h5py
import numpy as np

from cpntest import CPNSIM, SRC, fail
from sweeplib import SWEEP, index, same_values, sweep, text

SMALL = f"{SRC}/tests/data/sweep-small.yaml"
tmp = tempfile.mkdtemp(prefix="cpnsweep-")

# 1. The whole sweep with 2 local workers.
p = sweep(SMALL, "--workers", "2", "--out", f"{tmp}/a")
if "18/18 points done" not in p.stderr:
    fail(f"no final progress line:\n{p.stderr}")
rows, attrs = index(f"{tmp}/a/index.h5")
want = list(itertools.product(["least-loaded", "nearest"], ["1", "2", "3"], ["0.5", "1", "2"]))
got = [(text(r["policy"]), text(r["seed"]), text(r["demand.scale"])) for r in rows]
if got != want:
    fail(f"index rows are not the grid in order: {got}")
if attrs["ok"] != 18 or attrs["failed"] != 0 or set(rows["status"]) != {b"ok"}:
    fail(f"statuses: {attrs}")
for r in rows:
    with h5py.File(f"{tmp}/a/{text(r['path'])}", "r") as f:
        ov = f["summary/overall"][0]
        if text(f.attrs["policy"]) != text(r["policy"]) or str(f.attrs["seed"]) != text(r["seed"]):
            fail(f"point {r['point']}: result file has policy {f.attrs['policy']} seed {f.attrs['seed']}")
        for m in ("requests", "ttft_p99_s", "slo_attainment", "cost_usd_per_mtok", "utilisation"):
            if not (ov[m] == r[m] or (np.isnan(ov[m]) and np.isnan(r[m]))):
                fail(f"point {r['point']}: index {m}={r[m]}, result file {ov[m]}")
# Demand scale 2 brings about twice the requests of scale 1 (same seed, same policy).
for pol, seed in itertools.product(["least-loaded"], ["1", "2", "3"]):
    n = {text(r["demand.scale"]): r["requests"] for r in rows if (text(r["policy"]), text(r["seed"])) == (pol, seed)}
    if not 1.5 < n["2"] / n["1"] < 2.7:
        fail(f"demand.scale 2 vs 1: {n}")
print(f"local sweep: 18 points ok, {p.stderr.strip().splitlines()[-1]}")

# 2. Kill midway, rerun: only the missing points run.
out = f"{tmp}/b"
proc = subprocess.Popen([SWEEP, SMALL, "--workers", "1", "--out", out, "--quiet"], start_new_session=True,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
t0 = time.time()
while time.time() - t0 < 120:
    done = [f for f in os.listdir(f"{out}/points")] if os.path.isdir(f"{out}/points") else []
    if len([f for f in done if f.endswith(".h5")]) >= 5:
        break
    time.sleep(0.05)
os.killpg(proc.pid, signal.SIGKILL)
proc.wait()
before = {f: os.stat(f"{out}/points/{f}").st_mtime_ns for f in os.listdir(f"{out}/points") if f.endswith(".h5")}
if not 5 <= len(before) < 18:
    fail(f"{len(before)} points finished before the kill")
p = sweep(SMALL, "--workers", "2", "--out", out)
rows_b, _ = index(f"{out}/index.h5")
reused = {text(r["path"]).split("/")[1] for r in rows_b if r["worker"] == -1}
if reused != set(before):
    fail(f"rerun reused {sorted(reused)}, finished before the kill: {sorted(before)}")
for f, t in before.items():
    if os.stat(f"{out}/points/{f}").st_mtime_ns != t:
        fail(f"{f} was run again")
if f"18/18 points done ({len(before)} reused)" not in p.stderr:
    fail(f"progress line does not count the reused points:\n{p.stderr}")
bad = same_values(rows, rows_b)
if bad:
    fail(f"the resumed sweep's index differs from the uninterrupted one in {bad}")
print(f"killed after {len(before)} points; the rerun ran the other {18 - len(before)} and the index equals the uninterrupted one")

# 3. A failing point is recorded and the others go on: a cpnsim that fails for seed 2.
wrap = f"{tmp}/cpnsim-fails-seed-2"
with open(wrap, "w") as f:
    f.write(f'#!/bin/sh\ncase " $* " in *" --seed 2 "*) echo "cpnsim: injected failure for seed 2" >&2; exit 3;; esac\n'
            f'exec {CPNSIM} "$@"\n')
os.chmod(wrap, 0o755)
p = sweep(SMALL, "--workers", "2", "--out", f"{tmp}/c", "--cpnsim", wrap, check=False)
rows_c, attrs_c = index(f"{tmp}/c/index.h5")
if p.returncode != 1 or attrs_c["failed"] != 6 or attrs_c["ok"] != 12:
    fail(f"exit {p.returncode}, index {attrs_c}")
for r in rows_c:
    failed = text(r["seed"]) == "2"
    if (text(r["status"]) == "failed") != failed:
        fail(f"point {r['point']} seed {text(r['seed'])} status {text(r['status'])}")
    if failed and (r["exit_code"] != 3 or "injected failure" not in text(r["error"]) or not np.isnan(r["requests"])):
        fail(f"failed point recorded as exit {r['exit_code']}, error '{text(r['error'])}', requests {r['requests']}")
if "point 3 (" not in p.stderr or "injected failure" not in p.stderr:
    fail(f"failures not reported:\n{p.stderr}")
print("a cpnsim failing on seed 2: 6 points failed (exit 3, message kept), 12 ok")

# 4. Bad input: file:line and key, exit 2, nothing run.
bad = f"{tmp}/bad.yaml"
with open(bad, "w") as f:
    f.write(f"scenario: {SRC}/scenarios/tiny.yaml\ngrid:\n  seed: [1, x]\n  demand.scael: [1]\nsett: {{}}\n")
p = sweep(bad, "--out", f"{tmp}/d", check=False)
for want in ("bad.yaml:3", "a seed is a non-negative integer", "bad.yaml:5", "unknown key", "did you mean 'set'"):
    if want not in p.stderr:
        fail(f"bad sweep file: '{want}' not in:\n{p.stderr}")
if p.returncode != 2 or os.path.exists(f"{tmp}/d"):
    fail(f"bad sweep file: exit {p.returncode}, output made: {os.path.exists(f'{tmp}/d')}")
with open(bad, "w") as f:
    f.write(f"scenario: {SRC}/scenarios/tiny.yaml\ngrid:\n  policy: [nearest]\n  demand.scael: [1]\n")
p = sweep(bad, "--out", f"{tmp}/d", check=False)
if p.returncode != 2 or "bad.yaml:4" not in p.stderr or "scael" not in p.stderr:
    fail(f"unknown --set key in a grid: exit {p.returncode}:\n{p.stderr}")
print("bad sweep files refused with file:line and key")
shutil.rmtree(tmp)
print("ok")
