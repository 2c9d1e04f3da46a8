"""Residency is enforced by the engine whatever the policy: in overseas-pos, no request whose origin's
residency is a single country is served outside that country, for every built-in policy."""
import subprocess

import h5py
import numpy as np
import yaml

from cpntest import CPNSIM, SRC, fail, run

policies = subprocess.run([CPNSIM, "--list-policies"], capture_output=True, text=True, check=True).stdout.split()
if len(policies) < 10:
    fail(f"expected the ten built-in policies, got {policies}")
for pol in policies:
    _, out = run(f"{SRC}/scenarios/overseas-pos.yaml", "--policy", pol, "--set", "run.duration_s=120",
                 "--set", "run.warmup_s=0", "--set", "run.drain_s=600")
    with h5py.File(out) as f:
        r = f["requests"][:]
        # The resolved scenario (extends and defaults applied) comes from --print-config.
        cfg = yaml.safe_load(subprocess.run([CPNSIM, f"{SRC}/scenarios/overseas-pos.yaml", "--print-config"],
                                            capture_output=True, text=True, check=True).stdout)
        origins = [x.decode() for x in f["names/origins"][:]]
        sites = [x.decode() for x in f["names/sites"][:]]
    site_country = {s["name"]: s.get("country", "CN") for s in cfg["sites"]}
    site_region = {s["name"]: s.get("region", s["name"]) for s in cfg["sites"]}
    residency = {o["name"]: o.get("residency", []) for o in cfg["origins"]}
    checked = violations = 0
    for i, oname in enumerate(origins):
        allowed = residency.get(oname, [])
        if len(allowed) != 1:
            continue
        served = r[(r["origin"] == i) & (r["site"] >= 0)]
        checked += len(served)
        for s in np.unique(served["site"]):
            if allowed[0] not in (site_country[sites[s]], site_region[sites[s]]):
                violations += int((served["site"] == s).sum())
    print(f"{pol:14s}: {checked} single-country-residency requests checked, {violations} served elsewhere, "
          f"{int((r['reason'] == 3).sum())} policy violations rejected")
    if checked < 100:
        fail(f"{pol}: too few residency-bound requests to check ({checked})")
    if violations:
        fail(f"{pol}: {violations} requests served outside their country")
print("ok")
