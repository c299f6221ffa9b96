#!/usr/bin/env bash
# Fetches, here, the Debian packages the build needs that a GPU machine without a package registry
# lacks (headers and the few small libraries beside LibTorch), into .devdeps/ for
# scripts/device-check.sh to unpack there. Run once before a device check; the folder is ignored
# by git and travels with the working tree (about 10 MiB).
# Usage: scripts/device-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libstb-dev libstb0
  libturbojpeg0-dev libturbojpeg0 libjpeg62-turbo zlib1g-dev zlib1g libgloo-dev
  libgtest-dev libgmock-dev
)
mkdir -p .devdeps
cd .devdeps
missing=()
for p in "${packages[@]}"; do
  ls "${p}"_*.deb >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then apt-get download "${missing[@]}"; fi
echo "device-deps: $(ls ./*.deb | wc -l) packages in .devdeps ($(du -sh . | cut -f1))"
