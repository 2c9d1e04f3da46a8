"""Random site faults (mtbf_s 30, mttr_s 10 at site b of tests/data/site-fail.yaml, 540 s of run) are drawn
from their own seeded stream: the same seed gives the same /faults, another seed other ones, and the
workload is the same whatever the faults (the arrival streams are independent). Failures and repairs
alternate, every request ends completed or failed with site_failure, and lost = retried + failed."""
import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

SCEN = f"{SRC}/tests/data/site-fail.yaml"
EV = "faults.events=[{site: b, mtbf_s: 30, mttr_s: 10}]"


def one(seed):
    _, out = run(SCEN, "--set", EV, "--set", f"run.seed={seed}")
    with h5py.File(out, "r") as f:
        rows = [(x["key"].decode(), float(x["t_s"])) for x in f["faults"][:]]
        s = {x["key"].decode(): x for x in f["summary/faults"][:]}
    return rows, s, requests(out)


rows1, s1, r1 = one(11)
rows2, _, _ = one(11)
rows3, _, _ = one(12)
_, base = run(SCEN, "--set", "faults.events=[]")
b = requests(base)
downs = [t for k, t in rows1 if k == "site_down"]
ups = [t for k, t in rows1 if k == "site_up"]
down_s = sum(u - d for d, u in zip(downs, ups)) + (540 - downs[-1] if len(downs) > len(ups) else 0)
print(f"seed 11: {len(downs)} failures, {len(ups)} repairs, down {down_s:.0f} of 540 s "
      f"(expected about {540 / 40:.1f} failures and 25% down); seed 12: {sum(k == 'site_down' for k, _ in rows3)} failures")
if rows1 != rows2:
    fail("the same seed gave other faults")
if rows1 == rows3:
    fail("another seed gave the same faults")
if len(downs) < 3:
    fail("too few failures drawn")
kinds = [k for k, _ in rows1 if k != "site_detected"]
if any(kinds[i] != ("site_down" if i % 2 == 0 else "site_up") for i in range(len(kinds))):
    fail(f"failures and repairs do not alternate: {kinds}")
if len(r1) != len(b) or not np.array_equal(np.sort(r1, order="id")["t_arrival"], np.sort(b, order="id")["t_arrival"]):
    fail("random faults changed the workload")
st = s1["site_failure"]
n_failed = int((r1["status"] == 2).sum())
print(f"  {len(r1)} requests, lost {int(st['lost'])}, retried {int(st['retried'])}, failed {int(st['failed'])}")
if int(st["retried"]) + int(st["failed"]) != int(st["lost"]) or n_failed != int(st["failed"]):
    fail("lost != retried + failed")
if int((r1["status"] == 0).sum()) + n_failed != len(r1):
    fail("requests neither completed nor failed")
print("ok")
