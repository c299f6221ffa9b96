#!/usr/bin/python3
"""Independent FID for metrics_test: reads features `a` and `b` ([N, D] float64) from a
safetensors file and prints FID computed the way pytorch-fid does it, with NumPy's covariance and
SciPy's general matrix square root (scipy.linalg.sqrtm of S1 S2, real part, with the usual
eps * I retry when the product is singular).

Usage: fid_reference.py FEATURES.safetensors
"""
import os
import sys

import numpy as np
from scipy import linalg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "io"))
from read_safetensors import load  # noqa: E402


def fid(a, b, eps=1e-6):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


if __name__ == "__main__":
    _, tensors = load(sys.argv[1])
    print(repr(float(fid(tensors["a"][1], tensors["b"][1]))))
