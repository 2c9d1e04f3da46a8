# Every scenario of the library passes `cpnsim --check`; its `--print-config` output passes it too and
# describes the same scenario (same counts), and printing that output again gives the same text (the
# print is a fixed point). Then `extends` + `--set` through the command line: overrides reach inherited
# keys, free-form parameters and the topology section; an override of a key that does not exist is an
# error with exit code 2.
source "$(dirname "$0")/lib.sh"
need_python yaml h5py
set -e
n=0
for f in "$CPN_SRC"/scenarios/*.yaml; do
  name=$(basename "$f" .yaml)
  out=$("$CPNSIM" "$f" --check 2>"$TMP/$name.err") || fail "$name: --check failed: $(cat "$TMP/$name.err")"
  "$CPNSIM" "$f" --print-config > "$TMP/$name.printed.yaml" 2>>"$TMP/$name.err" ||
    fail "$name: --print-config failed: $(cat "$TMP/$name.err")"
  again=$("$CPNSIM" "$TMP/$name.printed.yaml" --check 2>"$TMP/$name.err2") ||
    fail "$name: the printed scenario does not load: $(cat "$TMP/$name.err2")"
  [ "${out#*: ok }" = "${again#*: ok }" ] || fail "$name: printed scenario differs: '$out' vs '$again'"
  "$CPNSIM" "$TMP/$name.printed.yaml" --print-config > "$TMP/$name.printed2.yaml"
  # Only the "# from:" line (the file it was loaded from) may differ.
  diff <(grep -v '^# from: ' "$TMP/$name.printed.yaml") <(grep -v '^# from: ' "$TMP/$name.printed2.yaml") \
    > "$TMP/$name.diff" || fail "$name: printing the printed scenario changes it: $(head -5 "$TMP/$name.diff")"
  echo "ok: $name: ${out#*: ok }"
  n=$((n + 1))
done
[ "$n" -ge 6 ] || fail "only $n scenarios in $CPN_SRC/scenarios"

# extends + --set on the command line.
cat > "$TMP/child.yaml" <<YAML
extends: $CPN_SRC/scenarios/tiny.yaml
name: child
run: {policy_params: {w_cost: 1}}
sites:
  - name: west
    pools: [{name: h20, count: 16}]
YAML
"$CPNSIM" "$TMP/child.yaml" --print-config --set sites.west.pools.h20.count=24 --set run.policy_params.w_cost=2.5 \
  --set run.policy_params.w_new=7 --set demand.scale=1.5 > "$TMP/child.printed.yaml" ||
  fail "extends + --set: cannot print"
"$PY" - "$TMP/child.printed.yaml" <<'PY' 2> "$TMP/py.err" || fail "extends + --set: wrong values: $(tail -3 "$TMP/py.err")"
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
west = next(s for s in c["sites"] if s["name"] == "west")
assert c["name"] == "child", c["name"]
assert west["pools"][0]["count"] == 24, west["pools"]
assert west["co2_g_per_kwh"] == 226.8, west           # inherited from tiny.yaml
assert c["run"]["policy_params"] == {"w_cost": 2.5, "w_new": 7}, c["run"]["policy_params"]
assert c["demand"]["scale"] == 1.5
assert len(c["sites"]) == 2 and len(c["origins"]) == 2
PY
echo "ok: extends + --set"
set +e
"$CPNSIM" "$TMP/child.yaml" --check --set sites.west.pools.h20.cuont=24 > "$TMP/stdout" 2> "$TMP/stderr"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "override of a missing key: exit code $rc, want 2"
grep -q "^--set:1:22: sites.west.pools.h20.cuont: no such key in --set 'sites.west.pools.h20.cuont=24'; did you mean 'count'?" \
  "$TMP/stderr" || fail "override of a missing key: message: $(cat "$TMP/stderr")"
echo "ok: override of a missing key: $(head -1 "$TMP/stderr")"
set +e
"$CPNSIM" "$TMP/child.yaml" --check --set origins.wuhan.nosuch.key=1 > "$TMP/stdout" 2> "$TMP/stderr"
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "origins.wuhan.nosuch: no such key" "$TMP/stderr" ||
  fail "override below a missing key: exit $rc: $(cat "$TMP/stderr")"
echo "ok: override below a missing key"
# The topology section takes --set before it is expanded.
"$CPNSIM" "$CPN_SRC/scenarios/scale-1000.yaml" --check --set topology.n=50 --set topology.origins_per_site_rps=0.5 \
  > "$TMP/stdout" || fail "scale-1000 with topology.n=50"
grep -q "ok (50 sites, [0-9]* links, 1 models, 50 origins" "$TMP/stdout" || fail "topology.n=50: $(cat "$TMP/stdout")"
echo "ok: --set topology.n"
# chinanet (GraphML topology) runs: a short simulation completes every request.
"$CPNSIM" "$CPN_SRC/scenarios/chinanet.yaml" --set run.duration_s=20 --set run.warmup_s=0 --set run.drain_s=300 \
  --out "$TMP/chinanet.h5" --quiet 2> "$TMP/chinanet.err" || fail "chinanet run: $(tail -3 "$TMP/chinanet.err")"
"$PY" - "$TMP/chinanet.h5" <<'PY' 2> "$TMP/py.err" || fail "chinanet run: unexpected result: $(tail -3 "$TMP/py.err")"
import sys, h5py
with h5py.File(sys.argv[1]) as f:
    r = f["requests"][:]
    assert len(r) > 1000, len(r)
    assert (r["status"] == 0).all(), "some requests did not complete"
    print(f"ok: chinanet runs: {len(r)} requests completed")
PY
