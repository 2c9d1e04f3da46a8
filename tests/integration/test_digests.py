"""Behaviour pin: for every scenario in scenarios/ and every built-in policy, a short run with a fixed seed
gives the same /requests bytes as recorded in tests/data/requests-digests.txt (SHA-256 of the raw rows).

A deliberate change of behaviour is its own commit that says why and refreshes the file with
  CPN_DIGESTS_UPDATE=1 ctest --test-dir build -R test_digests
"""
import concurrent.futures
import hashlib
import os
import subprocess
import sys
import tempfile

from cpntest import CPNSIM, SRC, fail
import h5py

DIGESTS = os.path.join(SRC, "tests", "data", "requests-digests.txt")
# Short runs keep the test under a minute; the warm-up must be below the duration.
SETS = ["--set", "run.duration_s=40", "--set", "run.warmup_s=5", "--set", "run.drain_s=60"]
# national-2026-full is the real national volume (a million requests/s, half a million replicas): a scale
# scenario for the benchmarks, far too big to run ten times here; its loading is checked by
# test_scenarios_check like every scenario's.
SCALE_ONLY = {"national-2026-full.yaml"}
SCENARIOS = sorted(f for f in os.listdir(os.path.join(SRC, "scenarios")) if f.endswith(".yaml") and f not in SCALE_ONLY)
# The test scenarios exercise what the library's do not (KV preemption, cold starts, the autoscaler, trace
# replay, confidential pools, flow mode): each runs once with its own policy and its own run length.
EXTRA = ["autoscale.yaml", "cold.yaml", "confidential.yaml", "herding.yaml", "kv.yaml", "mmc.yaml",
         "replay.yaml", "single.yaml"]


def policies():
    p = subprocess.run([CPNSIM, "--list-policies"], capture_output=True, text=True, check=True)
    return [l.split()[0] for l in p.stdout.splitlines() if l.strip()]


def digest(scenario, policy, tmp):
    out = os.path.join(tmp, f"{scenario}-{policy}.h5")
    if policy == "flow":
        args = [os.path.join(SRC, "scenarios", scenario), "--set", "run.network_mode=flow", *SETS]
    elif policy == "own":
        args = [os.path.join(SRC, "tests", "data", scenario)]
    else:
        args = [os.path.join(SRC, "scenarios", scenario), "--policy", policy, *SETS]
    p = subprocess.run([CPNSIM, *args, "--seed", "11", "--out", out, "--quiet"], capture_output=True, text=True)
    if p.returncode != 0:
        return f"exit-{p.returncode}", 0
    with h5py.File(out, "r") as f:
        rows = f["requests"][:]
    os.unlink(out)
    # cached_tokens (prefix caching) was appended to /requests later: a run whose requests carry no block
    # hashes is digested without it, so the pins recorded before it still hold; with hashes it counts.
    if "cached_tokens" in rows.dtype.names and not rows["cached_tokens"].any():
        from numpy.lib import recfunctions
        rows = recfunctions.repack_fields(rows[[n for n in rows.dtype.names if n != "cached_tokens"]])
    return hashlib.sha256(rows.tobytes()).hexdigest(), len(rows)


def main():
    tmp = tempfile.mkdtemp(prefix="cpndigest-")
    jobs = [(sc, pol) for sc in SCENARIOS for pol in policies()]
    jobs += [(sc, "own") for sc in EXTRA] + [("overseas-pos.yaml", "flow")]
    # One simulation per process (SimGrid); runs are independent, so they go two at a time.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        got = dict(zip(jobs, pool.map(lambda j: digest(j[0], j[1], tmp), jobs)))
    if os.environ.get("CPN_DIGESTS_UPDATE"):
        with open(DIGESTS, "w") as f:
            f.write("# scenario policy sha256(/requests rows) rows; seed 11, " + " ".join(SETS[1::2]) + "\n")
            for (sc, pol), (d, n) in sorted(got.items()):
                f.write(f"{sc} {pol} {d} {n}\n")
        print(f"wrote {len(got)} digests to {DIGESTS}")
        return
    want = {}
    with open(DIGESTS) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            sc, pol, d, n = line.split()
            want[(sc, pol)] = (d, int(n))
    bad = [k for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
    for k in bad:
        print(f"{k[0]} {k[1]}: recorded {want.get(k)}, now {got.get(k)}", file=sys.stderr)
    if bad:
        fail(f"{len(bad)} of {len(want)} (scenario, policy) pairs changed their /requests bytes")
    print(f"ok: {len(got)} (scenario, policy) pairs give their recorded /requests bytes")


if __name__ == "__main__":
    main()
