// RIN (see rin.h).
#include "rin.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

// 2-D sine-cosine position codes [1, side * side, dim] (row-major tokens): a quarter of the
// features each for sin/cos of the row and of the column at geometric frequencies. They start
// the learned positions at full strength, so even a short run knows where each token is.
at::Tensor sincos_positions(int side, int dim) {
  const int quarter = std::max(1, dim / 4);
  const auto frequencies =
      at::exp(at::arange(quarter, at::kFloat) * (-std::log(100.0) / std::max(1, quarter - 1)));
  const auto coords = at::arange(side, at::kFloat);
  const auto angles =
      coords.unsqueeze(1) * frequencies.unsqueeze(0) * (3.14159265f / 2);  // [side, q]
  const auto per_axis = at::cat({at::sin(angles), at::cos(angles)}, 1);    // [side, 2q]
  const auto rows = per_axis.unsqueeze(1).expand({side, side, 2 * quarter});
  const auto cols = per_axis.unsqueeze(0).expand({side, side, 2 * quarter});
  auto codes = at::cat({rows, cols}, 2).reshape({1, side * side, 4 * quarter});
  if (codes.size(2) < dim)
    codes = at::cat({codes, at::zeros({1, side * side, dim - codes.size(2)})}, 2);
  return codes.slice(2, 0, dim).contiguous();
}

}  // namespace

RinImpl::RinImpl(const RinConfig& config, int channels, int resolution, int num_classes,
                 bool class_conditional)
    : DenoiserImpl(channels, resolution, num_classes),
      config_(config),
      class_conditional_(class_conditional) {
  const int p = config.patch_size, di = config.interface_dim, dl = config.latent_dim;
  if (resolution % p != 0) {
    throw Error("RIN: resolution " + std::to_string(resolution) + " is not a multiple of patch " +
                std::to_string(p));
  }
  tokens_ = (resolution / p) * (resolution / p);
  patchify_ = register_module(
      "patchify", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, di, p).stride(p)));
  positions_ = register_parameter("positions", sincos_positions(resolution / p, di));
  interface_norm_ =
      register_module("interface_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({di})));
  latents_ = register_parameter("latents", at::randn({config.latents, dl}) * 0.02);
  noise_embedding_ =
      register_module("noise_embedding", layers::NoiseLevelEmbedding(std::max(32, dl / 4), dl));
  if (class_conditional_) {
    // Unit-scale class codes (LibTorch's default N(0, 1)): the class token must hold its own in
    // the latents' residual stream against what the first read adds; at 0.02 it was washed out
    // and a short run learned no class dependence at all.
    class_embedding_ =
        register_module("class_embedding", torch::nn::Embedding(num_classes + 1, dl));
  }
  self_cond_in_ =
      register_module("self_cond_in", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dl})));
  self_cond_mlp_ = register_module("self_cond_mlp", layers::Mlp(dl, config.mlp_ratio));
  self_cond_out_ =
      register_module("self_cond_out", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dl})));
  {
    // The self-conditioning path starts switched off (gain 0), as in the RIN paper.
    torch::NoGradGuard no_grad;
    self_cond_out_->weight.zero_();
  }
  reads_ = register_module("reads", torch::nn::ModuleList());
  computes_ = register_module("computes", torch::nn::ModuleList());
  writes_ = register_module("writes", torch::nn::ModuleList());
  for (int b = 0; b < config.blocks; ++b) {
    reads_->push_back(layers::CrossAttentionBlock(dl, di, config.cross_heads, config.mlp_ratio));
    auto layers_of_block = torch::nn::ModuleList();
    for (int l = 0; l < config.layers_per_block; ++l) {
      layers_of_block->push_back(layers::TransformerLayer(dl, config.heads, config.mlp_ratio));
    }
    computes_->push_back(layers_of_block);
    writes_->push_back(layers::CrossAttentionBlock(di, dl, config.cross_heads, config.mlp_ratio));
  }
  out_norm_ = register_module("out_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({di})));
  out_ = register_module("out", torch::nn::Linear(di, p * p * channels));

  // FLOPs of one forward pass per example, from the same blocks the forward pass runs.
  const double n = tokens_, m = config.latents + (class_conditional_ ? 2 : 1);
  flops_ = layers::linear_flops(n, p * p * channels, di) + noise_embedding_->flops() +
           self_cond_mlp_->flops(m) + layers::linear_flops(n, di, p * p * channels);
  for (int b = 0; b < config.blocks; ++b) {
    flops_ += reads_[b]->as<layers::CrossAttentionBlock>()->flops(m, n);
    for (const auto& layer : *computes_[b]->as<torch::nn::ModuleList>()) {
      flops_ += layer->as<layers::TransformerLayer>()->flops(m);
    }
    flops_ += writes_[b]->as<layers::CrossAttentionBlock>()->flops(n, m);
  }
}

DenoiserOutput RinImpl::forward(const DenoiserInput& input) {
  const auto& x = input.x;  // [B, C, H, W]
  const auto batch = x.size(0);
  const int p = config_.patch_size, side = resolution() / p;
  // Interface: [B, Di, H/p, W/p] -> [B, N, Di]. Positions join after the LayerNorm (as in the
  // official code), so the normalisation cannot wash them out of noisy patches.
  auto z = patchify_(x).flatten(2).transpose(1, 2);
  z = interface_norm_(z) + positions_;

  // Latents: learned tokens, then the noise-level and class tokens.
  std::vector<at::Tensor> parts = {latents_.unsqueeze(0).expand({batch, -1, -1}),
                                   noise_embedding_(input.noise_level).unsqueeze(1)};
  if (class_conditional_) parts.push_back(class_embedding_(input.labels).unsqueeze(1));
  auto latents = at::cat(parts, 1);  // [B, M + 1 or 2, Dl]
  const auto previous = input.self_cond.defined() ? input.self_cond : at::zeros_like(latents);
  latents = latents + self_cond_out_(self_cond_mlp_(self_cond_in_(previous)));

  for (int b = 0; b < config_.blocks; ++b) {
    latents = reads_[b]->as<layers::CrossAttentionBlock>()->forward(latents, z);
    for (const auto& layer : *computes_[b]->as<torch::nn::ModuleList>()) {
      latents = layer->as<layers::TransformerLayer>()->forward(latents);
    }
    z = writes_[b]->as<layers::CrossAttentionBlock>()->forward(z, latents);
  }
  // [B, N, p p C] -> [B, C, H, W].
  const auto patches = out_(out_norm_(z));
  const auto image = patches.view({batch, side, side, p, p, channels()})
                         .permute({0, 5, 1, 3, 2, 4})
                         .reshape({batch, channels(), side * p, side * p});
  return {image, latents};
}

at::Tensor RinImpl::self_condition_signal(const DenoiserOutput& output, const at::Tensor&) const {
  return output.latents.detach();
}

std::string RinImpl::describe() const {
  std::ostringstream out;
  out << "RIN: " << tokens_ << " interface tokens (patch " << config_.patch_size << ") x "
      << config_.interface_dim << ", " << config_.latents << " latents x " << config_.latent_dim
      << ", " << config_.blocks << " blocks x " << config_.layers_per_block << " layers, "
      << config_.heads << " heads; " << parameter_count(*this) << " parameters, "
      << forward_flops_per_example() / 1e6 << " MFLOP per image";
  return out.str();
}

}  // namespace noisesched
