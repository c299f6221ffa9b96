// The safetensors layout check (see safetensors_header.h).
#include "noisesched/io/safetensors_header.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "noisesched/common/error.h"

namespace noisesched {

std::size_t safetensors_dtype_size(std::string_view dtype) {
  static const std::pair<std::string_view, std::size_t> sizes[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};
  for (const auto& [name, size] : sizes) {
    if (name == dtype) return size;
  }
  return 0;
}

SafetensorsLayout parse_safetensors(std::string_view file, const std::string& name) {
  auto fail = [&](const std::string& why) { return Error("safetensors '" + name + "': " + why); };
  if (file.size() < 8) throw fail("truncated (" + std::to_string(file.size()) + " bytes)");
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = header_size << 8 | static_cast<unsigned char>(file[i]);
  if (header_size > kMaxSafetensorsHeaderBytes || header_size > file.size() - 8) {
    throw fail("header length " + std::to_string(header_size) + " exceeds the file (" +
               std::to_string(file.size()) + " bytes) or the limit of " +
               std::to_string(kMaxSafetensorsHeaderBytes) +
               " bytes: truncated or not a safetensors file");
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(file.substr(8, header_size));
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw fail("header is not a JSON object");

  SafetensorsLayout layout;
  layout.data_start = 8 + header_size;
  const std::uint64_t data_size = file.size() - layout.data_start;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      if (!entry.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [meta_key, value] : entry.items()) {
        if (!value.is_string()) throw fail("metadata '" + meta_key + "' is not a string");
        layout.metadata[meta_key] = value.get<std::string>();
      }
      continue;
    }
    const std::string tensor = "tensor '" + key + "'";
    if (key.empty()) throw fail("a tensor has an empty name");
    if (!entry.is_object()) throw fail(tensor + " entry is not an object");
    SafetensorsEntry parsed;
    parsed.name = key;
    const auto dtype = entry.find("dtype");
    const auto shape = entry.find("shape");
    const auto offsets = entry.find("data_offsets");
    if (dtype == entry.end() || !dtype->is_string()) throw fail(tensor + " has no dtype string");
    parsed.dtype = dtype->get<std::string>();
    const std::size_t element_size = safetensors_dtype_size(parsed.dtype);
    if (element_size == 0) throw fail(tensor + " has unknown dtype " + parsed.dtype);
    if (shape == entry.end() || !shape->is_array()) throw fail(tensor + " has no shape array");
    if (shape->size() > kMaxTensorDims) {
      throw fail(tensor + " has " + std::to_string(shape->size()) +
                 " dimensions, over the limit of " + std::to_string(kMaxTensorDims));
    }
    for (const auto& d : *shape) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0) {
        throw fail(tensor + " has a shape entry that is not a non-negative integer");
      }
      parsed.shape.push_back(d.get<std::int64_t>());
    }
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
      throw fail(tensor + " has no data_offsets [begin, end] of non-negative integers");
    }
    parsed.begin = (*offsets)[0].get<std::uint64_t>();
    parsed.end = (*offsets)[1].get<std::uint64_t>();
    if (parsed.begin > parsed.end || parsed.end > data_size) {
      throw fail(tensor + " has data_offsets outside the " + std::to_string(data_size) +
                 " bytes of data");
    }
    // The byte count the dtype and shape need, exact: every dimension is multiplied in, zeros
    // included, and an overflow of 64 bits (or an element count past 2^63, which LibTorch cannot
    // hold) is reported, never wrapped.
    const std::uint64_t span = parsed.end - parsed.begin;
    std::uint64_t elements = 1;
    bool overflow = false;
    for (const auto d : parsed.shape) {
      overflow =
          overflow || __builtin_mul_overflow(elements, static_cast<std::uint64_t>(d), &elements);
    }
    overflow = overflow || elements > static_cast<std::uint64_t>(INT64_MAX);
    std::uint64_t bytes = 0;
    overflow = overflow || __builtin_mul_overflow(elements, std::uint64_t{element_size}, &bytes);
    if (overflow || span != bytes) {
      throw fail(tensor + " spans " + std::to_string(span) +
                 " bytes but its dtype and shape need " +
                 (overflow ? std::string("more than 2^63 elements or 2^64 bytes")
                           : std::to_string(bytes)));
    }
    layout.entries.push_back(std::move(parsed));
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& entry : layout.entries) ranges.emplace_back(entry.begin, entry.end);
  std::sort(ranges.begin(), ranges.end());
  std::uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin != covered) {
      throw fail("tensor data overlaps or leaves a gap at byte " + std::to_string(covered));
    }
    covered = end;
  }
  if (covered != data_size) {
    throw fail(std::to_string(data_size - covered) + " bytes of data belong to no tensor");
  }
  return layout;
}

}  // namespace noisesched
