"""Every completed request is charged its replica time: cost_usd = energy x electricity price + the
replica-seconds it used x the replica's accelerator price, so cost minus the electricity part is positive
for every completed row, at every site and for every model (a replica looked up by the wrong index once
charged nothing for most of them)."""
import numpy as np
import yaml

from cpntest import SRC, fail, requests, run
import h5py

_, out = run(f"{SRC}/scenarios/tiny.yaml", "--policy", "round-robin", "--seed", "5")
r = requests(out)
with h5py.File(out, "r") as f:
    sc = yaml.safe_load(f["scenario"][()].decode() if hasattr(f["scenario"][()], "decode") else f["scenario"][()])
    sites = [s.decode() if isinstance(s, bytes) else s for s in f["names/sites"][:]]
price = {s["name"]: s.get("price_usd_per_kwh", 0.0) for s in sc["sites"]}
done = r[r["status"] == 0]
if len(done) < 50:
    fail(f"only {len(done)} completed requests")
elec = done["energy_j"] / 3.6e6 * np.array([price[sites[i]] for i in done["site"]])
accel = done["cost_usd"] - elec
bad = accel <= 1e-15
print(f"{len(done)} completed over {len(set(done['site']))} sites and {len(set(done['model']))} models; "
      f"replica cost per request {accel.min():.3g} .. {accel.max():.3g} USD; {bad.sum()} without it")
if bad.any():
    fail(f"{bad.sum()} completed requests were charged no replica time")
