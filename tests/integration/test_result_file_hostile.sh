# The result file against hostile conditions, end to end (reproducers in tests/data/reliability):
# two runs with the same --out, a symbolic link planted at OUT.h5.tmp, a default output name taken from
# a scenario name that is a path, a write failure (file size limit; a full tmpfs when we may mount one),
# and names that are not UTF-8. Each must end with a clear message and never a wrong or corrupt file.
source "$(dirname "$0")/lib.sh"
REL="$CPN_SRC/tests/data/reliability"
TINY="$CPN_SRC/scenarios/tiny.yaml"
NATIONAL="$CPN_SRC/scenarios/national-2026.yaml"
MINUTES="--set run.duration_s=120 --set run.warmup_s=0 --set run.drain_s=10"  # a few MB of results
SHORT="--set run.duration_s=60 --set run.warmup_s=0 --set run.drain_s=30"
PY=/usr/bin/python3
readable() { "$PY" -c "import h5py,sys; n=len(h5py.File(sys.argv[1])['requests'][()]); assert n > 0" "$1"; }

# 1. Same --out twice (output-concurrent-same-out-corrupt.sh): before, the second run truncated the
#    first one's temporary file and the first renamed a corrupt file into place with exit 0.
mkdir "$TMP/same" && cd "$TMP/same"
O="--set run.duration_s=600 --set run.drain_s=60 --set run.warmup_s=0"
"$CPNSIM" "$NATIONAL" --quiet --out same.h5 --seed 1 $O > first.out 2>&1 & a=$!
for _ in $(seq 600); do [ -s same.h5.tmp ] && break; sleep 0.1; done
[ -e same.h5.tmp ] || fail "the first run never created same.h5.tmp"
set +e; "$CPNSIM" "$NATIONAL" --quiet --out same.h5 --seed 2 $O 2> second.err; rc2=$?
wait $a; rc1=$?; set -e
[ "$rc2" -eq 1 ] || fail "second run with the same --out: exit $rc2, want 1"
grep -q "another run is writing it" second.err || fail "second run's message: $(cat second.err)"
[ "$rc1" -eq 0 ] || fail "first run: exit $rc1: $(cat first.out)"
readable same.h5 || fail "same.h5 is not readable"
[ "$(ls)" = "$(printf 'first.out\nsame.h5\nsecond.err')" ] || fail "left in the directory: $(ls)"
echo "ok: same --out twice: the second stops with '$(head -c 120 second.err)...', the first's file is whole"

# 2. A symbolic link planted at the temporary name is not followed.
mkdir "$TMP/link" && cd "$TMP/link"
echo precious > victim
ln -s "$TMP/link/victim" out.h5.tmp
"$CPNSIM" "$TINY" --quiet --out out.h5 $SHORT || fail "run with a planted out.h5.tmp link failed"
[ "$(cat victim)" = precious ] || fail "the link's target was overwritten"
[ -f out.h5 ] && [ ! -L out.h5 ] && readable out.h5 || fail "out.h5 is not a whole regular file"
[ ! -e out.h5.tmp ] && [ ! -e out.h5.lock ] || fail "temporary or lock file left: $(ls)"
ln -s "$TMP/link/victim" x.h5.lock
set +e; "$CPNSIM" "$TINY" --quiet --out x.h5 $SHORT 2> err; rc=$?; set -e
[ "$rc" -eq 1 ] && grep -q "symbolic link" err || fail "a link at x.h5.lock: exit $rc, $(cat err)"
[ "$(cat victim)" = precious ] || fail "the lock link's target was changed"
echo "ok: planted links are not followed"

# 3. --set name=/abs/path without --out: before, the result went to /abs/path.h5 (and name=../x to ../x.h5).
mkdir -p "$TMP/name/cwd" "$TMP/name/abs" && cd "$TMP/name/cwd"
"$CPNSIM" "$TINY" --quiet $SHORT --set "name=$TMP/name/abs/x" || fail "run with name=<absolute path> failed"
"$CPNSIM" "$TINY" --quiet $SHORT --set "name=../up" || fail "run with name=../up failed"
[ -z "$(ls "$TMP/name/abs")" ] && [ ! -e "$TMP/name/up.h5" ] || fail "a result was written outside the working directory"
want="$(printf '%s' "$TMP/name/abs/x" | tr '/' '_').h5"
[ -f "$want" ] && [ -f ___up.h5 ] || fail "working directory holds: $(ls), want '$want' and ___up.h5"
readable ___up.h5 || fail "___up.h5 is not readable"
echo "ok: default output names stay in the working directory: $(ls | tr '\n' ' ')"

# 4. Write failures: reported, exit 1, nothing left. A file size limit (EFBIG) always; a full tmpfs
#    (ENOSPC) when this user may mount one. Before, HDF5's cleanup at exit then crashed (SIGSEGV).
mkdir "$TMP/full" && cd "$TMP/full"
set +e
(ulimit -f 400; trap '' XFSZ; exec "$CPNSIM" "$NATIONAL" --quiet --out out.h5 $MINUTES) 2> err; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "file size limit: exit $rc, want 1: $(cat err)"
grep -q "out.h5.*File too large" err || fail "file size limit: message: $(cat err)"
[ "$(ls)" = err ] || fail "file size limit: left $(ls)"
echo "ok: file size limit: $(head -c 160 err)"
mkdir "$TMP/tmpfs"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=256k cpn-test-full "$TMP/tmpfs" 2>/dev/null; then
  trap 'umount "$TMP/tmpfs" 2>/dev/null; rm -rf "$TMP"' EXIT
  set +e
  "$CPNSIM" "$NATIONAL" --quiet --out "$TMP/tmpfs/out.h5" $MINUTES 2> err; rc=$?
  set -e
  left=$(ls -A "$TMP/tmpfs")
  umount "$TMP/tmpfs"
  trap 'rm -rf "$TMP"' EXIT
  [ "$rc" -eq 1 ] || fail "full disk: exit $rc, want 1: $(cat err)"
  grep -q "No space left on device" err || fail "full disk: message: $(cat err)"
  [ -z "$left" ] || fail "full disk: left $left"
  echo "ok: full disk: $(head -c 160 err)"
else
  echo "skip: cannot mount a tmpfs here; the full-disk case is covered by the file size limit"
fi

# 5. xml-nonutf8-hostid.yaml: host ids "caf\xe9\xff" from a SimGrid platform reached /names/links,
#    declared UTF-8. The output refuses them (exit 2, bad input) and leaves no file.
cd "$TMP"
set +e; "$CPNSIM" "$REL/xml-nonutf8-hostid.yaml" --quiet --out "$TMP/nonutf8.h5" 2> err; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "non-UTF-8 names: exit $rc, want 2: $(cat err)"
grep -q "is not valid UTF-8" err && grep -q 'caf\\xe9\\xff' err || fail "non-UTF-8 names: message: $(cat err)"
[ ! -e nonutf8.h5 ] && [ ! -e nonutf8.h5.tmp ] && [ ! -e nonutf8.h5.lock ] || fail "non-UTF-8 names: a file was left"
echo "ok: non-UTF-8 names: $(tail -1 err | head -c 200)"
