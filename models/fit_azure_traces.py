#!/usr/bin/env python3
"""Lognormal fits of the Azure LLM inference traces (2023-11-16, Splitwise, ISCA 2024).

Reads tests/data/AzureLLMInferenceTrace_{conv,code}.csv (columns TIMESTAMP,ContextTokens,GeneratedTokens)
and prints, for ContextTokens (prompt) and GeneratedTokens (output) of each trace, the maximum-likelihood
lognormal fit: mu = mean of ln x, sigma = population standard deviation of ln x (divide by n). These are
the values of CPN_AZURE_* in models/cpn_workload.c; tests/unit/test_workload.c refits them in C and checks
that they agree to 1e-6 relative.

Usage: python3 models/fit_azure_traces.py [path/to/tests/data]
"""
import csv
import math
import os
import sys

import numpy as np


def load(path):
    prompt, output = [], []
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        assert header[1:3] == ["ContextTokens", "GeneratedTokens"], header
        for row in rows:
            prompt.append(float(row[1]))
            output.append(float(row[2]))
    return np.array(prompt), np.array(output)


def fit(x):
    lx = np.log(x)
    mu = float(np.mean(lx))
    sigma = float(np.sqrt(np.mean((lx - mu) ** 2)))  # MLE: population sd
    return mu, sigma


def phi(z):
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def clamped_mean(mu, sigma, hi):
    """E[min(X, hi)] for X lognormal(mu, sigma): what cpn_dist_draw averages with max = hi (before rounding)."""
    lh = math.log(hi)
    return (math.exp(mu + sigma * sigma / 2) * phi((lh - mu - sigma * sigma) / sigma)
            + hi * (1.0 - phi((lh - mu) / sigma)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "data")
    for trace in ("conv", "code"):
        prompt, output = load(os.path.join(data, f"AzureLLMInferenceTrace_{trace}.csv"))
        for series, x in (("PROMPT", prompt), ("OUTPUT", output)):
            mu, sigma = fit(x)
            name = f"CPN_AZURE_{trace.upper()}_{series}"
            print(f"{name}: n={x.size} mu={mu:.17g} sigma={sigma:.17g} min={x.min():.0f} max={x.max():.0f}")
            print(f"  empirical mean={x.mean():.1f} median={np.median(x):.1f}; "
                  f"fitted mean={math.exp(mu + sigma * sigma / 2):.1f} median={math.exp(mu):.1f}; "
                  f"fitted mean clamped to max={clamped_mean(mu, sigma, x.max()):.1f}")


if __name__ == "__main__":
    main()
