"""A cold start's load time and the unloading of a rarely used model (tests/data/cold.yaml: one replica of
`m` at `edge`, starting unloaded, weights fetched from `hub` over 10 Gb/s in 6.444 s).

1. models[].load_s = 12.5: the replica becomes ready exactly 12.5 s after the weights arrive (/events),
   the first request's TTFT includes transfer + load, and the replica draws power while loading (the
   site's power samples and energy series).
2. queue-threshold with min_ready 0 and idle_s 20, one request every ~100 s: the last replica unloads
   once idle 20 s, so requests keep finding it cold: cold starts, unloads and the requests that waited a
   cold start agree (each load_start is followed by load_done, every unload comes after idle_s).
3. load_s where no replica can ever load is refused (exit 2, naming the key).
Also: weights local to the site load in load_s without a network transfer."""
import subprocess

import h5py
import numpy as np

from cpntest import CPNSIM, SRC, fail, requests, run

COLD = f"{SRC}/tests/data/cold.yaml"
LOAD = 12.5
_, out = run(COLD, "--set", f"models.0.load_s={LOAD}")
r = requests(out)
with h5py.File(out) as f:
    tr = f["transfers"][:]
    ev = f["events"][:]
kinds = [k.decode() for k in ev["key"]]
if kinds[:2] != ["load_start", "load_done"] or len(tr) != 1:
    fail(f"events {kinds}, {len(tr)} transfers")
ready = ev["t_s"][1]
print(f"weights arrive at {tr[0]['end_s']:.4f} s, replica ready at {ready:.4f} s")
if abs(ready - (tr[0]["end_s"] + LOAD)) > 1e-9:
    fail(f"ready at {ready}, want the weights' arrival + {LOAD}")
r = r[np.argsort(r["t_arrival"])]
ttft0 = r["t_first_token"][0] - r["t_arrival"][0]
if not ready - r["t_arrival"][0] <= ttft0 < ready - r["t_arrival"][0] + 1:
    fail(f"first TTFT {ttft0:.3f} s; the replica was ready {ready - r['t_arrival'][0]:.3f} s after it arrived")
print(f"first request TTFT {ttft0:.3f} s (transfer + load {ready - r['t_arrival'][0]:.3f} s after its arrival)")
# While loading the replica draws power (its idle power, x PUE at the site): the samples between the load's
# start and the replica's readiness show a constant facility power > 0 and the energy growing by it;
# before the load the unloaded replica draws nothing.
with h5py.File(out) as f:
    ts = f["timeseries/sites"][:]
ts = ts[ts["key"] == b"edge"]
during = ts[(ts["t_s"] > ev["t_s"][0]) & (ts["t_s"] <= ready)]
if ts["facility_power_w"][0] != 0 or len(during) < 2:
    fail(f"power before the load {ts['facility_power_w'][0]}, {len(during)} samples while loading")
pw = during["facility_power_w"]
de = np.diff(during["energy_j"]) / np.diff(during["t_s"])
print(f"while loading: facility power {pw[0]:.1f} W, energy rising at {de.mean():.1f} W")
if not (pw[0] > 0 and np.allclose(pw, pw[0]) and np.allclose(de, pw[0], rtol=1e-9)):
    fail("loading does not draw a constant power accounted in the site's energy")

# Weights local to the site (models[].store ""): no transfer, ready load_s after the load starts (this
# crashed SimGrid before: a flow from a host to itself).
_, out = run(COLD, "--set", 'models.0.store=""', "--set", f"models.0.load_s={LOAD}")
with h5py.File(out) as f:
    ev = f["events"][:]
    n_tr = len(f["transfers"]) if "transfers" in f else 0
if n_tr or abs(ev["t_s"][1] - ev["t_s"][0] - LOAD) > 1e-9:
    fail(f"local weights: {n_tr} transfers, ready {ev['t_s'][1] - ev['t_s'][0]} s after the load started")
print(f"local weights: ready {LOAD} s after the load starts, no transfer")

# 2. Unloading the last replica when idle, reloading on demand.
_, out = run(COLD, "--set", "run.autoscaler=queue-threshold", "--set", "run.autoscaler_interval_s=5",
             "--set", "run.autoscaler_params.min_ready=0", "--set", "run.autoscaler_params.idle_s=20",
             "--set", "origins.0.rate_rps=0.01", "--set", "run.duration_s=3000", "--set", f"models.0.load_s={LOAD}")
r = requests(out)
with h5py.File(out) as f:
    ev = f["events"][:]
    cold = int(f.attrs["cold_starts"])
kinds = [k.decode() for k in ev["key"]]
n_load, n_unload = kinds.count("load_start"), kinds.count("unload")
waited = int((r["t_first_token"] - r["t_arrival"] > LOAD).sum())
print(f"{len(r)} requests, {cold} cold starts, {n_unload} unloads, {waited} requests waited more than load_s")
if cold != n_load or n_load < 5 or n_unload < n_load - 1 or waited < n_load:
    fail("the idle replica is not unloaded and reloaded on demand")
t_done = np.sort(r["t_done"])
for t_unload in ev["t_s"][[k == "unload" for k in kinds]]:
    last = t_done[t_done <= t_unload]
    if len(last) and t_unload - last[-1] < 20:
        fail(f"unloaded at {t_unload:.1f} s, {t_unload - last[-1]:.1f} s after its last request ended (idle_s 20)")

# 3. A load time that can never apply.
p = subprocess.run([CPNSIM, f"{SRC}/tests/data/mmc.yaml", "--check", "--set", "models.0.load_s=3"], capture_output=True,
                   text=True)
if p.returncode != 2 or "models[0].load_s: has no effect" not in p.stderr:
    fail(f"load_s without unloaded replicas: exit {p.returncode} {p.stderr}")
print("ok")
