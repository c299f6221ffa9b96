// ADM-style U-Net (see unet.h).
#include "unet.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <numeric>
#include <sstream>

namespace noisesched {
namespace {

int group_count(int channels) {
  // 32 groups as in ADM, or the largest divisor of the channel count below that.
  for (int g = std::min(32, channels); g > 1; --g) {
    if (channels % g == 0) return g;
  }
  return 1;
}

torch::nn::GroupNorm group_norm(int channels) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(group_count(channels), channels));
}

torch::nn::Conv2d conv3x3(int in, int out, int stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

double conv_flops(double pixels, double in, double out, double kernel) {
  return 2.0 * pixels * in * out * kernel * kernel;
}

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int in, int out, int embedding_dim) {
    norm1_ = register_module("norm1", group_norm(in));
    conv1_ = register_module("conv1", conv3x3(in, out));
    embedding_ = register_module("embedding", torch::nn::Linear(embedding_dim, 2 * out));
    norm2_ = register_module("norm2", group_norm(out));
    conv2_ = register_module("conv2", conv3x3(out, out));
    if (in != out) {
      skip_ = register_module("skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
    }
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& embedding) {
    auto h = conv1_(at::silu(norm1_(x)));
    const auto scale_shift = embedding_(embedding).unsqueeze(-1).unsqueeze(-1).chunk(2, 1);
    h = norm2_(h) * (1 + scale_shift[0]) + scale_shift[1];
    h = conv2_(at::silu(h));
    return (skip_ ? skip_(x) : x) + h;
  }

 private:
  torch::nn::GroupNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
  torch::nn::Linear embedding_{nullptr};
};
TORCH_MODULE(ResidualBlock);

// Self-attention over the H W positions of a feature map.
class SpatialAttentionImpl : public torch::nn::Module {
 public:
  SpatialAttentionImpl(int channels, int heads) : heads_(heads) {
    norm_ = register_module("norm", group_norm(channels));
    qkv_ = register_module("qkv", torch::nn::Linear(channels, 3 * channels));
    proj_ = register_module("proj", torch::nn::Linear(channels, channels));
  }
  at::Tensor forward(const at::Tensor& x) {
    const auto b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const auto tokens = norm_(x).flatten(2).transpose(1, 2);  // [B, HW, C]
    const auto qkv = qkv_(tokens).chunk(3, -1);
    const auto out = proj_(layers::attention(qkv[0], qkv[1], qkv[2], heads_));
    return x + out.transpose(1, 2).reshape({b, c, h, w});
  }

 private:
  int heads_;
  torch::nn::GroupNorm norm_{nullptr};
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr};
};
TORCH_MODULE(SpatialAttention);

}  // namespace

UnetImpl::UnetImpl(const UnetConfig& config, int channels, int resolution, int num_classes,
                   bool class_conditional)
    : DenoiserImpl(channels, resolution, num_classes),
      config_(config),
      class_conditional_(class_conditional),
      embedding_dim_(4 * config.channels) {
  const int base = config.channels;
  noise_embedding_ =
      register_module("noise_embedding", layers::NoiseLevelEmbedding(base, embedding_dim_));
  flops_ += noise_embedding_->flops();
  if (class_conditional_) {
    class_embedding_ =
        register_module("class_embedding", torch::nn::Embedding(num_classes + 1, embedding_dim_));
  }
  // Input: the noisy image and the self-conditioning x0 estimate, concatenated, and with a
  // patch size P > 1 folded into P x P patches (space to depth): the network runs at
  // resolution / P on channels x P^2 values per position, so a larger image costs the same.
  const int patch = config.patch_size;
  const int folded = channels * patch * patch;
  const int inner = resolution / patch;
  input_ = register_module("input", conv3x3(2 * folded, base));
  double pixels = static_cast<double>(inner) * inner;
  flops_ += conv_flops(pixels, 2 * folded, base, 3);

  auto wants_attention = [&](int res) {
    return std::find(config.attention_resolutions.begin(), config.attention_resolutions.end(),
                     res) != config.attention_resolutions.end();
  };
  int index = 0;
  auto add = [&](std::vector<Stage>& list, Stage stage, const char* prefix) {
    register_module(std::string(prefix) + std::to_string(index), stage.module);
    if (stage.attention) {
      register_module(std::string(prefix) + std::to_string(index) + "_attention", stage.attention);
    }
    ++index;
    list.push_back(std::move(stage));
  };
  auto attention_flops = [&](double tokens, double c) {
    return layers::linear_flops(tokens, c, 3 * c) + layers::attention_flops(tokens, tokens, c) +
           layers::linear_flops(tokens, c, c);
  };
  auto residual_flops = [&](double px, double in, double out) {
    return conv_flops(px, in, out, 3) + conv_flops(px, out, out, 3) +
           (in != out ? conv_flops(px, in, out, 1) : 0.0) +
           layers::linear_flops(1, embedding_dim_, 2 * out);
  };

  std::vector<int> skip_channels = {base};
  int current = base, res = inner;
  const int levels = static_cast<int>(config.channel_mult.size());
  for (int level = 0; level < levels; ++level) {
    const int out = base * config.channel_mult[level];
    for (int r = 0; r < config.res_blocks; ++r) {
      Stage stage{Kind::kResidual, ResidualBlock(current, out, embedding_dim_).ptr(), nullptr,
                  false};
      flops_ += residual_flops(pixels, current, out);
      if (wants_attention(res)) {
        stage.attention = SpatialAttention(out, config.heads).ptr();
        flops_ += attention_flops(pixels, out);
      }
      add(encoder_, std::move(stage), "down");
      current = out;
      skip_channels.push_back(current);
    }
    if (level + 1 < levels) {
      add(encoder_, {Kind::kDown, conv3x3(current, current, 2).ptr(), nullptr, false}, "down");
      pixels /= 4;
      res /= 2;
      flops_ += conv_flops(pixels, current, current, 3);
      skip_channels.push_back(current);
    }
  }
  index = 0;
  add(middle_,
      {Kind::kResidual, ResidualBlock(current, current, embedding_dim_).ptr(),
       SpatialAttention(current, config.heads).ptr(), false},
      "middle");
  add(middle_,
      {Kind::kResidual, ResidualBlock(current, current, embedding_dim_).ptr(), nullptr, false},
      "middle");
  flops_ += 2 * residual_flops(pixels, current, current) + attention_flops(pixels, current);

  index = 0;
  for (int level = levels - 1; level >= 0; --level) {
    const int out = base * config.channel_mult[level];
    for (int r = 0; r < config.res_blocks + 1; ++r) {
      const int in = current + skip_channels.back();
      skip_channels.pop_back();
      Stage stage{Kind::kResidual, ResidualBlock(in, out, embedding_dim_).ptr(), nullptr, true};
      flops_ += residual_flops(pixels, in, out);
      if (wants_attention(res)) {
        stage.attention = SpatialAttention(out, config.heads).ptr();
        flops_ += attention_flops(pixels, out);
      }
      add(decoder_, std::move(stage), "up");
      current = out;
    }
    if (level > 0) {
      add(decoder_, {Kind::kUp, conv3x3(current, current).ptr(), nullptr, false}, "up");
      pixels *= 4;
      res *= 2;
      flops_ += conv_flops(pixels, current, current, 3);
    }
  }
  output_norm_ = register_module("output_norm", group_norm(current));
  output_ = register_module("output", conv3x3(current, folded));
  flops_ += conv_flops(pixels, current, folded, 3);
}

