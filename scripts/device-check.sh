#!/usr/bin/env bash
# The GPU half of noisesched's checks, in one command, on a machine with an NVIDIA GPU and a
# PyTorch 2.x with CUDA (docs/performance.md, "On a GPU"). Stages, what matters first:
#   1. build against that PyTorch's LibTorch (build-gpu/), with the Debian packages fetched
#      beforehand into .devdeps/ by scripts/device-deps.sh (such machines reach no registry);
#      the configure logs are kept;
#   2. runtime: one C++ runtime in the program (scripts/check-runtime.sh: libraries, RPATH, where
#      every standard-library and exception symbol binds) and a throw/catch/remove_all probe
#      linked like it, run without and with the Debian libraries on a process-wide
#      LD_LIBRARY_PATH (the first GPU run's crash, docs/reliability.md "One C++ runtime");
#   3. errors: scripts/errors-check.sh (failing commands exit 1 or 2 with an error line);
#   4. the `gpu` tests (CUDA against the CPU, bf16, the program on CUDA, NCCL and Gloo on one
#      GPU), then `bench train --nproc 2` with both processes on the one GPU over Gloo;
#   5. benchmarks of the ImageNet-64 RIN preset (configs/imagenet64.toml, synthetic 64 px JPEG
#      classes): `bench train` in bf16 and tf32 with model FLOP utilisation against the device's
#      measured and nominal dense bf16 rates, bf16 again with CUDA graphs off, the default
#      Fashion-MNIST preset at batch 64 with graphs on and off, `bench sample` with graphs on
#      and off, the multi-tensor optimizer update
#      against the per-tensor loop (`bench optimizer`), the loader (`bench data`), and the same
#      model in PyTorch eager and under torch.compile (bench/reference/compare.py);
#   6. the `tensor` suite on this LibTorch, last, with jobs x threads <= cores.
# Each stage prints its start time; a failed stage is reported and the rest still run. Budget:
# about 6 minutes on an H200, build included. Everything goes to OUT (default out/device-check)
# and into OUT.tar.gz beside it: device-check.log (all output, stage by stage), summary.md,
# results.json (the benchmarks' JSON), tests.log (both test stages), configure-logs.tar.gz
# (CMakeCache.txt and CMake's configure logs), runtime.log (stage 2), and at most two more.
# Usage: scripts/device-check.sh [OUT]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/device-check}
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec > >(tee "$out/device-check.log") 2>&1
t0=$SECONDS
failed=()
stage() { echo "== [$((SECONDS - t0)) s, $(date +%H:%M:%S)] $*"; }
# Runs a stage; a failure is reported on stderr (never into a file the stage's output goes to).
check() { "$@" || { echo "!! failed: $*" >&2; failed+=("$*"); }; }
cores=$(nproc)
python=$(command -v python3)

stage "device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$python" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda,
                                  torch.cuda.get_device_name(0))'
echo "python3: $python; /usr/bin/python3: $(/usr/bin/python3 --version 2>&1 || echo none)"
echo "system: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), $(ldd --version | head -1)," \
  "libstdc++ $(readlink -f "$(/sbin/ldconfig -p | awk '/libstdc\+\+\.so\.6 / {print $NF; exit}')")"
# Debian's static libraries (GoogleTest) use the C++11 string ABI, which PyTorch's wheels use
# from 2.7 on; and LibTorch's CMake files want a CUDA compiler for a CUDA build.
if ! "$python" -c 'import sys, torch; sys.exit(0 if torch.compiled_with_cxx11_abi() else 1)'; then
  echo "!! this PyTorch uses the pre-C++11 string ABI (before 2.7): the build would not link"
  exit 1
fi
command -v nvcc >/dev/null || echo "note: no nvcc in PATH; LibTorch's CMake files may not find CUDA"

