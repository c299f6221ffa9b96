#!/usr/bin/env bash
# scripts/device-check.sh runs what matters first: the build, the runtime and errors stages, the
# gpu tests, the benchmarks, and the tensor suite last. Reads the stage lines in the order the
# script runs them and fails naming any stage that is missing or out of place.
set -euo pipefail
script=${1:?usage: $0 scripts/device-check.sh}
stages=$(sed -n 's/^[[:space:]]*stage "\([^"$]*\).*/\1/p' "$script")
expected=("build" "runtime" "errors" "gpu tests" "bench train" "bench sample" "bench data"
  "PyTorch eager" "bench train --profile" "tensor suite" "summary")
position=0
for name in "${expected[@]}"; do
  line=$(printf '%s\n' "$stages" | grep -n -m1 -F "$name" | cut -d: -f1 || true)
  if [ -z "$line" ]; then
    echo "device-check.sh has no stage '$name'; its stages:"; printf '  %s\n' "$stages"; exit 1
  fi
  if [ "$line" -le "$position" ]; then
    echo "stage '$name' (line $line of the stage list) runs before an earlier one; stages:"
    printf '  %s\n' "$stages"; exit 1
  fi
  position=$line
done
echo "device-check.sh stages in order: $(printf '%s\n' "$stages" | tr '\n' '|')"
