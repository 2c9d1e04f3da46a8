"""cpnsim-plan on the one-site M/M/c scenario (tests/data/mmc.yaml: FCFS servers, exponential service,
Poisson arrivals, no network, so the mean TTFT is the mean wait in queue Wq): the smallest number of
servers meeting `ttft_mean_s <= 0.15` at lambda = 10.2/s, mu = 0.75/s is the c that Erlang C gives (17:
Wq(16) = 0.241 s, Wq(17) = 0.114 s), and the largest demand scale that 17 servers sustain under the same
target is the one Erlang C gives, within the bisection tolerance and the noise of the runs."""
import re
import tempfile

from cpntest import SRC, fail, mmc_wait
from sweeplib import PLAN, index, text

import subprocess

LAM, MU, W = 10.2, 0.75, 0.15

want_c = next(c for c in range(1, 100) if mmc_wait(LAM, MU, c) <= W)
common = ["--set", f"origins.users.rate_rps={LAM}", "--set", f"sites.s.replicas.0.scheduler_params.step_s={1 / (MU * 1000)!r}",
          "--set", "run.duration_s=8000", "--set", "run.warmup_s=200", "--target", f"ttft_mean_s<={W}",
          "--seeds", "2", "--workers", "2", "--quiet"]
tmp = tempfile.mkdtemp(prefix="cpnplan-")
p = subprocess.run([PLAN, f"{SRC}/tests/data/mmc.yaml", "--knob", "sites.s.replicas.0.count", "--range", "10:40",
                    "--out", f"{tmp}/c", *common], capture_output=True, text=True)
print(p.stdout)
if p.returncode != 0:
    fail(f"cpnsim-plan exited {p.returncode}:\n{p.stderr[-3000:]}")
m = re.search(r"answer: sites.s.replicas.0.count = (\d+)", p.stdout)
if not m or int(m.group(1)) != want_c:
    fail(f"capacity answer {m and m.group(1)}, Erlang C gives c = {want_c}")
# The evidence: each tried c with its mean; the two around the answer agree with Erlang C within 12%.
rows, attrs = index(f"{tmp}/c/index.h5")
for c in (want_c - 1, want_c):
    got = [r["ttft_mean_s"] for r in rows if text(r["sites.s.replicas.0.count"]) == str(c)]
    if len(got) != 2:
        fail(f"c = {c}: {len(got)} runs in the index")
    mean = sum(got) / 2
    if abs(mean / mmc_wait(LAM, MU, c) - 1) > 0.12:
        fail(f"c = {c}: simulated Wq {mean:.4f}, Erlang C {mmc_wait(LAM, MU, c):.4f}")
    print(f"c = {c}: simulated Wq {mean:.4f} s, Erlang C {mmc_wait(LAM, MU, c):.4f} s")
if not re.search(rf"^\s+{want_c - 1}\s+2\s.*\bno\b", p.stdout, re.M) or not re.search(rf"^\s+{want_c}\s+2\s.*\byes", p.stdout, re.M):
    fail("the evidence table does not show c-1 failing and c meeting the target")

# Largest demand scale with c servers: Erlang C's lambda at which Wq = W, by bisection.
lo, hi = 0.1, want_c * MU * 0.999999
for _ in range(100):
    mid = (lo + hi) / 2
    lo, hi = (mid, hi) if mmc_wait(mid, MU, want_c) <= W else (lo, mid)
want_scale = lo / LAM
p = subprocess.run([PLAN, f"{SRC}/tests/data/mmc.yaml", "--max-scale", "--range", "0.5:1.3", "--tol", "0.02",
                    "--set", f"sites.s.replicas.0.count={want_c}", "--out", f"{tmp}/s", *common],
                   capture_output=True, text=True)
print(p.stdout)
m = re.search(r"answer: demand.scale ([0-9.]+) is the largest", p.stdout)
if p.returncode != 0 or not m:
    fail(f"cpnsim-plan --max-scale exited {p.returncode}:\n{p.stdout}\n{p.stderr[-2000:]}")
got = float(m.group(1))
print(f"largest demand scale: {got:.4f}, Erlang C {want_scale:.4f}")
if abs(got / want_scale - 1) > 0.05:
    fail(f"largest demand scale {got}, Erlang C {want_scale:.4f}")

# Bad input exits 2 naming the problem.
p = subprocess.run([PLAN, f"{SRC}/tests/data/mmc.yaml", "--knob", "sites.s.replicas.0.count", "--range", "10:4",
                    "--target", "ttft_mean_s<=1"], capture_output=True, text=True)
if p.returncode != 2 or "--range" not in p.stderr:
    fail(f"bad --range: exit {p.returncode} {p.stderr}")
p = subprocess.run([PLAN, f"{SRC}/tests/data/mmc.yaml", "--knob", "sites.s.replicas.0.cuont", "--range", "1:4",
                    "--target", "ttft_mean_s<=1", "--out", f"{tmp}/x"], capture_output=True, text=True)
if p.returncode != 2 or "cuont" not in p.stderr:
    fail(f"bad --knob: exit {p.returncode} {p.stderr}")
p = subprocess.run([PLAN, f"{SRC}/tests/data/mmc.yaml", "--knob", "sites.s.replicas.0.count", "--range", "4:8",
                    "--target", "ttft_p99_z<=1", "--seeds", "1", "--set", "run.duration_s=2000", "--out", f"{tmp}/y",
                    "--quiet"], capture_output=True, text=True)
if p.returncode != 2 or "no column 'ttft_p99_z'" not in p.stderr:
    fail(f"unknown target metric: exit {p.returncode} {p.stderr}")
print("ok")
