#!/usr/bin/env bash
# Configures and builds noisesched (Release, Ninja) into build/ or $NOISESCHED_BUILD_DIR.
# Incremental: a second run rebuilds only what changed.
# Usage: scripts/build.sh [--torch-from-python] [extra CMake arguments]
#   --torch-from-python   build against the LibTorch of the PyTorch that `python3` imports
#                         (GPU machines); the default is Debian's libtorch-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${NOISESCHED_BUILD_DIR:-build}
args=()
for arg in "$@"; do
  case "$arg" in
    --torch-from-python) args+=(-DNOISESCHED_TORCH_FROM_PYTHON=ON) ;;
    *) args+=("$arg") ;;
  esac
done
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${args[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
