#!/usr/bin/env bash
# Benchmark: speed, output size and memory of cpnsim's default scenario (national-2026, fluid network,
# HDF5 on) against bench_floor, the bare event loop doing the same queueing (bench/floor.c).
#
# One invocation runs, alternating so both see the same machine load, REPEAT times each:
#   build/cpnsim scenarios/national-2026.yaml --set run.max_requests=N --set run.duration_s=86400
#                --set run.warmup_s=0 --quiet --out TMP.h5
#   build/bench/bench_floor N
# and prints every run, then the medians of: simulated requests per second of wall time (cpnsim's own
# wall_seconds attribute: set-up and the run, not the final flush of the file), requests per second of
# CPU time (user + system of the whole process: less sensitive to other jobs on a shared machine),
# events per request, bytes of HDF5 file per request, peak RSS, and the ratio floor / cpnsim (the median
# of the ratios of each back-to-back pair). Targets: >= 1,500,000 requests/s, within 4x of the floor.
#
# Usage: bench/bench_default.sh [BUILD_DIR] [REPEAT] [N]     (defaults: build, 5, 1000000)
# Needs /usr/bin/python3 with h5py and /usr/bin/time; build first (bench_floor is built with cpnsim).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
build=$(cd "${1:-$here/build}" && pwd)
repeat=${2:-${REPEAT:-5}}
n=${3:-${N:-1000000}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "bench_default: N=$n REPEAT=$repeat, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %9s %9s %11s %11s %8s %9s %8s %11s %11s %8s %8s\n" run requests wall_s req/s req/cpu_s \
  ev/req h5_B/req rss_MiB floor_req/s floor/cpu_s ratio cpu_ratio
rate=() crate=() evr=() bpr=() rss=() frate=() fcrate=() ratio=() cratio=()
for i in $(seq 1 "$repeat"); do
  timed "$tmp/t" "$build/cpnsim" "$here/scenarios/national-2026.yaml" --set run.max_requests="$n" \
    --set run.duration_s=86400 --set run.warmup_s=0 --quiet --out "$tmp/b.h5" > /dev/null
  read -r _ cpu _ < "$tmp/t"
  read -r wall events rss_b _ rows bytes < <(h5_stats "$tmp/b.h5")
  floor=$("$build/bench/bench_floor" "$n")
  r=$(div "$rows" "$wall") cr=$(div "$rows" "$cpu")
  fr=$(kv req_per_s "$floor") fcr=$(kv req_per_cpu_s "$floor")
  rate+=("$r") crate+=("$cr") evr+=("$(div "$events" "$rows")") bpr+=("$(div "$bytes" "$rows")")
  rss+=("$(div "$rss_b" 1048576)") frate+=("$fr") fcrate+=("$fcr") ratio+=("$(div "$fr" "$r")")
  cratio+=("$(div "$fcr" "$cr")")
  [ "$i" = 1 ] && echo "cpnsim $(h5_attr "$tmp/b.h5" git_commit) (git_commit attribute)"
  printf "%-6s %9s %9.2f %11.0f %11.0f %8.3f %9.1f %8.1f %11.0f %11.0f %8.2f %8.2f\n" "$i" "$rows" \
    "$wall" "$r" "$cr" "${evr[-1]}" "${bpr[-1]}" "${rss[-1]}" "$fr" "$fcr" "${ratio[-1]}" "${cratio[-1]}"
  rm -f "$tmp/b.h5"
done
printf "%-6s %9s %9s %11.0f %11.0f %8.3f %9.1f %8.1f %11.0f %11.0f %8.2f %8.2f\n" median "$n" - \
  "$(median "${rate[@]}")" "$(median "${crate[@]}")" "$(median "${evr[@]}")" "$(median "${bpr[@]}")" \
  "$(median "${rss[@]}")" "$(median "${frate[@]}")" "$(median "${fcrate[@]}")" "$(median "${ratio[@]}")" \
  "$(median "${cratio[@]}")"
awk -v r="$(median "${rate[@]}")" -v q="$(median "${ratio[@]}")" 'BEGIN{
  printf "targets: >= 1,500,000 req/s: %s (%.0f); within 4x of the floor: %s (%.2fx)\n",
         (r >= 1500000 ? "met" : "NOT met"), r, (q <= 4 ? "met" : "NOT met"), q }'