stage "Debian packages from .devdeps"
# Unpacked for the build only: the program finds the few libraries it links from here through
# its RPATH (CMake records the folder of every library it links by path), never through a
# process-wide LD_LIBRARY_PATH, which would also change what every child process loads.
root=/tmp/noisesched-devroot
lib=$root/usr/lib/x86_64-linux-gnu
if [ -d .devdeps ]; then
  mkdir -p "$root"
  for f in .devdeps/*.deb; do dpkg -x "$f" "$root"; done
  echo "$(ls .devdeps/*.deb | wc -l) packages unpacked into $root"
else
  echo "no .devdeps/ (run scripts/device-deps.sh where the Debian archive is reachable); using" \
    "what this machine has"
fi

stage "build (LibTorch of $("$python" -c 'import torch; print(torch.__version__)'))"
export NOISESCHED_BUILD_DIR=build-gpu
build_ok=1
scripts/build.sh --torch-from-python --target noisesched --target gpu_test --target tensor_test \
  --target runtime_probe -DNOISESCHED_BUILD_BENCHMARKS=OFF -DNOISESCHED_PYTHON="$python" \
  -DCMAKE_PREFIX_PATH="$root/usr;$lib/cmake;$root/usr/share/cmake" \
  -DCMAKE_INCLUDE_PATH="$root/usr/include" -DCMAKE_LIBRARY_PATH="$lib" || build_ok=0
(cd build-gpu && tar czf "$out/configure-logs.tar.gz" CMakeCache.txt \
  $(ls CMakeFiles/CMakeConfigureLog.yaml CMakeFiles/CMakeError.log CMakeFiles/CMakeOutput.log \
    2>/dev/null))
grep -E '^NOISESCHED_(HAVE_[A-Z]+|AUTOCAST_DEVICE_API):' build-gpu/CMakeCache.txt
if [ "$build_ok" = 0 ]; then
  echo "!! the build failed; nothing else can run (configure logs: $out/configure-logs.tar.gz)"
  tar czf "$out.tar.gz" -C "$(dirname "$out")" "$(basename "$out")"
  exit 1
fi
bin=build-gpu/noisesched

stage "runtime: one C++ runtime in the program"
{
  check scripts/check-runtime.sh "$bin" info
  echo "-- probe, no LD_LIBRARY_PATH:"
  check build-gpu/tests/runtime_probe
  echo "-- probe, LD_LIBRARY_PATH=$lib (the Debian libraries process-wide, as before 2026-12-04):"
  check env LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" build-gpu/tests/runtime_probe
  echo "-- ldd:"
  ldd "$bin" | grep -v -E 'nvidia|torch/lib'
} >"$out/runtime.log" 2>&1
cat "$out/runtime.log"

stage "errors: failing commands exit 1 or 2 with an error line"
check scripts/errors-check.sh "$bin"

stage "gpu tests"
check ctest --test-dir build-gpu -L gpu --output-on-failure --output-log "$out/gpu-tests.log"
echo "c10d backends: $("$bin" info | sed -n 's/^c10d backends *//p')"

stage "synthetic 64 px JPEG classes"
data=out/device-data/jpg64
"$python" - "$data" <<'PY'
import os, random, sys
from PIL import Image
folder = sys.argv[1]
random.seed(0)
for c in range(10):
    os.makedirs(os.path.join(folder, f"class{c}"), exist_ok=True)
    for i in range(40):
        path = os.path.join(folder, f"class{c}", f"{i:03d}.jpg")
        if not os.path.exists(path):
            small = Image.new("RGB", (8, 8))
            small.putdata([tuple(random.randrange(256) for _ in range(3)) for _ in range(64)])
            small.resize((80, 64), Image.BICUBIC).save(path, quality=90)
PY

stage "distributed: 2 processes sharing the one GPU over Gloo (NCCL wants a GPU per process)"
check "$bin" bench train --config configs/fmnist32.toml --set data.dataset=folder \
  --set "data.path=$data" --device cuda:0 --nproc 2 --set train.dist_backend=gloo --steps 5 \
  --warmup 2

stage "dense bf16 rate of this device (8192^3 products)"
"$python" - > "$out/peak.json" <<'PY'
import json, torch
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
for _ in range(3):
    a @ b
torch.cuda.synchronize()
start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
start.record()
for _ in range(20):
    a @ b
end.record()
torch.cuda.synchronize()
measured = 20 * 2 * 8192 ** 3 / (start.elapsed_time(end) / 1e3) / 1e12
name = torch.cuda.get_device_name(0)
# Nominal dense bf16 tensor-core rates (vendor data sheets, without sparsity).
nominal = {"H200": 989.4, "H100": 989.4, "A100": 312.0}
peak = next((v for k, v in nominal.items() if k in name), None)
print(json.dumps({"device": name, "measured_bf16_tflops": measured, "nominal_bf16_tflops": peak}))
PY
cat "$out/peak.json"

sets=(--set "data.path=$data" --set data.workers=8)
# The preset's batch (1024) in bf16; tf32 keeps float32 activations, about twice the memory, at
# a quarter of the batch.
for run in "bf16 1024" "tf32 256"; do
  read -r precision batch <<<"$run"
  stage "bench train, ImageNet-64 RIN preset, $precision, batch $batch"
  check "$bin" bench train --config configs/imagenet64.toml "${sets[@]}" \
    --set "train.precision=$precision" --set "train.batch_size=$batch" --device cuda \
    --steps 8 --warmup 3 --sgemm-size 8192 --json >"$out/bench-train-$precision.json"
done
stage "bench train, ImageNet-64 RIN preset, bf16, batch 1024, CUDA graphs off (side by side)"
check "$bin" bench train --config configs/imagenet64.toml "${sets[@]}" \
  --set train.precision=bf16 --set train.batch_size=1024 --set train.cuda_graphs=off \
  --device cuda --steps 8 --warmup 3 --sgemm-size 1024 --json >"$out/bench-train-bf16-eager.json"
