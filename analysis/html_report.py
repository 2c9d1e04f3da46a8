#!/usr/bin/env python3
"""html_report.py: one self-contained HTML page from cpnsim result files, for a planner's browser.

  python3 analysis/html_report.py RUN.h5 --out run.html          a run: tables, latency CDFs, site
                                                                 utilisation, cost per token, map
  python3 analysis/html_report.py SWEEP_DIR/index.h5 --out s.html  a sweep (cpnsim-sweep, cpnsim-plan):
                                                                 points table, capacity curves, CDFs,
                                                                 site utilisation, cost, map

The page has no external reference: figures are PNG images inside the page (data: URLs), style inline,
and one small script that checks every figure decoded and marks the page (`<body data-figures=...>`),
which the browser test reads. The map draws coastlines and borders from Debian's gmt-gshhg-low
(analysis/gshhg.py) and places site labels so that they do not overlap (nearby hubs get leader lines).
Cost per token: the full-cost column (capex + energy + network, over tokens) beside the marginal one
when the result files have it (tables per site, class, tenant and model; both by site in bars), else the
marginal cost of /summary alone, and the page says which."""
import argparse
import base64
import html
import io
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import h5py  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import gshhg  # noqa: E402
from plots import Run, _positions  # noqa: E402

FULL_COST_NAMES = ("cost_usd_per_mtok_full", "full_cost_usd_per_mtok")
KEY_METRICS = ["requests", "completed", "ttft_p50_s", "ttft_p99_s", "e2e_p99_s", "tpot_p99_s", "slo_attainment",
               "tokens_per_s", "utilisation", "cost_usd_per_mtok", "co2_g_per_mtok"]


def text(x):
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def cost_column(names):
    """(column, note): the full-cost column when present, else the marginal one and a note saying so."""
    for n in FULL_COST_NAMES:
        if n in names:
            return n, "full cost per million tokens (amortised fleet capex + energy + network)"
    return "cost_usd_per_mtok", ("marginal cost per million tokens (each request's share of its batch): "
                                 "these result files have no full-cost column, so the full cost of the "
                                 "installed fleet is not shown")


def fig_html(fig, alt, dpi=110):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<figure><img class="fig" alt="{html.escape(alt)}" src="data:image/png;base64,{b64}"><figcaption>{html.escape(alt)}</figcaption></figure>'


def fmt(v):
    if isinstance(v, (bytes, str)):
        return html.escape(text(v))
    try:
        x = float(v)
    except (TypeError, ValueError):
        return html.escape(str(v))
    if math.isnan(x):
        return "&ndash;"
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
        return f"{x:.3g}"
    return f"{x:,.0f}" if x == int(x) and abs(x) >= 100 else f"{x:.4g}"


