"""A bulk flow cut mid-transfer waits and resumes (tests/data/distribution.yaml). SimGrid's routes are
fixed once the platform is loaded, so a bulk flow does not go round a cut as requests do: it waits at a
trickle (1e-9 of the bandwidth) and goes on from where it was when the link is repaired. By hand, 16 GB
from the Greater Bay hub to Brazil at t = 10 s (route Greater Bay - Hong Kong 2.1 ms, Hong Kong - Brazil
156 ms and 100 Gb/s, alone on it) takes 0.1581 + 16e9 x 8 / 1e11 = 1.4381 s; cutting Hong Kong - Brazil at
10.5 s for 2 s makes it end 2 s later, at 13.4381 s, with stalled_s 2 in /transfers and one
transfer_stalled (10.5 s) and one transfer_resumed (12.5 s) row in /events; its bytes stay on the cut
link's row of /distribution/links (its route) although requests reroute. A cut that lasts to the end
leaves it waiting: /transfers status 2 and the printed summary say so, nothing hangs silently."""
import os
import subprocess
import tempfile

import h5py

from cpntest import CPNSIM, SRC, fail

SCEN = f"{SRC}/tests/data/distribution.yaml"
GB = 16.0e9
JOB = "distribution=[{name: br, from: greater-bay, to: [brazil], bytes: 16e9, at_s: 10}]"
HK_BR = 5  # link index of hong-kong--brazil


def go(events):
    out = os.path.join(tempfile.mkdtemp(prefix="cpntest-"), "run.h5")
    p = subprocess.run([CPNSIM, SCEN, "--set", JOB, "--set", f"faults.events={events}", "--out", out],
                       capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"cpnsim exited {p.returncode}:\n{p.stderr}")
    with h5py.File(out, "r") as f:
        tr = f["transfers"][:]
        ev = [(x["key"].decode(), float(x["t_s"]), int(x["link"]), float(x["detail"])) for x in f["events"][:]
              if x["key"].startswith(b"transfer_")]
        links = {x["key"].decode(): float(x["bytes"]) for x in f["distribution/links"][:]}
        t_end = float(f["timeseries/links"]["t_s"][-1]) if len(f["timeseries/links"]) else 0.0
    return p.stdout, tr, ev, links, t_end


base = 10 + 0.0021 + 0.156 + GB * 8 / 1e11
_, tr, ev, _, _ = go("[]")
print(f"no cut: ends at {tr['end_s'][0]:.6f} s (by hand {base:.6f} s)")
if abs(tr["end_s"][0] - base) > 1e-6 or ev:
    fail("without a cut the push does not end as by hand, or stalled")

out, tr, ev, links, _ = go("[{a: hong-kong, b: brazil, at_s: 10.5, duration_s: 2}]")
end, stalled = float(tr["end_s"][0]), float(tr["stalled_s"][0])
print(f"cut 10.5 s to 12.5 s: ends at {end:.6f} s (by hand {base + 2:.6f} s), stalled_s {stalled}, events {ev}")
if abs(end - (base + 2)) > 1e-6 or abs(stalled - 2) > 1e-9 or int(tr["status"][0]) != 0:
    fail("a push cut mid-transfer does not resume where it was and end 2 s late")
if ev != [("transfer_stalled", 10.5, HK_BR, 0.0), ("transfer_resumed", 12.5, HK_BR, 0.0)]:
    fail("/events should hold transfer_stalled at 10.5 s and transfer_resumed at 12.5 s on hong-kong--brazil")
if links["hong-kong--brazil"] != GB or links["singapore--brazil"] != 0:
    fail(f"the push's bytes should stay on its SimGrid route (hong-kong--brazil): {links}")
if "1 waits on a cut link" not in out or "0 still waiting" not in out:
    fail(f"the printed summary does not report the wait:\n{out}")

# Two cuts of the route at once: it waits until the last is repaired (14 s), then needs what was left.
out, tr, ev, _, _ = go("[{a: hong-kong, b: brazil, at_s: 10.5, duration_s: 2},"
                       " {a: greater-bay, b: hong-kong, at_s: 11, duration_s: 3}]")
end = float(tr["end_s"][0])
print(f"cuts 10.5-12.5 s and 11-14 s: ends at {end:.6f} s (by hand {base + 3.5:.6f} s), events {ev}")
if abs(end - (base + 3.5)) > 1e-6 or abs(float(tr["stalled_s"][0]) - 3.5) > 1e-9 or len(ev) != 2:
    fail("overlapping cuts of one route: one wait from the first cut to the last repair")

out, tr, ev, _, _ = go("[{a: hong-kong, b: brazil, at_s: 10.5}]")
print(f"cut from 10.5 s on: status {int(tr['status'][0])}, stalled_s {float(tr['stalled_s'][0]):.3f}, events {ev}")
if int(tr["status"][0]) != 2 or not float(tr["stalled_s"][0]) > 100 or len(ev) != 1:
    fail("a push waiting on a cut that is never repaired should end the run with status 2")
if "1 still waiting at the end" not in out:
    fail(f"the printed summary does not say a push is still waiting:\n{out}")
print("ok")
