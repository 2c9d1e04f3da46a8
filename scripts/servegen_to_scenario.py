#!/usr/bin/env python3
"""Turns a published workload characterisation in the layout of Alibaba's ServeGen (per-window rate,
CV and length distributions of each client) into a cpnsim scenario fragment: one origin with a rate
schedule and its CV, one class with empirical prompt and output length tables.

Input: a directory of clients, one pair of files per client (ServeGen's data/<category>/<model>/):
  chunk-<i>-trace.csv    one row per window: window start (s), rate (req/s), CV of inter-arrival
                         times, then the fitted pattern (name and two parameters, not used here). A
                         header row, if present, is skipped.
  chunk-<i>-dataset.json {"<window start s>": {"input_tokens": "{value: probability, ...}",
                          "output_tokens": "{...}"}, ...}; the distributions may also be JSON objects.
                         A client's distribution for a window is the entry with the latest start at or
                         before the window's start (the first entry when none is).
This is the layout of the files ServeGen releases as read by its loader (fields by position); check it
against the files you have.

What it computes, per window w (the union of the clients' window starts, each client's rate holding
until its next row):
  rate(w)   = sum of the clients' rates                      (superposition)
  cv^2      = sum(rate_i cv_i^2) / sum(rate_i)                (the index of dispersion of counts of a
              superposition of independent renewal processes is the rate-weighted mean of theirs, and a
              renewal process's is cv^2)
  lengths   = mixture of the clients' tables weighted by the requests each sends in the window
              (rate_i x window length)
By default the fragment carries one CV and one pair of tables over all windows (weighted by requests;
the per-window CV range is written as a comment). With --windows it keeps them per window: the
schedule's cv list (origins[].schedule.cv) and one classes[].token_windows entry per window, so the
burstiness and the lengths change over the day as published.

Output: YAML on stdout (or --out): demand.arrival gamma, one origin (--origin, --node) with the
schedule inline (or in --schedule-csv), and one class (--class) with dist empirical tables. Merge it into
a scenario with `extends:` (the origin and class are new named items).

Usage: servegen_to_scenario.py DIR [--node NODE] [--origin NAME] [--class NAME] [--period-s S]
       [--span START END] [--out FILE] [--schedule-csv FILE] [--windows]
Exit 2 with a message naming the file and line on bad input. Python 3 standard library only."""
import argparse
import ast
import glob
import json
import math
import os
import re
import sys


class BadInput(Exception):
    pass


def parse_dist(text, where):
    """A distribution given as a dict or as the text of a Python/JSON dict {value: probability}."""
    if isinstance(text, dict):
        d = text
    else:
        try:
            d = ast.literal_eval(text)
        except (ValueError, SyntaxError) as e:
            raise BadInput(f"{where}: not a dict of value: probability ({e})")
    if not isinstance(d, dict) or not d:
        raise BadInput(f"{where}: expected a non-empty dict of value: probability")
    out = {}
    for k, v in d.items():
        try:
            x, p = float(k), float(v)
        except (TypeError, ValueError):
            raise BadInput(f"{where}: entry {k!r}: {v!r} is not numeric")
        if not (math.isfinite(x) and x >= 0 and math.isfinite(p) and p >= 0):
            raise BadInput(f"{where}: entry {k!r}: {v!r} must be a value >= 0 with a probability >= 0")
        out[x] = out.get(x, 0.0) + p
    s = sum(out.values())
    if not s > 0:
        raise BadInput(f"{where}: probabilities sum to 0")
    return {x: p / s for x, p in out.items()}


