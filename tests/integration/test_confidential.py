"""Confidential requests run only on confidential pools, which are slower by run.confidential_overhead;
the decision trace lists each request's candidates and marks the one placed."""
import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

_, out = run(f"{SRC}/tests/data/confidential.yaml")
r = requests(out)
with h5py.File(out) as f:
    classes = [x.decode() for x in f["names/classes"][:]]
    sites = [x.decode() for x in f["names/sites"][:]]
    dec = f["decisions"][:]
secret, cc, plain = classes.index("secret"), sites.index("cc"), sites.index("plain")
sec = r[r["class"] == secret]
opn = r[r["class"] != secret]
if len(sec) < 100 or np.any(sec["site"] != cc):
    fail(f"confidential requests served outside the confidential pool: {np.bincount(sec['site'])}")
if np.any(opn["site"] != plain):
    fail("nearest should send open requests to the nearer plain site")
# Idle replicas, output 2 tokens: service = prefill + one decode step; the CC pool is 25% slower.
svc_sec = sec["t_done"] - sec["net_out_s"] - sec["t_dispatch"] - sec["net_in_s"]
svc_opn = opn["t_done"] - opn["net_out_s"] - opn["t_dispatch"] - opn["net_in_s"]
ratio = np.median(svc_sec) / np.median(svc_opn)
print(f"{len(sec)} confidential requests all at 'cc'; median service {np.median(svc_sec) * 1e3:.3f} ms vs "
      f"{np.median(svc_opn) * 1e3:.3f} ms: ratio {ratio:.4f}")
if abs(ratio - 1.25) > 1e-6:
    fail(f"confidential overhead: service ratio {ratio}, want 1.25")
# Decision trace: one chosen row per request, and it is where the request went.
ids, counts = np.unique(dec["id"], return_counts=True)
if len(ids) != len(r):
    fail(f"/decisions covers {len(ids)} of {len(r)} requests")
chosen = dec[dec["chosen"] == 1]
if len(chosen) != len(r):
    fail("not exactly one chosen candidate per request")
by_id = dict(zip(r["id"], r["site"]))
if any(by_id[int(c["id"])] != int(c["site"]) for c in chosen):
    fail("the chosen candidate is not the site the request went to")
open_ids = set(opn["id"].tolist())
n_open_cand = counts[np.isin(ids, list(open_ids))]
if not np.all(n_open_cand == 2) or not np.all(counts[~np.isin(ids, list(open_ids))] == 1):
    fail("open requests should have 2 candidates, confidential ones 1")
lat = chosen["latency_s"][np.isin(chosen["id"], list(open_ids))]
if not np.allclose(chosen["score"][np.isin(chosen["id"], list(open_ids))], lat):
    fail("nearest's score should be the route latency")
print(f"/decisions: {len(dec)} rows for {len(ids)} requests; ok")
