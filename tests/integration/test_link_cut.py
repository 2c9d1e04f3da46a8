"""Cutting the Hong Kong - Singapore link at t = 600 s (tests/data/hk-sg-cut.yaml): routes are computed
again around the cut (Hong Kong to Singapore then goes by Brazil: 0.002 + 0.156 + 0.170 s one way instead
of 0.002 + 0.017 s), and every request whose upload or reply was crossing the link at 600 s is lost and
then either completed elsewhere or ended `failed` with reason link_failure: nothing is lost from the
accounting. Which requests were crossing is known from a run without the fault (same workload, same
round-robin state up to 600 s): their upload interval [t_dispatch, t_dispatch + net_in_s] or reply
interval [t_done - net_out_s, t_done] contains 600 s on a route that crosses the link."""
import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

SCEN = f"{SRC}/tests/data/hk-sg-cut.yaml"
HK, SG_USERS = 0, 1            # origins
SINGAPORE, GREATER_BAY = 0, 1  # sites
COMPLETED, FAILED = 0, 2
LINK_FAILURE = 7               # cpn_reason_t


def crossing_at(r, t):
    route = ((r["origin"] == HK) & (r["site"] == SINGAPORE)) | ((r["origin"] == SG_USERS) & (r["site"] == GREATER_BAY))
    up = (r["t_dispatch"] <= t) & (r["t_dispatch"] + r["net_in_s"] > t)
    down = (r["t_done"] - r["net_out_s"] <= t) & (r["t_done"] > t)
    return route & (up | down)


_, base = run(SCEN, "--set", "faults.events=[]")
b = requests(base)
expect = int(crossing_at(b, 600.0).sum())
print(f"without the cut: {len(b)} requests, {expect} crossing the Hong Kong - Singapore link at 600 s")
if expect < 3:
    fail("the scenario puts too few requests on the link at 600 s to test anything")

for retries in (2, 0):
    _, out = run(SCEN, "--set", f"faults.max_retries={retries}")
    r = requests(out)
    with h5py.File(out, "r") as f:
        rows = f["faults"][:]
        s = {row["key"].decode(): row for row in f["summary/faults"][:]}
    lost, retried, failed = (int(s["link_failure"][k]) for k in ("lost", "retried", "failed"))
    n_done = int((r["status"] == COMPLETED).sum())
    n_failed = int((r["status"] == FAILED).sum())
    print(f"max_retries {retries}: {len(r)} requests, {n_done} completed, {n_failed} failed; "
          f"lost {lost}, retried {retried}, failed {failed}; /faults {rows.tolist()}")
    if len(r) != len(b):
        fail(f"the cut changed the workload: {len(r)} requests against {len(b)}")
    if len(rows) != 1 or rows[0]["key"] != b"link_down" or rows[0]["t_s"] != 600.0 or rows[0]["requests_lost"] != lost:
        fail(f"/faults should hold one link_down at 600 s losing {lost}: {rows.tolist()}")
    if lost != expect:
        fail(f"{lost} requests lost to the cut, {expect} were crossing the link at 600 s")
    if n_done + n_failed != len(r):
        fail(f"requests neither completed nor failed: {len(r) - n_done - n_failed}")
    if np.any(r["reason"][r["status"] == FAILED] != LINK_FAILURE):
        fail("a request failed with another reason than link_failure")
    want_failed = lost if retries == 0 else 0
    if n_failed != want_failed or failed != want_failed or retried + failed != lost:
        fail(f"retried {retried} + failed {failed} should be lost {lost}, with {want_failed} failed")
    # Reroute: Hong Kong's uploads to Singapore go by Brazil after the cut.
    hs = r[(r["origin"] == HK) & (r["site"] == SINGAPORE)]
    before = hs["net_in_s"][hs["t_dispatch"] < 599]
    after = hs["net_in_s"][hs["t_dispatch"] > 601]
    lat_before, lat_after = 0.002 + 0.017, 0.002 + 0.156 + 0.170
    print(f"  Hong Kong -> Singapore upload: {before.min():.6f}..{before.max():.6f} s before, "
          f"{after.min():.6f}..{after.max():.6f} s after (latency {lat_before} and {lat_after} s)")
    if not (len(after) > 1000 and abs(after.min() - lat_after) < 1e-3 and after.max() < lat_after + 1e-3
            and before.max() < lat_before + 1e-3):
        fail("Hong Kong -> Singapore transfers are not rerouted by Brazil after the cut")
print("ok")
