"""The advisor from Python against `noisesched advise` on Fashion-MNIST, and its input checks."""

import gzip
import pathlib
import re

import numpy as np
import pytest
import torch

import noisesched
from conftest import run_program

FMNIST = pathlib.Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


@pytest.mark.skipif(not FMNIST.exists(), reason="needs Debian's dataset-fashion-mnist")
def test_advice_equals_the_programs_on_fashion_mnist():
    with gzip.open(FMNIST) as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    advice = noisesched.advise(images, [64, 128], reference=32, max_images=200)
    out = run_program("advise", "--resolution", "64,128", "--reference", "32", "--images", "200").stdout
    printed = {int(m.group(1)): (float(m.group(2)), float(m.group(3)), float(m.group(4)))
               for m in re.finditer(r"^\s+(\d+)\s+(-?[\d.]+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+$", out, re.M)}
    assert set(printed) == {64, 128}
    for a in advice:
        shift, b, misfit = printed[a.resolution]
        assert (round(a.shift, 3), round(a.b, 3), round(a.misfit, 4)) == (shift, b, misfit)
    assert advice[0].b < 1 and advice[1].b < advice[0].b  # larger images want a smaller b
    # floats in [-1, 1] are the same images
    as_float = torch.from_numpy(images[:400].astype(np.float32) / 127.5 - 1)
    assert noisesched.advise(as_float, [64], max_images=50) == noisesched.advise(images[:400], [64], max_images=50)


@pytest.mark.parametrize("images, resolutions, message", [
    (np.zeros((4, 2, 1, 8, 8), dtype=np.uint8), [16], "[N, C, H, W]"),
    (np.zeros((4, 8, 8), dtype=np.int32), [16], "uint8 or floats"),
    (np.zeros((4, 8, 8), dtype=np.uint8), [0], "resolution 0"),
    (np.zeros((0, 8, 8), dtype=np.uint8), [16], "at least one image"),
    (np.zeros((4, 8, 8, 3), dtype=np.uint8), [16], "look like [N, H, W, C]"),
    (np.full((4, 8, 8), 200.0), [16], "float images must lie in [-1, 1]"),
    (np.zeros((4, 8, 8), dtype=np.uint8), [16.0], "a resolution must be a whole number"),
])
def test_errors_raise(images, resolutions, message):
    with pytest.raises(noisesched.Error, match=re.escape(message)):
        noisesched.advise(images, resolutions, reference=8)


def test_floats_that_look_like_zero_to_one_warn():
    images = np.random.default_rng(0).random((8, 8, 8))
    with pytest.warns(UserWarning, match=re.escape("pass x * 2 - 1")):
        noisesched.advise(images, [16], reference=8, max_images=8)
