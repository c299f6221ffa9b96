"""Plain-PyTorch reference implementations of noisesched's networks and training step.

For side-by-side speed benchmarks against the C++ program. Each piece mirrors a C++ source:

  layers (attention, Mlp, TransformerLayer, CrossAttentionBlock,
          NoiseLevelEmbedding)                  src/models/layers.cpp
  Rin                                           src/models/rin.cpp
  Unet                                          src/models/unet.cpp
  build_model                                   src/models/denoiser.cpp (make_denoiser)
  predict                                       src/diffusion/network.cpp, process.cpp
  train_step                                    src/train/engine.cpp (TrainingEngine::step)
  Optimizer (LAMB / AdamW), clip_grad_norm,
  ema_update                                    src/optim/optimizer.cpp
  load_config (defaults and --set overrides)    include/noisesched/config/config.h,
                                                src/config/config.cpp
  sample_ddim                                   src/sampling/sampler.cpp, schedule/sampler_step.cpp

Same layers, shapes, parameter names and parameter counts as the C++ models; the attention is
LibTorch's scaled_dot_product_attention where torch has it (2.0 on), written out otherwise, as
the C++ build does (src/models/layers.cpp). Random numbers are not the C++ ones. Works with
torch 1.13 and 2.x; needs Python 3.11+ (tomllib).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import sys
import tomllib

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# Configuration (config.h defaults; only what the networks and the step read, plus the rest of
# each section so that --set style overrides of any key are accepted).

DEFAULTS = {
    "data": {
        "dataset": "fashion_mnist", "path": "/usr/share/datasets/fashion-mnist", "split": "train",
        "resolution": 32, "random_flip": True, "limit": 0, "skip_bad_images": False,
        "workers": 1, "prefetch": 4,
    },
    "model": {"arch": "rin", "class_conditional": True},
    "rin": {
        "patch_size": 2, "latents": 64, "latent_dim": 256, "interface_dim": 128, "blocks": 2,
        "layers_per_block": 2, "heads": 8, "cross_heads": 4, "mlp_ratio": 4.0,
    },
    "unet": {
        "channels": 64, "channel_mult": [1, 2, 2], "res_blocks": 2,
        "attention_resolutions": [8], "heads": 4, "patch_size": 1,
    },
    "diffusion": {
        "schedule": "simple_linear", "input_scale": "1", "normalization": "empirical",
        "target": "eps", "loss_weight": "none", "self_cond_rate": 0.9, "label_dropout": 0.1,
    },
    "optim": {
        "optimizer": "lamb", "lr": 3e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
        "weight_decay": 0.01, "warmup_steps": 500, "lr_schedule": "cosine", "grad_clip": 1.0,
        "ema_decay": 0.999, "ema_warmup": True,
    },
    "train": {
        "steps": 6000, "batch_size": 128, "seed": 0, "out_dir": "runs/fmnist32", "device": "cpu",
        "log_every": 50, "checkpoint_every": 500, "keep_checkpoints": 3, "sample_every": 1000,
        "report": True, "dist_timeout": 60.0, "precision": "fp32",
    },
}

# Images of the IDX data sets (src/data/idx.cpp): one channel, ten classes.
DATASET_SHAPES = {"fashion_mnist": (1, 10), "mnist": (1, 10)}


def _parse_value(text: str, like):
    text = text.strip()
    if isinstance(like, bool):
        if text not in ("true", "false"):
            raise ValueError(f"'{text}' is not a boolean; use true or false")
        return text == "true"
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        return float(text)
    if isinstance(like, list):
        body = text[1:-1] if text.startswith("[") and text.endswith("]") else text
        return [int(v) for v in body.split(",") if v.strip()]
    return text.strip('"')


def load_config(path: str | None = None, overrides=()) -> dict:
    """The TOML file over the C++ defaults, then "section.key=value" overrides (like --set)."""
    config = copy.deepcopy(DEFAULTS)
    if path is not None:
        with open(path, "rb") as f:
            data = tomllib.load(f)
        for section, values in data.items():
            if section not in config:
                config[section] = {}
            for key, value in values.items():
                if isinstance(config[section].get(key), float) and isinstance(value, int):
                    value = float(value)
                config[section][key] = value
    for assignment in overrides:
        name, _, text = assignment.partition("=")
        section, _, key = name.strip().partition(".")
        if section not in config or key not in config[section]:
            raise KeyError(f"unknown key '{name.strip()}'")
        config[section][key] = _parse_value(text, config[section][key])
    return config


# ---------------------------------------------------------------------------------------------
# Shared layers (src/models/layers.cpp).

def linear_flops(tokens, fan_in, fan_out):
    return 2.0 * tokens * fan_in * fan_out


def attention_flops(tq, tk, d):
    return 4.0 * tq * tk * d


def attention(q, k, v, heads: int):
    """q [B, Tq, D], k, v [B, Tk, D] -> [B, Tq, D]."""
    batch, tq, dim = q.shape
    tk = k.shape[1]
    head_dim = dim // heads
    kh = k.view(batch, tk, heads, head_dim).transpose(1, 2)
    vh = v.view(batch, tk, heads, head_dim).transpose(1, 2)
    if hasattr(F, "scaled_dot_product_attention"):
        qh = q.view(batch, tq, heads, head_dim).transpose(1, 2)
        out = F.scaled_dot_product_attention(qh, kh, vh)
        return out.transpose(1, 2).reshape(batch, tq, dim)
    qh = (q * (1.0 / math.sqrt(head_dim))).view(batch, tq, heads, head_dim).transpose(1, 2)
    weights = torch.softmax(torch.matmul(qh, kh.transpose(-2, -1)), -1)
    return torch.matmul(weights, vh).transpose(1, 2).reshape(batch, tq, dim)


def _lround(x: float) -> int:  # std::lround: halves away from zero
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


class Mlp(nn.Module):
    def __init__(self, dim: int, ratio: float):
        super().__init__()
        self.dim, self.hidden = dim, _lround(dim * ratio)
        self.fc1 = nn.Linear(dim, self.hidden)
        self.fc2 = nn.Linear(self.hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))

    def flops(self, tokens):
        return linear_flops(tokens, self.dim, self.hidden) + linear_flops(tokens, self.hidden, self.dim)


class TransformerLayer(nn.Module):
    """Pre-LN: x + SelfAttention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.dim, self.heads = dim, heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(self, x_in):
        q, k, v = self.qkv(self.norm1(x_in)).chunk(3, -1)
        x = x_in + self.proj(attention(q, k, v, self.heads))
        return x + self.mlp(self.norm2(x))

    def flops(self, tokens):
        d = self.dim
        return (linear_flops(tokens, d, 3 * d) + attention_flops(tokens, tokens, d)
                + linear_flops(tokens, d, d) + self.mlp.flops(tokens))


