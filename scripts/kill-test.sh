#!/usr/bin/env bash
# The long form of the crash test: a training run killed with SIGKILL N times (default 100) at
# random moments, half of them aimed inside checkpoint saves; after each kill `latest` must name a
# complete checkpoint, and a final --resume must go on from it. The suite runs 6 kills.
# Usage: scripts/kill-test.sh [N]   (builds first; prints the figures docs/reliability.md quotes)
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-100}
scripts/build.sh --target kill_test >/dev/null
NOISESCHED_KILLS=$kills "${NOISESCHED_BUILD_DIR:-build}/tests/kill_test"
