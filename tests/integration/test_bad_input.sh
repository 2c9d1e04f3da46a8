# Bad scenario and command-line input: a message naming file, line and key, exit code 2, no output file.
source "$(dirname "$0")/lib.sh"
check() { # name, expected regex, args...
  local name=$1 want=$2; shift 2
  set +e; "$CPNSIM" "$@" --out "$TMP/out.h5" > "$TMP/stdout" 2> "$TMP/stderr"; rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "$name: exit code $rc, want 2 ($(cat "$TMP/stderr"))"
  grep -Eq "$want" "$TMP/stderr" || fail "$name: message does not match '$want': $(cat "$TMP/stderr")"
  [ ! -e "$TMP/out.h5" ] && [ ! -e "$TMP/out.h5.tmp" ] || fail "$name: an output file was left"
  echo "ok: $name: $(head -1 "$TMP/stderr")"
}
base="$CPN_SRC/scenarios/tiny.yaml"
mk() { sed "$1" "$base" > "$TMP/$2.yaml"; }
mk 's/^  sample_interval_s: 60/  sample_interval_s: 60\n  sampel_rate: 3/' unknown
check "unknown key" "unknown\.yaml:[0-9]+:[0-9]+: run\.sampel_rate" "$TMP/unknown.yaml"
mk 's/  duration_s: 600 /  duration_s: ten /' wrongtype
check "wrong type" "wrongtype\.yaml:[0-9]+:[0-9]+: run\.duration_s" "$TMP/wrongtype.yaml"
mk 's/bw_bps: 4.0e11}/bw_bps: -4.0e11}/' negbw
check "negative bandwidth" "negbw\.yaml:[0-9]+:[0-9]+: links\[[0-9]\]\.bw_bps" "$TMP/negbw.yaml"
mk 's/{a: east, b: wuhan,/{a: east, b: wuhn,/' dangling
check "missing site referenced by a link" "dangling\.yaml:[0-9]+:[0-9]+: links\[0\]\.b" "$TMP/dangling.yaml"
check "unreadable file" "nonexistent\.yaml" "$TMP/nonexistent.yaml"
check "bad --set path" "run\.nope" "$base" --set run.nope=3
check "unknown option" "unknown option" "$base" --frobnicate
check "bad seed" "seed" "$base" --seed -3
check "unknown policy" "unknown policy 'nope'" "$base" --policy nope
# Prices, carbon and accounts (issue 16).
mk 's/    co2_g_per_kwh: 561.7/    co2_g_per_kwh_hourly: [1, 2, 3]/' shorthourly
check "hourly table of 3 values" "shorthourly\.yaml:[0-9]+:[0-9]+: sites\[0\]\.co2_g_per_kwh_hourly: must list exactly 24" "$TMP/shorthourly.yaml"
mk 's/    co2_g_per_kwh: 561.7/    co2_g_per_kwh: 561.7\n    co2_g_per_kwh_hourly: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]/' bothco2
check "flat and hourly carbon" "bothco2\.yaml:[0-9]+:[0-9]+: sites\[0\]\.co2_g_per_kwh_hourly: give either" "$TMP/bothco2.yaml"
mk 's/  - {name: acme, share: 0.6}/  - {name: acme, share: 0.6, rate_burst: 5}/' burst
check "rate_burst without a rate limit" "burst\.yaml:[0-9]+:[0-9]+: tenants\[0\]: rate_burst has no effect" "$TMP/burst.yaml"
check "negative quota" "tenants\[1\]\.quota_tokens" "$base" --set tenants.1.quota_tokens=-5
check "capex lifetime out of range" "sites\[1\]\.capex_lifetime_years" "$base" --set sites.1.capex_lifetime_years=0
