"""The aggregation comparison counts cold starts (scenarios/moma-300*.yaml): both deployments start their
tail models unloaded and unload them when idle, so each cold start is a load_s of 30 s during which the
replica draws power and its requests wait. Per region, each region sees a tail model a third as often
as the network-wide deployment's single replica does, so it must load more often (more than twice as
many cold starts), and its requests that met a cold start waited at least load_s. The network-wide
deployment's full cost per token stays below the per-region one's with the cold starts counted."""
import h5py
import numpy as np

from cpntest import SRC, fail, run

res = {}
for sc in ("moma-300", "moma-300-regional"):
    _, out = run(f"{SRC}/scenarios/{sc}.yaml", "--set", "run.duration_s=300")
    with h5py.File(out) as f:
        r = f["requests"][:]
        ev = f["events"][:]
        ov = f["summary/overall"][0]
        kinds = [k.decode() for k in ev["key"]]
        load_s = 30.0
        starts = ev["t_s"][[k == "load_start" for k in kinds]]
        dones = ev["t_s"][[k == "load_done" for k in kinds]]
        cold = int(f.attrs["cold_starts"])
    ttft = r["t_first_token"] - r["t_arrival"]
    waited = int((ttft >= load_s).sum())
    res[sc] = (cold, ov["full_cost_usd_per_mtok"], waited)
    print(f"{sc}: {cold} cold starts, {waited} requests waited >= load_s, full cost {ov['full_cost_usd_per_mtok']:.3f}"
          f" USD/Mtok, SLO {ov['slo_attainment']:.3f}")
    if cold != len(starts) or len(dones) < cold - 5 or cold == 0:
        fail(f"{sc}: {cold} cold starts, {len(starts)} load_start and {len(dones)} load_done events")
    if np.any(np.diff(np.sort(dones)) < 0) or waited < len(dones) * 0.9:
        fail(f"{sc}: {waited} requests waited a load for {len(dones)} loads")
net, reg = res["moma-300"], res["moma-300-regional"]
if not reg[0] > 2 * net[0]:
    fail(f"per-region cold starts {reg[0]} not more than twice the network-wide {net[0]}")
if not net[1] < reg[1]:
    fail(f"network-wide full cost {net[1]} not below per-region {reg[1]}")
print("ok")
