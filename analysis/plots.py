#!/usr/bin/python3
"""plots.py: figures from cpnsim HDF5 result files (format: README.md "HDF5 output"; usage: analysis/README.md).

    plots.py RUN.h5 [RUN2.h5 ...] --out DIR [--group-by policy|file] [--scenario-dir DIR] [--dpi N]

Writes, as PNG and SVG, into DIR:
  latency_cdf       CDFs of time to first token and end-to-end latency, one curve per group
  site_utilisation  heat map per group: busy accelerators / accelerators installed, per site and sample
  link_utilisation  utilisation of every link over time, one panel per group
  map               sites (colour: utilisation, size: requests served) and links (colour: mean utilisation)
                    at their lat/lon, one panel per group
  cost_co2          cost (USD) and CO2 (g) per million tokens per group, with 95 % confidence intervals

Files with the same scenario and policy root attributes form a group (their seeds); a group's latency
samples are pooled, its time series and metrics averaged. --group-by file keeps every file apart.

Latencies use the report's definitions (cpnsim_report.c): measured window t_arrival >= warmup_s, completed
requests only. Accelerator counts and coordinates come from the scenario text stored in /scenario; when
it `extends` a base file, the base is looked up next to the result file, in --scenario-dir, in the
working directory and in the source tree's scenarios/ and merged like the loader does (scenarios/README.md
"extends"). Without counts the heat map falls back to busy accelerators / the site's peak; without
coordinates the map places sites on a circle. Both say so in their titles.

Exit codes: 0 done, 2 bad input (an unreadable or invalid file, named in the message).
"""
import argparse
import os
import sys

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib import cm, colors  # noqa: E402

try:
    import yaml
except ImportError:  # the figures that need the scenario degrade (see above)
    yaml = None

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = ["latency_cdf", "site_utilisation", "link_utilisation", "map", "cost_co2"]


class BadInput(Exception):
    pass


# ---- reading ------------------------------------------------------------------------------------------


def _names(f, what):
    return [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in f["names/" + what][:]]


def _attr(f, name):
    v = f.attrs[name]
    return v.decode("utf-8") if isinstance(v, bytes) else v


def _merge(base, child):
    """Deep merge of `child` over `base` with the loader's rules: mappings key by key; lists whose items
    all have a name item by item (remove: true deletes); other lists and scalars replace."""
    if isinstance(base, dict) and isinstance(child, dict):
        out = dict(base)
        for k, v in child.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    named = lambda xs: isinstance(xs, list) and all(isinstance(x, dict) and "name" in x for x in xs)  # noqa: E731
    if named(base) and named(child):
        out = [dict(x) for x in base]
        for item in child:
            idx = next((i for i, x in enumerate(out) if x["name"] == item["name"]), None)
            if item.get("remove"):
                if idx is not None:
                    out.pop(idx)
            elif idx is None:
                out.append(item)
            else:
                out[idx] = _merge(out[idx], item)
        return out
    return child


def _scenario(text, path, scenario_dir):
    """The scenario tree of a result file, with `extends` resolved when the base can be found; None
    without PyYAML or on a parse error."""
    if yaml is None:
        return None, "PyYAML missing"
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return None, "unparsable /scenario"
    dirs = [d for d in [os.path.dirname(os.path.abspath(path)), scenario_dir, os.getcwd(),
                        os.path.join(HERE, "..", "scenarios")] if d]
    depth = 0
    while isinstance(doc, dict) and "extends" in doc and depth < 16:
        ref = doc.pop("extends")
        cand = [ref] if os.path.isabs(ref) else [os.path.join(d, ref) for d in dirs]
        found = next((c for c in cand if os.path.isfile(c)), None)
        if not found:
            return doc, f"base '{ref}' not found"
        with open(found, encoding="utf-8") as fh:
            base = yaml.safe_load(fh) or {}
        dirs.insert(0, os.path.dirname(os.path.abspath(found)))
        doc = _merge(base, doc)
        depth += 1
    return doc, None


