"""Prefix (KV) caching from a trace's block hashes (Mooncake's hash_ids, 512-token blocks).

1. By hand (tests/data/prefix.yaml + prefix.jsonl): one fcfs replica prefilling 1 ms per prompt token not
   found in its cache, requests 100 s apart (none waits, nothing is evicted), no network time, so
   TTFT = 0.001 s x (prompt - cached) exactly, with cached = min(512 x leading cached blocks, prompt - 1):
     id prompt hashes             leading hits  cached  TTFT (s)
     0  2048   1 2 3 4            0             0       2.048
     1  2048   1 2 3 4            4             2047    0.001   (at least one token is prefilled)
     2  2048   1 2 5 6            2             1024    1.024
     3  2048   7 2 3 4            0             0       2.048   (a prefix: block 7 breaks it at once)
     4  1300   1 2 2^64-1         2             1024    0.276
     5  2048   (no hash_ids)      -             0       2.048   (not counted in the hit ratio)
     6  1300   1 2 2^64-1 8 9     3 (of 3)      1299    0.001   (hashes past ceil(1300/512) = 3 are cut)
   hit ratio = (2047 + 1024 + 1024 + 1299) / (4 x 2048 + 2 x 1300) = 5394 / 10792.
2. Bad hashes stop the run naming file:line:column and the key (exit 2); block_tokens without hashes is
   refused (it would have no effect).
3. Routing (tests/data/prefix-routing.yaml): requests extending one of 128 shared 16,384-token documents;
   prefix-aware keeps each document on a site that caches it and beats least-loaded on median TTFT and
   on the hit ratio.
4. Without hashes (hash_col: none) nothing is cached and every TTFT is the full prefill.
5. Within one site of four replicas, prefix affinity (run.affinity_slack 4) against none (-1).
6. Generated requests with block hashes: conversations and shared system prompts, by hand."""
import os
import random
import tempfile

import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

# 1. The hand-made trace.
_, out = run(f"{SRC}/tests/data/prefix.yaml")
r = requests(out)
want_cached = [0, 2047, 1024, 0, 1024, 0, 1299]
want_prompt = [2048, 2048, 2048, 2048, 1300, 2048, 1300]
if list(r["id"]) != list(range(7)) or np.any(r["status"] != 0):
    fail(f"expected 7 completed requests, got ids {list(r['id'])} statuses {list(r['status'])}")
if list(r["cached_tokens"]) != want_cached:
    fail(f"cached_tokens {list(r['cached_tokens'])}, hand arithmetic {want_cached}")
ttft = r["t_first_token"] - r["t_arrival"]
want_ttft = 0.001 * (np.array(want_prompt) - np.array(want_cached))
if np.max(np.abs(ttft - want_ttft)) > 1e-9:
    fail(f"TTFT {list(ttft)}, closed form {list(want_ttft)}")
with h5py.File(out) as f:
    ratio, cached, prompt = (float(f.attrs[k]) for k in ("prefix_hit_ratio", "prefix_cached_tokens", "prefix_prompt_tokens"))
    table = f["summary/prefix_cache"][:]
if cached != 5394 or prompt != 10792 or abs(ratio - 5394 / 10792) > 1e-12:
    fail(f"root attributes: cached {cached}, prompt {prompt}, ratio {ratio}; hand arithmetic 5394 / 10792")
if len(table) != 1 or table[0]["requests"] != 6 or table[0]["cached_tokens"] != 5394 or table[0]["evicted_blocks"] != 0:
    fail(f"/summary/prefix_cache: {table}")
print(f"hand trace: cached {list(r['cached_tokens'])}, TTFT {[round(x, 6) for x in ttft]}, hit ratio {ratio:.6f}")

