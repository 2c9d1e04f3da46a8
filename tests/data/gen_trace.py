#!/usr/bin/env python3
"""Writes a synthetic Vidur-format request trace to stdout, for benchmarks of the trace reader.

Format (the "vidur" / "splitwise" mapping of sim/trace.h):

    arrived_at,num_prefill_tokens,num_decode_tokens
    0.000000,1023,87
    ...

arrived_at is in seconds (6 decimals), non-decreasing: Poisson arrivals at --rate-rps from 0. Token
counts are lognormal draws with the Azure 2023 fits of models/cpn_workload.c (--profile conv or code),
rounded and clamped to [1, trace maximum]. The output is a pure function of the arguments (Python's
Mersenne Twister seeded with --seed), so the same command gives the same bytes. Standard library only;
about 2 s per million rows (10 million: about 20 s, 210 MB).

Example (the engine benchmark's 10 million rows):

    python3 tests/data/gen_trace.py 10000000 --rate-rps 50 --seed 7 > /tmp/trace_10M.csv
"""
import argparse
import math
import random
import sys

# (mu, sigma, max) of ln(tokens): the CPN_AZURE_* constants in models/cpn_workload.c.
PROFILES = {
    "conv": ((6.6333129281745524, 0.98515427009330903, 14050), (5.0189968871872193, 0.85900928375928387, 1000)),
    "code": ((6.9986438275589418, 1.3601926286262163, 7437), (2.7881569808545756, 0.8472377176924184, 1899)),
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("rows", type=int, help="number of data rows (the header line is extra)")
    ap.add_argument("--rate-rps", type=float, default=10.0, help="mean arrival rate in requests/s (default 10)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="conv", help="token-length fit (default conv)")
    a = ap.parse_args(argv)
    if a.rows < 0 or not (a.rate_rps > 0) or math.isinf(a.rate_rps):
        ap.error("rows must be >= 0 and --rate-rps a finite number > 0")

    rng = random.Random(a.seed)
    (pmu, psig, pmax), (omu, osig, omax) = PROFILES[a.profile]
    expo, lognorm = rng.expovariate, rng.lognormvariate
    out = sys.stdout
    out.write("arrived_at,num_prefill_tokens,num_decode_tokens\n")
    t = 0.0
    chunk = []
    for _ in range(a.rows):
        p = min(max(round(lognorm(pmu, psig)), 1), pmax)
        o = min(max(round(lognorm(omu, osig)), 1), omax)
        chunk.append("%.6f,%d,%d\n" % (t, p, o))
        t += expo(a.rate_rps)
        if len(chunk) == 65536:
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))
    out.flush()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # e.g. piped into head
        sys.exit(0)
