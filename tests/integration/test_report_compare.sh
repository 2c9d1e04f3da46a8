# cpnsim-report compare: three seeds x two policies (nearest, random) on tiny form two groups of three;
# the CSV has the documented columns, one row per metric and group, the reference group without a
# difference, and at least one difference marked significant (random sends half the requests over the
# backbone to the far site, so its time to first token is much higher); the text form says the same.
source "$(dirname "$0")/lib.sh"
REPORT="$CPN_BUILD/analysis/cpnsim-report"
[ -x "$REPORT" ] || fail "no $REPORT"
sc="$CPN_SRC/scenarios/tiny.yaml"
files=()
for pol in nearest random; do
  for seed in 1 2 3; do
    "$CPNSIM" "$sc" --policy "$pol" --seed "$seed" --out "$TMP/$pol-$seed.h5" --quiet || fail "run $pol $seed"
    files+=("$TMP/$pol-$seed.h5")
  done
done

"$REPORT" compare "${files[@]}" --format csv > "$TMP/c.csv" || fail "compare --format csv exited $?"
want="metric,group,n,mean,sd,ci95_low,ci95_high,diff,diff_rel,noise,significant"
[ "$(head -1 "$TMP/c.csv")" = "$want" ] || fail "csv header: $(head -1 "$TMP/c.csv")"
# 11 default metrics x 2 groups.
[ "$(tail -n +2 "$TMP/c.csv" | wc -l)" -eq 22 ] || fail "expected 22 rows: $(cat "$TMP/c.csv")"
awk -F, 'NR > 1 {
  if (NF != 11) { print "bad field count: " $0; bad = 1 }
  if ($3 != 3) { print "group size is not 3: " $0; bad = 1 }
  if ($2 == "nearest" && ($8 != "" || $11 != "")) { print "reference row with a difference: " $0; bad = 1 }
  if ($2 == "random" && $11 !~ /^(yes|no|n\/a)$/) { print "bad significance: " $0; bad = 1 }
  if ($2 == "random" && $11 != "n/a") {
    d = $8 < 0 ? -$8 : $8
    if (($11 == "yes") != (d > $10 + 0)) { print "significance disagrees with |diff| > noise: " $0; bad = 1 }
  }
  if ($2 != "nearest" && $2 != "random") { print "unexpected group: " $0; bad = 1 }
} END { exit bad }' "$TMP/c.csv" || fail "csv rows do not follow the format"
n_sig=$(awk -F, '$11 == "yes"' "$TMP/c.csv" | wc -l)
[ "$n_sig" -ge 1 ] || fail "no difference marked significant: $(cat "$TMP/c.csv")"
grep -q '^ttft_p50_s,random,3,.*,yes$' "$TMP/c.csv" || fail "ttft_p50_s random vs nearest should be significant"
echo "ok: csv: 2 groups of 3 seeds, $n_sig of 10 differences significant"

"$REPORT" compare "${files[@]}" > "$TMP/c.txt" || fail "compare (text) exited $?"
grep -q "^2 groups; the reference is the first, 'nearest'" "$TMP/c.txt" || fail "text: no group line: $(cat "$TMP/c.txt")"
grep -q '^  nearest: 3 files, seeds 1 2 3' "$TMP/c.txt" || fail "text: no nearest group line"
grep -Eq '^metric +nearest \(n=3\) +random \(n=3\) +random - nearest +noise +sig$' "$TMP/c.txt" \
  || fail "text: bad table header: $(cat "$TMP/c.txt")"
grep -Eq '^ttft_p50_s +[0-9.e+-]+ ± [0-9.e+-]+ +[0-9.e+-]+ ± [0-9.e+-]+ +\+[0-9.e+-]+ \(\+[0-9.]+%\) +[0-9.e+-]+ +yes$' \
  "$TMP/c.txt" || fail "text: ttft_p50_s row: $(grep ttft_p50_s "$TMP/c.txt")"
echo "ok: text: $(grep '^ttft_p50_s' "$TMP/c.txt" | tr -s ' ')"

"$REPORT" compare "${files[@]}" --format markdown > "$TMP/c.md" || fail "compare --format markdown exited $?"
grep -Eq '^\| ttft_p50_s +\| .* \| yes +\|$' "$TMP/c.md" || fail "markdown: ttft_p50_s row: $(cat "$TMP/c.md")"

# One file per group: no noise estimate, so no verdict.
"$REPORT" compare "$TMP/nearest-1.h5" "$TMP/random-1.h5" --format csv > "$TMP/one.csv" || fail "compare 1 vs 1"
[ "$(awk -F, 'NR > 1 && $2 == "random" && $11 != "n/a"' "$TMP/one.csv" | wc -l)" -eq 0 ] \
  || fail "one file per group must give n/a: $(cat "$TMP/one.csv")"
# Scoped metrics and --group-by file.
"$REPORT" compare "$TMP/nearest-1.h5" "$TMP/nearest-2.h5" --group-by file --metrics site:east/ttft_p99_s,class:batch/e2e_p99_s \
  --format csv > "$TMP/scoped.csv" || fail "scoped compare"
grep -q '^site:east/ttft_p99_s,nearest-2.h5,1,' "$TMP/scoped.csv" || fail "scoped: $(cat "$TMP/scoped.csv")"
echo "ok: n/a without seeds, scoped metrics, --group-by file"