DenoiserOutput UnetImpl::forward(const DenoiserInput& input) {
  auto embedding = noise_embedding_(input.noise_level);
  if (class_conditional_) embedding = embedding + class_embedding_(input.labels);
  embedding = at::silu(embedding);
  const auto previous = input.self_cond.defined() ? input.self_cond : at::zeros_like(input.x);
  const int patch = config_.patch_size;
  at::Tensor both = at::cat({input.x, previous}, 1);
  if (patch > 1) both = at::pixel_unshuffle(both, patch);
  auto h = input_(both);

  auto run = [&](const Stage& stage, const at::Tensor& x) {
    at::Tensor y;
    switch (stage.kind) {
      case Kind::kResidual:
        y = std::dynamic_pointer_cast<ResidualBlockImpl>(stage.module)->forward(x, embedding);
        if (stage.attention) {
          y = std::dynamic_pointer_cast<SpatialAttentionImpl>(stage.attention)->forward(y);
        }
        return y;
      case Kind::kDown:
        return std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(stage.module)->forward(x);
      case Kind::kUp: {
        namespace F = torch::nn::functional;
        const auto up = F::interpolate(x, F::InterpolateFuncOptions()
                                              .scale_factor(std::vector<double>{2.0, 2.0})
                                              .mode(torch::kNearest));
        return std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(stage.module)->forward(up);
      }
    }
    return x;
  };
  std::vector<at::Tensor> skips = {h};
  for (const auto& stage : encoder_) {
    h = run(stage, h);
    skips.push_back(h);
  }
  for (const auto& stage : middle_) h = run(stage, h);
  for (const auto& stage : decoder_) {
    if (stage.pops_skip) {
      h = at::cat({h, skips.back()}, 1);
      skips.pop_back();
    }
    h = run(stage, h);
  }
  at::Tensor out = output_(at::silu(output_norm_(h)));
  if (patch > 1) out = at::pixel_shuffle(out, patch);
  return {out, at::Tensor()};
}

at::Tensor UnetImpl::self_condition_signal(const DenoiserOutput&,
                                           const at::Tensor& x0_estimate) const {
  return x0_estimate.detach();
}

std::string UnetImpl::describe() const {
  std::ostringstream out;
  out << "U-Net: " << config_.channels << " channels x [";
  for (std::size_t i = 0; i < config_.channel_mult.size(); ++i) {
    out << (i ? "," : "") << config_.channel_mult[i];
  }
  out << "], " << config_.res_blocks << " residual blocks per level";
  if (config_.patch_size > 1) {
    out << ", patch " << config_.patch_size << " (runs at " << resolution() / config_.patch_size
        << "x" << resolution() / config_.patch_size << ")";
  }
  out << "; " << parameter_count(*this) << " parameters, " << flops_ / 1e6 << " MFLOP per image";
  return out.str();
}

}  // namespace noisesched
