"""KV exhaustion under the vllm and trtllm schedulers (tests/data/kv.yaml: 70B on one H100, ~8,500 tokens
of KV, 4,500-token requests): every request completes under both, sampled KV use never exceeds the
capacity, the preemption attribute equals the per-request counts, vllm (admission on the prompt) preempts
and trtllm (prompt + output reserved) never does and never runs more than one request at a time here."""
import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

for sched in ["vllm", "trtllm"]:
    _, out = run(f"{SRC}/tests/data/kv.yaml", "--set", f"sites.s.replicas.0.scheduler={sched}")
    r = requests(out)
    with h5py.File(out) as f:
        pre = int(f.attrs["preemptions"])
        ts = f["timeseries/sites"][:]
    print(f"{sched}: {len(r)} requests, {pre} preemptions, max batch {ts['batch'].max():.0f}, "
          f"max KV use {ts['kv_used_frac'].max():.3f}")
    if np.any(r["status"] != 0):
        fail(f"{sched}: not every request completed")
    if int(r["preempted"].sum()) != pre:
        fail(f"{sched}: per-request preemptions {r['preempted'].sum()} != attribute {pre}")
    if ts["kv_used_frac"].max() > 1 + 1e-9:
        fail(f"{sched}: KV use above capacity: {ts['kv_used_frac'].max()}")
    if sched == "vllm" and pre == 0:
        fail("vllm did not preempt with an 8,500-token KV cache and 4,500-token requests")
    if sched == "trtllm" and (pre != 0 or ts["batch"].max() > 1):
        fail(f"trtllm preempted {pre} requests or ran a batch of {ts['batch'].max()} (one reservation fits)")
print("ok")
