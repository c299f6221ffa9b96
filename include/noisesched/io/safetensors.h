// noisesched/io/safetensors.h: tensors in the safetensors format, readable by Python's
// `safetensors` (and by anything that follows its specification).
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "value"}} padded with spaces to a multiple of 8, then the raw
// little-endian tensor data, each tensor contiguous, together covering the data without gaps.
// Files are written atomically; reading validates every offset and names the file on error.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace noisesched {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

struct SafetensorsContent {
  std::map<std::string, at::Tensor> tensors;  // on the CPU
  std::map<std::string, std::string> metadata;
};

// Saves tensors (any device; copied to the CPU) with string metadata. Names must be unique and
// non-empty. Supported dtypes: float32/64/16, bfloat16, int64/32/16/8, uint8, bool.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Loads a whole file. Throws noisesched::Error naming the file for a short or oversized header,
// invalid JSON, an unknown dtype, offsets outside the data or overlapping, gaps, or a size that
// does not match the shape.
SafetensorsContent load_safetensors(const std::string& path);

}  // namespace noisesched