class CrossAttentionBlock(nn.Module):
    """x + CrossAttention(LN(x), LN(context)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, context_dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.dim, self.context_dim, self.heads = dim, context_dim, heads
        self.norm_q = nn.LayerNorm(dim)
        self.norm_context = nn.LayerNorm(context_dim)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(self, x_in, context):
        k, v = self.kv(self.norm_context(context)).chunk(2, -1)
        x = x_in + self.proj(attention(self.q(self.norm_q(x_in)), k, v, self.heads))
        return x + self.mlp(self.norm_mlp(x))

    def flops(self, tokens, context_tokens):
        d = self.dim
        return (linear_flops(tokens, d, d) + linear_flops(context_tokens, self.context_dim, 2 * d)
                + attention_flops(tokens, context_tokens, d) + linear_flops(tokens, d, d)
                + self.mlp.flops(tokens))


class NoiseLevelEmbedding(nn.Module):
    """Noise level (effective logSNR) [B] -> [B, out]: sin/cos features, Linear-SiLU-Linear."""

    def __init__(self, features: int, out: int):
        super().__init__()
        half = features // 2
        self.features, self.out = features, out
        self.register_buffer(
            "frequencies", torch.exp(torch.linspace(math.log(10.0), math.log(0.01), half)).float())
        self.fc1 = nn.Linear(2 * half, out)
        self.fc2 = nn.Linear(out, out)

    def forward(self, noise_level):
        angles = noise_level.float().unsqueeze(1) * self.frequencies.unsqueeze(0)
        return self.fc2(F.silu(self.fc1(torch.cat([torch.sin(angles), torch.cos(angles)], 1))))

    def flops(self):
        return linear_flops(1, 2 * (self.features // 2), self.out) + linear_flops(1, self.out, self.out)


# ---------------------------------------------------------------------------------------------
# RIN (src/models/rin.cpp).

def sincos_positions(side: int, dim: int):
    quarter = max(1, dim // 4)
    frequencies = torch.exp(torch.arange(quarter, dtype=torch.float32)
                            * (-math.log(100.0) / max(1, quarter - 1)))
    coords = torch.arange(side, dtype=torch.float32)
    half_pi = float(torch.tensor(3.14159265, dtype=torch.float32)) / 2  # (3.14159265f / 2)
    angles = coords.unsqueeze(1) * frequencies.unsqueeze(0) * half_pi
    per_axis = torch.cat([torch.sin(angles), torch.cos(angles)], 1)
    rows = per_axis.unsqueeze(1).expand(side, side, 2 * quarter)
    cols = per_axis.unsqueeze(0).expand(side, side, 2 * quarter)
    codes = torch.cat([rows, cols], 2).reshape(1, side * side, 4 * quarter)
    if codes.shape[2] < dim:
        codes = torch.cat([codes, torch.zeros(1, side * side, dim - codes.shape[2])], 2)
    return codes[:, :, :dim].contiguous()


class Rin(nn.Module):
    def __init__(self, cfg: dict, channels: int, resolution: int, num_classes: int,
                 class_conditional: bool):
        super().__init__()
        p, di, dl = cfg["patch_size"], cfg["interface_dim"], cfg["latent_dim"]
        if resolution % p:
            raise ValueError(f"RIN: resolution {resolution} is not a multiple of patch {p}")
        self.cfg, self.channels, self.resolution = cfg, channels, resolution
        self.num_classes, self.class_conditional = num_classes, class_conditional
        self.tokens = (resolution // p) ** 2
        mlp_ratio = cfg["mlp_ratio"]
        # Registration order as in the C++ (parameters of this module come first in both).
        self.patchify = nn.Conv2d(channels, di, p, stride=p)
        self.positions = nn.Parameter(sincos_positions(resolution // p, di))
        self.interface_norm = nn.LayerNorm(di)
        self.latents = nn.Parameter(torch.randn(cfg["latents"], dl) * 0.02)
        self.noise_embedding = NoiseLevelEmbedding(max(32, dl // 4), dl)
        if class_conditional:
            self.class_embedding = nn.Embedding(num_classes + 1, dl)  # N(0, 1) as in LibTorch
        self.self_cond_in = nn.LayerNorm(dl)
        self.self_cond_mlp = Mlp(dl, mlp_ratio)
        self.self_cond_out = nn.LayerNorm(dl)
        with torch.no_grad():
            self.self_cond_out.weight.zero_()
        self.reads, self.computes, self.writes = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for _ in range(cfg["blocks"]):
            self.reads.append(CrossAttentionBlock(dl, di, cfg["cross_heads"], mlp_ratio))
            self.computes.append(nn.ModuleList(
                TransformerLayer(dl, cfg["heads"], mlp_ratio) for _ in range(cfg["layers_per_block"])))
            self.writes.append(CrossAttentionBlock(di, dl, cfg["cross_heads"], mlp_ratio))
        self.out_norm = nn.LayerNorm(di)
        self.out = nn.Linear(di, p * p * channels)

        n, m = self.tokens, cfg["latents"] + (2 if class_conditional else 1)
        flops = (linear_flops(n, p * p * channels, di) + self.noise_embedding.flops()
                 + self.self_cond_mlp.flops(m) + linear_flops(n, di, p * p * channels))
        for b in range(cfg["blocks"]):
            flops += self.reads[b].flops(m, n)
            flops += sum(layer.flops(m) for layer in self.computes[b])
            flops += self.writes[b].flops(n, m)
        self.forward_flops_per_example = flops

    def forward(self, x, noise_level, labels, self_cond=None):
        """-> (prediction [B, C, H, W], final latents [B, M + 2, Dl])."""
        batch = x.shape[0]
        p = self.cfg["patch_size"]
        side = self.resolution // p
        z = self.patchify(x).flatten(2).transpose(1, 2)
        z = self.interface_norm(z) + self.positions
        parts = [self.latents.unsqueeze(0).expand(batch, -1, -1),
                 self.noise_embedding(noise_level).unsqueeze(1)]
        if self.class_conditional:
            parts.append(self.class_embedding(labels).unsqueeze(1))
        latents = torch.cat(parts, 1)
        previous = self_cond if self_cond is not None else torch.zeros_like(latents)
        latents = latents + self.self_cond_out(self.self_cond_mlp(self.self_cond_in(previous)))
        for read, compute, write in zip(self.reads, self.computes, self.writes):
            latents = read(latents, z)
            for layer in compute:
                latents = layer(latents)
            z = write(z, latents)
        patches = self.out(self.out_norm(z))
        image = (patches.view(batch, side, side, p, p, self.channels)
                 .permute(0, 5, 1, 3, 2, 4)
                 .reshape(batch, self.channels, side * p, side * p))
        return image, latents

    def self_condition_signal(self, latents, x0_estimate):
        return latents.detach()

    def describe(self):
        c = self.cfg
        return (f"RIN: {self.tokens} interface tokens (patch {c['patch_size']}) x "
                f"{c['interface_dim']}, {c['latents']} latents x {c['latent_dim']}, {c['blocks']} "
                f"blocks x {c['layers_per_block']} layers, {c['heads']} heads; "
                f"{parameter_count(self)} parameters, "
                f"{self.forward_flops_per_example / 1e6:.6g} MFLOP per image")


# ---------------------------------------------------------------------------------------------
# U-Net (src/models/unet.cpp).

def group_count(channels: int) -> int:
    for g in range(min(32, channels), 1, -1):
        if channels % g == 0:
            return g
    return 1


def group_norm(channels: int):
    return nn.GroupNorm(group_count(channels), channels)


def conv3x3(cin: int, cout: int, stride: int = 1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


def conv_flops(pixels, cin, cout, kernel):
    return 2.0 * pixels * cin * cout * kernel * kernel


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, embedding_dim: int):
        super().__init__()
        self.norm1 = group_norm(cin)
        self.conv1 = conv3x3(cin, cout)
        self.embedding = nn.Linear(embedding_dim, 2 * cout)
        self.norm2 = group_norm(cout)
        self.conv2 = conv3x3(cout, cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, embedding):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.embedding(embedding).unsqueeze(-1).unsqueeze(-1).chunk(2, 1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return (self.skip(x) if self.skip is not None else x) + h


class SpatialAttention(nn.Module):
    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm = group_norm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)

    def forward(self, x):
        b, c, h, w = x.shape
        tokens = self.norm(x).flatten(2).transpose(1, 2)
        q, k, v = self.qkv(tokens).chunk(3, -1)
        out = self.proj(attention(q, k, v, self.heads))
        return x + out.transpose(1, 2).reshape(b, c, h, w)


RESIDUAL, DOWN, UP = "residual", "down", "up"


class Unet(nn.Module):
    def __init__(self, cfg: dict, channels: int, resolution: int, num_classes: int,
                 class_conditional: bool):
        super().__init__()
        self.cfg, self.channels, self.resolution = cfg, channels, resolution
        self.num_classes, self.class_conditional = num_classes, class_conditional
        base = cfg["channels"]
        self.embedding_dim = ed = 4 * base
        self.noise_embedding = NoiseLevelEmbedding(base, ed)
        flops = self.noise_embedding.flops()
        if class_conditional:
            self.class_embedding = nn.Embedding(num_classes + 1, ed)
        patch = cfg["patch_size"]
        folded = channels * patch * patch
        inner = resolution // patch
        self.input = conv3x3(2 * folded, base)  # noisy image + self-conditioning x0, folded
        pixels = float(inner * inner)
        flops += conv_flops(pixels, 2 * folded, base, 3)

        attention_res = set(cfg["attention_resolutions"])
        # Stages: (kind, module name, attention module name or None, pops_skip).
        self.encoder, self.middle, self.decoder = [], [], []
        index = 0

        def add(stages, kind, module, attn, pops, prefix):
            nonlocal index
            name = f"{prefix}{index}"
            self.add_module(name, module)
            attn_name = None
            if attn is not None:
                attn_name = name + "_attention"
                self.add_module(attn_name, attn)
            index += 1
            stages.append((kind, name, attn_name, pops))

        def attn_flops(tokens, c):
            return linear_flops(tokens, c, 3 * c) + attention_flops(tokens, tokens, c) + linear_flops(tokens, c, c)

        def residual_flops(px, cin, cout):
            return (conv_flops(px, cin, cout, 3) + conv_flops(px, cout, cout, 3)
                    + (conv_flops(px, cin, cout, 1) if cin != cout else 0.0)
                    + linear_flops(1, ed, 2 * cout))

        skip_channels = [base]
        current, res = base, inner
        levels = len(cfg["channel_mult"])
        for level in range(levels):
            out = base * cfg["channel_mult"][level]
            for _ in range(cfg["res_blocks"]):
                attn = None
                flops += residual_flops(pixels, current, out)
                if res in attention_res:
                    attn = SpatialAttention(out, cfg["heads"])
                    flops += attn_flops(pixels, out)
                add(self.encoder, RESIDUAL, ResidualBlock(current, out, ed), attn, False, "down")
                current = out
                skip_channels.append(current)
            if level + 1 < levels:
                add(self.encoder, DOWN, conv3x3(current, current, 2), None, False, "down")
                pixels /= 4
                res //= 2
                flops += conv_flops(pixels, current, current, 3)
                skip_channels.append(current)
        index = 0
        add(self.middle, RESIDUAL, ResidualBlock(current, current, ed),
            SpatialAttention(current, cfg["heads"]), False, "middle")
        add(self.middle, RESIDUAL, ResidualBlock(current, current, ed), None, False, "middle")
        flops += 2 * residual_flops(pixels, current, current) + attn_flops(pixels, current)
        index = 0
        for level in range(levels - 1, -1, -1):
            out = base * cfg["channel_mult"][level]
            for _ in range(cfg["res_blocks"] + 1):
                cin = current + skip_channels.pop()
                attn = None
                flops += residual_flops(pixels, cin, out)
                if res in attention_res:
                    attn = SpatialAttention(out, cfg["heads"])
                    flops += attn_flops(pixels, out)
                add(self.decoder, RESIDUAL, ResidualBlock(cin, out, ed), attn, True, "up")
                current = out
            if level > 0:
                add(self.decoder, UP, conv3x3(current, current), None, False, "up")
                pixels *= 4
                res *= 2
                flops += conv_flops(pixels, current, current, 3)
        self.output_norm = group_norm(current)
        self.output = conv3x3(current, folded)
        flops += conv_flops(pixels, current, folded, 3)
        self.forward_flops_per_example = flops

    def _run(self, stage, x, embedding):
        kind, name, attn_name, _ = stage
        module = getattr(self, name)
        if kind == RESIDUAL:
            y = module(x, embedding)
            if attn_name is not None:
                y = getattr(self, attn_name)(y)
            return y
        if kind == DOWN:
            return module(x)
        return module(F.interpolate(x, scale_factor=(2.0, 2.0), mode="nearest"))

    def forward(self, x, noise_level, labels, self_cond=None):
        """-> (prediction [B, C, H, W], None)."""
        embedding = self.noise_embedding(noise_level)
        if self.class_conditional:
            embedding = embedding + self.class_embedding(labels)
        embedding = F.silu(embedding)
        previous = self_cond if self_cond is not None else torch.zeros_like(x)
        patch = self.cfg["patch_size"]
        both = torch.cat([x, previous], 1)
        if patch > 1:
            both = F.pixel_unshuffle(both, patch)
        h = self.input(both)
        skips = [h]
        for stage in self.encoder:
            h = self._run(stage, h, embedding)
            skips.append(h)
        for stage in self.middle:
            h = self._run(stage, h, embedding)
        for stage in self.decoder:
            if stage[3]:
                h = torch.cat([h, skips.pop()], 1)
            h = self._run(stage, h, embedding)
        out = self.output(F.silu(self.output_norm(h)))
        if patch > 1:
            out = F.pixel_shuffle(out, patch)
        return out, None

    def self_condition_signal(self, latents, x0_estimate):
        return x0_estimate.detach()

    def describe(self):
        c = self.cfg
        text = (f"U-Net: {c['channels']} channels x [{','.join(map(str, c['channel_mult']))}], "
                f"{c['res_blocks']} residual blocks per level")
        if c["patch_size"] > 1:
            r = self.resolution // c["patch_size"]
            text += f", patch {c['patch_size']} (runs at {r}x{r})"
        return (text + f"; {parameter_count(self)} parameters, "
                f"{self.forward_flops_per_example / 1e6:.6g} MFLOP per image")


# ---------------------------------------------------------------------------------------------
# Factory (src/models/denoiser.cpp).

def build_model(config: dict, channels: int | None = None, num_classes: int | None = None) -> nn.Module:
    """The network named by config["model"]["arch"]; channels and classes from the data set."""
    full = copy.deepcopy(DEFAULTS)
    for section, values in config.items():
        full.setdefault(section, {}).update(values)
    shape = DATASET_SHAPES.get(full["data"]["dataset"], (None, None))
    if full["data"]["dataset"] == "folder" and os.path.isdir(full["data"]["path"]):
        # Image folders (src/data/image_folder.cpp): RGB, one class per sub-folder.
        shape = (3, sum(1 for e in os.scandir(full["data"]["path"]) if e.is_dir()))
    channels = channels if channels is not None else shape[0]
    num_classes = num_classes if num_classes is not None else shape[1]
    if channels is None or num_classes is None:
        raise ValueError("give channels and num_classes for data.dataset = "
                         f"'{full['data']['dataset']}'")
    arch = full["model"]["arch"]
    cls = {"rin": Rin, "unet": Unet}.get(arch)
    if cls is None:
        raise ValueError(f"model.arch '{arch}' has no network")
    model = cls(full[arch], channels, full["data"]["resolution"], num_classes,
                full["model"]["class_conditional"])
    model.config = full
    return model


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# Diffusion (src/diffusion/process.cpp, network.cpp, parameterization.cpp; schedule/*.cpp).

NOISE_LEVEL_BOUND = 40.0
CLIP_MIN = 1e-9


def _schedule_unclipped(spec: str, t: float):
    """(gamma, 1 - gamma) for the schedules the presets use."""
    name, _, params = spec.partition(":")
    if name == "simple_linear":
        return 1.0 - t, t
    if name == "cosine":
        kv = dict(p.split("=") for p in params.split(",") if p)
        start, end, tau = float(kv.get("start", 0)), float(kv.get("end", 1)), float(kv.get("tau", 1))

        def v(u):
            return math.cos(u * math.pi / 2) ** (2 * tau)

        now = start + t * (end - start)
        total = v(start) - v(end)
        return (v(now) - v(end)) / total, (v(start) - v(now)) / total
    raise NotImplementedError(f"schedule '{spec}' (reference supports simple_linear, cosine)")


def variances(spec: str, t: float):
    gamma, one_minus = _schedule_unclipped(spec, t)
    if not gamma >= CLIP_MIN:
        return CLIP_MIN, 1.0 - CLIP_MIN
    if one_minus <= 0.0:
        return 1.0, 0.0
    return min(gamma, 1.0), min(one_minus, 1.0 - CLIP_MIN)


def input_scale(config: dict) -> float:
    text = str(config["diffusion"]["input_scale"])
    if text.startswith("auto:"):
        return float(text[5:]) / config["data"]["resolution"]
    return float(text)


def noise_level(gamma: float, one_minus: float, b: float) -> float:
    level = math.log(gamma) - math.log(one_minus) + 2.0 * math.log(b)
    return min(max(level, -NOISE_LEVEL_BOUND), NOISE_LEVEL_BOUND)


def normalization_factor(z, gammas, b, mode):
    batch = z.shape[0]
    if mode == "none":
        return torch.ones(batch, 1, 1, 1, dtype=z.dtype, device=z.device)
    if mode == "empirical":
        return z.flatten(1).std(dim=1, unbiased=False, keepdim=True).clamp_min(1e-8).reciprocal().view(batch, 1, 1, 1)
    if mode == "analytic":
        f = [1.0 / math.sqrt((b * b - 1.0) * g + 1.0) for g in gammas]
        return per_example(f, z)
    raise ValueError(f"unknown normalization '{mode}'")


def per_example(values, like):
    return torch.tensor(values, dtype=torch.float64).to(like.device, like.dtype).view(len(values), 1, 1, 1)


def prediction_from_output(target, output, z, a, s):
    """-> (x0, eps)."""
    if target == "eps":
        return (z - s * output) / a, output
    if target == "x0":
        return output, (z - a * output) / s
    if target == "v":
        return a * z - s * output, s * z + a * output
    raise ValueError(f"unknown target '{target}'")


def target_value(target, x0, eps, a, s):
    if target == "eps":
        return eps
    if target == "x0":
        return x0
    if target == "v":
        return a * eps - s * x0
    raise ValueError(f"unknown target '{target}'")


def precision_scope(precision, device):
    """The C++ PrecisionScope: TF32 on CUDA unless fp32 (process-wide, kept for the backward
    pass and the optimizer), bf16 autocast around the network for bf16."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = precision != "fp32"
        torch.backends.cudnn.allow_tf32 = precision != "fp32"
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def predict(model, config, z, var, labels, self_cond=None, estimate=True, clip=True, guidance=0.0):
    """predict() of network.cpp: var is a list of (gamma, 1 - gamma) per example.

    Returns dict(output, latents, x0, eps, self_cond)."""
    d = config["diffusion"]
    b = input_scale(config)
    self_condition = d["self_cond_rate"] > 0
    gamma = [g for g, _ in var]
    level = [noise_level(g, om, b) for g, om in var]
    a = [math.sqrt(g) for g, _ in var]
    s = [math.sqrt(om) for _, om in var]
    guided = guidance != 0.0
    z_batch, batch_labels, batch_gamma, batch_level = z, labels, gamma, level
    if guided:
        z_batch = torch.cat([z, z])
        batch_labels = torch.cat([labels, torch.full_like(labels, model.num_classes)])
        batch_gamma, batch_level = gamma + gamma, level + level
    factor = normalization_factor(z_batch, batch_gamma, b, d["normalization"])
    x = z_batch * factor
    nl = torch.tensor(batch_level, dtype=torch.float64).to(z.device, torch.float32)
    # train.precision (src/core/precision.cpp): bf16 autocast around the network, float32 out.
    with precision_scope(config["train"]["precision"], z.device):
        output, latents = model(x, nl, batch_labels, self_cond if self_condition else None)
    output = output.float()
    latents = latents.float() if latents is not None else None
    if guided:
        cond, uncond = output.chunk(2)
        output = cond * (1.0 + guidance) - uncond * guidance
    result = {"output": output, "latents": latents, "x0": None, "eps": None, "self_cond": None}
    if not estimate:
        return result
    a4, s4 = per_example(a, z), per_example(s, z)
    x0, eps = prediction_from_output(d["target"], output, z, a4, s4)
    if clip:
        x0 = x0.clamp(-b, b)
        eps = (z - a4 * x0) / s4
    eps = torch.where(s4 > 0, eps, torch.zeros_like(z))
    result["x0"], result["eps"] = x0, eps
    if self_condition:
        x0d = x0.detach()
        sc = model.self_condition_signal(latents, torch.cat([x0d, x0d]) if guided else x0d)
        result["self_cond"] = sc.detach() if sc is not None else None
    return result


