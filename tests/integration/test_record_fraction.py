"""run.record_fraction writes a fraction of the rows to /requests, chosen by request id: the sampled rows
are exactly the full run's rows for those ids, the same ids whatever the policy, their number within
binomial bounds, and /summary (computed over every request) is the same as the full run's."""
import math

import h5py
import numpy as np

from cpntest import SRC, fail, run

sc = f"{SRC}/scenarios/tiny.yaml"
_, full = run(sc, "--seed", "4")
_, part = run(sc, "--seed", "4", "--set", "run.record_fraction=0.25")
_, other = run(sc, "--seed", "4", "--set", "run.record_fraction=0.25", "--policy", "round-robin")
with h5py.File(full) as f, h5py.File(part) as p, h5py.File(other) as o:
    rf, rp, ro = f["requests"][:], p["requests"][:], o["requests"][:]
    sf, sp = f["summary/overall"][:], p["summary/overall"][:]
    frac = p.attrs["record_fraction"]
n = len(rf)
lo, hi = n * 0.25 - 4 * math.sqrt(n * 0.25 * 0.75), n * 0.25 + 4 * math.sqrt(n * 0.25 * 0.75)
print(f"{n} requests, {len(rp)} rows written at fraction {frac} (expected {lo:.0f} .. {hi:.0f})")
if not lo <= len(rp) <= hi:
    fail(f"{len(rp)} rows written, outside {lo:.0f} .. {hi:.0f}")
by_id = {int(r["id"]): r.tobytes() for r in rf}
if any(by_id[int(r["id"])] != r.tobytes() for r in rp):
    fail("a sampled row differs from the full run's row for the same request")
if set(rp["id"].tolist()) != set(ro["id"].tolist()):
    fail("another policy sampled other request ids")
if sf.tobytes() != sp.tobytes():
    fail("/summary/overall differs between the full and the sampled run")
print("ok: sampled rows are the full run's, same ids under another policy, /summary unchanged")
