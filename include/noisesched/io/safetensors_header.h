// noisesched/io/safetensors_header.h: the safetensors layout, read and checked without LibTorch.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "value"}}, then the raw tensor data, each tensor contiguous, together
// covering the data without gaps. parse_safetensors() checks every one of those rules (and that
// no size computation overflows) before anything is allocated for a tensor, so the LibTorch
// reader only copies spans this has validated. It is the safetensors fuzz target's entry point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace noisesched {

inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;  // the reference limit
inline constexpr std::size_t kMaxTensorDims = 16;

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // "F32", "BF16", "I64", ... (see safetensors_dtype_size)
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // byte offsets into the data (after the header)
};

struct SafetensorsLayout {
  std::vector<SafetensorsEntry> entries;  // sorted by name
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;  // offset of the data in the file
};

// Bytes per element of a dtype name; 0 for a name this program does not know.
std::size_t safetensors_dtype_size(std::string_view dtype);

// Checks a whole file held in `file` and returns its layout. Throws noisesched::Error
// "safetensors '<name>': ..." for a short or oversized header, invalid JSON, an unknown dtype,
// more than kMaxTensorDims dimensions, a size that overflows or does not match the shape, offsets
// outside the data, overlapping or leaving gaps.
SafetensorsLayout parse_safetensors(std::string_view file, const std::string& name);

}  // namespace noisesched
