#!/usr/bin/env bash
# Builds cpnsim with AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer (CPN_SANITIZE=ON,
# gcc) and runs the whole ctest suite under them. Any report (memory error, undefined behaviour, leak)
# ends the process that made it with an error, so the test that ran it fails.
# Usage: scripts/sanitize.sh [BUILD_DIR]   (default build-asan). Exit status: ctest's.
# Leaks inside the libraries (SimGrid, HDF5, libxml2 globals kept until exit) are listed, each with why,
# in tests/sanitizer/lsan.supp; cpnsim's own code has no suppression.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-asan}
start=$SECONDS
say() { printf 'sanitize: [%4ds] %s\n' $((SECONDS - start)) "$*"; }

say "configuring $build (CPN_SANITIZE=ON: ASan + UBSan + LSan)"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCPN_SANITIZE=ON \
  > "$build.configure.log" 2>&1 || { tail -20 "$build.configure.log"; exit 1; }
say "building"
cmake --build "$build" -j2 > "$build/sanitize-build.log" 2>&1 || { tail -30 "$build/sanitize-build.log"; exit 1; }
say "running the test suite under the sanitizers"
# Symbolized stacks (function names) in the sanitizers' reports: llvm-14's symbolizer (scripts/setup.sh).
[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ] && export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:strict_string_checks=1
export LSAN_OPTIONS=suppressions=$here/tests/sanitizer/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# test_digests (60-odd runs pinning /requests bytes) and test_saturation (engine at saturation against
# published throughput) take long and check determinism and figures, not memory: they run in the normal
# suite; under the sanitizers they would multiply CI's time several-fold.
ctest --test-dir "$build" -j2 --output-on-failure -E "^(test_digests|test_saturation)$"
status=$?
say "the test suite under ASan + UBSan + LSan exited $status"
exit $status
