"""Full cost against hand arithmetic on tiny. Per site, over the whole run (/energy/sites): capex = the
pools' accelerators x their price (the catalog's estimate, or capex_usd_per_accel) / (lifetime x year) x
the simulated time; electricity = facility energy (IT x PUE, idle included) x the site's price;
transfer = cross-border GB x transfer_usd_per_gb. The /summary full cost is the same rates over the
measured window (x window / simulated time) plus the measured requests' transfer, divided by their
tokens. Classes, tenants and models share each site's full cost by their marginal cost there, so they add
up to the overall figure when every site served. A second run sets a pool's capex and a lifetime and a
cross-border origin, and the figures move exactly as the formula says."""
import h5py
import numpy as np

from cpntest import SRC, fail, run

YEAR = 365.25 * 86400
CAPEX = {"h100": 40000.0, "h20": 16000.0}  # the catalog's estimates (models/cpn_perf.c)


def close(a, b, what, rel=1e-9):
    if not abs(a - b) <= rel * max(abs(a), abs(b), 1e-300):
        fail(f"{what}: {a} != {b}")


def table(f, path):
    t = f[path][:]
    return {k.decode(): t[i] for i, k in enumerate(t["key"])}


def check(args, pools, lifetime, price, transfer):
    _, out = run(f"{SRC}/scenarios/tiny.yaml", *args)
    with h5py.File(out, "r") as f:
        e = table(f, "energy/sites")
        sites = table(f, "summary/sites")
        overall = f["summary/overall"][0]
        r = f["requests"][:]
        dur, warm = f.attrs["duration_s"], f.attrs["warmup_s"]
        ts = f["timeseries/sites"][:]
    sim_end = ts["t_s"].max()  # tiny samples to the end of the run (checked by test_energy_conservation)
    window = dur - warm
    total = 0.0
    for name, row in e.items():
        capex = sum(n * c for n, c in pools[name]) / (lifetime[name] * YEAR) * sim_end
        close(row["capex_usd"], capex, f"{name} capex")
        close(row["electricity_usd"], row["facility_energy_j"] / 3.6e6 * price[name], f"{name} electricity")
        close(row["full_cost_usd"], row["capex_usd"] + row["electricity_usd"] + row["transfer_usd"], f"{name} full")
        xb = sites[name]["cross_border_bytes"]
        close(row["transfer_usd"], xb / 1e9 * transfer[name], f"{name} transfer", rel=1e-6)  # warm-up 0
        win = (capex + row["electricity_usd"]) * window / sim_end + xb / 1e9 * transfer[name]
        close(sites[name]["full_cost_usd"], win, f"{name} window full cost")
        total += win
    done = r[r["status"] == 0]
    tokens = float(done["prompt_tokens"].sum() + done["output_tokens"].sum())
    close(overall["full_cost_usd"], total, "overall full cost")
    close(overall["full_cost_usd_per_mtok"], total / tokens * 1e6, "overall full cost per Mtok")
    close(overall["cost_usd_per_mtok"], r["cost_usd"].sum() / tokens * 1e6, "marginal per Mtok", rel=1e-9)
    with h5py.File(out, "r") as f:
        for kind in ["tenants", "classes", "models"]:
            groups = f[f"summary/{kind}"][:]
            close(groups["full_cost_usd"].sum(), total, f"{kind} add up to the overall full cost", rel=1e-9)
    print(f"tiny {' '.join(args) or '(defaults)'}: marginal {overall['cost_usd_per_mtok']:.4f}, "
          f"full {overall['full_cost_usd_per_mtok']:.4f} USD per million tokens (capex "
          f"{sum(x['capex_usd'] for x in e.values()):.4f}, electricity {sum(x['electricity_usd'] for x in e.values()):.4f}, "
          f"transfer {sum(x['transfer_usd'] for x in e.values()):.6f} USD)")
    return overall


base = check([], {"east": [(8, CAPEX["h100"])], "west": [(8, CAPEX["h20"])]}, {"east": 5, "west": 5},
             {"east": 0.09, "west": 0.05}, {"east": 0.05, "west": 0.05})
moved = check(["--set", "sites.0.pools.0.capex_usd_per_accel=20000", "--set", "sites.1.capex_lifetime_years=2",
               "--set", "origins.0.country=SG", "--set", "sites.0.transfer_usd_per_gb=1.5"],
              {"east": [(8, 20000.0)], "west": [(8, CAPEX["h20"])]}, {"east": 5, "west": 2},
              {"east": 0.09, "west": 0.05}, {"east": 1.5, "west": 0.05})
if not moved["cross_border_bytes"] > 0:
    fail("the second run has no cross-border bytes, so transfer was not exercised")
print("full cost matches the hand arithmetic")
