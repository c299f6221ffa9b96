"""Sampler plans and the sampler loop from Python: the plan against the program's table, the
samplers on an exact denoiser, a Python model against the same network sampled in C++, and the
callback's contract (labels, guidance, self-conditioning, errors)."""

import math
import re

import numpy as np
import pytest
import torch

import noisesched
from conftest import run_program


def test_plan_is_the_programs_table():
    recipe = "dpmpp_2m steps=25 guidance=1.5"
    p = noisesched.plan(recipe)
    assert len(p) == 25 and p.evaluations == 25
    assert p.recipe == noisesched.plan(p.recipe).recipe  # canonical
    assert p.recipe.startswith("dpmpp_2m steps=25") and "guidance=1.5" in p.recipe
    # (the program's positional spec is the recipe's inference schedule, cosine by default)
    assert p.csv == run_program("schedule", "cosine", "--table", "--csv", "--recipe", recipe).stdout
    assert str(p) == run_program("schedule", "cosine", "--table", "--recipe", recipe).stdout
    assert p["t_eval"][0] == 1.0 and p.rows[-1]["rule"] == "result"
    # first order on the first step and after the evaluation at gamma = clip_min, then multistep
    assert list(p["order"][:3]) == [1, 1, 2] and p.rows[1]["rule"] == "first order"
    heun = noisesched.plan("heun steps=10")
    assert heun.evaluations > 10 and heun["c_correct"].any()
    with pytest.raises(KeyError):
        p["gamma"]
    with pytest.raises(noisesched.Error, match="steps"):
        noisesched.plan("ddim steps=0")


def gaussian_denoiser(mu, sd, b, target):
    """The exact denoiser of x0 ~ N(mu, sd^2) per pixel under normalization "none"."""
    m, v = b * mu, (b * sd) ** 2

    def model(x, level, labels):
        gamma = torch.sigmoid(level.double() - 2 * math.log(b)).view(-1, 1, 1, 1)
        a, s = gamma.sqrt(), (1 - gamma).sqrt()
        z = x.double()
        x0 = m + a * v / (a * a * v + s * s) * (z - a * m)
        eps = (z - a * x0) / s
        out = {"eps": eps, "x0": x0, "v": a * eps - s * x0}[target]
        return out.float()

    return model


MU, SD, B = 0.2, 0.25, 0.7


def gaussian_samples(recipe, target="eps", n=1000):
    schedule = noisesched.Schedule("cosine", scale=B, normalization="none")
    return noisesched.sample(gaussian_denoiser(MU, SD, B, target), (n, 1, 4, 4),
                             recipe + " clip=off", schedule=schedule, target=target,
                             generator=torch.Generator().manual_seed(0))


def final_sd(steps):
    """The spread of the result, E[x0 | z] at the last grid point t = 1 / steps (the recipe's
    cosine inference schedule), when z there has the exact distribution."""
    g, v = noisesched.Schedule("cosine").gamma(1 / steps), (B * SD) ** 2
    return SD * math.sqrt(g * v / (g * v + 1 - g))


@pytest.mark.parametrize("recipe", ["ddim steps=200", "dpmpp_2m steps=30", "heun steps=30",
                                    "ddpm steps=200"])
@pytest.mark.parametrize("target", ["eps", "v"])
def test_samplers_on_an_exact_denoiser_give_the_data_distribution(recipe, target):
    images = gaussian_samples(recipe, target)
    assert images.shape == (1000, 1, 4, 4) and images.dtype == torch.float32
    assert images.mean().item() == pytest.approx(MU, abs=0.01)
    steps = int(recipe.split("steps=")[1])
    # 16000 values: the sampling error of the spread is 0.6%; the rest is discretisation
    assert images.std().item() == pytest.approx(final_sd(steps), rel=0.03)


