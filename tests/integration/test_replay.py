"""Replaying each Azure trace on a single site: the request count and the total prompt and output tokens
in /requests equal the file's, and every arrival time equals the file's (relative to its first row) to
the microsecond. A malformed trace gets line-numbered errors; with errors: skip, the skipped count is in
/summary/trace."""
import csv
import os
import subprocess

import h5py
import numpy as np

from cpntest import CPNSIM, SRC, fail, requests, run


def file_rows(path):
    t, p, o = [], [], []
    with open(path) as f:
        for row in csv.DictReader(f):
            day, clock = row["TIMESTAMP"].split(" ")
            hh, mm, ss = clock.split(":")
            sec, frac = (ss.split(".") + ["0"])[:2]
            ns = ((int(hh) * 60 + int(mm)) * 60 + int(sec)) * 10**9 + int((frac + "000000000")[:9])
            t.append((day, ns))
            p.append(int(row["ContextTokens"]))
            o.append(int(row["GeneratedTokens"]))
    assert all(d == t[0][0] for d, _ in t), "traces span one day"
    ns = np.array([x for _, x in t], dtype=np.int64)
    return (ns - ns[0]) / 1e9, np.array(p), np.array(o)


for name in ["code", "conv"]:
    path = f"{SRC}/tests/data/AzureLLMInferenceTrace_{name}.csv"
    _, out = run(f"{SRC}/tests/data/replay.yaml", "--set", f"demand.trace.file={path}")
    r = requests(out)
    t, p, o = file_rows(path)
    arr = np.sort(r["t_arrival"])
    print(f"{name}: file {len(t)} rows, {p.sum()} prompt, {o.sum()} output tokens; "
          f"/requests {len(r)} rows, {int(r['prompt_tokens'].sum())} prompt, {int(r['output_tokens'].sum())} output")
    if len(r) != len(t) or r["prompt_tokens"].sum() != p.sum() or r["output_tokens"].sum() != o.sum():
        fail(f"{name}: counts or tokens differ")
    err = np.max(np.abs(arr - t))
    print(f"{name}: largest arrival-time difference {err * 1e6:.3f} us")
    if err > 1e-6:
        fail(f"{name}: arrival times differ by {err} s")

# A malformed trace: line 3 lacks a field, line 5 has negative tokens, line 7 goes back in time.
tmp = os.path.dirname(out)
bad = os.path.join(tmp, "bad.csv")
with open(bad, "w") as f:
    f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n"
            "2023-11-16 18:00:00.0000000,100,10\n"
            "2023-11-16 18:00:01.0000000,100\n"
            "2023-11-16 18:00:02.0000000,100,10\n"
            "2023-11-16 18:00:03.0000000,-5,10\n"
            "2023-11-16 18:00:04.0000000,100,10\n"
            "2023-11-16 17:00:00.0000000,100,10\n"
            "2023-11-16 18:00:05.0000000,100,10\n")
p = subprocess.run([CPNSIM, f"{SRC}/tests/data/replay.yaml", "--set", f"demand.trace.file={bad}", "--out",
                    os.path.join(tmp, "bad.h5"), "--quiet"], capture_output=True, text=True)
print("stop:", p.stderr.strip().splitlines()[-1] if p.stderr else "")
if p.returncode == 0 or "bad.csv:3" not in p.stderr or os.path.exists(os.path.join(tmp, "bad.h5")):
    fail(f"stop mode: want a failure naming bad.csv:3 and no output, got {p.returncode}: {p.stderr}")
p2, out2 = run(f"{SRC}/tests/data/replay.yaml", "--set", f"demand.trace.file={bad}", "--trace-errors=skip")
with h5py.File(out2) as f:
    tr = f["summary/trace"][0]
    n = len(f["requests"])
print(f"skip: {n} requests, {int(tr['skipped_rows'])} skipped rows")
if tr["skipped_rows"] != 3 or n != 4:
    fail("skip mode: want 3 skipped rows and 4 requests")
print("ok")
