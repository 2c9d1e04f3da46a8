"""The two network modes agree at moderate load: `flow` (each upload and reply a SimGrid flow) and
`fluid` (latency + bytes over the bandwidth left, computed) give the same latency metrics on tiny."""
import numpy as np

from cpntest import SRC, fail, requests, run

res = {}
for mode in ["fluid", "flow"]:
    _, out = run(f"{SRC}/scenarios/tiny.yaml", "--set", f"run.network_mode={mode}")
    r = requests(out)
    r = r[np.argsort(r["id"])]
    res[mode] = r
    print(f"{mode:5s}: mean net_in {r['net_in_s'].mean() * 1e3:.4f} ms, mean TTFT {np.mean(r['t_first_token'] - r['t_arrival']):.5f} s, "
          f"mean e2e {np.mean(r['t_done'] - r['t_arrival']):.5f} s")
a, b = res["fluid"], res["flow"]
if len(a) != len(b) or np.any(a["site"] != b["site"]):
    fail("the two modes placed the same workload differently")
for col in ["net_in_s", "net_out_s"]:
    rel = np.max(np.abs(a[col] - b[col]) / a[col])
    print(f"{col}: largest relative difference {rel:.2e}")
    if rel > 0.01:
        fail(f"{col} differs by {rel:.2%} between modes")
for what, x, y in [("TTFT", a["t_first_token"] - a["t_arrival"], b["t_first_token"] - b["t_arrival"]),
                   ("e2e", a["t_done"] - a["t_arrival"], b["t_done"] - b["t_arrival"])]:
    d = abs(np.mean(x) - np.mean(y)) / np.mean(x)
    if d > 0.01:
        fail(f"mean {what} differs by {d:.2%}")
print("ok")
