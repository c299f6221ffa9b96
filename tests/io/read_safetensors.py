#!/usr/bin/python3
"""Reads a safetensors file by the format's specification, independently of noisesched, and
prints each tensor's name, dtype, shape and values as JSON (test fixture for safetensors_test).

The checks are the reference implementation's: little-endian u64 header size, a JSON header
whose entries have dtype/shape/data_offsets, offsets that cover the data exactly once.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U8": "u1", "BOOL": "?"}


def load(path):
    """Returns (metadata, {name: (dtype, numpy array)}) after checking the layout."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    spans = []
    for name, info in header.items():
        begin, end = info["data_offsets"]
        spans.append((begin, end))
        if info["dtype"] == "BF16":
            raw = np.frombuffer(body[begin:end], dtype="<u2").astype(np.uint32) << 16
            values = raw.view(np.float32)
        else:
            values = np.frombuffer(body[begin:end], dtype=DTYPES[info["dtype"]])
        tensors[name] = (info["dtype"], values.reshape(info["shape"]))
    spans.sort()
    covered = 0
    for begin, end in spans:
        assert begin == covered, f"gap or overlap at {covered}"
        covered = end
    assert covered == len(body), "trailing bytes"
    assert (8 + n) % 8 == 0, "header not padded to 8 bytes"
    return metadata, tensors


def main(path):
    metadata, tensors = load(path)
    out = {"metadata": metadata, "tensors": {}}
    for name, (dtype, values) in tensors.items():
        out["tensors"][name] = {"dtype": dtype, "shape": list(values.shape),
                                "values": values.astype(float).ravel().tolist()}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
