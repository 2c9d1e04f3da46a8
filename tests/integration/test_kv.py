"""KV-cache exhaustion: with ~8,500 tokens of KV (70B on one H100) requests wait in the queue and
decoding outgrows the cache (recompute preemptions, counted per request and in the root attributes);
the same workload on an H200 (~340,000 tokens) never preempts and waits less."""
import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

res = {}
for accel in ["h100", "h200"]:
    _, out = run(f"{SRC}/tests/data/kv.yaml", "--set", f"sites.s.pools.p.accel={accel}")
    r = requests(out)
    with h5py.File(out) as f:
        pre = int(f.attrs["preemptions"])
        ts = f["timeseries/sites"][:]
    if np.any(r["status"] != 0):
        fail(f"{accel}: not every request completed")
    if int(r["preempted"].sum()) != pre:
        fail(f"{accel}: per-request preemptions {r['preempted'].sum()} != attribute {pre}")
    if ts["kv_used_frac"].max() > 1 + 1e-9:
        fail(f"{accel}: KV use above capacity: {ts['kv_used_frac'].max()}")
    wait = np.mean(r["t_first_token"] - r["t_arrival"])
    res[accel] = (pre, wait, ts["batch"].max(), ts["kv_used_frac"].max())
    print(f"{accel}: {len(r)} requests, {pre} preemptions, mean TTFT {wait:.2f} s, max batch {ts['batch'].max():.0f}, "
          f"max KV use {ts['kv_used_frac'].max():.3f}")
if res["h100"][0] == 0:
    fail("no preemption with an 8,500-token KV cache and 4,500-token requests")
if res["h200"][0] != 0:
    fail("preemptions with a 340,000-token KV cache")
if not res["h100"][1] > 2 * res["h200"][1]:
    fail("requests did not wait longer for KV on the small cache")
if res["h100"][2] > 2:
    fail(f"batch {res['h100'][2]} exceeds what the KV cache holds")
print("ok")
