#!/usr/bin/env bash
# Benchmark: `cpnsim --check` of scenarios/scale-1000.yaml against the generated site count
# (--set topology.n=SITES): wall and CPU seconds, peak RSS, links and the mean degree of the Waxman graph
# (2 x links / sites; the generator aims at 4). Up to 4,096 sites Waxman draws every pair (O(n^2)); above,
# it samples the same law on a grid (sim/topology/generate.c); the loader's name lookups are hashed and
# the reachability warnings come from connected components (no routes), so the check is about
# O(n log n). Before those changes a 100,000-site check took 19 minutes.
# Usage: bench/bench_check_scale.sh [BUILD_DIR] [REPEAT] [SITES...]   (defaults: build, 3,
#        "1000 10000 100000"). Prints one line per site count: medians of REPEAT.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
build=$(cd "${1:-$here/build}" && pwd)
repeat=${2:-3}
shift $(( $# < 2 ? $# : 2 ))
sites=${*:-1000 10000 100000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-8s %10s %10s %12s %9s %11s\n' sites wall_s cpu_s peak_rss_MiB links mean_degree
for n in $sites; do
  walls=() cpus=() rss=() links=
  for r in $(seq "$repeat"); do
    timed "$work/t" "$build/cpnsim" "$here/scenarios/scale-1000.yaml" --set topology.n="$n" --check > "$work/out"
    read -r w c m < "$work/t"
    walls+=("$w") cpus+=("$c") rss+=("$m")
    links=$(sed -nE 's/.* ok \([0-9]+ sites, ([0-9]+) links.*/\1/p' "$work/out")
  done
  printf '%-8s %10s %10s %12.1f %9s %11.3f\n' "$n" "$(median "${walls[@]}")" "$(median "${cpus[@]}")" \
    "$(awk -v k="$(median "${rss[@]}")" 'BEGIN{print k / 1024}')" "$links" "$(awk -v l="$links" -v n="$n" 'BEGIN{print 2 * l / n}')"
done
