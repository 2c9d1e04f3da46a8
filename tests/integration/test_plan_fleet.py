"""cpnsim-plan's cheapest fleet and its capacity split across sites, against Erlang C.

1. Cheapest fleet (tests/data/mmc.yaml, one M/M/c site, lambda = 10.2/s, target mean wait <= 0.15 s): three
   accelerator options, each a service rate mu and a purchase price (the pool grows with the replicas, one
   server per accelerator; electricity priced at 0, so the full cost is the capex alone). Erlang C gives
   each option's smallest c (fast mu 1: 13, mid mu 0.75: 17, slow mu 0.5: 25), so the fleet costs are
   13 x 30,000, 17 x 20,000 and 25 x 12,000 USD: the slow option is the cheapest by 12%. The search must
   find each c, pick `slow`, and report full costs per token in the ratio of those fleet costs (the
   tokens served are the same workload), and the full cost must be the hand arithmetic of capex amortised
   over 5 years for the measured window divided by the tokens.
2. Capacity across sites by rule (tests/data/mmc2.yaml: two independent M/M/c sites, 10.2/s and 5.1/s,
   mu = 0.75): the total split 2:1 by largest remainder must give each site the c Erlang C asks for its
   own mean wait <= 0.15 s (17 and 10); the smallest such total, found by brute force over the same rule,
   is 29 (19 + 10: at 28 the rule gives 19 + 9)."""
import re
import subprocess
import tempfile

import h5py

from cpntest import SRC, fail, mmc_wait
from sweeplib import PLAN, index, text

W = 0.15


def min_c(lam, mu):
    return next(c for c in range(1, 1000) if mmc_wait(lam, mu, c) <= W)


tmp = tempfile.mkdtemp(prefix="cpnfleet-")
LAM = 10.2
OPTIONS = {"fast": (1.0, 30000.0), "mid": (0.75, 20000.0), "slow": (0.5, 12000.0)}
want = {n: min_c(LAM, mu) for n, (mu, _) in OPTIONS.items()}
fleet_usd = {n: want[n] * OPTIONS[n][1] for n in OPTIONS}
cheapest = min(fleet_usd, key=fleet_usd.get)
print("Erlang C:", want, "fleet USD:", fleet_usd, "cheapest:", cheapest)
args = [PLAN, f"{SRC}/tests/data/mmc.yaml", "--set", f"origins.users.rate_rps={LAM}", "--set", "run.duration_s=8000",
        "--set", "run.warmup_s=200", "--set", "sites.s.price_usd_per_kwh=0",
        "--knob", "sites.s.pools.p.count,sites.s.replicas.0.count"]
for n, (mu, capex) in OPTIONS.items():
    args += ["--option", n, "--set", f"sites.s.replicas.0.scheduler_params.step_s={1 / (mu * 1000)!r}",
             "--set", f"sites.s.pools.p.capex_usd_per_accel={capex}"]
args += ["--range", "8:40", "--target", f"ttft_mean_s<={W}", "--seeds", "2", "--workers", "2", "--quiet",
         "--out", f"{tmp}/fleet"]
p = subprocess.run(args, capture_output=True, text=True)
print(p.stdout)
if p.returncode != 0:
    fail(f"cpnsim-plan exited {p.returncode}:\n{p.stderr[-3000:]}")
got, cost = {}, {}
for n in OPTIONS:
    m = re.search(rf"^  {n}\s+sites.s.pools.p.count,sites.s.replicas.0.count = (\d+)\s+full cost ([0-9.e+-]+)",
                  p.stdout, re.M)
    if not m:
        fail(f"no answer line for option {n}")
    got[n], cost[n] = int(m.group(1)), float(m.group(2))
if got != want:
    fail(f"smallest c per option {got}, Erlang C {want}")
m = re.search(r"^answer: cheapest fleet: option (\w+), .* = (\d+), full cost ([0-9.e+-]+) USD per million tokens",
              p.stdout, re.M)
if not m or m.group(1) != cheapest or int(m.group(2)) != want[cheapest]:
    fail(f"cheapest fleet line {m and m.group(0)}; want option {cheapest} with c = {want[cheapest]}")
# Full costs per token in the ratio of the fleets' capex (same workload, same tokens, within 1%).
for n in OPTIONS:
    r = (cost[n] / cost[cheapest]) / (fleet_usd[n] / fleet_usd[cheapest])
    print(f"{n}: c = {got[n]}, full cost {cost[n]:.4f} USD/Mtok, ratio to the capex ratio {r:.4f}")
    if abs(r - 1) > 0.01:
        fail(f"option {n}: full cost ratio {r:.4f} of the capex ratio")
