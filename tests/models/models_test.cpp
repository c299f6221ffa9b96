// Networks: shapes at several resolutions, gradients everywhere, FLOP counts, save/load, the
// loss falling when overfitting one batch, and the precision policy (train.precision).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <filesystem>

#include "noisesched/common/error.h"
#include "noisesched/core/precision.h"
#include "noisesched/io/safetensors.h"
#include "noisesched/models/denoiser.h"
#include "noisesched/models/weights.h"
#include "noisesched/optim/optimizer.h"

namespace noisesched {
namespace {

Config tiny_rin(int resolution, int patch) {
  Config c;
  c.data.resolution = resolution;
  c.rin.patch_size = patch;
  c.rin.latents = 8;
  c.rin.latent_dim = 32;
  c.rin.interface_dim = 16;
  c.rin.blocks = 2;
  c.rin.layers_per_block = 1;
  c.rin.heads = 4;
  c.rin.cross_heads = 2;
  c.rin.mlp_ratio = 2;
  return c;
}

Config tiny_unet(int resolution) {
  Config c;
  c.model.arch = "unet";
  c.data.resolution = resolution;
  c.unet.channels = 16;
  c.unet.channel_mult = {1, 2};
  c.unet.res_blocks = 1;
  c.unet.attention_resolutions = {resolution / 2};
  c.unet.heads = 2;
  return c;
}

DenoiserInput random_input(int batch, int channels, int resolution, int classes) {
  DenoiserInput in;
  in.x = at::randn({batch, channels, resolution, resolution});
  in.noise_level = at::randn({batch}) * 5;
  in.labels = at::randint(0, classes + 1, {batch}, at::kLong);
  return in;
}

TEST(Models, OutputShapesAtSeveralResolutions) {
  for (auto [res, patch] : {std::pair{8, 2}, {16, 4}, {32, 8}, {24, 4}}) {
    for (int channels : {1, 3}) {
      auto model = make_denoiser(resolve(tiny_rin(res, patch)), channels, 10);
      const DenoiserOutput out = model->forward(random_input(3, channels, res, 10));
      EXPECT_EQ(out.prediction.sizes(), (std::vector<std::int64_t>{3, channels, res, res}));
      EXPECT_EQ(out.latents.sizes(), (std::vector<std::int64_t>{3, 8 + 2, 32}));
      // The latents feed back as self-conditioning.
      DenoiserInput again = random_input(3, channels, res, 10);
      again.self_cond = model->self_condition_signal(out, at::Tensor());
      EXPECT_EQ(model->forward(again).prediction.sizes(), out.prediction.sizes());
    }
  }
  for (int res : {8, 16, 32}) {
    auto model = make_denoiser(resolve(tiny_unet(res)), 3, 10);
    DenoiserInput in = random_input(2, 3, res, 10);
    const DenoiserOutput out = model->forward(in);
    EXPECT_EQ(out.prediction.sizes(), (std::vector<std::int64_t>{2, 3, res, res}));
    in.self_cond = model->self_condition_signal(out, at::randn({2, 3, res, res}));
    EXPECT_EQ(model->forward(in).prediction.sizes(), out.prediction.sizes());
  }
}

TEST(Models, UnetWithPatchesRunsAtAFractionOfTheResolutionAtFlatCost) {
  // unet.patch_size P folds P x P patches into channels: the same network at 8x8 inside, whatever
  // the image size, and the output is back at full size.
  const auto patched = [](int res, int patch) {
    Config c = tiny_unet(res / patch);
    c.data.resolution = res;
    c.unet.patch_size = patch;
    return c;
  };
  const double base = make_denoiser(resolve(tiny_unet(8)), 3, 10)->forward_flops_per_example();
  for (auto [res, patch] : {std::pair{16, 2}, {32, 4}}) {
    auto model = make_denoiser(resolve(patched(res, patch)), 3, 10);
    DenoiserInput in = random_input(2, 3, res, 10);
    const DenoiserOutput out = model->forward(in);
    EXPECT_EQ(out.prediction.sizes(), (std::vector<std::int64_t>{2, 3, res, res}));
    in.self_cond = model->self_condition_signal(out, at::randn({2, 3, res, res}));
    EXPECT_EQ(model->forward(in).prediction.sizes(), out.prediction.sizes());
    // Only the input and output convolutions grow (with P^2 channels).
    const double cost = model->forward_flops_per_example();
    EXPECT_GT(cost, base);
    EXPECT_LT(cost / base, 1.3) << res;
    EXPECT_NE(model->describe().find("patch " + std::to_string(patch) + " (runs at 8x8)"),
              std::string::npos)
        << model->describe();
  }
}

TEST(Models, PatchUnpatchKeepsPixelsInPlace) {
  // With the interface and output layers set so the network copies its input through
  // (patchify: identity per pixel; blocks: zeroed; out: inverse), the output equals the input:
  // un-patchify is the exact inverse of patchify's layout.
  Config c = tiny_rin(8, 2);
  c.rin.interface_dim = 4;  // p * p * C with C = 1
  c.rin.cross_heads = 2;
  c.rin.latent_dim = 32;
  auto model = make_denoiser(resolve(c), 1, 10);
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    const auto& name = item.key();
    auto p = item.value();
    if (name == "patchify.weight") {
      p.zero_();
      for (int k = 0; k < 4; ++k) p[k][0][k / 2][k % 2] = 1;  // channel k = pixel (k/2, k%2)
    } else if (name == "out.weight") {
      p.copy_(at::eye(4));
    } else if (name.find("out_norm") != std::string::npos || name == "interface_norm.weight" ||
               name == "interface_norm.bias") {
      // Identity-like norms are not possible; skip the check below for them by zeroing blocks.
    } else if (name.rfind("writes", 0) == 0 || name == "positions" || name == "patchify.bias" ||
               name == "out.bias") {
      p.zero_();
    }
  }
  // LayerNorm over 4 features still rescales; compare the normalised pattern instead.
  const at::Tensor x = at::randn({2, 1, 8, 8});
  DenoiserInput in = random_input(2, 1, 8, 10);
  in.x = x;
  const at::Tensor y = model->forward(in).prediction;
  // Per token (2x2 patch), the output is the patch's pixels standardised (two LayerNorms).
  const auto patches = x.view({2, 1, 4, 2, 4, 2}).permute({0, 2, 4, 3, 5, 1}).reshape({2, 16, 4});
  const auto standard =
      (patches - patches.mean(-1, true)) / (patches.var(-1, false, true) + 1e-5).sqrt();
  const auto out_patches =
      y.view({2, 1, 4, 2, 4, 2}).permute({0, 2, 4, 3, 5, 1}).reshape({2, 16, 4});
  const auto out_standard =
      (out_patches - out_patches.mean(-1, true)) / (out_patches.var(-1, false, true) + 1e-5).sqrt();
  EXPECT_TRUE(at::allclose(out_standard, standard, 1e-2, 1e-2));
}

TEST(Models, EveryParameterReceivesAGradient) {
  for (const Config& config : {tiny_rin(16, 4), tiny_unet(16)}) {
    at::manual_seed(0);
    auto model = make_denoiser(resolve(config), 1, 10);
    Optimizer optimizer(*model, OptimizerOptions{});
    // Two steps: zero-initialised gains (RIN's self-conditioning output) pass gradients on only
    // once they have moved.
    for (int round = 0; round < 2; ++round) {
      DenoiserInput in = random_input(4, 1, 16, 10);
      in.self_cond =
          model->self_condition_signal(model->forward(in), at::randn({4, 1, 16, 16})).detach();
      model->zero_grad();
      model->forward(in).prediction.pow(2).mean().backward();
      if (round == 0) {
        optimizer.step(1e-2);
        continue;
      }
      for (const auto& item : model->named_parameters()) {
        ASSERT_TRUE(item.value().grad().defined()) << config.model.arch << " " << item.key();
        EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0)
            << config.model.arch << " " << item.key();
      }
    }
  }
}

