# analysis/plots.py makes every figure, as a non-empty PNG and SVG, from two runs (two policies), and
# exits 2 naming the file when given something that is not a result file.
source "$(dirname "$0")/lib.sh"
need_python matplotlib h5py numpy yaml
sc="$CPN_SRC/scenarios/tiny.yaml"
"$CPNSIM" "$sc" --policy nearest --seed 4 --out "$TMP/nearest.h5" --quiet || fail "run nearest"
"$CPNSIM" "$sc" --policy random --seed 4 --out "$TMP/random.h5" --quiet || fail "run random"
MPLCONFIGDIR="$TMP/mpl" "$PY" "$CPN_SRC/analysis/plots.py" "$TMP/nearest.h5" "$TMP/random.h5" --out "$TMP/figs" \
  > "$TMP/out" 2> "$TMP/err" || fail "plots.py exited $?: $(cat "$TMP/err")"
for fig in latency_cdf site_utilisation link_utilisation map cost_co2; do
  png="$TMP/figs/$fig.png" svg="$TMP/figs/$fig.svg"
  [ -s "$png" ] || fail "$fig.png missing or empty"
  [ -s "$svg" ] || fail "$fig.svg missing or empty"
  [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$fig.png is not a PNG"
  grep -q '<svg' "$svg" || fail "$fig.svg is not an SVG"
done
# Both policies appear as curves of the latency CDF (legend text in the SVG).
for pol in nearest random; do
  grep -q "$pol (n=" "$TMP/figs/latency_cdf.svg" || fail "latency_cdf.svg has no curve labelled $pol"
done
echo "ok: $(ls "$TMP/figs" | wc -l) files: $(ls "$TMP/figs" | tr '\n' ' ')"
set +e
MPLCONFIGDIR="$TMP/mpl" "$PY" "$CPN_SRC/analysis/plots.py" "$TMP/nearest.h5" "$TMP/nonexistent.h5" --out "$TMP/figs2" \
  > /dev/null 2> "$TMP/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "missing input: exit $rc, want 2"
grep -q "nonexistent.h5" "$TMP/err" || fail "missing input: message does not name the file: $(cat "$TMP/err")"
echo "ok: missing input: $(head -1 "$TMP/err")"
