# h5dump -H of a result file shows the paths and root attributes of the DESIGN.md output contract.
source "$(dirname "$0")/lib.sh"
need_tool h5dump hdf5-tools
"$CPNSIM" "$CPN_SRC/scenarios/tiny.yaml" --out "$TMP/run.h5" --quiet || fail "run"
h5dump -H "$TMP/run.h5" > "$TMP/h"
for p in 'GROUP "/"' 'DATASET "requests"' 'DATASET "scenario"' 'GROUP "summary"' 'DATASET "overall"' \
         'DATASET "sites"' 'DATASET "classes"' 'DATASET "tenants"' 'GROUP "timeseries"' 'GROUP "names"' \
         'ATTRIBUTE "format_version"' 'ATTRIBUTE "cpnsim_version"' 'ATTRIBUTE "git_commit"' \
         'ATTRIBUTE "simgrid_version"' 'ATTRIBUTE "seed"' 'ATTRIBUTE "policy"' 'ATTRIBUTE "scenario"' \
         'ATTRIBUTE "wall_seconds"' 'ATTRIBUTE "events_processed"' 'ATTRIBUTE "peak_rss_bytes"' \
         '"t_first_token"' '"status"' '"reason"' '"cross_border"' '"co2_g"' '"ttft_p99_s"'; do
  grep -q "$p" "$TMP/h" || fail "h5dump -H lacks $p"
done
h5dump -d /scenario "$TMP/run.h5" | grep -q "name: tiny" || fail "/scenario does not hold the scenario text"
# git_commit names the commit the binary was built from (taken at build time, not when cmake configured).
commit=$(h5dump -a /git_commit "$TMP/run.h5" | sed -n 's/.*(0): "\(.*\)".*/\1/p')
[[ "$commit" =~ ^([0-9a-f]{12}(-dirty)?|unknown)$ ]] || fail "git_commit attribute '$commit' is not a commit"
if head=$(git -C "$CPN_SRC" rev-parse --short=12 HEAD 2>/dev/null); then
  [[ "$commit" == "$head" || "$commit" == "$head-dirty" ]] ||
    fail "git_commit is $commit but the sources are at $head (a commit taken when cmake configured?)"
fi
ls "$TMP"/*.tmp 2>/dev/null && fail "temporary file left"
echo "ok: contract paths and attributes present"
