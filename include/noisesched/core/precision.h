// noisesched/core/precision.h: the arithmetic of the network's passes (train.precision).
//
// PrecisionScope is entered by predict() (diffusion/network.h) around each network forward pass,
// so training, sampling and evaluation compute alike:
//   fp32  float32 throughout (on CUDA also for convolutions, which LibTorch runs in TF32 by
//         default).
//   tf32  on CUDA, matrix products and convolutions in TF32 (float32 storage); as fp32 elsewhere.
//   bf16  on CUDA, LibTorch's autocast to bfloat16: matrix products, convolutions and attention
//         products in bfloat16; reductions, normalisations and softmax in float32; TF32 for
//         the float32 products that remain. On the CPU it computes as fp32 (LibTorch 1.13's CPU
//         autocast cannot run the models' LayerNorms), so a bf16-trained model samples on the
//         CPU in float32; training in bf16 on the CPU is refused by the configuration check.
// The weights, their gradients and the optimizer state are float32 in every case (autocast
// casts copies of the weights for the products, and the gradients flow back to the float32
// weights). The backward pass runs the casts' mirror images, outside the scope, as autocast
// intends. The TF32 switches are process-wide in LibTorch: the scope sets them on CUDA and
// leaves them set, so that the backward pass and the optimizer that follow compute alike.
// This header includes no LibTorch header.
#pragma once

#include <memory>

#include "noisesched/config/enums.h"

namespace c10 {
struct Device;
}

namespace noisesched {

class PrecisionScope {
 public:
  PrecisionScope(Precision precision, const c10::Device& device);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace noisesched
