"""Reproducing a published window (issue 14): the Azure LLM inference conversation trace (2023-11-16,
CC-BY-4.0, tests/data) characterised per 300 s window in ServeGen's layout (tests/data/servegen-azure-conv,
made by tests/data/make_servegen_azure.py: rate, CV of the gaps, lengths at 1% resolution), converted by
scripts/servegen_to_scenario.py --windows (a rate, a CV and length tables per window) and simulated for
the 11 windows (3300 s). Compared with the trace itself, window by window:
- arrivals: within 4.5 standard deviations of rate x 300 s (a renewal count's is about cv sqrt(mean));
- CV of the gaps: within 4 standard errors of the trace's (the sample CV of a gamma of shape k over n
  gaps has a relative standard error of about sqrt((6/k + 2) / n) / 2);
- output lengths: the simulated distribution within the Dvoretzky-Kiefer-Wolfowitz band (alpha 0.001) of
  the trace's, plus the tables' 1% resolution, at every value of the trace.
The stationary approximation (the Azure lognormal fit at the trace's mean rate) is run for the same span
and its output quantiles are printed against the trace's (README "Workloads from production
statistics")."""
import csv
import datetime
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

from cpntest import CPNSIM, SRC, fail, requests, run

tmp = tempfile.mkdtemp(prefix="cpn-window-")
W, NW = 300.0, 11
rows = []
with open(os.path.join(SRC, "tests", "data", "AzureLLMInferenceTrace_conv.csv")) as f:
    for r in csv.DictReader(f):
        t = datetime.datetime.strptime(r["TIMESTAMP"][:26], "%Y-%m-%d %H:%M:%S.%f")
        rows.append((t, int(r["GeneratedTokens"])))
t0 = rows[0][0]
tr_t = np.array([(t - t0).total_seconds() for t, _ in rows])
tr_o = np.array([o for _, o in rows])

frag = os.path.join(tmp, "fragment.yaml")
p = subprocess.run([sys.executable, os.path.join(SRC, "scripts", "servegen_to_scenario.py"),
                    os.path.join(SRC, "tests", "data", "servegen-azure-conv"), "--windows", "--node", "east",
                    "--origin", "azure", "--class", "conv", "--out", frag], capture_output=True, text=True)
if p.returncode != 0:
    fail(f"converter exited {p.returncode}: {p.stderr}")
scen = os.path.join(tmp, "window.yaml")
with open(scen, "w") as f:
    f.write(f"extends: {SRC}/scenarios/tiny.yaml\nname: azure-window\n" + open(frag).read())
SETS = ["--set", f"run.duration_s={W * NW:g}", "--set", "run.drain_s=0", "--set", "origins.shanghai.rate_rps=0",
        "--set", "origins.wuhan.rate_rps=0", "--set", "classes.interactive.share=0", "--set", "classes.batch.share=0"]
_, out = run(scen, *SETS)
r = requests(out)
ta = np.sort(np.asarray(r["t_arrival"]))
order = np.argsort(np.asarray(r["t_arrival"]), kind="stable")
so = np.asarray(r["output_tokens"])[order]


def gap_cv(t):
    g = np.diff(t)
    return g.std() / g.mean(), len(g)


print(f"{'window':>8} {'trace n':>8} {'sim n':>6} {'trace CV':>9} {'sim CV':>7} {'trace out p50/p90/p99':>22} "
      f"{'sim out p50/p90/p99':>20} {'max |dF|':>8} {'band':>6}")
bad = []
for w in range(NW):
    a, b = w * W, (w + 1) * W
    tm, sm = (tr_t >= a) & (tr_t < b), (ta >= a) & (ta < b)
    nt, ns = int(tm.sum()), int(sm.sum())
    cvt, _ = gap_cv(tr_t[tm])
    cvs, ng = gap_cv(ta[sm])
    ot, os_ = tr_o[tm], so[sm]
    qt, qs = np.percentile(ot, [50, 90, 99]), np.percentile(os_, [50, 90, 99])
    xs = np.unique(ot)
    d = np.max(np.abs(np.searchsorted(np.sort(os_), xs, side="right") / ns
                      - np.searchsorted(np.sort(ot), xs, side="right") / nt))
    band = math.sqrt(math.log(2 / 0.001) / (2 * ns)) + math.sqrt(math.log(2 / 0.001) / (2 * nt)) + 0.01
    k = 1 / cvt ** 2
    se = cvt * 0.5 * math.sqrt((6 / k + 2) / ng)
    print(f"{int(a):>8} {nt:>8} {ns:>6} {cvt:>9.3f} {cvs:>7.3f} {'/'.join(f'{x:.0f}' for x in qt):>22} "
          f"{'/'.join(f'{x:.0f}' for x in qs):>20} {d:>8.3f} {band:>6.3f}")
    if abs(ns - nt) > 4.5 * cvt * math.sqrt(nt):
        bad.append(f"window {w}: {ns} arrivals, trace {nt}")
    if abs(cvs - cvt) > 4 * se:
        bad.append(f"window {w}: CV {cvs:.3f}, trace {cvt:.3f} (4 se {4 * se:.3f})")
    if d > band:
        bad.append(f"window {w}: output CDFs differ by {d:.3f} > {band:.3f}")
if bad:
    fail("; ".join(bad))

# The stationary approximation: the lognormal fit at the trace's mean rate, Poisson, one window.
span = (tr_t < W * NW)
stat = os.path.join(tmp, "stationary.yaml")
with open(stat, "w") as f:
    f.write(f"extends: {SRC}/scenarios/tiny.yaml\nname: azure-stationary\n")
_, out2 = run(stat, "--set", f"run.duration_s={W * NW:g}", "--set", "run.drain_s=0",
              "--set", f"origins.shanghai.rate_rps={span.sum() / (W * NW)!r}", "--set", "origins.wuhan.rate_rps=0",
              "--set", "classes.interactive.share=1", "--set", "classes.batch.share=0")
r2 = requests(out2)
o2 = np.asarray(r2["output_tokens"])
qt = np.percentile(tr_o[span], [50, 90, 99])
qw = np.percentile(so, [50, 90, 99])
q2 = np.percentile(o2, [50, 90, 99])
print("output tokens p50/p90/p99 over 3300 s: trace " + "/".join(f"{x:.0f}" for x in qt)
      + ", per-window tables " + "/".join(f"{x:.0f}" for x in qw)
      + ", stationary lognormal " + "/".join(f"{x:.0f}" for x in q2)
      + f"; mean {tr_o[span].mean():.1f} / {so.mean():.1f} / {o2.mean():.1f}")
if np.max(np.abs(qw - qt) / qt) > 0.05:
    fail(f"per-window tables: output quantiles {qw} against the trace's {qt}")
print("ok")
