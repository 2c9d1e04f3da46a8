#!/usr/bin/env bash
# README.md's sample output (the block under "What the first command prints") made by a command: runs the
# simulation of README's first command (build/cpnsim: default scenario, default seed) and writes its
# abridged output into that block, or with --check compares the block with a fresh run's.
# Usage: scripts/readme-sample.sh [--check] [BUILD_DIR]     (CPNSIM=PATH overrides BUILD_DIR/cpnsim)
# Abridged: the lines up to the first site, then "  ...", then the last line. The run is deterministic for
# its seed except three figures, which --check leaves out: the wall time, the requests/s of wall time and
# the peak RSS. --check exits 1 showing the lines that differ; tests/integration/test_readme_sample.sh
# runs it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
cpnsim=${CPNSIM:-"${1:-$here/build}/cpnsim"}
readme=$here/README.md
marker='What the first command prints'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The block of README.md, between the first fence after the marker line and the next fence.
readme_block() {
  awk -v marker="$marker" '
    state == 0 && index($0, marker) == 1 { state = 1; next }
    state == 1 && /^```/ { state = 2; next }
    state == 2 && /^```/ { found = 1; exit }
    state == 2 { print }
    END { exit found ? 0 : 1 }' "$readme"
}
# The figures that differ between identical runs, replaced by placeholders.
mask() {
  sed -E -e 's/ in [0-9.]+ s wall$/ in <wall> s wall/' \
         -e 's/ [0-9]+ requests\/s of wall time/ <rate> requests\/s of wall time/' \
         -e 's/peak RSS [0-9.]+ MiB/peak RSS <rss> MiB/'
}

readme_block > "$tmp/readme" || { echo "readme-sample: no block under '$marker' in $readme" >&2; exit 1; }
[ -x "$cpnsim" ] || { echo "readme-sample: $cpnsim not found: build first (bash scripts/setup.sh)" >&2; exit 1; }
echo "readme-sample: running $cpnsim (default scenario and seed) in $tmp"
if ! (cd "$tmp" && "$cpnsim") > "$tmp/out" 2> "$tmp/err"; then
  echo "readme-sample: $cpnsim failed:" >&2; tail -5 "$tmp/err" >&2; exit 1
fi
awk '
  { line[NR] = $0 }
  $0 == " per site" { site = NR + 1 }
  END {
    if (!site || site >= NR) exit 1
    for (i = 1; i <= site; i++) print line[i]
    print "  ..."
    print line[NR]
  }' "$tmp/out" > "$tmp/sample" || { echo "readme-sample: no ' per site' table in the output of $cpnsim" >&2; exit 1; }

if [ $check -eq 1 ]; then
  if diff <(mask < "$tmp/readme") <(mask < "$tmp/sample") > "$tmp/diff"; then
    echo "readme-sample: README's sample output matches a fresh run (wall time, rate and RSS excepted):"
    cat "$tmp/sample"
    exit 0
  fi
  echo "readme-sample: README's sample output differs from a fresh run ('<' README, '>' the run);" \
       "regenerate it with: bash scripts/readme-sample.sh" >&2
  cat "$tmp/diff" >&2
  exit 1
fi
awk -v marker="$marker" -v sample="$tmp/sample" '
  state == 0 && index($0, marker) == 1 { state = 1 }
  state == 1 && /^```/ { print; while ((getline l < sample) > 0) print l; state = 2; next }
  state == 2 { if (/^```/) { print; state = 3 }; next }
  { print }
  END { exit state == 3 ? 0 : 1 }' "$readme" > "$tmp/README.md"
cat "$tmp/README.md" > "$readme"
echo "readme-sample: wrote the sample output into $readme:"
cat "$tmp/sample"
