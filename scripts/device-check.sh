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
#   5. benchmarks, the issues' targets first (synthetic data: 64 px JPEG classes for the
#      ImageNet-64 RIN preset, configs/imagenet64.toml, and IDX files shaped like Fashion-MNIST
#      for the default preset): `bench train` of the RIN in bf16 with CUDA graphs (auto) and
#      without, with model FLOP utilisation against the device's measured and nominal dense bf16
#      rates; the same model in PyTorch eager and under torch.compile (bench/reference/compare.py,
#      reusing the bf16 run and the sampling run of this script for its noisesched side); the
#      default Fashion-MNIST preset at batch 64 with graphs on and off; `bench sample` with graphs
#      on and off; then tf32, the loader (`bench data`), the multi-tensor optimizer update against
#      the per-tensor loop and the fused AdamW (`bench optimizer`), a device-time profile;
#   6. the `tensor` suite on this LibTorch, last, with jobs x threads <= cores.
# The RIN's batch is the preset's 1024 on a device with 120 GiB or more (H200), 512 below (H100:
# 1024 does not fit its 80 GB). Each stage prints its start time; a failed stage is reported and
# the rest still run. Time: about 6 minutes on an H200, build included. Two limits keep a slow or
# hung stage from losing the run: no stage of 5 and 6 starts after BUDGET seconds (default 330,
# NOISESCHED_DEVICE_BUDGET), and every command is stopped at DEADLINE seconds (default 500,
# NOISESCHED_DEVICE_DEADLINE); skipped and stopped stages are listed at the end. The summary and
# the archive are written however the script ends (also on Ctrl-C or SIGTERM). Everything goes to
# OUT (default out/device-check) and into OUT.tar.gz beside it: device-check.log (all output,
# stage by stage), summary.md, results.json (the benchmarks' JSON), tests.log (both test
# stages), configure-logs.tar.gz (CMakeCache.txt and CMake's configure logs), runtime.log
# (stage 2), and at most two more.
# Usage: scripts/device-check.sh [OUT]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/device-check}
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec 3>&1 4>&2
exec > >(tee "$out/device-check.log") 2>&1
tee_pid=$!
t0=$SECONDS
budget=${NOISESCHED_DEVICE_BUDGET:-330}
deadline=${NOISESCHED_DEVICE_DEADLINE:-500}
failed=()
skipped=()
stage() { echo "== [$((SECONDS - t0)) s, $(date +%H:%M:%S)] $*"; }
# A stage of the benchmarks or the tensor suite: started only before the budget is spent.
later() {
  if [ $((SECONDS - t0)) -ge "$budget" ]; then
    echo "== [$((SECONDS - t0)) s] skipped (past the ${budget} s budget): $*"
    skipped+=("$*")
    return 1
  fi
  stage "$@"
}
# Runs a command, stopped at the deadline; a failure is reported on stderr (never into a file the
# command's output goes to).
check() {
  local left=$((deadline - (SECONDS - t0)))
  if [ "$left" -le 5 ]; then
    echo "!! skipped (past the ${deadline} s deadline): $*" >&2
    skipped+=("$*")
    return 1
  fi
  timeout --kill-after=15 "$left" "$@"
  local status=$?
  [ "$status" -eq 0 ] && return 0
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "!! stopped at the ${deadline} s deadline: $*" >&2
  else
    echo "!! failed: $*" >&2
  fi
  failed+=("$*")
  return 1
}
cores=$(nproc)
python=$(command -v python3)

