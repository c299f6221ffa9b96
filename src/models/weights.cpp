// Weights by name (see weights.h).
#include "noisesched/models/weights.h"

#include <torch/utils.h>

#include <algorithm>

#include "noisesched/common/error.h"

namespace noisesched {

NamedTensors module_tensors(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) out.emplace_back(item.key(), item.value());
  return out;
}

void load_module_tensors(torch::nn::Module& module,
                         const std::map<std::string, at::Tensor>& tensors,
                         const std::string& source) {
  torch::NoGradGuard no_grad;
  const NamedTensors expected = module_tensors(module);
  for (const auto& [name, tensor] : expected) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) {
      throw Error(source + ": tensor '" + name + "' is missing (a different model?)");
    }
    if (it->second.sizes() != tensor.sizes()) {
      throw Error(source + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                  ", the model expects " + c10::str(tensor.sizes()));
    }
  }
  if (tensors.size() != expected.size()) {
    for (const auto& [name, tensor] : tensors) {
      const bool known = std::any_of(expected.begin(), expected.end(),
                                     [&](const auto& e) { return e.first == name; });
      if (!known) throw Error(source + ": unexpected tensor '" + name + "' (a different model?)");
    }
  }
  for (const auto& [name, tensor] : expected) {
    tensor.copy_(tensors.at(name));
  }
}

}  // namespace noisesched