# The default Fashion-MNIST preset (target: <= 10 ms per step at batch 64), graphs on and off.
for graphs in on off; do
  stage "bench train, default Fashion-MNIST preset, batch 64, CUDA graphs $graphs"
  check "$bin" bench train --config configs/fmnist32.toml --device cuda \
    --set "train.cuda_graphs=$graphs" --set train.batch_size=64 --steps 40 --warmup 5 \
    --sgemm-size 1024 --json >"$out/bench-fmnist-graphs-$graphs.json"
done
for graphs in auto off; do
  stage "bench sample, bf16, CUDA graphs $graphs"
  check "$bin" bench sample --config configs/imagenet64.toml "${sets[@]}" \
    --set train.precision=bf16 --set "train.cuda_graphs=$graphs" --device cuda --batch 256 \
    --recipe "ddim steps=20" --json >"$out/bench-sample-bf16-graphs-$graphs.json"
done
stage "bench optimizer: the multi-tensor update against the per-tensor loop, ImageNet-64 RIN"
check "$bin" bench optimizer --config configs/imagenet64.toml "${sets[@]}" --device cuda \
  --updates 20 --rounds 5 --json >"$out/bench-optimizer.json"
stage "bench optimizer, AdamW: LibTorch's fused kernel against the multi-tensor update"
check "$bin" bench optimizer --config configs/imagenet64.toml "${sets[@]}" --device cuda \
  --set optim.optimizer=adamw --updates 20 --rounds 5 --json >"$out/bench-optimizer-adamw.json"
stage "bench data: the loader against the training consumption above"
check "$bin" bench data --config configs/imagenet64.toml "${sets[@]}" --set train.batch_size=256 \
  --workers 1 8 16 --batches 50 --json >"$out/bench-data.json"

stage "PyTorch eager and torch.compile on the same model, bf16"
check "$python" bench/reference/compare.py --binary "$bin" --models imagenet64 --device cuda \
  --precision bf16 --compile --steps 8 --warmup 3 --sample-steps 20 --sample-batch 256 \
  "${sets[@]}" --json "$out/compare.json"
stage "bench train --profile on CUDA, as compare.py --profile calls it (graphs off: per operation)"
check "$bin" bench train --config configs/imagenet64.toml "${sets[@]}" --set train.device=cuda \
  --set train.precision=bf16 --set train.cuda_graphs=off --steps 2 --warmup 1 --sgemm-size 1024 \
  --json --profile >"$out/bench-profile-bf16.json"

stage "tensor suite on this LibTorch"
# Jobs x threads <= cores: each test gets its share of the cores instead of all of them.
jobs=$((cores >= 16 ? 4 : 1))
threads=$((cores / jobs))
echo "$jobs tests at a time, $threads threads each, on $cores cores"
check env OMP_NUM_THREADS="$threads" NOISESCHED_TEST_PYTHON="$python" ctest --test-dir build-gpu \
  -L tensor -j "$jobs" --output-on-failure --output-log "$out/tensor-tests.log"

stage "summary"
"$python" - "$out" <<'PY' | tee "$out/summary.md"
import json, os, sys
out = sys.argv[1]
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None  # the stage failed (its error is in device-check.log)
peak, compare = load("peak.json"), load("compare.json")
print(f"# Device check: {peak['device'] if peak else '?'}\n")
if peak:
    print(f"dense bf16 product rate: measured {peak['measured_bf16_tflops']:.0f} TFLOP/s, "
          f"nominal {peak['nominal_bf16_tflops']} TFLOP/s\n")
print("| precision | batch | images/s | achieved TFLOP/s | MFU vs measured | MFU vs nominal |")
print("| --- | --- | --- | --- | --- | --- |")
for precision in ("bf16", "tf32"):
    r = load(f"bench-train-{precision}.json")
    if not r:
        print(f"| {precision} | | failed | | | |")
        continue
    tflops = r["achieved_gflops"] / 1e3
    measured = f"{tflops / peak['measured_bf16_tflops']:.0%}" if peak else "?"
    nominal = (f"{tflops / peak['nominal_bf16_tflops']:.0%}"
               if peak and peak["nominal_bf16_tflops"] else "?")
    print(f"| {precision} | {r['batch_size']} | {r['images_per_s']:.0f} | {tflops:.0f} | "
          f"{measured} | {nominal} |")
e = load("bench-train-bf16-eager.json")
t = load("bench-train-bf16.json")
if t:
    print(f"\nCUDA graphs in the bf16 row above: {t.get('cuda_graphs', '?')} "
          f"({t.get('graph_replays', 0)} steps replayed)")
