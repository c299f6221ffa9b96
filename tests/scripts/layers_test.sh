#!/usr/bin/env bash
# scripts/layers.py --check can fail: a copy of the tree with one include upwards (core/ including
# train/) and one folder cycle is refused with the file and line, and the untouched copy passes.
set -euo pipefail
script=$1
repo=$(cd "$(dirname "$script")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/scripts"
cp -r "$repo/include" "$repo/src" "$repo/python" "$repo/docs" "$work/"
cp "$script" "$work/scripts/"
python3 "$work/scripts/layers.py" --check >/dev/null
echo '#include "noisesched/train/engine.h"' >> "$work/src/core/runtime.cpp"
if out=$(python3 "$work/scripts/layers.py" --check 2>&1); then
  echo "FAIL: an include from core/ up to train/ passed the check" >&2; exit 1
fi
grep -q 'src/core/runtime.cpp:[0-9]*: core/ (LibTorch runtime) includes train/ (training), up' <<<"$out" ||
  { echo "FAIL: the upward include is not named: $out" >&2; exit 1; }
grep -q 'folder cycle: ' <<<"$out" || { echo "FAIL: the cycle is not named: $out" >&2; exit 1; }
echo "layers check: refuses an upward include and a cycle, naming them"
