#!/usr/bin/env bash
# How the run report scales with the length of a run: writes a synthetic run folder with N logged
# steps (default 100000: every step logged, with loss by logSNR band, and an evaluation every 1000
# steps), then times `noisesched report` on it and the report's opening in headless Chromium up to
# the last chart drawn (figures.js records it in the page; --dump-dom reads it back).
# Usage: scripts/report-scale.sh [N [BUILD_DIR]]. Prints one line per figure measured.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
ns=${2:-${NOISESCHED_BUILD_DIR:-build}}/noisesched
work=$(mktemp -d "${TMPDIR:-/tmp}/noisesched-report-scale-XXXXXX")
trap 'rm -rf "$work"' EXIT
run="$work/run"
mkdir -p "$run"
sed -e "s/^steps = .*/steps = $n/" configs/fmnist32.toml >"$run/config.toml"
awk -v n="$n" 'BEGIN {
  srand(1)
  split("[-inf,-10) [-10,-6) [-6,-3) [-3,0) [0,3) [3,6) [6,10) [10,inf)", band, " ")
  for (step = 1; step <= n; ++step) {
    loss = 0.05 + 0.5 / sqrt(step) * (1 + 0.1 * rand())
    line = sprintf("{\"step\":%d,\"epoch\":%.6g,\"loss\":%.17g,\"loss_by_logsnr\":{", step, step * 64 / 60000, loss)
    for (i = 1; i <= 8; ++i) line = line sprintf("%s\"%s\":%.17g", i > 1 ? "," : "", band[i], loss * (0.2 + 0.3 * i) * (1 + 0.2 * rand()))
    lr = step < 200 ? 1e-3 * step / 200 : 1e-3
    printf "%s},\"lr\":%.17g,\"grad_norm\":%.17g,\"images_per_s\":%.17g,\"elapsed_s\":%.17g,\"train_s\":%.17g}\n", line, lr, 0.3 + 0.1 * rand(), 170 + 5 * rand(), 0.38 * step, 0.37 * step
    if (step % 1000 == 0) printf "{\"step\":%d,\"train_s\":%.17g,\"eval\":{\"num_images\":1000,\"fid\":%.17g,\"cacc\":{\"accuracy\":%.4f},\"recipe\":\"ddim steps=50\"}}\n", step, 0.37 * step, 300 / log(step), 0.8
  }
}' >"$run/metrics.jsonl"
echo "run: $n logged steps, metrics.jsonl $(du -h "$run/metrics.jsonl" | cut -f1)"

start=$(date +%s.%N)
"$ns" report "$run" >/dev/null
end=$(date +%s.%N)
echo "noisesched report: $(echo "$end - $start" | bc) s, report.html $(du -h "$run/report.html" | cut -f1)"

for attempt in 1 2 3; do
  start=$(date +%s.%N)
  dom=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" \
    --window-size=1200,2000 --dump-dom "file://$run/report.html" 2>/dev/null)
  end=$(date +%s.%N)
  charts=$(grep -o 'data-ns-charts="[0-9]*"' <<<"$dom" | grep -o '[0-9]*' || echo 0)
  drawn=$(grep -o 'data-ns-drawn-ms="[0-9]*"' <<<"$dom" | grep -o '[0-9]*' || echo "?")
  echo "chromium (try $attempt): $charts charts drawn ${drawn} ms after the page started loading;" \
    "whole browser run $(echo "$end - $start" | bc) s"
done
