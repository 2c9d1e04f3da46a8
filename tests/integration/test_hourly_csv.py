"""Hourly price and carbon tables from a CSV file (sites[].hourly_csv). tests/data/crossing-csv.yaml is
crossing.yaml with its four inline 24-hour lists moved to tests/data/crossing.csv (one file, rows picked
by the `site` column): both must resolve to the same scenario and give the same /requests and
/energy/sites (load follows the same curves, test_hourly_curves.py). Bad files are refused with exit 2 and
FILE:LINE:COL of the fault in the CSV."""
import os
import subprocess
import tempfile

import h5py
import numpy as np

from cpntest import CPNSIM, SRC, fail, run

CSV_SCEN = f"{SRC}/tests/data/crossing-csv.yaml"
_, a = run(CSV_SCEN, "--policy", "carbon")
_, b = run(f"{SRC}/tests/data/crossing.yaml", "--policy", "carbon")
with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
    for t in ("requests", "energy/sites"):
        if not np.array_equal(fa[t][:], fb[t][:]):
            fail(f"/{t} differs between the CSV and the inline tables")
    n = len(fa["requests"])
print(f"CSV and inline tables: the same /requests ({n} rows) and /energy/sites")
p1 = subprocess.run([CPNSIM, CSV_SCEN, "--print-config"], capture_output=True, text=True, check=True).stdout
p2 = subprocess.run([CPNSIM, f"{SRC}/tests/data/crossing.yaml", "--print-config"], capture_output=True, text=True,
                    check=True).stdout
if p1.splitlines()[2:] != p2.splitlines()[2:]:
    fail("the resolved scenarios differ (the printed one should carry the CSV's tables inline)")

tmp = tempfile.mkdtemp(prefix="cpncsv-")
good = open(f"{SRC}/tests/data/crossing.csv").read().splitlines()


def bad(name, lines, want, *sets):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = subprocess.run([CPNSIM, CSV_SCEN, "--check", "--set", f"sites.a.hourly_csv={path}", *sets],
                       capture_output=True, text=True)
    if p.returncode != 2 or want.format(path=path) not in p.stderr:
        fail(f"{name}: exit {p.returncode}, wanted '{want.format(path=path)}' in:\n{p.stderr}")
    print(f"{name}: {p.stderr.splitlines()[0]}")


hdr = "site,hour,price_usd_per_kwh,co2_g_per_kwh"
rows_a = [r for r in good if r.startswith("a,")]
bad("unknown-column.csv", ["site,hour,price_usd_per_kwh,co2_g_per_kWh", *rows_a],
    "{path}:1:29: sites[0].hourly_csv: unknown column 'co2_g_per_kWh'")
bad("bad-hour.csv", [hdr, *rows_a[:3], "a,24,0.05,100", *rows_a[4:]],
    "{path}:5:3: sites[0].hourly_csv: column 'hour': '24' is not a whole hour 0..23")
bad("negative.csv", [hdr, *rows_a[:6], "a,6,-0.05,100", *rows_a[7:]],
    "{path}:8:5: sites[0].hourly_csv: column 'price_usd_per_kwh': '-0.05' is not a finite number >= 0")
bad("twice.csv", [hdr, *rows_a, "a,7,0.05,100"], "{path}:26:3: sites[0].hourly_csv: hour 7 of site 'a' again (first on line 9)")
bad("missing.csv", [hdr, *rows_a[:10], *rows_a[11:]], "site 'a' has 23 of the 24 hours (hour 10 missing)")
bad("other-site.csv", [hdr, *[r for r in good if r.startswith("b,")]], "no rows for site 'a' (the 'site' column names other sites only)")
bad("fields.csv", [hdr, *rows_a[:2], "a,2,0.05", *rows_a[3:]], "{path}:4:1: sites[0].hourly_csv: 3 fields, the header has 4")
bad("no-values.csv", ["site,hour", *[r.rsplit(",", 2)[0] for r in rows_a]], "must name 'hour' and at least one of")
# A column the site also gives inline would have no effect: refused, naming the scenario's line.
p = subprocess.run([CPNSIM, CSV_SCEN, "--check", "--set", "sites.a.co2_g_per_kwh=300"], capture_output=True, text=True)
if p.returncode != 2 or "crossing-csv.yaml:26:17: sites[0].hourly_csv: " not in p.stderr or \
        "has a 'co2_g_per_kwh' column and the site gives 'co2_g_per_kwh'" not in p.stderr:
    fail(f"CSV column and inline key together: exit {p.returncode}: {p.stderr}")
p = subprocess.run([CPNSIM, CSV_SCEN, "--check", "--set", f"sites.a.hourly_csv={tmp}/none.csv"], capture_output=True,
                   text=True)
if p.returncode != 2 or "none.csv" not in p.stderr:
    fail(f"missing file: exit {p.returncode}: {p.stderr}")
# A file with only a carbon column leaves the site's flat price in force.
path = os.path.join(tmp, "co2-only.csv")
with open(path, "w") as f:
    f.write("hour,co2_g_per_kwh,source\n" + "".join(f"{h},{100 + h},made up for a test\n" for h in range(24)))
out = subprocess.run([CPNSIM, CSV_SCEN, "--print-config", "--set", f"sites.a.hourly_csv={path}"], capture_output=True,
                     text=True, check=True).stdout
site_a = out.split("- name: \"a\"", 1)[1].split("- name: \"b\"", 1)[0]
if "price_usd_per_kwh: 0.08" not in site_a or "co2_g_per_kwh_hourly: [100, 101, 102" not in site_a:
    fail(f"carbon-only CSV: site a resolved to\n{site_a}")
print("ok")
