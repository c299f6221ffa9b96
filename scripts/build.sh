#!/usr/bin/env bash
# Configures and builds noisesched (Release, Ninja) into build/ or $NOISESCHED_BUILD_DIR.
# Incremental: a second run rebuilds only what changed.
# Usage: scripts/build.sh [--torch-from-python] [--target NAME] [extra CMake arguments]
#   --torch-from-python   build against the LibTorch of the PyTorch that `python3` imports
#                         (GPU machines); the default is Debian's libtorch-dev.
#   --target NAME         build only that target (repeatable; scripts/run.sh builds just
#                         `noisesched`)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${NOISESCHED_BUILD_DIR:-build}
args=()
target=()
while [ $# -gt 0 ]; do
  case "$1" in
    --torch-from-python) args+=(-DNOISESCHED_TORCH_FROM_PYTHON=ON) ;;
    --target) target+=("$2"); shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${args[@]}" >/dev/null
if [ ${#target[@]} -gt 0 ]; then target=(--target "${target[@]}"); fi
cmake --build "$build_dir" -j "$(nproc)" "${target[@]}"
