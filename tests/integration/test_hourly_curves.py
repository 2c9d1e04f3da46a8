"""Hourly carbon and price curves move load. tests/data/crossing.yaml has two identical sites whose
carbon intensities (and time-of-use prices) cross at local noon; the run covers 10:00-14:00. The carbon
policy, and the cost policy, must send the requests that arrive before noon to site a (clean, cheap in the
morning) and those after noon to site b; with the curves removed (flat, equal figures) neither moves at
noon. The accounts follow the curves too: a request's CO2 is its energy x the intensity of the local hour
it ended in, and a site's CO2 in /energy/sites is its energy before noon x the morning intensity plus
its energy after noon x the afternoon one (energies from the /timeseries energy series)."""
import h5py
import numpy as np

from cpntest import SRC, fail, run

SCEN = f"{SRC}/tests/data/crossing.yaml"
NOON = 7200.0  # 10:00 local at t = 0
A_CO2 = (100.0, 500.0)  # site a before and after noon
B_CO2 = (500.0, 100.0)


def split(out):
    with h5py.File(out, "r") as f:
        r = f["requests"][:]
        e = f["energy/sites"][:]
        ts = f["timeseries/sites"][:]
    am = r["t_arrival"] < NOON
    return r, e, ts, (r["site"][am] == 0).mean(), (r["site"][~am] == 0).mean()


for policy in ["carbon", "cost"]:
    _, out = run(SCEN, "--policy", policy)
    r, e, ts, morning_a, afternoon_a = split(out)
    print(f"{policy}: share at site a before noon {morning_a:.3f}, after noon {afternoon_a:.3f} "
          f"({len(r)} requests)")
    if not (morning_a > 0.99 and afternoon_a < 0.01):
        fail(f"{policy}: load did not follow the curves (a: {morning_a:.3f} before noon, {afternoon_a:.3f} after)")
    if (r["status"] != 0).any():
        fail(f"{policy}: not every request completed")
    # Per request: intensity of the local hour it ended in.
    hour_co2 = np.where(r["site"] == 0, np.where(r["t_done"] < NOON, *A_CO2), np.where(r["t_done"] < NOON, *B_CO2))
    want = r["energy_j"] / 3.6e6 * hour_co2
    if not np.allclose(r["co2_g"], want, rtol=1e-12, atol=0):
        fail(f"{policy}: a request's CO2 is not its energy x the hour's intensity")
    # Per site: energy before noon x morning intensity + energy after noon x afternoon intensity.
    for i, (name, co2) in enumerate([(b"a", A_CO2), (b"b", B_CO2)]):
        s = ts[ts["key"] == name]
        at_noon = s["energy_j"][s["t_s"] == NOON]
        if len(at_noon) != 1:
            fail("no sample at noon")
        total = e["facility_energy_j"][i]
        want = at_noon[0] / 3.6e6 * co2[0] + (total - at_noon[0]) / 3.6e6 * co2[1]
        if abs(e["co2_g"][i] - want) > 1e-9 * want:
            fail(f"{policy} {name}: /energy co2_g {e['co2_g'][i]} != {want} from the hourly curve")

_, out = run(SCEN, "--policy", "carbon", "--set", f"sites.0.co2_g_per_kwh_hourly={[300] * 24}",
             "--set", f"sites.1.co2_g_per_kwh_hourly={[300] * 24}")
_, _, _, morning_a, afternoon_a = split(out)
print(f"carbon, flat equal curves: share at site a before noon {morning_a:.3f}, after noon {afternoon_a:.3f}")
if abs(morning_a - afternoon_a) > 0.1:
    fail("with equal flat curves the carbon policy still moved at noon")
print("load follows the hourly curves")
