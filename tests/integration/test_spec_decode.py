"""Speculative decoding (sites[].replicas[].speculative_*): k draft tokens per step, each accepted with
probability a, a draft step costing c of a decode step. A step yields E = (1 - a^(k+1)) / (1 - a) tokens
per sequence on average (Leviathan, Kalman and Matias, ICML 2023) and costs one verification step over
k + 1 tokens plus k draft steps.

1. Fixed times (tests/data/spec.yaml: fcfs, 10 ms steps; k = 4, a = 0.8, c = 0.1): E = 3.3616, so the 100
   decoded tokens after the first take 100 x 0.01 x (1 + 4 x 0.1) / 3.3616 s = 0.416469... s instead of
   1 s: end-to-end minus TTFT equals it within 1e-9 s. a = 1 gives E = k + 1 = 5.
2. The roofline (scheduler continuous, 8B on one H100, batch 1, memory bound): verifying 5 tokens costs
   what decoding 1 does, so the speed-up is E / (1 + k c) = 2.801 (c = 0.05); with a = 0 (every draft
   token rejected, E = 1) decoding costs 1 + k c times more.
3. Keys with no effect are refused (exit 2)."""
import numpy as np

from cpntest import SRC, fail, requests, run

SC = f"{SRC}/tests/data/spec.yaml"


def decode_s(*sets):
    _, out = run(SC, *sets)
    r = requests(out)
    if len(r) != 2 or np.any(r["status"] != 0):
        fail(f"{sets}: {r}")
    return r["t_done"] - r["t_first_token"]


def e_of(k, a):
    return k + 1 if a == 1 else (1 - a ** (k + 1)) / (1 - a)


got = decode_s()
want = 100 * 0.01 * (1 + 4 * 0.1) / e_of(4, 0.8)
print(f"fixed times: decode {got} s, closed form {want:.9f} s (E = {e_of(4, 0.8):.4f})")
if np.max(np.abs(got - want)) > 1e-9:
    fail("decode time differs from the closed form")
got = decode_s("--set", "sites.s.replicas.0.speculative_acceptance=1")
if np.max(np.abs(got - 100 * 0.01 * 1.4 / 5)) > 1e-9:
    fail(f"acceptance 1: {got}, want {100 * 0.01 * 1.4 / 5}")

perf = ["--set", "sites.s.replicas.0.scheduler=continuous", "--set", "sites.s.replicas.0.scheduler_params={}"]
base = decode_s(*perf, "--set", "sites.s.replicas.0.speculative_tokens=0", "--set",
                "sites.s.replicas.0.speculative_acceptance=null", "--set", "sites.s.replicas.0.speculative_draft_cost=null")
fast = decode_s(*perf, "--set", "sites.s.replicas.0.speculative_draft_cost=0.05")
none = decode_s(*perf, "--set", "sites.s.replicas.0.speculative_acceptance=0")
bound = e_of(4, 0.8) / (1 + 4 * 0.05)
print(f"roofline, batch 1: decode {base[0]:.4f} s plain, {fast[0]:.4f} s speculative (speed-up "
      f"{base[0] / fast[0]:.3f}, bound {bound:.3f}), {none[0]:.4f} s with nothing accepted")
# Batch 1 is memory bound for 5 tokens as for 1 (max(compute, memory) picks memory both times), so the
# speed-up is the closed form itself, and with nothing accepted decoding costs 1 + k c = 1.4 times more.
if abs(base[0] / fast[0] - bound) > 1e-9 * bound:
    fail(f"speed-up {base[0] / fast[0]} differs from E / (1 + k c) = {bound}")
if abs(none[0] / base[0] - 1.4) > 1e-9:
    fail(f"nothing accepted: {none[0] / base[0]} times the plain decode, want 1 + 4 x 0.1")

for sets, why in [(["--set", "sites.s.replicas.0.speculative_tokens=0", "--set",
                    "sites.s.replicas.0.speculative_draft_cost=null"], "speculative_acceptance: has no effect"),
                  (["--set", "sites.s.replicas.0.speculative_acceptance=null"], "needs speculative_acceptance"),
                  (["--set", "sites.s.replicas.0.speculative_acceptance=1.5"], "must be in [0, 1]")]:
    p, _ = run(SC, *sets, check=False)
    if p.returncode != 2 or why not in p.stderr or "sites[0].replicas[0].speculative" not in p.stderr:
        fail(f"{sets}: exit {p.returncode}, {p.stderr!r}")
print("ok")
