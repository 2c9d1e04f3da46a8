"""Workloads from production statistics (issue 14), end to end through cpnsim:
- an origin's rate schedule in hourly-like steps (here 100 s on, 100 s off, periodic): no arrival in an
  off window, and the count of the on windows within 4.5 standard deviations of rate x time;
- an empirical (discrete) prompt table: only the table's values, at its frequencies;
- trace rows naming their class; a replay cut by run.duration_s: /summary/trace rows_replayed equals the
  requests that arrived (it counted the row read past the end as well);
- bad input is refused by --check with exit 2 and a message naming file, line and key: MMPP with a
  diurnal profile (was silently ignored), rate_rps with a schedule, cv with Poisson, diurnal_interp
  without a profile, a schedule going back in time, a bad number in a schedule CSV (its file and line),
  probabilities that do not sum to 1."""
import math
import os
import subprocess
import tempfile

import h5py
import numpy as np

from cpntest import CPNSIM, SRC, fail, requests, run

tmp = tempfile.mkdtemp(prefix="cpn-workloads-")
tiny = open(f"{SRC}/scenarios/tiny.yaml").read()
SH = "  - {name: shanghai, node: east, country: CN, tz_h: 8, access_latency_s: 0.003, rate_rps: 3.0}"
WU = "rate_rps: 2.0,\n     residency: [CN]}"
assert SH in tiny and WU in tiny, "tiny.yaml changed: update this test"


