#!/usr/bin/env bash
# Benchmark: simulated requests per second (of wall time) and peak memory of the default national
# scenario at 100,000 and 1,000,000 requests (run.max_requests; the simulated horizon is long enough to
# reach them). Prints each run and the median of REPEAT runs (machines are shared and noisy).
# Usage: bench/bench_default.sh [BUILD_DIR] [REPEAT]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$here/build"}
repeat=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf "%-10s %-6s %12s %12s %14s %12s\n" requests run wall_s events req_per_s peak_rss_MiB
for n in 100000 1000000; do
  rates=()
  for i in $(seq 1 "$repeat"); do
    "$build/cpnsim" "$here/scenarios/national-2026.yaml" --set run.max_requests=$n --set run.duration_s=86400 \
      --set run.warmup_s=0 --out "$tmp/b.h5" --quiet
    read -r wall events rss arrived < <(/usr/bin/python3 - "$tmp/b.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1])
print(f.attrs["wall_seconds"], f.attrs["events_processed"], f.attrs["peak_rss_bytes"], len(f["requests"]))
PY
)
    rate=$(awk -v a="$arrived" -v w="$wall" 'BEGIN{printf "%.0f", a / w}')
    rates+=("$rate")
    printf "%-10s %-6s %12.2f %12.0f %14s %12.1f\n" "$arrived" "$i" "$wall" "$events" "$rate" \
      "$(awk -v r="$rss" 'BEGIN{print r / 1048576}')"
  done
  median=$(printf "%s\n" "${rates[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  echo "median at $n requests: $median simulated requests/s"
done
