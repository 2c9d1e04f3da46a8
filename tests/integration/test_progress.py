"""The progress line (simulated time, requests, rate, time left). On a terminal it is rewritten in place
(carriage returns) and cleared at the end; when standard error is not a terminal it is silent unless
--progress asks for it, and then it is one newline-terminated line per interval, whose simulated time
and request count never go back. --quiet silences it unless --progress is given. A bad interval is
refused with exit 2, naming the option, and writes no file."""
import os
import pty
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpntest import CPNSIM, SRC, fail  # noqa: E402

NATIONAL = os.path.join(SRC, "scenarios", "national-2026.yaml")
LINE = re.compile(r"  simulated (\d+) of (\d+) s, (\d+) requests, (\d+) requests/s, about (\d+|nan|-nan) s left")
tmp = tempfile.mkdtemp(prefix="cpnprogress-")
out = os.path.join(tmp, "p.h5")
RUN = [CPNSIM, NATIONAL, "--set", "run.max_requests=400000", "--set", "run.duration_s=86400", "--out", out]


def piped(*extra):
    # Bytes, not text: text mode would turn carriage returns into newlines.
    p = subprocess.run(RUN + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        fail(f"{extra}: exit {p.returncode}: {p.stderr}")
    return p.stderr.decode(errors="replace")


def on_terminal(*extra):
    """stderr on a pseudo-terminal; returns what was written to it."""
    master, slave = pty.openpty()
    p = subprocess.Popen(RUN + list(extra), stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not b:
            break
        chunks.append(b)
    os.close(master)
    if p.wait() != 0:
        fail(f"{extra} on a terminal: exit {p.returncode}")
    return b"".join(chunks).decode(errors="replace")


# 1. Not a terminal: silent by default, with or without --quiet.
for extra in ((), ("--quiet",)):
    err = piped(*extra)
    if "simulated" in err:
        fail(f"{extra}: a progress line without --progress on a pipe:\n{err}")

# 2. --progress on a pipe: newline-terminated lines, no carriage returns, counts never go back; --quiet
#    does not silence an explicit --progress.
for extra in (("--progress=0.05",), ("--quiet", "--progress=0.05")):
    err = piped(*extra)
    if "\r" in err:
        fail(f"{extra}: carriage returns in a log:\n{err!r}")
    lines = [ln for ln in err.split("\n") if "simulated" in ln]
    if len(lines) < 2:
        fail(f"{extra}: {len(lines)} progress lines in a run of about a second:\n{err}")
    prev_t = prev_n = -1
    for ln in lines:
        m = LINE.fullmatch(ln)
        if not m:
            fail(f"{extra}: not a progress line: {ln!r}")
        t, n = int(m.group(1)), int(m.group(3))
        if t < prev_t or n < prev_n:
            fail(f"{extra}: progress went back: {lines}")
        prev_t, prev_n = t, n
        if int(m.group(2)) != 86400 + 1800:  # duration + the scenario's drain
            fail(f"{extra}: simulated end {m.group(2)}, want 88200: {ln!r}")
    print(f"{extra}: {len(lines)} lines, last: {lines[-1].strip()}")

# 3. A terminal: rewritten in place and cleared at the end; --quiet silences it.
text = on_terminal("--progress=0.05")
if "\r  simulated" not in text:
    fail(f"on a terminal: no line rewritten in place:\n{text!r}")
if not text.rstrip(" ").endswith("\r"):
    fail(f"on a terminal: the line is not cleared at the end:\n{text[-300:]!r}")
if "simulated" in on_terminal("--quiet"):
    fail("on a terminal with --quiet: a progress line")

# 4. Bad intervals: exit 2, the option named, no file.
if os.path.exists(out):
    os.remove(out)
for bad in ("--progress=0", "--progress=-1", "--progress=abc", "--progress=", "--progress=inf"):
    p = subprocess.run(RUN + [bad], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 2 or "--progress" not in p.stderr:
        fail(f"{bad}: exit {p.returncode}, stderr {p.stderr!r}")
    if os.path.exists(out) or os.path.exists(out + ".tmp"):
        fail(f"{bad}: wrote a file")
print("progress: ok")
