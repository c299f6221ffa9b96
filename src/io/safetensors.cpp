// safetensors reading and writing (see safetensors.h).
#include "noisesched/io/safetensors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"

namespace noisesched {
namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the reference reader's limit

const std::vector<std::pair<at::ScalarType, std::string>>& dtype_names() {
  static const std::vector<std::pair<at::ScalarType, std::string>> names = {
      {at::kFloat, "F32"}, {at::kDouble, "F64"}, {at::kHalf, "F16"},  {at::kBFloat16, "BF16"},
      {at::kLong, "I64"},  {at::kInt, "I32"},    {at::kShort, "I16"}, {at::kChar, "I8"},
      {at::kByte, "U8"},   {at::kBool, "BOOL"}};
  return names;
}

std::string dtype_name(at::ScalarType type, const std::string& tensor) {
  for (const auto& [t, name] : dtype_names()) {
    if (t == type) return name;
  }
  throw Error("safetensors: tensor '" + tensor + "' has unsupported dtype " +
              std::string(c10::toString(type)));
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> contiguous;
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__" || !names.insert(name).second) {
      throw Error("safetensors '" + path + "': tensor name '" + name +
                  "' is empty, reserved or repeated");
    }
    at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
    const std::uint64_t bytes = cpu.numel() * cpu.element_size();
    header[name] = {{"dtype", dtype_name(cpu.scalar_type(), name)},
                    {"shape", cpu.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(std::move(cpu));
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  std::string file(8, '\0');
  const std::uint64_t header_size = header_text.size();
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((header_size >> (8 * i)) & 0xff);
  file += header_text;
  file.reserve(file.size() + offset);
  for (const auto& tensor : contiguous) {
    file.append(static_cast<const char*>(tensor.data_ptr()),
                tensor.numel() * tensor.element_size());
  }
  write_file_atomically(path, file);
}

SafetensorsContent load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("safetensors '" + path + "': cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto fail = [&](const std::string& why) { return Error("safetensors '" + path + "': " + why); };
  if (bytes.size() < 8) throw fail("truncated (" + std::to_string(bytes.size()) + " bytes)");
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i)
    header_size = header_size << 8 | static_cast<unsigned char>(bytes[i]);
  if (header_size > kMaxHeaderBytes || header_size > bytes.size() - 8) {
    throw fail("header length " + std::to_string(header_size) + " exceeds the file (" +
               std::to_string(bytes.size()) + " bytes): truncated or not a safetensors file");
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + header_size);
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  const std::uint64_t data_start = 8 + header_size;
  const std::uint64_t data_size = bytes.size() - data_start;

  SafetensorsContent content;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) throw fail("metadata '" + key + "' is not a string");
        content.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    try {
      const std::string dtype = entry.at("dtype").get<std::string>();
      const auto shape = entry.at("shape").get<std::vector<std::int64_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<std::uint64_t>>();
      auto it = std::find_if(dtype_names().begin(), dtype_names().end(),
                             [&](const auto& p) { return p.second == dtype; });
      if (it == dtype_names().end()) throw fail("tensor '" + name + "' has unknown dtype " + dtype);
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size) {
        throw fail("tensor '" + name + "' has data_offsets outside the " +
                   std::to_string(data_size) + " bytes of data");
      }
      std::uint64_t numel = 1;
      for (auto d : shape) {
        if (d < 0) throw fail("tensor '" + name + "' has a negative dimension");
        numel *= static_cast<std::uint64_t>(d);
      }
      const std::uint64_t expected = numel * c10::elementSize(it->first);
      if (offsets[1] - offsets[0] != expected) {
        throw fail("tensor '" + name + "' spans " + std::to_string(offsets[1] - offsets[0]) +
                   " bytes but its dtype and shape need " + std::to_string(expected));
      }
      at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(it->first));
      std::memcpy(tensor.data_ptr(), bytes.data() + data_start + offsets[0], expected);
      content.tensors[name] = tensor;
      ranges.emplace_back(offsets[0], offsets[1]);
    } catch (const nlohmann::json::exception& e) {
      throw fail("tensor '" + name + "' entry is malformed (" + e.what() + ")");
    }
  }
  std::sort(ranges.begin(), ranges.end());
  std::uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin != covered)
      throw fail("tensor data overlaps or leaves a gap at byte " + std::to_string(covered));
    covered = end;
  }
  if (covered != data_size) {
    throw fail(std::to_string(data_size - covered) + " bytes of data belong to no tensor");
  }
  return content;
}

}  // namespace noisesched
