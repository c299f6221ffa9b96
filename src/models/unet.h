// U-Net baseline in the style of ADM (Dhariwal & Nichol 2021): residual blocks with GroupNorm,
// SiLU and a scale-shift from the noise-level + class embedding, self-attention at chosen
// resolutions, strided-convolution downsampling and nearest-neighbour upsampling, skip
// connections. Self-conditioning concatenates the previous x0 estimate to the input.
#pragma once

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>

#include "layers.h"
#include "noisesched/models/denoiser.h"

namespace noisesched {

class UnetImpl final : public DenoiserImpl {
 public:
  UnetImpl(const UnetConfig& config, int channels, int resolution, int num_classes,
           bool class_conditional);

  DenoiserOutput forward(const DenoiserInput& input) override;
  at::Tensor self_condition_signal(const DenoiserOutput& output,
                                   const at::Tensor& x0_estimate) const override;
  double forward_flops_per_example() const override { return flops_; }
  std::string describe() const override;

 private:
  // One step of the encoder or decoder: a residual block (optionally with attention),
  // a downsampling or an upsampling layer.
  enum class Kind { kResidual, kDown, kUp };
  struct Stage {
    Kind kind;
    std::shared_ptr<torch::nn::Module> module;
    std::shared_ptr<torch::nn::Module> attention;  // may be null
    bool pops_skip = false;  // decoder: the input concatenates the latest encoder output
  };

  UnetConfig config_;
  bool class_conditional_;
  double flops_ = 0;
  int embedding_dim_;
  layers::NoiseLevelEmbedding noise_embedding_{nullptr};
  torch::nn::Embedding class_embedding_{nullptr};
  torch::nn::Conv2d input_{nullptr}, output_{nullptr};
  torch::nn::GroupNorm output_norm_{nullptr};
  std::vector<Stage> encoder_, middle_, decoder_;
};

}  // namespace noisesched
