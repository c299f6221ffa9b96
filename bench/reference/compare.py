"""noisesched against plain PyTorch eager on the identical models, side by side in one run.

For each model: the C++ training step (`noisesched bench train`), the same step in PyTorch
(models.train_step), the C++ sampler's network evaluations (`noisesched bench sample`, DDIM,
no-grad) and the same in PyTorch (models.sample_ddim); the same threads and batch for both, one
after the other on the same machine. Prints a table with the ratios (C++ / PyTorch) and, with
--json FILE, writes every figure.

Beside each ratio stands its ceiling: the ratio noisesched would reach if it ran every FLOP of the
model at the machine's best matrix-product rate (a 1024^3 sgemm, measured by `bench train` in the
same run); a target above the ceiling cannot be met by any implementation of the same model.

--profile adds, per model, the training step's and a sampling network evaluation's time by kind
of operation on both sides (LibTorch's RecordFunction hooks: `noisesched bench train --profile`,
`bench sample --profile`, and torch.autograd.profiler), from `--profile-steps` extra training
steps and a DDIM run of at most 10 evaluations on each side. On CUDA it adds the device's time by
kind on both sides: each kernel, copy and memset counted for the operation that launched it
(Kineto: the program's "device_ops", and torch.profiler's self device time), and the device's
idle time in the step.

Usage (scripts/bench-compare.sh runs this with Debian's /usr/bin/python3):
  compare.py --binary build/noisesched [--threads N] [--models unet,rin,rin_paper]
             [--steps 5] [--warmup 2] [--sample-steps 50] [--sample-batch 100] [--json FILE]
             [--profile [--profile-steps 2]] [--device cuda] [--precision bf16] [--compile]
             [--set section.key=value ...]
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
# Models for a GPU (scripts/device-check.sh), named with --models only: the ImageNet-64 preset
# needs --set data.path=FOLDER (class sub-folders of images) on both sides.
GPU_MODELS = {
    "imagenet64": ("configs/imagenet64.toml", []),
}


def run_json(command):
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        # The program's own `error:` line says why; without it a failure is only a status.
        sys.stderr.write(out.stderr)
        raise SystemExit(f"compare.py: {' '.join(command)} exited with status {out.returncode}")
    return json.loads(out.stdout)


def read_json(path):
    """A noisesched benchmark's JSON written beforehand (--cpp-train-json, --cpp-sample-json)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"compare.py: cannot read noisesched's results from {path}: {e}")


def cpp_train(binary, threads, path, overrides, steps, warmup, profile=False):
    sets = [arg for o in overrides for arg in ("--set", o)]
    return run_json([binary, "--threads", str(threads), "bench", "train", "--config", path, *sets,
                     "--steps", str(steps), "--warmup", str(warmup), "--sgemm-size", "1024",
                     "--json", *(["--profile"] if profile else [])])


def cpp_sample(binary, threads, path, overrides, batch, sample_steps, profile=False):
    sets = [arg for o in overrides for arg in ("--set", o)]
    return run_json([binary, "--threads", str(threads), "bench", "sample", "--config", path,
                     *sets, "--batch", str(batch), "--recipe", f"ddim steps={sample_steps}",
                     "--json", *(["--profile"] if profile else [])])


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def python_train(config, steps, warmup, compiled=False):
    """Median seconds of one training step, as `bench train` measures it (on train.device; with
    `compiled`, the network under torch.compile)."""
    device = torch.device(config["train"]["device"])
    torch.manual_seed(0)
    model = M.build_model(config).to(device)
    ema = M.make_ema(model)
    optimizer = M.Optimizer.from_config(model, config)
    network = torch.compile(model) if compiled else model
    batch = config["train"]["batch_size"]
    generator = torch.Generator().manual_seed(1)
    seconds = []
    for step in range(warmup + steps):
        images = torch.randint(0, 256, (batch, model.channels, model.resolution, model.resolution),
                               generator=generator, dtype=torch.uint8)
        labels = torch.randint(0, model.num_classes, (batch,), generator=generator)
        synchronize(device)
        start = time.perf_counter()
        M.train_step(network, ema, optimizer, images, labels, step, config, generator=generator)
        synchronize(device)
        if step >= warmup:
            seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), M.parameter_count(model)