TEST(Models, FlopCountMatchesAnIndependentCount) {
  // Independent count for the RIN: 2 x weights x tokens for every linear layer, plus attention
  // 4 Tq Tk D, from the parameter shapes alone.
  const Config config = tiny_rin(16, 4);
  auto model = make_denoiser(resolve(config), 1, 10);
  const double n = 16, m = 8 + 2, di = 16, dl = 32;
  double expected = 0;
  for (const auto& item : model->named_parameters()) {
    const auto& name = item.key();
    const auto& p = item.value();
    if (p.dim() != 2 || name == "latents" || name.find("class_embedding") != std::string::npos) {
      continue;
    }
    double tokens;
    if (name.rfind("noise_embedding", 0) == 0) {
      tokens = 1;
    } else if (name.rfind("self_cond", 0) == 0 || name.rfind("computes", 0) == 0) {
      tokens = m;
    } else if (name == "out.weight") {
      tokens = n;
    } else if (name.rfind("reads", 0) == 0) {
      tokens = name.find(".kv.") != std::string::npos ? n : m;
    } else if (name.rfind("writes", 0) == 0) {
      tokens = name.find(".kv.") != std::string::npos ? m : n;
    } else {
      ADD_FAILURE() << "unexpected matrix " << name;
      continue;
    }
    expected += 2.0 * p.numel() * tokens;
  }
  expected += 2.0 * n * 16 * di;  // patchify: a 4x4 convolution per token
  expected += 2 * (4 * m * n * dl + 4 * m * m * dl + 4 * n * m * di);  // attention, 2 blocks
  EXPECT_NEAR(model->forward_flops_per_example(), expected, 1e-9 * expected);
}

