"""Model distribution (tests/data/distribution.yaml): 16 GB pushed from the Greater Bay hub at t = 10 s
finish when SimGrid's flow model (CM02, no TCP window: latency + bytes / rate) says, by hand:
- to Singapore alone: route Greater Bay - Hong Kong (2 ms 2.1, 2 Tb/s) - Singapore (17 ms, 1 Tb/s):
  0.0021 + 0.017 + 16e9 x 8 / 1e12 = 0.1471 s;
- two such jobs at once share the Hong Kong - Singapore link equally (same route, same weight): both
  take 0.0191 + 2 x 0.128 = 0.2751 s;
- to Singapore, the UAE and Brazil: Brazil is alone on Hong Kong - Brazil (156 ms, 100 Gb/s), 0.0021 +
  0.156 + 1.28 = 1.4381 s, which is the version's skew; Singapore and the UAE share Hong Kong -
  Singapore, so Singapore takes longer than alone and the UAE at least its own bottleneck's time (40 ms,
  400 Gb/s: 0.0591 + 0.32 s). Bytes per link: 16 GB per push crossing it."""
import h5py

from cpntest import SRC, fail, run

SCEN = f"{SRC}/tests/data/distribution.yaml"
GB = 16.0e9


def push(jobs):
    _, out = run(SCEN, "--set", f"distribution={jobs}")
    with h5py.File(out, "r") as f:
        arr = f["distribution/arrivals"][:]
        ver = f["distribution/versions"][:]
        links = {x["key"].decode(): float(x["bytes"]) for x in f["distribution/links"][:]}
        tr = f["transfers"][:]
    return arr, ver, links, tr


def close(a, b):
    return abs(a - b) < 1e-6


arr, ver, links, tr = push("[{name: sg, from: greater-bay, to: [singapore], bytes: 16e9, at_s: 10}]")
t1 = arr["end_s"][0] - arr["start_s"][0]
print(f"one job to Singapore: {t1:.6f} s (by hand {0.0191 + GB * 8 / 1e12:.6f} s)")
if not close(t1, 0.0191 + GB * 8 / 1e12):
    fail("one 16 GB push to Singapore does not take latency + bytes / bandwidth")
if len(tr) != 1 or tr["key"][0] != b"distribution" or tr["bytes"][0] != GB or tr["status"][0] != 0:
    fail(f"/transfers should hold one completed 16 GB distribution flow: {tr.tolist()}")

arr, _, links, _ = push("[{name: a, from: greater-bay, to: [singapore], bytes: 16e9, at_s: 10},"
                        " {name: b, from: greater-bay, to: [singapore], bytes: 16e9, at_s: 10}]")
t2 = arr["end_s"] - arr["start_s"]
print(f"two jobs to Singapore at once: {t2[0]:.6f} and {t2[1]:.6f} s (by hand {0.0191 + 2 * GB * 8 / 1e12:.6f} s)")
if not (close(t2[0], 0.0191 + 2 * GB * 8 / 1e12) and close(t2[1], t2[0])):
    fail("two pushes on the same link do not share it equally")
if links["hong-kong--singapore"] != 2 * GB or links["uae--brazil"] != 0:
    fail(f"bytes per link wrong: {links}")

arr, ver, links, _ = push("[{name: v, from: greater-bay, to: [singapore, uae, brazil], bytes: 16e9, at_s: 10}]")
t = {int(a["site"]): a["end_s"] - a["start_s"] for a in arr}
sg, uae, br = t[1], t[2], t[3]
skew = float(ver["skew_s"][0])
print(f"to Singapore, UAE, Brazil: {sg:.6f}, {uae:.6f}, {br:.6f} s; skew {skew:.6f} s "
      f"(Brazil by hand {0.1581 + GB * 8 / 1e11:.6f} s); bytes per link {links}")
if not close(br, 0.1581 + GB * 8 / 1e11) or not close(skew, br) or ver["sites_done"][0] != 3:
    fail("Brazil's push or the version's skew is not as by hand")
if not (sg > t1 + 1e-3 and uae >= 0.0591 + GB * 8 / 4e11 - 1e-9 and sg < uae < br):
    fail("Singapore and the UAE should share Hong Kong - Singapore")
if links != {"greater-bay--hong-kong": 3 * GB, "hong-kong--singapore": 2 * GB, "singapore--uae": GB,
             "uae--brazil": 0.0, "singapore--brazil": 0.0, "hong-kong--brazil": GB}:
    fail(f"bytes per link wrong: {links}")

# Faults act on SimGrid flows too: Hong Kong - Singapore degraded to half its bandwidth from t = 0 makes
# the push to Singapore 0.0191 + 16e9 x 8 / 5e11 = 0.2751 s; cut from 5 s to 20 s, a push that starts at
# 10 s stalls on it (its SimGrid route is fixed) and ends 0.128 s after the repair, at 20.128 s.
SG_JOB = "distribution=[{name: sg, from: greater-bay, to: [singapore], bytes: 16e9, at_s: 10}]"
for ev, want in (("[{a: hong-kong, b: singapore, at_s: 0, bw_fraction: 0.5}]", 10 + 0.0191 + GB * 8 / 5e11),
                 ("[{a: hong-kong, b: singapore, at_s: 5, duration_s: 15}]", 20 + GB * 8 / 1e12)):
    _, out = run(SCEN, "--set", SG_JOB, "--set", f"faults.events={ev}")
    with h5py.File(out, "r") as f:
        end = float(f["distribution/arrivals"]["end_s"][0])
    print(f"with faults.events={ev}: the push to Singapore ends at {end:.6f} s (by hand {want:.6f} s)")
    if abs(end - want) > 1e-6:
        fail("a degraded or cut link does not act on the SimGrid flow as by hand")
print("ok")
