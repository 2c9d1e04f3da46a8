"""Site b fails at t = 100 s for 60 s, detected 5 s later (tests/data/site-fail.yaml). The requests
queued or in service at b at 100 s (known from a run without the fault: same workload, same round-robin
state up to then) are lost, and so is every request that reaches b before the policy learns it is down;
all of them are placed again (max_retries 1), never at b, and complete; with max_retries 0 they all end
`failed` with site_failure. Per reason, lost = retried + failed, and completed + failed = arrived. No
request is dispatched to b between its failure and its repair once detected, and b serves again after."""
import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

SCEN = f"{SRC}/tests/data/site-fail.yaml"
B = 1
COMPLETED, FAILED = 0, 2
SITE_FAILURE = 6  # cpn_reason_t

_, base = run(SCEN, "--set", "faults.events=[]")
b = requests(base)
at_b = (b["site"] == B) & (b["t_dispatch"] + b["net_in_s"] <= 100.0) & (b["t_done"] - b["net_out_s"] > 100.0)
n_at_b = int(at_b.sum())
print(f"without the fault: {len(b)} requests, {n_at_b} queued or in service at b at 100 s")
if n_at_b < 5:
    fail("too few requests at b at 100 s to test anything")

for retries in (1, 0):
    _, out = run(SCEN, "--set", f"faults.max_retries={retries}")
    r = requests(out)
    with h5py.File(out, "r") as f:
        rows = [(x["key"].decode(), float(x["t_s"]), int(x["site"]), int(x["requests_lost"])) for x in f["faults"][:]]
        s = {x["key"].decode(): x for x in f["summary/faults"][:]}
    lost, retried, failed = (int(s["site_failure"][k]) for k in ("lost", "retried", "failed"))
    n_done = int((r["status"] == COMPLETED).sum())
    n_failed = int((r["status"] == FAILED).sum())
    print(f"max_retries {retries}: {len(r)} requests, {n_done} completed, {n_failed} failed; site_failure lost "
          f"{lost}, retried {retried}, failed {failed}; link_failure lost {int(s['link_failure']['lost'])}; "
          f"/faults {rows}")
    if len(r) != len(b):
        fail(f"the fault changed the workload: {len(r)} requests against {len(b)}")
    if rows != [("site_down", 100.0, B, n_at_b), ("site_detected", 105.0, B, 0), ("site_up", 160.0, B, 0)]:
        fail(f"/faults should be site_down at 100 s (losing {n_at_b}), site_detected at 105 s, site_up at 160 s")
    if not lost > n_at_b:
        fail(f"no request was lost arriving at b before the failure was detected ({lost} lost, {n_at_b} at b)")
    if retried + failed != lost or int(s["link_failure"]["lost"]) != 0:
        fail(f"retried {retried} + failed {failed} != lost {lost}")
    if n_done + n_failed != len(r) or failed != n_failed:
        fail(f"completed {n_done} + failed {n_failed} != arrived {len(r)}, or failed {failed} != {n_failed}")
    if np.any(r["reason"][r["status"] == FAILED] != SITE_FAILURE):
        fail("a request failed with another reason than site_failure")
    if retries == 0 and failed != lost:
        fail(f"with no retry every lost request fails: lost {lost}, failed {failed}")
    if retries == 1 and failed != 0:
        fail(f"with one retry and two other sites no request should fail ({failed} did)")
    done = r[r["status"] == COMPLETED]
    during = (done["site"] == B) & (done["t_dispatch"] >= 100.0) & (done["t_dispatch"] < 160.0)
    after = (done["site"] == B) & (done["t_dispatch"] >= 160.0)
    if during.any() or not after.any():
        fail(f"{int(during.sum())} requests served at b while it was down, {int(after.sum())} after its repair")
print("ok")
