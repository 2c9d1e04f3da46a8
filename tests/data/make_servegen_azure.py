#!/usr/bin/env python3
"""Writes servegen-azure-conv/: the Azure LLM inference conversation trace (AzureLLMInferenceTrace_conv.csv
in this folder, Azure/AzurePublicDataset, CC-BY-4.0) characterised per window in the layout of Alibaba's
ServeGen (the published form test_published_window.py reproduces through scripts/servegen_to_scenario.py).

Windows of 300 s from the first request, the 11 whole ones (3300 s). Per window: chunk-0-trace.csv gets
start (s), rate (requests / 300 s), CV of the gaps between consecutive arrivals in the window, and a
gamma fit by moments (shape 1/cv^2, scale cv^2/rate), as ServeGen's rows; chunk-0-dataset.json gets the
window's prompt (ContextTokens) and output (GeneratedTokens) lengths as {value: probability} at 1%
resolution: the 100 quantiles at (i + 0.5)%, i = 0..99 (lower empirical quantile), each 1%, equal
values merged. Python 3 standard library only; deterministic."""
import csv
import datetime
import json
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
WINDOW_S, N_WINDOWS = 300.0, 11


def quantile_table(xs):
    xs = sorted(xs)
    n = len(xs)
    out = {}
    for i in range(100):
        v = xs[min(n - 1, int(math.floor((i + 0.5) / 100 * n)))]
        out[v] = out.get(v, 0) + 1
    return "{" + ", ".join(f"{v}: {c / 100!r}" for v, c in sorted(out.items())) + "}"


def main():
    rows = []
    with open(os.path.join(HERE, "AzureLLMInferenceTrace_conv.csv")) as f:
        for r in csv.DictReader(f):
            t = datetime.datetime.strptime(r["TIMESTAMP"][:26], "%Y-%m-%d %H:%M:%S.%f")
            rows.append((t, int(r["ContextTokens"]), int(r["GeneratedTokens"])))
    t0 = rows[0][0]
    rows = [((t - t0).total_seconds(), p, o) for t, p, o in rows]
    out = os.path.join(HERE, "servegen-azure-conv")
    os.makedirs(out, exist_ok=True)
    trace, dataset = [], {}
    for w in range(N_WINDOWS):
        a, b = w * WINDOW_S, (w + 1) * WINDOW_S
        win = [r for r in rows if a <= r[0] < b]
        ts = [r[0] for r in win]
        gaps = [y - x for x, y in zip(ts, ts[1:])]
        m = sum(gaps) / len(gaps)
        cv = math.sqrt(sum((g - m) ** 2 for g in gaps) / len(gaps)) / m
        rate = len(win) / WINDOW_S
        trace.append(f"{a:g},{rate!r},{cv!r},Gamma,{1 / cv ** 2!r},{cv ** 2 / rate!r}")
        dataset[f"{a:g}"] = {"input_tokens": quantile_table([r[1] for r in win]),
                             "output_tokens": quantile_table([r[2] for r in win])}
    with open(os.path.join(out, "chunk-0-trace.csv"), "w") as f:
        f.write("\n".join(trace) + "\n")
    with open(os.path.join(out, "chunk-0-dataset.json"), "w") as f:
        json.dump(dataset, f, indent=1)


if __name__ == "__main__":
    main()
