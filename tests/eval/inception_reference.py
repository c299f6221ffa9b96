#!/usr/bin/python3
"""Test fixture for the Inception-v3 parity test: builds torchvision's Inception-v3 with random
weights (random BatchNorm statistics too, so no layer is an identity), optionally turns it into
the FID variant, runs byte images through the FID preprocessing, and writes
  OUT_DIR/weights.safetensors  the state_dict (via scripts/convert_inception_weights.py)
  OUT_DIR/io.safetensors       images (uint8), pool3 features, logits

Usage: inception_reference.py OUT_DIR torchvision|fid

The FID variant (pytorch-fid's FIDInceptionA/C/E_1/E_2 on the TF 2015 graph) differs from
torchvision's network in four places, re-implemented here from that description:
  - InceptionA (Mixed_5b-5d), InceptionC (Mixed_6b-6e), Mixed_7b: the pool branch's 3x3 average
    pool excludes padding (count_include_pad=False);
  - Mixed_7c: the pool branch is a 3x3 max pool;
  - 1008 output classes.
"""
import os
import sys
import types

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from convert_inception_weights import inception_tensors, save_safetensors  # noqa: E402


def pool_a(x):
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


def fid_a(self, x):
    b1 = self.branch1x1(x)
    b5 = self.branch5x5_2(self.branch5x5_1(x))
    b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
    return torch.cat([b1, b5, b3, self.branch_pool(pool_a(x))], 1)


def fid_c(self, x):
    b1 = self.branch1x1(x)
    b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
    d = x
    for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                  self.branch7x7dbl_4, self.branch7x7dbl_5):
        d = layer(d)
    return torch.cat([b1, b7, d, self.branch_pool(pool_a(x))], 1)


def fid_e(pool):
    def forward(self, x):
        b1 = self.branch1x1(x)
        t = self.branch3x3_1(x)
        t = torch.cat([self.branch3x3_2a(t), self.branch3x3_2b(t)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        return torch.cat([b1, t, d, self.branch_pool(pool(x))], 1)
    return forward


def main(out_dir, variant):
    torch.manual_seed(0)
    fid = variant == "fid"
    model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True,
                                            transform_input=False,
                                            num_classes=1008 if fid else 1000)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    if fid:
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d"):
            getattr(model, name).forward = types.MethodType(fid_a, getattr(model, name))
        for name in ("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
            getattr(model, name).forward = types.MethodType(fid_c, getattr(model, name))
        model.Mixed_7b.forward = types.MethodType(fid_e(pool_a), model.Mixed_7b)
        model.Mixed_7c.forward = types.MethodType(
            fid_e(lambda x: F.max_pool2d(x, 3, 1, 1)), model.Mixed_7c)
    model.eval()

    channels = 1 if fid else 3
    images = torch.randint(0, 256, (2, channels, 40, 40), dtype=torch.uint8)
    x = images.float() / 255
    x = x.expand(-1, 3, -1, -1)
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1
    pooled = {}
    model.avgpool.register_forward_hook(lambda m, i, o: pooled.setdefault("pool3", o))
    with torch.no_grad():
        logits = model(x)
    features = torch.flatten(pooled["pool3"], 1)

    tensors, kind = inception_tensors(model.state_dict())
    assert kind == ("inception_v3_fid" if fid else "inception_v3")
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), tensors, {"kind": kind})
    save_safetensors(os.path.join(out_dir, "io.safetensors"),
                     {"images": images.numpy(), "features": features.numpy().astype(np.float32),
                      "logits": logits.numpy().astype(np.float32)}, {"variant": variant})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
