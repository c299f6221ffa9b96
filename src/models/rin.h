// RIN: Recurrent Interface Networks (Jabri, Fleet, Chen 2022), as SPEC section 7 describes.
//
//   interface z [B, N, Di]: p x p stride-p patches of the input + learned positions, LayerNorm
//   latents  [B, M + 2, Dl]: M learned tokens, a noise-level token and a class token
//   latent self-conditioning: latents += LN0(MLP(LN(previous latents))), LN0's gain starts at 0
//   B blocks of: read (latents cross-attend to z, MLP), L latent transformer layers,
//                write (z cross-attends to the latents, MLP)
//   output: LayerNorm, linear to p*p*C per token, un-patchify.
// Most of the cost is in the latents, so a larger image with a larger patch costs about the same.
#pragma once

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>

#include "layers.h"
#include "noisesched/models/denoiser.h"

namespace noisesched {

class RinImpl final : public DenoiserImpl {
 public:
  RinImpl(const RinConfig& config, int channels, int resolution, int num_classes,
          bool class_conditional);

  DenoiserOutput forward(const DenoiserInput& input) override;
  at::Tensor self_condition_signal(const DenoiserOutput& output,
                                   const at::Tensor& x0_estimate) const override;
  double forward_flops_per_example() const override { return flops_; }
  std::string describe() const override;

 private:
  RinConfig config_;
  bool class_conditional_;
  int tokens_;  // N = (resolution / patch)^2
  double flops_ = 0;
  torch::nn::Conv2d patchify_{nullptr};
  at::Tensor positions_;  // [1, N, Di]
  torch::nn::LayerNorm interface_norm_{nullptr};
  at::Tensor latents_;  // [M, Dl]
  layers::NoiseLevelEmbedding noise_embedding_{nullptr};
  torch::nn::Embedding class_embedding_{nullptr};
  torch::nn::LayerNorm self_cond_in_{nullptr}, self_cond_out_{nullptr};
  layers::Mlp self_cond_mlp_{nullptr};
  torch::nn::ModuleList reads_, computes_, writes_;
  torch::nn::LayerNorm out_norm_{nullptr};
  torch::nn::Linear out_{nullptr};
};

}  // namespace noisesched
