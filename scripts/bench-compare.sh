#!/usr/bin/env bash
# noisesched against plain PyTorch eager on the identical models (bench/reference/), side by side
# in one run: training images/s and sampling images/s per network evaluation, and the ratios.
# Usage: scripts/bench-compare.sh [options of bench/reference/compare.py]
#   --threads N (default: all cores)  --models unet,rin,rin_paper  --steps 5  --warmup 2
#   --sample-steps 50  --sample-batch 100  --json FILE
# Builds the program first if needed. Run it on an otherwise idle machine: a second busy process
# on 2 cores changes the figures several-fold.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >/dev/null
scripts/build.sh --target noisesched >/dev/null
exec /usr/bin/python3 bench/reference/compare.py --binary "${NOISESCHED_BUILD_DIR:-build}/noisesched" "$@"
