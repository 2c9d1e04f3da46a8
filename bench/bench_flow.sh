#!/usr/bin/env bash
# Benchmark: cpnsim's flow network mode (every upload and reply a SimGrid flow) against
# bench_flow_baseline, the plain SimGrid program with one actor and its own activities per request on
# the same platform (bench/flow_baseline.c). Target: the flow mode at least as fast as the baseline.
#
# One invocation runs, alternating, REPEAT times each:
#   build/cpnsim scenarios/national-2026.yaml --set run.network_mode=flow --set run.max_requests=N
#                --set run.duration_s=86400 --set run.warmup_s=0 --quiet --out TMP.h5
#   build/bench/bench_flow_baseline N RATE SERVICE
# where RATE (arrivals per second) and SERVICE (mean time at the site) are measured on that cpnsim run's
# /requests, so the baseline carries the same load and about as many requests in flight. Prints every
# run, then the medians of requests/s of wall time (cpnsim: its wall_seconds attribute; baseline: its
# own clock, SimGrid set-up included), requests/s of CPU time (user + system of each process), peak RSS,
# and the ratio cpnsim / baseline (median of the back-to-back pairs' ratios; >= 1 meets the target).
#
# Usage: bench/bench_flow.sh [BUILD_DIR] [REPEAT] [N]     (defaults: build, 5, 200000)
# At 200,000 requests one run takes 20-60 s on a shared 2-core machine; use N=50000 for a quick look.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
build=$(cd "${1:-$here/build}" && pwd)
repeat=${2:-${REPEAT:-5}}
n=${3:-${N:-200000}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "bench_flow: N=$n REPEAT=$repeat, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %9s %9s %9s %11s %8s %8s %8s | %9s %9s %11s %8s %8s | %7s %7s\n" run requests live wall_s req/s \
  req/cpu_s rss_MiB rate_rps base_wall base_req/s base_r/cpu_s b_live b_MiB ratio cpu_rat
rate=() crate=() rss=() brate=() bcrate=() brss=() ratio=() cratio=()
for i in $(seq 1 "$repeat"); do
  timed "$tmp/t" "$build/cpnsim" "$here/scenarios/national-2026.yaml" --set run.network_mode=flow \
    --set run.max_requests="$n" --set run.duration_s=86400 --set run.warmup_s=0 --quiet --out "$tmp/f.h5" > /dev/null
  read -r _ cpu _ < "$tmp/t"
  read -r wall _ rss_b live rows _ < <(h5_stats "$tmp/f.h5")
  [ "$i" = 1 ] && echo "cpnsim $(h5_attr "$tmp/f.h5" git_commit) (git_commit attribute)"
  # Load of this run: arrivals per second and mean time at the site (dispatch to reply start).
  read -r arr_rps service_s < <(/usr/bin/python3 - "$tmp/f.h5" <<'PY'
import sys, h5py
r = h5py.File(sys.argv[1], "r")["requests"][:]
t = r["t_arrival"]
site = r["t_done"] - r["t_dispatch"] - r["net_in_s"] - r["net_out_s"]
print(len(r) / (t.max() - t.min()), site.mean())
PY
)
  rm -f "$tmp/f.h5"
  timed "$tmp/b" "$build/bench/bench_flow_baseline" "$n" "$arr_rps" "$service_s" > "$tmp/b.out"
  base=$(cat "$tmp/b.out")
  read -r _ _ bmax_kib < "$tmp/b"
  r=$(div "$rows" "$wall") cr=$(div "$rows" "$cpu") br=$(kv req_per_s "$base") bcr=$(kv req_per_cpu_s "$base")
  rate+=("$r") crate+=("$cr") rss+=("$(div "$rss_b" 1048576)") brate+=("$br") bcrate+=("$bcr")
  brss+=("$(div "$bmax_kib" 1024)") ratio+=("$(div "$r" "$br")") cratio+=("$(div "$cr" "$bcr")")
  printf "%-6s %9s %9s %9.2f %11.0f %8.0f %8.1f %8.1f | %9.2f %9.0f %11.0f %8s %8.1f | %7.2f %7.2f\n" "$i" "$rows" \
    "$live" "$wall" "$r" "$cr" "${rss[-1]}" "$arr_rps" "$(kv wall_s "$base")" "$br" "$bcr" "$(kv peak_live "$base")" \
    "${brss[-1]}" "${ratio[-1]}" "${cratio[-1]}"
done
printf "%-6s %9s %9s %9s %11.0f %8.0f %8.1f %8s | %9s %9.0f %11.0f %8s %8.1f | %7.2f %7.2f\n" median "$n" - - \
  "$(median "${rate[@]}")" "$(median "${crate[@]}")" "$(median "${rss[@]}")" - - "$(median "${brate[@]}")" \
  "$(median "${bcrate[@]}")" - "$(median "${brss[@]}")" "$(median "${ratio[@]}")" "$(median "${cratio[@]}")"
awk -v q="$(median "${ratio[@]}")" 'BEGIN{
  printf "target: flow mode at least as fast as the plain SimGrid baseline: %s (%.2fx)\n", (q >= 1 ? "met" : "NOT met"), q }'
