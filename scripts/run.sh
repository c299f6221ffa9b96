#!/usr/bin/env bash
# The main job: installs what is missing, builds, then runs the pipeline: the schedule figures of
# Chen (2023) and schedule tables, the noised-resolution figure, the training of the default
# preset (configs/fmnist32.toml) with its sample grids, a labelled sample grid per class, and the
# model's FID, Inception Score, KID, precision/recall, class accuracy and grey-background share with
# the Fashion-MNIST feature classifier (trained once and cached). Results go to out/ (or $NOISESCHED_OUT); the extractor and reference
# statistics to $NOISESCHED_CACHE (default out/cache).
# Running it again rebuilds what changed, redraws the figures and continues (or, when complete,
# keeps) the training run instead of starting over.
#
# Before the long part it measures this machine (a few training steps and network evaluations,
# about 20 s) and prints how long the job will take here. On a slow machine, shorten it with
#   NOISESCHED_TRAIN_STEPS=N   training steps (default 1900; another value trains its own run
#                              folder, out/fmnist32_<N>steps, since the learning-rate schedule
#                              depends on it)
#   NOISESCHED_EVAL_NUM=N      images the final evaluation samples (default 2000; FID from fewer
#                              images is biased upwards: compare FIDs only at the same N)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target noisesched

out=${NOISESCHED_OUT:-out}
ns=${NOISESCHED_BUILD_DIR:-build}/noisesched
steps=${NOISESCHED_TRAIN_STEPS:-1900}
eval_num=${NOISESCHED_EVAL_NUM:-2000}
eval_recipe="dpmpp_2m steps=50 guidance=1"
for value in "$steps" "$eval_num"; do
  if ! [[ $value =~ ^[1-9][0-9]*$ ]]; then
    echo "run.sh: NOISESCHED_TRAIN_STEPS and NOISESCHED_EVAL_NUM must be positive whole numbers (got '$value')" >&2
    exit 2
  fi
done
run_dir="$out/fmnist32"
train_args=(--set train.out_dir="$run_dir")
if [ "$steps" != 1900 ]; then
  run_dir="$out/fmnist32_${steps}steps"
  train_args=(--set train.out_dir="$run_dir" --set train.steps="$steps"
    --set train.sample_every=$(((steps + 1) / 2)))
fi
export NOISESCHED_CACHE=${NOISESCHED_CACHE:-$out/cache}
extractor="$NOISESCHED_CACHE/extractors/fashion_mnist_cnn.safetensors"
mkdir -p "$out/figures" "$out/schedules"

# The expected time on this machine, from a few steps measured now (the times in the README are
# from one machine; the same step takes three times as long on another of the same kind).
json_number() { grep -o "\"$1\": *[0-9.eE+-]*" | head -1 | sed 's/.*: *//'; }
echo "== expected time on this machine"
done_steps=0
if [ -f "$run_dir/checkpoints/latest" ]; then
  done_steps=$(sed 's/^step_0*//' "$run_dir/checkpoints/latest")
  done_steps=${done_steps:-0}
fi
bench_train=$("$ns" bench train --config configs/fmnist32.toml --steps 5 --warmup 1 --json)
bench_eval=$("$ns" bench sample --config configs/fmnist32.toml --batch 64 --warmup 1 \
  --recipe "dpmpp_2m steps=3 guidance=1" --json)
step_s=$(json_number step_seconds <<<"$bench_train")
image_eval_s=$(json_number images_per_s_per_evaluation <<<"$bench_eval")
cpu=$(grep -o '"cpu": *"[^"]*"' <<<"$bench_train" | sed 's/.*: *"//; s/"$//')
awk -v steps="$steps" -v done="$done_steps" -v step_s="$step_s" -v ips="$image_eval_s" \
  -v num="$eval_num" -v have_extractor="$([ -f "$extractor" ] && echo 1 || echo 0)" -v cpu="$cpu" '
  function minutes(s) { return s < 60 ? sprintf("%.0f s", s) : sprintf("%.1f min", s / 60) }
  BEGIN {
    left = steps > done ? steps - done : 0
    train = left * step_s
    evaluation = num * 50 / ips
    # The classifier trained in 150 s on the machine whose training step took 0.38 s (README).
    classifier = have_extractor ? 0 : 150 * step_s / 0.38
    other = 60
    printf "  machine      %s\n", cpu
    printf "  measured     %.3f s per training step (batch 64), %.0f images/s per network evaluation (batch 64, guidance)\n", step_s, ips
    if (left > 0) printf "  training     %s (%d of %d steps left)\n", minutes(train), left, steps
    else printf "  training     done (%d steps; kept)\n", steps
    if (!have_extractor) printf "  classifier   about %s, once (then cached)\n", minutes(classifier)
    printf "  evaluation   %s (%d images x 50 steps)\n", minutes(evaluation), num
    printf "  figures, sampling and set-up: about 1 min\n"
    printf "  total        about %s\n", minutes(train + evaluation + classifier + other)
    if (train + evaluation > 1800)
      printf "  (shorter: NOISESCHED_TRAIN_STEPS=950 NOISESCHED_EVAL_NUM=1000 scripts/run.sh; see the README)\n"
  }'

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

echo "== training the default preset (configs/fmnist32.toml, $steps steps; expected time above)"
resume=()
if [ -f "$run_dir/checkpoints/latest" ]; then resume=(--resume); fi
"$ns" train --config configs/fmnist32.toml "${train_args[@]}" "${resume[@]}"

echo "== sampling the trained model: 8 images per class, DDPM with 100 cosine steps"
"$ns" sample --checkpoint "$run_dir" --out "$out/fmnist32_samples" --force

echo "== evaluation: the Fashion-MNIST feature classifier (once; then cached)"
if [ -f "$extractor" ]; then
  echo "using $extractor"
else
  "$ns" featurizer train --min-accuracy 0.9
fi

# Guidance 1: measured on this model to lift class accuracy to the classifier's own at no cost in
# FID (docs/training.md, "Quality per CPU-minute").
echo "== FID and class accuracy of the trained model: $eval_num samples (classes in turn), DPM-Solver++(2M), 50 steps, guidance 1"
"$ns" eval --checkpoint "$run_dir" --num "$eval_num" --recipe "$eval_recipe" \
  --metrics fid,is,kid,pr,cacc,bg --json "$out/fmnist32_eval.json"

echo
echo "done:"
echo "  figures          $out/figures/"
echo "  schedule tables  $out/schedules/"
echo "  training run     $run_dir/ (samples/*.png, metrics.jsonl, checkpoints/)"
echo "  run report       $run_dir/report.html (open it in a browser)"
echo "  samples          $out/fmnist32_samples/grid.png (one labelled row per class)"
echo "  evaluation       $out/fmnist32_eval.json (FID above; extractor in $NOISESCHED_CACHE)"
