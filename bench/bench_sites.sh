#!/usr/bin/env bash
# Benchmark: set-up time and per-request cost against the number of sites, on scenarios/scale-1000.yaml
# (a generated Waxman network where every node is a site with one replica and an origin of its own;
# the count is topology.n). Targets: the 1,000-site scenario builds in under 2 s; the cost per request
# grows no faster than log n.
#
# For each site count (default 100 1000 10000), REPEAT times:
#   check  build/cpnsim scenarios/scale-1000.yaml --set topology.n=SITES --check      (wall and CPU s)
#   run    build/cpnsim scenarios/scale-1000.yaml --set topology.n=SITES --set run.max_requests=R
#          --quiet --out TMP.h5
#   one    build/cpnsim scenarios/scale-1000.yaml --set topology.n=SITES --set run.max_requests=1 --quiet
#          --out TMP.h5                                                                (CPU s: bld_cpu_s)
# bld_cpu_s is the CPU time (user + system) of a whole process that builds and serves one request: the
# build in CPU seconds, which the load of a shared machine does not inflate as it does build_s (wall).
# The run is timed under strace (only execve, unlink, rename and exit_group are traced): "build" is from
# the exec of cpnsim to the unlink of its temporary SimGrid platform file, i.e. scenario, topology and
# routes, stages, platform XML and SimGrid's parse of it; "run" is from there to the rename of the
# finished result file (the requests, then the output tables); "exit" is from there to the end of the
# process (freeing, SimGrid's teardown). Requests/s = rows of /requests / run seconds; us/log2n divides
# the microseconds per request by log2(sites). Medians of REPEAT.
#
# Each run is fenced because the set-up grows quickly with the site count: a private tmpfs /tmp of
# TMP_GB GiB (the platform file goes there; with unshare, as root; skipped otherwise), an address-space
# limit of MEM_GB GiB and a timeout of LIMIT_S s. A site count whose run fails or times out is reported
# as such (with how far it got) and not repeated.
#
# CPU time: the run's process is timed by /usr/bin/time inside the fence; cpu_us is (its user + system
# CPU - bld_cpu_s) / rows of /requests, the CPU per request of the run after the build (both threads),
# and cpu/log2n divides it by log2(sites). With BASE=DIR (another build, e.g. main's), every repeat runs
# DIR/cpnsim right after BUILD_DIR's, in the same fence, and the summary adds BASE's medians and the median
# of the paired ratios BASE / BUILD of cpu_us.
#
# Usage: bench/bench_sites.sh [BUILD_DIR] [REPEAT] [R] [SITES...]
#        (defaults: build, 5, 200000, "100 1000 10000"; env TMP_GB=4 MEM_GB=8 LIMIT_S=300 BASE=)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
build=$(cd "${1:-$here/build}" && pwd)
base=${BASE:+$(cd "$BASE" && pwd)}
repeat=${2:-${REPEAT:-5}}
r_req=${3:-${R:-200000}}
shift $(( $# < 3 ? $# : 3 ))
sites=${*:-100 1000 10000}
tmp_gb=${TMP_GB:-4} mem_gb=${MEM_GB:-8} limit_s=${LIMIT_S:-300}
work=$(mktemp -d -p /var/tmp)
trap 'rm -rf "$work"' EXIT
command -v strace > /dev/null || { echo "bench_sites: needs strace" >&2; exit 2; }
fence=()
if [ "$(id -u)" = 0 ] && unshare -m true 2> /dev/null; then fence=(unshare -m); fi

# fenced OUT_PREFIX CMD...: runs CMD under the fence, strace-timed; writes OUT_PREFIX.strace, .err, .du
# (the largest /tmp use seen, sampled every second) and returns CMD's status.
fenced() {
  local out=$1
  shift
  local inner='ulimit -v $((MEM_GB * 1048576)); '
  if [ ${#fence[@]} -gt 0 ]; then
    inner="mount -t tmpfs -o size=\${TMP_GB}g tmpfs /tmp && $inner"
  fi
  inner+='(while sleep 1; do du -sb /tmp 2> /dev/null | cut -f1; done) > "$OUT.du" & w=$!; '
  inner+='strace -f -ttt -qq --seccomp-bpf -e trace=execve,unlink,rename,exit_group -o "$OUT.strace" timeout "$LIMIT_S" /usr/bin/time -f "%U %S" -o "$OUT.cpu" "$@"; '
  inner+='rc=$?; kill $w 2> /dev/null; exit $rc'
  OUT=$out MEM_GB=$mem_gb TMP_GB=$tmp_gb LIMIT_S=$limit_s "${fence[@]}" bash -c "$inner" fenced "$@" > /dev/null 2> "$out.err"
}

echo "bench_sites: R=$r_req REPEAT=$repeat, sites: $sites; $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "fence: ${fence[*]:-none} (tmpfs /tmp ${tmp_gb} GiB), ulimit -v ${mem_gb} GiB, timeout ${limit_s} s"
echo "build: $build${base:+; base: $base}"
hdr="%-6s %-4s %-4s %9s %9s %9s %9s %9s %7s %9s %11s %9s %9s %8s %9s %9s\n"
printf "$hdr" sites bld run check_s chk_cpu_s bld_cpu_s build_s run_s exit_s requests req/s us/req us/log2n rss_MiB cpu_us \
  cpu/log2n
declare -A acc
summary=()

# measure LABEL BUILD SITES I: one repeat (check, one-request process, fenced run) of BUILD; appends each
# figure to acc[LABEL,SITES,field]; returns non-zero (and sets failed) when the run failed.
measure() {
  local label=$1 bdir=$2 n=$3 i=$4 cw cc bc rc why t0 t1 tu tr peak rows rss_b b r x u1 s1
  timed "$work/c" "$bdir/cpnsim" "$here/scenarios/scale-1000.yaml" --set topology.n="$n" --check > /dev/null
  read -r cw cc _ < "$work/c"
  rm -f "$work/one.h5"
  timed "$work/one" "$bdir/cpnsim" "$here/scenarios/scale-1000.yaml" --set topology.n="$n" --set run.max_requests=1 \
    --quiet --out "$work/one.h5" > /dev/null || true
  read -r _ bc _ < "$work/one" || bc=nan
  rm -f "$work/s.h5"
  rc=0
  fenced "$work/r" "$bdir/cpnsim" "$here/scenarios/scale-1000.yaml" --set topology.n="$n" \
    --set run.max_requests="$r_req" --quiet --out "$work/s.h5" || rc=$?
  if [ "$rc" != 0 ]; then
    why=$(tail -1 "$work/r.err" | cut -c1-150)
    [ "$rc" = 124 ] && why="timed out (LIMIT_S=$limit_s)"
    t0=$(awk '/execve\("[^"]*cpnsim"/ {print $2; exit}' "$work/r.strace")
    t1=$(awk 'END {print $2}' "$work/r.strace")
    peak=$(sort -n "$work/r.du" 2> /dev/null | tail -1)
    failed="run failed after $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", b - a}') s: $why; largest /tmp use seen $(div "${peak:-0}" 1048576) MiB"
    printf "%-6s %-4s %-4s %9.2f %9.2f %s\n" "$n" "$label" "$i" "$cw" "$cc" "$failed"
    return 1
  fi
  t0=$(awk '/execve\("[^"]*cpnsim"/ {print $2; exit}' "$work/r.strace")
  tu=$(awk '/unlink\(".*cpnsim-platform/ {print $2; exit}' "$work/r.strace")
  tr=$(awk '/rename\(/ {print $2; exit}' "$work/r.strace")
  t1=$(awk '/exit_group/ {t = $2} END {print t}' "$work/r.strace")
  read -r _ _ rss_b _ rows _ < <(h5_stats "$work/s.h5")
  read -r u1 s1 < "$work/r.cpu"
  b=$(awk -v a="$t0" -v b="$tu" 'BEGIN{printf "%.3f", b - a}') r=$(awk -v a="$tu" -v b="$tr" 'BEGIN{printf "%.3f", b - a}')
  x=$(awk -v a="$tr" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
  local rate us uslg rss cpu cpulg
  rate=$(div "$rows" "$r") us=$(div "$r" "$rows" | awk '{printf "%.3f", $1 * 1e6}')
  uslg=$(awk -v u="$us" -v n="$n" 'BEGIN{printf "%.4f", u / (log(n) / log(2))}') rss=$(div "$rss_b" 1048576)
  cpu=$(awk -v u="$u1" -v s="$s1" -v c="$bc" -v r="$rows" 'BEGIN{printf "%.3f", (u + s - c) / r * 1e6}')
  cpulg=$(awk -v u="$cpu" -v n="$n" 'BEGIN{printf "%.4f", u / (log(n) / log(2))}')
  local k
  for k in "chk:$cw" "chkc:$cc" "bldc:$bc" "bld:$b" "rs:$r" "ex:$x" "rate:$rate" "us:$us" "uslg:$uslg" "rss:$rss" \
    "cpu:$cpu" "cpulg:$cpulg"; do
    acc[$label,$n,${k%%:*}]+=" ${k#*:}"
  done
  printf "%-6s %-4s %-4s %9.2f %9.2f %9.2f %9.2f %9.2f %7.2f %9s %11.0f %9.3f %9.4f %8.1f %9.3f %9.4f\n" "$n" "$label" "$i" \
    "$cw" "$cc" "$bc" "$b" "$r" "$x" "$rows" "$rate" "$us" "$uslg" "$rss" "$cpu" "$cpulg"
}

# med LABEL SITES FIELD: the median of that field's values.
med() { # shellcheck disable=SC2086
  median ${acc[$1,$2,$3]}
}

for n in $sites; do
  failed=
  ratios=()
  for i in $(seq 1 "$repeat"); do
    measure new "$build" "$n" "$i" || break
    if [ -n "$base" ]; then
      measure base "$base" "$n" "$i" || break
      a=${acc[new,$n,cpu]##* } c=${acc[base,$n,cpu]##* }
      ratios+=("$(div "$c" "$a")")
    fi
  done
  for label in new ${base:+base}; do
    if [ -n "${acc[$label,$n,bld]:-}" ]; then
      line=$(printf "%-6s %-4s %-4s %9.2f %9.2f %9.2f %9.2f %9.2f %7.2f %9s %11.0f %9.3f %9.4f %8.1f %9.3f %9.4f" "$n" "$label" med \
        "$(med $label $n chk)" "$(med $label $n chkc)" "$(med $label $n bldc)" "$(med $label $n bld)" "$(med $label $n rs)" \
        "$(med $label $n ex)" "$r_req" "$(med $label $n rate)" "$(med $label $n us)" "$(med $label $n uslg)" "$(med $label $n rss)" \
        "$(med $label $n cpu)" "$(med $label $n cpulg)")
    else
      line=$(printf "%-6s %-4s %-4s %s" "$n" "$label" med "$failed")
    fi
    summary+=("$line")
  done
  if [ ${#ratios[@]} -gt 0 ]; then
    summary+=("$(printf "%-6s cpu_us per request, base / new: median of %d paired ratios %s (%s)" "$n" ${#ratios[@]} \
      "$(median "${ratios[@]}")" "${ratios[*]}")")
  fi
done
echo "medians:"
printf "%s\n" "${summary[@]}"
for line in "${summary[@]}"; do
  read -r n label _ _ _ bc b _ <<< "$line"
  [ "$n" = 1000 ] && [ "$label" = new ] || continue
  case $b in
  *[!0-9.]*) echo "target: the 1,000-site scenario builds in under 2 s: NOT met (the run did not finish)" ;;
  *) awk -v b="$b" -v c="$bc" 'BEGIN{printf "target: the 1,000-site scenario builds in under 2 s: %s (%.2f s wall; %s, %.2f CPU s)\n", (b < 2 ? "met" : "NOT met"), b, (c < 2 ? "met" : "NOT met"), c}' ;;
  esac
done