# Hand arithmetic on one run of the answer: capex / (5 years) x measured window / tokens measured.
rows, _ = index(f"{tmp}/fleet/index.h5")
row = next(r for r in rows if text(r["option"]) == cheapest and text(r["value"]) == str(want[cheapest]))
with h5py.File(f"{tmp}/fleet/{text(row['path'])}", "r") as f:
    ov = f["summary/overall"][0]
    measured = 8000 - 200
    tokens = ov["prompt_tokens"] + ov["output_tokens"] if "prompt_tokens" in ov.dtype.names else None
    full = ov["full_cost_usd"]
hand = want[cheapest] * OPTIONS[cheapest][1] / (5 * 365.25 * 86400)
print(f"full cost of the window {full:.4f} USD; capex rate x window {hand * measured:.4f} USD")
if abs(full / (hand * measured) - 1) > 0.02:
    fail(f"full_cost_usd {full} against capex x window {hand * measured}")
if not re.search(r"^ option slow:\n\s+value\s+runs", p.stdout, re.M) or "full USD per Mtok" not in p.stdout:
    fail("the evidence table per option with its full cost column is missing")

# 2. Capacity across sites: total split 2:1, per-site targets.


def split(total, weights):
    q = [total * w / sum(weights) for w in weights]
    a = [int(x) for x in q]
    frac = [x - int(x) for x in q]
    for _ in range(total - sum(a)):
        i = max(range(len(a)), key=lambda k: (frac[k], -k))
        a[i] += 1
        frac[i] = -1
    return a


need = [min_c(10.2, 0.75), min_c(5.1, 0.75)]
want_total = next(t for t in range(2, 200) if all(x >= n for x, n in zip(split(t, [2, 1]), need)))
print("Erlang C per site:", need, "smallest total split 2:1:", want_total, split(want_total, [2, 1]))
p = subprocess.run([PLAN, f"{SRC}/tests/data/mmc2.yaml", "--total", "--knob", "sites.a.replicas.0.count:2",
                    "--knob", "sites.b.replicas.0.count:1", "--range", "6:60", "--target", f"sites/a/ttft_mean_s<={W}",
                    "--target", f"sites/b/ttft_mean_s<={W}", "--seeds", "2", "--workers", "2", "--quiet",
                    "--out", f"{tmp}/split"], capture_output=True, text=True)
print(p.stdout)
m = re.search(r"^answer: total of sites.a.replicas.0.count, sites.b.replicas.0.count = (\d+) split (\d+)\+(\d+)",
              p.stdout, re.M)
if p.returncode != 0 or not m:
    fail(f"cpnsim-plan --total exited {p.returncode}:\n{p.stdout}\n{p.stderr[-2000:]}")
if int(m.group(1)) != want_total or [int(m.group(2)), int(m.group(3))] != split(want_total, [2, 1]):
    fail(f"total {m.group(0)}; Erlang C and the rule give {want_total} = {split(want_total, [2, 1])}")
if not re.search(rf"^\s+{want_total - 1}\s+2\s+{re.escape('+'.join(map(str, split(want_total - 1, [2, 1]))))}\s.*\bno\b",
                 p.stdout, re.M):
    fail("the evidence does not show the total below the answer failing with its split")

# Bad input: a weight without --total, --option without knobs, --total too small for the knobs.
for bad_args, msg in [(["--knob", "sites.a.replicas.0.count:2"], "no effect without --total"),
                      (["--option", "x", "--set", "run.seed=3"], "--option x has no --knob"),
                      (["--total", "--knob", "sites.a.replicas.0.count", "--knob", "sites.b.replicas.0.count",
                        "--knob", "sites.b.pools.p.count"], "at least 1"),
                      (["--knob", "sites.a.replicas.0.count:0"], "KEY[,KEY...][:WEIGHT]")]:
    rng = "1:2" if "--total" in bad_args else "1:4"
    p = subprocess.run([PLAN, f"{SRC}/tests/data/mmc2.yaml", *bad_args, "--range", rng, "--target", "ttft_mean_s<=1",
                        "--seeds", "1", "--quiet", "--out", f"{tmp}/bad"], capture_output=True, text=True)
    if p.returncode not in (1, 2) or msg not in p.stderr:
        fail(f"{bad_args}: exit {p.returncode}, stderr {p.stderr}")
print("ok")