if t and e:
    print(f"CUDA graphs, ImageNet-64 bf16 batch 1024: on {t['images_per_s']:.0f} images/s, off "
          f"{e['images_per_s']:.0f} (on / off {t['images_per_s'] / e['images_per_s']:.2f})")
fm = {g: load(f"bench-fmnist-graphs-{g}.json") for g in ("on", "off")}
if all(fm.values()):
    print(f"\ndefault Fashion-MNIST preset, batch 64 (target <= 10 ms per step): graphs on "
          f"{1e3 * fm['on']['step_seconds']:.1f} ms ({fm['on']['cuda_graphs']}), off "
          f"{1e3 * fm['off']['step_seconds']:.1f} ms")
d = load("bench-data.json")
if d and t:
    rows = ", ".join(f"{r['workers']} workers {r['images_per_s']:.0f}" for r in d["rows"])
    print(f"\nloader (64 px JPEG, images/s): {rows}; training consumes {t['images_per_s']:.0f}")
for graphs in ("auto", "off"):
    s = load(f"bench-sample-bf16-graphs-{graphs}.json")
    if s:
        print(f"\nsampling (bf16, batch 256, DDIM 20, CUDA graphs {s.get('cuda_graphs', '?')}): "
              f"{s['images_per_s_per_evaluation']:.0f} images/s per network evaluation"
              f" ({s.get('graph_replays', 0)} of {s['evaluations']} replayed)")
o = load("bench-optimizer.json")
if o:
    multi, loop = o["paths"][0], o["paths"][1]
    print(f"\noptimizer update ({o['optimizer']}, clipping, EMA; {o['parameter_tensors']} tensors): "
          f"multi-tensor {1e3 * multi['seconds_per_update']:.2f} ms in {multi['operations']} "
          f"operations, per-tensor {1e3 * loop['seconds_per_update']:.2f} ms in "
          f"{loop['operations']} (per-tensor / multi-tensor {o['speedup']:.2f})")
a = load("bench-optimizer-adamw.json")
if a:
    rows = ", ".join(f"{r['path']} {1e3 * r['seconds_per_update']:.2f} ms in {r['operations']} "
                     "operations" for r in a["paths"])
    print(f"\noptimizer update with AdamW (same model): {rows}")
if compare:
    row = compare["results"][0]
    print(f"\nPyTorch on the same model and device (bf16): eager "
          f"{row['train_py_images_per_s']:.0f} images/s (noisesched / eager "
          f"{row['train_ratio']:.2f}), torch.compile {row.get('train_py_compiled_images_per_s', 0):.0f}"
          f" (noisesched / compiled {row.get('train_ratio_compiled', 0):.2f}); sampling "
          f"noisesched / eager {row['sample_ratio']:.2f}")
p = load("bench-profile-bf16.json")
if p and "host_syncs_per_step" in p:
    print(f"\nhost syncs per training step on CUDA (bf16, profiled): {p['host_syncs_per_step']:g} "
          "(value reads to the host and device-to-host copies; the target is 0)")
if p and p.get("device_ops"):
    rows = p["device_ops"]
    total = sum(r["device_seconds"] for r in rows)
    print(f"\ndevice time per training step (bf16, Kineto, by launching operation): "
          f"{1e3 * total:.1f} ms in {sum(r['kernels'] for r in rows)} kernels, against "
          f"{1e3 * p['profiled_step_seconds']:.1f} ms on the host's clock (profiled)\n")
    print("| operation | kernels | device ms | % |")
    print("| --- | --- | --- | --- |")
    for r in rows[:12]:
        print(f"| {r['name']} | {r['kernels']} | {1e3 * r['device_seconds']:.2f} | "
              f"{100 * r['device_seconds'] / total:.1f} |")
elif p:
    print("\ndevice time per training step: not measured ("
          f"{p.get('device_ops_error', 'no Kineto in this LibTorch?')})")
# Every benchmark's JSON in one file.
results = {name[:-5]: load(name) for name in sorted(os.listdir(out)) if name.endswith(".json")}
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
PY
stage "done in $((SECONDS - t0)) s; failed stages: ${#failed[@]}"
for f in "${failed[@]}"; do echo "  $f"; done
# At most 8 files: the per-benchmark JSON are in results.json, both test logs in tests.log.
cat "$out/gpu-tests.log" "$out/tensor-tests.log" >"$out/tests.log" 2>/dev/null
rm -f "$out"/bench-*.json "$out/peak.json" "$out/compare.json" "$out/gpu-tests.log" \
  "$out/tensor-tests.log"
tar czf "$out.tar.gz" -C "$(dirname "$out")" "$(basename "$out")"
echo "files: $(ls "$out" | tr '\n' ' ')-> $out.tar.gz"
[ ${#failed[@]} -eq 0 ]