def table(rows, cols, head=None):
    h = "".join(f"<th>{html.escape(c)}</th>" for c in (head or cols))
    body = "".join("<tr>" + "".join(f"<td>{fmt(r[c])}</td>" for c in cols) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table></div>'


# ---- map ----------------------------------------------------------------------------------------------


def place_labels(ax, fig, items, fontsize=8):
    """Labels near their points without overlapping each other or the points: for each label (most
    requests first), the first free spot on rings of growing radius; a label moved off its point gets a
    leader line."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    placed = []
    pts = [ax.transData.transform((x, y)) for _, x, y, _ in items]
    boxes_pts = [(px - 5, py - 5, px + 5, py + 5) for px, py in pts]

    def overlaps(b, others):
        return sum(max(0, min(b[2], o[2]) - max(b[0], o[0])) * max(0, min(b[3], o[3]) - max(b[1], o[1]))
                   for o in others)

    order = sorted(range(len(items)), key=lambda i: -items[i][3])
    for i in order:
        name, x, y, _ = items[i]
        best = None
        for radius in (7, 16, 28, 42, 60, 80):
            for k in range(12):
                a = 2 * math.pi * k / 12 + math.pi / 12
                dx, dy = radius * math.cos(a), radius * math.sin(a)
                t = ax.annotate(name, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                                ha="left" if dx >= 0 else "right", va="bottom" if dy >= 0 else "top")
                bb = t.get_window_extent(renderer=r)
                t.remove()
                b = (bb.x0 - 1, bb.y0 - 1, bb.x1 + 1, bb.y1 + 1)
                cost = overlaps(b, placed) * 4 + overlaps(b, [p for j, p in enumerate(boxes_pts) if j != i])
                if best is None or cost < best[0]:
                    best = (cost, dx, dy, b)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, dx, dy, b = best
        placed.append(b)
        far = math.hypot(dx, dy) > 10
        ax.annotate(name, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize, zorder=5,
                    ha="left" if dx >= 0 else "right", va="bottom" if dy >= 0 else "top",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8),
                    arrowprops=dict(arrowstyle="-", color="0.35", lw=0.6, shrinkA=0, shrinkB=3) if far else None)


def densest_window(xy, size=30.0):
    """The size x size degree window (centred on a site) holding the most sites: (box, indices)."""
    best = (0, None, [])
    for x, y in xy:
        inside = [i for i, (a, b) in enumerate(xy) if abs(a - x) <= size / 2 and abs(b - y) <= size / 2]
        if len(inside) > best[0]:
            sub = xy[inside]
            best = (len(inside), (sub[:, 0].min(), sub[:, 0].max(), sub[:, 1].min(), sub[:, 1].max()), inside)
    return best[1], best[2]


def draw_map(ax, fig, run, pos, xy, util, reqs, box, vmax, label_sites):
    ax.set_facecolor("#eef4fa")
    drew = gshhg.available()
    if drew:
        for xs, ys in gshhg.coastlines(box):
            ax.plot(xs, ys, color="#6b8fb3", lw=0.6, zorder=0)
        for xs, ys in gshhg.borders(box):
            ax.plot(xs, ys, color="#b08080", lw=0.5, ls=(0, (3, 2)), zorder=0)
    for name in run.links:
        a, _, b = name.partition("--")
        if a in pos and b in pos:
            (x0, y0), (x1, y1) = pos[a], pos[b]
            ax.plot([x0, x1], [y0, y1], color="0.45", lw=0.8, alpha=0.7, zorder=1)
    for name, (x, y) in pos.items():
        if name not in run.sites:
            ax.scatter([x], [y], s=14, color="0.5", marker="s", zorder=2)
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=np.nan_to_num(util), cmap="viridis", vmin=0, vmax=vmax, edgecolors="k",
                    s=30 + 220 * reqs / max(float(reqs.max()), 1), zorder=3)
    ax.set_xlim(box[0], box[1])
    ax.set_ylim(box[2], box[3])
    ax.set_aspect(1 / max(0.2, math.cos(math.radians((box[2] + box[3]) / 2))))
    ax.set_xlabel("longitude (deg E)")
    ax.set_ylabel("latitude (deg N)")
    inb = lambda x, y: box[0] <= x <= box[1] and box[2] <= y <= box[3]  # noqa: E731
    items = [(s, x, y, q) for s, (x, y), q in zip(run.sites, xy, reqs) if s in label_sites and inb(x, y)]
    items += [(n, x, y, -1) for n, (x, y) in pos.items() if n not in run.sites and n in label_sites and inb(x, y)]
    return sc, drew, items


def site_map(run, util, reqs, title):
    """The sites and links on coastlines and borders. When most sites crowd into a small part of a wide
    map (the eight Chinese hubs on a map that reaches Brazil), a second panel zooms on them, and the wide
    panel labels only the sites outside the zoom, so that no label has to squeeze between neighbours."""
    pos = _positions(run)
    xy = np.array([pos[s] for s in run.sites])
    lon0, lon1 = xy[:, 0].min(), xy[:, 0].max()
    lat0, lat1 = xy[:, 1].min(), xy[:, 1].max()
    mx, my = max(4.0, 0.12 * (lon1 - lon0)), max(3.0, 0.12 * (lat1 - lat0))
    box = (lon0 - mx, lon1 + mx, lat0 - my, lat1 + my)
    vmax = max(float(np.nanmax(util, initial=0)), 1e-9)
    cbox, inside = densest_window(xy)
    zoom = len(inside) >= 4 and (lon1 - lon0) > 3 * max(cbox[1] - cbox[0], 5)
    names = set(pos)
    if zoom:
        zb = (cbox[0] - 3, cbox[1] + 3, cbox[2] - 2.5, cbox[3] + 2.5)
        fig, (ax, az) = plt.subplots(1, 2, figsize=(14, 6.2), gridspec_kw={"width_ratios": [1.5, 1]})
        near = {n for n, (x, y) in pos.items() if zb[0] <= x <= zb[1] and zb[2] <= y <= zb[3]}
        sc, drew, items = draw_map(ax, fig, run, pos, xy, util, reqs, box, vmax, names - near)
        ax.add_patch(plt.Rectangle((zb[0], zb[2]), zb[1] - zb[0], zb[3] - zb[2], fill=False, ec="k", lw=0.8,
                                   ls="--", zorder=4))
        ax.set_title(title, fontsize=10)
        _, _, zitems = draw_map(az, fig, run, pos, xy, util, reqs, zb, vmax, near)
        az.set_title(f"zoom: {len(near)} sites and nodes in the dashed box", fontsize=10)
        az.set_ylabel("")
        fig.tight_layout()
        place_labels(ax, fig, items)
        place_labels(az, fig, zitems)
    else:
        fig, ax = plt.subplots(figsize=(10, 7))
        sc, drew, items = draw_map(ax, fig, run, pos, xy, util, reqs, box, vmax, names)
        ax.set_title(title, fontsize=10)
        place_labels(ax, fig, items)
    fig.colorbar(sc, ax=fig.axes, shrink=0.6, label="site utilisation")
    note = ("coastlines and borders: GSHHG 2.3.7 (gmt-gshhg-low)" if drew else
            "no coastlines: install the Debian package gmt-gshhg-low")
    return fig_html(fig, f"Map of sites (size: requests served, colour: utilisation) and links; {note}"), drew


# ---- figures ------------------------------------------------------------------------------------------


def cdf_figure(groups, title):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, what, name in [(axes[0], "ttft", "time to first token (s)"), (axes[1], "e2e", "end-to-end latency (s)")]:
        for label, vals in groups:
            v = np.sort(vals[what])
            if len(v):
                ax.plot(v, np.arange(1, len(v) + 1) / len(v), label=label, lw=1.3)
        ax.set_xscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel("fraction of requests")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    return fig_html(fig, title)


def bars(names, values, ylabel, title):
    fig, ax = plt.subplots(figsize=(10, 3.4))
    ax.bar(range(len(names)), values, color="#4c72b0")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontsize=10)
    return fig_html(fig, title)


# ---- pages --------------------------------------------------------------------------------------------

STYLE = """body{font-family:sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right;white-space:nowrap}
th{background:#f0f3f7}td:first-child,th:first-child{text-align:left}.scroll{overflow-x:auto}
figure{margin:1em 0}img.fig{max-width:100%}figcaption{font-size:12px;color:#555}.note{color:#7a4b00}
.bad{color:#a00}"""

SCRIPT = """window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img.fig'), ok = 0;
  for (var i = 0; i < imgs.length; i++) if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  document.body.setAttribute('data-figures', ok + '/' + imgs.length);
  if (ok !== imgs.length) console.error('cpnsim report: ' + (imgs.length - ok) + ' figure(s) did not load');
});"""


def page(title, parts):
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body data-figures=\"loading\">\n<h1>{html.escape(title)}</h1>\n"
            + "\n".join(parts) + f"\n<script>{SCRIPT}</script>\n</body></html>\n")


def summary_rows(f, table_name, cols):
    d = f["summary/" + table_name][:]
    return [{c: (text(r[c]) if c == "key" else r[c]) if c in d.dtype.names else np.nan for c in cols} for r in d]


def run_report(path):
    run = Run(path, None)
    with h5py.File(path, "r") as f:
        attrs = {k: text(v) if isinstance(v, bytes) else v for k, v in f.attrs.items()}
        names = f["summary/overall"].dtype.names
        cost, cost_note = cost_column(names)
        # Both views of the cost per token side by side: the marginal one, then the full one when the file
        # has it.
        cols = ["key"] + [c for c in KEY_METRICS if c in names and c != "cost_usd_per_mtok"] + \
            ["cost_usd_per_mtok"] + ([cost] if cost != "cost_usd_per_mtok" else [])
        parts = ["<h2>Run</h2>", table([{"k": k, "v": attrs[k]} for k in
                                        ("scenario", "policy", "seed", "duration_s", "warmup_s", "wall_seconds",
                                         "cpnsim_version", "git_commit") if k in attrs], ["k", "v"],
                                       ["attribute", "value"])]
        parts.append(f'<p class="note">Cost per token: {html.escape(cost_note)}; beside it '
                     'cost_usd_per_mtok, the marginal cost (each request\'s share of its batch\'s busy time and '
                     'energy).</p>')
        for t in ("overall", "sites", "classes", "tenants", "models"):
            if t in f["summary"]:
                parts += [f"<h2>Summary: {t}</h2>", table(summary_rows(f, t, cols), cols)]
        sites = summary_rows(f, "sites", ["key", "utilisation", cost, "cost_usd_per_mtok", "requests"])
    parts.append("<h2>Latency</h2>")
    parts.append(cdf_figure([(run.policy, {"ttft": run.ttft, "e2e": run.e2e})],
                            "Latency CDFs (completed requests after the warm-up)"))
    parts.append("<h2>Sites</h2>")
    parts.append(bars([s["key"] for s in sites], [s["utilisation"] for s in sites], "utilisation",
                      "Site utilisation (busy accelerator-seconds / installed)"))
    parts.append(bars([s["key"] for s in sites], [np.nan_to_num(s[cost]) for s in sites], "USD per million tokens",
                      f"Cost per million tokens by site ({cost})"))
    if cost != "cost_usd_per_mtok":
        parts.append(bars([s["key"] for s in sites], [np.nan_to_num(s["cost_usd_per_mtok"]) for s in sites],
                          "USD per million tokens", "Marginal cost per million tokens by site (cost_usd_per_mtok)"))
    parts.append("<h2>Map</h2>")
    try:
        util = np.array([run.site_util.get(s, np.nan) for s in run.sites])
        reqs = np.array([run.site_requests.get(s, 0.0) for s in run.sites])
        parts.append(site_map(run, util, reqs, f"{run.scenario}, {run.policy}")[0])
    except Exception as e:  # a scenario without coordinates has no map; the rest of the page stands
        parts.append(f'<p class="note">No map: {html.escape(str(e))}</p>')
    return page(f"cpnsim run: {run.scenario} / {run.policy} / seed {run.seed}", parts)


def numeric(values):
    try:
        return [float(v) for v in values]
    except ValueError:
        return None


def sweep_report(path):
    base = os.path.dirname(os.path.abspath(path))
    with h5py.File(path, "r") as f:
        pts = f["points"][:]
        attrs = {k: text(v) if isinstance(v, bytes) else v for k, v in f.attrs.items()}
    names = pts.dtype.names
    fixed = ("point", "id", "status", "exit_code", "wall_s", "worker", "path", "error")
    start = names.index("error") + 1
    metrics_at = next((i for i in range(start, len(names)) if pts.dtype[names[i]].kind == "f"), len(names))
    params = list(names[start:metrics_at])
    cost, cost_note = cost_column(names)
    rows = [{n: (text(r[n]) if pts.dtype[n].kind in "SUO" else r[n]) for n in names} for r in pts]
    ok = [r for r in rows if r["status"] == "ok"]
    parts = ["<h2>Sweep</h2>",
             table([{"k": k, "v": attrs.get(k, "")} for k in ("sweep", "scenario", "points", "ok", "failed", "pending")],
                   ["k", "v"], ["attribute", "value"]),
             f'<p class="note">Cost per token: {html.escape(cost_note)}.</p>']
    failed = [r for r in rows if r["status"] != "ok"]
    if failed:
        parts.append(f'<p class="bad">{len(failed)} point(s) without a result: see the table.</p>')
    show = ["point"] + params + ["status"] + [m for m in KEY_METRICS if m in names and m != "cost_usd_per_mtok"] + \
        (["cost_usd_per_mtok"] if cost != "cost_usd_per_mtok" and "cost_usd_per_mtok" in names else []) + \
        [cost, "wall_s"]
    parts += ["<h2>Points</h2>", table(rows, show)]
    # Capacity curves: each numeric parameter other than the seed against the key metrics, one line per
    # combination of the other non-seed parameters, mean over seeds with min-max bars.
    parts.append("<h2>Capacity curves</h2>")
    axes_p = [p for p in params if p != "seed" and numeric([r[p] for r in ok if r[p] != ""]) and
              len({r[p] for r in ok}) > 1]
    for p in axes_p:
        others = [q for q in params if q not in (p, "seed")]
        fig, axs = plt.subplots(1, 3, figsize=(12, 3.6))
        for ax, m, lab in zip(axs, ["ttft_p99_s", "slo_attainment", cost],
                              ["p99 TTFT (s)", "SLO attainment", "USD per million tokens"]):
            groups = {}
            for r in ok:
                groups.setdefault(tuple(r[q] for q in others), []).append(r)
            for g, rs in sorted(groups.items()):
                xs = sorted({float(r[p]) for r in rs})
                ys = [[r[m] for r in rs if float(r[p]) == x] for x in xs]
                mean = [np.nanmean(v) for v in ys]
                lo = [mean[i] - np.nanmin(v) for i, v in enumerate(ys)]
                hi = [np.nanmax(v) - mean[i] for i, v in enumerate(ys)]
                ax.errorbar(xs, mean, yerr=[lo, hi], marker="o", ms=3, capsize=2,
                            label=", ".join(f"{q}={v}" for q, v in zip(others, g)) or "all")
            ax.set_xlabel(p)
            ax.set_ylabel(lab)
            ax.grid(alpha=0.3)
        axs[0].legend(fontsize=7)
        fig.suptitle(f"Key metrics against {p} (mean over seeds, bars: min to max)", fontsize=10)
        parts.append(fig_html(fig, f"Capacity curves: p99 TTFT, SLO attainment and cost against {p}"))
    if not axes_p:
        parts.append('<p class="note">No numeric parameter varies: no capacity curve.</p>')
    # Latency CDFs, site utilisation and map from the points' own files.
    groups, util, runs = {}, {}, []
    for r in ok:
        label = ", ".join(f"{q}={r[q]}" for q in params if q != "seed") or "all"
        try:
            run = Run(os.path.join(base, r["path"]), None)
        except Exception as e:
            parts.append(f'<p class="bad">{html.escape(str(e))}</p>')
            continue
        runs.append(run)
        g = groups.setdefault(label, {"ttft": [], "e2e": []})
        g["ttft"].append(run.ttft)
        g["e2e"].append(run.e2e)
        util.setdefault(label, []).append(run.site_util)
    if groups:
        parts.append("<h2>Latency</h2>")
        pooled = [(k, {w: np.concatenate(v[w]) for w in ("ttft", "e2e")}) for k, v in list(groups.items())[:16]]
        parts.append(cdf_figure(pooled, "Latency CDFs, seeds pooled" + (" (first 16 groups)" if len(groups) > 16 else "")))
        parts.append("<h2>Site utilisation</h2>")
        sites = runs[0].sites
        labels = list(util)
        mat = np.array([[np.nanmean([u.get(s, np.nan) for u in util[k]]) for k in labels] for s in sites])
        fig, ax = plt.subplots(figsize=(min(14, 3 + 0.5 * len(labels)), 1.2 + 0.3 * len(sites)))
        im = ax.imshow(mat, aspect="auto", cmap="viridis", vmin=0)
        ax.set_yticks(range(len(sites)))
        ax.set_yticklabels(sites, fontsize=8)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=40, ha="right", fontsize=7)
        fig.colorbar(im, ax=ax, label="utilisation")
        ax.set_title("Site utilisation per point group (mean over seeds)", fontsize=10)
        parts.append(fig_html(fig, "Site utilisation per site and point group"))
        parts.append("<h2>Map</h2>")
        try:
            run = runs[0]
            u = np.array([np.nanmean([r.site_util.get(s, np.nan) for r in runs]) for s in run.sites])
            q = np.array([np.nanmean([r.site_requests.get(s, 0.0) for r in runs]) for s in run.sites])
            parts.append(site_map(run, u, q, f"{run.scenario}: mean over the sweep's points")[0])
        except Exception as e:
            parts.append(f'<p class="note">No map: {html.escape(str(e))}</p>')
    return page(f"cpnsim sweep: {attrs.get('sweep', os.path.basename(base))}", parts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="a cpnsim result file or a sweep index (DIR/index.h5)")
    ap.add_argument("--out", help="HTML file to write (default: INPUT with .html)")
    a = ap.parse_args(argv)
    try:
        with h5py.File(a.input, "r") as f:
            is_sweep = "points" in f
    except OSError as e:
        print(f"html_report.py: {a.input}: cannot open as HDF5 ({e})", file=sys.stderr)
        return 2
    out = a.out or os.path.splitext(a.input)[0] + ".html"
    doc = sweep_report(a.input) if is_sweep else run_report(a.input)
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(doc)
    os.replace(tmp, out)
    print(f"wrote {out} ({len(doc) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
