// noisesched/models/weights.h: a module's weights by name, to and from checkpoints and weight
// files (safetensors, io/safetensors.h). Tensor names are the LibTorch module paths.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <map>
#include <string>

#include "noisesched/io/safetensors.h"

namespace noisesched {

// Parameters and buffers by name (the module's own tensors, not copies).
NamedTensors module_tensors(const torch::nn::Module& module);

// Loads named tensors into a module; names and shapes must match exactly (the error names
// `source` and the first missing, unexpected or mis-shaped tensor).
void load_module_tensors(torch::nn::Module& module,
                         const std::map<std::string, at::Tensor>& tensors,
                         const std::string& source);

}  // namespace noisesched