# ---------------------------------------------------------------------------------------------
# Optimizer, clipping, EMA (src/optim/optimizer.cpp).

class Optimizer:
    """LAMB or AdamW exactly as optimizer.cpp: Adam moments with bias correction,
    u = m_hat / (sqrt(v_hat) + eps) (+ wd w for tensors with >= 2 dims);
    LAMB: w -= lr * (||w|| / ||u||) * u for >= 2-dim tensors (ratio 1 if a norm is 0), else w -= lr u.
    AdamW: w -= lr u. Parameters of fewer than 2 dims: no weight decay, no trust ratio.

    (torch.optim.AdamW with weight decay only on >= 2-dim tensors is the same update in exact
    arithmetic, w (1 - lr wd) - lr adam = w - lr (adam + wd w), but not the same kernels; this
    class keeps the C++ per-tensor operations for both optimizers.)"""

    def __init__(self, model: nn.Module, kind="lamb", beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        if kind not in ("lamb", "adamw"):
            raise ValueError(f"unknown optimizer '{kind}'")
        self.kind, self.beta1, self.beta2, self.eps, self.weight_decay = kind, beta1, beta2, eps, weight_decay
        self.parameters = list(model.named_parameters())
        self.m = [torch.zeros_like(p) for _, p in self.parameters]
        self.v = [torch.zeros_like(p) for _, p in self.parameters]
        self.steps = 0

    @classmethod
    def from_config(cls, model, config):
        o = config["optim"]
        return cls(model, o["optimizer"], o["beta1"], o["beta2"], o["eps"], o["weight_decay"])

    @torch.no_grad()
    def step(self, lr: float):
        self.steps += 1
        b1, b2 = self.beta1, self.beta2
        c1 = 1.0 - b1 ** self.steps
        c2 = 1.0 - b2 ** self.steps
        for (_, w), m, v in zip(self.parameters, self.m, self.v):
            g = w.grad
            if g is None:
                continue
            m.mul_(b1).add_(g, alpha=1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            u = (m / c1) / ((v / c2).sqrt_().add_(self.eps))
            matrix = w.dim() >= 2
            if matrix and self.weight_decay > 0:
                u.add_(w, alpha=self.weight_decay)
            if self.kind == "lamb" and matrix:
                w_norm, u_norm = w.norm(), u.norm()
                trust = torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, torch.ones_like(w_norm))
                w.sub_(u * (trust * lr))
            else:
                w.sub_(u, alpha=lr)


@torch.no_grad()
def clip_grad_norm(model: nn.Module, max_norm: float):
    squares = [p.grad.pow(2).sum() for p in model.parameters() if p.grad is not None]
    if not squares:
        return torch.zeros(())
    norm = torch.stack(squares).sum().sqrt()
    if max_norm > 0:
        scale = (max_norm / (norm + 1e-6)).clamp_max(1.0)
        for p in model.parameters():
            if p.grad is not None:
                p.grad.mul_(scale)
    return norm


def ema_decay_at(decay, step, warmup):
    return min(decay, (1.0 + step) / (10.0 + step)) if warmup else decay


@torch.no_grad()
def ema_update(target: nn.Module, source: nn.Module, decay: float):
    for t, s in zip(target.parameters(), source.parameters()):
        t.lerp_(s, 1.0 - decay)


def make_ema(model: nn.Module) -> nn.Module:
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema.eval()


def lr_factor(spec: str, step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    decay_steps = float(max(1, total - warmup))
    progress = (step - warmup) / decay_steps
    name, _, frac = spec.partition("@")
    if name == "constant":
        return 1.0
    if name == "linear":
        return max(0.0, 1.0 - progress)
    if name == "cosine":
        p = min(1.0, progress * (float(frac) if frac else 1.0))
        return 0.5 * (1.0 + math.cos(math.pi * p))
    raise ValueError(f"unknown lr_schedule '{spec}'")


def loss_weight(spec: str, target: str, logsnr: float, b: float) -> float:
    if spec == "none":
        return 1.0
    name, _, g = spec.partition("@")
    if name != "min_snr":
        raise ValueError(f"unknown loss_weight '{spec}'")
    gamma = float(g) if g else 5.0
    lg = math.log(gamma)
    ratio = math.exp(lg - logsnr) if logsnr >= lg else 1.0
    if target == "eps":
        return ratio
    if target == "x0":
        return (gamma if logsnr >= lg else min(math.exp(logsnr), gamma)) / (b * b)
    u = logsnr - 2.0 * math.log(b)
    return ratio * (1.0 / (1.0 + math.exp(-u)) if u >= 0 else math.exp(u) / (1.0 + math.exp(u)))


# ---------------------------------------------------------------------------------------------
# One training step (src/train/engine.cpp, TrainingEngine::step, single process).

def train_step(model, ema, optimizer, batch_images_uint8, labels, step, config, generator=None):
    """Algorithm 2 step. Returns dict(loss, grad_norm, lr, forward_passes).

    batch_images_uint8: [B, C, H, W] uint8 (torch or numpy); labels: [B] ints in [0, K)."""
    d, o = config["diffusion"], config["optim"]
    device = next(model.parameters()).device
    b = input_scale(config)
    images = torch.as_tensor(batch_images_uint8)
    x0 = images.to(device).to(torch.float32).div_(127.5).sub_(1.0).mul_(b)
    batch = x0.shape[0]
    g = generator
    t = torch.rand(batch, generator=g, dtype=torch.float64).tolist()
    eps = torch.randn(x0.shape, generator=g, dtype=x0.dtype).to(device)
    labels = torch.as_tensor(labels, dtype=torch.long)
    null_class = model.num_classes
    if config["model"]["class_conditional"]:
        drop = torch.rand(batch, generator=g, dtype=torch.float64) < d["label_dropout"]
        labels = torch.where(drop, torch.full_like(labels, null_class), labels)
    else:
        labels = torch.full_like(labels, null_class)
    labels = labels.to(device)
    self_cond_mask = torch.rand(batch, generator=g, dtype=torch.float64) < d["self_cond_rate"]

    # add_noise
    var = [variances(d["schedule"], ti) for ti in t]
    a = per_example([math.sqrt(gm) for gm, _ in var], x0)
    s = per_example([math.sqrt(om) for _, om in var], x0)
    z = a * x0 + s * eps
    logsnr = [math.log(gm) - math.log(om) + 2.0 * math.log(b) for gm, om in var]

    passes = 1
    self_cond = None
    if d["self_cond_rate"] > 0 and bool(self_cond_mask.any()):
        # First pass on the WHOLE batch, without gradients (estimate and clipping as at sampling);
        # its signal is kept for the selected examples and zeroed for the others.
        with torch.no_grad():
            signal = predict(model, config, z, var, labels, None)["self_cond"]
            shape = [batch] + [1] * (signal.dim() - 1)
            self_cond = signal * self_cond_mask.to(device, signal.dtype).view(shape)
        passes += 1
    output = predict(model, config, z, var, labels, self_cond, estimate=False)["output"]
    target = target_value(d["target"], x0, eps, a, s)
    per_ex = (output - target).pow(2).flatten(1).mean(1)
    if d.get("loss_weight", "none") != "none":
        w = [loss_weight(d["loss_weight"], d["target"], l, b) for l in logsnr]
        per_ex = per_ex * torch.tensor(w, dtype=torch.float64).to(device, per_ex.dtype)
    loss = per_ex.mean()
    _ = per_ex.detach().to("cpu", torch.float64)  # the C++ copies the per-example losses out
    loss_value = loss.item()
    if not math.isfinite(loss_value):
        raise FloatingPointError(f"the loss is {loss_value} at step {step + 1}")
    model.zero_grad(set_to_none=True)
    loss.backward()
    # One row of the profile, as the C++ step names it (compare.py --profile).
    with torch.autograd.profiler.record_function("noisesched::optimizer"):
        grad_norm = clip_grad_norm(model, o["grad_clip"]).item()
        lr = o["lr"] * lr_factor(o["lr_schedule"], step, o["warmup_steps"],
                                 config["train"]["steps"])
        optimizer.step(lr)
        ema_update(ema, model, ema_decay_at(o["ema_decay"], step, o["ema_warmup"]))
    return {"loss": loss_value, "grad_norm": grad_norm, "lr": lr, "forward_passes": passes}


# ---------------------------------------------------------------------------------------------
# Sampling (src/sampling/sampler.cpp with a DDIM eta = 0 plan).

@torch.no_grad()
def sample_ddim(model, labels, steps=50, config=None, schedule="cosine", guidance=0.0,
                clip=True, generator=None):
    """DDIM (eta = 0) on the grid t_k = (N - k) / N: one network evaluation per step (two
    batches' worth with guidance != 0), self-conditioning fed from the previous evaluation.
    Returns the final x0 estimate [B, C, H, W]."""
    config = config if config is not None else model.config
    device = next(model.parameters()).device
    labels = torch.as_tensor(labels, dtype=torch.long).to(device)
    batch = labels.shape[0]
    z = torch.randn(batch, model.channels, model.resolution, model.resolution,
                    generator=generator).to(device)
    self_cond = None
    for k in range(steps):
        t_now, t_next = (steps - k) / steps, max((steps - (k + 1)) / steps, 0.0)
        v = variances(schedule, t_now)
        p = predict(model, config, z, [v] * batch, labels, self_cond, clip=clip, guidance=guidance)
        self_cond = p["self_cond"]
        if k + 1 == steps:
            return p["x0"]
        n = variances(schedule, t_next)
        if v[1] <= 0.0:
            continue  # clean: identity
        if n[1] <= 0.0:
            z = p["x0"]
        else:
            z = p["x0"] * math.sqrt(n[0]) + p["eps"] * math.sqrt(n[1])
    return z


# ---------------------------------------------------------------------------------------------

def main(argv):
    """Prints the parameter count and description of the model a configuration builds:
    models.py CONFIG [section.key=value ...]. (compare.py --counts does this for the models of
    the comparison; the ReferenceModels test compares those counts with the C++ models.)"""
    if len(argv) < 2:
        print(main.__doc__)
        return 2
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model(load_config(argv[1], argv[2:]))
    print(f"{parameter_count(model)} parameters; {model.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
