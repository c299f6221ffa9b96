"""The forward process from Python: noise, targets, estimates and conversions against formulas
written out here in double precision; dtypes, shapes, gradients and errors."""

import math
import re

import numpy as np
import pytest
import torch

import noisesched

B = 3


def batch(dtype=torch.float64, requires_grad=False):
    g = torch.Generator().manual_seed(0)
    x0 = (torch.rand(B, 2, 4, 4, generator=g, dtype=dtype) * 2 - 1).requires_grad_(requires_grad)
    eps = torch.randn(B, 2, 4, 4, generator=g, dtype=dtype)
    return x0, eps


def scales(s, t):
    a = torch.tensor([math.sqrt(s.gamma(x)) for x in t], dtype=torch.float64).view(-1, 1, 1, 1)
    sig = torch.tensor([math.sqrt(s.one_minus_gamma(x)) for x in t],
                       dtype=torch.float64).view(-1, 1, 1, 1)
    return a, sig


def test_noise_is_the_scaled_forward_process_and_the_normalisations_apply():
    t = [0.1, 0.5, 0.9]
    x0, eps = batch()
    b = 0.5
    for mode in ("none", "empirical", "analytic"):
        s = noisesched.Schedule("sigmoid@0,3,0.7", scale=b, normalization=mode)
        a, sig = scales(s, t)
        z_expected = a * b * x0 + sig * eps
        z, eps_out = s.noise(x0, t, eps=eps, normalize=False)
        assert eps_out is eps
        assert torch.allclose(z, z_expected, rtol=0, atol=1e-12)
        x_in, _ = s.noise(x0, t, eps=eps)
        if mode == "none":
            assert torch.equal(x_in, z)
        elif mode == "empirical":
            assert torch.allclose(x_in.flatten(1).std(1, unbiased=False), torch.ones(B, dtype=torch.float64))
        else:
            factor = torch.tensor([1 / math.sqrt((b * b - 1) * s.gamma(x) + 1) for x in t],
                                  dtype=torch.float64).view(-1, 1, 1, 1)
            assert torch.allclose(x_in, z * factor, rtol=0, atol=1e-12)


def test_noise_keeps_dtype_and_shape_draws_from_the_generator_and_passes_gradients():
    s = noisesched.Schedule("cosine", normalization="none")
    x0, _ = batch(torch.float32, requires_grad=True)
    z1, e1 = s.noise(x0, 0.3, generator=torch.Generator().manual_seed(7))
    z2, e2 = s.noise(x0, 0.3, generator=torch.Generator().manual_seed(7))
    assert z1.dtype == torch.float32 and z1.shape == x0.shape and torch.equal(z1, z2)
    assert torch.equal(e1, e2)
    z1.sum().backward()
    assert torch.allclose(x0.grad, torch.full_like(x0, math.sqrt(s.gamma(0.3))))


def test_targets_are_eps_b_x0_and_v():
    t = torch.tensor([0.2, 0.6, 0.95])
    x0, eps = batch()
    s = noisesched.Schedule("cosine", scale=0.7)
    a, sig = scales(s, t.tolist())
    assert torch.equal(s.target("eps", x0, eps, t), eps)
    assert torch.allclose(s.target("x0", x0, eps, t), 0.7 * x0, rtol=0, atol=1e-15)
    assert torch.allclose(s.target("v", x0, eps, t), a * eps - sig * 0.7 * x0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["eps", "x0", "v"])
def test_estimates_invert_the_target(kind):
    t = [0.2, 0.6, 0.95]
    x0, eps = batch()
    s = noisesched.Schedule("sigmoid@0,3,0.7", scale=0.5, normalization="empirical")
    z, _ = s.noise(x0, t, eps=eps, normalize=False)
    x0_hat, eps_hat = s.estimates(kind, s.target(kind, x0, eps, t), z, t)
    assert torch.allclose(x0_hat, x0, rtol=0, atol=1e-9)
    assert torch.allclose(eps_hat, eps, rtol=0, atol=1e-9)


def test_convert_maps_every_parameterisation_onto_every_other():
    x0, eps = batch()
    gamma = torch.tensor([0.9, 0.5, 0.01], dtype=torch.float64)
    a, sig = gamma.sqrt().view(-1, 1, 1, 1), (1 - gamma).sqrt().view(-1, 1, 1, 1)
    z = a * x0 + sig * eps
    values = {"eps": eps, "x0": x0, "v": a * eps - sig * x0}
    for source in values:
        for dest in values:
            got = noisesched.convert(values[source], z, gamma, source, dest)
            assert torch.allclose(got, values[dest], rtol=0, atol=1e-9), (source, dest)
    one = noisesched.convert(values["v"], z, 0.5, "v", "eps")  # one gamma for every example
    assert one.shape == z.shape


