#!/usr/bin/env bash
# The test command: installs what is missing, builds, checks formatting, runs the test suite
# (every test but those labelled slow or gpu). CI (.ci/run) calls exactly this.
# Usage: scripts/test.sh [--sanitize [--unit]] [extra ctest arguments, e.g. -L unit or -R Schedule]
#   --sanitize  build with AddressSanitizer and UndefinedBehaviorSanitizer into build-sanitize/
#               (or $NOISESCHED_BUILD_DIR) and run the suite there; any report fails the test
#   --unit      with --sanitize: build and run only the torch-free unit suites (a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0 unit=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) sanitize=1 ;;
    --unit) unit=1 ;;
    *) break ;;
  esac
  shift
done
scripts/install-deps.sh
if [ $sanitize -eq 1 ]; then
  export NOISESCHED_BUILD_DIR=${NOISESCHED_BUILD_DIR:-build-sanitize}
  # Leak checking stays off: LibTorch (not instrumented) keeps allocations for the process's
  # life. Every ASan or UBSan report aborts the test that caused it.
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  build_args=(-DNOISESCHED_SANITIZE=ON -DNOISESCHED_BUILD_BENCHMARKS=OFF)
  if [ $unit -eq 1 ]; then
    scripts/build.sh --target unit_tests "${build_args[@]}"
    exec ctest --test-dir "$NOISESCHED_BUILD_DIR" -L unit -j "$(nproc)" --output-on-failure "$@"
  fi
  scripts/build.sh "${build_args[@]}"
  exec ctest --test-dir "$NOISESCHED_BUILD_DIR" -LE 'slow|gpu' -j "$(nproc)" --output-on-failure "$@"
fi
[ $unit -eq 0 ] || { echo "test.sh: --unit goes with --sanitize" >&2; exit 2; }
scripts/build.sh
scripts/check-format.sh
ctest --test-dir "${NOISESCHED_BUILD_DIR:-build}" -LE 'slow|gpu' -j "$(nproc)" --output-on-failure "$@"
