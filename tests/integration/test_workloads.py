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
# The session column names each turn's conversation by its first turn's id: exact pairs.
if "session" not in r.dtype.names:
    fail("/requests of a run with sessions has no session column")
sid, ids = np.asarray(r["session"]), np.asarray(r["id"])
row_of = {int(v): k for k, v in enumerate(ids)}
if not np.array_equal(sid[first], ids[first]):
    fail("a first turn's session is not its own id")
for j in second:
    i = row_of.get(int(sid[j]))
    if i is None or p[j] != p[i] + o[i] + 100 or not ta[j] >= td[i]:
        fail(f"turn {ids[j]}: session {sid[j]} is not a first turn whose prompt + output + 100 it extends")
print(f"sessions: every second turn names its first turn ({len(second)} pairs by the session column)")
late = sum(1 for i in first if td[i] > 8000 - 60)
print(f"sessions: {len(first)} first turns, {len(second)} second turns, mean think {np.mean(thinks):.2f} s (want 5)")
if not (len(first) - late - 3 <= len(second) <= len(first)):
    fail(f"{len(second)} second turns for {len(first)} first turns")
if abs(np.mean(thinks) - 5) > 4 * 5 / math.sqrt(len(thinks)) + 0.05:
    fail(f"mean think time {np.mean(thinks)}, want 5")

# ---- a class on its own schedule, with a CV per window (gamma arrivals) ------------------------------
# batch: 2 req/s with CV 1 for 1000 s, then 8 req/s with CV 3 for 1000 s, repeating, all entering at
# wuhan; interactive keeps arriving with the origins' processes (0.5 + 0.5 req/s). Counts per window
# within 4.5 sd (a renewal count's variance is about cv^2 x mean); the CV of the gaps within each window
# within 4 standard errors (the sample CV of a gamma with shape k has relative error about
# sqrt((6/k + 2) / n) / 2).
BATCH = "  - name: batch\n    share: 0.2\n"
assert BATCH in tiny, "tiny.yaml changed: update this test"
PERIOD, HALF, DUR = 2000, 1000, 8000
cs_text = (tiny.replace("arrival: poisson", "arrival: gamma")
           .replace(BATCH, "  - name: batch\n    origin: wuhan\n    schedule: {interp: step, period_s: 2000, "
                    "t_s: [0, 1000], rate_rps: [2, 8], cv: [1, 3]}\n")
           .replace("prompt_tokens: {dist: lognormal, mu: 7.0, sigma: 1.0, min: 1, max: 16384}",
                    "prompt_tokens: {dist: constant, mean: 20}")
           .replace("output_tokens: {dist: lognormal, mu: 4.5, sigma: 1.2, min: 1, max: 4096}",
                    "output_tokens: {dist: constant, mean: 2}")
           .replace("rate_rps: 3.0}", "rate_rps: 0.5}").replace("rate_rps: 2.0,", "rate_rps: 0.5,"))
csched = scenario("class_sched.yaml", cs_text)
_, out = run(csched, "--set", f"run.duration_s={DUR}", "--set", "run.drain_s=60")
r = requests(out)
cls = np.asarray(r["cls"]) if "cls" in r.dtype.names else np.asarray(r["class"])
ta, org = np.asarray(r["t_arrival"]), np.asarray(r["origin"])
tb = np.sort(ta[cls == 1])
if np.any(org[cls == 1] != 1):
    fail("batch requests entered elsewhere than their origin wuhan")
