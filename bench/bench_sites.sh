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
# Usage: bench/bench_sites.sh [BUILD_DIR] [REPEAT] [R] [SITES...]
#        (defaults: build, 5, 200000, "100 1000 10000"; env TMP_GB=4 MEM_GB=8 LIMIT_S=300)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
build=$(cd "${1:-$here/build}" && pwd)
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
  inner+='strace -f -ttt -qq --seccomp-bpf -e trace=execve,unlink,rename,exit_group -o "$OUT.strace" timeout "$LIMIT_S" "$@"; '
  inner+='rc=$?; kill $w 2> /dev/null; exit $rc'
  OUT=$out MEM_GB=$mem_gb TMP_GB=$tmp_gb LIMIT_S=$limit_s "${fence[@]}" bash -c "$inner" fenced "$@" > /dev/null 2> "$out.err"
}

echo "bench_sites: R=$r_req REPEAT=$repeat, sites: $sites; $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "fence: ${fence[*]:-none} (tmpfs /tmp ${tmp_gb} GiB), ulimit -v ${mem_gb} GiB, timeout ${limit_s} s"
printf "%-6s %-4s %9s %9s %9s %9s %9s %7s %9s %11s %9s %9s %8s\n" sites run check_s chk_cpu_s bld_cpu_s build_s run_s exit_s \
  requests req/s us/req us/log2n rss_MiB
summary=()
for n in $sites; do
  chk=() chkc=() bldc=() bld=() rs=() ex=() rate=() usr=() uslg=() rss=() failed=
  for i in $(seq 1 "$repeat"); do
    timed "$work/c" "$build/cpnsim" "$here/scenarios/scale-1000.yaml" --set topology.n="$n" --check > /dev/null
    read -r cw cc _ < "$work/c"
    chk+=("$cw") chkc+=("$cc")
    rm -f "$work/one.h5"
    timed "$work/one" "$build/cpnsim" "$here/scenarios/scale-1000.yaml" --set topology.n="$n" --set run.max_requests=1 \
      --quiet --out "$work/one.h5" > /dev/null || true
    read -r _ bc _ < "$work/one" || bc=nan
    bldc+=("$bc")
    rm -f "$work/s.h5"
    rc=0
    fenced "$work/r" "$build/cpnsim" "$here/scenarios/scale-1000.yaml" --set topology.n="$n" \
      --set run.max_requests="$r_req" --quiet --out "$work/s.h5" || rc=$?
    if [ "$rc" != 0 ]; then
      why=$(tail -1 "$work/r.err" | cut -c1-150)
      [ "$rc" = 124 ] && why="timed out (LIMIT_S=$limit_s)"
      t0=$(awk '/execve\(".*cpnsim"/ {print $2; exit}' "$work/r.strace")
      t1=$(awk 'END {print $2}' "$work/r.strace")
      peak=$(sort -n "$work/r.du" 2> /dev/null | tail -1)
      failed="run failed after $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", b - a}') s: $why; largest /tmp use seen $(div "${peak:-0}" 1048576) MiB"
      printf "%-6s %-4s %9.2f %9.2f %s\n" "$n" "$i" "$cw" "$cc" "$failed"
      break
    fi
    t0=$(awk '/execve\(".*cpnsim"/ {print $2; exit}' "$work/r.strace")
    tu=$(awk '/unlink\(".*cpnsim-platform/ {print $2; exit}' "$work/r.strace")
    tr=$(awk '/rename\(/ {print $2; exit}' "$work/r.strace")
    t1=$(awk '/exit_group/ {t = $2} END {print t}' "$work/r.strace")
    read -r _ _ rss_b _ rows _ < <(h5_stats "$work/s.h5")
    b=$(awk -v a="$t0" -v b="$tu" 'BEGIN{printf "%.3f", b - a}') r=$(awk -v a="$tu" -v b="$tr" 'BEGIN{printf "%.3f", b - a}')
    x=$(awk -v a="$tr" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
    bld+=("$b") rs+=("$r") ex+=("$x") rate+=("$(div "$rows" "$r")") usr+=("$(div "$r" "$rows" | awk '{printf "%.3f", $1 * 1e6}')")
    uslg+=("$(awk -v u="${usr[-1]}" -v n="$n" 'BEGIN{printf "%.4f", u / (log(n) / log(2))}')") rss+=("$(div "$rss_b" 1048576)")
    printf "%-6s %-4s %9.2f %9.2f %9.2f %9.2f %9.2f %7.2f %9s %11.0f %9.3f %9.4f %8.1f\n" "$n" "$i" "$cw" "$cc" "$bc" "$b" "$r" "$x" "$rows" \
      "${rate[-1]}" "${usr[-1]}" "${uslg[-1]}" "${rss[-1]}"
  done
  if [ ${#bld[@]} -gt 0 ]; then
    line=$(printf "%-6s %-4s %9.2f %9.2f %9.2f %9.2f %9.2f %7.2f %9s %11.0f %9.3f %9.4f %8.1f" "$n" med "$(median "${chk[@]}")" \
      "$(median "${chkc[@]}")" "$(median "${bldc[@]}")" "$(median "${bld[@]}")" "$(median "${rs[@]}")" "$(median "${ex[@]}")" "$r_req" "$(median "${rate[@]}")" \
      "$(median "${usr[@]}")" "$(median "${uslg[@]}")" "$(median "${rss[@]}")")
  else
    line=$(printf "%-6s %-4s %9.2f %9.2f %s" "$n" med "$(median "${chk[@]}")" "$(median "${chkc[@]}")" "$failed")
  fi
  summary+=("$line")
done
echo "medians:"
printf "%s\n" "${summary[@]}"
for line in "${summary[@]}"; do
  read -r n _ _ _ bc b _ <<< "$line"
  [ "$n" = 1000 ] || continue
  case $b in
  *[!0-9.]*) echo "target: the 1,000-site scenario builds in under 2 s: NOT met (the run did not finish)" ;;
  *) awk -v b="$b" -v c="$bc" 'BEGIN{printf "target: the 1,000-site scenario builds in under 2 s: %s (%.2f s wall; %s, %.2f CPU s)\n", (b < 2 ? "met" : "NOT met"), b, (c < 2 ? "met" : "NOT met"), c}' ;;
  esac
done
