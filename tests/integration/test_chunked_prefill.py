"""Chunked prefill (vllm scheduler) lowers the tail of time per output token on a mixed workload.

tests/data/chunked.yaml: Llama 3.1 8B on one H100, 80% chat requests (200 prompt / 50 output tokens) and
20% document requests (12,000-token prompts, 20 output tokens), 12 requests/s, token budget 2048 per
iteration. Without chunking each document's prefill (about 0.18 s) runs whole in one iteration and stalls
every chat request decoding at the time; with chunking it is spread over iterations of at most 2048
tokens, so no iteration is much longer than the others. p99 TPOT of the chat class must fall by at least
15%; p50 may rise slightly (iterations carry prompt chunks more often). Every request completes in both
runs, and the same requests arrive in both (the workload does not depend on the scheduler)."""
import numpy as np

from cpntest import SRC, fail, requests, run

res = {}
for chunked in (1, 0):
    _, out = run(f"{SRC}/tests/data/chunked.yaml", "--set",
                 f"sites.s.replicas.0.scheduler_params.chunked_prefill={chunked}")
    r = requests(out)
    if not np.all(r["status"] == 0):
        fail(f"chunked_prefill={chunked}: {int(np.sum(r['status'] != 0))} requests did not complete")
    m = r[(r["t_arrival"] >= 30) & (r["class"] == 0)]
    tpot = (m["t_done"] - m["t_first_token"]) / (m["output_tokens"] - 1)
    res[chunked] = (len(r), np.percentile(tpot, 50), np.percentile(tpot, 99), r["id"], r["t_arrival"])
    print(f"chunked_prefill={chunked}: {len(m)} chat requests, TPOT p50 {1e3 * res[chunked][1]:.2f} ms, "
          f"p99 {1e3 * res[chunked][2]:.2f} ms")
if not (np.array_equal(np.sort(res[0][3]), np.sort(res[1][3])) and
        np.allclose(np.sort(res[0][4]), np.sort(res[1][4]), rtol=0, atol=0)):
    fail("the two runs did not serve the same requests")
if not res[1][2] < 0.85 * res[0][2]:
    fail(f"chunked prefill p99 TPOT {1e3 * res[1][2]:.2f} ms is not 15% below {1e3 * res[0][2]:.2f} ms without chunking")
print("ok")
