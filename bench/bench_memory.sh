#!/usr/bin/env bash
# Benchmark: memory of the default scenario (national-2026). Targets: memory independent of the number
# of completed requests; <= 512 bytes per request in flight.
#
# 1. Peak RSS against completed requests, REPEAT runs each (LARGE_REPEAT for N >= 10,000,000):
#      build/cpnsim scenarios/national-2026.yaml --set run.max_requests=N --set run.duration_s=86400
#                   --set run.warmup_s=0 --quiet --out TMP.h5           for N in NS (1000000 10000000)
#    prints peak_rss_bytes and peak_live_requests (root attributes of the result file) and the growth
#    per completed request between the smallest and the largest N (0 when memory does not grow).
# 2. Bytes per request in flight: the same N_LIVE requests (300,000) twice, at demand.scale=1 (a few
#    thousand in flight) and overloaded at demand.scale=20 (the queues grow to over 100,000 in flight),
#    then (peak RSS overloaded - peak RSS at scale 1) / (peak_live overloaded - peak_live at scale 1).
# Medians of the runs. RSS does not depend on machine load, so fewer repeats lose little.
#
# Usage: bench/bench_memory.sh [BUILD_DIR] [REPEAT] [N_LIVE] [NS...]
#        (defaults: build, 5, 300000, "1000000 10000000"; env LARGE_REPEAT, default REPEAT)
# A 10,000,000-request run takes 1-2 min and writes a ~700 MB file (to a temporary directory in /var/tmp).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
build=$(cd "${1:-$here/build}" && pwd)
repeat=${2:-${REPEAT:-5}}
n_live=${3:-${N_LIVE:-300000}}
shift $(( $# < 3 ? $# : 3 ))
ns=${*:-1000000 10000000}
large_repeat=${LARGE_REPEAT:-$repeat}
work=$(mktemp -d -p /var/tmp)
trap 'rm -rf "$work"' EXIT

# run_default N [--set ...]: prints "rows peak_rss_bytes peak_live wall_s"
run_default() {
  local n=$1
  shift
  "$build/cpnsim" "$here/scenarios/national-2026.yaml" --set run.max_requests="$n" --set run.duration_s=86400 \
    --set run.warmup_s=0 "$@" --quiet --out "$work/m.h5" > /dev/null
  read -r wall _ rss live rows _ < <(h5_stats "$work/m.h5")
  rm -f "$work/m.h5"
  echo "$rows $rss $live $wall"
}

echo "bench_memory: REPEAT=$repeat (LARGE_REPEAT=$large_repeat), N_LIVE=$n_live, NS: $ns; $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "1. peak RSS against completed requests"
printf "%-9s %-4s %10s %10s %10s %8s\n" N run completed rss_MiB peak_live wall_s
first_n= first_rss= last_n= last_rss=
for n in $ns; do
  rep=$repeat
  [ "$n" -ge 10000000 ] && rep=$large_repeat
  rss=() live=()
  for i in $(seq 1 "$rep"); do
    read -r rows rb lv wall < <(run_default "$n")
    rss+=("$rb") live+=("$lv")
    printf "%-9s %-4s %10s %10.1f %10s %8.1f\n" "$n" "$i" "$rows" "$(div "$rb" 1048576)" "$lv" "$wall"
  done
  m=$(median "${rss[@]}")
  printf "%-9s %-4s %10s %10.1f %10s\n" "$n" med - "$(div "$m" 1048576)" "$(median "${live[@]}")"
  [ -z "$first_n" ] && first_n=$n first_rss=$m
  last_n=$n last_rss=$m
done
if [ "$last_n" != "$first_n" ]; then
  awk -v a="$first_rss" -v b="$last_rss" -v na="$first_n" -v nb="$last_n" 'BEGIN{
    g = (b - a) / (nb - na)
    printf "growth: %.1f MiB from %d to %d requests = %.2f bytes per completed request\n", (b - a) / 1048576, na, nb, g
    printf "target: memory independent of completed requests: %s\n", (g < 1 ? "met (< 1 byte per request)" : "NOT met") }'
fi

echo "2. bytes per request in flight ($n_live requests, demand.scale 1 and 20)"
printf "%-4s %10s %10s %10s %10s %12s\n" run rss1_MiB live1 rss20_MiB live20 B/in-flight
bpl=() lives=()
for i in $(seq 1 "$repeat"); do
  read -r _ r1 l1 _ < <(run_default "$n_live")
  read -r _ r20 l20 _ < <(run_default "$n_live" --set demand.scale=20)
  b=$(awk -v a="$r1" -v b="$r20" -v la="$l1" -v lb="$l20" 'BEGIN{printf "%.1f", (b - a) / (lb - la)}')
  bpl+=("$b") lives+=("$l20")
  printf "%-4s %10.1f %10s %10.1f %10s %12s\n" "$i" "$(div "$r1" 1048576)" "$l1" "$(div "$r20" 1048576)" "$l20" "$b"
done
m=$(median "${bpl[@]}")
echo "median: $m bytes per request in flight (peak in flight $(median "${lives[@]}"))"
awk -v b="$m" -v l="$(median "${lives[@]}")" 'BEGIN{
  printf "target: <= 512 bytes per request in flight: %s%s\n", (b <= 512 ? "met" : "NOT met"), (l < 100000 ? " (but fewer than 100,000 in flight: raise N_LIVE)" : "") }'
