"""scripts/servegen_to_scenario.py on a small characterisation in ServeGen's layout (two clients, three
windows, one client starting late) whose aggregate is worked out by hand: the rates are the sums per
window, the CV is the request-weighted one of sqrt(sum rate_i cv_i^2 / sum rate_i), the length tables are
the request-weighted mixtures. The fragment, merged into tiny.yaml with `extends`, passes --check and
runs: the new origin's arrivals are within 5 standard deviations of the schedule's integral, and the new
class's prompts take only the table's values. With --windows the CV per window and each window's mixed
tables are written (worked out by hand too) and the result passes --check. A malformed row is refused naming its file and line."""
import math
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from cpntest import CPNSIM, SRC, fail, requests, run

tmp = tempfile.mkdtemp(prefix="cpn-servegen-")
src = os.path.join(tmp, "m-test")
os.mkdir(src)


def put(name, text):
    with open(os.path.join(src, name), "w") as f:
        f.write(text)


put("chunk-1-trace.csv", "0,2.0,1.5,Gamma,0.44,1.1\n600,4.0,2.0,Gamma,0.25,1.0\n1200,1.0,1.0,Gamma,1.0,1.0\n")
put("chunk-1-dataset.json", '{"0": {"input_tokens": "{100: 0.5, 1000: 0.5}", "output_tokens": "{10: 1.0}"}}')
put("chunk-2-trace.csv", "600,3.0,3.0,Weibull,0.4,0.1\n1200,1.0,0.5,Weibull,2.1,1.1\n")
put("chunk-2-dataset.json", '{"600": {"input_tokens": {"1000": 1.0}, "output_tokens": "{500: 0.4, 10: 0.6}"}}')

script = os.path.join(SRC, "scripts", "servegen_to_scenario.py")
frag = os.path.join(tmp, "fragment.yaml")
p = subprocess.run([sys.executable, script, src, "--node", "east", "--out", frag], capture_output=True, text=True)
if p.returncode != 0:
    fail(f"converter exited {p.returncode}: {p.stderr}")
text = open(frag).read()
print(text)


def floats(key):
    m = re.search(key + r": \[([^\]]*)\]", text)
    if not m:
        fail(f"no {key} in the fragment")
    return [float(x) for x in m.group(1).split(",")]


t_s, rates = floats("t_s"), floats("rate_rps")
if t_s != [0, 600, 1200] or rates != [2.0, 7.0, 2.0]:
    fail(f"schedule t_s {t_s} rate_rps {rates}, want [0, 600, 1200] and [2, 7, 2]")
cv = float(re.search(r"cv: ([0-9.e+-]+)", text).group(1))
want_cv = math.sqrt((2 * 600 * 2.25 + 600 * (4 * 4 + 3 * 9) + 600 * (1 + 0.25)) / 6600)
if abs(cv - want_cv) > 1e-12:
    fail(f"cv {cv}, want {want_cv}")
vals = [float(x) for x in re.findall(r"values: \[([^\]]*)\]", text)[0].split(",")]
probs = [float(x) for x in re.findall(r"probs: \[([^\]]*)\]", text)[0].split(",")]
if vals != [100, 1000] or abs(probs[0] - 2100 / 6600) > 1e-12:
    fail(f"prompt table {vals} {probs}, want [100, 1000] [{2100 / 6600}, {4500 / 6600}]")
ovals = [float(x) for x in re.findall(r"values: \[([^\]]*)\]", text)[1].split(",")]
oprobs = [float(x) for x in re.findall(r"probs: \[([^\]]*)\]", text)[1].split(",")]
if ovals != [10, 500] or abs(oprobs[1] - 960 / 6600) > 1e-12:
    fail(f"output table {ovals} {oprobs}, want [10, 500] [{5640 / 6600}, {960 / 6600}]")

# Merged into tiny.yaml: --check, then a run of the schedule's length.
scen = os.path.join(tmp, "merged.yaml")
with open(scen, "w") as f:
    f.write(f"extends: {SRC}/scenarios/tiny.yaml\nname: merged\n" + text)
p = subprocess.run([CPNSIM, scen, "--check"], capture_output=True, text=True)
if p.returncode != 0:
    fail(f"--check of the merged scenario exited {p.returncode}: {p.stderr}")
_, out = run(scen, "--set", "run.duration_s=1800")
r = requests(out)
origin = np.asarray(r["origin"])
n = int(np.sum(origin == 2))
sd = want_cv * math.sqrt(6600)
print(f"origin servegen: {n} arrivals, schedule integral 6600 +- {5 * sd:.0f}")
if abs(n - 6600) > 5 * sd:
    fail(f"{n} arrivals from the converted origin, want 6600")
cls = np.asarray(r["cls"]) if "cls" in r.dtype.names else np.asarray(r["class"])
pt = set(np.asarray(r["prompt_tokens"])[cls == 2].tolist())
print(f"class servegen prompts: {sorted(pt)}")
if not pt or pt - {100, 1000}:
    fail(f"class servegen prompts {sorted(pt)}, want only 100 and 1000")

# --windows: the CV and the tables per window.
p = subprocess.run([sys.executable, script, src, "--node", "east", "--windows"], capture_output=True, text=True)
if p.returncode != 0:
    fail(f"converter --windows exited {p.returncode}: {p.stderr}")
wtext = p.stdout
cvw = [float(x) for x in re.search(r"cv: \[([^\]]*)\]", wtext).group(1).split(",")]
want_w = [1.5, math.sqrt((4 * 4 + 3 * 9) / 7), math.sqrt((1 + 0.25) / 2)]
print(f"--windows: cv per window {cvw}, want {want_w}; {wtext.count('from_s:')} token windows")
if any(abs(a - b) > 1e-12 for a, b in zip(cvw, want_w)) or len(cvw) != 3 or wtext.count("from_s:") != 3:
    fail("--windows: wrong CV per window or token windows")
m = re.search(r"from_s: 600, prompt_tokens: \{dist: empirical, values: \[([^\]]*)\], probs: \[([^\]]*)\]", wtext)
if not m or [float(x) for x in m.group(1).split(",")] != [100, 1000] or abs(float(m.group(2).split(",")[0]) - 2 / 7) > 1e-12:
    fail("--windows: the window at 600 s does not mix the clients' prompt tables by their rates (2/7 at 100)")
wscen = os.path.join(tmp, "merged-w.yaml")
with open(wscen, "w") as f:
    f.write(f"extends: {SRC}/scenarios/tiny.yaml\nname: merged\n" + wtext)
p = subprocess.run([CPNSIM, wscen, "--check"], capture_output=True, text=True)
if p.returncode != 0:
    fail(f"--check of the --windows scenario exited {p.returncode}: {p.stderr}")

# A malformed row: the file and line are named, exit 2.
put("chunk-3-trace.csv", "0,1,1,Gamma,1,1\n60,fast,1,Gamma,1,1\n")
put("chunk-3-dataset.json", '{"0": {"input_tokens": "{1: 1}", "output_tokens": "{1: 1}"}}')
p = subprocess.run([sys.executable, script, src], capture_output=True, text=True)
print(f"malformed: exit {p.returncode}: {p.stderr.strip()}")
if p.returncode != 2 or "chunk-3-trace.csv:2:" not in p.stderr:
    fail("a malformed row was not refused with its file and line")
print("ok")
