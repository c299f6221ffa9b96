"""Trains a tiny PyTorch U-Net on Fashion-MNIST with a noisesched schedule and input scale, in a
plain PyTorch loop, then samples it with noisesched's DPM-Solver++(2M) and classifier-free
guidance. docs/python.md shows its output.

    PYTHONPATH=build/python python3 examples/python/train_tiny_unet.py --steps 2000

Everything noise-related comes from noisesched: t ~ U(0, 1), z_t and eps from Schedule.noise (the
input scale b and the normalisation as the C++ trainer applies them), the noise level the network
is conditioned on, the v target, and the sampler. The network and the optimizer are PyTorch's.
"""

import argparse
import gzip
import os
import pathlib
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

import noisesched

CLASSES = 10  # label 10 is "no class" (dropped labels, and the unconditional half of guidance)


def load_fashion_mnist(folder: pathlib.Path, split: str = "train"):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz") as f:
        _, n, rows, cols = struct.unpack(">IIII", f.read(16))
        images = np.frombuffer(f.read(), dtype=np.uint8).reshape(n, 1, rows, cols)
    with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz") as f:
        f.read(8)
        labels = np.frombuffer(f.read(), dtype=np.uint8)
    x = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)
    return x, torch.from_numpy(labels.astype(np.int64))


class Block(nn.Module):
    """A residual block whose features are shifted and scaled by the conditioning."""

    def __init__(self, cin, cout, emb):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = nn.GroupNorm(8, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.film = nn.Linear(emb, 2 * cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, e):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(e)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(F.silu(h))


class TinyUNet(nn.Module):
    """28x28 -> 14x14 -> 7x7 and back, conditioned on the noise level (logSNR) and the class."""

    def __init__(self, ch=16, emb=64):
        super().__init__()
        self.freqs = nn.Parameter(torch.randn(emb // 2) * 0.3, requires_grad=False)
        self.level = nn.Sequential(nn.Linear(emb, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.label = nn.Embedding(CLASSES + 1, emb)
        self.inp = nn.Conv2d(1, ch, 3, padding=1)
        self.d1, self.d2 = Block(ch, ch, emb), Block(ch, 2 * ch, emb)
        self.mid = Block(2 * ch, 2 * ch, emb)
        self.u2, self.u1 = Block(4 * ch, ch, emb), Block(2 * ch, ch, emb)
        self.out = nn.Sequential(nn.GroupNorm(8, ch), nn.SiLU(), nn.Conv2d(ch, 1, 3, padding=1))

    def forward(self, x, logsnr, labels):
        angles = logsnr[:, None].float() * self.freqs[None]
        e = self.level(torch.cat([angles.sin(), angles.cos()], dim=1)) + self.label(labels)
        h1 = self.d1(self.inp(x), e)                      # 28x28
        h2 = self.d2(F.avg_pool2d(h1, 2), e)              # 14x14
        m = self.mid(F.avg_pool2d(h2, 2), e)              # 7x7
        u2 = self.u2(torch.cat([F.interpolate(m, scale_factor=2), h2], 1), e)
        u1 = self.u1(torch.cat([F.interpolate(u2, scale_factor=2), h1], 1), e)
        return self.out(u1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--schedule", default="sigmoid@0,3,0.7")
    parser.add_argument("--scale", type=float, default=0.9, help="the input scale b")
    parser.add_argument("--recipe", default="dpmpp_2m steps=25 guidance=1")
    parser.add_argument("--threads", type=int, default=0, help="0: all cores")
    parser.add_argument("--out", default="python_example_samples.png")
    args = parser.parse_args()
    # Debian's torch starts with one thread; use every core unless told otherwise.
    torch.set_num_threads(args.threads or os.cpu_count())
    torch.manual_seed(0)

    schedule = noisesched.Schedule(args.schedule, scale=args.scale)
    print(f"schedule {schedule.spec}, b = {schedule.scale}, normalization {schedule.normalization}")
    x, y = load_fashion_mnist(pathlib.Path(args.data))
    net = TinyUNet()
    print(f"TinyUNet: {sum(p.numel() for p in net.parameters())} parameters; "
          f"{len(x)} training images; {torch.get_num_threads()} threads")
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=0.01)
    lr = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.steps, pct_start=0.05)

    start, running = time.time(), []
    for step in range(1, args.steps + 1):
        idx = torch.randint(0, len(x), (args.batch,))
        x0, labels = x[idx], y[idx].clone()
        labels[torch.rand(args.batch) < 0.1] = CLASSES     # label dropout for guidance
        t = torch.rand(args.batch)
        z_t, eps = schedule.noise(x0, t)                 # b x0 noised and normalised, as the trainer does
        level = schedule.noise_level(t)                  # what the network is conditioned on
        loss = F.mse_loss(net(z_t, level, labels), schedule.target("v", x0, eps, t))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        lr.step()
        running.append(loss.item())
        if step % (args.steps // 10) == 0 or step == 1:
            print(f"step {step:5d}  loss {np.mean(running):.4f}  {time.time() - start:6.1f} s")
            running = []

    net.eval()
    classes = [c for c in range(CLASSES) for _ in range(8)]
    t0 = time.time()
    images = noisesched.sample(net, (len(classes), 1, 28, 28), args.recipe, classes,
                               schedule=schedule, target="v", num_classes=CLASSES, seed=0)
    print(f"sampled {len(classes)} images with {noisesched.plan(args.recipe).recipe} "
          f"in {time.time() - t0:.1f} s; pixel mean {images.mean():.3f} "
          f"(training images {x.mean():.3f}), std {images.std():.3f} ({x.std():.3f})")
    grid = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    grid = grid.view(CLASSES, 8, 28, 28).permute(0, 2, 1, 3).reshape(CLASSES * 28, 8 * 28)
    Image.fromarray(grid.numpy()).resize((8 * 56, CLASSES * 56), Image.NEAREST).save(args.out)
    print(f"wrote {args.out}: one row per class")


if __name__ == "__main__":
    main()
