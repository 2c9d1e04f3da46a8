"""The queue-threshold autoscaler loads replicas (cold starts over SimGrid flows) when bursts make the queue
grow and unloads idle ones in the calm between them; p99 TTFT is far lower than with the autoscaler off."""
import h5py
import numpy as np

from cpntest import SRC, fail, requests, run

res = {}
for scaler in ["none", "queue-threshold"]:
    _, out = run(f"{SRC}/tests/data/autoscale.yaml", "--set", f"run.autoscaler={scaler}")
    r = requests(out)
    with h5py.File(out) as f:
        ev = f["events"][:]
        rep = f["timeseries/replicas"][:]
    kinds = [k.decode() if isinstance(k, bytes) else k for k in ev["key"]]
    ttft = r["t_first_token"] - r["t_arrival"]
    res[scaler] = (np.percentile(ttft[r["status"] == 0], 99), kinds.count("load_done"), kinds.count("unload"),
                   rep["m"].max())
    print(f"autoscaler {scaler}: p99 TTFT {res[scaler][0]:.2f} s, {res[scaler][1]} loads, {res[scaler][2]} unloads, "
          f"max ready replicas {res[scaler][3]:.0f}")
if res["none"][1] != 0 or res["none"][3] != 1:
    fail("without an autoscaler the replica count must stay at 1")
if res["queue-threshold"][1] < 2 or res["queue-threshold"][3] < 3:
    fail("the autoscaler did not load replicas under a growing queue")
if res["queue-threshold"][2] < 1:
    fail("the autoscaler did not unload idle replicas in the calm")
if not res["queue-threshold"][0] < 0.5 * res["none"][0]:
    fail("autoscaling did not lower p99 TTFT")
print("ok")