for w, (rate, cv_want) in enumerate([(2, 1.0), (8, 3.0)]):
    inw = ((tb % PERIOD) >= HALF) == bool(w)
    n_w, want = int(inw.sum()), rate * HALF * DUR / PERIOD
    g = np.diff(tb)
    same = inw[:-1] & inw[1:] & ((tb[1:] // PERIOD) == (tb[:-1] // PERIOD))
    g = g[same]
    cv = g.std() / g.mean()
    k = 1 / cv_want ** 2
    se = cv_want * 0.5 * math.sqrt((6 / k + 2) / len(g))
    print(f"class schedule window {w}: {n_w} batch arrivals (want {want:.0f} +- {4.5 * cv_want * math.sqrt(want):.0f}), "
          f"mean gap {g.mean():.4f} s (want {1 / rate:.4f}), CV {cv:.3f} (want {cv_want} +- {4 * se:.3f})")
    if abs(n_w - want) > 4.5 * cv_want * math.sqrt(want):
        fail(f"window {w}: {n_w} batch arrivals, want {want}")
    if abs(cv - cv_want) > 4 * se:
        fail(f"window {w}: CV {cv:.3f}, want {cv_want}")
ni, want_i = int(np.sum(cls == 0)), 1.0 * DUR
print(f"class schedule: {ni} interactive arrivals from the origins (want {want_i:.0f})")
if abs(ni - want_i) > 4.5 * math.sqrt(want_i):
    fail(f"{ni} interactive arrivals, want {want_i}")
_, out2 = run(csched, "--set", f"run.duration_s={DUR}", "--set", "run.drain_s=60")
if requests(out2).tobytes() != r.tobytes():
    fail("two runs of the same seed differ")

# ---- agent fan-out: each agent request makes 3 worker calls when it replies, and ends with the last ----
# Worker prompts: the parent's prompt + output + 50 tokens, or (1 in 5) 5 million tokens, more than any
# replica's KV holds: such a child is rejected too_large and its parent ends rejected too_large. A second
# run with a 2 s drain ends parents and children at the end of the run: every request still ends once.
INTER_CLS = "  - name: interactive\n    share: 0.8\n"
fan_text = (tiny.replace(INTER_CLS, "  - name: interactive\n    share: 1\n    fanout: {calls: {dist: constant, mean: 3}, "
                         "class: batch}\n")
            .replace(BATCH, "  - name: batch\n    share: 0\n")
            .replace("prompt_tokens: {dist: lognormal, mu: 7.0, sigma: 1.0, min: 1, max: 16384}",
                     "prompt_tokens: {dist: empirical, values: [50, 5000000], probs: [0.8, 0.2]}")
            .replace("rate_rps: 3.0}", "rate_rps: 0.3}").replace("rate_rps: 2.0,", "rate_rps: 0.2,"))
fan = scenario("fanout.yaml", fan_text)
for drain in (600, 2):
    _, out = run(fan, "--set", f"run.drain_s={drain}")
    r = requests(out)
    ids, par, cls = np.asarray(r["id"]), np.asarray(r["parent"]), np.asarray(r["class"] if "class" in r.dtype.names else r["cls"])
    st, rs = np.asarray(r["status"]), np.asarray(r["reason"])
    ta, td, tf = np.asarray(r["t_arrival"]), np.asarray(r["t_done"]), np.asarray(r["t_first_token"])
    p, o = np.asarray(r["prompt_tokens"]), np.asarray(r["output_tokens"])
    if len(set(ids.tolist())) != len(ids) or set(ids.tolist()) != set(range(len(ids))):
        fail(f"drain {drain}: request ids are not each ended once ({len(ids)} rows)")
    row_of = {int(v): k for k, v in enumerate(ids)}
    parents = np.flatnonzero(cls == 0)
    kids = {}
    for j in np.flatnonzero(par >= 0):
        kids.setdefault(int(par[j]), []).append(j)
    if any(cls[j] != 1 for ks in kids.values() for j in ks) or np.any(par[cls == 0] >= 0):
        fail("a fan-out child of the wrong class, or a parent with a parent")
    checked = completed = rejected = 0
    for i in parents:
        ks = kids.get(int(ids[i]), [])
        if not ks:
            continue  # never replied (rejected or cut by the end of the run): made no child
        checked += 1
        if len(ks) != 3:
            fail(f"parent {ids[i]} has {len(ks)} children, want 3")
        if len(set(ta[ks].tolist())) != 1 or not ta[ks[0]] >= tf[i]:
            fail(f"parent {ids[i]}: children do not arrive together after its first token")
        for j in ks:
            if p[j] not in (p[i] + o[i] + 50, p[i] + o[i] + 5000000):
                fail(f"child {ids[j]}: prompt {p[j]} is not the parent's {p[i]} + {o[i]} + a draw")
        if all(st[j] == 0 for j in ks):
            completed += 1
            if st[i] != 0 or td[i] != max(td[ks]):
                fail(f"parent {ids[i]}: all children completed but it ended {st[i]} at {td[i]} (last child {max(td[ks])})")
        else:
            first_bad = min(j for j in ks if st[j] != 0)  # rows are in the order requests ended
            if (st[i], rs[i]) != (st[first_bad], rs[first_bad]) or i < max(ks):
                fail(f"parent {ids[i]} ended {st[i]}/{rs[i]} (row {i}), its first failing child "
                     f"{st[first_bad]}/{rs[first_bad]} (children's rows {ks})")
            rejected += st[i] == 1
    print(f"fan-out, drain {drain} s: {len(ids)} requests, {len(parents)} parents, {checked} with children "
          f"({completed} completed, {rejected} rejected with a child)")
    if drain == 600 and (checked < 100 or completed == 0 or rejected == 0):
        fail("too few parents with children to check, or no completed or rejected fan-out")

# ---- a tree of fan-outs: a planner (interactive) calls 2 agents, each agent calls 3 tools (batch; 1 in 10
# too large). Each planner ends with the last request of its tree, completed only if all 8 completed.
assert "tenants:\n" in tiny
tree_text = (tiny.replace(INTER_CLS, "  - name: interactive\n    share: 1\n    fanout: {calls: {dist: constant, mean: 2}, "
                          "class: agent}\n")
             .replace(BATCH, "  - name: batch\n    share: 0\n")
             .replace("prompt_tokens: {dist: lognormal, mu: 7.0, sigma: 1.0, min: 1, max: 16384}",
                      "prompt_tokens: {dist: empirical, values: [50, 5000000], probs: [0.9, 0.1]}")
             .replace("tenants:\n", "  - name: agent\n    share: 0\n    prompt_tokens: {dist: constant, mean: 30}\n"
                      "    output_tokens: {dist: constant, mean: 10}\n"
                      "    fanout: {calls: {dist: constant, mean: 3}, class: batch}\ntenants:\n", 1)
             .replace("rate_rps: 3.0}", "rate_rps: 0.2}").replace("rate_rps: 2.0,", "rate_rps: 0.1,"))
_, out = run(scenario("tree.yaml", tree_text))
r = requests(out)
ids, par, cls = np.asarray(r["id"]), np.asarray(r["parent"]), np.asarray(r["class"] if "class" in r.dtype.names else r["cls"])
st, rs, td = np.asarray(r["status"]), np.asarray(r["reason"]), np.asarray(r["t_done"])
if set(ids.tolist()) != set(range(len(ids))) or len(ids) != len(set(ids.tolist())):
    fail("tree: request ids are not each ended once")
row_of = {int(v): k for k, v in enumerate(ids)}
kids = {}
for j in np.flatnonzero(par >= 0):
    kids.setdefault(int(par[j]), []).append(j)
full = ok_trees = bad_trees = 0
for i in np.flatnonzero(cls == 0):
    agents = kids.get(int(ids[i]), [])
    if not agents:
        continue
    if len(agents) != 2 or any(cls[a] != 2 for a in agents):
        fail(f"planner {ids[i]}: children {[(int(ids[a]), int(cls[a])) for a in agents]}, want 2 agents")
    tree = list(agents)
    for a in agents:
        tools = kids.get(int(ids[a]), [])
        if st[a] == 0 and (len(tools) != 3 or any(cls[t] != 1 for t in tools)):
            fail(f"agent {ids[a]}: {len(tools)} tool calls, want 3")
        tree += tools
    full += 1
    if all(st[t] == 0 for t in tree):
        ok_trees += 1
        if st[i] != 0 or td[i] != max(td[tree]):
            fail(f"planner {ids[i]}: its tree completed but it ended {st[i]} at {td[i]}, last {max(td[tree])}")
    else:
        bad_trees += 1
        if st[i] == 0 or i < max(tree):
            fail(f"planner {ids[i]} completed, or ended before its tree, although a call failed")
want_ok = 0.9 ** 6
print(f"fan-out tree: {len(ids)} requests, {full} planners with agents, {ok_trees} whole trees completed "
      f"(share {ok_trees / max(full, 1):.3f}, want 0.9^6 = {want_ok:.3f}), {bad_trees} ended with a failed call")
if full < 50 or abs(ok_trees / full - want_ok) > 4.5 * math.sqrt(want_ok * (1 - want_ok) / full):
    fail("tree: too few planners, or the share of whole trees completed is off")

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
CSCHED = "  - name: batch\n    schedule: {t_s: [0], rate_rps: [1]}\n"
refused("class_share", tiny.replace(BATCH, CSCHED.replace("\n    schedule", "\n    share: 0.2\n    schedule")),
        r"class_share\.yaml:\d+:\d+: classes\[1\]\.share: has no effect on a class with a schedule")
refused("class_cv_alone", tiny.replace(BATCH, BATCH + "    cv: 2\n").replace("arrival: poisson", "arrival: gamma"),
        r"class_cv_alone\.yaml:\d+:\d+: classes\[1\]\.cv: has no effect without classes\[\]\.schedule")
refused("class_cv_poisson", tiny.replace(BATCH, CSCHED + "    cv: 2\n"),
        r"class_cv_poisson\.yaml:\d+:\d+: classes\[1\]\.cv: cv is only used by demand\.arrival gamma or weibull")
refused("class_origin", tiny.replace(BATCH, CSCHED + "    origin: nowhere\n"),
        r"class_origin\.yaml:\d+:\d+: classes\[1\]\.origin: 'nowhere' is not an origin")
refused("class_diurnal", tiny.replace(BATCH, CSCHED).replace("diurnal: flat", "diurnal: default"),
        r"class_diurnal\.yaml:\d+:\d+: classes\[1\]\.schedule: a class with a schedule does not follow demand\.diurnal")
INTER = "  - name: interactive\n    share: 0.8\n"
assert INTER in tiny
refused("all_sched", tiny.replace(BATCH, CSCHED + "    origin: wuhan\n")
        .replace(INTER, "  - name: interactive\n    origin: wuhan\n    schedule: {t_s: [0], rate_rps: [1]}\n"),
        r"all_sched\.yaml:\d+:\d+: classes: every class has its own schedule, so origins\.shanghai's rate_rps has no effect")
refused("cv_window_poisson", tiny.replace("rate_rps: 3.0}", "schedule: {t_s: [0, 60], rate_rps: [1, 2], cv: [1, 2]}}"),
        r"cv_window_poisson\.yaml:\d+:\d+: origins\[0\]\.schedule\.cv: a CV per window is only used by demand\.arrival gamma")
refused("cv_window_len", tiny.replace("rate_rps: 3.0}", "schedule: {t_s: [0, 60], rate_rps: [1, 2], cv: [1]}}")
        .replace("arrival: poisson", "arrival: gamma"),
        r"cv_window_len\.yaml:\d+:\d+: origins\[0\]\.schedule\.cv: has 1 entries, 't_s' has 2")
refused("cv_window_csv", tiny.replace("rate_rps: 3.0}", "schedule: {file: cvrates.csv}}").replace("arrival: poisson", "arrival: gamma"),
        r"cvrates\.csv:3:\d+: origins\[0\]\.schedule\.file: column 'cv': 'x' is not a finite number",
        files=[("cvrates.csv", "t_s,rate_rps,cv\n0,1,2\n60,2,x\n")])
refused("cv_window_both", tiny.replace("rate_rps: 3.0}", "cv: 2, schedule: {t_s: [0, 60], rate_rps: [1, 2], cv: [1, 2]}}")
        .replace("arrival: poisson", "arrival: gamma"),
        r"cv_window_both\.yaml:\d+:\d+: origins\[0\]\.cv: give cv or the schedule's cv per window, not both")
# The event budget (10^11 events, 5 per request) counts a schedule's integral: 10^9 req/s from 1 h on
# over a 2 h run is refused, naming the schedule; a burst of 10^9 req/s for 1 s a day over a day (10^9
# requests, 5 x 10^9 events) runs, where its peak x the duration would have been refused; a class's own
# schedule counts too.
refused("budget_origin", tiny.replace("rate_rps: 3.0}", "schedule: {t_s: [0, 3600], rate_rps: [1, 1e9]}}")
        .replace("duration_s: 600", "duration_s: 7200"),
        r"budget_origin\.yaml:\d+: origins\.shanghai\.schedule: its windows .* make about 3\.6e\+12 requests")
refused("budget_class", tiny.replace(BATCH, CSCHED.replace("rate_rps: [1]", "rate_rps: [1e8]")).replace("duration_s: 600", "duration_s: 3600"),
        r"budget_class\.yaml:\d+: classes\.batch\.schedule: its windows .* make about 3\.6e\+11 requests")
# Session turns and fan-out calls count too: 2e7 req/s over 600 s is 1.2e10 arrivals (6e10 events, under
# the budget); 2 turns each make 2.4e10 requests, 3 calls per request 4.8e10: both refused.
MANY = CSCHED.replace("rate_rps: [1]", "rate_rps: [2e7]")
many = tiny.replace(BATCH, MANY)
p = subprocess.run([CPNSIM, scenario("many.yaml", many), "--check"], capture_output=True, text=True)
if p.returncode != 0:
    fail(f"1.2e10 arrivals refused: {p.stderr}")
refused("budget_turns", many.replace(MANY, MANY + "    session: {turns: {dist: constant, mean: 2}, think_s: 5}\n"),
        r"budget_turns\.yaml:\d+: classes\.batch\.schedule: its windows .* make about 2\.4e\+10 requests")
refused("budget_calls", many.replace(MANY, MANY + "    fanout: {calls: {dist: constant, mean: 3}}\n"),
        r"budget_calls\.yaml:\d+: classes\.batch\.schedule: its windows .* make about 4\.8e\+10 requests")
burst = scenario("burst.yaml", tiny.replace("rate_rps: 3.0}", "schedule: {period_s: 86400, t_s: [0, 43200, 43201], "
                                            "rate_rps: [0, 1e9, 0]}}").replace("duration_s: 600", "duration_s: 86400"))
p = subprocess.run([CPNSIM, burst, "--check"], capture_output=True, text=True)
print(f"burst of 1e9 req/s for 1 s a day: --check exit {p.returncode}")
if p.returncode != 0:
    fail(f"a schedule integrating to 1e9 requests refused: {p.stderr}")
# An empty trace (a header, no row) is an error naming the file, exit 2 (it ran with exit 0 and no word).
with open(os.path.join(tmp, "empty.csv"), "w") as f:
    f.write("t,p,o\n")
empty = scenario("empty.yaml", tiny.replace("demand:\n", "demand:\n  trace: {file: empty.csv, mapping: custom, "
                                            "time_col: t, prompt_col: p, output_col: o}\n", 1))
pe = subprocess.run([CPNSIM, empty, "--out", os.path.join(tmp, "empty.h5"), "--quiet"], capture_output=True, text=True)
print(f"empty trace: exit {pe.returncode}: {pe.stderr.strip()}")
if pe.returncode != 2 or "empty.csv: the trace has no data rows" not in pe.stderr:
    fail("an empty trace was not refused with exit 2 naming the file")
pc = subprocess.run([CPNSIM, empty, "--check"], capture_output=True, text=True)
print(f"empty trace, --check: exit {pc.returncode}: {pc.stderr.strip()}")
if pc.returncode != 2 or "empty.csv: the trace has no data rows" not in pc.stderr:
    fail("--check accepted an empty trace")
refused("fan_session", tiny.replace(INTER_CLS, INTER_CLS + "    session: {turns: {dist: constant, mean: 2}, think_s: 5}\n"
                                    "    fanout: {calls: {dist: constant, mean: 2}}\n"),
        r"fan_session\.yaml:\d+:\d+: classes\[0\]\.fanout: a class cannot both fan out and hold sessions")
refused("fan_gateway", tiny.replace(INTER_CLS, INTER_CLS + "    fanout: {calls: {dist: constant, mean: 2}}\n")
        .replace("run:\n", "run:\n  gateway_max_in_flight: 10\n", 1),
        r"fan_gateway\.yaml:\d+:\d+: classes\[0\]\.fanout: not with run\.gateway_max_in_flight")
refused("fan_class", tiny.replace(INTER_CLS, INTER_CLS + "    fanout: {calls: {dist: constant, mean: 2}, class: nope}\n"),
        r"fan_class\.yaml:\d+:\d+: classes\[0\]\.fanout\.class: 'nope' is not a class")
refused("fan_cycle", tiny.replace(INTER_CLS, INTER_CLS + "    fanout: {calls: {dist: constant, mean: 2}, class: batch}\n")
        .replace(BATCH, BATCH + "    fanout: {calls: {dist: constant, mean: 2}, class: interactive}\n"),
        r"fan_cycle\.yaml:\d+:\d+: classes\[0\]\.fanout\.class: the fan-outs from class 'interactive' come back to it")
print("ok")
