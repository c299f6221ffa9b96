#!/usr/bin/env bash
# Builds and runs one libFuzzer target (or all of them, one after the other) with AddressSanitizer
# and UndefinedBehaviorSanitizer, seeded from fuzz/corpus/<target>/ (see fuzz/targets.h).
# Usage: scripts/fuzz.sh TARGET|all SECONDS [extra libFuzzer options, e.g. -jobs=2 -workers=2]
#   TARGET: idx image safetensors config schedule state
# Builds into build-fuzz/ (clang, no LibTorch). New interesting inputs go to
# build-fuzz/corpus/<target>/ (the repository's corpus keeps only seeds and regressions), crashes
# to build-fuzz/artifacts/<target>/. Each run appends its figures to fuzz/runs.tsv: date, target,
# seconds, executions, executions per second, corpus size, outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(idx image safetensors config schedule state)
if [ $# -lt 2 ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
what=$1 seconds=$2
shift 2
if [ "$what" = all ]; then
  for t in "${targets[@]}"; do "$0" "$t" "$seconds" "$@"; done
  exit 0
fi
case " ${targets[*]} " in
  *" $what "*) ;;
  *) echo "fuzz.sh: unknown target '$what'; valid: ${targets[*]} all" >&2; exit 2 ;;
esac
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: SECONDS must be a positive integer, got '$seconds'" >&2; exit 2; }

scripts/install-deps.sh >/dev/null
build=build-fuzz
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
  -DNOISESCHED_FUZZERS=ON >/dev/null
cmake --build "$build" --target "fuzz_$what" >/dev/null

case "$what" in
  safetensors|state) dict=(-dict=fuzz/dicts/json.dict) ;;
  config) dict=(-dict=fuzz/dicts/config.dict) ;;
  schedule) dict=(-dict=fuzz/dicts/schedule.dict) ;;
  *) dict=() ;;
esac
work="$build/corpus/$what" artifacts="$build/artifacts/$what/"
mkdir -p "$work" "$artifacts"
log="$build/fuzz-$what.log"
echo "fuzz.sh: $what for ${seconds}s (log: $log)"
set +e
# Leaks are not bugs of a parser that throws (exceptions unwind); UBSan reports abort the run.
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build/fuzz_$what" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$artifacts" "${dict[@]}" "$@" "$work" "fuzz/corpus/$what" \
  >"$log" 2>&1
status=$?
set -e
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
corpus=$(find "$work" -type f | wc -l)
outcome=clean
if [ $status -ne 0 ]; then outcome="FAILED (exit $status; see $log and $artifacts)"; fi
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$what" "$seconds" \
  "${executions:-?}" "${rate:-?}" "$corpus" "$outcome" >>fuzz/runs.tsv
echo "fuzz.sh: $what: ${executions:-?} executions (${rate:-?}/s), corpus $corpus, $outcome"
[ $status -eq 0 ]
