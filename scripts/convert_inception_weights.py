#!/usr/bin/python3
"""Converts Inception-v3 weights saved by PyTorch (a state_dict .pth) to the safetensors file
`noisesched eval --extractor` reads.

Usage: scripts/convert_inception_weights.py WEIGHTS.pth OUT.safetensors

Two inputs are recognised by the classifier's size:
  - the FID Inception weights used by pytorch-fid (pt_inception-2015-12-05-*.pth, ported from
    the TensorFlow graph FID is defined with; fc has 1008 rows) -> kind inception_v3_fid;
  - torchvision's inception_v3 ImageNet weights (fc has 1000 rows) -> kind inception_v3.
Tensor names stay torchvision's (Conv2d_1a_3x3.conv.weight, Mixed_5b.branch1x1.bn.running_mean,
...). AuxLogits.* and num_batches_tracked are dropped. Needs Debian's python3-torch to read
the .pth file; the safetensors file is written by the code below (no extra package).
"""
import json
import os
import struct
import sys

import numpy as np

DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64",
          np.dtype("uint8"): "U8", np.dtype("float16"): "F16", np.dtype("int32"): "I32"}


def save_safetensors(path, tensors, metadata):
    """Writes {name: numpy array} and string metadata in the safetensors layout, atomically."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": DTYPES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def inception_tensors(state_dict):
    """The tensors noisesched reads, as numpy arrays, and the kind they make."""
    out = {}
    for name, value in state_dict.items():
        if name.startswith("AuxLogits.") or name.endswith("num_batches_tracked"):
            continue
        out[name] = value.detach().cpu().numpy()
    rows = out["fc.weight"].shape[0]
    if rows not in (1000, 1008):
        raise SystemExit(f"fc.weight has {rows} rows; expected 1008 (FID) or 1000 (torchvision)")
    return out, "inception_v3_fid" if rows == 1008 else "inception_v3"


def main(source, destination):
    import torch  # only the conversion needs it

    state_dict = torch.load(source, map_location="cpu")
    if "state_dict" in state_dict:
        state_dict = state_dict["state_dict"]
    tensors, kind = inception_tensors(state_dict)
    save_safetensors(destination, tensors, {"format": "noisesched-extractor", "kind": kind,
                                            "source": os.path.basename(source)})
    print(f"wrote {destination}: {kind}, {len(tensors)} tensors")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
