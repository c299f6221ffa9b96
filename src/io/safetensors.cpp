// safetensors reading and writing (see safetensors.h).
#include "noisesched/io/safetensors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/io/safetensors_header.h"

namespace noisesched {
namespace {

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
  const std::string bytes = read_file(path, "safetensors file");
  const SafetensorsLayout layout = parse_safetensors(bytes, path);
  SafetensorsContent content;
  content.metadata = layout.metadata;
  for (const auto& entry : layout.entries) {
    const auto it = std::find_if(dtype_names().begin(), dtype_names().end(),
                                 [&](const auto& p) { return p.second == entry.dtype; });
    if (it == dtype_names().end()) {
      throw Error("safetensors '" + path + "': tensor '" + entry.name + "' has unknown dtype " +
                  entry.dtype);
    }
    at::Tensor tensor = at::empty(entry.shape, at::TensorOptions().dtype(it->first));
    if (entry.end > entry.begin) {  // an empty tensor has no storage to copy into
      std::memcpy(tensor.data_ptr(), bytes.data() + layout.data_start + entry.begin,
                  entry.end - entry.begin);
    }
    content.tensors[entry.name] = tensor;
  }
  return content;
}

}  // namespace noisesched
