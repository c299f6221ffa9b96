#!/usr/bin/env bash
# scripts/device-check.sh runs what matters first: the build, the runtime and errors stages, the
# gpu tests, the benchmarks, and the tensor suite last; and it writes its summary and archive
# however it ends (a function trapped on EXIT). Reads the stage lines (`stage "..."` and the
# budgeted `later "..."`) in the order the script runs them and fails naming any stage that is
# missing or out of place.
set -euo pipefail
script=${1:?usage: $0 scripts/device-check.sh}
stages=$(sed -n 's/^[[:space:]]*\(if \)\{0,1\}\(stage\|later\) "\([^"$]*\).*/\3/p' "$script" |
  grep -v -x -e summary -e "" -e "done in ")
expected=("build" "runtime" "errors" "gpu tests" "bench train" "bench sample" "PyTorch eager"
  "bench data" "bench train --profile" "tensor suite")
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
# The summary: in the function that the EXIT trap runs.
body=$(sed -n '/^finish() {/,/^}/p' "$script")
if ! grep -q 'stage "summary"' <<<"$body" || ! grep -q '^trap finish EXIT' "$script"; then
  echo "device-check.sh does not write its summary from a finish() trapped on EXIT"; exit 1
fi
echo "device-check.sh stages in order: $(printf '%s\n' "$stages" | tr '\n' '|')"