def read_trace(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            fields = [x.strip() for x in line.split(",")]
            try:
                t, rate, cv = float(fields[0]), float(fields[1]), float(fields[2])
            except (ValueError, IndexError):
                if n == 1 and not rows:  # a header
                    continue
                raise BadInput(f"{path}:{n}: expected window start, rate, cv as numbers, got {line!r}")
            if not (math.isfinite(t) and math.isfinite(rate) and rate >= 0 and math.isfinite(cv) and cv >= 0):
                raise BadInput(f"{path}:{n}: rate and cv must be finite and >= 0, got {line!r}")
            if rows and t <= rows[-1][0]:
                raise BadInput(f"{path}:{n}: window start {t:g} is not after the previous one ({rows[-1][0]:g})")
            rows.append((t, rate, cv))
    if not rows:
        raise BadInput(f"{path}: no windows")
    return rows


def read_dataset(path):
    try:
        with open(path) as f:
            d = json.load(f)
    except json.JSONDecodeError as e:
        raise BadInput(f"{path}:{e.lineno}: {e.msg}")
    if not isinstance(d, dict) or not d:
        raise BadInput(f"{path}: expected an object of window start -> distributions")
    out = []
    for k, v in d.items():
        try:
            t = float(k)
        except ValueError:
            raise BadInput(f"{path}: key {k!r} is not a window start in seconds")
        for field in ("input_tokens", "output_tokens"):
            if not isinstance(v, dict) or field not in v:
                raise BadInput(f"{path}: window {k}: missing '{field}'")
        out.append((t, parse_dist(v["input_tokens"], f"{path}: window {k}: input_tokens"),
                    parse_dist(v["output_tokens"], f"{path}: window {k}: output_tokens")))
    out.sort(key=lambda e: e[0])
    return out


def at(series, t):
    """The entry of a list sorted by start with the latest start <= t (the first when none is)."""
    best = series[0]
    for e in series:
        if e[0] <= t:
            best = e
        else:
            break
    return best


def convert(directory, span=None, period_s=0.0):
    traces = sorted(glob.glob(os.path.join(directory, "chunk-*-trace.csv")))
    if not traces:
        raise BadInput(f"{directory}: no chunk-<i>-trace.csv files")
    clients = []
    for tp in traces:
        m = re.search(r"chunk-(.+)-trace\.csv$", tp)
        dp = os.path.join(directory, f"chunk-{m.group(1)}-dataset.json")
        if not os.path.exists(dp):
            raise BadInput(f"{tp}: no matching {os.path.basename(dp)}")
        clients.append((read_trace(tp), read_dataset(dp)))
    starts = sorted({r[0] for tr, _ in clients for r in tr})
    if span:
        starts = [t for t in starts if span[0] <= t < span[1]]
        if not starts:
            raise BadInput(f"{directory}: no window starts in [{span[0]:g}, {span[1]:g})")
    # Window ends: the next start, the span's end, or (last window) the median window length.
    lengths = [b - a for a, b in zip(starts, starts[1:])]
    last_len = (span[1] - starts[-1]) if span else (sorted(lengths)[len(lengths) // 2] if lengths else 3600.0)
    ends = starts[1:] + [starts[-1] + last_len]
    windows = []
    prompt, output = {}, {}
    per_window = []  # (prompt, output) mixture of each window
    for t0, t1 in zip(starts, ends):
        rate = disp = 0.0
        wp, wo = {}, {}
        for tr, ds in clients:
            if t0 < tr[0][0]:
                continue  # the client has not started
            _, r, cv = at(tr, t0)
            rate += r
            disp += r * cv * cv
            _, pin, pout = at(ds, t0)
            w = r * (t1 - t0)
            for x, p in pin.items():
                prompt[x] = prompt.get(x, 0.0) + w * p
                wp[x] = wp.get(x, 0.0) + w * p
            for x, p in pout.items():
                output[x] = output.get(x, 0.0) + w * p
                wo[x] = wo.get(x, 0.0) + w * p
        per_window.append((wp, wo))
        windows.append((t0 - starts[0], t1 - t0, rate, math.sqrt(disp / rate) if rate > 0 else 0.0))
    requests = sum(r * L for _, L, r, _ in windows)
    if not requests > 0:
        raise BadInput(f"{directory}: every rate is 0")
    cv_all = math.sqrt(sum(r * L * cv * cv for _, L, r, cv in windows) / requests)
    if period_s and period_s <= windows[-1][0]:
        raise BadInput(f"--period-s {period_s:g} must be after the last window start ({windows[-1][0]:g})")
    return windows, cv_all, prompt, output, len(clients), per_window


def table(d):
    xs = sorted(d)
    s = sum(d.values())
    ps = [d[x] / s for x in xs]
    ps[-1] = 1.0 - sum(ps[:-1])  # the sum is 1 to the last bit the loader checks (1e-6)
    return xs, ps


def num(x):
    return repr(float(x)) if x != int(x) else str(int(x))


def fragment(src, windows, cv_all, prompt, output, n_clients, args, per_window=None):
    cvs = [cv for _, _, r, cv in windows if r > 0]
    lines = [
        f"# Generated by scripts/servegen_to_scenario.py from {src}",
        f"# ({n_clients} clients, {len(windows)} windows of {num(windows[0][1])} s to {num(windows[-1][1])} s).",
        "# Source layout: Alibaba ServeGen (Xiang et al., NSDI 2026); cite it when publishing results.",
        f"# Per-window CV {min(cvs):.3f} .. {max(cvs):.3f}; the origin carries the request-weighted {cv_all:.4f}.",
        "demand:",
        "  arrival: gamma",
        "origins:",
    ]
    t = [num(w[0]) for w in windows]
    r = [repr(w[2]) for w in windows]
    sched = f"interp: step, period_s: {num(args.period_s)}"
    if args.schedule_csv:
        with open(args.schedule_csv, "w") as f:
            f.write("t_s,rate_rps\n")
            for a, b in zip(t, r):
                f.write(f"{a},{b}\n")
        sched += f", file: {os.path.abspath(args.schedule_csv)}"
    else:
        sched += f", t_s: [{', '.join(t)}], rate_rps: [{', '.join(r)}]"
    if args.windows:
        # A window with no request has no CV: 1 there (it makes nothing either way).
        cvw = [repr(w[3]) if w[2] > 0 and w[3] > 0 else "1" for w in windows]
        if args.schedule_csv:
            raise BadInput("--windows writes the CV per window inline: give it without --schedule-csv")
        sched += f", cv: [{', '.join(cvw)}]"
        lines[3] = f"# Per-window CV {min(cvs):.3f} .. {max(cvs):.3f}, kept per window (origins[].schedule.cv)."
        lines.append(f"  - {{name: {args.origin}, node: {args.node}, schedule: {{{sched}}}}}")
    else:
        lines.append(f"  - {{name: {args.origin}, node: {args.node}, cv: {cv_all!r}, schedule: {{{sched}}}}}")
    lines.append("classes:")
    lines.append(f"  - name: {args.cls}")
    for key, d in (("prompt_tokens", prompt), ("output_tokens", output)):
        xs, ps = table(d)
        lines.append(f"    {key}: {{dist: empirical, values: [{', '.join(num(x) for x in xs)}], "
                     f"probs: [{', '.join(repr(p) for p in ps)}]}}")
    if args.windows:
        lines.append("    token_windows:")
        for (t0, _, rate, _), (wp, wo) in zip(windows, per_window):
            if not rate > 0:
                continue  # no request in the window: the previous tables hold
            parts = []
            for key, d in (("prompt_tokens", wp), ("output_tokens", wo)):
                xs, ps = table(d)
                parts.append(f"{key}: {{dist: empirical, values: [{', '.join(num(x) for x in xs)}], "
                             f"probs: [{', '.join(repr(p) for p in ps)}]}}")
            lines.append(f"      - {{from_s: {num(t0)}, {', '.join(parts)}}}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--node", default="users", help="site or node where the origin enters (default users)")
    ap.add_argument("--origin", default="servegen", help="origin name (default servegen)")
    ap.add_argument("--class", dest="cls", default="servegen", help="class name (default servegen)")
    ap.add_argument("--period-s", type=float, default=0.0, help="repeat the schedule with this period (0: once)")
    ap.add_argument("--span", type=float, nargs=2, metavar=("START", "END"), help="windows starting in [START, END) s")
    ap.add_argument("--schedule-csv", help="write the schedule to this CSV and name it in the fragment")
    ap.add_argument("--out", help="write the fragment here (default stdout)")
    ap.add_argument("--windows", action="store_true",
                    help="keep the CV and the length tables per window (schedule cv, token_windows)")
    args = ap.parse_args(argv)
    try:
        windows, cv_all, prompt, output, n, per_window = convert(args.dir, args.span, args.period_s)
        text = fragment(args.dir, windows, cv_all, prompt, output, n, args, per_window)
    except (BadInput, OSError) as e:
        print(f"servegen_to_scenario: {e}", file=sys.stderr)
        return 2
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