def profiler(device):
    """A profiler of host operations, and on CUDA of the device's kernels (Kineto)."""
    if device.type == "cuda":
        return torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                                  torch.profiler.ProfilerActivity.CUDA])
    return torch.autograd.profiler.profile()


def host_events(prof):
    """The profile's host operations."""
    events = getattr(prof, "function_events", None)
    events = events if events is not None else prof.events()
    cpu = torch.autograd.DeviceType.CPU
    return [e for e in events if getattr(e, "device_type", cpu) == cpu]


def python_profile(config, steps):
    """Self seconds per training step by operation, as `bench train --profile` counts them: the
    operations inside a "noisesched::" scope count as the scope; also the profiled step time and,
    on CUDA, each operation's self device seconds per step."""
    device = torch.device(config["train"]["device"])
    torch.manual_seed(0)
    model = M.build_model(config).to(device)
    ema = M.make_ema(model)
    optimizer = M.Optimizer.from_config(model, config)
    batch = config["train"]["batch_size"]
    generator = torch.Generator().manual_seed(1)

    def inputs():
        return (torch.randint(0, 256, (batch, model.channels, model.resolution, model.resolution),
                              generator=generator, dtype=torch.uint8),
                torch.randint(0, model.num_classes, (batch,), generator=generator))

    images, labels = inputs()
    M.train_step(model, ema, optimizer, images, labels, 0, config, generator=generator)
    synchronize(device)
    with profiler(device) as prof:
        start = time.perf_counter()
        for step in range(steps):
            images, labels = inputs()
            M.train_step(model, ema, optimizer, images, labels, step + 1, config,
                         generator=generator)
        synchronize(device)
        seconds = (time.perf_counter() - start) / steps
    return seconds, ops_per_unit(prof, steps), device_ops_per_unit(prof, steps, device)


def scope_of(event):
    """The event's name, or that of the outermost "noisesched::" scope around it."""
    name, parent = event.name, event.cpu_parent
    while parent is not None:
        if parent.name.startswith("noisesched::"):
            name = parent.name
        parent = parent.cpu_parent
    return name


def ops_per_unit(prof, units):
    """{operation: self seconds per unit of work}, the operations inside a "noisesched::" scope
    counted as the scope (as OpProfile counts them)."""
    ops = {}
    for event in host_events(prof):
        name = scope_of(event)
        ops[name] = ops.get(name, 0.0) + event.self_cpu_time_total * 1e-6 / units
    return ops


def device_ops_per_unit(prof, units, device):
    """{operation: self device seconds per unit} on CUDA (the kernels each host operation
    launched, as the program's device profile counts them), else None."""
    if device.type != "cuda":
        return None
    ops = {}
    for event in host_events(prof):
        total = getattr(event, "self_device_time_total", None)
        if total is None:  # PyTorch before 2.4
            total = event.self_cuda_time_total
        seconds = total * 1e-6 / units
        if seconds > 0:
            name = scope_of(event)
            ops[name] = ops.get(name, 0.0) + seconds
    return ops


def python_sample_profile(config, batch, sample_steps):
    """Seconds per network evaluation of a profiled DDIM run, its operations' host seconds per
    evaluation and, on CUDA, their device seconds."""
    device = torch.device(config["train"]["device"])
    torch.manual_seed(0)
    model = M.build_model(config).to(device)
    model.eval()
    labels = [i % model.num_classes for i in range(batch)]
    M.sample_ddim(model, labels, steps=2, config=config)
    synchronize(device)
    with profiler(device) as prof:
        start = time.perf_counter()
        M.sample_ddim(model, labels, steps=sample_steps, config=config)
        synchronize(device)
        seconds = (time.perf_counter() - start) / sample_steps
    return seconds, ops_per_unit(prof, sample_steps), device_ops_per_unit(prof, sample_steps,
                                                                         device)


