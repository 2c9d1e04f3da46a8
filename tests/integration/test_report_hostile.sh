# cpnsim-report against hostile result files (README "Reliability"). Each must end with exit 2 and a
# message naming the file, never a crash or an allocation of what the file claims:
# 1. /names/sites claiming 2^32 names of 8 bytes, or 4,000,000 names of 8 KiB, with nothing stored
#    (before: a 32 GiB calloc, then reading 32 GiB of fill values): refused by the count limit, and by
#    the bytes the dataset stores;
# 2. a root attribute warmup_s holding 1,000 doubles (before: H5Aread wrote 8,000 bytes into one double);
# 3. a file on which libhdf5 1.10 itself crashes (a variable-length string whose global-heap index is out
#    of range: SIGSEGV in H5HG_read; tests/fuzz/regressions/report_h5/): the file is read in a child
#    process, so the crash is an error naming the file (before: the report died of SIGSEGV, exit 139);
# 4. a file of 6 KB on which libhdf5 1.10 allocates 12 GiB for a variable-length string attribute and
#    fills it (tests/data/reliability/report-h5-libhdf5-oom.h5, found by fuzzing): the reading child has a
#    memory budget, 1024 MiB + 4 x the file's size (1 MiB here), or CPNSIM_REPORT_MEM_MIB; the file is
#    refused with that figure in a fraction of a second (before: 12.0 GiB resident, then the child's CPU
#    limit of 60 s: 78 s of wall time and "did not finish reading this file in 60 s of CPU time").
# And a whole file still reads, through the same child process, with the same numbers as before.
source "$(dirname "$0")/lib.sh"
need_python h5py numpy
REPORT="$CPN_BUILD/analysis/cpnsim-report"
[ -x "$REPORT" ] || fail "no $REPORT"
"$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --policy nearest --seed 3 --out "$TMP/run.h5" --quiet \
  --set run.duration_s=120 --set run.warmup_s=10 || fail "the run failed"

# expect_bad FILE PATTERN: exit 2 and a message naming FILE and matching PATTERN.
expect_bad() {
  local rc=0
  # Bounded in time, not by ulimit -v (AddressSanitizer's shadow memory needs the address space).
  timeout 120 "$REPORT" summary "$1" > "$TMP/out" 2> "$TMP/err" || rc=$?
  [ "$rc" -eq 2 ] || fail "$(basename "$1"): exit $rc, want 2: $(cat "$TMP/err")"
  grep -q -- "$1" "$TMP/err" || fail "$(basename "$1"): the message does not name the file: $(cat "$TMP/err")"
  grep -qE -- "$2" "$TMP/err" || fail "$(basename "$1"): message '$(cat "$TMP/err")' does not match '$2'"
  echo "ok: $(basename "$1"): $(cat "$TMP/err")"
}

"$PY" - "$TMP" <<'PY'
import shutil, sys, h5py, numpy as np
tmp = sys.argv[1]
shutil.copy(f"{tmp}/run.h5", f"{tmp}/names.h5")
with h5py.File(f"{tmp}/names.h5", "r+") as f:
    del f["names/sites"]
    # Contiguous, allocated late, never written: the dataspace claims 2^32 entries, the file stores none.
    f["names"].create_dataset("sites", shape=(2**32,), dtype="S8")
shutil.copy(f"{tmp}/run.h5", f"{tmp}/names2.h5")
with h5py.File(f"{tmp}/names2.h5", "r+") as f:
    del f["names/classes"]
    f["names"].create_dataset("classes", shape=(4000000,), dtype="S8192")
shutil.copy(f"{tmp}/run.h5", f"{tmp}/attr.h5")
with h5py.File(f"{tmp}/attr.h5", "r+") as f:
    del f.attrs["warmup_s"]
    f.attrs["warmup_s"] = np.arange(1000, dtype="f8")
PY
expect_bad "$TMP/names.h5" "/names/sites claims 4294967296 entries, over this report's limit of 4194304"
expect_bad "$TMP/names2.h5" "/names/classes claims 4000000 entries of 8192 bytes but stores 0 bytes"
expect_bad "$TMP/attr.h5" "root attribute 'warmup_s' is unreadable or not a single value"
cp "$CPN_SRC/tests/fuzz/regressions/report_h5/libhdf5-segv-H5HG_read-bad-heap-index.h5" "$TMP/heap.h5"
expect_bad "$TMP/heap.h5" "libhdf5 crashed reading this file \(signal 11 inside the library\)"

# 4. The memory budget: refused quickly, whatever the build (under ASan: 2 s, most of it the shadow of the
# 12 GiB block). CPU time of the report and its reading child (bash's time counts waited-for children).
cp "$CPN_SRC/tests/data/reliability/report-h5-libhdf5-oom.h5" "$TMP/oom.h5"
TIMEFORMAT='%U %S'
{ time expect_bad "$TMP/oom.h5" "needs more memory than the limit of 1028 MiB while reading \(libhdf5" \
  > "$TMP/oom.out" ; } 2> "$TMP/oom.time"
cat "$TMP/oom.out"
cpu=$(awk '{ print $1 + $2 }' "$TMP/oom.time")
awk -v c="$cpu" 'BEGIN { exit !(c < 15) }' || fail "oom.h5: $cpu s of CPU time, want well under the child's limit of 60 s"
echo "ok: oom.h5 refused in $cpu s of CPU time"
CPNSIM_REPORT_MEM_MIB=2222 expect_bad "$TMP/oom.h5" "needs more memory than the limit of 2222 MiB while reading \(libhdf5"
rc=0
CPNSIM_REPORT_MEM_MIB=12x "$REPORT" summary "$TMP/run.h5" > /dev/null 2> "$TMP/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "CPNSIM_REPORT_MEM_MIB '12x': use a whole number of MiB" "$TMP/err" \
  || fail "CPNSIM_REPORT_MEM_MIB=12x: exit $rc, $(cat "$TMP/err")"
echo "ok: CPNSIM_REPORT_MEM_MIB=12x refused: $(cat "$TMP/err")"

# The whole file: read through the child, its numbers are those /requests gives (one checked by hand:
# the request count of the measured window, from h5py).
"$REPORT" summary --format csv "$TMP/run.h5" > "$TMP/sum.csv" 2> "$TMP/err" || fail "summary of a whole file: $(cat "$TMP/err")"
want=$("$PY" -c "import h5py,sys; f=h5py.File(sys.argv[1]); r=f['requests'][()]; print(int((r['t_arrival'] >= f.attrs['warmup_s']).sum()))" "$TMP/run.h5")
got=$(awk -F, '$1 == "overall" && $3 == "requests" { print $5; exit }' "$TMP/sum.csv")
[ -n "$want" ] && [ "$want" -gt 0 ] && [ "$got" = "$want" ] || fail "overall requests: report '$got', h5py '$want'; $(head -3 "$TMP/sum.csv")"
echo "ok: a whole file reads through the child process: $got measured requests, as h5py counts them"
