"""A degraded link keeps its routes and serves fluid transfers at a fraction of its bandwidth: the Hong
Kong - Singapore link (1e12 bit/s) degraded to 1e-5 of it (1e7 bit/s) from 300 to 500 s. A Hong Kong
upload to Singapore carries 200 prompt tokens x 4 bytes = 6,400 bits: 0.019 s of latency plus 6.4e-13 s
before, plus 6,400 / (1e7 - load) s during (load: the link's request traffic of the last sampling window,
about 2.2e6 bit/s here, so between 0.64 and 0.91 ms), and as before after."""
import h5py

from cpntest import SRC, fail, requests, run

HK, SINGAPORE = 0, 0
_, out = run(f"{SRC}/tests/data/hk-sg-cut.yaml", "--set",
             "faults.events=[{a: hong-kong, b: singapore, at_s: 300, duration_s: 200, bw_fraction: 1e-5}]")
r = requests(out)
with h5py.File(out, "r") as f:
    rows = [(x["key"].decode(), float(x["t_s"]), int(x["link"])) for x in f["faults"][:]]
print(f"/faults {rows}")
if rows != [("link_degraded", 300.0, 1), ("link_restored", 500.0, 1)]:
    fail("/faults should be link_degraded at 300 s and link_restored at 500 s on link 1")
hs = r[(r["origin"] == HK) & (r["site"] == SINGAPORE)]
ser = hs["net_in_s"] - 0.019
parts = {"before": ser[hs["t_dispatch"] < 299], "during": ser[(hs["t_dispatch"] > 331) & (hs["t_dispatch"] < 499)],
         "after": ser[hs["t_dispatch"] > 531]}
for k, v in parts.items():
    print(f"  {k}: {len(v)} uploads, serialisation {v.min() * 1e3:.4f} .. {v.max() * 1e3:.4f} ms")
if abs(parts["before"]).max() > 1e-8 or abs(parts["after"]).max() > 1e-8:
    fail("serialisation outside the degradation should be negligible")
if parts["during"].min() < 6400 / 1e7 - 1e-9 or parts["during"].max() > 6400 / (1e7 - 3e6):
    fail("serialisation during the degradation is not 6,400 bits over the 1e7 bit/s left minus the load")
print("ok")
