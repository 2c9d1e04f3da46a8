#!/usr/bin/env python3
"""Fit the default calibration of models/cpn_perf.c to NVIDIA TensorRT-LLM's published throughput.

Offline helper, not used at build or run time. It mirrors cpn_perf_saturated_output_tps() (same
formulas, same catalog figures): a forward pass over T tokens costs
    max(2*A*T / (tp*F*prefill_eff), W / (tp*BW*decode_eff))      matrix multiplies (FLOPs or weight read)
  + k*C / (tp*BW*decode_eff)                                      decode attention reading the KV cache
  + step_overhead_s
  + 2*layers*(tp_allreduce_s + 2*(tp-1)/tp * T*hidden*2 / link)   TP all-reduces (tp > 1)
and a request at saturation costs out*decode/B + (pass with its prompt packed in - decode).

The fit: prefill_eff, decode_eff and tp_allreduce_s minimise the RMS of log(simulated/published) over
the 20 H100 rows of the table; step_overhead_s is held at 0.4 ms because the data do not identify it
(a flat valley trades it against decode_eff, reaching 2 ms at 92% of HBM bandwidth, neither plausible
for a CUDA-graph engine). The 8 H200 rows are not used: they are the out-of-sample check. The chosen
point is the grid minimum rounded. The unit test tests/unit/test_perf.c checks the C implementation
against the same rows, and tests/integration/test_saturation.py runs the engine itself.

Source: NVIDIA TensorRT-LLM docs/source/performance/perf-overview.md, Total Output Throughput at maximum
load, FP8 checkpoints. Usage: python3 models/fit_perf_calibration.py
"""
import math

MAX_BATCH = 2048          # TensorRT-LLM LlmArgs.max_batch_size default
KV_MEM_FRACTION = 0.9     # vLLM gpu_memory_utilization default
STEP_OVERHEAD_S = 0.4e-3  # held, see above

ACCELS = {  # mem bytes (decimal GB), HBM B/s, dense FP8 FLOP/s, NVLink B/s one direction
    "h100": dict(mem=80e9, bw=3.35e12, flops=1979e12, link=450e9),
    "h200": dict(mem=141e9, bw=4.8e12, flops=1979e12, link=450e9),
}
LLMS = {  # params (= active), KV bytes/token at FP8, layers, hidden size
    "llama-3.1-8b": dict(params=8.03e9, kv=2 * 32 * 8 * 128, layers=32, hidden=4096),
    "llama-3.3-70b": dict(params=70.6e9, kv=2 * 80 * 8 * 128, layers=80, hidden=8192),
}
H100 = [  # (model, accel, tp, in, out, published tok/s): the fitted rows
    ("llama-3.1-8b", "h100", 1, 128, 128, 28312), ("llama-3.1-8b", "h100", 1, 1000, 1000, 15220),
    ("llama-3.1-8b", "h100", 1, 2048, 128, 3450), ("llama-3.3-70b", "h100", 2, 1000, 1000, 4205),
    ("llama-3.3-70b", "h100", 2, 2048, 128, 762),
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
CHOSEN = (0.53, 0.82, 40e-6)  # prefill_eff, decode_eff, tp_allreduce_s


def pass_s(m, a, tp, batch, ctx, prompt, pe, de, arl):
    tokens = batch + prompt
    bw = tp * a["bw"] * de
    gemm = max(2 * m["params"] * tokens / (tp * a["flops"] * pe), m["params"] / bw)
    comm = 0.0
    if tp > 1:
        comm = 2 * m["layers"] * (arl + 2 * (tp - 1) / tp * tokens * m["hidden"] * 2 / a["link"])
    return gemm + m["kv"] * ctx / bw + STEP_OVERHEAD_S + comm


def saturated_tps(row, pe, de, arl):
    model, accel, tp, n_in, n_out, _ = row
    m, a = LLMS[model], ACCELS[accel]
    cap = (tp * a["mem"] * KV_MEM_FRACTION - m["params"]) / m["kv"]
    b = min(MAX_BATCH, math.floor(cap / (n_in + n_out)))
    if b < 1:
        return 0.0
    ctx = b * (n_in + n_out / 2)
    decode = pass_s(m, a, tp, b, ctx, 0, pe, de, arl)
    packed = pass_s(m, a, tp, b, ctx, n_in, pe, de, arl)
    return n_out / (n_out * decode / b + packed - decode)


def errors(rows, p):
    return [saturated_tps(r, *p) / r[5] - 1 for r in rows]


def rms_log(rows, p):
    return math.sqrt(sum(math.log1p(e) ** 2 for e in errors(rows, p)) / len(rows))


def main():
    grid = [(pe / 100, de / 100, arl * 1e-6) for pe in range(45, 66) for de in range(60, 101)
            for arl in range(0, 81, 5)]
    best = sorted(grid, key=lambda p: rms_log(H100, p))[:5]
    print("best grid points on the 20 H100 rows: rms log error, worst H100 error, worst H200 error")
    for p in best:
        print(f"  {rms_log(H100, p):.4f}  {100 * max(map(abs, errors(H100, p))):4.1f}%  "
              f"{100 * max(map(abs, errors(H200, p))):4.1f}%  prefill_eff={p[0]:.2f} decode_eff={p[1]:.2f} "
              f"allreduce={p[2] * 1e6:.0f} us")
    print(f"\nchosen: prefill_eff={CHOSEN[0]} decode_eff={CHOSEN[1]} tp_allreduce_s={CHOSEN[2]} "
          f"step_overhead_s={STEP_OVERHEAD_S} (held)")
    for title, rows in (("H100 (fitted)", H100), ("H200, out of sample", H200)):
        print(f"\n{title}:")
        for r in rows:
            s = saturated_tps(r, *CHOSEN)
            print(f"  {r[0]:14s} {r[1]} tp{r[2]} {r[3]:>5}/{r[4]:<5} sim {s:8.0f}  published {r[5]:6d}  "
                  f"err {100 * (s / r[5] - 1):+5.1f}%")


if __name__ == "__main__":
    main()
