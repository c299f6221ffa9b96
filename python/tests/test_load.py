"""Trained runs from Python: what load() restores, the same images as `noisesched sample`, the
model as a differentiable torch callable, and the errors."""

import re

import numpy as np
import pytest
import torch
from PIL import Image

import noisesched
from conftest import run_program


def cli_images(run, out, recipe, seed, classes, num, batch_size=64):
    run_program("sample", "--checkpoint", str(run), "--recipe", recipe, "--seed", str(seed),
                "--classes", classes, "--num", str(num), "--batch-size", str(batch_size),
                "--out", str(out), "--progress", "lines")
    rows = []
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.png"))
        rows += [np.asarray(Image.open(f)) for f in files]
    return torch.from_numpy(np.stack(rows)).reshape(len(rows), 1, 8, 8)


def to_bytes(images):
    """As the program writes images: clip to [-1, 1], map to [0, 255], round."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def test_load_restores_the_run(rin_run, unet_run):
    rin = noisesched.load(rin_run)
    assert rin.step == 4 and rin.weights == "ema" and rin.architecture == "rin"
    assert rin.num_classes == 10 and rin.class_conditional and len(rin.class_names) == 10
    assert rin.channels == 1 and rin.resolution == 8 and rin.device == torch.device("cpu")
    assert rin.schedule.spec == "simple_linear" and rin.schedule.scale == 1.0
    assert "[diffusion]" in rin.config and "step 4" in repr(rin)
    unet = noisesched.load(unet_run, weights="model")
    assert unet.weights == "model" and unet.target == "v" and unet.self_condition
    assert unet.schedule == noisesched.Schedule("sigmoid@0,3,0.7", scale=0.7)
    assert not unet.training
    assert set(unet.named_parameters()) and all(
        isinstance(p, torch.Tensor) for p in unet.parameters())


@pytest.mark.parametrize("recipe", ["ddim steps=8", "ddpm steps=6 guidance=1"])
def test_sampling_a_loaded_run_gives_the_programs_images(rin_run, unet_run, tmp_path, recipe):
    for name, run in (("rin", rin_run), ("unet", unet_run)):
        model = noisesched.load(run)
        expected = cli_images(run, tmp_path / name, recipe, seed=11, classes="3,7", num=5,
                              batch_size=4)
        labels = [3] * 5 + [7] * 5
        images = noisesched.sample(model, (10, 1, 8, 8), recipe, labels, seed=11, batch_size=4)
        assert images.dtype == torch.float32 and images.shape == (10, 1, 8, 8)
        assert torch.equal(to_bytes(images), expected), (name, recipe)


def test_the_model_is_a_differentiable_torch_callable(unet_run):
    model = noisesched.load(unet_run).train()
    assert model.training
    x = torch.randn(2, 1, 8, 8)
    level = torch.tensor([0.5, -2.0])
    labels = torch.tensor([1, 10])
    out = model(x, level, labels)
    assert out.shape == x.shape and out.dtype == torch.float32 and out.requires_grad
    (out ** 2).mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
    # An optimizer step on the returned tensors changes the network itself.
    before = model(x, level, labels).detach()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert not torch.equal(model(x, level, labels).detach(), before)
    with torch.no_grad():
        assert not model.eval()(x, level, labels).requires_grad
        # one number for every example, as a plain Python value
        assert torch.equal(model(x, 0.5, 1), model(x, torch.tensor([0.5, 0.5]), torch.tensor([1, 1])))
    prediction, latents = noisesched.load(unet_run).forward(x, level, labels)
    assert latents is None


def test_rin_returns_its_latents_for_self_conditioning(rin_run):
    model = noisesched.load(rin_run)
    x = torch.randn(3, 1, 8, 8)
    prediction, latents = model.forward(x, torch.zeros(3), torch.tensor([0, 1, 10]))
    assert prediction.shape == x.shape and latents.shape[0] == 3


@pytest.mark.parametrize("call, message", [
    (lambda run: noisesched.load(run / "nowhere"), "nowhere"),
    (lambda run: noisesched.load(run, weights="best"), "best"),
    (lambda run: noisesched.load(run, device="tpu"), "tpu"),
    (lambda run: noisesched.sample(noisesched.load(run), (2, 1, 16, 16)), "[1, 8, 8]"),
    (lambda run: noisesched.sample(noisesched.load(run), (2, 1, 8, 8), classes=[0, 11]),
     "class 11 is outside [0, 10]"),
    (lambda run: noisesched.sample(noisesched.load(run), (2, 1, 8, 8),
                                   schedule=noisesched.Schedule("cosine")), "own schedule"),
    (lambda run: noisesched.sample(noisesched.load(run), (2, 1, 8, 8), target="eps"),
     "own target"),
    (lambda run: noisesched.load(run)(torch.zeros(2, 1, 8, 8), 0.0, [1, 11]),
     "classes must lie in [0, 10]"),
    (lambda run: noisesched.load(run)(torch.zeros(2, 1, 8, 8), 0.0, [1.5, 2.0]),
     "classes must be integers"),
    (lambda run: noisesched.load(run)(torch.zeros(2, 1, 8, 8), [0.0, 1.0, 2.0], 1), "logsnr (3,)"),
])
def test_errors_raise(rin_run, call, message):
    with pytest.raises(noisesched.Error, match=re.escape(message)):
        call(rin_run)


def test_an_unconditional_run_samples_like_the_program_and_refuses_classes(unconditional_run,
                                                                           tmp_path):
    model = noisesched.load(unconditional_run)
    assert not model.class_conditional
    expected = cli_images(unconditional_run, tmp_path / "cli", "ddim steps=5", seed=2,
                          classes="all", num=3)
    assert torch.equal(to_bytes(noisesched.sample(model, (3, 1, 8, 8), "ddim steps=5", seed=2)),
                       expected)
    with pytest.raises(noisesched.Error, match="classifier-free guidance needs a class-conditional"):
        noisesched.sample(model, (3, 1, 8, 8), "ddim steps=5 guidance=1")
    with pytest.raises(noisesched.Error, match="unconditional"):
        noisesched.sample(model, (3, 1, 8, 8), classes=1)
