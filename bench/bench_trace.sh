#!/usr/bin/env bash
# Benchmark: replay of a generated 10-million-row trace (Vidur format) through the engine: wall time,
# requests per second and peak memory. The trace is read as it is replayed; memory is what is in flight
# (the summary keeps log-bucketed histograms, not per-request samples).
# Usage: bench/bench_trace.sh [BUILD_DIR] [ROWS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$here/build"}
rows=${2:-10000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/tests/data/gen_trace.py" "$rows" --rate-rps 2000 --seed 7 > "$tmp/trace.csv"
echo "trace: $rows rows, $(du -m "$tmp/trace.csv" | cut -f1) MB"
/usr/bin/time -v "$build/cpnsim" "$here/tests/data/replay.yaml" --set demand.trace.file="$tmp/trace.csv" \
  --set demand.trace.mapping=vidur --set run.duration_s=1e9 --set run.drain_s=3600 --set run.sample_interval_s=600 \
  --set sites.s.pools.p.count=128 --set sites.s.replicas.0.count=128 --out "$tmp/out.h5" 2> "$tmp/time" | head -3
grep -E "Maximum resident|Elapsed" "$tmp/time"
