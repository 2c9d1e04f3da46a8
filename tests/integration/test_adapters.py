"""Adapters (LoRA) on one base model (tests/data/adapters.yaml): one replica (fcfs, fixed times), a
resident set of at most max_adapters adapters (least recently used unpinned one evicted), a load of
0.5 s when the adapter a request asks for is not resident.

1. Trace (adapters.jsonl, column `lora`, 1000-token prompts 100 s apart, max_adapters 1): x, y, x, x,
   base. Loads: x, y, x = 3 (the second x in a row and the base model load nothing); TTFT = 0.001 +
   [0.5] + 1000 x 0.001 + 0.001 s.
2. Generated, 3 adapters equally popular, ~1000 requests served one at a time: with 3 slots each is loaded
   once (3 loads); with 1 slot a request loads when its adapter differs from the previous one's
   (probability 2/3, independent draws); with 2 slots (LRU) when it is the one adapter not among the
   last two used (1/3). Zipf popularity (5 adapters, s = 1, 1 slot): 1 - sum p_i^2 = 0.71927.
   Each checked within 4 standard deviations of a binomial count.
3. Affinity within a site (run.affinity_slack): two replicas keep one adapter each instead of thrashing.
4. A popularity exponent without adapters is refused (exit 2)."""
import math
import os

import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

SC = f"{SRC}/tests/data/adapters.yaml"
trace = os.path.join(SRC, "tests", "data", "adapters.jsonl")


def loads_of(*sets):
    _, out = run(SC, *sets)
    r = requests(out)
    with h5py.File(out) as f:
        return r, int(f.attrs["adapter_loads"])


r, loads = loads_of("--set", f"demand.trace={{file: {trace}, mapping: jsonl-ms, adapter_col: lora}}")
ttft = r["t_first_token"] - r["t_arrival"]
want = 0.002 + 1.0 + 0.5 * np.array([1, 1, 1, 0, 0])
print(f"trace: {loads} loads, TTFT {ttft}")
if loads != 3 or len(r) != 5 or np.max(np.abs(ttft - want)) > 1e-9:
    fail(f"want 3 loads and TTFT {want}")

for slots, adapters, zipf, p in [(3, 3, 0, None), (1, 3, 0, 2 / 3), (2, 3, 0, 1 / 3), (1, 5, 1, None)]:
    if zipf:
        w = 1 / np.arange(1, adapters + 1)
        w /= w.sum()
        p = 1 - float((w ** 2).sum())
    r, loads = loads_of("--set", f"sites.s.replicas.0.max_adapters={slots}", "--set", f"models.m.adapters={adapters}",
                        "--set", f"models.m.adapter_zipf_s={zipf}")
    n = len(r)
    if np.any(r["status"] != 0):
        fail("not every request completed")
    if p is None:
        print(f"{slots} slots, {adapters} adapters: {loads} loads of {n} requests")
        if loads != adapters:
            fail(f"with room for every adapter each loads once: {loads} loads")
        continue
    sd = math.sqrt(n * p * (1 - p))
    print(f"{slots} slots, {adapters} adapters, zipf {zipf}: {loads} loads of {n} requests, expected {n * p:.1f} +- {sd:.1f}")
    if abs(loads - n * p) > 4 * sd + 1:
        fail("adapter loads outside 4 standard deviations of the closed form")

# Two replicas, 2 equally popular adapters, one slot each. Without affinity (run.affinity_slack -1) the
# least loaded replica (the first, mostly idle) takes nearly every request and loads whenever the adapter
# changes (probability 1/2); with affinity each replica keeps one adapter, and loads happen only when the
# replica holding it is busy.
res = {}
for slack in [-1, 4]:
    r, loads = loads_of("--set", "sites.s.replicas.0.count=2", "--set", "sites.s.pools.p.count=2", "--set",
                        "models.m.adapters=2", "--set", f"run.affinity_slack={slack}")
    res[slack] = (len(r), loads, np.median(r["t_first_token"] - r["t_arrival"]))
    print(f"2 replicas, affinity_slack {slack}: {loads} loads of {len(r)} requests, p50 TTFT {res[slack][2]:.3f} s")
n = res[-1][0]
if abs(res[-1][1] - n / 2) > 4 * math.sqrt(n / 4) + 1 or not res[4][1] < n / 10 or not res[4][2] < res[-1][2]:
    fail("adapter affinity: loads or TTFT not as expected")

p, _ = run(SC, "--set", "models.m.adapters=0", check=False)
if p.returncode != 2 or "models[0].adapter_zipf_s: has no effect" not in p.stderr:
    fail(f"adapter_zipf_s without adapters: exit {p.returncode}, {p.stderr!r}")
print("ok")
