# Hostile input to the stages' set-up and to validation (reproducers in tests/data/reliability):
# - replica counts that sum past 2^31 are refused by --check and by a run, naming the key, exit 2, no file;
# - a billion replicas (more than memory) are refused before anything is allocated, exit 2;
# - a plug-in named in the scenario is not loaded by --check or --print-config (its constructor would run).
source "$(dirname "$0")/lib.sh"
rel="$CPN_SRC/tests/data/reliability"
out="$TMP/wrap.h5"
"$CPNSIM" "$rel/engine-build_sites-nrep-int-overflow.yaml" --check > "$TMP/c.out" 2> "$TMP/c.err"
rc=$?
[ $rc -eq 2 ] || fail "--check of wrapping replica counts exited $rc (want 2)"
grep -q "sites.a.replicas.0.count" "$TMP/c.err" || fail "--check message does not name the key: $(cat "$TMP/c.err")"
"$CPNSIM" "$rel/engine-build_sites-nrep-int-overflow.yaml" --out "$out" --quiet 2> "$TMP/r.err"
rc=$?
[ $rc -eq 2 ] || fail "run of wrapping replica counts exited $rc (want 2)"
ls "$TMP"/wrap.h5* > /dev/null 2>&1 && fail "a result or temporary file was left: $(ls "$TMP")"
"$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --out "$TMP/oom.h5" --quiet --set run.duration_s=10 \
  --set sites.east.replicas.0.count=1000000000 --set sites.east.pools.h100.count=2000000000 2> "$TMP/o.err"
rc=$?
[ $rc -eq 2 ] || fail "a billion replicas exited $rc (want 2): $(cat "$TMP/o.err")"
grep -q "over the limits" "$TMP/o.err" || fail "no limit message: $(cat "$TMP/o.err")"

# Rates and durations past the event budget are refused before the run, by --check too; rate 0 is valid.
for set in "origins.0.rate_rps=1e300" "run.duration_s=1e300"; do
  "$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --set "$set" --check > /dev/null 2> "$TMP/b.err"
  rc=$?
  [ $rc -eq 2 ] || fail "--check with $set exited $rc (want 2)"
  grep -q "event budget" "$TMP/b.err" || fail "--check with $set: no budget message: $(cat "$TMP/b.err")"
  timeout 60 "$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --set "$set" --out "$TMP/big.h5" --quiet 2> /dev/null
  rc=$?
  [ $rc -eq 2 ] || fail "a run with $set exited $rc (want 2)"
  ls "$TMP"/big.h5* > /dev/null 2>&1 && fail "a run with $set left a file"
done
"$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --set origins.0.rate_rps=0 --check > /dev/null || fail "--check refused rate 0"
"$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --set origins.0.rate_rps=0 --out "$TMP/zero.h5" --quiet ||
  fail "a run refused what --check accepted (rate 0)"

# A plug-in whose constructor leaves a mark: validation must not load it; a run does.
cat > "$TMP/evil.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void mark(void)
{
  const char *p = getenv("CPN_EVIL_MARK");
  FILE *f = p ? fopen(p, "w") : NULL;
  if (f) fclose(f);
}
int cpn_policy_register(void *reg) { return 0; }
C
cc -shared -fPIC -o "$TMP/evil.so" "$TMP/evil.c" || fail "cannot build the test plug-in"
export CPN_EVIL_MARK="$TMP/mark"
"$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --policy "$TMP/evil.so" --check > /dev/null 2>&1
[ -e "$TMP/mark" ] && fail "--check loaded the plug-in (its constructor ran)"
"$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --policy "$TMP/evil.so" --print-config > /dev/null 2>&1
[ -e "$TMP/mark" ] && fail "--print-config loaded the plug-in (its constructor ran)"
"$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --policy "$TMP/evil.so" --out "$TMP/evil.h5" --quiet > /dev/null 2>&1
[ -e "$TMP/mark" ] || fail "a run did not load the plug-in at all (the test proves nothing)"
echo "ok: wrapping counts, a billion replicas, rates and durations past the budget refused with exit 2 naming the key; rate 0 accepted by both; validation loads no plug-in"