# 4. The same trace with its hashes ignored.
_, out = run(f"{SRC}/tests/data/prefix.yaml", "--set", "demand.trace.hash_col=none")
r0 = requests(out)
if np.any(r0["cached_tokens"] != 0) or np.max(np.abs(r0["t_first_token"] - r0["t_arrival"] - 0.001 * r0["prompt_tokens"])) > 1e-9:
    fail("hash_col: none still caches")
with h5py.File(out) as f:
    if not np.isnan(f.attrs["prefix_hit_ratio"]) or "prefix_cache" in f["summary"]:
        fail("without hashes the hit ratio must be NaN and /summary/prefix_cache absent")

# 2. Error paths.
tmp = tempfile.mkdtemp(prefix="cpnprefix-")
for bad, why in [("[1, -2]", "a block hash must be a non-negative integer"),
                 ("[1, 2.5]", "a block hash must be an integer in [0, 2^64)"),
                 ("[1, 18446744073709551616]", "a block hash must be an integer in [0, 2^64)"),
                 ('{"a": 1}', "expected a list of block hashes")]:
    path = os.path.join(tmp, "bad.jsonl")
    with open(path, "w") as f:
        f.write('{"timestamp": 0, "input_length": 2048, "output_length": 2, "hash_ids": %s}\n' % bad)
    p, _ = run(f"{SRC}/tests/data/prefix.yaml", "--set", f"demand.trace.file={path}", check=False)
    if p.returncode != 2 or f"{path}:1:" not in p.stderr or "hash_ids" not in p.stderr or why not in p.stderr:
        fail(f"hash_ids {bad}: exit {p.returncode}, message {p.stderr!r}")

p, _ = run(f"{SRC}/tests/data/prefix.yaml", "--set", "demand.trace.hash_col=none", "--set",
           "demand.trace.block_tokens=256", check=False)
if p.returncode != 2 or "demand.trace.block_tokens" not in p.stderr or "no effect" not in p.stderr:
    fail(f"block_tokens without hashes: exit {p.returncode}, message {p.stderr!r}")

# 3. Routing on a trace with reuse: 128 documents of 32 blocks, each request one of them plus 300 tokens
# of its own (a block of its own), 4 requests/s, 100 output tokens.
trace = os.path.join(tmp, "prefix-routing.jsonl")
rng = random.Random(7)
t, k = 0.0, 0
with open(trace, "w") as f:
    while t < 600:
        t += rng.expovariate(4.0)
        d = rng.randrange(128)
        ids = [d * 1000 + b for b in range(32)] + [10**9 + k]
        k += 1
        f.write('{"timestamp": %d, "input_length": %d, "output_length": 100, "hash_ids": %s}\n'
                % (round(t * 1000), 32 * 512 + 300, ids))
res = {}
for pol in ["least-loaded", "prefix-aware"]:
    _, out = run(f"{SRC}/tests/data/prefix-routing.yaml", "--set", f"demand.trace.file={trace}", "--policy", pol)
    r = requests(out)
    r = r[r["t_arrival"] >= 60]
    if np.any(r["status"] != 0):
        fail(f"{pol}: not every request completed")
    with h5py.File(out) as f:
        ratio = float(f.attrs["prefix_hit_ratio"])
    res[pol] = (np.median(r["t_first_token"] - r["t_arrival"]), ratio)
    print(f"{pol}: {len(r)} requests, p50 TTFT {res[pol][0]:.4f} s, hit ratio {ratio:.3f}")
if not res["prefix-aware"][0] < 0.5 * res["least-loaded"][0]:
    fail(f"prefix-aware p50 TTFT {res['prefix-aware'][0]:.4f} s is not below half least-loaded's {res['least-loaded'][0]:.4f} s")
if not res["prefix-aware"][1] > res["least-loaded"][1] + 0.1:
    fail(f"prefix-aware hit ratio {res['prefix-aware'][1]:.3f} not above least-loaded's {res['least-loaded'][1]:.3f}")