@pytest.mark.parametrize("sampler", ["ddim", "ddpm_small"])
def test_first_order_samplers_converge_as_the_steps_grow(sampler):
    errors = [abs(gaussian_samples(f"{sampler} steps={n}").std().item() / final_sd(n) - 1)
              for n in (50, 200, 1000)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.02, errors


def test_a_python_model_is_sampled_exactly_like_the_same_network_in_cpp(unet_run):
    model = noisesched.load(unet_run)
    assert model.architecture == "unet" and model.self_condition

    def in_python(x, level, labels, self_cond):
        return model(x, level, labels, self_cond)

    for recipe in ("ddim steps=6", "ddpm steps=5 guidance=1.5", "dpmpp_2m steps=5"):
        kwargs = dict(classes=[1, 2, 3, 4], seed=5, batch_size=3)
        cpp = noisesched.sample(model, (4, 1, 8, 8), recipe, **kwargs)
        python = noisesched.sample(in_python, (4, 1, 8, 8), recipe, schedule=model.schedule,
                                   target=model.target, self_condition=True,
                                   num_classes=model.num_classes, **kwargs)
        assert torch.equal(cpp, python), recipe
        g = lambda: torch.Generator().manual_seed(3)
        assert torch.equal(noisesched.sample(model, (4, 1, 8, 8), recipe, 2, generator=g()),
                           noisesched.sample(in_python, (4, 1, 8, 8), recipe, 2, generator=g(),
                                             schedule=model.schedule, target=model.target,
                                             self_condition=True, num_classes=model.num_classes))


def test_the_callback_sees_labels_guidance_halves_and_self_conditioning():
    seen = []

    def model(x, level, labels, self_cond):
        seen.append((x.shape[0], labels.tolist(), self_cond.abs().sum().item(), level.dtype))
        return torch.zeros_like(x)

    schedule = noisesched.Schedule("cosine")
    noisesched.sample(model, (2, 1, 4, 4), "ddim steps=3 guidance=2", classes=[0, 4],
                      schedule=schedule, num_classes=5, self_condition=True)
    assert len(seen) == 3
    assert seen[0][0] == 4 and seen[0][1] == [0, 4, 5, 5]  # conditional half, then the null class
    assert seen[0][2] == 0.0 and seen[0][3] == torch.float32  # no self-conditioning signal yet
    uncond = []
    noisesched.sample(lambda x, l, c: uncond.append(c.tolist()) or torch.zeros_like(x),
                      (2, 1, 4, 4), "ddim steps=2", schedule=schedule, num_classes=3)
    assert uncond == [[3, 3], [3, 3]]


def test_seeds_and_generators_repeat_and_differ():
    schedule = noisesched.Schedule("cosine", normalization="none")
    model = gaussian_denoiser(0.0, 0.5, 1.0, "eps")
    draw = lambda **kw: noisesched.sample(model, (3, 1, 4, 4), "ddpm steps=5", schedule=schedule, **kw)
    assert torch.equal(draw(seed=1), draw(seed=1))
    assert not torch.equal(draw(seed=1), draw(seed=2))
    g = lambda s: torch.Generator().manual_seed(s)
    assert torch.equal(draw(generator=g(4)), draw(generator=g(4)))
    assert not torch.equal(draw(generator=g(4)), draw(generator=g(5)))


class Boom(Exception):
    pass


def raises_boom(x, level, labels):
    raise Boom("the user's model failed")


@pytest.mark.parametrize("call, error, message", [
    (lambda s: noisesched.sample(lambda x, l, c: x[:, :1], (2, 2, 4, 4), schedule=s),
     noisesched.Error, "returned a tensor of shape [2, 1, 4, 4]"),
    (lambda s: noisesched.sample(lambda x, l, c: 3.0, (2, 1, 4, 4), schedule=s),
     noisesched.Error, "must return a torch.Tensor"),
    (lambda s: noisesched.sample(raises_boom, (2, 1, 4, 4), schedule=s), Boom, "the user's model"),
    (lambda s: noisesched.sample(lambda x, l, c: x, (2, 1, 4, 4)), noisesched.Error, "schedule="),
    (lambda s: noisesched.sample(lambda x, l, c: x, (2, 1, 4, 4), "ddim guidance=1", schedule=s),
     noisesched.Error, "class-conditional"),
    (lambda s: noisesched.sample(lambda x, l, c: x, (2, 1, 4, 4), classes=[0, 7], schedule=s,
                                 num_classes=5), noisesched.Error, "class 7 is outside [0, 5]"),
    (lambda s: noisesched.sample(lambda x, l, c: x, (2, 1, 4, 4), "euler", schedule=s),
     noisesched.Error, "euler"),
    (lambda s: noisesched.sample(lambda x, l, c: x, (2, 1, 4, 8), seed=1, schedule=s),
     noisesched.Error, "square"),
    (lambda s: noisesched.sample(lambda x, l, c: x, (2, 4, 4), schedule=s), noisesched.Error,
     "(N, C, H, W)"),
    (lambda s: noisesched.sample(lambda x, l, c: x, (2, 1, 4, 4), schedule=s, target="score"),
     noisesched.Error, "score"),
])
def test_errors_raise(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(noisesched.Schedule("cosine"))


def test_a_module_samples_in_eval_mode_and_gets_its_mode_back():
    class WithDropout(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = torch.nn.Dropout(0.5)

        def forward(self, x, level, labels):
            return self.drop(torch.ones_like(x)) * 0.1

    net = WithDropout().train()
    schedule = noisesched.Schedule("cosine")
    a = noisesched.sample(net, (2, 1, 4, 4), "ddim steps=3", schedule=schedule, seed=0)
    b = noisesched.sample(net, (2, 1, 4, 4), "ddim steps=3", schedule=schedule, seed=0)
    assert torch.equal(a, b) and net.training  # no dropout while sampling; train mode after
    net.eval()
    noisesched.sample(net, (2, 1, 4, 4), "ddim steps=3", schedule=schedule, seed=0)
    assert not net.training


def test_images_are_sampled_batch_size_at_a_time_with_either_noise():
    sizes = []

    def model(x, level, labels):
        sizes.append(x.shape[0])
        return torch.zeros_like(x)

    schedule = noisesched.Schedule("cosine")
    for noise in (dict(seed=0), dict(generator=torch.Generator().manual_seed(0))):
        sizes.clear()
        images = noisesched.sample(model, (5, 1, 4, 4), "ddim steps=2", schedule=schedule,
                                   batch_size=2, **noise)
        assert images.shape == (5, 1, 4, 4) and sizes == [2, 2, 2, 2, 1, 1], (noise, sizes)


def test_classes_are_whole_numbers():
    schedule = noisesched.Schedule("cosine")
    seen = []
    model = lambda x, l, c: seen.append(c.tolist()) or torch.zeros_like(x)
    noisesched.sample(model, (3, 1, 4, 4), "ddim steps=1", torch.tensor(2), schedule=schedule,
                      num_classes=4)
    noisesched.sample(model, (3, 1, 4, 4), "ddim steps=1", np.array([0, 1, 3]), schedule=schedule,
                      num_classes=4)
    assert seen == [[2, 2, 2], [0, 1, 3]]
    for classes, message in [([2.7, 1.2, 0], "a class must be a whole number"),
                             (torch.tensor([2.0, 1.0, 0.0]), "integers"),
                             ("12", "sample: classes must be None"),
                             (2.0, "whole number"), ([1, 2], "2 classes for 3 images")]:
        with pytest.raises(noisesched.Error, match=re.escape(message)):
            noisesched.sample(model, (3, 1, 4, 4), "ddim steps=1", classes, schedule=schedule,
                              num_classes=4)
    for kwargs, message in [(dict(seed=-1), "seed must lie in"), (dict(seed=2**64), "seed"),
                            (dict(batch_size=0), "batch_size must be >= 1"),
                            (dict(num_classes=-1), "num_classes must be >= 0"),
                            (dict(seed=1.5), "seed must be a whole number")]:
        with pytest.raises(noisesched.Error, match=re.escape(message)):
            noisesched.sample(model, (3, 1, 4, 4), "ddim steps=1", schedule=schedule, **kwargs)


def test_other_python_threads_run_while_a_loaded_model_samples(rin_run):
    import threading
    import time
    model = noisesched.load(rin_run)
    ticks, done = [], threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    thread = threading.Thread(target=tick)
    thread.start()
    start = time.monotonic()
    noisesched.sample(model, (64, 1, 8, 8), "ddim steps=40", seed=0)
    end = time.monotonic()
    done.set()
    thread.join()
    during = [t for t in ticks if start < t < end]
    assert len(during) >= 10, (len(during), end - start)
