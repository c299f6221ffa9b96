// noisesched/config/config.h: the training configuration, one struct per TOML section.
//
// Defaults live here, once: they describe the small class-conditional RIN on Fashion-MNIST at
// 32x32 that trains on a 2-core machine; the presets in configs/ override what they need. Every
// key is also listed in config_fields() with its help text, which drives TOML parsing, `--set`
// overrides, printing the effective configuration and the documentation. No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "noisesched/schedule/inference_recipe.h"

namespace noisesched {

struct DataConfig {
  std::string dataset = "fashion_mnist";  // fashion_mnist | mnist | folder
  std::string path = "/usr/share/datasets/fashion-mnist";
  std::string split = "train";  // train | test (IDX data sets)
  int resolution = 32;
  bool random_flip = true;
  int limit = 0;  // use only the first N examples (0: all)
  bool skip_bad_images = false;
  int workers = 1;
  int prefetch = 4;
};

struct ModelConfig {
  std::string arch = "rin";  // rin | unet
  bool class_conditional = true;
};

struct RinConfig {
  int patch_size = 2;
  int latents = 64;
  int latent_dim = 256;
  int interface_dim = 128;
  int blocks = 2;
  int layers_per_block = 2;
  int heads = 8;
  int cross_heads = 4;
  double mlp_ratio = 4.0;
};

struct UnetConfig {
  int channels = 64;
  std::vector<int> channel_mult = {1, 2, 2};
  int res_blocks = 2;
  std::vector<int> attention_resolutions = {8};  // of the feature maps (resolution / patch_size)
  int heads = 4;
  int patch_size =
      1;  // > 1: P x P patches folded into channels; the network runs at resolution / P
};

struct DiffusionConfig {
  std::string schedule = "simple_linear";   // training schedule spec
  std::string input_scale = "1";            // b, or auto:REF
  std::string normalization = "empirical";  // empirical | analytic | none
  std::string target = "eps";               // eps | x0 | v
  std::string loss_weight = "none";         // none | min_snr | min_snr@G (config/loss_weight.h)
  double self_cond_rate = 0.9;
  double label_dropout = 0.1;
};

struct OptimConfig {
  std::string optimizer = "lamb";  // lamb | adamw
  double lr = 3e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
  int warmup_steps = 500;
  std::string lr_schedule = "cosine";  // constant | linear | cosine | cosine@F
  double grad_clip = 1.0;              // global-norm clip; 0: off
  double ema_decay = 0.999;
  bool ema_warmup = true;
};

struct TrainConfig {
  int steps = 6000;
  int batch_size = 128;
  std::int64_t seed = 0;
  std::string out_dir = "runs/fmnist32";
  std::string device = "cpu";  // cpu | cuda | cuda:N
  int log_every = 50;
  int checkpoint_every = 500;
  int keep_checkpoints = 3;
  int sample_every = 1000;  // 0: no grids during training
  bool report = true;  // report.html at the end, refreshed at checkpoints (report/run_report.h)
  // How the grids are sampled: an inference recipe (schedule/inference_recipe.h).
  std::string sample_recipe = InferenceRecipe{}.to_string();
  // Several processes (docs/distributed.md): how long one waits for the others in a collective
  // operation before it stops with an error naming what it waited for.
  double dist_timeout = 60;
  std::string dist_backend = "auto";
  // Arithmetic of the network's passes: fp32 | tf32 | bf16 (config/enums.h, docs/performance.md).
  std::string precision = "fp32";
  // CUDA graphs for the training step and the sampler's network calls: auto | on | off
  // (config/enums.h).
  std::string cuda_graphs = "auto";
};

// Evaluation during training (SPEC section 8): every `every` steps the EMA model samples `num`
// images (classes in turn, a fixed seed derived from train.seed) and the metrics go into
// metrics.jsonl as {"step", "eval": {...}}.
struct EvalConfig {
  int every = 0;             // steps between evaluations; 0: none by steps
  double every_seconds = 0;  // seconds of training between evaluations; 0: none by time
  int num = 1000;
  std::string metrics = "fid";  // comma-separated: fid, is, kid, pr, cacc, bg
  std::string recipe = InferenceRecipe{}.to_string();  // how the evaluation images are sampled
  std::string extractor = "auto";  // auto: the data set's default (see docs/evaluation.md)
  std::string cache = "auto";      // auto: $NOISESCHED_CACHE, else ~/.cache/noisesched
};

struct Config {
  DataConfig data;
  ModelConfig model;
  RinConfig rin;
  UnetConfig unet;
  DiffusionConfig diffusion;
  OptimConfig optim;
  TrainConfig train;
  EvalConfig eval;
};

// One configuration key: where it lives, its help text, and, for strings with a closed set of
// values, the allowed values.
struct ConfigField {
  std::string section;
  std::string key;
  std::variant<int*, std::int64_t*, double*, bool*, std::string*, std::vector<int>*> value;
  std::string help;
  std::vector<std::string>
      choices;  // empty: free text (read and checked by resolve(), config/run_spec.h)
  // Whether the key may differ between a checkpoint and the run that resumes it.
  bool changeable_on_resume = false;

  std::string name() const { return section + "." + key; }
};

// Every key of `config`, bound to its members, in a fixed order.
std::vector<ConfigField> config_fields(Config& config);

// Reads a TOML file over the defaults. Unknown sections or keys, wrong types and bad values
// (everything resolve() checks) are errors naming the file, the key and what is allowed.
Config load_config(const std::string& path);
Config parse_config(std::string_view toml_text, const std::string& source_name);

// Applies "section.key=value" (value in the key's type; lists as 1,2,2 or [1,2,2]).
void apply_override(Config& config, std::string_view assignment);

// The configuration as TOML text that parse_config reads back to the same values; with
// `comments`, each key is preceded by its help text and, for closed sets, the allowed values.
std::string config_to_toml(const Config& config, bool comments = false);

// The keys whose values differ ("model.arch"), in config_fields order.
std::vector<std::string> config_differences(const Config& a, const Config& b);

// Text of a value as it appears in TOML and in messages.
std::string field_value_text(const ConfigField& field);

}  // namespace noisesched
