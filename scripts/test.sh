#!/usr/bin/env bash
# The test command: installs what is missing, builds, checks formatting, runs the test suite
# (every test but those labelled slow or gpu). CI (.ci/run) calls exactly this.
# Usage: scripts/test.sh [extra ctest arguments, e.g. -L unit or -R Schedule]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
scripts/check-format.sh
ctest --test-dir "${NOISESCHED_BUILD_DIR:-build}" -LE 'slow|gpu' -j "$(nproc)" --output-on-failure "$@"