# The summary, the file list and the archive: however the script ends.
finish() {
  local status=$?
  trap - EXIT INT TERM
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
print("| precision | batch | images/s | achieved TFLOP/s | MFU vs measured | MFU vs nominal | "
      "peak memory, GiB reserved |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for precision in ("bf16", "tf32"):
    r = load(f"bench-train-{precision}.json")
    if not r:
        print(f"| {precision} | | failed | | | | |")
        continue
    tflops = r["achieved_gflops"] / 1e3
    measured = f"{tflops / peak['measured_bf16_tflops']:.0%}" if peak else "?"
    nominal = (f"{tflops / peak['nominal_bf16_tflops']:.0%}"
               if peak and peak["nominal_bf16_tflops"] else "?")
    memory = (f"{r['peak_device_reserved_gib']:.1f} of {r['device_memory_gib']:.0f}"
              if "peak_device_reserved_gib" in r else "?")
    print(f"| {precision} | {r['batch_size']} | {r['images_per_s']:.0f} | {tflops:.0f} | "
          f"{measured} | {nominal} | {memory} |")
e = load("bench-train-bf16-eager.json")
t = load("bench-train-bf16.json")
if t:
    print(f"\nCUDA graphs in the bf16 row above: {t.get('cuda_graphs', '?')} "
          f"({t.get('graph_replays', 0)} steps replayed)")
if t and e and t.get("cuda_graphs") == "on":
    print(f"CUDA graphs, ImageNet-64 bf16 batch {t['batch_size']}: on {t['images_per_s']:.0f} "
          f"images/s, off {e['images_per_s']:.0f} "
          f"(on / off {t['images_per_s'] / e['images_per_s']:.2f})")
elif t and e:
    print(f"CUDA graphs not compared: both bf16 rows trained without them "
          f"({e['images_per_s']:.0f} images/s with graphs off)")
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
  stage "done in $((SECONDS - t0)) s; failed stages: ${#failed[@]}, skipped: ${#skipped[@]}"
  for f in "${failed[@]}"; do echo "  failed: $f"; done
  for f in "${skipped[@]}"; do echo "  skipped: $f"; done
  # At most 8 files: the per-benchmark JSON are in results.json, both test logs in tests.log.
  cat "$out/gpu-tests.log" "$out/tensor-tests.log" >"$out/tests.log" 2>/dev/null
  rm -f "$out"/bench-*.json "$out/peak.json" "$out/compare.json" "$out/gpu-tests.log" \
    "$out/tensor-tests.log"
  echo "files: $(ls "$out" | tr '\n' ' ')-> $out.tar.gz"
  # Let tee write the log's last lines before it is packed.
  exec 1>&3 2>&4
  wait "$tee_pid" 2>/dev/null
  tar czf "$out.tar.gz" -C "$(dirname "$out")" "$(basename "$out")"
  if [ "$status" -eq 0 ] && [ ${#failed[@]} -gt 0 ]; then status=1; fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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
# The RIN preset's batch: 1024 (the preset's) where it fits, 512 on an 80 GB card.
memory_gib=$("$python" -c 'import torch; print(torch.cuda.get_device_properties(0).total_memory >> 30)')
big=$([ "${memory_gib:-0}" -ge 120 ] && echo 1024 || echo 512)
echo "device memory ${memory_gib} GiB: the ImageNet-64 RIN runs at batch $big"

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
grep -E '^NOISESCHED_(HAVE_[A-Z_]+|AUTOCAST_DEVICE_API):' build-gpu/CMakeCache.txt
if [ "$build_ok" = 0 ]; then
  echo "!! the build failed; nothing else can run (configure logs: $out/configure-logs.tar.gz)"
  failed+=("build")
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
check ctest --test-dir build-gpu -L gpu --timeout 150 --output-on-failure \
  --output-log "$out/gpu-tests.log"
echo "c10d backends: $("$bin" info | sed -n 's/^c10d backends *//p')"

stage "synthetic data: 64 px JPEG classes, Fashion-MNIST-shaped IDX files"
data=out/device-data/jpg64
fmnist=out/device-data/fmnist
check "$python" - "$data" "$fmnist" <<'PY'
import os, random, struct, sys, zlib
folder, idx = sys.argv[1], sys.argv[2]
random.seed(0)
try:
    from PIL import Image
except ImportError:  # PNG files instead, written here (the loader reads both)
    Image = None
    print("no PIL in this Python: the 64 px classes are PNG files, not JPEG")

def png(path, width, height, rgb):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\0" + rgb[y * width * 3:(y + 1) * width * 3] for y in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

for c in range(10):
    os.makedirs(os.path.join(folder, f"class{c}"), exist_ok=True)
    for i in range(40):
        colours = [tuple(random.randrange(256) for _ in range(3)) for _ in range(64)]
        path = os.path.join(folder, f"class{c}", f"{i:03d}." + ("jpg" if Image else "png"))
        if os.path.exists(path):
            continue
        if Image:
            small = Image.new("RGB", (8, 8))
            small.putdata(colours)
            small.resize((80, 64), Image.BICUBIC).save(path, quality=90)
        else:  # 8x8 blocks of 10x8 pixels
            png(path, 80, 64, bytes(v for y in range(64) for x in range(80)
                                    for v in colours[(y // 8) * 8 + x // 10]))
# The default preset's data set is Fashion-MNIST (Debian's dataset-fashion-mnist, absent here):
# the same file format and image size, random pixels; a training step costs the same.
os.makedirs(idx, exist_ok=True)
for split, count in (("train", 4096), ("t10k", 1024)):
    with open(os.path.join(idx, f"{split}-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, count, 28, 28) + os.urandom(count * 28 * 28))
    with open(os.path.join(idx, f"{split}-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, count) + bytes(random.randrange(10) for _ in range(count)))
PY

stage "distributed: 2 processes sharing the one GPU over Gloo (NCCL wants a GPU per process)"
check "$bin" bench train --config configs/fmnist32.toml --set data.dataset=folder \
  --set "data.path=$data" --device cuda:0 --nproc 2 --set train.dist_backend=gloo --steps 5 \
  --warmup 2

stage "dense bf16 rate of this device (8192^3 products)"
check "$python" - > "$out/peak.json" <<'PY'
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
rin=(--config configs/imagenet64.toml "${sets[@]}" --device cuda --set train.precision=bf16
  --set "train.batch_size=$big")
later "bench train, ImageNet-64 RIN preset, bf16, batch $big, CUDA graphs auto" &&
  check "$bin" bench train "${rin[@]}" --steps 8 --warmup 3 --sgemm-size 8192 --json \
    >"$out/bench-train-bf16.json"
later "bench train, ImageNet-64 RIN preset, bf16, batch $big, CUDA graphs off (side by side)" &&
  check "$bin" bench train "${rin[@]}" --set train.cuda_graphs=off --steps 8 --warmup 3 \
    --sgemm-size 1024 --json >"$out/bench-train-bf16-eager.json"
for graphs in auto off; do
  later "bench sample, bf16, batch 256, CUDA graphs $graphs" &&
    check "$bin" bench sample --config configs/imagenet64.toml "${sets[@]}" \
      --set train.precision=bf16 --set "train.cuda_graphs=$graphs" --device cuda --batch 256 \
      --recipe "ddim steps=20" --json >"$out/bench-sample-bf16-graphs-$graphs.json"
done
# PyTorch's side of the same model and batch; noisesched's side is the two runs above.
later "PyTorch eager and torch.compile on the same model, bf16" &&
  check "$python" bench/reference/compare.py --binary "$bin" --models imagenet64 --device cuda \
    --precision bf16 --compile --steps 8 --warmup 3 --sample-steps 20 --sample-batch 256 \
    "${sets[@]}" --set "train.batch_size=$big" \
    --cpp-train-json "$out/bench-train-bf16.json" \
    --cpp-sample-json "$out/bench-sample-bf16-graphs-auto.json" --json "$out/compare.json"
# The default Fashion-MNIST preset (target: <= 10 ms per step at batch 64), graphs on and off.
for graphs in on off; do
  later "bench train, default Fashion-MNIST preset, batch 64, CUDA graphs $graphs" &&
    check "$bin" bench train --config configs/fmnist32.toml --device cuda \
      --set "data.path=$fmnist" --set "train.cuda_graphs=$graphs" --set train.batch_size=64 \
      --steps 40 --warmup 5 --sgemm-size 1024 --json >"$out/bench-fmnist-graphs-$graphs.json"
done
# tf32 keeps float32 activations, about twice the memory: a quarter of the bf16 batch.
later "bench train, ImageNet-64 RIN preset, tf32, batch $((big / 4))" &&
  check "$bin" bench train --config configs/imagenet64.toml "${sets[@]}" --device cuda \
    --set train.precision=tf32 --set "train.batch_size=$((big / 4))" --steps 6 --warmup 3 \
    --sgemm-size 1024 --json >"$out/bench-train-tf32.json"
later "bench data: the loader against the training consumption above" &&
  check "$bin" bench data --config configs/imagenet64.toml "${sets[@]}" \
    --set train.batch_size=256 --workers 1 8 16 --batches 50 --json >"$out/bench-data.json"
later "bench optimizer: the multi-tensor update against the per-tensor loop, ImageNet-64 RIN" &&
  check "$bin" bench optimizer --config configs/imagenet64.toml "${sets[@]}" --device cuda \
    --updates 20 --rounds 5 --json >"$out/bench-optimizer.json"
later "bench optimizer, AdamW: LibTorch's fused kernel against the multi-tensor update" &&
  check "$bin" bench optimizer --config configs/imagenet64.toml "${sets[@]}" --device cuda \
    --set optim.optimizer=adamw --updates 20 --rounds 5 --json >"$out/bench-optimizer-adamw.json"
later "bench train --profile on CUDA, as compare.py --profile calls it (graphs off: per operation)" &&
  check "$bin" bench train "${rin[@]}" --set train.cuda_graphs=off --steps 2 --warmup 1 \
    --sgemm-size 1024 --json --profile >"$out/bench-profile-bf16.json"

if later "tensor suite on this LibTorch"; then
  # Jobs x threads <= cores: each test gets its share of the cores instead of all of them.
  jobs=$((cores >= 16 ? 4 : 1))
  threads=$((cores / jobs))
  echo "$jobs tests at a time, $threads threads each, on $cores cores"
  check env OMP_NUM_THREADS="$threads" OMP_WAIT_POLICY=PASSIVE NOISESCHED_TEST_PYTHON="$python" \
    ctest --test-dir build-gpu -L tensor -j "$jobs" --timeout 120 --output-on-failure \
    --output-log "$out/tensor-tests.log"
fi
