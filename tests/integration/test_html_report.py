"""analysis/html_report.py: the HTML report of a run and of a sweep, opened in headless Debian Chromium.
Each page is self-contained (no reference outside itself), loads with no console message (errors and
uncaught exceptions show as console messages; a control page with one proves they are caught), and every
figure decodes (the page's script writes data-figures="decoded/total" on <body>, read from the DOM
Chromium dumps). Screenshots are written next to the test's output. On the national scenario's hubs, the
map's labels do not overlap one another."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from cpntest import CPNSIM, SRC, fail
from sweeplib import sweep

BROWSER = shutil.which("chromium")
if not BROWSER:
    fail("chromium is missing: install the Debian package chromium (bash scripts/setup.sh installs it)")
REPORT = os.path.join(SRC, "analysis", "html_report.py")
tmp = tempfile.mkdtemp(prefix="cpnhtml-")
shots = os.path.join(os.environ.get("CPN_BUILD", tmp), "test-output")
os.makedirs(shots, exist_ok=True)


def browse(page, shot=None):
    """(DOM, console lines) of a page loaded in headless Chromium with an empty profile."""
    prof = tempfile.mkdtemp(prefix="prof-", dir=tmp)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={prof}",
             "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000"]
    p = subprocess.run([BROWSER, *flags, "--dump-dom", "file://" + page], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        fail(f"chromium exited {p.returncode} on {page}:\n{p.stderr[-2000:]}")
    console = [ln for ln in p.stderr.splitlines() if ":CONSOLE" in ln]
    if shot:
        prof = tempfile.mkdtemp(prefix="prof-", dir=tmp)
        flags[7] = f"--user-data-dir={prof}"
        subprocess.run([BROWSER, *flags, "--window-size=1200,2200", f"--screenshot={shot}", "file://" + page],
                       capture_output=True, text=True, timeout=300)
        if not os.path.getsize(shot) > 10000:
            fail(f"screenshot {shot} is empty")
    return p.stdout, console


# The detector catches a console error and a figure that does not decode.
ctl = os.path.join(tmp, "control.html")
with open(ctl, "w") as f:
    f.write('<!DOCTYPE html><html><body data-figures="loading"><img class="fig" src="data:image/png;base64,AAAA">'
            '<script>console.error("control error");</script></body></html>')
dom, console = browse(ctl)
if not any("control error" in ln for ln in console):
    fail(f"the console detector missed the control page's error: {console}")
if 'data-figures="loading"' not in dom and 'data-figures="0/1"' not in dom:
    fail("the control page's broken figure was counted as decoded")

# A run and a sweep.
run = os.path.join(tmp, "run.h5")
subprocess.run([CPNSIM, f"{SRC}/scenarios/national-2026.yaml", "--set", "run.duration_s=30", "--set", "run.warmup_s=5",
                "--out", run, "--quiet"], check=True)
sweep(f"{SRC}/tests/data/sweep-small.yaml", "--workers", "2", "--out", f"{tmp}/sweep", "--quiet")
for src, min_figs in [(run, 4), (f"{tmp}/sweep/index.h5", 4)]:
    out = os.path.splitext(src)[0] + ".html"
    p = subprocess.run([sys.executable, REPORT, src, "--out", out], capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"html_report.py {src} exited {p.returncode}:\n{p.stderr[-3000:]}")
    with open(out, encoding="utf-8") as f:
        doc = f.read()
    ext = re.findall(r'(?:src|href)\s*=\s*"(?!data:|#)([^"]*)"|url\((?!data:)([^)]*)\)', doc)
    if ext:
        fail(f"{out} refers to outside resources: {ext[:5]}")
    name = "report-" + ("sweep" if "sweep" in src else "run") + ".png"
    dom, console = browse(out, os.path.join(shots, name))
    m = re.search(r'data-figures="(\d+)/(\d+)"', dom)
    if not m or m.group(1) != m.group(2) or int(m.group(2)) < min_figs:
        fail(f"{out}: figures decoded/total = {m and m.group(0)}, want all of at least {min_figs}")
    if console:
        fail(f"{out}: console messages:\n" + "\n".join(console))
    for want in ("Cost per token", "Latency", "Map", "Site", "coastlines and borders: GSHHG"):
        if want not in dom:
            fail(f"{out}: no '{want}' section")
    print(f"{os.path.basename(out)}: {len(doc) // 1024} KiB, {m.group(0)}, no console message; "
          f"screenshot {os.path.join(shots, name)}")
    # The run page shows both costs per token, per site, class, tenant and model.
    if "sweep" not in src:
        for want in ("Summary: models", "Summary: tenants", "<th>full_cost_usd_per_mtok</th>",
                     "<th>cost_usd_per_mtok</th>", "Marginal cost per million tokens by site"):
            if want not in doc:
                fail(f"{out}: no '{want}'")
    if "sweep" in src and "Capacity curves: p99 TTFT" not in dom:
        fail("the sweep report has no capacity curve against demand.scale")

# Coastlines and borders come from gmt-gshhg-low, decoded right: the coast passes within 0.5 degree of
# Shanghai (121.47 E, 31.23 N) and Rio de Janeiro (43.2 W, 22.9 S, west of Greenwich), never through
# Lhasa (91.1 E, 29.65 N, 1,000 km inland), and the China-Mongolia border passes near Erenhot (112.0 E, 43.65 N).
sys.path.insert(0, os.path.join(SRC, "analysis"))
import numpy as np  # noqa: E402

import gshhg  # noqa: E402

if not gshhg.available():
    fail("no GSHHG data in /usr/share/gmt-gshhg: install the Debian package gmt-gshhg-low (scripts/setup.sh does)")


def near(segs, lon, lat, d):
    return any(np.any((np.abs(xs - lon) < d) & (np.abs(ys - lat) < d)) for xs, ys in segs)


coast = gshhg.coastlines((60, 140, 0, 55))
if not near(coast, 121.47, 31.23, 0.5) or near(coast, 91.1, 29.65, 5):
    fail("GSHHG coastlines misplaced (Shanghai not on the coast, or a coast near Lhasa)")
if not near(gshhg.coastlines((-60, -30, -35, -10)), -43.2, -22.9, 0.5):
    fail("GSHHG coastlines west of Greenwich misplaced (Rio de Janeiro not on the coast)")
if not near(gshhg.borders((100, 125, 35, 50)), 112.0, 43.65, 0.5):
    fail("GSHHG borders misplaced (no border near Erenhot)")
print("GSHHG coastlines and borders in place (Shanghai, Rio de Janeiro, Erenhot; none near Lhasa)")

# Labels of the national scenario's clustered hubs do not overlap (the zoom panel and the wide one).
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import yaml  # noqa: E402

import html_report  # noqa: E402

with open(f"{SRC}/scenarios/national-2026.yaml", encoding="utf-8") as f:
    sites = [s for s in yaml.safe_load(f)["sites"] if "lat" in s]
china = [s for s in sites if 100 < s["lon"] < 125 and 20 < s["lat"] < 45]
if len(china) != 8:
    fail(f"expected the eight Chinese hubs, found {[s['name'] for s in china]}")
for figsize in [(6, 4.5), (4, 3)]:
    fig, ax = plt.subplots(figsize=figsize)
    ax.scatter([s["lon"] for s in china], [s["lat"] for s in china], s=120)
    ax.set_xlim(100, 125)
    ax.set_ylim(20, 45)
    html_report.place_labels(ax, fig, [(s["name"], s["lon"], s["lat"], 1.0) for s in china])
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer=r)) for t in ax.texts]
    for i in range(len(boxes)):
        for j in range(i):
            if boxes[i][1].overlaps(boxes[j][1]):
                fail(f"at {figsize} inches, labels '{boxes[i][0]}' and '{boxes[j][0]}' overlap")
    plt.close(fig)
print("the eight hubs' labels do not overlap at 6x4.5 and 4x3 inches")
shutil.rmtree(tmp)
print("ok")