# Kinds of operation for the profile table, first match wins (LibTorch's operator names, the
# same on both sides).
KINDS = [
    ("optimizer, clipping, EMA", lambda n: n.startswith("noisesched::")),
    ("matrix products", lambda n: n in {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm",
                                        "aten::addbmm", "aten::dot", "aten::mv"}),
    ("convolutions", lambda n: "conv" in n),
    ("normalisation", lambda n: "_norm" in n),
    ("softmax", lambda n: "softmax" in n),
    ("activations", lambda n: any(a in n for a in ("gelu", "silu", "sigmoid", "tanh", "relu"))),
    ("copies, concatenation, resampling",
     lambda n: any(a in n for a in ("copy", "aten::cat", "clone", "contiguous", "stack",
                                    "upsample", "pad", "index", "gather", "scatter",
                                    "embedding", "repeat", "flip", "aten::to"))),
    ("framework: views, allocation, autograd",
     lambda n: n.startswith("autograd::") or "Backward" in n or n.split("::")[-1] in {
         "view", "reshape", "_reshape_alias", "transpose", "t", "permute", "select", "slice",
         "as_strided", "expand", "squeeze", "unsqueeze", "chunk", "split", "unbind", "narrow",
         "flatten", "resolve_conj", "resolve_neg", "detach", "detach_", "empty", "empty_strided",
         "empty_like", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like", "alias",
         "_unsafe_view", "matmul", "linear", "conv2d", "layer_norm", "group_norm", "lift",
         "lift_fresh", "set_", "requires_grad_", "result_type", "is_nonzero", "item",
         "_local_scalar_dense", "_has_compatible_shallow_copy_type", "numpy_T", "to"}),
    ("element-wise and reductions", lambda n: n.startswith("aten::")),
]


def kind_of(name):
    for kind, matches in KINDS:
        if matches(name):
            return kind
    return "other"


def by_kind(ops, step_seconds):
    """{kind: seconds per step}, with the step's time outside any operation."""
    kinds = {}
    for name, seconds in ops.items():
        kinds[kind_of(name)] = kinds.get(kind_of(name), 0.0) + seconds
    kinds["outside any operation (interpreter, program)"] = max(
        0.0, step_seconds - sum(ops.values()))
    return kinds


def by_kind_on_device(ops, step_seconds):
    """{kind: device seconds per step}, with the device's idle time in the step."""
    kinds = {}
    for name, seconds in ops.items():
        kinds[kind_of(name)] = kinds.get(kind_of(name), 0.0) + seconds
    kinds["device idle (waiting for the host)"] = max(0.0, step_seconds - sum(ops.values()))
    return kinds


def python_sample(config, batch, sample_steps):
    """Seconds of one DDIM sampling run of `sample_steps` network evaluations (after 2 warm-up
    evaluations, as `bench sample` does)."""
    device = torch.device(config["train"]["device"])
    torch.manual_seed(0)
    model = M.build_model(config).to(device)
    model.eval()
    labels = [i % model.num_classes for i in range(batch)]
    M.sample_ddim(model, labels, steps=2, config=config)
    synchronize(device)
    start = time.perf_counter()
    M.sample_ddim(model, labels, steps=sample_steps, config=config)
    synchronize(device)
    return time.perf_counter() - start


