# Trace files that used to overflow or be misread, replayed through cpnsim (tests/data/replay.yaml with
# --set demand.trace.file=...): each must stop with exit 2 and a message naming FILE:LINE:COLUMN, and
# leave no result file. Run by the sanitizer build too, where the old overflows were UBSan reports.
source "$(dirname "$0")/lib.sh"
REL="$CPN_SRC/tests/data/reliability"
REPLAY="$CPN_SRC/tests/data/replay.yaml"
expect_bad() { # name, expected regex, trace file, extra args...
  local name=$1 want=$2 trace=$3; shift 3
  set +e
  "$CPNSIM" "$REPLAY" --quiet --out "$TMP/out.h5" --set "demand.trace.file=$trace" "$@" > "$TMP/stdout" 2> "$TMP/stderr"
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, want 2: $(cat "$TMP/stderr")"
  grep -Eq "$want" "$TMP/stderr" || fail "$name: message does not match '$want': $(cat "$TMP/stderr")"
  grep -q "runtime error" "$TMP/stderr" && fail "$name: sanitizer report: $(cat "$TMP/stderr")"
  [ -z "$(ls -A "$TMP" | grep -v '^std')" ] || fail "$name: files left: $(ls "$TMP")"
  echo "ok: $name: $(head -c 200 "$TMP/stderr")"
}
expect_bad "year 2263" "trace-year-2263\.csv:2:1: column 'TIMESTAMP': datetime '2263-01-01 00:00:00' is out of range" \
  "$REL/trace-year-2263.csv"
expect_bad "550-year span" "trace-1700-then-2250\.csv:3:1: column 'TIMESTAMP': .* is 550 years from the trace's first row" \
  "$REL/trace-1700-then-2250.csv"

# A line of NUL bytes: before, taken for a blank line even with --trace-errors=stop.
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03,100,10\n\0\0\0\0\0\0\0\0\n2023-11-16 18:17:04,200,20\n' \
  > "$TMP/std-nul.csv"
expect_bad "NUL line, stop" "std-nul\.csv:3:1: line contains a NUL byte" "$TMP/std-nul.csv" --trace-errors=stop
"$CPNSIM" "$REPLAY" --out "$TMP/std-skip.h5" --set "demand.trace.file=$TMP/std-nul.csv" --trace-errors=skip \
  > "$TMP/stdout" || fail "NUL line, skip: the run failed"
grep -q "2 rows replayed, 1 bad rows skipped, first: .*std-nul.csv:3:1: line contains a NUL byte" "$TMP/stdout" ||
  fail "NUL line, skip: $(grep trace "$TMP/stdout")"
echo "ok: NUL line, skip: $(grep 'bad rows skipped' "$TMP/stdout" | head -c 200)"