class Run:
    """What the figures need from one result file."""

    def __init__(self, path, scenario_dir):
        self.path = path
        try:
            f = h5py.File(path, "r")
        except (OSError, IOError) as e:
            raise BadInput(f"{path}: cannot open as HDF5 ({e})")
        try:
            with f:
                self._read(f, scenario_dir)
        except KeyError as e:
            raise BadInput(f"{path}: not a cpnsim result file (missing {e})")

    def _read(self, f, scenario_dir):
        if not str(_attr(f, "format_version")).startswith("1."):
            raise BadInput(f"{self.path}: format_version {_attr(f, 'format_version')} is not supported")
        self.policy = _attr(f, "policy")
        self.scenario = _attr(f, "scenario")
        self.seed = int(f.attrs["seed"])
        warmup = float(f.attrs["warmup_s"])
        self.sites = _names(f, "sites")
        self.links = _names(f, "links")
        r = f["requests"][:]
        status = h5py.check_enum_dtype(f["requests"].dtype["status"])
        done = (r["t_arrival"] >= warmup) & (r["status"] == status["completed"])
        self.ttft = r["t_first_token"][done] - r["t_arrival"][done]
        self.e2e = r["t_done"][done] - r["t_arrival"][done]
        ov = f["summary/overall"][0]
        self.cost_per_mtok = float(ov["cost_usd_per_mtok"])
        self.co2_per_mtok = float(ov["co2_g_per_mtok"])
        ss = f["summary/sites"][:]
        key = [k.decode("utf-8") for k in ss["key"]]
        self.site_util = {k: float(u) for k, u in zip(key, ss["utilisation"])}
        self.site_requests = {k: float(u) for k, u in zip(key, ss["requests"])}
        # Site time series: busy accelerators per (site, sample).
        ts = f["timeseries/sites"][:]
        self.t_site = np.unique(ts["t_s"])
        self.busy = np.full((len(self.sites), len(self.t_site)), np.nan)
        col = {t: j for j, t in enumerate(self.t_site)}
        for row in ts:
            s = row["key"].decode("utf-8")
            if s in self.sites:
                self.busy[self.sites.index(s), col[row["t_s"]]] = row["busy_accels"]
        # Link time series: keys are link names or "l<index>" into /names/links.
        tl = f["timeseries/links"][:]
        self.t_link = np.unique(tl["t_s"])
        self.link_util = np.full((len(self.links), len(self.t_link)), np.nan)
        col = {t: j for j, t in enumerate(self.t_link)}
        for row in tl:
            k = row["key"].decode("utf-8")
            i = self.links.index(k) if k in self.links else (int(k[1:]) if k[:1] == "l" and k[1:].isdigit() else -1)
            if 0 <= i < len(self.links):
                self.link_util[i, col[row["t_s"]]] = row["utilisation"]
        text = f["scenario"][()]
        text = text.decode("utf-8") if isinstance(text, bytes) else str(text)
        self.tree, self.tree_note = _scenario(text, self.path, scenario_dir)


class Group:
    def __init__(self, label, runs):
        self.label, self.runs = label, runs

    def pooled(self, what):
        return np.sort(np.concatenate([getattr(r, what) for r in self.runs]))

    def mean_series(self, what, t_attr):
        """Element-wise mean over the group's runs of a (row, sample) array, on the first run's samples."""
        first = getattr(self.runs[0], what)
        same = [getattr(r, what) for r in self.runs if getattr(r, what).shape == first.shape]
        return np.nanmean(np.stack(same), axis=0) if same else first, getattr(self.runs[0], t_attr)


def group_runs(runs, by):
    groups = {}
    same_scenario = len({r.scenario for r in runs}) == 1
    for r in runs:
        if by == "file":
            key = label = os.path.basename(r.path)
        else:
            key = (r.scenario, r.policy)
            label = r.policy if same_scenario else f"{r.scenario}/{r.policy}"
        groups.setdefault(key, Group(label, []))
        groups[key].runs.append(r)
    return list(groups.values())


# ---- figures ------------------------------------------------------------------------------------------


def _save(fig, out, name, dpi):
    fig.savefig(os.path.join(out, name + ".png"), dpi=dpi, metadata={"Software": None})
    fig.savefig(os.path.join(out, name + ".svg"), metadata={"Date": None})
    plt.close(fig)


def latency_cdf(groups, out, dpi):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, what, title in [(axes[0], "ttft", "time to first token"), (axes[1], "e2e", "end-to-end latency")]:
        for g in groups:
            v = g.pooled(what)
            v = v[np.isfinite(v) & (v > 0)]
            if len(v):
                ax.step(v, np.arange(1, len(v) + 1) / len(v), where="post",
                        label=f"{g.label} (n={len(v)}, {len(g.runs)} file{'s' if len(g.runs) > 1 else ''})")
        ax.set_xscale("log")
        ax.set_xlabel("seconds (log scale)")
        ax.set_ylabel("fraction of completed requests")
        ax.set_ylim(0, 1)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(title)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    _save(fig, out, "latency_cdf", dpi)


def _accels(run):
    """Accelerators installed per site (sum of pool counts) from the scenario, or None."""
    sites = {s.get("name"): s for s in (run.tree or {}).get("sites", []) if isinstance(s, dict)}
    try:
        return np.array([float(sum(p["count"] for p in sites[s]["pools"])) for s in run.sites])
    except (KeyError, TypeError):
        return None