TEST(Models, RinCostIsFlatAcrossResolutionWithProportionalPatches) {
  const double f32 = make_denoiser(resolve(tiny_rin(32, 2)), 1, 10)->forward_flops_per_example();
  const double f64 = make_denoiser(resolve(tiny_rin(64, 4)), 1, 10)->forward_flops_per_example();
  const double f128 = make_denoiser(resolve(tiny_rin(128, 8)), 1, 10)->forward_flops_per_example();
  // Only patchify and the output layer grow (with p^2); the rest is identical.
  EXPECT_LT(f64 / f32, 1.3);
  EXPECT_LT(f128 / f32, 2.0);
  EXPECT_GT(f128, f64);
}

TEST(Models, SaveLoadRoundTripIsBitIdentical) {
  for (const Config& config : {tiny_rin(16, 4), tiny_unet(16)}) {
    at::manual_seed(5);
    auto a = make_denoiser(resolve(config), 3, 10);
    at::manual_seed(6);
    auto b = make_denoiser(resolve(config), 3, 10);
    const auto path =
        (std::filesystem::temp_directory_path() / "noisesched-model.safetensors").string();
    save_safetensors(path, module_tensors(*a));
    load_module_tensors(*b, load_safetensors(path).tensors, path);
    const DenoiserInput in = random_input(2, 3, 16, 10);
    EXPECT_TRUE(at::equal(a->forward(in).prediction, b->forward(in).prediction))
        << config.model.arch;
    // A different architecture is refused with the tensor's name.
    auto other = make_denoiser(resolve(tiny_rin(16, 2)), 3, 10);
    EXPECT_THROW(load_module_tensors(*other, load_safetensors(path).tensors, path), Error);
  }
}

TEST(Models, LossFallsWhenOverfittingOneBatch) {
  for (const Config& config : {tiny_rin(8, 2), tiny_unet(8)}) {
    at::manual_seed(1);
    auto model = make_denoiser(resolve(config), 1, 10);
    OptimizerOptions options;
    options.kind = OptimizerKind::kAdamW;
    Optimizer optimizer(*model, options);
    const DenoiserInput in = random_input(8, 1, 8, 10);
    const at::Tensor target = at::randn({8, 1, 8, 8});
    double first = 0, last = 0;
    for (int step = 0; step < 150; ++step) {
      model->zero_grad();
      const at::Tensor loss = (model->forward(in).prediction - target).pow(2).mean();
      loss.backward();
      optimizer.step(3e-3);
      if (step == 0) first = loss.item<double>();
      last = loss.item<double>();
    }
    EXPECT_LT(last, 0.2 * first) << config.model.arch << ": " << first << " -> " << last;
  }
}

TEST(Precision, CpuPassesComputeInFloat32WhateverThePrecision) {
  // bf16 autocast is CUDA's (core/precision.h); the CUDA side is in the gpu suite.
  const at::Tensor a = at::randn({4, 8}), b = at::randn({8, 3});
  for (const Precision precision : {Precision::kFp32, Precision::kTf32, Precision::kBf16}) {
    const PrecisionScope scope(precision, c10::Device(c10::kCPU));
    EXPECT_EQ(at::mm(a, b).scalar_type(), at::kFloat) << to_string(precision);
  }
  Config config = tiny_rin(8, 2);
  config.train.precision = "bf16";
  EXPECT_EQ(make_denoiser(resolve(config), 1, 10)->precision(), Precision::kBf16);
}

}  // namespace
}  // namespace noisesched
