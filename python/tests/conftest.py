"""Shared fixtures of the Python module's tests (run by CTest: tests/CMakeLists.txt, label python).

NOISESCHED_BINARY names the program (build/noisesched by default); tiny training runs are made with
it on a generated 8x8 data set, a few steps each, so the tests need no data set and take seconds.
"""

import gzip
import os
import pathlib
import struct
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def binary() -> str:
    return os.environ.get("NOISESCHED_BINARY", str(ROOT / "build" / "noisesched"))


def run_program(*args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([binary(), "--threads", "1", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"noisesched {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def write_idx(folder: pathlib.Path, prefix: str, n: int, size: int, classes: int) -> None:
    """An IDX pair like tests/data/data_test_util.h's: a bright row per image over a pattern."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.empty((n, size, size), dtype=np.uint8)
    for i in range(n):
        for p in range(size * size):
            pixels[i, p // size, p % size] = 255 if p // size == i % size else (i * 37 + 3 * (p % size)) % 200
    labels = np.arange(n, dtype=np.uint8) % classes
    with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, size, size) + pixels.tobytes())
    with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + labels.tobytes())


def train_tiny(folder: pathlib.Path, arch: str, extra: str = "") -> pathlib.Path:
    """Trains a tiny class-conditional model of `arch` for 4 steps; returns the run folder."""
    data = folder / "data"
    write_idx(data, "train", 40, 8, 10)
    write_idx(data, "t10k", 10, 8, 10)
    config = folder / "tiny.toml"
    if arch == "rin":
        model = ("[rin]\npatch_size = 2\nlatents = 4\nlatent_dim = 16\ninterface_dim = 8\n"
                 "blocks = 1\nlayers_per_block = 1\nheads = 2\ncross_heads = 2\n")
    else:
        model = ("[model]\narch = \"unet\"\n[unet]\nchannels = 8\nchannel_mult = [1, 2]\n"
                 "res_blocks = 1\nattention_resolutions = [4]\nheads = 2\n")
    config.write_text(
        f"[data]\ndataset = \"mnist\"\npath = \"{data}\"\nresolution = 8\n{model}"
        f"[train]\nsteps = 4\nbatch_size = 4\nlog_every = 1\ncheckpoint_every = 1000\n"
        f"report = false\nsample_every = 0\nout_dir = \"{folder / 'run'}\"\n{extra}")
    run_program("train", "--config", str(config), "--progress", "lines")
    return folder / "run"


@pytest.fixture(scope="session")
def unet_run(tmp_path_factory) -> pathlib.Path:
    return train_tiny(tmp_path_factory.mktemp("unet"), "unet",
                      "[diffusion]\nself_cond_rate = 0.5\ntarget = \"v\"\nschedule = \"sigmoid@0,3,0.7\"\n"
                      "input_scale = \"0.7\"\n")


@pytest.fixture(scope="session")
def rin_run(tmp_path_factory) -> pathlib.Path:
    return train_tiny(tmp_path_factory.mktemp("rin"), "rin")


@pytest.fixture(scope="session")
def unconditional_run(tmp_path_factory) -> pathlib.Path:
    return train_tiny(tmp_path_factory.mktemp("unconditional"), "rin",
                      "[model]\nclass_conditional = false\n")
