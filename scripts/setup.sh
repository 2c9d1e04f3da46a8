#!/usr/bin/env bash
# Installs what cpnsim needs from Debian 12 packages (only what is missing), then configures and builds.
# Usage: scripts/setup.sh [BUILD_DIR]        run as root on a fresh machine; idempotent
#        scripts/setup.sh --list-packages    print the Debian packages it installs, one a line
# The packages: the C toolchain and libraries of the build, hdf5-tools (h5dump: tests, README), python3,
# and the Python packages of scripts/python-deps.txt (tests, analysis/plots.py, README's snippets); for
# sweeps and reports: OpenMPI (cpnsim-sweep --mpi), Chromium (the report's browser test) and
# gmt-gshhg-low (coastlines and borders of the report's map, read from /usr/share/gmt-gshhg); clang-14 and
# libclang-rt-14-dev (libFuzzer and sanitizer runtimes, for scripts/fuzz.sh); llvm-14 (llvm-symbolizer: the
# report_h5 fuzz target tells a crash inside libhdf5 from one in cpnsim by ASan's symbolized stack).
# It says what it does as it goes, each line with the seconds since it started; apt's full output is kept
# in a log file whose tail is printed when apt fails.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

pkgs=(build-essential cmake pkg-config libsimgrid-dev libigraph-dev libgsl-dev libhdf5-dev zlib1g-dev libdeflate-dev hdf5-tools
      libcmocka-dev libyaml-dev python3
      openmpi-bin libopenmpi-dev chromium gmt-gshhg-low
      clang-14 libclang-rt-14-dev   # clang's libFuzzer and sanitizer runtimes (scripts/fuzz.sh)
      llvm-14)                      # llvm-symbolizer, for the sanitizers' stacks (scripts/fuzz.sh, sanitize.sh)
while read -r module pkg _; do
  case $module in '' | '#'*) continue ;; esac
  [ -n "$pkg" ] || { echo "setup: scripts/python-deps.txt: no package for module '$module'" >&2; exit 1; }
  case " ${pkgs[*]} " in *" $pkg "*) ;; *) pkgs+=("$pkg") ;; esac
done < "$here/scripts/python-deps.txt"

if [ "${1:-}" = --list-packages ]; then
  printf '%s\n' "${pkgs[@]}"
  exit 0
fi
build=${1:-"$here/build"}

start=$SECONDS
say() { printf 'setup: [%4ds] %s\n' $((SECONDS - start)) "$*"; }

# Reads apt-get's output (also written to $log) and prints a line per phase and one every 50 files or 40
# dpkg steps, so that a long installation shows progress without a thousand lines of apt.
apt_progress() {
  local line n_get=0 n_unpack=0 n_setup=0 total=?
  while IFS= read -r line; do
    printf '%s\n' "$line" >> "$log"
    case $line in
      *" newly installed, "*)
        # "U upgraded, N newly installed, ...": dpkg unpacks and configures U + N packages.
        local up=${line%% upgraded*} new=${line#*upgraded, }
        new=${new%% newly*}
        total=$((up + new)); say "apt: $line" ;;
      "Need to get "* | "After this operation"*) say "apt: $line" ;;
      Get:*)
        n_get=$((n_get + 1))
        [ $n_get -eq 1 ] && say "apt: downloading"
        [ $((n_get % 50)) -eq 0 ] && say "apt: downloaded $n_get files" ;;
      "Fetched "*) say "apt: $line" ;;
      Unpacking* | "Setting up "*)
        case $line in Unpacking*) n_unpack=$((n_unpack + 1)) ;; *) n_setup=$((n_setup + 1)) ;; esac
        [ $((n_unpack + n_setup)) -eq 1 ] && say "apt: unpacking and configuring $total packages (dpkg)"
        [ $(((n_unpack + n_setup) % 40)) -eq 0 ] && say "apt: unpacked $n_unpack, configured $n_setup of $total" ;;
      E:* | W:* | "dpkg: error"*) say "apt: $line" ;;
    esac
  done
  return 0
}

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${#missing[@]} of ${#pkgs[@]} packages (and what they depend on): ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp /tmp/cpnsim-setup-apt.XXXXXX.log)
  say "apt-get update (apt's full output: $log, removed when apt succeeds)"
  if ! apt-get -q update 2>&1 | apt_progress; then
    say "apt-get update failed; the end of $log:"; tail -20 "$log" >&2; exit 1
  fi
  say "apt-get install"
  if ! apt-get -q -y -o Dpkg::Progress-Fancy=0 -o APT::Color=0 install --no-install-recommends "${missing[@]}" \
       2>&1 | apt_progress; then
    say "apt-get install failed; the end of $log:"; tail -30 "$log" >&2; exit 1
  fi
  for p in "${missing[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      { say "package $p is not installed after apt-get install; see $log" >&2; exit 1; }
  done
  rm -f "$log"
  say "packages installed"
else
  say "all ${#pkgs[@]} packages already installed"
fi
say "configuring $build (cmake: Release, warnings as errors)"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCPN_WERROR=ON >/dev/null
say "building with $(nproc) jobs"
cmake --build "$build" -j "$(nproc)"
say "done: $build/cpnsim and the tests are built"
