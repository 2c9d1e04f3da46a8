# A user plug-in policy end to end: build examples/policies/my_policy.c out of tree with its Makefile
# against an installed header only, run it with --policy PATH.so, and check the result names it; then a
# plug-in built for another ABI (old_abi.so, built in tree) must be refused with exit code 2 and a message
# naming both ABI versions.
source "$(dirname "$0")/lib.sh"
: "${CPN_BUILD:?set by ctest}"
need_tool make build-essential
need_tool cc build-essential
need_tool h5dump hdf5-tools

# "Install" the public header: the one file `cmake --install` puts under <prefix>/include/cpnsim.
mkdir -p "$TMP/prefix/include/cpnsim" "$TMP/plugin"
cp "$CPN_SRC/sim/include/cpnsim/policy.h" "$TMP/prefix/include/cpnsim/" || fail "copy header"
# A user's own directory: the example source and Makefile, nothing else from the tree.
cp "$CPN_SRC/examples/policies/my_policy.c" "$CPN_SRC/examples/policies/Makefile" "$TMP/plugin/" || fail "copy example"
make -s -C "$TMP/plugin" CPNSIM_INCLUDE="$TMP/prefix/include" > "$TMP/make.log" 2>&1 ||
  { cat "$TMP/make.log" >&2; fail "out-of-tree make of my_policy.so"; }
[ -f "$TMP/plugin/my_policy.so" ] || fail "make did not produce my_policy.so"

"$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --policy "$TMP/plugin/my_policy.so" --out "$TMP/x.h5" --quiet \
  2> "$TMP/err" || { cat "$TMP/err" >&2; fail "run with my_policy.so"; }
h5dump -a /policy "$TMP/x.h5" > "$TMP/attr" || fail "h5dump -a /policy"
grep -q '"latency-budget"' "$TMP/attr" || { cat "$TMP/attr" >&2; fail "root attribute policy does not name latency-budget"; }

OLD="$CPN_BUILD/examples/policies/old_abi.so"
[ -f "$OLD" ] || fail "$OLD not built (target old_abi)"
"$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --policy "$OLD" --out "$TMP/y.h5" --quiet 2> "$TMP/old.err"
rc=$?
[ "$rc" -eq 2 ] || { cat "$TMP/old.err" >&2; fail "old_abi.so: exit code $rc, want 2"; }
abi=$(sed -n 's/^#define CPN_POLICY_ABI \([0-9]*\)u*$/\1/p' "$CPN_SRC/sim/include/cpnsim/policy.h")
[ -n "$abi" ] || fail "cannot read CPN_POLICY_ABI"
grep -q "ABI $((abi + 1))" "$TMP/old.err" && grep -q "ABI $abi" "$TMP/old.err" ||
  { cat "$TMP/old.err" >&2; fail "old_abi.so: message does not name ABI $((abi + 1)) and ABI $abi"; }
[ -e "$TMP/y.h5" ] && fail "a refused plug-in still wrote a result"
echo "ok: out-of-tree plug-in runs and is named in the result; other ABI refused (exit 2)"
