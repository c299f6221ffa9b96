// noisesched/config/enums.h: the configuration's closed sets of names, as data.
//
// Each enum has one NameTable (common/names.h): parsing, printing, the config's allowed values
// (config_fields() reads the tables) and the tests that loop over every entry. The sampler and
// normalisation tables live beside their maths in the schedule library. No LibTorch.
#pragma once

#include <string>
#include <string_view>

#include "noisesched/common/names.h"

namespace noisesched {

// What the network predicts (SPEC section 5).
enum class Target { kEps, kX0, kV };
const NameTable<Target>& target_names_table();
Target parse_target(std::string_view name);  // throws listing the valid names
std::string to_string(Target target);

enum class Architecture { kRin, kUnet };
const NameTable<Architecture>& architecture_names_table();
Architecture parse_architecture(std::string_view name);
std::string to_string(Architecture arch);

enum class OptimizerKind { kLamb, kAdamW };
const NameTable<OptimizerKind>& optimizer_names_table();
OptimizerKind parse_optimizer(std::string_view name);
std::string to_string(OptimizerKind kind);

// The arithmetic of the network's forward and backward passes (train.precision): fp32
// throughout; fp32 with TF32 matrix products on CUDA; or bf16 autocast (matrix products and
// convolutions in bfloat16, everything else in float32). Weights, gradients and optimizer state
// stay float32 in every case.
enum class Precision { kFp32, kTf32, kBf16 };
const NameTable<Precision>& precision_names_table();
Precision parse_precision(std::string_view name);
std::string to_string(Precision precision);

// Whether training steps and the sampler's network calls replay CUDA graphs (train.cuda_graphs,
// train/engine.h, diffusion/network.h, docs/performance.md): auto where the device is CUDA, this
// LibTorch can capture graphs and one process trains; on: the same, an error where it cannot; off:
// never.
enum class CudaGraphs { kAuto, kOn, kOff };
const NameTable<CudaGraphs>& cuda_graphs_names_table();
CudaGraphs parse_cuda_graphs(std::string_view name);
std::string to_string(CudaGraphs mode);

// Which c10d backend a multi-process run talks through (train.dist_backend): auto is NCCL for
// CUDA and Gloo for the CPU; gloo on CUDA reduces through the host (copies each bucket to the CPU
// and back), which is slower but lets several processes share one GPU, which NCCL refuses.
enum class DistBackend { kAuto, kGloo, kNccl };
const NameTable<DistBackend>& dist_backend_names_table();
DistBackend parse_dist_backend(std::string_view name);
std::string to_string(DistBackend backend);

}  // namespace noisesched
