#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (see fuzz/targets.h).

Files named valid* must be accepted by their target and bad* rejected with a clear error; the
corpus regression test (tests/fuzz/fuzz_corpus_test.cpp) checks both. Inputs a fuzzer once
crashed on are added as crash-<what> by hand (they must end cleanly, either way). Usage: fuzz/seeds/make_seeds.py (needs gcc and
Debian's libstb-dev for the JPEG seeds).
"""
import gzip
import json
import os
import struct
import subprocess
import tempfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")


def put(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def idx(magic, dims, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)


def idx_seeds():
    images = idx(0x803, [2, 3, 3], range(18))
    labels = idx(0x801, [4], [0, 1, 2, 9])
    # First byte: bit 0 = 3 dimensions, bit 1 = through the file reader.
    put("idx", "valid_images", b"\x01" + images)
    put("idx", "valid_images_gzip_file", b"\x03" + gzip.compress(images, mtime=0))
    put("idx", "valid_labels", b"\x00" + labels)
    put("idx", "valid_labels_file", b"\x02" + labels)
    put("idx", "bad_magic", b"\x01" + idx(0x801, [2, 3, 3], range(18)))
    put("idx", "bad_truncated", b"\x01" + images[:-5])
    put("idx", "bad_overlong", b"\x00" + labels + b"xyz")
    put("idx", "bad_header_cut", b"\x01" + images[:9])
    put("idx", "bad_count_overflow", b"\x01" + idx(0x803, [0xFFFFFFFF, 16384, 16384], []))
    put("idx", "bad_wide_rows", b"\x01" + idx(0x803, [1, 1, 100000], []))
    put("idx", "bad_count_beyond_file", b"\x02" + idx(0x801, [0xFFFFFFFF], [1, 2, 3]))
    put("idx", "bad_gzip_cut", b"\x03" + gzip.compress(images, mtime=0)[:-10])
    # 100 bytes promised, 64 MiB of zeros behind them: the reader stops after 101.
    put("idx", "bad_gzip_bomb",
        b"\x02" + gzip.compress(idx(0x801, [100], []) + bytes(64 << 20), mtime=0))


def png(width, height, channels, pixels=None):
    color = {1: 0, 3: 2}[channels]
    rows = b""
    for y in range(height):
        row = bytes(((x + y) * 17 + c * 50) % 256 for x in range(width) for c in range(channels))
        rows += b"\x00" + row
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) +
            chunk(b"IEND", b""))


def image_seeds():
    # First byte: bit 0 = decode to 3 channels.
    put("image", "valid_png_gray", b"\x00" + png(7, 5, 1))
    put("image", "valid_png_rgb_to_rgb", b"\x01" + png(5, 9, 3))
    put("image", "valid_png_rgb_to_gray", b"\x00" + png(4, 4, 3))
    with tempfile.TemporaryDirectory() as tmp:
        tool = os.path.join(tmp, "make_jpeg")
        subprocess.run(["gcc", os.path.join(os.path.dirname(__file__), "make_jpeg.c"), "-o", tool,
                        "-lm"], check=True)
        subprocess.run([tool, os.path.join(tmp, "rgb.jpg"), os.path.join(tmp, "gray.jpg")],
                       check=True)
        rgb = open(os.path.join(tmp, "rgb.jpg"), "rb").read()
        gray = open(os.path.join(tmp, "gray.jpg"), "rb").read()
    put("image", "valid_jpeg_rgb", b"\x01" + rgb)
    put("image", "valid_jpeg_gray", b"\x00" + gray)
    put("image", "bad_jpeg_cut", b"\x01" + rgb[:40])
    put("image", "bad_png_cut", b"\x01" + png(8, 8, 3)[:50])
    huge = bytearray(png(1, 1, 1))
    huge[16:24] = struct.pack(">II", 100000, 100000)  # IHDR width and height
    put("image", "bad_png_100000x100000", b"\x00" + bytes(huge))
    put("image", "bad_bmp_signature", b"\x01" + b"BM" + bytes(60))
    put("image", "bad_empty", b"\x00")
    # A 1x1 PNG whose IDAT inflates to 64 MiB (stb would allocate it all).
    rows = zlib.compress(bytes(64 << 20), 9)
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    put("image", "bad_png_bomb", b"\x00" + bomb)


def safetensors(header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    put("safetensors", "valid_two_tensors", safetensors(
        {"__metadata__": {"format": "noisesched", "kind": "ema"},
         "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
         "b": {"dtype": "I64", "shape": [1], "data_offsets": [16, 24]}}, bytes(24)))
    put("safetensors", "valid_empty_tensor", safetensors(
        {"e": {"dtype": "BF16", "shape": [0, 5], "data_offsets": [0, 0]}}, b""))
    # 4 x (2^62 + 4) bytes = 2^64 + 16: wraps to exactly the span when multiplied naively.
    put("safetensors", "bad_overflow_shape", safetensors(
        {"a": {"dtype": "F32", "shape": [2**62 + 4], "data_offsets": [0, 16]}}, bytes(16)))
    put("safetensors", "bad_zero_dim_overflow", safetensors(
        {"a": {"dtype": "F32", "shape": [2**40, 2**40, 0], "data_offsets": [0, 0]}}, b""))
    put("safetensors", "bad_header_2e62", struct.pack("<Q", 2**62) + b"{}")
    put("safetensors", "bad_gap", safetensors(
        {"a": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}}, bytes(4)))
    put("safetensors", "bad_overlap", safetensors(
        {"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
         "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}, bytes(3)))
    put("safetensors", "bad_dtype", safetensors(
        {"a": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)))
    put("safetensors", "bad_json", struct.pack("<Q", 4) + b"{\"a\"")


def config_seeds():
    repo = os.path.join(os.path.dirname(__file__), "..", "..")
    put("config", "valid_empty", b"")
    put("config", "valid_fmnist32", open(os.path.join(repo, "configs", "fmnist32.toml"), "rb").read())
    put("config", "valid_rin", open(os.path.join(repo, "configs", "fmnist32_rin.toml"), "rb").read())
    put("config", "valid_overrides",
        b"[train]\nsteps = 10\n\0diffusion.schedule=sigmoid@-3,3,0.9\nunet.channel_mult=1,2\n"
        b"diffusion.loss_weight=min_snr@5")
    put("config", "bad_unknown_key", b"[train]\nstepz = 10\n")
    put("config", "bad_type", b"[train]\nsteps = \"ten\"\n")
    put("config", "bad_toml", b"[train\nsteps = 1\n")
    put("config", "bad_override_value", b"\0optim.lr=-1")
    put("config", "bad_override_key", b"\0nope.nope=1")
    put("config", "bad_schedule", b"[diffusion]\nschedule = \"cosine@9,9\"\n")


def schedule_seeds():
    for name, spec in [("cosine", "cosine"), ("cosine_pos", "cosine@0.2,1,2"),
                       ("sigmoid", "sigmoid@-3,3,0.9"), ("named", "sigmoid:start=0,end=3,tau=0.3"),
                       ("linear", "simple_linear")]:
        put("schedule", "valid_" + name, spec)
    put("schedule", "valid_recipe", b"\0ddim steps=50 eta=0.5 schedule=cosine@0.2,1,1")
    put("schedule", "valid_recipe_dpm", b"\0dpmpp_2m steps=25 guidance=1.5")
    put("schedule", "bad_family", "cosin")
    put("schedule", "bad_range", "sigmoid@3,-3,0.9")
    put("schedule", "bad_number", "cosine@1e999")
    put("schedule", "bad_recipe", b"\0ddim steps=0")
    put("schedule", "bad_recipe_key", b"\0ddpm speed=3")


def state_seeds():
    good = {"format": "noisesched-checkpoint", "version": 1, "step": 1900, "channels": 1,
            "num_classes": 2, "class_names": ["a", "b"],
            "diffusion": {"schedule": "simple_linear", "input_scale": 1.0},
            "train_seconds": 716.8}
    put("state", "valid_state", json.dumps(good, indent=2))
    put("state", "valid_no_names", json.dumps({k: v for k, v in good.items() if k != "class_names"}))
    for name, change in [("step_negative", {"step": -1}), ("channels_2", {"channels": 2}),
                         ("version_2", {"version": 2}), ("format", {"format": "x"}),
                         ("names", {"class_names": ["a"]}), ("seconds", {"train_seconds": "x"}),
                         ("schedule", {"diffusion": {}})]:
        put("state", "bad_" + name, json.dumps({**good, **change}))
    put("state", "bad_array", "[]")
    put("state", "bad_json", "{\"format\":")


if __name__ == "__main__":
    idx_seeds()
    image_seeds()
    safetensors_seeds()
    config_seeds()
    schedule_seeds()
    state_seeds()
