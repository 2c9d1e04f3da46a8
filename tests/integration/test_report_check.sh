# cpnsim-report check as a regression gate: an identical rerun passes (exit 0); a run made worse on purpose
# fails (exit 1) naming the metric, the baseline value, the run's value and the tolerance; bad input
# (unknown metric, with its line number; unreadable result file) exits 2.
# "Worse on purpose": the same seed with three times the demand (--set demand.scale=3). On tiny with
# policy nearest that raises the median time per output token by ~15 % and the median end-to-end
# latency by ~12 % (bigger batches), far beyond the 5 % tolerances below.
source "$(dirname "$0")/lib.sh"
REPORT="$CPN_BUILD/analysis/cpnsim-report"
[ -x "$REPORT" ] || fail "no $REPORT"
sc="$CPN_SRC/scenarios/tiny.yaml"
"$CPNSIM" "$sc" --policy nearest --seed 5 --out "$TMP/base.h5" --quiet || fail "baseline run"
"$CPNSIM" "$sc" --policy nearest --seed 5 --out "$TMP/same.h5" --quiet || fail "identical rerun"
"$CPNSIM" "$sc" --policy nearest --seed 5 --set demand.scale=3 --out "$TMP/worse.h5" --quiet || fail "worse run"
cat > "$TMP/tol.txt" <<'TOL'
# metric                <=|>=  bound
ttft_p99_s               <= +10%
e2e_p50_s                <= +5%      # may rise by at most 5 % of the baseline
tpot_p50_s               <= +5%
slo_attainment           >= -0.01    # may fall by at most 0.01 (absolute)
completed_frac           >= -0.5%
site:east/ttft_p50_s     <= +0.005   # absolute, seconds
TOL

set +e
"$REPORT" check --baseline "$TMP/base.h5" --tolerances "$TMP/tol.txt" "$TMP/same.h5" > "$TMP/out" 2> "$TMP/err"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "identical rerun: exit $rc, want 0: $(cat "$TMP/out" "$TMP/err")"
grep -q '^ok: 0 of 6 metrics outside tolerance' "$TMP/out" || fail "identical rerun: no ok line: $(cat "$TMP/out")"
echo "ok: identical rerun passes"

set +e
"$REPORT" check --baseline "$TMP/base.h5" --tolerances "$TMP/tol.txt" "$TMP/worse.h5" > "$TMP/out" 2> "$TMP/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "worse run: exit $rc, want 1: $(cat "$TMP/out" "$TMP/err")"
for m in e2e_p50_s tpot_p50_s; do
  # stderr: "regression: METRIC: run V, baseline B, tolerance <= +5% (limit <= L) [file:line]"
  grep -Eq "regression: $m: run [0-9.e+-]+, baseline [0-9.e+-]+, tolerance <= \+5% \(limit <= [0-9.e+-]+\)" \
    "$TMP/err" || fail "worse run: no regression message for $m: $(cat "$TMP/err")"
  # stdout table row: metric baseline run change tolerance limit FAIL
  grep -Eq "^$m +[0-9.e+-]+ +[0-9.e+-]+ .* <= \+5% +[0-9.e+-]+ +FAIL$" "$TMP/out" \
    || fail "worse run: no FAIL row for $m: $(cat "$TMP/out")"
done
grep -Eq '^slo_attainment .* ok$' "$TMP/out" || fail "worse run: slo_attainment should stay within tolerance"
grep -q '^REGRESSION: ' "$TMP/out" || fail "worse run: no REGRESSION verdict"
echo "ok: worse run fails: $(grep -c '^cpnsim-report: regression' "$TMP/err") regressions, e.g. $(head -1 "$TMP/err")"

# Worse on purpose, the other way: the same policy and load with a placement that adds delay (0.5 s of
# decision latency, run.decision_latency_s): TTFT and end-to-end latency regress, TPOT does not.
"$CPNSIM" "$sc" --policy nearest --seed 5 --set run.decision_latency_s=0.5 --out "$TMP/slow.h5" --quiet || fail "slow run"
set +e
"$REPORT" check --baseline "$TMP/base.h5" --tolerances "$TMP/tol.txt" "$TMP/slow.h5" > "$TMP/out" 2> "$TMP/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "delayed placement: exit $rc, want 1: $(cat "$TMP/out" "$TMP/err")"
for m in ttft_p99_s e2e_p50_s; do
  grep -Eq "regression: $m: run [0-9.e+-]+, baseline [0-9.e+-]+, tolerance <= \+(5|10)% " "$TMP/err" \
    || fail "delayed placement: no regression message for $m: $(cat "$TMP/err")"
done
grep -Eq '^tpot_p50_s .* ok$' "$TMP/out" || fail "delayed placement: tpot_p50_s should stay within tolerance"
echo "ok: delayed placement fails: $(grep -m1 'ttft_p99_s' "$TMP/err")"

# CSV: same verdicts, machine-readable.
set +e
"$REPORT" check --baseline "$TMP/base.h5" --tolerances "$TMP/tol.txt" "$TMP/worse.h5" --format csv > "$TMP/csv" 2>/dev/null
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "csv: exit $rc, want 1"
[ "$(head -1 "$TMP/csv")" = "metric,baseline,run,change,tolerance,limit,result" ] || fail "csv header: $(head -1 "$TMP/csv")"
grep -q '^tpot_p50_s,.*,<= +5%,.*,FAIL$' "$TMP/csv" || fail "csv: no FAIL row for tpot_p50_s: $(cat "$TMP/csv")"

# Bad input: exit 2, with the tolerance file's line number or the result file's name.
printf 'ttft_p99_s <= +5%%\n\ntfft_p99_s <= +5%%\n' > "$TMP/bad.txt"
bad() { # name, expected regex, args...
  local name=$1 want=$2; shift 2
  set +e; "$REPORT" "$@" > /dev/null 2> "$TMP/err"; rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, want 2 ($(cat "$TMP/err"))"
  grep -Eq "$want" "$TMP/err" || fail "$name: message does not match '$want': $(cat "$TMP/err")"
  echo "ok: $name: $(head -1 "$TMP/err")"
}
bad "unknown metric" "bad\.txt:3: unknown metric 'tfft_p99_s'" check --baseline "$TMP/base.h5" \
  --tolerances "$TMP/bad.txt" "$TMP/same.h5"
printf 'site:north/ttft_p99_s <= +5%%\n' > "$TMP/badsite.txt"
bad "unknown site" "badsite\.txt:1: .*no site named 'north'" check --baseline "$TMP/base.h5" \
  --tolerances "$TMP/badsite.txt" "$TMP/same.h5"
printf 'ttft_p99_s < 5%%\n' > "$TMP/badop.txt"
bad "bad operator" "badop\.txt:1: operator '<'" check --baseline "$TMP/base.h5" --tolerances "$TMP/badop.txt" \
  "$TMP/same.h5"
bad "missing result file" "nonexistent\.h5: cannot open" check --baseline "$TMP/base.h5" --tolerances "$TMP/tol.txt" \
  "$TMP/nonexistent.h5"
bad "not an HDF5 file" "tol\.txt: not an HDF5 file" check --baseline "$TMP/tol.txt" --tolerances "$TMP/tol.txt" \
  "$TMP/same.h5"
head -c 4096 "$TMP/base.h5" > "$TMP/cut.h5"
bad "truncated result file" "cut\.h5" summary "$TMP/cut.h5"
bad "missing tolerances" "tolerances" check --baseline "$TMP/base.h5" "$TMP/same.h5"
