"""Disaggregated prefill and decode across two sites (tests/data/disagg.yaml): site a prefills, site b
decodes, the KV of the prompt crosses the a-b link (20 ms, 1 Gb/s) as a SimGrid flow in /transfers.

One request, 1000 prompt / 11 output tokens, arriving at t = 0 at node a (access 1 ms, no request bytes):
  upload                 0.001 s
  prefill at a           1000 x 0.001 = 1.0 s                    -> 1.001
  KV transfer a -> b     0.02 + 1000 x 65,536 B x 8 / 1e9 = 0.544288 s  -> 1.545288
                         (Llama-3.1-8B: 2 x 32 layers x 8 KV heads x 128 x 1 byte = 65,536 B per token)
  first token to user    + latency(u, b) = 0.001 + 0.02          -> TTFT 1.566288
  10 decode steps at b   10 x 0.01 = 0.1 s, reply 0.021 s         -> end-to-end 1.666288
Two requests at t = 0 prefill in parallel on a's two replicas; their KV flows share the link, each taking
0.02 + 2 x 0.524288 s: TTFT 2.090576. The other serving schedulers run the same path. Bad roles and decode
sites stop the run naming file:line and key (exit 2)."""
import os
import tempfile

import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

SC = f"{SRC}/tests/data/disagg.yaml"

_, out = run(SC)
r = requests(out)
with h5py.File(out) as f:
    tr = f["transfers"][:]
if len(r) != 1 or r["status"][0] != 0 or r["site"][0] != 1:
    fail(f"one request completed at the decode site b expected: {r}")
ttft, e2e = r["t_first_token"][0] - r["t_arrival"][0], r["t_done"][0] - r["t_arrival"][0]
kv = 1000 * 65536
want_ttft = 0.001 + 1.0 + 0.02 + kv * 8 / 1e9 + 0.021
want_e2e = want_ttft + 0.1
print(f"one request: TTFT {ttft:.9f} s (closed form {want_ttft:.9f}), end-to-end {e2e:.9f} s ({want_e2e:.9f})")
if abs(ttft - want_ttft) > 1e-9 or abs(e2e - want_e2e) > 1e-9:
    fail("TTFT or end-to-end time differs from prefill + KV transfer + decode")
keys = [k.decode() if isinstance(k, bytes) else k for k in tr["key"]]
if keys != ["kv"] or tr["bytes"][0] != kv or tr["src_site"][0] != 0 or tr["dst_site"][0] != 1:
    fail(f"/transfers should hold the one KV flow a -> b of {kv} bytes: {tr}")
if abs(tr["start_s"][0] - 1.001) > 1e-9 or abs(tr["end_s"][0] - (1.001 + 0.02 + kv * 8 / 1e9)) > 1e-9:
    fail(f"KV flow times {tr['start_s'][0]}, {tr['end_s'][0]}")

_, out = run(SC, "--set", f"demand.trace.file={SRC}/tests/data/disagg-two.jsonl")
r = requests(out)
with h5py.File(out) as f:
    tr = f["transfers"][:]
want_ttft2 = 0.001 + 1.0 + 0.02 + 2 * kv * 8 / 1e9 + 0.021
ttft2 = r["t_first_token"] - r["t_arrival"]
print(f"two requests: KV flows {tr['end_s'] - tr['start_s']} s each, TTFT {ttft2} s (closed form {want_ttft2:.9f})")
if len(r) != 2 or np.any(r["status"] != 0) or np.max(np.abs(ttft2 - want_ttft2)) > 1e-9:
    fail("two KV flows sharing the link should each take latency + 2 x size / bandwidth")

for sched in ["continuous", "vllm", "trtllm"]:
    sets = ["--set", f"demand.trace.file={SRC}/tests/data/disagg-two.jsonl"]
    for s in ("a", "b"):
        sets += ["--set", f"sites.{s}.replicas.0.scheduler={sched}", "--set", f"sites.{s}.replicas.0.scheduler_params={{}}"]
    _, out = run(SC, *sets)
    r = requests(out)
    ttft = r["t_first_token"] - r["t_arrival"]
    # At least upload + KV transfer + first token's way back; the prefill comes from the roofline.
    floor = 0.001 + 0.02 + 2 * kv * 8 / 1e9 + 0.021
    if len(r) != 2 or np.any(r["status"] != 0) or np.any(r["site"] != 1) or np.any(ttft <= floor):
        fail(f"{sched}: {r}")
    print(f"{sched}: TTFT {ttft} s")

tmp = tempfile.mkdtemp(prefix="cpndisagg-")
text = open(SC).read().replace("disagg-one.jsonl", os.path.join(SRC, "tests", "data", "disagg-one.jsonl"))
cases = [
    (["--set", "sites.a.replicas.0.decode_site=zz"], text, "sites.a.replicas.0.decode_site: no site named 'zz'"),
    (["--set", "sites.b.replicas.0.role=prefill"], text, "site 'b' has no replica of model 'm' that decodes"),
    (["--set", "sites.a.replicas.0.role=both"], text, "only replicas with role 'prefill'"),
    ([], text.replace("role: prefill, decode_site: b,", ""), "sites.b.replicas.0.role: decode replicas of model 'm' here get no work"),
]
for i, (sets, body, why) in enumerate(cases):
    path = os.path.join(tmp, f"bad{i}.yaml")
    with open(path, "w") as f:
        f.write(body)
    p, _ = run(path, *sets, check=False)
    if p.returncode != 2 or why not in p.stderr or f"{path}:" not in p.stderr and "--set:" not in p.stderr:
        fail(f"case {i}: exit {p.returncode}, message {p.stderr!r}")
print("ok")
