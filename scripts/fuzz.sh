#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang-14, ASan + UBSan: CPN_FUZZ=ON) and runs each for a
# given time, then prints one line per target: runs, exec/s, coverage (cov: edges, ft: features), corpus
# size and the result. A finding (crash, leak, hang over 10 s, UBSan report, over 2 GB) fails the target;
# its input is saved under BUILD/fuzz-artifacts/TARGET/ and the log's tail is printed.
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]   SECONDS per target (default 60); TARGET: scenario,
#        trace, graphml, simgrid_xml, report_h5 (default all). CPN_FUZZ_BUILD: build dir (build-fuzz).
# The corpus each run grows is kept in BUILD/fuzz-corpus/TARGET/ and reused by the next run; the seeds
# come from scenarios/, tests/data/ and tests/fuzz/{seeds,regressions}/. Exit status: 0 when every target
# ran without a finding.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
shift $(($# ? 1 : 0))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scenario trace graphml simgrid_xml report_h5)
build=${CPN_FUZZ_BUILD:-$here/build-fuzz}

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCPN_FUZZ=ON \
    > "$build.configure.log" 2>&1 || { tail -20 "$build.configure.log"; exit 1; }
fi
cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}" > "$build/fuzz-build.log" 2>&1 \
  || { tail -30 "$build/fuzz-build.log"; echo "fuzz: build failed"; exit 1; }

# Seeds: the files readers see in the project; trace inputs start with the options byte (0: azure-2023,
# stop at bad rows; see tests/fuzz/fuzz_trace.c).
# ASan's stacks must be symbolized: the report_h5 target tells a crash inside libhdf5 (not a finding) from
# one in cpnsim by the function names in them (analysis/cpnsim_report.c, child_asan_report). Without a
# symbolizer every libhdf5 crash would count as cpnsim's (seen in a fresh root, where none was on PATH).
sym=/usr/lib/llvm-14/bin/llvm-symbolizer
[ -x "$sym" ] || { echo "fuzz: $sym is missing: install the Debian package llvm-14 (scripts/setup.sh does)"; exit 1; }
export ASAN_SYMBOLIZER_PATH=$sym

seed() {
  local t=$1 dir=$build/fuzz-seeds/$1
  rm -rf "$dir"; mkdir -p "$dir"
  cp "$here"/tests/fuzz/regressions/"$t"/* "$here"/tests/fuzz/seeds/"$t"/* "$dir"/ 2>/dev/null
  case $t in
    scenario) cp "$here"/scenarios/*.yaml "$here"/tests/data/*.yaml "$here"/tests/data/reliability/*.yaml "$dir"/ ;;
    trace)
      for f in "$here"/tests/data/*.csv "$here"/tests/data/reliability/*.csv; do
        { printf '\0'; head -c 4000 "$f"; } > "$dir/$(basename "$f").bin"
        { printf '\1'; head -c 4000 "$f"; } > "$dir/$(basename "$f").vidur.bin"
      done ;;
    graphml) cp "$here"/tests/data/*.graphml "$dir"/ ;;
    simgrid_xml) cp "$here"/tests/data/reliability/*.xml "$dir"/ ;;
  esac
}

max_len() {
  case $1 in scenario) echo 16384 ;; trace) echo 4096 ;; graphml) echo 32768 ;; simgrid_xml) echo 8192 ;;
    report_h5) echo 65536 ;; esac
}

# libhdf5 allocates the length a variable-length string's heap id claims before it reads it (up to 4 GiB
# from a few bytes of a file): not a leak or a crash (the read then fails), but over libFuzzer's default
# single-malloc limit (rss_limit_mb). That target gets a higher limit; resident memory is still capped.
# libhdf5 1.10 also crashes on some corrupt files, inside the library: cpnsim-report reads each file in a
# forked child where such a crash is an error naming the file (analysis/cpnsim_report.c,
# run_load_isolated), and the target does the same (tests/fuzz/fuzz_report_h5.c), so a crash in libhdf5 is
# the tool's designed error, not a finding; so is a loop inside libhdf5, ended by the child's CPU limit
# (3 s in the target, under this target's 30 s timeout), and an allocation inside libhdf5 past the child's
# memory budget (256 MiB in the target: a sanitizer malloc hook, since the child's RSS is not libFuzzer's). Its fork per input is slower with a large heap:
# a smaller ASan quarantine keeps it cheaper.
extra() {
  case $1 in report_h5) echo -malloc_limit_mb=16384 ;; esac
}
asan_extra() {
  case $1 in report_h5) echo :quarantine_size_mb=16 ;; esac
}

# Seconds one input may take before it counts as a hang: the scenario seeds include scale-1000.yaml (1,000
# generated sites, loaded twice per input: Waxman draws every pair up to 4,096 nodes), several seconds
# under the sanitizers on a busy machine.
timeout_s() {
  case $1 in scenario) echo 60 ;; report_h5) echo 30 ;; *) echo 10 ;; esac
}

status=0
for t in "${targets[@]}"; do
  seed "$t"
  corpus=$build/fuzz-corpus/$t art=$build/fuzz-artifacts/$t/ log=$build/fuzz-$t.log
  mkdir -p "$corpus" "$art"
  supp=/dev/null
  [ -f "$here/tests/fuzz/$t.lsan.supp" ] && supp=$here/tests/fuzz/$t.lsan.supp
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1$(asan_extra "$t") UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions=$supp \
    "$build/tests/fuzz/fuzz_$t" "$corpus" "$build/fuzz-seeds/$t" -max_total_time="$secs" -timeout="$(timeout_s "$t")" \
    -rss_limit_mb=2048 -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$art" $(extra "$t") \
    > "$log" 2>&1
  rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
  eps=$(grep -oE 'average_exec_per_sec: +[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  runs=$(grep -oE 'number_of_executed_units: +[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  if [ $rc -eq 0 ] && [ -n "$done_line" ]; then
    echo "fuzz: $t: ${runs:-?} runs in ${secs}s, ${eps:-?} exec/s, ${cov:-no coverage line}: no finding"
  else
    status=1
    echo "fuzz: $t: FINDING (exit $rc) after ${runs:-?} runs, ${cov:-}; inputs in $art; log $log:"
    grep -vE '^#[0-9]+[[:space:]]' "$log" | tail -40
  fi
done
exit $status
