"""Stale views make least-loaded herd: with the view refreshed every 5 s instead of fresh, p99 TTFT
rises (same workload, same seed)."""
import numpy as np

from cpntest import SRC, fail, requests, run

p99 = {}
for refresh in [0, 5]:
    _, out = run(f"{SRC}/tests/data/herding.yaml", "--set", f"run.view_refresh_s={refresh}")
    r = requests(out)
    m = r[(r["t_arrival"] >= 60) & (r["status"] == 0)]
    ttft = m["t_first_token"] - m["t_arrival"]
    p99[refresh] = np.percentile(ttft, 99)
    share = np.bincount(m["site"], minlength=4) / len(m)
    print(f"view refresh {refresh} s: {len(m)} requests, p99 TTFT {p99[refresh]:.3f} s, site shares {np.round(share, 3)}")
if not p99[5] > 1.5 * p99[0]:
    fail(f"no herding: p99 TTFT {p99[5]:.3f} s stale vs {p99[0]:.3f} s fresh")
print("ok")
