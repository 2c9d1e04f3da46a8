"""Queueing check: one site, Poisson arrivals, exponential service, c servers, no network, batch 1.
The mean response time must match M/M/c (Erlang C) within 2% at two (lambda, mu, c) points."""
import math

import numpy as np

from cpntest import SRC, erlang_c, fail, requests, run


def mmc_response(lam, mu, c):
    return erlang_c(lam, mu, c) / (c * mu - lam) + 1 / mu


for lam, mu, c, n in [(3.0, 1.0, 4, 200_000), (10.2, 0.75, 16, 300_000)]:
    step = 1.0 / (mu * 1000.0)
    dur = n / lam
    _, out = run(f"{SRC}/tests/data/mmc.yaml", "--set", f"origins.users.rate_rps={lam}",
                 "--set", f"sites.s.replicas.0.scheduler_params.step_s={step!r}", "--set", f"sites.s.replicas.0.count={c}",
                 "--set", f"run.duration_s={dur!r}", "--set", f"run.warmup_s={dur * 0.02!r}")
    r = requests(out)
    meas = r[(r["t_arrival"] >= dur * 0.02) & (r["status"] == 0)]
    if len(meas) < 0.95 * n:
        fail(f"lambda={lam}: only {len(meas)} measured completions")
    w = float(np.mean(meas["t_done"] - meas["t_arrival"]))
    want = mmc_response(lam, mu, c)
    err = (w - want) / want
    print(f"lambda={lam} mu={mu} c={c} rho={lam / (c * mu):.3f}: simulated W={w:.4f} s, "
          f"Erlang C W={want:.4f} s, error {100 * err:+.2f}% over {len(meas)} requests")
    if abs(err) > 0.02:
        fail(f"M/M/c mean response off by {100 * err:.2f}%")
# prefill_s_per_token without step_s would have no effect: refused, by --check as by a run.
for extra in (["--check"], []):
    p, _ = run(f"{SRC}/tests/data/mmc.yaml", *extra, "--set", "sites.s.replicas.0.scheduler_params.step_s=0",
               "--set", "sites.s.replicas.0.scheduler_params.prefill_s_per_token=0.001", check=False)
    if p.returncode != 2 or "mmc.yaml:" not in p.stderr or "sites.s.replicas.0.scheduler_params" not in p.stderr \
            or "prefill_s_per_token needs step_s > 0" not in p.stderr:
        fail(f"fcfs prefill_s_per_token without step_s {extra}: exit {p.returncode}, {p.stderr!r}")
print("ok")
