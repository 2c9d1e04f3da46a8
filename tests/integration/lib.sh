# Shared helpers for the integration tests (sourced). CPNSIM, CPN_SRC and CPN_BUILD come from ctest.
set -u
: "${CPNSIM:?set by ctest}" "${CPN_SRC:?set by ctest}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
