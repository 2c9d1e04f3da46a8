# --check of a 100,000-site generated topology (scenarios/scale-1000.yaml with topology.n=100000): it
# took 19 minutes, with O(n^2) Waxman generation, linear name lookups and S x N routes for its
# reachability warnings; now seconds (bench/bench_check_scale.sh). Not timed here (ctest's timeout
# bounds it); what is asserted is its output: every site, link and origin is there, the generated graph
# has the mean degree its generator promises (about 4), and, the graph being connected, no warning.
source "$(dirname "$0")/lib.sh"
set +e
"$CPNSIM" "$CPN_SRC/scenarios/scale-1000.yaml" --set topology.n=100000 --check > "$TMP/out" 2> "$TMP/err"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "--check exited $rc: $(head -c 2000 "$TMP/err")"
line=$(cat "$TMP/out")
[[ "$line" =~ ^.*scale-1000\.yaml:\ ok\ \(100000\ sites,\ ([0-9]+)\ links,\ 1\ models,\ 100000\ origins,\ policy\ least-loaded\)$ ]] ||
  fail "unexpected --check output: $line"
links=${BASH_REMATCH[1]}
# Mean degree 2 x links / n: 4 for the drawn edges, plus the edges that join the ~2 % of nodes left
# isolated (e^-4 of them for a mean degree of 4).
[ "$links" -ge 195000 ] && [ "$links" -le 215000 ] || fail "$links links for 100,000 nodes: mean degree off 4"
[ ! -s "$TMP/err" ] || fail "warnings on a connected graph: $(head -c 1000 "$TMP/err")"
echo "ok: $line"
