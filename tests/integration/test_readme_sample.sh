# README's sample output (the block under "What the first command prints") equals what the first command's
# run prints now: the default scenario at its default seed, ~20 s. Every figure is compared except the wall
# time, the requests/s of wall time and the peak RSS. Regenerate the block with scripts/readme-sample.sh.
source "$(dirname "$0")/lib.sh"
bash "$CPN_SRC/scripts/readme-sample.sh" --check > "$TMP/out" 2>&1 || fail "$(cat "$TMP/out")"
cat "$TMP/out"
