// Building blocks shared by the networks: MLPs, attention, the noise-level embedding.
// Private to src/models. Shapes: tokens are [B, T, D].
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

namespace noisesched::layers {

// Multi-head scaled dot-product attention. q: [B, Tq, D], k, v: [B, Tk, D] -> [B, Tq, D].
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int heads);

// FLOPs of attention between Tq queries and Tk keys of width D (scores and weighted sum).
inline double attention_flops(double tq, double tk, double d) { return 4.0 * tq * tk * d; }
inline double linear_flops(double tokens, double in, double out) { return 2.0 * tokens * in * out; }

// Linear -> GELU -> Linear with hidden width ratio * dim.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int dim, double ratio);
  at::Tensor forward(const at::Tensor& x);
  double flops(double tokens) const;

 private:
  int dim_, hidden_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(Mlp);

// Pre-LN transformer layer: x + SelfAttention(LN(x)), then x + MLP(LN(x)).
class TransformerLayerImpl : public torch::nn::Module {
 public:
  TransformerLayerImpl(int dim, int heads, double mlp_ratio);
  at::Tensor forward(const at::Tensor& x);
  double flops(double tokens) const;

 private:
  int dim_, heads_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr};
  Mlp mlp_{nullptr};
};
TORCH_MODULE(TransformerLayer);

// x attends to context: x + CrossAttention(LN(x), LN(context)), then x + MLP(LN(x)).
// x: [B, T, dim], context: [B, S, context_dim].
class CrossAttentionBlockImpl : public torch::nn::Module {
 public:
  CrossAttentionBlockImpl(int dim, int context_dim, int heads, double mlp_ratio);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context);
  double flops(double tokens, double context_tokens) const;

 private:
  int dim_, context_dim_, heads_;
  torch::nn::LayerNorm norm_q_{nullptr}, norm_context_{nullptr}, norm_mlp_{nullptr};
  torch::nn::Linear q_{nullptr}, kv_{nullptr}, proj_{nullptr};
  Mlp mlp_{nullptr};
};
TORCH_MODULE(CrossAttentionBlock);

// Noise level (effective logSNR) -> [B, out]: sinusoidal features of the level at geometrically
// spaced frequencies (wavelengths from ~0.6 to ~600 logSNR units), then Linear-SiLU-Linear.
class NoiseLevelEmbeddingImpl : public torch::nn::Module {
 public:
  NoiseLevelEmbeddingImpl(int features, int out);
  at::Tensor forward(const at::Tensor& noise_level);
  double flops() const;

 private:
  int features_, out_;
  at::Tensor frequencies_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(NoiseLevelEmbedding);

}  // namespace noisesched::layers
