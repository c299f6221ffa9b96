// The training configuration: TOML parsing, errors that name the key, --set, printing.
#include "noisesched/config/config.h"
#include "noisesched/config/enums.h"
#include "noisesched/config/run_spec.h"
#include "noisesched/schedule/input_scale.h"

#include <map>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "noisesched/common/error.h"
#include "test_util.h"

namespace noisesched {
namespace {

std::string error_of(const std::string& toml) {
  return testing::error_message([&] { parse_config(toml, "test.toml"); });
}

TEST(Config, DefaultsAreValidAndDescribeTheSmallRin) {
  const Config c;
  EXPECT_NO_THROW(resolve(c));
  EXPECT_EQ(c.model.arch, "rin");
  EXPECT_EQ(c.data.dataset, "fashion_mnist");
  EXPECT_EQ(c.diffusion.self_cond_rate, 0.9);
}

TEST(Config, ParsesSectionsOverDefaults) {
  const Config c = parse_config(R"(
[data]
resolution = 64
[rin]
patch_size = 4
mlp_ratio = 2
[unet]
channel_mult = [1, 2]
[diffusion]
schedule = "sigmoid@-3,3,0.9"
input_scale = "auto:32"
[train]
seed = 12345678901
)",
                                "t.toml");
  EXPECT_EQ(c.data.resolution, 64);
  EXPECT_EQ(c.rin.patch_size, 4);
  EXPECT_EQ(c.rin.mlp_ratio, 2.0);  // an integer is accepted for a float key
  EXPECT_EQ(c.unet.channel_mult, (std::vector<int>{1, 2}));
  EXPECT_EQ(c.diffusion.schedule, "sigmoid@-3,3,0.9");
  EXPECT_EQ(c.train.seed, 12345678901LL);
  EXPECT_EQ(c.train.steps, Config().train.steps);  // untouched keys keep their defaults
}

TEST(Config, UnknownSectionsAndKeysNameThemAndListTheValidOnes) {
  EXPECT_EQ(error_of("[modle]\narch = \"rin\"\n"),
            "test.toml: unknown section [modle]; sections: data, model, rin, unet, diffusion, "
            "optim, train, eval");
  const std::string e = error_of("[rin]\npatch = 2\n");
  EXPECT_NE(e.find("unknown key 'rin.patch'"), std::string::npos) << e;
  EXPECT_NE(e.find("patch_size"), std::string::npos) << e;
}

TEST(Config, WrongTypesAndChoices) {
  EXPECT_NE(error_of("[data]\nresolution = \"32\"\n")
                .find("data.resolution: expected an integer, got string"),
            std::string::npos);
  EXPECT_NE(error_of("[model]\narch = \"vit\"\n")
                .find("model.arch = 'vit' is not allowed; choose one of: rin, unet"),
            std::string::npos);
  EXPECT_NE(error_of("[unet]\nchannel_mult = [1, \"2\"]\n").find("an array of integers"),
            std::string::npos);
  EXPECT_NE(error_of("[train]\nsteps = 1.5\n").find("train.steps: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of("[train\nsteps = 1\n").find("test.toml:1:"), std::string::npos);
}

TEST(Config, ValuesAreValidated) {
  EXPECT_NE(error_of("[diffusion]\nschedule = \"sigmoid@0,0\"\n").find("start must be < end"),
            std::string::npos);
  EXPECT_NE(error_of("[diffusion]\ninput_scale = \"-1\"\n").find("input scale"), std::string::npos);
  EXPECT_NE(error_of("[data]\nresolution = 31\n")
                .find("data.resolution must be a multiple of rin.patch_size = 2"),
            std::string::npos);
  EXPECT_NE(
      error_of("[rin]\nlatent_dim = 100\nheads = 8\n").find("rin.latent_dim must be a multiple"),
      std::string::npos);
  EXPECT_NE(error_of("[optim]\nlr = 0\n").find("optim.lr must be > 0"), std::string::npos);
  EXPECT_NE(error_of("[optim]\nlr_schedule = \"step\"\n").find("learning-rate schedule 'step'"),
            std::string::npos);
  EXPECT_NE(error_of("[diffusion]\nloss_weight = \"snr\"\n")
                .find("diffusion.loss_weight: loss weighting 'snr' is not known"),
            std::string::npos);
  EXPECT_NE(error_of("[diffusion]\nlabel_dropout = 1\n").find("label_dropout must be in [0, 1)"),
            std::string::npos);
  EXPECT_NE(error_of("[model]\narch = \"unet\"\n[data]\nresolution = 30\n")
                .find("divisible by unet.patch_size x 2^(levels - 1)"),
            std::string::npos);
  EXPECT_NE(error_of("[train]\ndevice = \"tpu\"\n").find("train.device"), std::string::npos);
  EXPECT_NE(error_of("[train]\nsample_recipe = \"euler\"\n")
                .find("train.sample_recipe: sampler 'euler' is not known; valid: ddim, ddpm"),
            std::string::npos);
  EXPECT_NE(error_of("[eval]\nrecipe = \"ddpm guidance=nan\"\n")
                .find("eval.recipe: inference recipe: guidance"),
            std::string::npos);
  EXPECT_NE(error_of("[model]\narch = \"transformer\"\n").find("model.arch"), std::string::npos);
  EXPECT_NE(error_of("[eval]\nmetrics = \"fid,lpips\"\n")
                .find("eval.metrics: metric 'lpips' is not known; valid: fid, is, kid, pr"),
            std::string::npos);
  EXPECT_NE(error_of("[eval]\nnum = 1\n").find("eval.num"), std::string::npos);
  EXPECT_NE(error_of("[eval]\nrecipe = \"ddim schedule=cosine@2\"\n").find("eval.recipe"),
            std::string::npos);
}

TEST(Config, ClosedSetsComeFromTheNameTables) {
  Config c;
  const std::map<std::string, std::vector<std::string>> expected = {
      {"model.arch", architecture_names_table().names()},
      {"diffusion.target", target_names_table().names()},
      {"diffusion.normalization", normalization_names_table().names()},
      {"optim.optimizer", optimizer_names_table().names()}};
  int found = 0;
  for (const auto& field : config_fields(c)) {
    const auto it = expected.find(field.name());
    if (it == expected.end()) continue;
    EXPECT_EQ(field.choices, it->second) << field.name();
    ++found;
  }
  EXPECT_EQ(found, 4);
  // Every recipe default parses back to itself.
  EXPECT_EQ(InferenceRecipe::parse(c.eval.recipe), InferenceRecipe{});
  EXPECT_EQ(InferenceRecipe::parse(c.train.sample_recipe), InferenceRecipe{});
}

TEST(Config, OverridesUseTheKeyType) {
  Config c;
  apply_override(c, "train.steps=100");
  apply_override(c, "optim.lr = 1e-4");
  apply_override(c, "data.random_flip=false");
  apply_override(c, "unet.attention_resolutions=[16, 8]");
  apply_override(c, "unet.channel_mult=1,2,3");
  apply_override(c, "diffusion.schedule=cosine@0.2,1,1");
  EXPECT_EQ(c.train.steps, 100);
  EXPECT_EQ(c.optim.lr, 1e-4);
  EXPECT_FALSE(c.data.random_flip);
  EXPECT_EQ(c.unet.attention_resolutions, (std::vector<int>{16, 8}));
  EXPECT_EQ(c.unet.channel_mult, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(c.diffusion.schedule, "cosine@0.2,1,1");
  EXPECT_THROW(apply_override(c, "train.stepz=1"), Error);
  EXPECT_THROW(apply_override(c, "train.steps=many"), Error);
  EXPECT_THROW(apply_override(c, "data.random_flip=yes"), Error);
  EXPECT_THROW(apply_override(c, "model.arch=vit"), Error);
  EXPECT_THROW(apply_override(c, "train.steps"), Error);
}

TEST(Config, TomlRoundTrip) {
  Config c;
  c.data.resolution = 64;
  c.rin.mlp_ratio = 2.5;
  c.optim.lr = 0.1 + 0.2;
  c.train.out_dir = "runs/with \"quotes\"";
  c.unet.attention_resolutions = {};
  const Config back = parse_config(config_to_toml(c), "round-trip");
  EXPECT_TRUE(config_differences(c, back).empty()) << config_to_toml(c);
  EXPECT_EQ(back.optim.lr, c.optim.lr);
  EXPECT_EQ(back.train.out_dir, c.train.out_dir);
}

TEST(Config, DifferencesNameTheKeys) {
  Config a, b;
  b.rin.latents = 7;
  b.train.log_every = 3;
  EXPECT_EQ(config_differences(a, b), (std::vector<std::string>{"rin.latents", "train.log_every"}));
  // Logging cadence may change on resume; the model may not.
  auto fields = config_fields(b);
  for (const auto& f : fields) {
    if (f.name() == "train.log_every") {
      EXPECT_TRUE(f.changeable_on_resume);
    }
    if (f.name() == "rin.latents") {
      EXPECT_FALSE(f.changeable_on_resume);
    }
  }
}

}  // namespace
}  // namespace noisesched

namespace noisesched {
namespace {

TEST(RunSpec, ResolvesEveryStringOfTheConfigOnce) {
  Config c;
  for (const char* assignment :
       {"data.resolution=128", "model.arch=unet", "diffusion.input_scale=auto:64",
        "diffusion.schedule=cosine@0.2,1,1", "diffusion.normalization=analytic",
        "diffusion.target=v", "diffusion.loss_weight=min_snr@3", "diffusion.self_cond_rate=0",
        "optim.optimizer=adamw", "optim.lr_schedule=cosine@0.1", "train.precision=tf32",
        "train.dist_backend=gloo", "train.sample_recipe=ddim steps=7",
        "eval.recipe=dpmpp_2m steps=9 guidance=1.5", "eval.metrics=fid,cacc"}) {
    apply_override(c, assignment);
  }
  const RunSpec spec = resolve(c);
  EXPECT_EQ(spec.arch, Architecture::kUnet);
  EXPECT_EQ(spec.input_scale, InputScale::parse("auto:64"));
  EXPECT_EQ(spec.diffusion.scale, 0.5);  // auto:64 at 128 px
  EXPECT_EQ(spec.diffusion.train_schedule, Schedule::parse("cosine@0.2,1,1"));
  EXPECT_EQ(spec.diffusion.normalization, Normalization::kAnalytic);
  EXPECT_EQ(spec.diffusion.target, Target::kV);
  EXPECT_FALSE(spec.diffusion.self_condition);
  EXPECT_EQ(spec.loss_weighting.kind(), LossWeighting::Kind::kMinSnr);
  EXPECT_EQ(spec.loss_weighting.gamma(), 3.0);
  EXPECT_EQ(spec.optimizer, OptimizerKind::kAdamW);
  EXPECT_EQ(spec.lr_schedule.cosine_fraction(), 0.1);
  EXPECT_EQ(spec.precision, Precision::kTf32);
  EXPECT_EQ(spec.dist_backend, DistBackend::kGloo);
  EXPECT_EQ(spec.sample_recipe.to_string(), InferenceRecipe::parse("ddim steps=7").to_string());
  EXPECT_EQ(spec.eval_recipe.steps, 9);
  EXPECT_EQ(spec.eval_recipe.guidance, 1.5);
  EXPECT_TRUE(spec.eval_metrics.fid && spec.eval_metrics.cacc && !spec.eval_metrics.is);
  EXPECT_TRUE(config_differences(spec.config, c).empty());  // the text it came from, unchanged
}

TEST(RunSpec, EveryErrorNamesItsKeyOneWay) {
  const auto error = [](const std::function<void(Config&)>& edit) {
    Config c;
    edit(c);
    return testing::error_message([&] { resolve(c); });
  };
  // A string that does not parse: "config: KEY: <the parser's message>".
  const std::pair<std::function<void(Config&)>, std::string> strings[] = {
      {[](Config& c) { c.diffusion.loss_weight = "snr"; }, "diffusion.loss_weight"},
      {[](Config& c) { c.diffusion.schedule = "sigmoid@3,-3"; }, "diffusion.schedule"},
      {[](Config& c) { c.diffusion.input_scale = "auto:0"; }, "diffusion.input_scale"},
      {[](Config& c) { c.optim.lr_schedule = "step"; }, "optim.lr_schedule"},
      {[](Config& c) { c.eval.recipe = "ddpm steps=0"; }, "eval.recipe"},
      {[](Config& c) { c.eval.metrics = "fid,speed"; }, "eval.metrics"},
      {[](Config& c) { c.train.sample_recipe = "euler"; }, "train.sample_recipe"},
  };
  for (const auto& [edit, key] : strings) {
    const std::string message = error(edit);
    EXPECT_EQ(message.rfind("config: " + key + ": ", 0), 0u) << message;
  }
  // A name a table does not know: the table's message names the key once.
  EXPECT_EQ(error([](Config& c) { c.model.arch = "gan"; }).rfind("config: model.arch 'gan' ", 0),
            0u);
  // A range: "config: KEY must be RULE (got VALUE)".
  EXPECT_EQ(error([](Config& c) { c.optim.beta2 = 1; }),
            "config: optim.beta2 must be in [0, 1) (got 1)");
}

TEST(Presets, EveryPresetLoadsAndValidates) {
  const std::filesystem::path folder =
      std::filesystem::path(NOISESCHED_TEST_DIR) / ".." / "configs";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() != ".toml") continue;
    EXPECT_NO_THROW(load_config(entry.path().string())) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 7);
  // The Fashion-MNIST resolution presets keep the interface token count (and so the cost) flat.
  for (const char* name : {"fmnist32_rin", "fmnist64", "fmnist128"}) {
    const Config c = load_config((folder / (std::string(name) + ".toml")).string());
    EXPECT_EQ(c.model.arch, "rin") << name;
    EXPECT_EQ(c.data.resolution / c.rin.patch_size, 8) << name;
  }
  // The default preset is what docs/training.md measured best per CPU-minute.
  const Config d = load_config((folder / "fmnist32.toml").string());
  EXPECT_EQ(d.model.arch, "unet");
  EXPECT_EQ(d.diffusion.target, "v");
  EXPECT_EQ(d.diffusion.self_cond_rate, 0.0);
}

}  // namespace
}  // namespace noisesched