def print_profile(profile, unit, device=False):
    cpp, py = profile["cpp_kinds"], profile["py_kinds"]
    if device:
        print(f"  device time per {unit} by kind, ms (kernels counted for the operation that "
              "launched them):")
    else:
        print(f"  profiled {unit}, ms: noisesched {1e3 * profile['cpp_step_seconds']:.1f}, "
              f"PyTorch eager {1e3 * profile['py_step_seconds']:.1f}")
    print(f"    {'kind of operation':<46} {'noisesched':>10} {'eager':>10} {'eager/ns':>9}")
    for kind in sorted(set(cpp) | set(py), key=lambda k: -max(cpp.get(k, 0), py.get(k, 0))):
        a, b = 1e3 * cpp.get(kind, 0.0), 1e3 * py.get(kind, 0.0)
        ratio = f"{b / a:9.2f}" if a > 0.05 else f"{'':>9}"
        print(f"    {kind:<46} {a:10.1f} {b:10.1f} {ratio}")


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
    parser.add_argument("--cpp-train-json", default="",
                        help="noisesched's side of the training comparison: the JSON of a "
                             "`bench train --json` run of the same model and settings made "
                             "beforehand (one model only), instead of running it here")
    parser.add_argument("--cpp-sample-json", default="",
                        help="the same for sampling: the JSON of a `bench sample --json` run")
    parser.add_argument("--profile", action="store_true",
                        help="also each side's training step by kind of operation")
    parser.add_argument("--profile-steps", type=int, default=2)
    parser.add_argument("--device", default="",
                        help="cpu, cuda or cuda:N for both sides (default: the configuration's "
                             "train.device, cpu for the CPU models)")
    parser.add_argument("--precision", default="",
                        help="train.precision for both sides: fp32, tf32 or bf16")
    parser.add_argument("--compile", action="store_true",
                        help="also time the PyTorch step with the network under torch.compile")
    parser.add_argument("--set", action="append", default=[], dest="extra",
                        help="an override for both sides, section.key=value (repeatable)")
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
    if (args.cpp_train_json or args.cpp_sample_json) and len(names) != 1:
        parser.error("--cpp-train-json and --cpp-sample-json stand for one model's runs: "
                     "give one --models")
    for name in names:
        if name not in MODELS and name not in GPU_MODELS:
            parser.error(f"unknown model '{name}'; valid: {', '.join([*MODELS, *GPU_MODELS])}")

    results = []
    for name in names:
        path, overrides = MODELS[name] if name in MODELS else GPU_MODELS[name]
        overrides = overrides + args.extra
        if args.device:
            overrides = overrides + [f"train.device={args.device}"]
        if args.precision:
            overrides = overrides + [f"train.precision={args.precision}"]
        config = M.load_config(os.path.join(ROOT, path), overrides)
        batch = config["train"]["batch_size"]
        train_cpp = (read_json(args.cpp_train_json) if args.cpp_train_json else
                     cpp_train(args.binary, args.threads, os.path.join(ROOT, path), overrides,
                               args.steps, args.warmup))
        sample_cpp = (read_json(args.cpp_sample_json) if args.cpp_sample_json else
                      cpp_sample(args.binary, args.threads, os.path.join(ROOT, path), overrides,
                                 args.sample_batch, args.sample_steps))
        # Runs made beforehand must be of this comparison's batches.
        for given, run, expected in ((args.cpp_train_json, train_cpp, batch),
                                     (args.cpp_sample_json, sample_cpp, args.sample_batch)):
            if given and run.get("batch_size") != expected:
                raise SystemExit(f"compare.py: {given} is a run at batch {run.get('batch_size')}, "
                                 f"this comparison's is {expected}")
        sgemm = train_cpp["sgemm_gflops"] * 1e9
        train_py, parameters = python_train(config, args.steps, args.warmup)
        sample_py = python_sample(config, args.sample_batch, args.sample_steps)
        row = {
            "model": name, "config": path, "overrides": overrides, "parameters": parameters,
            "cpp_model": train_cpp["model"], "threads": args.threads, "batch": batch,
            "train_cpp_images_per_s": train_cpp["images_per_s"],
            "train_py_images_per_s": batch / train_py,
            "sample_batch": args.sample_batch, "sample_steps": args.sample_steps,
            "sample_cpp_images_per_s": sample_cpp["images_per_s_per_evaluation"],
            "sample_py_images_per_s": args.sample_batch * args.sample_steps / sample_py,
            "train_cpp_cuda_graphs": train_cpp.get("cuda_graphs", "off"),
            "sample_cpp_cuda_graphs": sample_cpp.get("cuda_graphs", "off"),
        }
        row["train_ratio"] = row["train_cpp_images_per_s"] / row["train_py_images_per_s"]
        row["sample_ratio"] = row["sample_cpp_images_per_s"] / row["sample_py_images_per_s"]
        # Ceilings: PyTorch's time over the model's FLOPs at the best sgemm rate.
        row["sgemm_gflops"] = sgemm / 1e9
        row["train_ceiling"] = train_py / (train_cpp["flops_per_step"] / sgemm)
        row["sample_ceiling"] = (sample_py / (args.sample_batch * args.sample_steps *
                                              train_cpp["forward_flops_per_example"] / sgemm))
        if args.profile:
            profiled = cpp_train(args.binary, args.threads, os.path.join(ROOT, path), overrides,
                                 args.profile_steps, 1, profile=True)
            cpp_ops = {op["name"]: op["self_seconds"] for op in profiled["ops"]}
            py_seconds, py_ops, py_device_ops = python_profile(config, args.profile_steps)
            row["profile"] = {
                "cpp_step_seconds": profiled["profiled_step_seconds"],
                "py_step_seconds": py_seconds,
                "cpp_kinds": by_kind(cpp_ops, profiled["profiled_step_seconds"]),
                "py_kinds": by_kind(py_ops, py_seconds),
                "cpp_ops": cpp_ops, "py_ops": py_ops,
            }
            if py_device_ops is not None and "device_ops" in profiled:
                cpp_device_ops = {op["name"]: op["device_seconds"]
                                  for op in profiled["device_ops"]}
                row["device_profile"] = {
                    "cpp_kinds": by_kind_on_device(cpp_device_ops,
                                                   profiled["profiled_step_seconds"]),
                    "py_kinds": by_kind_on_device(py_device_ops, py_seconds),
                    "cpp_ops": cpp_device_ops, "py_ops": py_device_ops,
                }
            # Sampling: a short DDIM run each, per network evaluation.
            steps = min(args.sample_steps, 10)
            sampled = cpp_sample(args.binary, args.threads, os.path.join(ROOT, path), overrides,
                                 args.sample_batch, steps, profile=True)
            cpp_sample_ops = {op["name"]: op["self_seconds"] for op in sampled["ops"]}
            py_eval_seconds, py_sample_ops, py_sample_device_ops = python_sample_profile(
                config, args.sample_batch, steps)
            cpp_eval_seconds = sampled["profiled_seconds_per_evaluation"]
            row["sample_profile"] = {
                "cpp_step_seconds": cpp_eval_seconds, "py_step_seconds": py_eval_seconds,
                "cpp_kinds": by_kind(cpp_sample_ops, cpp_eval_seconds),
                "py_kinds": by_kind(py_sample_ops, py_eval_seconds),
                "cpp_ops": cpp_sample_ops, "py_ops": py_sample_ops,
            }
            if py_sample_device_ops is not None and "device_ops" in sampled:
                cpp_sample_device_ops = {op["name"]: op["device_seconds"]
                                         for op in sampled["device_ops"]}
                row["sample_device_profile"] = {
                    "cpp_kinds": by_kind_on_device(cpp_sample_device_ops, cpp_eval_seconds),
                    "py_kinds": by_kind_on_device(py_sample_device_ops, py_eval_seconds),
                    "cpp_ops": cpp_sample_device_ops, "py_ops": py_sample_device_ops,
                }
        if args.compile:
            compiled, _ = python_train(config, args.steps, args.warmup, compiled=True)
            row["train_py_compiled_images_per_s"] = batch / compiled
            row["train_ratio_compiled"] = row["train_cpp_images_per_s"] / (batch / compiled)
        row["device"] = config["train"]["device"]
        row["precision"] = config["train"]["precision"]
        row["train_cpp_achieved_gflops"] = train_cpp["achieved_gflops"]
        results.append(row)
        print(f"{name}: {train_cpp['model']} ({row['device']}, {row['precision']})", flush=True)
        print(f"  train  (batch {batch}): noisesched {row['train_cpp_images_per_s']:.1f} images/s, "
              f"PyTorch eager {row['train_py_images_per_s']:.1f} images/s, "
              f"ratio {row['train_ratio']:.2f}", flush=True)
        print(f"  sample (batch {args.sample_batch}, DDIM {args.sample_steps} steps, no-grad): "
              f"noisesched {row['sample_cpp_images_per_s']:.1f}, PyTorch eager "
              f"{row['sample_py_images_per_s']:.1f} images/s per network evaluation, "
              f"ratio {row['sample_ratio']:.2f}", flush=True)
        if args.compile:
            print(f"  train under torch.compile: {row['train_py_compiled_images_per_s']:.1f} "
                  f"images/s, ratio {row['train_ratio_compiled']:.2f}", flush=True)
        print(f"  ceilings at the {row['sgemm_gflops']:.0f} GFLOP/s of a 1024^3 sgemm: train "
              f"{row['train_ceiling']:.2f}, sample {row['sample_ceiling']:.2f}", flush=True)
        if args.profile:
            print_profile(row["profile"], "training step")
            if "device_profile" in row:
                print_profile(row["device_profile"], "training step", device=True)
            print_profile(row["sample_profile"], "network evaluation (sampling)")
            if "sample_device_profile" in row:
                print_profile(row["sample_device_profile"], "network evaluation (sampling)",
                              device=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"threads": args.threads, "torch": torch.__version__, "results": results},
                      out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
