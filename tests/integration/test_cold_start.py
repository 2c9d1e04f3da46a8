"""A cold start is visible: the first request for a model with no loaded replica waits for the weights
transfer (a SimGrid flow from the model's store site), that wait is in its TTFT, and the transfer is in
/transfers with its events in /events. Requests after the load do not wait."""
import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

_, out = run(f"{SRC}/tests/data/cold.yaml")
r = requests(out)
with h5py.File(out) as f:
    tr = f["transfers"][:]
    ev = f["events"][:]
    cold = int(f.attrs["cold_starts"])
if cold != 1 or len(tr) != 1:
    fail(f"expected one cold start and one transfer, got {cold} and {len(tr)}")
t = tr[0]
bytes_ = 8.03e9  # Llama 3.1 8B at one byte per weight
want = 0.02 + bytes_ * 8 / 1e10  # CM02 without TCP window: latency + size / bandwidth
dur = t["end_s"] - t["start_s"]
print(f"transfer: {t['bytes']:.4g} bytes in {dur:.4f} s (latency + size/bandwidth = {want:.4f} s)")
if abs(t["bytes"] - bytes_) > 1e6 or abs(dur - want) > 1e-6 * want:
    fail("weights transfer size or time differs from the link's latency + size / bandwidth")
kinds = [k.decode() if isinstance(k, bytes) else k for k in ev["key"]]
if kinds[:2] != ["load_start", "load_done"]:
    fail(f"events: {kinds}")
r = r[np.argsort(r["t_arrival"])]
ttft = r["t_first_token"] - r["t_arrival"]
first_wait = t["end_s"] - r["t_arrival"][0]
print(f"first request TTFT {ttft[0]:.3f} s (weights arrive {first_wait:.3f} s after it), "
      f"median TTFT after the load {np.median(ttft[r['t_arrival'] > t['end_s']]):.3f} s")
if ttft[0] < first_wait:
    fail("the first request's TTFT does not include the weights transfer")
if np.median(ttft[r["t_arrival"] > t["end_s"] + 1]) > 0.5:
    fail("requests after the load still wait")
print("ok")
