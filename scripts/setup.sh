#!/usr/bin/env bash
# Installs what cpnsim needs from Debian 12 packages (only what is missing), then configures and builds.
# Usage: scripts/setup.sh [BUILD_DIR]   (run as root on a fresh machine; idempotent)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$here/build"}
pkgs=(build-essential cmake pkg-config libsimgrid-dev libigraph-dev libgsl-dev libhdf5-dev hdf5-tools
      libcmocka-dev libyaml-dev python3 python3-numpy python3-h5py python3-matplotlib)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCPN_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