@pytest.mark.parametrize("call, message", [
    (lambda s, x, e: s.noise(x, [0.1, 0.2], eps=e), "noise: t: 2 values for a batch of 3"),
    (lambda s, x, e: s.noise(x, 0.1, eps=e[:, :1]), "eps of shape"),
    (lambda s, x, e: s.target("score", x, e, 0.1), "score"),
    (lambda s, x, e: s.estimates("v", x, e, 2.0), "2"),
    (lambda s, x, e: noisesched.convert(x, e, 0.0, "v", "eps"), "gamma must lie in (0, 1]"),
])
def test_errors_raise(call, message):
    x0, eps = batch()
    with pytest.raises(noisesched.Error, match=re.escape(message)):
        call(noisesched.Schedule("cosine"), x0, eps)


@pytest.mark.parametrize("shape", [(4,), (4, 16), (4, 2, 8), (4, 2, 3, 5, 5)])
def test_every_number_of_dimensions_is_noised_per_example(shape):
    # Each example at its own t, whatever the shape (a [B, 1, 1, 1] factor would broadcast a
    # [B, D] batch into [B, B, ...] or mix the examples).
    g = torch.Generator().manual_seed(1)
    x0 = torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1
    eps = torch.randn(shape, generator=g, dtype=torch.float64)
    t = [0.1, 0.4, 0.7, 0.95]
    for mode in ("none", "empirical", "analytic"):
        s = noisesched.Schedule("cosine", scale=0.5, normalization=mode)
        z, _ = s.noise(x0, t, eps=eps, normalize=False)
        x_in, _ = s.noise(x0, t, eps=eps)
        v = s.target("v", x0, eps, t)
        assert z.shape == x_in.shape == v.shape == x0.shape
        for i, ti in enumerate(t):
            a, sig = math.sqrt(s.gamma(ti)), math.sqrt(s.one_minus_gamma(ti))
            assert torch.allclose(z[i], a * 0.5 * x0[i] + sig * eps[i], rtol=0, atol=1e-12)
            assert torch.allclose(v[i], a * eps[i] - sig * 0.5 * x0[i], rtol=0, atol=1e-12)
            if mode == "empirical" and x0[i].numel() > 1:  # (one value has no spread)
                assert x_in[i].std(unbiased=False).item() == pytest.approx(1.0, abs=1e-9)
        x0_hat, eps_hat = s.estimates("v", v, z, t)
        assert x0_hat.shape == x0.shape and torch.allclose(x0_hat, x0, atol=1e-9)


def test_at_t_zero_and_gamma_one_eps_is_zero_not_nan():
    x0, _ = batch()
    s = noisesched.Schedule("cosine")
    z, _ = s.noise(x0, 0.0, eps=torch.zeros_like(x0), normalize=False)
    x0_hat, eps_hat = s.estimates("x0", x0, z, 0.0)
    assert torch.equal(eps_hat, torch.zeros_like(x0)) and torch.allclose(x0_hat, x0)
    assert not noisesched.convert(x0, x0, 1.0, "x0", "eps").isnan().any()


def test_inputs_that_are_not_tensors_or_not_floats_are_refused():
    s = noisesched.Schedule("cosine")
    for call, message in [
        (lambda: s.noise(np.zeros((2, 3)), 0.5), "x0 must be a torch.Tensor"),
        (lambda: s.noise(torch.zeros(2, 3, dtype=torch.long), 0.5), "floating-point"),
        (lambda: s.noise(torch.tensor(1.0), 0.5), "0-d"),
        (lambda: s.noise(torch.zeros(2, 3), None), "t must be a number"),
        (lambda: s.gamma(None), "t must be a number"),
        (lambda: s.target("v", torch.zeros(2, 3), torch.zeros(1, 3), 0.5), "eps of shape [1, 3]"),
        (lambda: s.estimates("eps", torch.zeros(1, 3), torch.zeros(2, 3), 0.5), "output of shape"),
        (lambda: noisesched.convert(torch.zeros(2, 3), torch.zeros(2, 3), [0.5] * 3, "v", "eps"),
         "convert: gamma: 3 values for a batch of 2"),
        (lambda: noisesched.convert(torch.zeros(2, 3), torch.zeros(2, 3), -1e-10, "v", "eps"),
         "(got -1e-10)"),
    ]:
        with pytest.raises(noisesched.Error, match=re.escape(message)):
            call()