# 5. Prefix affinity within a site (tests/data/prefix-site.yaml: one site of four replicas, the same
# trace): the replica caching the longest prefix within run.affinity_slack requests of the least loaded
# takes the request; -1 (always the least loaded) caches less and waits longer.
aff = {}
for slack in [-1, 4]:
    _, out = run(f"{SRC}/tests/data/prefix-site.yaml", "--set", f"demand.trace.file={trace}", "--set",
                 f"run.affinity_slack={slack}")
    r = requests(out)
    r = r[r["t_arrival"] >= 60]
    with h5py.File(out) as f:
        aff[slack] = (np.median(r["t_first_token"] - r["t_arrival"]), float(f.attrs["prefix_hit_ratio"]))
    print(f"one site, affinity_slack {slack}: p50 TTFT {aff[slack][0]:.4f} s, hit ratio {aff[slack][1]:.3f}")
if not (aff[4][1] > aff[-1][1] + 0.2 and aff[4][0] < 0.5 * aff[-1][0]):
    fail("prefix affinity within a site should raise the hit ratio and cut the median TTFT")

# 6. Generated requests (tests/data/prefix-gen.yaml, classes[].block_hashes). Two-turn conversations of
# 1024-token prompts and 512-token replies: turn 1 caches nothing, turn 2 (2560 tokens) finds the 1536 of
# turn 1 (3 blocks); TTFT = 1 ms x uncached prompt tokens (served one at a time, no network).
_, out = run(f"{SRC}/tests/data/prefix-gen.yaml")
r = requests(out)
r = r[r["status"] == 0]
first, second = r[r["prompt_tokens"] == 1024], r[r["prompt_tokens"] == 2560]
if len(first) < 10 or len(second) < 10 or len(first) + len(second) != len(r):
    fail(f"conversations: {len(first)} first turns, {len(second)} second turns of {len(r)}")
if np.any(first["cached_tokens"] != 0) or np.any(second["cached_tokens"] != 1536):
    fail(f"cached tokens: first turns {set(first['cached_tokens'])}, second {set(second['cached_tokens'])}")
order = np.argsort(r["t_arrival"])
free = r["t_arrival"][order][1:] >= r["t_done"][order][:-1]  # nothing queued ahead of it
x = r[order][1:][free]
if np.max(np.abs(x["t_first_token"] - x["t_arrival"] - 0.001 * (x["prompt_tokens"].astype(float) - x["cached_tokens"]))) > 1e-9:
    fail("TTFT differs from 1 ms per uncached prompt token")
print(f"sessions: {len(first)} conversations, second turns cache 1536 of 2560 tokens")
# Shared system prompts: 2 of 1024 tokens ahead of 100-token prompts: each caches 1024 tokens after its
# first use, so exactly 2 requests cache nothing and the hit ratio is (n - 2) x 1024 / (n x 1124).
_, out = run(f"{SRC}/tests/data/prefix-gen.yaml", "--set", "classes.chat.share=0", "--set", "classes.sys.share=1")
r = requests(out)
with h5py.File(out) as f:
    cached = float(f.attrs["prefix_cached_tokens"])
n = len(r)
if np.any(r["prompt_tokens"] != 1124) or int((r["cached_tokens"] == 0).sum()) != 2 or \
        np.any((r["cached_tokens"] != 0) & (r["cached_tokens"] != 1024)) or cached != (n - 2) * 1024:
    fail(f"system prompts: {n} requests, {int((r['cached_tokens'] == 0).sum())} uncached, {cached} cached tokens")
print(f"system prompts: {n} requests, 2 uncached, hit ratio {cached / (n * 1124):.4f}")
p, _ = run(f"{SRC}/tests/data/prefix-gen.yaml", "--set", "classes.sys.system_prompt_tokens=0", check=False)
if p.returncode != 2 or "system_prompts and system_prompt_tokens go together" not in p.stderr:
    fail(f"system_prompts without tokens: exit {p.returncode}, {p.stderr!r}")
print("ok")
