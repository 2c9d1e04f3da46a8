"""Energy conservation: at every site, the energies charged to the requests (each its share of the
batches it ran in, x PUE) plus the idle energy (replicas loaded with nothing in service, x PUE) equal the
site's facility energy, and that equals the last sample of the site's energy series in /timeseries
(accelerator power from idle and loaded power by utilisation, integrated, x PUE), within 0.1%.
Run on tiny (continuous batching), kv (preemptions: a request's energy comes in several pieces) and cold
(replicas that load, idle and unload). Every request must complete for the identity to hold: a request
cut off at the end of the run is charged nothing, so the runs below are checked to have none."""
import h5py
import numpy as np

from cpntest import SRC, fail, run

TOL = 1e-3
for scen in ["scenarios/tiny.yaml", "tests/data/kv.yaml", "tests/data/cold.yaml"]:
    _, out = run(f"{SRC}/{scen}", "--set", "run.sample_interval_s=10")
    with h5py.File(out, "r") as f:
        r = f["requests"][:]
        e = f["energy/sites"][:]
        ts = f["timeseries/sites"][:]
    if (r["status"] != 0).any():
        fail(f"{scen}: {(r['status'] != 0).sum()} requests did not complete; the identity needs all to")
    for i, row in enumerate(e):
        name = row["key"]
        req = r["energy_j"][r["site"] == i].sum()
        series = ts[ts["key"] == name]
        last = series["energy_j"][np.argmax(series["t_s"])]
        total = row["facility_energy_j"]
        print(f"{scen} {name.decode()}: requests {req / 3.6e6:.4f} + idle {row['idle_energy_j'] / 3.6e6:.4f} kWh "
              f"= {(req + row['idle_energy_j']) / 3.6e6:.4f}; facility {total / 3.6e6:.4f}; "
              f"time series {last / 3.6e6:.4f} kWh")
        if total == 0 and req == 0 and row["idle_energy_j"] == 0:
            continue  # a site without replicas draws nothing (spare accelerators are powered off)
        if total <= 0 or row["idle_energy_j"] <= 0 or req <= 0:
            fail(f"{scen} {name}: an energy is not positive")
        if abs(req + row["idle_energy_j"] - total) > TOL * total:
            fail(f"{scen} {name}: requests + idle = {req + row['idle_energy_j']} J, facility {total} J")
        if abs(last - total) > TOL * total:
            fail(f"{scen} {name}: time series ends at {last} J, facility {total} J")
        if abs(row["requests_energy_j"] - req) > TOL * req:
            fail(f"{scen} {name}: /energy requests_energy_j {row['requests_energy_j']} != /requests sum {req}")
        # The series is cumulative: it never decreases.
        t = series["t_s"]
        if (np.diff(series["energy_j"][np.argsort(t)]) < 0).any():
            fail(f"{scen} {name}: the energy series decreases")
print("energy conserved at every site")
