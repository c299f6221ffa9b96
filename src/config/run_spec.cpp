// Resolving a configuration into a run's typed specification (see run_spec.h).
#include "noisesched/config/run_spec.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {
namespace {

void require(bool ok, const std::string& key, const std::string& rule, const std::string& value) {
  if (!ok) throw Error("config: " + key + " must be " + rule + " (got " + value + ")");
}

// The value `parse` reads from the string of `key`; its error becomes "config: KEY: message"
// ("config: message" when the message already starts with the key, as the name tables' do).
template <class Parse>
auto read(const std::string& key, Parse&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const Error& error) {
    const std::string message = error.what();
    throw Error("config: " + (message.rfind(key + " ", 0) == 0 ? message : key + ": " + message));
  }
}

}  // namespace

RunSpec resolve(const Config& c) {
  RunSpec spec;
  spec.config = c;
  auto positive = [](const std::string& key, double value) {
    require(value > 0, key, "> 0", format_exact(value));
  };
  auto unit = [](const std::string& key, double value) {
    require(value >= 0 && value <= 1, key, "in [0, 1]", format_exact(value));
  };
  const auto& d = c.data;
  require(d.resolution >= 4 && d.resolution <= 4096, "data.resolution", "in [4, 4096]",
          std::to_string(d.resolution));
  require(d.limit >= 0, "data.limit", ">= 0", std::to_string(d.limit));
  require(d.workers >= 1 && d.workers <= 256, "data.workers", "in [1, 256]",
          std::to_string(d.workers));
  require(d.prefetch >= 1, "data.prefetch", ">= 1", std::to_string(d.prefetch));

  spec.arch = read("model.arch", [&] { return parse_architecture(c.model.arch); });
  const Architecture arch = spec.arch;
  if (arch == Architecture::kRin) {
    const auto& r = c.rin;
    for (auto [key, value] : {std::pair{"rin.patch_size", r.patch_size},
                              {"rin.latents", r.latents},
                              {"rin.latent_dim", r.latent_dim},
                              {"rin.interface_dim", r.interface_dim},
                              {"rin.blocks", r.blocks},
                              {"rin.heads", r.heads},
                              {"rin.cross_heads", r.cross_heads}}) {
      require(value >= 1, key, ">= 1", std::to_string(value));
    }
    require(r.layers_per_block >= 0, "rin.layers_per_block", ">= 0",
            std::to_string(r.layers_per_block));
    require(d.resolution % r.patch_size == 0, "data.resolution",
            "a multiple of rin.patch_size = " + std::to_string(r.patch_size),
            std::to_string(d.resolution));
    require(r.latent_dim % r.heads == 0, "rin.latent_dim",
            "a multiple of rin.heads = " + std::to_string(r.heads), std::to_string(r.latent_dim));
    require(r.latent_dim % r.cross_heads == 0 && r.interface_dim % r.cross_heads == 0,
            "rin.latent_dim and rin.interface_dim",
            "multiples of rin.cross_heads = " + std::to_string(r.cross_heads),
            std::to_string(r.latent_dim) + " and " + std::to_string(r.interface_dim));
    positive("rin.mlp_ratio", r.mlp_ratio);
  } else {
    const auto& u = c.unet;
    require(u.channels >= 1, "unet.channels", ">= 1", std::to_string(u.channels));
    require(!u.channel_mult.empty(), "unet.channel_mult", "a non-empty list", "[]");
    for (int m : u.channel_mult)
      require(m >= 1, "unet.channel_mult", "all >= 1", format_integer_list(u.channel_mult));
    require(u.res_blocks >= 1, "unet.res_blocks", ">= 1", std::to_string(u.res_blocks));
    const int levels = static_cast<int>(u.channel_mult.size());
    require(u.patch_size >= 1 && u.patch_size <= 16, "unet.patch_size", "in [1, 16]",
            std::to_string(u.patch_size));
    const int factor = u.patch_size * (1 << (levels - 1));
    require(d.resolution % factor == 0, "data.resolution",
            "divisible by unet.patch_size x 2^(levels - 1) = " + std::to_string(factor) +
                " for unet.channel_mult " + format_integer_list(u.channel_mult),
            std::to_string(d.resolution));
    require(u.heads >= 1, "unet.heads", ">= 1", std::to_string(u.heads));
    // GroupNorm uses 32 groups, or fewer when the channel count is small.
    for (int m : u.channel_mult) {
      require((u.channels * m) % u.heads == 0, "unet.channels x channel_mult",
              "multiples of unet.heads = " + std::to_string(u.heads),
              std::to_string(u.channels * m));
    }
  }

  const auto& df = c.diffusion;
  DiffusionSetup& setup = spec.diffusion;
  setup.train_schedule = read("diffusion.schedule", [&] { return Schedule::parse(df.schedule); });
  spec.input_scale =
      read("diffusion.input_scale", [&] { return InputScale::parse(df.input_scale); });
  setup.scale = read("diffusion.input_scale",
                     [&] { return spec.input_scale.resolve(static_cast<double>(d.resolution)); });
  setup.normalization =
      read("diffusion.normalization", [&] { return parse_normalization(df.normalization); });
  setup.target = read("diffusion.target", [&] { return parse_target(df.target); });
  setup.self_condition = df.self_cond_rate > 0;
  spec.loss_weighting =
      read("diffusion.loss_weight", [&] { return LossWeighting::parse(df.loss_weight); });
  unit("diffusion.self_cond_rate", df.self_cond_rate);
  require(df.label_dropout >= 0 && df.label_dropout < 1, "diffusion.label_dropout", "in [0, 1)",
          format_exact(df.label_dropout));

  const auto& o = c.optim;
  positive("optim.lr", o.lr);
  require(o.beta1 >= 0 && o.beta1 < 1, "optim.beta1", "in [0, 1)", format_exact(o.beta1));
  require(o.beta2 >= 0 && o.beta2 < 1, "optim.beta2", "in [0, 1)", format_exact(o.beta2));
  positive("optim.eps", o.eps);
  require(o.weight_decay >= 0, "optim.weight_decay", ">= 0", format_exact(o.weight_decay));
  require(o.warmup_steps >= 0, "optim.warmup_steps", ">= 0", std::to_string(o.warmup_steps));
  require(o.grad_clip >= 0, "optim.grad_clip", ">= 0 (0: off)", format_exact(o.grad_clip));
  require(o.ema_decay >= 0 && o.ema_decay < 1, "optim.ema_decay", "in [0, 1)",
          format_exact(o.ema_decay));
  spec.optimizer = read("optim.optimizer", [&] { return parse_optimizer(o.optimizer); });
  spec.lr_schedule = read("optim.lr_schedule", [&] { return LrSchedule::parse(o.lr_schedule); });

  const auto& t = c.train;
  require(t.steps >= 1, "train.steps", ">= 1", std::to_string(t.steps));
  require(t.batch_size >= 1, "train.batch_size", ">= 1", std::to_string(t.batch_size));
  require(!t.out_dir.empty(), "train.out_dir", "a folder name", "\"\"");
  require(t.log_every >= 1, "train.log_every", ">= 1", std::to_string(t.log_every));
  require(t.checkpoint_every >= 1, "train.checkpoint_every", ">= 1",
          std::to_string(t.checkpoint_every));
  require(t.keep_checkpoints >= 1, "train.keep_checkpoints", ">= 1",
          std::to_string(t.keep_checkpoints));
  require(t.sample_every >= 0, "train.sample_every", ">= 0", std::to_string(t.sample_every));
  require(t.device == "cpu" || t.device.rfind("cuda", 0) == 0, "train.device",
          "cpu, cuda or cuda:N", t.device);
  spec.sample_recipe =
      read("train.sample_recipe", [&] { return InferenceRecipe::parse(t.sample_recipe); });
  spec.precision = read("train.precision", [&] { return parse_precision(t.precision); });
  spec.cuda_graphs = read("train.cuda_graphs", [&] { return parse_cuda_graphs(t.cuda_graphs); });
  spec.dist_backend =
      read("train.dist_backend", [&] { return parse_dist_backend(t.dist_backend); });

  const auto& e = c.eval;
  require(e.every >= 0, "eval.every", ">= 0", std::to_string(e.every));
  require(std::isfinite(t.dist_timeout) && t.dist_timeout > 0 && t.dist_timeout <= 86400,
          "train.dist_timeout", "in (0, 86400] seconds", format_exact(t.dist_timeout));
  require(std::isfinite(e.every_seconds) && e.every_seconds >= 0, "eval.every_seconds",
          "finite and >= 0", format_exact(e.every_seconds));
  require(e.num >= 2, "eval.num", ">= 2", std::to_string(e.num));
  require(!e.extractor.empty(), "eval.extractor", "a file or auto", "\"\"");
  require(!e.cache.empty(), "eval.cache", "a folder or auto", "\"\"");
  spec.eval_metrics = read("eval.metrics", [&] { return MetricSelection::parse(e.metrics); });
  spec.eval_recipe = read("eval.recipe", [&] { return InferenceRecipe::parse(e.recipe); });
  return spec;
}

}  // namespace noisesched
