#!/usr/bin/env bash
# The image-folder pipeline's speed: synthetic class folders of JPEG and PNG images for 64 and
# 256 pixel training (sources 1.25 times wider than tall, so every image is cropped and resized),
# decoded by the batch loader with 1..N workers (`noisesched bench data`), beside the training
# consumption of the matching preset (configs/imagenet64.toml and imagenet256.toml) on this
# machine (`noisesched bench train`, a small batch).
# Usage: scripts/bench-data.sh [WORKERS...]   (default: 1 2 ... cores)
# The folders go to out/bench-data/ (kept for reruns). Run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >/dev/null
scripts/build.sh --target noisesched >/dev/null
workers=("$@")
if [ ${#workers[@]} -eq 0 ]; then workers=($(seq 1 "$(nproc)")); fi
root=out/bench-data
/usr/bin/python3 - "$root" <<'PY'
import os, sys, random
from PIL import Image, ImageFilter
root = sys.argv[1]
random.seed(0)
for res in (64, 256):
    for fmt in ("jpg", "png"):
        folder = os.path.join(root, f"{fmt}{res}")
        if os.path.isdir(folder):
            continue
        for c in range(10):
            os.makedirs(os.path.join(folder, f"class{c}"), exist_ok=True)
            for i in range(40):
                w, h = res * 5 // 4, res
                # Smooth colour fields with texture: photo-like file sizes for both formats.
                small = Image.new("RGB", (8, 8))
                small.putdata([tuple(random.randrange(256) for _ in range(3)) for _ in range(64)])
                image = small.resize((w, h), Image.BICUBIC)
                noise = Image.effect_noise((w, h), 40).convert("RGB")
                image = Image.blend(image, noise, 0.25).filter(ImageFilter.SMOOTH)
                path = os.path.join(folder, f"class{c}", f"{i:03d}.{fmt}")
                image.save(path, quality=90) if fmt == "jpg" else image.save(path)
PY
for res in 64 256; do
  for fmt in jpg png; do
    echo "== ${fmt^^} at ${res} px: $(du -sh "$root/$fmt$res" | cut -f1) for 400 images"
    "${NOISESCHED_BUILD_DIR:-build}"/noisesched bench data --config "configs/imagenet$res.toml" \
      --set data.path="$root/$fmt$res" --set train.batch_size=64 --batches $((res == 64 ? 200 : 40)) \
      --workers "${workers[@]}" | tail -n +3
  done
  echo "== training consumption of configs/imagenet$res.toml here (batch 8)"
  "${NOISESCHED_BUILD_DIR:-build}"/noisesched bench train --config "configs/imagenet$res.toml" \
    --set data.path="$root/jpg$res" --set train.batch_size=8 --device cpu --steps 2 --warmup 1 \
    --sgemm-size 256 |
    grep -E 'throughput|^RIN|^U-Net'
done
