"""noisesched against plain PyTorch eager on the identical models, side by side in one run.

For each model: the C++ training step (`noisesched bench train`), the same step in PyTorch
(models.train_step), the C++ sampler's network evaluations (`noisesched bench sample`, DDIM,
no-grad) and the same in PyTorch (models.sample_ddim); the same threads and batch for both, one
after the other on the same machine. Prints a table with the ratios (C++ / PyTorch) and, with
--json FILE, writes every figure.

Usage (scripts/bench-compare.sh runs this with Debian's /usr/bin/python3):
  compare.py --binary build/noisesched [--threads N] [--models unet,rin,rin_paper]
             [--steps 5] [--warmup 2] [--sample-steps 50] [--sample-batch 100] [--json FILE]
  compare.py --counts   (each model's parameter count, for the test against the C++ models)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models as M  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# The three models of the comparison: the default preset (U-Net), the RIN preset, and the RIN of
# the paper's shape (patch 2: 256 tokens x 128, 64 latents x 256, 3 blocks x 2 layers).
MODELS = {
    "unet": ("configs/fmnist32.toml", []),
    "rin": ("configs/fmnist32_rin.toml", []),
    "rin_paper": ("configs/fmnist32_rin.toml", [
        "rin.patch_size=2", "rin.latents=64", "rin.latent_dim=256", "rin.interface_dim=128",
        "rin.heads=8", "rin.cross_heads=4", "rin.blocks=3", "train.batch_size=128"]),
}


def run_json(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def cpp_train(binary, threads, path, overrides, steps, warmup):
    sets = [arg for o in overrides for arg in ("--set", o)]
    return run_json([binary, "--threads", str(threads), "bench", "train", "--config", path, *sets,
                     "--steps", str(steps), "--warmup", str(warmup), "--sgemm-size", "256",
                     "--json"])


def cpp_sample(binary, threads, path, overrides, batch, sample_steps):
    sets = [arg for o in overrides for arg in ("--set", o)]
    return run_json([binary, "--threads", str(threads), "bench", "sample", "--config", path,
                     *sets, "--batch", str(batch), "--recipe", f"ddim steps={sample_steps}",
                     "--json"])


def python_train(config, steps, warmup):
    """Median seconds of one training step, as `bench train` measures it."""
    torch.manual_seed(0)
    model = M.build_model(config)
    ema = M.make_ema(model)
    optimizer = M.Optimizer.from_config(model, config)
    batch = config["train"]["batch_size"]
    generator = torch.Generator().manual_seed(1)
    seconds = []
    for step in range(warmup + steps):
        images = torch.randint(0, 256, (batch, model.channels, model.resolution, model.resolution),
                               generator=generator, dtype=torch.uint8)
        labels = torch.randint(0, model.num_classes, (batch,), generator=generator)
        start = time.perf_counter()
        M.train_step(model, ema, optimizer, images, labels, step, config, generator=generator)
        if step >= warmup:
            seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), M.parameter_count(model)


def python_sample(config, batch, sample_steps):
    """Seconds of one DDIM sampling run of `sample_steps` network evaluations (after 2 warm-up
    evaluations, as `bench sample` does)."""
    torch.manual_seed(0)
    model = M.build_model(config)
    model.eval()
    labels = [i % model.num_classes for i in range(batch)]
    M.sample_ddim(model, labels, steps=2, config=config)
    start = time.perf_counter()
    M.sample_ddim(model, labels, steps=sample_steps, config=config)
    return time.perf_counter() - start


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "noisesched"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--sample-steps", type=int, default=50)
    parser.add_argument("--sample-batch", type=int, default=100)
    parser.add_argument("--json", default="")
    parser.add_argument("--counts", action="store_true",
                        help="print each model's configuration and parameter count as JSON "
                             "(the test compares them with the C++ models); time nothing")
    args = parser.parse_args(argv[1:])
    torch.set_num_threads(args.threads)
    if args.counts:
        counts = {}
        for name, (path, overrides) in MODELS.items():
            model = M.build_model(M.load_config(os.path.join(ROOT, path), overrides))
            counts[name] = {"config": path, "overrides": overrides,
                            "parameters": M.parameter_count(model)}
        print(json.dumps(counts))
        return 0
    names = [n for n in args.models.split(",") if n]
    for name in names:
        if name not in MODELS:
            parser.error(f"unknown model '{name}'; valid: {', '.join(MODELS)}")

    results = []
    for name in names:
        path, overrides = MODELS[name]
        config = M.load_config(os.path.join(ROOT, path), overrides)
        batch = config["train"]["batch_size"]
        train_cpp = cpp_train(args.binary, args.threads, os.path.join(ROOT, path), overrides,
                              args.steps, args.warmup)
        train_py, parameters = python_train(config, args.steps, args.warmup)
        sample_cpp = cpp_sample(args.binary, args.threads, os.path.join(ROOT, path), overrides,
                                args.sample_batch, args.sample_steps)
        sample_py = python_sample(config, args.sample_batch, args.sample_steps)
        row = {
            "model": name, "config": path, "overrides": overrides, "parameters": parameters,
            "cpp_model": train_cpp["model"], "threads": args.threads, "batch": batch,
            "train_cpp_images_per_s": train_cpp["images_per_s"],
            "train_py_images_per_s": batch / train_py,
            "sample_batch": args.sample_batch, "sample_steps": args.sample_steps,
            "sample_cpp_images_per_s": sample_cpp["images_per_s_per_evaluation"],
            "sample_py_images_per_s": args.sample_batch * args.sample_steps / sample_py,
        }
        row["train_ratio"] = row["train_cpp_images_per_s"] / row["train_py_images_per_s"]
        row["sample_ratio"] = row["sample_cpp_images_per_s"] / row["sample_py_images_per_s"]
        results.append(row)
        print(f"{name}: {train_cpp['model']}", flush=True)
        print(f"  train  (batch {batch}): noisesched {row['train_cpp_images_per_s']:.1f} images/s, "
              f"PyTorch eager {row['train_py_images_per_s']:.1f} images/s, "
              f"ratio {row['train_ratio']:.2f}", flush=True)
        print(f"  sample (batch {args.sample_batch}, DDIM {args.sample_steps} steps, no-grad): "
              f"noisesched {row['sample_cpp_images_per_s']:.1f}, PyTorch eager "
              f"{row['sample_py_images_per_s']:.1f} images/s per network evaluation, "
              f"ratio {row['sample_ratio']:.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"threads": args.threads, "torch": torch.__version__, "results": results},
                      out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
