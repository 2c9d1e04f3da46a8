#!/usr/bin/env bash
# Benchmark: national-2026-full (the real 2026 national volume, about 965,000 requests per simulated
# second) against real time: how many seconds its event loop takes per simulated second.
#
# One invocation runs REPEAT times (alternating with BASE's build when BASE=DIR is given, so that both see
# the same machine load):
#   BUILD/cpnsim scenarios/national-2026-full.yaml --set run.duration_s=DUR --set run.drain_s=0
#                --set run.warmup_s=0 --quiet --out TMP.h5
# and prints every run, then medians of: requests, wall s of the process, CPU s (user + system, all
# threads), loop_s (the `wall_s_event_loop` attribute: the event loop alone, without set-up and the final
# flush), loop_s per simulated s (real time is 1; the target is below 1 on one core), CPU s per simulated
# s after set-up ((cpu_s - setup CPU s) / DUR, the set-up being a run of DUR=0.001 measured once), and
# peak RSS; with BASE, the median of the paired ratios base / this of CPU s and of loop_s.
#
# The first simulated seconds fill the system (requests in flight grow for about 30 s): short runs
# understate the steady cost per simulated second. DUR=30 gives a figure within a few percent of a
# 5-minute run's.
#
# Usage: [BASE=DIR] bench/bench_national.sh [BUILD_DIR] [REPEAT] [DUR]   (defaults: build, 3, 10)
# Needs /usr/bin/python3 with h5py and /usr/bin/time. A run takes about 3 GB of memory.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
build=$(cd "${1:-$here/build}" && pwd)
repeat=${2:-${REPEAT:-3}}
dur=${3:-${DUR:-10}}
base=${BASE:+$(cd "$BASE" && pwd)}
scen="$here/scenarios/national-2026-full.yaml"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # BUILD DUR -> "requests wall_s cpu_s loop_s rss_mib"
  timed "$tmp/t" "$1/cpnsim" "$scen" --set run.duration_s="$2" --set run.drain_s=0 --set run.warmup_s=0 \
    --quiet --out "$tmp/n.h5" > /dev/null
  local wall cpu rows loop
  read -r wall cpu _ < "$tmp/t"
  rows=$(/usr/bin/python3 -c 'import sys, h5py; print("%.0f" % h5py.File(sys.argv[1], "r")["summary/overall"]["requests"][0])' "$tmp/n.h5")
  loop=$(h5_attr "$tmp/n.h5" wall_s_event_loop)
  rss=$(div "$(h5_attr "$tmp/n.h5" peak_rss_bytes)" 1048576)
  rm -f "$tmp/n.h5"
  echo "$rows $wall $cpu $loop $rss"
}

echo "bench_national: DUR=$dur REPEAT=$repeat${base:+ BASE=$base}, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
read -r _ _ setup _ < <(run "$build" 0.001)
echo "set-up (DUR=0.001): $setup CPU s"
printf "%-6s %-5s %11s %8s %8s %8s %12s %12s %8s\n" run build requests wall_s cpu_s loop_s loop_s/sim_s \
  cpu_s/sim_s rss_MiB
cpu=() loop=() lps=() cps=() rss=() bcpu=() bloop=() rc=() rl=()
for i in $(seq 1 "$repeat"); do
  for which in this base; do
    [ "$which" = base ] && [ -z "$base" ] && continue
    dir=$build
    [ "$which" = base ] && dir=$base
    read -r n w c l r < <(run "$dir" "$dur")
    lp=$(div "$l" "$dur") cp=$(div "$(awk -v c="$c" -v s="$setup" 'BEGIN{print c - s}')" "$dur")
    printf "%-6s %-5s %11s %8.2f %8.2f %8.2f %12.3f %12.3f %8.0f\n" "$i" "$which" "$n" "$w" "$c" "$l" "$lp" "$cp" "$r"
    if [ "$which" = this ]; then
      cpu+=("$c") loop+=("$l") lps+=("$lp") cps+=("$cp") rss+=("$r")
    else
      bcpu+=("$c") bloop+=("$l")
      rc+=("$(div "$c" "${cpu[-1]}")") rl+=("$(div "$l" "${loop[-1]}")")
    fi
  done
done
printf "%-6s %-5s %11s %8s %8.2f %8.2f %12.3f %12.3f %8.0f\n" median this - - "$(median "${cpu[@]}")" \
  "$(median "${loop[@]}")" "$(median "${lps[@]}")" "$(median "${cps[@]}")" "$(median "${rss[@]}")"
if [ -n "$base" ]; then
  printf "paired ratios base / this (medians of %d): CPU s %s, loop_s %s\n" "$repeat" "$(median "${rc[@]}")" \
    "$(median "${rl[@]}")"
fi
awk -v l="$(median "${lps[@]}")" 'BEGIN{
  printf "target: a simulated hour in under an hour of wall time on one core (loop_s per simulated s < 1): %s (%.2fx real time; an hour would take about %.1f h)\n",
         (l < 1 ? "met" : "NOT met"), l, l }'