def site_utilisation(groups, out, dpi):
    n_sites = len(groups[0].runs[0].sites)
    fig, axes = plt.subplots(len(groups), 1, figsize=(10, 0.4 + len(groups) * (1.2 + 0.3 * n_sites)), squeeze=False)
    panels = []
    for g in groups:
        busy, t = g.mean_series("busy", "t_site")
        total = _accels(g.runs[0])
        if total is not None and np.all(total > 0):
            util, note = busy / total[:, None], "busy / installed accelerators"
        else:
            peak = np.nanmax(busy, axis=1, initial=0)
            util, note = busy / np.where(peak > 0, peak, 1)[:, None], "busy / site's peak (no pool counts)"
        panels.append((util, t, note))
    # One colour scale for every panel, so that groups compare at a glance.
    vmax = max([float(np.nanmax(u, initial=0)) for u, _, _ in panels] + [1e-9])
    for ax, g, (util, t, note) in zip(axes[:, 0], groups, panels):
        dt = (t[1] - t[0]) if len(t) > 1 else 1.0
        im = ax.imshow(util, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0, vmax=vmax,
                       extent=[t[0] - dt / 2, t[-1] + dt / 2, len(g.runs[0].sites) - 0.5, -0.5])
        ax.set_yticks(range(len(g.runs[0].sites)))
        ax.set_yticklabels(g.runs[0].sites, fontsize=8)
        ax.set_title(f"{g.label}: site utilisation ({note})", fontsize=10)
        ax.set_xlabel("simulated time (s)")
        fig.colorbar(im, ax=ax, label="utilisation")
    fig.tight_layout()
    _save(fig, out, "site_utilisation", dpi)


