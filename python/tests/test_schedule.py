"""Schedules from Python: the C++ tests' golden values, vectorisation over every input kind, the
input scale, and every error path."""

import math
import pathlib
import re

import numpy as np
import pytest
import torch

import noisesched

GOLDEN = pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "schedule_golden.inc"


def golden_rows():
    rows = []
    for line in GOLDEN.read_text().splitlines():
        m = re.match(r'\{"([^"]+)", ([^,]+), ([^,]+), ([^,]+), ([^,]+), ([^}]+)\},', line)
        if m:
            value = lambda s: math.inf if s.strip() == "kInf" else float(s)
            rows.append((m.group(1), *(value(m.group(i)) for i in range(2, 7))))
    return rows


def close(actual, expected, rel, abs_=0.0):
    if math.isinf(expected):
        return actual == expected
    return abs(actual - expected) <= rel * abs(expected) + abs_


def test_golden_values_of_every_family():
    rows = golden_rows()
    assert len(rows) > 50
    families = {noisesched.Schedule(spec).spec.split(":")[0] for spec, *_ in rows}
    assert families == {name for name, _, _ in noisesched.families()}
    for spec, t, gamma, one_minus, logsnr, density in rows:
        s = noisesched.Schedule(spec)
        assert close(s.gamma(t), gamma, 1e-12), (spec, t)
        assert close(s.one_minus_gamma(t), one_minus, 1e-11), (spec, t)
        assert close(s.logsnr(t), logsnr, 1e-11, 1e-11), (spec, t)
        if density >= 0:
            assert close(s.logsnr_density(s.logsnr(t)), density, 1e-6, 1e-12), (spec, t)


def test_vectorised_over_floats_sequences_numpy_and_tensors():
    s = noisesched.Schedule("sigmoid@0,3,0.7", scale=0.5)
    t = [0.0, 0.25, 0.5, 1.0]
    expected = [s.gamma(x) for x in t]
    assert isinstance(s.gamma(0.25), float)
    got = s.gamma(t)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.tolist() == expected
    grid = np.array(t).reshape(2, 2)
    assert s.gamma(grid).shape == (2, 2)
    assert s.gamma(grid).reshape(-1).tolist() == expected
    t32 = torch.tensor(t, dtype=torch.float32)
    g32 = s.gamma(t32)
    assert isinstance(g32, torch.Tensor) and g32.dtype == torch.float32 and g32.shape == (4,)
    assert torch.equal(g32, torch.tensor(expected, dtype=torch.float64).float())
    g64 = s.gamma(torch.tensor(t, dtype=torch.float64))
    assert g64.dtype == torch.float64 and g64.tolist() == expected


def test_scale_shifts_the_logsnr_and_auto_scale_divides_by_the_resolution():
    s = noisesched.Schedule("sigmoid@0,3,0.7", scale=0.5)
    assert s.scale == 0.5 and s.scale_text == "0.5"
    for t in (0.1, 0.5, 0.9):
        assert s.effective_logsnr(t) == pytest.approx(s.logsnr(t) + 2 * math.log(0.5), abs=1e-12)
        assert s.noise_level(t) == pytest.approx(s.effective_logsnr(t), abs=1e-12)
    assert noisesched.Schedule("cosine").noise_level(0.0) == 40.0  # clamped for the embedding
    auto = noisesched.Schedule("cosine", scale="auto:64", resolution=128)
    assert auto.scale == 0.5 and auto.scale_text == "auto:64"


def test_spec_round_trips_and_t_of_logsnr_inverts_logsnr():
    s = noisesched.Schedule("sigmoid@0,3,0.7")
    assert s.spec == "sigmoid:start=0,end=3,tau=0.7"
    assert noisesched.Schedule(s.spec) == s
    assert s != noisesched.Schedule(s.spec, scale=0.5)
    t = np.linspace(0.05, 0.95, 19)
    assert np.allclose(s.t_of_logsnr(s.logsnr(t)), t, atol=1e-9)
    assert s.t_of_logsnr(1e6) == 0.0 and s.t_of_logsnr(-1e6) == 1.0
    assert "sigmoid" in repr(s) and "scale=1" in repr(s)


def test_the_logsnr_density_integrates_to_one_over_the_unclipped_range():
    s = noisesched.Schedule("cosine")
    lo, hi = s.logsnr(1.0 - 1e-6), s.logsnr(1e-6)
    grid = np.linspace(lo, hi, 200001)
    assert np.trapz(s.logsnr_density(grid), grid) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("call, message", [
    (lambda: noisesched.Schedule("sigmoidd"), "sigmoidd"),
    (lambda: noisesched.Schedule("sigmoid:tau=-1"), "tau"),
    (lambda: noisesched.Schedule("cosine", scale=0), "scale"),
    (lambda: noisesched.Schedule("cosine", scale="auto:64"), "resolution"),
    (lambda: noisesched.Schedule("cosine", scale="auto:x", resolution=64), "auto:x"),
    (lambda: noisesched.Schedule("cosine", normalization="layer"), "layer"),
    (lambda: noisesched.Schedule("cosine").gamma(1.5), "1.5"),
    (lambda: noisesched.Schedule("cosine").gamma([0.5, -0.1]), "-0.1"),
])
def test_errors_raise_with_the_cpp_message(call, message):
    with pytest.raises(noisesched.Error, match=re.escape(message)):
        call()
    assert issubclass(noisesched.Error, ValueError)


def test_ddpm_linear_is_the_ddpm_schedulers_alphas_cumprod_one_step_later():
    # docs/python.md: diffusers' DDPMScheduler timestep k (alphas_cumprod[k] = prod_{j<=k} (1 -
    # beta_j)) is t = (k + 1) / 1000 of ddpm_linear.
    alphas_cumprod = np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))
    t = (np.arange(1000) + 1) / 1000
    assert np.allclose(noisesched.Schedule("ddpm_linear").gamma(t), alphas_cumprod, rtol=1e-13, atol=0)


def test_schedules_pickle_copy_hash_and_repr_round_trip():
    import copy
    import pickle
    for s in (noisesched.Schedule("sigmoid@0,3,0.7", scale=0.5, normalization="analytic"),
              noisesched.Schedule("cosine", scale="auto:64", resolution=128)):
        for other in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s),
                      eval(repr(s), {"noisesched": noisesched})):
            assert other == s and hash(other) == hash(s)
            assert other.scale_text == s.scale_text and other.resolution == s.resolution
    assert len({noisesched.Schedule("cosine"), noisesched.Schedule("cosine")}) == 1


def test_the_error_is_noisesched_error_and_bad_arguments_name_themselves():
    assert noisesched.Error.__module__ == "noisesched"
    for call, message in [
        (lambda: noisesched.Schedule("cosine", scale=None), "scale must be a number"),
        (lambda: noisesched.Schedule("cosine", scale=True), "scale must be a number"),
        (lambda: noisesched.Schedule("cosine", scale="auto:64", resolution="128"), "resolution"),
        (lambda: noisesched.Schedule("cosine", scale="auto:64", resolution=0), "resolution"),
    ]:
        with pytest.raises(noisesched.Error, match=re.escape(message)):
            call()
