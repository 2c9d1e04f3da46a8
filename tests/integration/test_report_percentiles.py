"""cpnsim-report's latency percentiles equal numpy's (np.percentile, linear) computed from /requests with
h5py: overall and per site, TTFT, end-to-end and TPOT p50/p95/p99, over the measured window only (a warm-up
is set so that the window matters), to 1e-9 relative."""
import csv
import io
import os
import subprocess

import h5py
import numpy as np

from cpntest import SRC, fail, run

REPORT = os.path.join(os.environ["CPN_BUILD"], "analysis", "cpnsim-report")

# least-loaded spreads requests over both sites, so every per-site percentile has samples.
_, out = run(f"{SRC}/scenarios/tiny.yaml", "--policy", "least-loaded", "--seed", "11", "--set", "run.warmup_s=120")
p = subprocess.run([REPORT, "summary", out, "--format", "csv"], capture_output=True, text=True)
if p.returncode != 0:
    fail(f"cpnsim-report summary exited {p.returncode}: {p.stderr}")
rows = list(csv.DictReader(io.StringIO(p.stdout)))
if not rows or list(rows[0]) != ["kind", "group", "metric", "n", "mean", "sd", "ci95_low", "ci95_high"]:
    fail(f"unexpected CSV header: {p.stdout.splitlines()[:1]}")
got = {(r["kind"], r["group"], r["metric"]): float(r["mean"]) for r in rows}

with h5py.File(out, "r") as f:
    r = f["requests"][:]
    warmup = float(f.attrs["warmup_s"])
    sites = [s.decode() for s in f["names/sites"][:]]
    completed = h5py.check_enum_dtype(f["requests"].dtype["status"])["completed"]
measured = r["t_arrival"] >= warmup
if measured.all() or not measured.any():
    fail("the warm-up should exclude some requests but not all")
done = r[measured & (r["status"] == completed)]
ttft = done["t_first_token"] - done["t_arrival"]
e2e = done["t_done"] - done["t_arrival"]
many = done["output_tokens"] > 1
tpot = (done["t_done"] - done["t_first_token"])[many] / (done["output_tokens"][many] - 1.0)

checked = 0
worst = 0.0
groups = [("overall", "overall", np.ones(len(done), bool))] + [("site", s, done["site"] == i)
                                                               for i, s in enumerate(sites)]
for kind, name, sel in groups:
    if sel.sum() < 50:
        fail(f"{kind} {name}: only {sel.sum()} completed requests, the test wants both sites busy")
    if got[(kind, name, "requests")] != float((measured & ((r["site"] == sites.index(name)) if kind == "site"
                                                          else True)).sum()):
        fail(f"{kind} {name}: request count {got[(kind, name, 'requests')]} differs from /requests")
    for metric, values in [("ttft", ttft[sel]), ("e2e", e2e[sel]), ("tpot", tpot[sel[many]])]:
        for q in (50, 95, 99):
            want = np.percentile(values, q)  # numpy's default: linear interpolation
            have = got[(kind, name, f"{metric}_p{q}_s")]
            rel = abs(have - want) / abs(want)
            worst = max(worst, rel)
            checked += 1
            if rel > 1e-9:
                fail(f"{kind} {name} {metric}_p{q}_s: report {have!r}, numpy {want!r} (rel {rel:.2e})")
print(f"ok: {checked} percentiles (overall + {len(sites)} sites) match numpy, worst relative error {worst:.1e}")