def link_utilisation(groups, out, dpi):
    fig, axes = plt.subplots(len(groups), 1, figsize=(10, 3.2 * len(groups)), squeeze=False, sharex=True)
    for ax, g in zip(axes[:, 0], groups):
        util, t = g.mean_series("link_util", "t_link")
        for i, name in enumerate(g.runs[0].links):
            ax.plot(t, util[i], label=name, lw=1.2)
        ax.set_ylabel("utilisation")
        ax.set_title(f"{g.label}: link utilisation (load / bandwidth)", fontsize=10)
        ax.grid(True, alpha=0.3)
        if len(g.runs[0].links) <= 24:
            ax.legend(fontsize=7, ncol=max(1, len(g.runs[0].links) // 8), loc="upper right")
    axes[-1, 0].set_xlabel("simulated time (s)")
    fig.tight_layout()
    _save(fig, out, "link_utilisation", dpi)


def _positions(run):
    """name -> (lon, lat) of sites and nodes; falls back to a circle of sites (second value True)."""
    pos = {}
    tree = run.tree or {}
    for section in ("sites", "nodes"):
        for x in tree.get(section, []) or []:
            if isinstance(x, dict) and "lat" in x and "lon" in x:
                pos[x["name"]] = (float(x["lon"]), float(x["lat"]))
    if all(s in pos for s in run.sites):
        return pos, False
    n = len(run.sites)
    return {s: (np.cos(2 * np.pi * i / n), np.sin(2 * np.pi * i / n)) for i, s in enumerate(run.sites)}, True


def site_map(groups, out, dpi):
    n = len(groups)
    fig = plt.figure(figsize=(max(8.0, 5.0 * n), 5.4))
    gs = fig.add_gridspec(2, 2 * n, height_ratios=[1, 0.035], hspace=0.35)
    axes = np.array([[fig.add_subplot(gs[0, 2 * i:2 * i + 2]) for i in range(n)]])
    cax_sites, cax_links = fig.add_subplot(gs[1, :n]), fig.add_subplot(gs[1, n:])
    link_means = [np.nanmean(g.mean_series("link_util", "t_link")[0], axis=1) if len(g.runs[0].links) else
                  np.zeros(0) for g in groups]
    lmax = max([float(np.nanmax(m, initial=0)) for m in link_means] + [1e-12])
    smax = max([max(r.site_util.values(), default=0) for g in groups for r in g.runs] + [1e-12])
    lnorm, snorm = colors.Normalize(0, lmax), colors.Normalize(0, smax)
    for ax, g, lm in zip(axes[0], groups, link_means):
        run = g.runs[0]
        pos, fallback = _positions(run)
        for i, name in enumerate(run.links):
            a, _, b = name.partition("--")
            if a in pos and b in pos:
                (x0, y0), (x1, y1) = pos[a], pos[b]
                v = lm[i] if np.isfinite(lm[i]) else 0.0
                ax.plot([x0, x1], [y0, y1], color=cm.plasma(lnorm(v)), lw=1.5 + 4 * v / lmax, zorder=1)
        for name, (x, y) in pos.items():
            if name not in run.sites:
                ax.scatter([x], [y], s=20, color="0.6", marker="s", zorder=2)
                ax.annotate(name, (x, y), fontsize=7, color="0.4", xytext=(3, -8), textcoords="offset points")
        util = np.array([np.nanmean([r.site_util.get(s, np.nan) for r in g.runs]) for s in run.sites])
        reqs = np.array([np.nanmean([r.site_requests.get(s, 0) for r in g.runs]) for s in run.sites])
        xy = np.array([pos[s] for s in run.sites])
        ax.scatter(xy[:, 0], xy[:, 1], c=np.nan_to_num(util), cmap="viridis", norm=snorm, edgecolors="k",
                   s=40 + 260 * reqs / max(reqs.max(), 1), zorder=3)
        for s, (x, y) in zip(run.sites, xy):
            ax.annotate(s, (x, y), fontsize=8, xytext=(5, 4), textcoords="offset points")
        if fallback:
            ax.set_title(f"{g.label} (no coordinates: sites on a circle)", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            ax.set_title(g.label, fontsize=10)
            ax.set_xlabel("longitude")
            ax.set_ylabel("latitude")
            ax.set_aspect(1 / max(0.2, np.cos(np.radians(np.mean(xy[:, 1])))), adjustable="datalim")
        ax.margins(0.15)
    fig.colorbar(cm.ScalarMappable(norm=snorm, cmap="viridis"), cax=cax_sites, orientation="horizontal",
                 label="site utilisation")
    fig.colorbar(cm.ScalarMappable(norm=lnorm, cmap="plasma"), cax=cax_links, orientation="horizontal",
                 label="mean link utilisation", format="%.2g")
    fig.suptitle("sites (size: requests served) and links, coloured by load", fontsize=11)
    _save(fig, out, "map", dpi)


def _ci(values):
    v = np.asarray([x for x in values if np.isfinite(x)])
    if len(v) < 2:
        return (v.mean() if len(v) else np.nan), 0.0
    from math import sqrt
    # Student t 97.5 % quantiles for 1..30 degrees of freedom (no SciPy on the Debian image); 1.96 beyond.
    t = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042]
    df = len(v) - 1
    return v.mean(), (t[df - 1] if df <= 30 else 1.96) * v.std(ddof=1) / sqrt(len(v))


def cost_co2(groups, out, dpi):
    fig, axes = plt.subplots(1, 2, figsize=(max(6, 1.6 * len(groups) + 3), 3.8))
    x = np.arange(len(groups))
    for ax, what, ylabel, color in [(axes[0], "cost_per_mtok", "USD per million tokens", "tab:blue"),
                                    (axes[1], "co2_per_mtok", "g CO2e per million tokens", "tab:green")]:
        stats = [_ci([getattr(r, what) for r in g.runs]) for g in groups]
        ax.bar(x, [m for m, _ in stats], yerr=[h for _, h in stats], color=color, capsize=4, alpha=0.85)
        ax.set_xticks(x)
        ax.set_xticklabels([g.label for g in groups], rotation=20, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_title("cost", fontsize=10)
    axes[1].set_title("emissions", fontsize=10)
    fig.suptitle("per million tokens (bars: mean over seeds, whiskers: 95 % CI)", fontsize=10)
    fig.tight_layout()
    _save(fig, out, "cost_co2", dpi)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Figures from cpnsim HDF5 result files (PNG and SVG).")
    ap.add_argument("files", nargs="+", metavar="RUN.h5")
    ap.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    ap.add_argument("--group-by", choices=["policy", "file"], default="policy",
                    help="policy: files of the same scenario and policy are seeds of one group (default)")
    ap.add_argument("--scenario-dir", help="where to look for a scenario's `extends` base")
    ap.add_argument("--dpi", type=int, default=100, help="PNG resolution (default 100)")
    a = ap.parse_args(argv)
    matplotlib.rcParams["svg.hashsalt"] = "cpnsim"  # stable SVG ids: same inputs, same bytes
    try:
        runs = [Run(p, a.scenario_dir) for p in a.files]
    except BadInput as e:
        print(f"plots.py: {e}", file=sys.stderr)
        return 2
    for r in runs:
        if r.tree_note:
            print(f"plots.py: warning: {r.path}: scenario: {r.tree_note}", file=sys.stderr)
    os.makedirs(a.out, exist_ok=True)
    groups = group_runs(runs, a.group_by)
    latency_cdf(groups, a.out, a.dpi)
    site_utilisation(groups, a.out, a.dpi)
    link_utilisation(groups, a.out, a.dpi)
    site_map(groups, a.out, a.dpi)
    cost_co2(groups, a.out, a.dpi)
    print(f"wrote {', '.join(n + '.png/.svg' for n in FIGURES)} to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
