// Name tables of the configuration's enums (see enums.h).
#include "noisesched/config/enums.h"

#include "noisesched/common/numbers.h"

namespace noisesched {

const NameTable<Target>& target_names_table() {
  static const NameTable<Target> table("target",
                                       {{Target::kEps, "eps", "the noise (the paper's runs)"},
                                        {Target::kX0, "x0", "the clean (scaled) image"},
                                        {Target::kV, "v", "a eps - s x0 (Salimans & Ho 2022)"}});
  return table;
}
Target parse_target(std::string_view name) { return target_names_table().parse(trim(name)); }
std::string to_string(Target target) { return target_names_table().name(target); }

const NameTable<Architecture>& architecture_names_table() {
  static const NameTable<Architecture> table(
      "model.arch", {{Architecture::kRin, "rin", "Recurrent Interface Network (Jabri et al.)"},
                     {Architecture::kUnet, "unet", "ADM-style U-Net"}});
  return table;
}
Architecture parse_architecture(std::string_view name) {
  return architecture_names_table().parse(trim(name));
}
std::string to_string(Architecture arch) { return architecture_names_table().name(arch); }

const NameTable<OptimizerKind>& optimizer_names_table() {
  static const NameTable<OptimizerKind> table(
      "optimizer", {{OptimizerKind::kLamb, "lamb", "LAMB (You et al. 2019), the paper's"},
                    {OptimizerKind::kAdamW, "adamw", "AdamW (Loshchilov & Hutter 2019)"}});
  return table;
}
OptimizerKind parse_optimizer(std::string_view name) {
  return optimizer_names_table().parse(trim(name));
}
std::string to_string(OptimizerKind kind) { return optimizer_names_table().name(kind); }

const NameTable<Precision>& precision_names_table() {
  static const NameTable<Precision> table(
      "train.precision",
      {{Precision::kFp32, "fp32", "float32 throughout"},
       {Precision::kTf32, "tf32",
        "float32, with TF32 matrix products and convolutions on CUDA (as fp32 on the CPU)"},
       {Precision::kBf16, "bf16",
        "bfloat16 autocast on CUDA: matrix products and convolutions in bfloat16, float32 "
        "weights, gradients and optimizer state"}});
  return table;
}
Precision parse_precision(std::string_view name) {
  return precision_names_table().parse(trim(name));
}
std::string to_string(Precision precision) { return precision_names_table().name(precision); }

const NameTable<CudaGraphs>& cuda_graphs_names_table() {
  static const NameTable<CudaGraphs> table(
      "train.cuda_graphs",
      {{CudaGraphs::kAuto, "auto",
        "on a CUDA device with one process, where LibTorch can capture graphs; else off"},
       {CudaGraphs::kOn, "on", "as auto, and an error where graphs cannot be used"},
       {CudaGraphs::kOff, "off", "every operation launched on its own"}});
  return table;
}
CudaGraphs parse_cuda_graphs(std::string_view name) {
  return cuda_graphs_names_table().parse(trim(name));
}
std::string to_string(CudaGraphs mode) { return cuda_graphs_names_table().name(mode); }

const NameTable<DistBackend>& dist_backend_names_table() {
  static const NameTable<DistBackend> table(
      "train.dist_backend",
      {{DistBackend::kAuto, "auto", "NCCL for CUDA, Gloo for the CPU"},
       {DistBackend::kGloo, "gloo",
        "Gloo (on CUDA through the host: slower, but several processes may share a GPU)"},
       {DistBackend::kNccl, "nccl", "NCCL (CUDA only; one GPU per process)"}});
  return table;
}
DistBackend parse_dist_backend(std::string_view name) {
  return dist_backend_names_table().parse(trim(name));
}
std::string to_string(DistBackend backend) { return dist_backend_names_table().name(backend); }

}  // namespace noisesched
