"""cpnsim-report shows the full cost beside the marginal one, per site, class, tenant and model.

On tiny (two sites, two models, two tenants): every group's full_cost_usd and full_cost_usd_per_mtok in
`cpnsim-report summary --format csv` are the /summary values; the per-model rows exist and their request
counts and marginal cost sums are recomputed from /requests (so the model kind is really grouped); the
full costs of the sites add up to the overall one (each site's fleet cost is shared out, not invented);
and the full cost per token differs from the marginal one (they are two views, not one copied)."""
import csv
import io
import os
import subprocess

import h5py
import numpy as np

from cpntest import SRC, fail, run

REPORT = os.path.join(os.environ["CPN_BUILD"], "analysis", "cpnsim-report")
_, out = run(f"{SRC}/scenarios/tiny.yaml")
p = subprocess.run([REPORT, "summary", out, "--format", "csv"], capture_output=True, text=True)
if p.returncode != 0:
    fail(f"cpnsim-report exited {p.returncode}: {p.stderr}")
rows = {(r["kind"], r["group"], r["metric"]): float(r["mean"]) for r in csv.DictReader(io.StringIO(p.stdout))}
tables = {"overall": "overall", "site": "sites", "class": "classes", "tenant": "tenants", "model": "models"}
with h5py.File(out, "r") as f:
    req = f["requests"][:]
    models = [m.decode() for m in f["names/models"][:]]
    warm = f.attrs["warmup_s"]
    n = 0
    for kind, table in tables.items():
        t = f[f"summary/{table}"][:]
        for row in t:
            key = row["key"].decode()
            for m in ("full_cost_usd", "full_cost_usd_per_mtok"):
                got = rows.get((kind, key, m))
                if got is None or not np.isclose(got, row[m], rtol=1e-12, atol=0):
                    fail(f"{kind} {key} {m}: report {got}, /summary {row[m]}")
                n += 1
    site_full = [rows[("site", s.decode(), "full_cost_usd")] for s in f["names/sites"][:]]
print(f"{n} full-cost cells agree with /summary")
measured = req[req["t_arrival"] >= warm]
for i, m in enumerate(models):
    sel = measured[measured["model"] == i]
    if rows[("model", m, "requests")] != len(sel) or not np.isclose(rows[("model", m, "cost_usd")], sel["cost_usd"].sum()):
        fail(f"model {m}: report {rows[('model', m, 'requests')]} requests, /requests {len(sel)}")
    print(f"model {m}: {len(sel)} requests, marginal {rows[('model', m, 'cost_usd_per_mtok')]:.4f}, "
          f"full {rows[('model', m, 'full_cost_usd_per_mtok')]:.4f} USD per million tokens")
if not np.isclose(sum(site_full), rows[("overall", "overall", "full_cost_usd")], rtol=1e-9):
    fail(f"sites' full costs {sum(site_full)} do not add up to the overall {rows[('overall', 'overall', 'full_cost_usd')]}")
if np.isclose(rows[("overall", "overall", "full_cost_usd_per_mtok")], rows[("overall", "overall", "cost_usd_per_mtok")]):
    fail("full and marginal cost per token are the same number")
p = subprocess.run([REPORT, "summary", out], capture_output=True, text=True)
if "per model" not in p.stdout or "full_cost_usd_per_mtok" not in p.stdout:
    fail("the text summary has no per-model table or no full cost")
print("ok")
