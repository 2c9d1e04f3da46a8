#!/usr/bin/env bash
# Benchmark: national-2026-full (the real 2026 national volume, about 965,000 requests per simulated
# second) against real time: how many seconds its event loop takes per simulated second.
#
# One invocation runs REPEAT times (alternating with BASE's build when BASE=DIR is given, so that both see
# the same machine load), each time for DUR and for 2 DUR simulated seconds:
#   BUILD/cpnsim scenarios/national-2026-full.yaml --set run.duration_s=DUR --set run.drain_s=0
#                --set run.warmup_s=0 --quiet --out TMP.h5
# and prints every run, then medians of: requests, wall s of the process, CPU s (user + system, all
# threads), loop_s (the `wall_s_event_loop` attribute: the event loop alone, without set-up and the final
# flush), and peak RSS of the 2 DUR run; and the steady cost, loop_s per simulated s between DUR and 2 DUR
# ((loop_s(2 DUR) - loop_s(DUR)) / DUR; real time is 1, the target is below 1 on one core), and the same
# for CPU s. With BASE, the medians of the paired ratios base / this of the steady costs.
#
# Why the difference of two runs: the first simulated seconds fill the system (requests in flight and
# memory grow for about 30 s, and the kernel zeroes every new page), so a whole short run's cost per
# simulated second is not the steady one. Measured 2026-11-27, 78bd940 against 02cde3e: whole runs of
# 20 simulated s, 1.28x less loop time; the steady cost from 20 to 40 s, 1.15x (medians of 5 and 9 pairs). The
# steady figure, 2.76 s of loop per simulated s, matched the rate of an attempt at the hour (2.755).
#
# Usage: [BASE=DIR] bench/bench_national.sh [BUILD_DIR] [REPEAT] [DUR]   (defaults: build, 3, 20)
# Needs /usr/bin/python3 with h5py and /usr/bin/time. A run takes about 3 GB of memory.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
build=$(cd "${1:-$here/build}" && pwd)
repeat=${2:-${REPEAT:-3}}
dur=${3:-${DUR:-20}}
dur2=$(awk -v d="$dur" 'BEGIN{print 2 * d}')
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

echo "bench_national: DUR=$dur and $dur2 REPEAT=$repeat${base:+ BASE=$base}, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %-5s %11s %8s %8s %8s %8s %8s %13s %13s\n" run build requests wall_s cpu_s loop_s rss_MiB \
  dur loop_s/sim_s cpu_s/sim_s
lps=() cps=() req=() cpu=() loop=() rss=() rl=() rc=()
for i in $(seq 1 "$repeat"); do
  for which in this base; do
    [ "$which" = base ] && [ -z "$base" ] && continue
    dir=$build
    [ "$which" = base ] && dir=$base
    read -r n1 w1 c1 l1 r1 < <(run "$dir" "$dur")
    printf "%-6s %-5s %11s %8.2f %8.2f %8.2f %8.0f %8s\n" "$i" "$which" "$n1" "$w1" "$c1" "$l1" "$r1" "$dur"
    read -r n2 w2 c2 l2 r2 < <(run "$dir" "$dur2")
    lp=$(div "$(awk -v a="$l2" -v b="$l1" 'BEGIN{print a - b}')" "$dur")
    cp=$(div "$(awk -v a="$c2" -v b="$c1" 'BEGIN{print a - b}')" "$dur")
    printf "%-6s %-5s %11s %8.2f %8.2f %8.2f %8.0f %8s %13.3f %13.3f\n" "$i" "$which" "$n2" "$w2" "$c2" "$l2" "$r2" \
      "$dur2" "$lp" "$cp"
    if [ "$which" = this ]; then
      lps+=("$lp") cps+=("$cp") req+=("$n2") cpu+=("$c2") loop+=("$l2") rss+=("$r2")
    else
      rl+=("$(div "$lp" "${lps[-1]}")") rc+=("$(div "$cp" "${cps[-1]}")")
    fi
  done
done
printf "%-6s %-5s %11.0f %8s %8.2f %8.2f %8.0f %8s %13.3f %13.3f\n" median this "$(median "${req[@]}")" - \
  "$(median "${cpu[@]}")" "$(median "${loop[@]}")" "$(median "${rss[@]}")" "$dur2" "$(median "${lps[@]}")" \
  "$(median "${cps[@]}")"
if [ -n "$base" ]; then
  printf "paired ratios base / this of the steady costs (medians of %d): loop_s per simulated s %s, CPU s %s\n" \
    "$repeat" "$(median "${rl[@]}")" "$(median "${rc[@]}")"
fi
awk -v l="$(median "${lps[@]}")" 'BEGIN{
  printf "target: a simulated hour in under an hour of wall time on one core (steady loop_s per simulated s < 1): %s (%.2fx real time; the hour would take about %.1f h of loop)\n",
         (l < 1 ? "met" : "NOT met"), l, l }'
