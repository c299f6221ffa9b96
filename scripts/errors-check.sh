#!/usr/bin/env bash
# The error paths of a noisesched program, as a user meets them: each command below must fail
# with exit status 1 (a bad value) or 2 (a malformed command line) and say why in an `error:` line,
# never die by a signal. The first GPU build died with SIGSEGV on every such path that removed a
# temporary folder (docs/reliability.md, "One C++ runtime"); this is the check that it cannot
# again. Prints one line per command; exits 1 when any misbehaves.
# Usage: scripts/errors-check.sh PROGRAM
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: $0 PROGRAM" >&2; exit 2; }
bin=$1
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0

# expect STATUSES NAME COMMAND...: STATUSES is a list such as "1" or "1 2".
expect() {
  local statuses=$1 name=$2
  shift 2
  "$@" >"$scratch/out" 2>&1
  local status=$?
  local line
  line=$(grep -m1 -E '^(error|warning):' "$scratch/out")
  if [ "$status" -gt 128 ]; then
    echo "!! $name: killed by signal $((status - 128)) ($(kill -l $((status - 128)) 2>/dev/null))"
    tail -3 "$scratch/out" | sed 's/^/     /'
    failures=$((failures + 1))
  elif [[ " $statuses " != *" $status "* ]] || [ -z "$line" ]; then
    echo "!! $name: exit $status (expected ${statuses// / or } with an error: line)"
    tail -3 "$scratch/out" | sed 's/^/     /'
    failures=$((failures + 1))
  else
    echo "ok $name: exit $status, ${line:0:150}"
  fi
}

expect "1" "missing config" "$bin" train --config "$scratch/none.toml"
expect "1" "bad --set key" "$bin" train --config "$root/configs/fmnist32.toml" \
  --set train.no_such_key=1
expect "1" "bad --set value" "$bin" train --config "$root/configs/fmnist32.toml" \
  --set diffusion.schedule=nonsense
expect "1" "missing checkpoint" "$bin" sample --checkpoint "$scratch/no-run" --num 1
expect "1" "missing run folder" "$bin" report "$scratch/no-run"
expect "1" "missing images" "$bin" eval --images "$scratch/no-images" --metrics fid
expect "2" "unknown command" "$bin" no-such-command
expect "2" "unknown option" "$bin" schedule simple_linear --no-such-option
# A figure with no usable Python: the renderer's scratch folder is removed on the way out.
expect "1" "figure without Python" env NOISESCHED_PYTHON="$scratch/no-python" \
  "$bin" schedule simple_linear --plot "$scratch/figure.png"
printf '#!/bin/sh\necho "No module named matplotlib" >&2\nexit 3\n' >"$scratch/python"
chmod +x "$scratch/python"
expect "1" "figure, Python without matplotlib" env NOISESCHED_PYTHON="$scratch/python" \
  "$bin" schedule simple_linear --plot "$scratch/figure.png"

if [ "$failures" -gt 0 ]; then
  echo "errors-check: $failures command(s) misbehaved"
  exit 1
fi
echo "errors-check: every command failed cleanly"
