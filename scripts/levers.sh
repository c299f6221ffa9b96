#!/usr/bin/env bash
# The time-to-FID measurements of docs/training.md ("Quality per CPU-minute"): trains each
# variant below for about 12 minutes of training on this machine, with evaluation during
# training every EVERY seconds of training time (FID, class accuracy and grey-background share
# of 500 class-conditional samples, DPM-Solver++(2M) 25 steps, fixed seed), then draws every
# run's curves on one figure and prints the table. Stops and continues where it left off: a
# finished run is kept, an interrupted one resumes from its last checkpoint.
# Usage: scripts/levers.sh [VARIANT...]   (default: all, in the order below; the figure and table
#        always show every variant measured so far; unet_v_60min is the 60-minute preset)
# Results: $NOISESCHED_OUT/levers/<variant>/ (default out/levers), docs/figures/time_to_fid.png.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${NOISESCHED_OUT:-out}
ns=${NOISESCHED_BUILD_DIR:-build}/noisesched
export NOISESCHED_CACHE=${NOISESCHED_CACHE:-$out/cache}
every=${EVERY:-180}
runs="$out/levers"
mkdir -p "$runs"

# name | config | overrides (steps sized for ~12 training minutes, from `bench train`)
variants() {
  cat <<'LIST'
unet_v_nosc|configs/fmnist32_unet.toml|diffusion.target=v diffusion.self_cond_rate=0 train.steps=1950
unet_eps_nosc|configs/fmnist32_unet.toml|diffusion.self_cond_rate=0 train.steps=1950
unet_v_sc|configs/fmnist32_unet.toml|diffusion.target=v train.steps=1450
rin_v_sc|configs/fmnist32_rin.toml|diffusion.target=v train.steps=2300
unet_v_nosc_lr2e-3|configs/fmnist32_unet.toml|diffusion.target=v diffusion.self_cond_rate=0 optim.lr=2e-3 train.steps=1950
unet_eps_sc|configs/fmnist32_unet.toml|train.steps=1450
rin_eps_sc|configs/fmnist32_rin.toml|train.steps=2300
unet_v_minsnr5|configs/fmnist32.toml|diffusion.loss_weight=min_snr@5 train.steps=1950
unet_v_batch32|configs/fmnist32.toml|train.batch_size=32 train.steps=3850
unet_v_mult124|configs/fmnist32.toml|unet.channel_mult=1,2,4 train.steps=1350
unet_v_cosine|configs/fmnist32.toml|diffusion.schedule=cosine train.steps=1950
unet_v_rb2|configs/fmnist32.toml|unet.res_blocks=2 train.steps=1300
unet_v_60min|configs/fmnist32_long.toml|eval.every_seconds=600
LIST
}

extractor="$NOISESCHED_CACHE/extractors/fashion_mnist_cnn.safetensors"
[ -f "$extractor" ] || "$ns" featurizer train --min-accuracy 0.9

selected=("$@")
while IFS='|' read -r name config overrides; do
  if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " == *" $name "* ]]; then continue; fi
  dir="$runs/$name"
  sets=(--set train.out_dir="$dir" --set eval.every_seconds="$every" --set eval.num=500
        --set eval.metrics=fid,cacc,bg --set "eval.recipe=dpmpp_2m steps=25"
        --set train.sample_every=0 --set train.checkpoint_every=200)
  for o in $overrides; do sets+=(--set "$o"); done
  resume=()
  [ -f "$dir/checkpoints/latest" ] && resume=(--resume)
  echo "== $name: $config $overrides"
  "$ns" train --config "$config" "${sets[@]}" "${resume[@]}"
done < <(variants)

# The figure and the table hold every variant measured so far, in the order above.
done_runs=()
while IFS='|' read -r name _; do
  [ -f "$runs/$name/metrics.jsonl" ] && done_runs+=("$runs/$name")
done < <(variants)

"$ns" plot "${done_runs[@]}" --metric fid --metric cacc --metric bg \
  --title "time to quality on 2 cores: 500 samples, DPM-Solver++(2M) 25 steps" \
  --out docs/figures/time_to_fid.png
# STEP_COSTS="name=seconds ...": step costs measured alone for runs that shared the machine.
# shellcheck disable=SC2086
/usr/bin/python3 scripts/levers_table.py "${done_runs[@]}" ${STEP_COSTS:-}
