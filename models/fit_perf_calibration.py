#!/usr/bin/env python3
"""Fit the default calibration of models/cpn_perf.c to NVIDIA TensorRT-LLM's published throughput.

Offline helper, not used at build or run time. It mirrors cpn_perf_saturated_output_tps() (same
formulas, same catalog figures) and grid-searches the four global factors: prefill_eff, decode_eff,
step_overhead_s and tp_allreduce_s. It prints the Pareto front of (worst error on the five calibration
targets, worst error on all 20 H100 rows of the table) and the table for the chosen point. The chosen
point was picked by hand on that front: targets within 8% while keeping every H100 row near 15%.
The unit test tests/unit/test_perf.c checks the C implementation against the same targets.

Source: NVIDIA TensorRT-LLM docs/source/performance/perf-overview.md, Total Output Throughput at maximum
load, FP8 checkpoints. Usage: python3 models/fit_perf_calibration.py
"""
import math

MAX_BATCH = 2048          # TensorRT-LLM LlmArgs.max_batch_size default
KV_MEM_FRACTION = 0.9     # vLLM gpu_memory_utilization default

ACCELS = {  # mem bytes (decimal GB), HBM B/s, dense FP8 FLOP/s
    "h100": dict(mem=80e9, bw=3.35e12, flops=1979e12),
    "h200": dict(mem=141e9, bw=4.8e12, flops=1979e12),
}
LLMS = {  # params (= active), KV bytes/token at FP8, layers
    "llama-3.1-8b": dict(params=8.03e9, kv=2 * 32 * 8 * 128, layers=32),
    "llama-3.3-70b": dict(params=70.6e9, kv=2 * 80 * 8 * 128, layers=80),
}
TARGETS = [  # (model, accel, tp, in, out, published tok/s)
    ("llama-3.1-8b", "h100", 1, 128, 128, 28312),
    ("llama-3.1-8b", "h100", 1, 1000, 1000, 15220),
    ("llama-3.1-8b", "h100", 1, 2048, 128, 3450),
    ("llama-3.3-70b", "h100", 2, 1000, 1000, 4205),
    ("llama-3.3-70b", "h100", 2, 2048, 128, 762),
]
OTHER_H100 = [
    ("llama-3.1-8b", "h100", 1, 128, 2048, 22714), ("llama-3.1-8b", "h100", 1, 128, 4096, 14325),
    ("llama-3.1-8b", "h100", 1, 500, 2000, 17660), ("llama-3.1-8b", "h100", 1, 1000, 2000, 13899),
    ("llama-3.1-8b", "h100", 1, 2048, 2048, 9305), ("llama-3.1-8b", "h100", 1, 5000, 500, 3459),
    ("llama-3.1-8b", "h100", 1, 20000, 2000, 1351),
    ("llama-3.3-70b", "h100", 2, 128, 128, 6378), ("llama-3.3-70b", "h100", 2, 128, 2048, 6651),
    ("llama-3.3-70b", "h100", 2, 128, 4096, 4199), ("llama-3.3-70b", "h100", 2, 500, 2000, 5222),
    ("llama-3.3-70b", "h100", 2, 1000, 2000, 4146), ("llama-3.3-70b", "h100", 2, 2048, 2048, 3082),
    ("llama-3.3-70b", "h100", 2, 5000, 500, 898), ("llama-3.3-70b", "h100", 2, 20000, 2000, 437),
]
H200 = [  # out of sample: not used in the fit
    ("llama-3.1-8b", "h200", 1, 128, 128, 27911), ("llama-3.1-8b", "h200", 1, 1000, 1000, 17744),
    ("llama-3.1-8b", "h200", 1, 2048, 128, 3538), ("llama-3.3-70b", "h200", 1, 128, 128, 3803),
    ("llama-3.3-70b", "h200", 1, 128, 2048, 4336), ("llama-3.3-70b", "h200", 1, 1000, 1000, 2909),
    ("llama-3.3-70b", "h200", 1, 2048, 128, 442), ("llama-3.3-70b", "h200", 1, 2048, 2048, 2003),
]
CHOSEN = (0.54, 0.69, 0.4e-3, 35e-6)


def saturated_tps(row, pe, de, oh, arl):
    model, accel, tp, n_in, n_out, _ = row
    m, a = LLMS[model], ACCELS[accel]
    comm = 2 * m["layers"] * arl if tp > 1 else 0.0
    cap = (tp * a["mem"] * KV_MEM_FRACTION - m["params"]) / m["kv"]
    b = min(MAX_BATCH, math.floor(cap / (n_in + n_out)))
    if b < 1:
        return 0.0
    prefill = 2 * m["params"] * n_in / (tp * a["flops"] * pe) + oh + comm
    ctx = b * (n_in + n_out / 2)
    compute = 2 * m["params"] * b / (tp * a["flops"] * pe)
    memory = (m["params"] + m["kv"] * ctx) / tp / (a["bw"] * de)
    step = max(compute, memory) + oh + comm
    return n_out / (prefill + n_out * step / b)


def worst(rows, p):
    return max(abs(saturated_tps(r, *p) / r[5] - 1) for r in rows)


def main():
    points = []
    for pe in [x / 100 for x in range(45, 71)]:
        for de in [x / 100 for x in range(55, 81)]:
            for oh in [x * 1e-4 for x in range(0, 11)]:
                for arl in [x * 1e-6 for x in range(0, 41, 5)]:
                    p = (pe, de, oh, arl)
                    points.append((worst(TARGETS, p), worst(TARGETS + OTHER_H100, p), p))
    points.sort()
    print("Pareto front: worst target error, worst error over all 20 H100 rows, factors")
    best_all = math.inf
    for t, a, (pe, de, oh, arl) in points:
        if a < best_all:
            best_all = a
            print(f"  {100 * t:5.1f}%  {100 * a:5.1f}%  prefill_eff={pe:.2f} decode_eff={de:.2f} "
                  f"step_overhead={oh * 1e3:.1f} ms allreduce={arl * 1e6:.0f} us")
    print(f"\nchosen: prefill_eff={CHOSEN[0]} decode_eff={CHOSEN[1]} step_overhead_s={CHOSEN[2]} "
          f"tp_allreduce_s={CHOSEN[3]}")
    for title, rows in (("targets", TARGETS), ("other H100 rows", OTHER_H100), ("H200, out of sample", H200)):
        print(f"\n{title}:")
        for r in rows:
            s = saturated_tps(r, *CHOSEN)
            print(f"  {r[0]:14s} {r[1]} tp{r[2]} {r[3]:>5}/{r[4]:<5} sim {s:8.0f}  published {r[5]:6d}  "
                  f"err {100 * (s / r[5] - 1):+5.1f}%")


if __name__ == "__main__":
    main()
