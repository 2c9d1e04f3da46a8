# .ci/run runs README's test command verbatim when it runs it directly, and scripts/fresh-check.sh finds
# README's two quick-start commands (it runs them as README shows them, read from README itself).
source "$(dirname "$0")/lib.sh"
run=$(bash "$CPN_SRC/scripts/fresh-check.sh" --command run) || fail "fresh-check.sh --command run"
test=$(bash "$CPN_SRC/scripts/fresh-check.sh" --command test) || fail "fresh-check.sh --command test"
for c in "$run" "$test"; do
  [ -n "$c" ] && [ "$(printf '%s\n' "$c" | wc -l)" -eq 1 ] || fail "README's Quick start: want two one-line sh blocks, got '$c'"
done
case $run in "bash scripts/setup.sh && "*) ;; *) fail "README's first command does not start with setup: '$run'" ;; esac
case $test in "bash scripts/setup.sh && "*ctest*) ;; *) fail "README's test command does not run setup and ctest: '$test'" ;; esac
grep -qxF "  $test" "$CPN_SRC/.ci/run" || fail ".ci/run does not run README's test command verbatim: '$test'"
grep -qF "#   $test" "$CPN_SRC/.ci/run" || fail ".ci/run's header does not quote README's test command: '$test'"
echo "ok: README's commands: '$run' and '$test' (.ci/run: the same)"
