"""Conservation on every scenario shipped: each request ends exactly once with a status and a reason,
and the tokens that arrived are the tokens that ended (the run checks it too and exits non-zero)."""
import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

COMPLETED, REJECTED, FAILED, TIMED_OUT = 0, 1, 2, 3
for sc, extra in [("tiny.yaml", ["--set", "demand.scale=12", "--set", "classes.interactive.timeout_s=5"]),  # overloaded: requests time out
                  ("tiny.yaml", ["--policy", "random"]),
                  ("national-2026.yaml", ["--set", "run.duration_s=120", "--set", "run.warmup_s=0",
                                          "--set", "run.drain_s=600"])]:
    _, out = run(f"{SRC}/scenarios/{sc}", *extra)
    r = requests(out)
    n = len(r)
    if n < 100:
        fail(f"{sc}: only {n} requests")
    ids = np.sort(r["id"])
    if not np.array_equal(ids, np.arange(n)):
        fail(f"{sc}: request ids are not 0..{n-1} exactly once")
    st = r["status"]
    if not np.all(np.isin(st, [COMPLETED, REJECTED, FAILED, TIMED_OUT])):
        fail(f"{sc}: unknown status")
    done = st == COMPLETED
    if np.any(r["reason"][done] != 0) or np.any(r["reason"][~done] == 0):
        fail(f"{sc}: completed requests must have reason none, others a reason")
    if np.any(np.isnan(r["t_done"][done])) or np.any(r["t_done"][done] < r["t_first_token"][done]):
        fail(f"{sc}: completed requests need t_arrival <= t_first_token <= t_done")
    if np.any(r["t_first_token"][done] < r["t_arrival"][done]):
        fail(f"{sc}: first token before arrival")
    with h5py.File(out) as f:
        s = f["summary/overall"][0]
        measured = r["t_arrival"] >= f.attrs["warmup_s"]
        if s["requests"] != measured.sum():
            fail(f"{sc}: summary counts {s['requests']} requests, file has {measured.sum()} measured")
        total = s["completed"] + s["rejected"] + s["failed"] + s["timed_out"]
        if total != s["requests"]:
            fail(f"{sc}: summary statuses add to {total}, not {s['requests']}")
        if s["prompt_tokens"] != r["prompt_tokens"][measured & done].sum():
            fail(f"{sc}: summary prompt tokens differ from /requests")
    counts = {name: int((st == v).sum()) for name, v in
              [("completed", 0), ("rejected", 1), ("failed", 2), ("timed_out", 3)]}
    print(f"ok: {sc} {' '.join(extra)}: {n} requests, {counts}")
