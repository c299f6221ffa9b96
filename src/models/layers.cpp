// Shared network building blocks (see layers.h).
#include "layers.h"

#include <ATen/ATen.h>

#include <cmath>

namespace noisesched::layers {

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int heads) {
  const auto batch = q.size(0), tq = q.size(1), tk = k.size(1), dim = q.size(2);
  const auto head_dim = dim / heads;
  // [B, T, D] -> [B, h, T, d].
  const auto kh = k.view({batch, tk, heads, head_dim}).transpose(1, 2);
  const auto vh = v.view({batch, tk, heads, head_dim}).transpose(1, 2);
#if NOISESCHED_HAVE_SDPA
  // LibTorch's fused kernels (flash or memory-efficient on CUDA, a fused kernel on the CPU), with
  // the same 1/sqrt(d) scale.
  const auto qh = q.view({batch, tq, heads, head_dim}).transpose(1, 2);
  const auto out = at::scaled_dot_product_attention(qh, kh, vh);
#else
  // The 1/sqrt(d) scale is folded into q (Tq d work, not Tq Tk).
  const auto qh = (q * (1.0 / std::sqrt(static_cast<double>(head_dim))))
                      .view({batch, tq, heads, head_dim})
                      .transpose(1, 2);
  const auto weights = at::softmax(at::matmul(qh, kh.transpose(-2, -1)), -1);  // [B, h, Tq, Tk]
  const auto out = at::matmul(weights, vh);
#endif
  return out.transpose(1, 2).reshape({batch, tq, dim});
}

MlpImpl::MlpImpl(int dim, double ratio)
    : dim_(dim), hidden_(static_cast<int>(std::lround(dim * ratio))) {
  fc1_ = register_module("fc1", torch::nn::Linear(dim_, hidden_));
  fc2_ = register_module("fc2", torch::nn::Linear(hidden_, dim_));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) { return fc2_(at::gelu(fc1_(x))); }

double MlpImpl::flops(double tokens) const {
  return linear_flops(tokens, dim_, hidden_) + linear_flops(tokens, hidden_, dim_);
}

TransformerLayerImpl::TransformerLayerImpl(int dim, int heads, double mlp_ratio)
    : dim_(dim), heads_(heads) {
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  qkv_ = register_module("qkv", torch::nn::Linear(dim, 3 * dim));
  proj_ = register_module("proj", torch::nn::Linear(dim, dim));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  mlp_ = register_module("mlp", Mlp(dim, mlp_ratio));
}

at::Tensor TransformerLayerImpl::forward(const at::Tensor& x_in) {
  const auto qkv = qkv_(norm1_(x_in)).chunk(3, -1);
  auto x = x_in + proj_(attention(qkv[0], qkv[1], qkv[2], heads_));
  return x + mlp_(norm2_(x));
}

double TransformerLayerImpl::flops(double tokens) const {
  return linear_flops(tokens, dim_, 3 * dim_) + attention_flops(tokens, tokens, dim_) +
         linear_flops(tokens, dim_, dim_) + mlp_->flops(tokens);
}

CrossAttentionBlockImpl::CrossAttentionBlockImpl(int dim, int context_dim, int heads,
                                                 double mlp_ratio)
    : dim_(dim), context_dim_(context_dim), heads_(heads) {
  using torch::nn::LayerNormOptions;
  norm_q_ = register_module("norm_q", torch::nn::LayerNorm(LayerNormOptions({dim})));
  norm_context_ =
      register_module("norm_context", torch::nn::LayerNorm(LayerNormOptions({context_dim})));
  q_ = register_module("q", torch::nn::Linear(dim, dim));
  kv_ = register_module("kv", torch::nn::Linear(context_dim, 2 * dim));
  proj_ = register_module("proj", torch::nn::Linear(dim, dim));
  norm_mlp_ = register_module("norm_mlp", torch::nn::LayerNorm(LayerNormOptions({dim})));
  mlp_ = register_module("mlp", Mlp(dim, mlp_ratio));
}

at::Tensor CrossAttentionBlockImpl::forward(const at::Tensor& x_in, const at::Tensor& context) {
  const auto kv = kv_(norm_context_(context)).chunk(2, -1);
  auto x = x_in + proj_(attention(q_(norm_q_(x_in)), kv[0], kv[1], heads_));
  return x + mlp_(norm_mlp_(x));
}

double CrossAttentionBlockImpl::flops(double tokens, double context_tokens) const {
  return linear_flops(tokens, dim_, dim_) + linear_flops(context_tokens, context_dim_, 2 * dim_) +
         attention_flops(tokens, context_tokens, dim_) + linear_flops(tokens, dim_, dim_) +
         mlp_->flops(tokens);
}

NoiseLevelEmbeddingImpl::NoiseLevelEmbeddingImpl(int features, int out)
    : features_(features), out_(out) {
  const int half = features / 2;
  // 10 down to 0.01 radians per logSNR unit, geometrically spaced.
  frequencies_ = register_buffer(
      "frequencies", at::exp(at::linspace(std::log(10.0), std::log(0.01), half)).to(at::kFloat));
  fc1_ = register_module("fc1", torch::nn::Linear(2 * half, out));
  fc2_ = register_module("fc2", torch::nn::Linear(out, out));
}

at::Tensor NoiseLevelEmbeddingImpl::forward(const at::Tensor& noise_level) {
  const auto angles = noise_level.to(at::kFloat).unsqueeze(1) * frequencies_.unsqueeze(0);
  const auto features = at::cat({at::sin(angles), at::cos(angles)}, 1);
  return fc2_(at::silu(fc1_(features)));
}

double NoiseLevelEmbeddingImpl::flops() const {
  return linear_flops(1, 2 * (features_ / 2), out_) + linear_flops(1, out_, out_);
}

}  // namespace noisesched::layers
