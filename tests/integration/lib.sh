# Shared helpers for the integration tests (sourced). CPNSIM, CPN_SRC and CPN_BUILD come from ctest.
set -u
: "${CPNSIM:?set by ctest}" "${CPN_SRC:?set by ctest}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# The Debian interpreter: the one that has the packages scripts/setup.sh installs (a pyenv python first on
# PATH may not).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# need_python MODULE...: fails naming the Debian package (scripts/python-deps.txt) of a missing module,
# before the test can reach a wrong verdict through it.
need_python() {
  local m pkg
  for m in "$@"; do
    "$PY" -c "import $m" 2> /dev/null && continue
    pkg=$(awk -v m="$m" '$1 == m { print $2 }' "$CPN_SRC/scripts/python-deps.txt")
    [ -n "$pkg" ] || fail "Python module '$m' is missing, and scripts/python-deps.txt names no Debian package for it"
    fail "Python module '$m' is missing: install the Debian package $pkg (bash scripts/setup.sh installs it)"
  done
}
# need_tool COMMAND PACKAGE: fails naming the Debian package of a missing command.
need_tool() {
  command -v "$1" > /dev/null || fail "command '$1' is missing: install the Debian package $2 (bash scripts/setup.sh installs it)"
}