def scenario(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


# ---- a step schedule: 6 req/s for 100 s, then nothing for 100 s, repeating ----------------------
sched = scenario("sched.yaml", tiny.replace(SH, SH.replace(
    "rate_rps: 3.0}", "schedule: {interp: step, period_s: 200, t_s: [0, 100], rate_rps: [6, 0]}}"))
    .replace(WU, "rate_rps: 0,\n     residency: [CN]}"))
_, out = run(sched)
r = requests(out)
t = np.asarray(r["t_arrival"])
off = t[(t % 200) >= 100]
want = 6 * 100 * 3  # three on-windows in 600 s
print(f"step schedule: {len(t)} arrivals (want {want} +- {4.5 * math.sqrt(want):.0f}), {len(off)} in off windows")
if len(off):
    fail(f"{len(off)} arrivals in off windows, first at {off[0]} s")
if abs(len(t) - want) > 4.5 * math.sqrt(want):
    fail(f"{len(t)} arrivals, want {want}")

# ---- an empirical discrete prompt table -------------------------------------------------------------
emp = scenario("emp.yaml", tiny.replace("prompt_tokens: {dist: azure-conv-prompt}",
                                        "prompt_tokens: {dist: empirical, values: [64, 3000], probs: [0.75, 0.25]}"))
_, out = run(emp, "--set", "run.duration_s=2000")
r = requests(out)
cls = np.asarray(r["cls"]) if "cls" in r.dtype.names else np.asarray(r["class"])
p = np.asarray(r["prompt_tokens"])[cls == 0]
n = len(p)
frac = np.mean(p == 64)
print(f"empirical prompts (class 0): {n} requests, values {sorted(set(p.tolist()))}, share of 64: {frac:.4f}")
if set(p.tolist()) - {64, 3000}:
    fail("prompt lengths outside the table")
if abs(frac - 0.75) > 4 * math.sqrt(0.75 * 0.25 / n):
    fail(f"share of 64 is {frac}, want 0.75")

# ---- token lengths per window: 100 tokens before 300 s, a bimodal table after -------------------------
win = scenario("win.yaml", tiny.replace("prompt_tokens: {dist: azure-conv-prompt}",
                                        "prompt_tokens: {dist: constant, mean: 100}\n"
                                        "    token_windows: [{from_s: 300, prompt_tokens: {dist: empirical, "
                                        "values: [20, 4000], probs: [0.5, 0.5]}}]", 1))
_, out = run(win)
r = requests(out)
cls = np.asarray(r["cls"]) if "cls" in r.dtype.names else np.asarray(r["class"])
ta, p = np.asarray(r["t_arrival"])[cls == 0], np.asarray(r["prompt_tokens"])[cls == 0]
before, after = set(p[ta < 300].tolist()), p[ta >= 300]
print(f"token windows: before 300 s {sorted(before)}, after: {sorted(set(after.tolist()))}, share of 20 {np.mean(after == 20):.3f}")
if before != {100} or set(after.tolist()) != {20, 4000}:
    fail("prompt lengths do not follow the class's windows")
if abs(np.mean(after == 20) - 0.5) > 4 * math.sqrt(0.25 / len(after)):
    fail("the window's table frequencies are off")

# ---- trace rows naming their class; a replay cut by duration_s ---------------------------------------
trace = os.path.join(tmp, "classes.csv")
with open(trace, "w") as f:
    f.write("t,p,o,klass\n")
    for i in range(200):
        f.write(f"{i * 0.5},{100 + i},{10 + i % 7},{'batch' if i % 3 == 0 else 'interactive'}\n")
replay = scenario("replay.yaml", tiny.replace(
    "demand:\n", "demand:\n  trace: {file: %s, mapping: custom, time_col: t, prompt_col: p, output_col: o, "
    "class_col: klass}\n" % trace, 1))
_, out = run(replay, "--set", "run.duration_s=50.2", "--set", "demand.diurnal=flat")
r = requests(out)
with h5py.File(out, "r") as h:
    st = h["summary/trace"]
    cols = [c.decode() if isinstance(c, bytes) else c for c in st.attrs.get("columns", [])] or None
    data = st[:]
names = data.dtype.names
rows_replayed = int(data["rows_replayed"][0]) if names and "rows_replayed" in names else None
arrived = len(r)
want_rows = sum(1 for i in range(200) if i * 0.5 < 50.2)
cls = np.asarray(r["cls"]) if "cls" in r.dtype.names else np.asarray(r["class"])
order = np.argsort(np.asarray(r["t_arrival"]), kind="stable")
got_cls = cls[order]
want_cls = np.array([1 if i % 3 == 0 else 0 for i in range(want_rows)])
print(f"replay cut at 50.2 s: {arrived} arrived (want {want_rows}), rows_replayed {rows_replayed}")
if arrived != want_rows:
    fail(f"{arrived} requests arrived, want {want_rows}")
if rows_replayed is not None and rows_replayed != arrived:
    fail(f"/summary/trace rows_replayed {rows_replayed} != {arrived} arrived")
if not np.array_equal(got_cls, want_cls):
    fail("classes named by the trace were not kept")

# ---- sessions: two turns, the second's prompt = the first's prompt + output + new tokens --------------
CLS = "prompt_tokens: {dist: azure-conv-prompt}\n    output_tokens: {dist: azure-conv-output}"
assert tiny.count(CLS) >= 1, "tiny.yaml changed: update this test"
sess = scenario("sess.yaml", tiny.replace(CLS, "prompt_tokens: {dist: constant, mean: 100}\n"
                                           "    output_tokens: {dist: geometric, mean: 20}\n"
                                           "    session: {turns: {dist: constant, mean: 2}, think_s: 5}", 1)
                .replace(SH, SH.replace("rate_rps: 3.0", "rate_rps: 0.05")).replace(WU, "rate_rps: 0,\n     residency: [CN]}"))
_, out = run(sess, "--set", "run.duration_s=8000", "--set", "classes.interactive.share=1",
             "--set", "classes.batch.share=0")
r = requests(out)
cls = np.asarray(r["cls"]) if "cls" in r.dtype.names else np.asarray(r["class"])
if np.any(cls != 0):
    fail("requests of another class than the session class")
p, o = np.asarray(r["prompt_tokens"]), np.asarray(r["output_tokens"])
ta, td = np.asarray(r["t_arrival"]), np.asarray(r["t_done"])
first = np.flatnonzero(p == 100)
second = np.flatnonzero(p != 100)
used, thinks = set(), []
for j in second[np.argsort(ta[second])]:
    cand = [i for i in first if i not in used and td[i] <= ta[j] and 200 + o[i] == p[j]]
    if not cand:
        fail(f"turn at {ta[j]:.3f} s with prompt {p[j]} has no first turn whose prompt + output + 100 it is")
    i = max(cand, key=lambda i: td[i])
    used.add(i)
    thinks.append(ta[j] - td[i])
late = sum(1 for i in first if td[i] > 8000 - 60)
print(f"sessions: {len(first)} first turns, {len(second)} second turns, mean think {np.mean(thinks):.2f} s (want 5)")
if not (len(first) - late - 3 <= len(second) <= len(first)):
    fail(f"{len(second)} second turns for {len(first)} first turns")
if abs(np.mean(thinks) - 5) > 4 * 5 / math.sqrt(len(thinks)) + 0.05:
    fail(f"mean think time {np.mean(thinks)}, want 5")

# ---- bad input -------------------------------------------------------------------------------------
def refused(name, text, want, files=()):
    path = scenario(name + ".yaml", text)
    for fname, content in files:
        with open(os.path.join(tmp, fname), "w") as f:
            f.write(content)
    p = subprocess.run([CPNSIM, path, "--check"], capture_output=True, text=True)
    msg = p.stderr.strip().splitlines()[0] if p.stderr.strip() else ""
    print(f"{name}: exit {p.returncode}: {msg}")
    if p.returncode != 2:
        fail(f"{name}: exit {p.returncode}, want 2: {p.stderr}")
    import re
    if not re.search(want, p.stderr):
        fail(f"{name}: message does not match {want!r}: {p.stderr}")


refused("mmpp_diurnal", tiny.replace("arrival: poisson", "arrival: mmpp").replace("diurnal: flat", "diurnal: default"),
        r"mmpp_diurnal\.yaml:\d+:\d+: demand\.diurnal: demand\.arrival mmpp cannot follow a diurnal profile")
refused("both", tiny.replace("rate_rps: 3.0}", "rate_rps: 3.0, schedule: {t_s: [0], rate_rps: [1]}}"),
        r"both\.yaml:\d+:\d+: origins\[0\]\.schedule: give rate_rps or schedule, not both")
refused("cv_poisson", tiny.replace("rate_rps: 3.0}", "rate_rps: 3.0, cv: 2}"),
        r"cv_poisson\.yaml:\d+:\d+: origins\[0\]\.cv: cv is only used by demand\.arrival gamma or weibull")
refused("interp_flat", tiny.replace("diurnal: flat", "diurnal: flat\n  diurnal_interp: step"),
        r"interp_flat\.yaml:\d+:\d+: demand\.diurnal_interp: has no effect without a diurnal profile")
refused("backwards", tiny.replace("rate_rps: 3.0}", "schedule: {t_s: [0, 50, 40], rate_rps: [1, 2, 3]}}"),
        r"backwards\.yaml:\d+:\d+: origins\[0\]\.schedule: t_s: window starts must be >= 0 and strictly increasing")
refused("badcsv", tiny.replace("rate_rps: 3.0}", "schedule: {file: rates.csv}}"),
        r"rates\.csv:3:\d+: origins\[0\]\.schedule\.file: column 'rate_rps': 'lots' is not a finite number",
        files=[("rates.csv", "t_s,rate_rps\n0,1\n60,lots\n")])
refused("probs", tiny.replace("prompt_tokens: {dist: azure-conv-prompt}",
                              "prompt_tokens: {dist: empirical, values: [1, 2], probs: [0.5, 0.4]}"),
        r"probs\.yaml:\d+:\d+: classes\[0\]\.prompt_tokens: dist 'empirical': probs must sum to 1")
print("ok")
