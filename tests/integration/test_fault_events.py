"""Failures and repairs in /events and in the summary (tests/data/site-fail.yaml with five faults):
site b down at 100 s for 60 s, link a--c cut at 50 s for 30 s and again at 60 s for 40 s (overlapping: the
link is down from 50 to 100 s), link a--b degraded to 0.3 of its bandwidth at 120 s for 40 s, and site c
down at 500 s for 100 s (its repair falls after the end of the run at 540 s), plus random failures of
link b--c (mtbf_s 60, mttr_s 15). Every planned fault shows up in /events exactly once as its begin, at
its at_s, with its element and its index in faults.events, and exactly once as its end at at_s +
duration_s when that is inside the run; the random fault's rows alternate begin/end and match the
changes of /faults; /summary/faults counts the same begins and ends, and the printed summary the totals."""
import os
import subprocess
import tempfile

import h5py

from cpntest import CPNSIM, SRC, fail

SCEN = f"{SRC}/tests/data/site-fail.yaml"
EV = ("faults.events=[{site: b, at_s: 100, duration_s: 60}, {a: a, b: c, at_s: 50, duration_s: 30}, "
      "{a: a, b: c, at_s: 60, duration_s: 40}, {a: a, b: b, at_s: 120, duration_s: 40, bw_fraction: 0.3}, "
      "{site: c, at_s: 500, duration_s: 100}, {a: b, b: c, mtbf_s: 60, mttr_s: 15}]")
SITE = {"a": 0, "b": 1, "c": 2}
LINK = {("a", "b"): 0, ("b", "c"): 1, ("a", "c"): 2}
END = 540.0
# (fault index, begin kind, end kind, site, link, at_s, duration_s)
PLANNED = [(0, "site_down", "site_up", SITE["b"], -1, 100, 60),
           (1, "link_down", "link_up", -1, LINK["a", "c"], 50, 30),
           (2, "link_down", "link_up", -1, LINK["a", "c"], 60, 40),
           (3, "link_degraded", "link_restored", -1, LINK["a", "b"], 120, 40),
           (4, "site_down", "site_up", SITE["c"], -1, 500, 100)]

out = os.path.join(tempfile.mkdtemp(prefix="cpntest-"), "run.h5")
q = subprocess.run([CPNSIM, SCEN, "--set", EV, "--out", out], capture_output=True, text=True)
if q.returncode != 0:
    fail(f"cpnsim exited {q.returncode}:\n{q.stderr}")
with h5py.File(out, "r") as f:
    ev = f["events"][:]
    faults = [(x["key"].decode(), float(x["t_s"]), int(x["link"])) for x in f["faults"][:]]
    s = {x["key"].decode(): x for x in f["summary/faults"][:]}
rows = [(x["key"].decode(), float(x["t_s"]), int(x["site"]), int(x["link"]), int(x["fault"]), float(x["detail"]))
        for x in ev]
for r in rows:
    if r[4] >= 0:
        print("  ", r)
if any(rows[i][1] > rows[i + 1][1] for i in range(len(rows) - 1)):
    fail("/events is not in time order")
n_begin = n_end = 0
for idx, kb, ke, site, link, at, dur in PLANNED:
    mine = [r for r in rows if r[4] == idx]
    want = [(kb, float(at), site, link, idx)]
    if at + dur < END:
        want.append((ke, float(at + dur), site, link, idx))
    got = [r[:5] for r in mine]
    if got != want:
        fail(f"fault {idx}: /events rows {got}, expected {want}")
    n_begin += 1
    n_end += len(want) - 1
    if kb == "link_degraded" and mine[0][5] != 0.3:
        fail(f"the degradation's detail is {mine[0][5]}, not its bandwidth fraction 0.3")
# The second cut of a--c began while the first lasted: it lost nothing and the link stayed down until 100 s.
cut_rows = [x for x in faults if x[2] == LINK["a", "c"] and x[0] in ("link_down", "link_up")]
if [x[:2] for x in cut_rows] != [("link_down", 50.0), ("link_up", 100.0)]:
    fail(f"/faults for the overlapping cuts of a--c: {cut_rows}, expected down at 50 s and up at 100 s")
rnd = [r for r in rows if r[4] == 5]
kinds = [r[0] for r in rnd]
if len(rnd) < 4 or any(k != ("link_down" if i % 2 == 0 else "link_up") for i, k in enumerate(kinds)):
    fail(f"random cuts of b--c do not alternate begin/end: {kinds}")
bc = [x[:2] for x in faults if x[2] == LINK["b", "c"]]
if bc != [r[:2] for r in rnd]:
    fail(f"random cuts of b--c: /events {[r[:2] for r in rnd]} against /faults {bc}")
detected = [r for r in rows if r[0] == "site_detected"]
if [(r[1], r[2]) for r in detected] != [(105.0, SITE["b"]), (505.0, SITE["c"])]:
    fail(f"site_detected rows {detected}: expected b at 105 s and c at 505 s (detection_s 5)")
n_rb = kinds.count("link_down")
n_re = kinds.count("link_up")
begun = {k: int(s[k]["begun"]) for k in s}
ended = {k: int(s[k]["ended"]) for k in s}
print(f"/summary/faults begun {begun}, ended {ended}; random cuts of b--c: {n_rb} begun, {n_re} ended")
if begun != {"link_failure": 2 + n_rb, "site_failure": 2, "link_degraded": 1} or \
        ended != {"link_failure": 2 + n_re, "site_failure": 1, "link_degraded": 1}:
    fail("/summary/faults begun/ended do not count the faults' begins and ends")
tot_b, tot_e = sum(begun.values()), sum(ended.values())
if f"faults: {tot_b} failures, {tot_e} repairs" not in q.stdout + q.stderr:
    fail(f"the printed summary does not give {tot_b} failures, {tot_e} repairs:\n{q.stdout}")
print("ok")
