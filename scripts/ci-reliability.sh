#!/usr/bin/env bash
# CI's reliability steps, run by .ci/run after README's test command (README, "Reliability"):
# (1) each libFuzzer target of tests/fuzz for CPN_CI_FUZZ_S seconds (default 60; scripts/fuzz.sh),
# (2) the whole test suite built with ASan + UBSan + LSan (scripts/sanitize.sh).
# Prints each step's result; exits 0 only when both passed.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${CPN_CI_FUZZ_S:-60}
echo "CI reliability: fuzzing each target for ${secs} s (scripts/fuzz.sh)"
timeout 600 bash scripts/fuzz.sh "$secs"
fz=$?
echo "CI reliability: fuzzing exited $fz"
echo "CI reliability: the test suite under ASan + UBSan + LSan (scripts/sanitize.sh)"
timeout 1800 bash scripts/sanitize.sh   # bounded: CI has 90 minutes in all
sz=$?
echo "CI reliability: sanitizer suite exited $sz"
echo "CI reliability: fuzz $([ $fz -eq 0 ] && echo passed || echo FAILED), sanitizers $([ $sz -eq 0 ] && echo passed || echo FAILED)"
# Blocking: on branch rel2 (2026-11-27) both steps passed twice in a row on the same commit (every fuzz
# target 60 s without a finding; the whole suite under ASan + UBSan + LSan, test_sweep_mpi and
# test_interrupt included). BLOCKING=0 would print a failure without failing CI.
BLOCKING=1
if [ $BLOCKING = 1 ]; then
  [ $fz -eq 0 ] && [ $sz -eq 0 ]
else
  exit 0
fi
