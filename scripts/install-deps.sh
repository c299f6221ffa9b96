#!/usr/bin/env bash
# Installs the Debian packages noisesched needs to build, test and run its pipeline.
# Idempotent: packages already present are skipped, so a second run costs nothing.
# Usage: scripts/install-deps.sh
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  # LibTorch (CPU, oneDNN, OpenMP) and a fast BLAS: without OpenBLAS matrix products fall back
  # to the reference BLAS and run about 30 times slower. noisesched's programs load the OpenMP
  # build (one thread pool with LibTorch, see CMakeLists.txt); the pthread one is the system default.
  libtorch-dev libopenblas0-pthread libopenblas0-openmp
  # Libraries used by the program, its tests and benchmarks.
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libstb-dev libturbojpeg0-dev libfmt-dev zlib1g-dev
  # Gloo's headers, which LibTorch's c10d ProcessGroupGloo includes (multi-process training).
  libgloo-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # Formatting check, plots (matplotlib drives `schedule --plot`), data.
  clang-format python3 python3-numpy python3-matplotlib python3-mpmath dataset-fashion-mnist
  # Independent references run only by tests: SciPy's sqrtm for FID, torchvision's Inception-v3
  # for the extractor's parity test (python3-torch also converts user-supplied Inception weights).
  python3-scipy python3-torchvision
  # The Python module (python/, docs/python.md): pybind11 and Python's headers to build it against
  # python3-torch (the same LibTorch as libtorch-dev); pytest, Pillow and a virtual environment
  # with pip for its tests and its offline install.
  pybind11-dev python3-dev python3-torch python3-pytest python3-pil python3-venv python3-pip
  python3-setuptools python3-wheel
  # Fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes.
  clang libclang-rt-dev
  # The run report's browser test (headless Chromium loads report.html and takes a screenshot).
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} missing packages: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
