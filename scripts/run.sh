#!/usr/bin/env bash
# The main job: installs what is missing, builds, then runs the pipeline: the schedule figures of
# Chen (2023) and schedule tables, the noised-resolution figure, the training of the default
# preset (configs/fmnist32.toml) with its sample grids, a labelled sample grid per class, and the
# model's FID, Inception Score, KID, precision/recall, class accuracy and grey-background share with
# the Fashion-MNIST feature classifier (trained once and cached). Results go to out/ (or $NOISESCHED_OUT); the extractor and reference
# statistics to $NOISESCHED_CACHE (default out/cache).
# Running it again rebuilds what changed, redraws the figures and continues (or, when complete,
# keeps) the training run instead of starting over.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target noisesched

out=${NOISESCHED_OUT:-out}
ns=${NOISESCHED_BUILD_DIR:-build}/noisesched
mkdir -p "$out/figures" "$out/schedules"

echo "== schedule figures"
# Schedule functions with different start, end and tau (the paper's Algorithm 1 families).
"$ns" schedule cosine@0,1,1 cosine@0.2,1,1 cosine@0.2,1,2 cosine@0.2,1,3 \
  --title "cosine schedules: start, end, tau" --plot "$out/figures/cosine_schedules.png"
"$ns" schedule sigmoid@0,3,0.3 sigmoid@0,3,0.5 sigmoid@0,3,0.7 sigmoid@-3,3,0.9 sigmoid@-3,3,1.1 \
  --title "sigmoid schedules: start, end, tau" --plot "$out/figures/sigmoid_schedules.png"
# Input scaling b shifts logSNR by 2 ln b without changing the curve's shape.
"$ns" schedule cosine --scale 1 --scale 0.7 --scale 0.5 --scale 0.3 \
  --title "input scaling b on the cosine schedule" --plot "$out/figures/input_scaling.png"
# The compound recipe: one fixed gamma(t) = 1 - t with b = 64 / resolution (64, 128, 256 pixels).
"$ns" schedule simple_linear --scale 1 --scale 0.5 --scale 0.25 \
  --title "simple_linear with b = 64 / resolution for 64, 128, 256 pixels" \
  --plot "$out/figures/resolution_rule.png"
# Every family side by side at its defaults.
"$ns" schedule simple_linear cosine sigmoid@-3,3,0.9 shifted_cosine@64,128 ddpm_linear karras \
  --title "schedule families" --plot "$out/figures/schedule_families.png"

echo "== schedule tables (CSV: t,gamma,logsnr at 101 points)"
for spec in simple_linear cosine sigmoid@-3,3,0.9 shifted_cosine@64,128 ddpm_linear karras; do
  name=${spec//[@:,=]/_}
  "$ns" schedule "$spec" --points 101 --csv >"$out/schedules/$name.csv.tmp"
  mv "$out/schedules/$name.csv.tmp" "$out/schedules/$name.csv"
  echo "wrote $out/schedules/$name.csv"
done

echo "== why larger images need more noise"
"$ns" noised-strip --out "$out/figures/noised_strip.png"

echo "== training the default preset (configs/fmnist32.toml, about 13 minutes on 2 cores)"
run_dir="$out/fmnist32"
resume=()
if [ -f "$run_dir/checkpoints/latest" ]; then resume=(--resume); fi
"$ns" train --config configs/fmnist32.toml --set train.out_dir="$run_dir" "${resume[@]}"

echo "== sampling the trained model: 8 images per class, DDPM with 100 cosine steps"
"$ns" sample --checkpoint "$run_dir" --out "$out/fmnist32_samples" --force

echo "== evaluation: the Fashion-MNIST feature classifier (about 3 minutes, once; then cached)"
export NOISESCHED_CACHE=${NOISESCHED_CACHE:-$out/cache}
extractor="$NOISESCHED_CACHE/extractors/fashion_mnist_cnn.safetensors"
if [ -f "$extractor" ]; then
  echo "using $extractor"
else
  "$ns" featurizer train --min-accuracy 0.9
fi

# Guidance 1: measured on this model to lift class accuracy to the classifier's own at no cost in
# FID (docs/training.md, "Quality per CPU-minute").
echo "== FID and class accuracy of the trained model: 2000 samples (classes in turn), DPM-Solver++(2M), 50 steps, guidance 1"
"$ns" eval --checkpoint "$run_dir" --num 2000 --recipe "dpmpp_2m steps=50 guidance=1" \
  --metrics fid,is,kid,pr,cacc,bg --json "$out/fmnist32_eval.json"

echo
echo "done:"
echo "  figures          $out/figures/"
echo "  schedule tables  $out/schedules/"
echo "  training run     $run_dir/ (samples/*.png, metrics.jsonl, checkpoints/)"
echo "  run report       $run_dir/report.html (open it in a browser)"
echo "  samples          $out/fmnist32_samples/grid.png (one labelled row per class)"
echo "  evaluation       $out/fmnist32_eval.json (FID above; extractor in $NOISESCHED_CACHE)"
