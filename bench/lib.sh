# bench/lib.sh: helpers shared by the bench_*.sh scripts (sourced, not run).
#   median V...          the median of the numbers (the mean of the middle two for an even count)
#   h5_stats FILE        "wall_s events rss_bytes peak_live rows file_bytes" of a cpnsim result file
#   h5_attr FILE NAME    one root attribute of a cpnsim result file
#   timed OUT CMD...     runs CMD with /usr/bin/time; OUT gets "elapsed_s cpu_s maxrss_kib" (CMD's stdout
#                        goes to stdout, its stderr to OUT.err)
#   kv KEY LINE          the value of KEY=... in a line of key=value pairs (bench_floor, bench_flow_baseline)
#   div A B              A / B with 4 significant digits ("-" when B is 0)
median() {
  printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END{if (NR % 2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2}'
}

h5_stats() {
  /usr/bin/python3 - "$1" <<'PY'
import os, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    a = f.attrs
    print(a["wall_seconds"], a["events_processed"], a["peak_rss_bytes"], a.get("peak_live_requests", -1),
          len(f["requests"]) if "requests" in f else 0, os.path.getsize(sys.argv[1]))
PY
}

h5_attr() {
  /usr/bin/python3 -c 'import sys, h5py; v = h5py.File(sys.argv[1], "r").attrs[sys.argv[2]]; print(v.decode() if isinstance(v, bytes) else v)' "$1" "$2"
}

timed() {
  local out=$1
  shift
  if ! /usr/bin/time -f "%e %U %S %M" -o "$out.time" "$@" 2> "$out.err"; then
    echo "failed: $*" >&2
    tail -5 "$out.err" >&2
    return 1
  fi
  awk '{printf "%s %.3f %s\n", $1, $2 + $3, $4}' "$out.time" > "$out"
}

kv() { tr ' ' '\n' <<< "$2" | awk -F= -v k="$1" '$1 == k {print $2}'; }

div() { awk -v a="$1" -v b="$2" 'BEGIN{if (b == 0) print "-"; else printf "%.4g\n", a / b}'; }
