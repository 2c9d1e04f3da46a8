"""Collaborative training across sites (training: in the scenario; sim/jobs/training.c).

1. Closed form (tests/data/distribution.yaml, little request traffic): a data-parallel job on the ring
   singapore -> uae -> brazil -> singapore (a triangle of direct links, each used in one direction
   only), 3 GB of gradients, 1.5 s of compute. Each of the 2 (N - 1) = 4 phases sends 1 GB per hop, so a
   phase takes its slowest hop, brazil -> singapore: 0.170 + 8e9 / 1e11 = 0.25 s. A step is
   1.5 + 4 x 0.25 = 2.5 s. Two such jobs at once halve each hop's rate: 1.5 + 4 x (0.170 + 0.16) =
   2.82 s. (On a ring whose hops use one link in both directions, SimGrid's cross traffic, a little
   reverse traffic counted for each flow, slows them slightly: 0.4% with greater-bay, singapore, uae.)
2. Effect on inference (tests/data/thin-link.yaml, fluid mode, no pushes): a job on greater-bay <->
   singapore shares the 400 Mb/s Hong Kong - Singapore link with the requests of Hong Kong's users; their
   uploads get an equal share with the job's flow there, so their mean upload time rises.
3. Effect of inference on training (same scenario): the job's steps take longer when the users' rate
   rises from 5 to 50 requests/s (about 4% to 40% of the link), in flow mode, where requests are SimGrid
   flows, and in fluid mode with run.fluid_share: concurrent, where SimGrid's flows get what the request
   traffic of the last window leaves (the two within 5% of each other). With the default fluid share the
   training flows do not see the requests."""
import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

DIST = f"{SRC}/tests/data/distribution.yaml"
THIN = f"{SRC}/tests/data/thin-link.yaml"
RING = "{name: %s, sites: [singapore, uae, brazil], grad_bytes: 3e9, compute_s: 1.5, at_s: 10, steps: 3}"


def steps(scen, *sets):
    args = []
    for s in sets:
        args += ["--set", s]
    _, out = run(scen, *args)
    with h5py.File(out, "r") as f:
        tr = f["training"][:]
        n_flows = int((f["transfers"]["key"] == b"training").sum())
    return tr, n_flows, out


tr, n_flows, _ = steps(DIST, "distribution=[]", f"training=[{RING % 'dp'}]")
one = 1.5 + 4 * (0.170 + 8e9 / 1e11)
print(f"one job: steps {tr['step_s'].round(6).tolist()} s (by hand {one:.6f} s), {n_flows} flows")
if len(tr) != 3 or np.any(np.abs(tr["step_s"] - one) > 1e-6) or n_flows != 3 * 4 * 3:
    fail("a ring all-reduce step does not take compute + 2 (N - 1) x (latency + bytes / (N x bandwidth))")
if np.any(np.abs(tr["allreduce_s"] - tr["start_s"] - 1.5) > 1e-9) or np.any(np.abs(tr["start_s"][1:] - tr["end_s"][:-1]) > 0):
    fail("the exchange should begin after compute_s, and each step when the previous one ends")

tr, _, _ = steps(DIST, "distribution=[]", f"training=[{RING % 'a'}, {RING % 'b'}]")
two = 1.5 + 4 * (0.170 + 2 * 8e9 / 1e11)
print(f"two jobs at once: steps {tr['step_s'].round(6).tolist()} s (by hand {two:.6f} s)")
if len(tr) != 6 or np.any(np.abs(tr["step_s"] - two) > 1e-6):
    fail("two jobs on the same links do not share them equally")

JOB = "training=[{name: ft, sites: [greater-bay, singapore], grad_bytes: 1e8, compute_s: 1, at_s: 10}]"
base = requests(run(THIN, "--set", "distribution=[]")[1])
_, _, out = steps(THIN, "distribution=[]", JOB)
r = requests(out)
up0, up1 = base["net_in_s"][base["status"] == 0].mean(), r["net_in_s"][r["status"] == 0].mean()
e0 = (base["t_done"] - base["t_arrival"])[base["status"] == 0].mean()
e1 = (r["t_done"] - r["t_arrival"])[r["status"] == 0].mean()
print(f"fluid, Hong Kong's uploads to Singapore: mean {up0 * 1e3:.3f} ms without the job, {up1 * 1e3:.3f} ms with "
      f"it; end-to-end {e0 * 1e3:.2f} ms and {e1 * 1e3:.2f} ms")
if not (up1 > up0 * 1.05 and e1 > e0):
    fail("inference on a link the training job uses is not slowed by it")

alone = 1 + 2 * (0.017 + 0.0021 + 5e7 * 8 / 4e8)
print(f"alone, by hand: a step takes 1 + 2 x (0.0191 + 1.0) = {alone:.4f} s")
mean_step = {}
for mode in ("run.network_mode=flow", "run.fluid_share=concurrent"):
    for rate in (5, 50):
        tr, _, _ = steps(THIN, "distribution=[]", JOB, mode, f"origins.0.rate_rps={rate}")
        done = tr[~np.isnan(tr["end_s"])]
        mean_step[mode, rate] = float(done["step_s"].mean())
        print(f"{mode}, users at {rate} requests/s: {len(done)} steps, mean step {mean_step[mode, rate]:.4f} s")
    if not (mean_step[mode, 5] >= alone - 1e-6 and mean_step[mode, 50] > mean_step[mode, 5] * 1.05):
        fail(f"{mode}: training steps do not slow down when the inference load on the shared link rises")
for rate in (5, 50):
    a, b = mean_step["run.network_mode=flow", rate], mean_step["run.fluid_share=concurrent", rate]
    if abs(a - b) > 0.05 * a:
        fail(f"at {rate} requests/s the concurrent fluid share gives steps of {b:.4f} s against {a:.4f} s in flow mode")
print("ok")
