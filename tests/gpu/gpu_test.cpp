// CUDA checks (label `gpu`; each skips where no CUDA device is present). scripts/device-check.sh
// runs them on a GPU machine:
//   - one training step on CUDA against the same step on the CPU, for the RIN and the U-Net:
//     loss and gradients from the same inputs, then clipping and LAMB from the same gradients;
//   - the multi-tensor optimizer update (LibTorch's CUDA _foreach_ kernels) against the
//     per-tensor loop, LAMB and AdamW with clipping and EMA;
//   - the deterministic samplers (DDIM, DPM-Solver++(2M), Heun) on CUDA against the CPU;
//   - bf16 autocast: predictions close to fp32's with float32 weights and gradients, and the
//     training loss over 300 steps following fp32's (within 10%);
//   - training steps and sampling network calls that replay CUDA graphs against eager ones;
//   - train, sample and evaluate through the program on CUDA.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cstdlib>
#include <fstream>

#include "data/data_test_util.h"
#include "noisesched/core/device_memory.h"
#include "noisesched/diffusion/network.h"
#include "noisesched/diffusion/process.h"
#include "noisesched/models/denoiser.h"
#include "noisesched/optim/optimizer.h"
#include "noisesched/sampling/generate.h"
#include "noisesched/train/engine.h"
#include "shell_util.h"
#include "train/process_group_check.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

#define REQUIRE_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here"

const c10::Device kCuda(c10::kCUDA, 0);
const c10::Device kCpu(c10::kCPU);

Config tiny(const std::string& arch) {
  Config c;
  c.model.arch = arch;
  c.data.resolution = 16;
  c.rin.patch_size = 2;
  c.rin.latents = 16;
  c.rin.latent_dim = 64;
  c.rin.interface_dim = 32;
  c.rin.blocks = 2;
  c.rin.layers_per_block = 2;
  c.rin.heads = 4;
  c.rin.cross_heads = 2;
  c.unet.channels = 32;
  c.unet.channel_mult = {1, 2};
  c.unet.res_blocks = 1;
  c.unet.attention_resolutions = {8};
  c.unet.heads = 2;
  return c;
}

TEST(Gpu, TrainingStepAgreesWithTheCpu) {
  REQUIRE_CUDA();
  for (const std::string arch : {"rin", "unet"}) {
    SCOPED_TRACE(arch);
    const Config config = tiny(arch);  // fp32: TF32 off on CUDA for the whole step
    const DiffusionSetup setup = resolve(config).diffusion;
    at::manual_seed(3);
    const at::Tensor x0 = at::rand({8, 1, 16, 16}) * 2 - 1;
    const at::Tensor eps = at::randn({8, 1, 16, 16});
    const at::Tensor labels = at::randint(0, 11, {8}, at::kLong);
    std::vector<double> t;
    for (int i = 0; i < 8; ++i) t.push_back(0.05 + 0.11 * i);
    std::vector<Denoiser> models;
    std::vector<double> losses;
    for (const c10::Device& device : {kCpu, kCuda}) {
      at::manual_seed(1);
      const Denoiser model = make_denoiser(resolve(config), 1, 10);
      model->to(device);
      const NoisedBatch noised = add_noise(setup, x0.to(device), t, eps.to(device));
      PredictOptions options;
      options.estimate = false;
      const at::Tensor out =
          predict(*model, setup, noised.z, noised.v, labels.to(device), at::Tensor(), options)
              .output;
      const at::Tensor loss = (out - eps.to(device)).pow(2).mean();
      model->zero_grad();
      loss.backward();
      losses.push_back(loss.item<double>());
      models.push_back(model);
    }
    EXPECT_NEAR(losses[1], losses[0], 1e-5 * std::abs(losses[0]));
    // Gradients tensor by tensor, relative to the largest gradient norm: some are zero in exact
    // arithmetic (a key bias under softmax) and only rounding noise on either device.
    const auto cpu = models[0]->parameters(), gpu = models[1]->parameters();
    double largest = 0;
    for (const auto& p : cpu) largest = std::max(largest, p.grad().norm().item<double>());
    for (std::size_t i = 0; i < cpu.size(); ++i) {
      const double diff = (gpu[i].grad().cpu() - cpu[i].grad()).norm().item<double>();
      EXPECT_LT(diff, 1e-4 * std::max(cpu[i].grad().norm().item<double>(), 1e-3 * largest))
          << "parameter " << i;
    }
    // The update from the same gradients: LAMB on CUDA against LAMB on the CPU.
    for (std::size_t i = 0; i < cpu.size(); ++i) gpu[i].mutable_grad() = cpu[i].grad().to(kCuda);
    for (const Denoiser& model : models) {
      Optimizer optimizer(*model, OptimizerOptions{});
      clip_grad_norm(*model, 1.0);
      optimizer.step(1e-3);
    }
    double worst = 0;
    for (std::size_t i = 0; i < cpu.size(); ++i) {
      worst = std::max(worst, (gpu[i].detach().cpu() - cpu[i].detach()).abs().max().item<double>());
    }
    EXPECT_LT(worst, 1e-6);  // the step moves weights by about lr = 1e-3
  }
}

TEST(Gpu, MultiTensorAndFusedUpdatesAgreeWithThePerTensorLoop) {
  REQUIRE_CUDA();
  for (const OptimizerKind kind : {OptimizerKind::kLamb, OptimizerKind::kAdamW}) {
    // The reference loop first, then the multi-tensor update, then (AdamW, where LibTorch has
    // it) the fused kernel.
    std::vector<std::pair<std::string, OptimizerOptions>> paths;
    OptimizerOptions options;
    options.kind = kind;
    options.multi_tensor = false;
    paths.emplace_back("per-tensor", options);
    options.multi_tensor = true;
    options.fused = FusedAdamW::kOff;
    paths.emplace_back("multi-tensor", options);
    if (kind == OptimizerKind::kAdamW && Optimizer::fused_adamw_available(kCuda)) {
      options.fused = FusedAdamW::kOn;
      paths.emplace_back("fused", options);
    }
    std::vector<Denoiser> models, emas;
    for (const auto& [name, path_options] : paths) {
      at::manual_seed(1);
      models.push_back(make_denoiser(resolve(tiny("rin")), 1, 10));
      emas.push_back(make_denoiser(resolve(tiny("rin")), 1, 10));
      models.back()->to(kCuda);
      emas.back()->to(kCuda);
      Optimizer optimizer(*models.back(), path_options);
      EXPECT_EQ(optimizer.update_path(), name);
      for (int step = 0; step < 4; ++step) {
        at::manual_seed(100 + step);
        for (auto& p : models.back()->parameters()) {
          p.mutable_grad() = at::randn(p.sizes()).mul_(step % 2 == 0 ? 1.0 : 1e-3).to(kCuda);
        }
        clip_grad_norm(*models.back(), 1.0);
        optimizer.step(1e-3);
        ema_update(*emas.back(), *models.back(), 0.9);
      }
    }
    for (std::size_t k = 1; k < paths.size(); ++k) {
      SCOPED_TRACE(std::string(kind == OptimizerKind::kLamb ? "lamb " : "adamw ") + paths[k].first);
      double worst = 0, worst_ema = 0;
      const auto a = models[k]->parameters(), b = models[0]->parameters();
      const auto ea = emas[k]->parameters(), eb = emas[0]->parameters();
      for (std::size_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
        worst_ema = std::max(worst_ema, (ea[i] - eb[i]).abs().max().item<double>());
      }
      EXPECT_LT(worst, 1e-6);  // four steps of about lr = 1e-3 each
      EXPECT_LT(worst_ema, 1e-6);
    }
  }
}

TEST(Gpu, DeterministicSamplersAgreeWithTheCpu) {
  REQUIRE_CUDA();
  const Config config = tiny("rin");
  const DiffusionSetup setup = resolve(config).diffusion;
  std::vector<std::int64_t> labels;
  for (int i = 0; i < 16; ++i) labels.push_back(i % 10);
  for (const std::string recipe : {"ddim steps=10", "dpmpp_2m steps=10", "heun steps=5"}) {
    SCOPED_TRACE(recipe);
    GenerateOptions options;
    options.recipe = InferenceRecipe::parse(recipe);
    options.batch_size = 8;
    std::vector<at::Tensor> images;
    for (const c10::Device& device : {kCpu, kCuda}) {
      at::manual_seed(1);
      const Denoiser model = make_denoiser(resolve(config), 1, 10);
      model->to(device);
      model->eval();
      images.push_back(generate_images(model, setup, labels, options, device).to(at::kFloat));
    }
    // Bytes: rounding may flip a level here and there, no more.
    const at::Tensor diff = (images[1] - images[0]).abs();
    EXPECT_LE(diff.max().item<double>(), 2.0);
    EXPECT_LT(diff.mean().item<double>(), 0.05);
  }
}

// The sampler's network calls replaying CUDA graphs (train.cuda_graphs) give the images eager
// calls give: DPM-Solver++(2M) with guidance and self-conditioning (two input signatures, each
// eager once, then recorded), two batches of 8 and a last one of 4 (its own recordings).
TEST(Gpu, GraphedSamplingFollowsEagerSampling) {
  REQUIRE_CUDA();
  const Config config = tiny("rin");
  const DiffusionSetup setup = resolve(config).diffusion;
  std::vector<std::int64_t> labels;
  for (int i = 0; i < 20; ++i) labels.push_back(i % 10);
  GenerateOptions options;
  options.recipe = InferenceRecipe::parse("dpmpp_2m steps=10 guidance=1.5");
  options.batch_size = 8;
  at::manual_seed(1);
  const Denoiser model = make_denoiser(resolve(config), 1, 10);
  model->to(kCuda);
  model->eval();
  const at::Tensor eager = generate_images(model, setup, labels, options, kCuda).to(at::kFloat);
  options.cuda_graphs = CudaGraphs::kOn;
  options.graphs = sampling_graphs(CudaGraphs::kOn, kCuda);
  const at::Tensor graphed = generate_images(model, setup, labels, options, kCuda).to(at::kFloat);
  // Per batch: the first call and the second signature's first call eager; the batches of 8
  // share recordings, the batch of 4 records its own.
  EXPECT_GT(options.graphs->replays(), 20);
  const at::Tensor diff = (graphed - eager).abs();
  EXPECT_LE(diff.max().item<double>(), 2.0);
  EXPECT_LT(diff.mean().item<double>(), 0.05);
}

TEST(Gpu, Bf16PredictionsAreCloseToFp32OnesWithFloat32WeightsAndGradients) {
  REQUIRE_CUDA();
  for (const std::string arch : {"rin", "unet"}) {
    SCOPED_TRACE(arch);
    Config config = tiny(arch);
    const DiffusionSetup setup = resolve(config).diffusion;
    at::manual_seed(5);
    const at::Tensor z = at::randn({6, 1, 16, 16}).to(kCuda);
    const at::Tensor labels = at::randint(0, 11, {6}, at::kLong).to(kCuda);
    std::vector<Variances> v;
    for (int i = 0; i < 6; ++i) v.push_back(setup.train_schedule.variances(0.1 + 0.15 * i));
    std::vector<at::Tensor> outputs;
    for (const char* precision : {"fp32", "bf16"}) {
      config.train.precision = precision;
      at::manual_seed(1);  // the same weights for both
      const Denoiser model = make_denoiser(resolve(config), 1, 10);
      model->to(kCuda);
      PredictOptions options;
      options.estimate = false;
      const at::Tensor out = predict(*model, setup, z, v, labels, at::Tensor(), options).output;
      EXPECT_EQ(out.scalar_type(), at::kFloat);
      out.pow(2).mean().backward();
      for (const auto& p : model->named_parameters()) {
        EXPECT_EQ(p.value().scalar_type(), at::kFloat) << p.key();
        if (p.value().grad().defined()) {
          EXPECT_EQ(p.value().grad().scalar_type(), at::kFloat) << p.key();
          EXPECT_TRUE(p.value().grad().isfinite().all().item<bool>()) << p.key();
        }
      }
      outputs.push_back(out.detach().cpu());
    }
    // bfloat16 keeps 8 bits of mantissa: the outputs differ (the products did run in bfloat16)
    // by about its rounding, not more.
    const double scale = outputs[0].abs().max().item<double>();
    const double diff = (outputs[1] - outputs[0]).abs().max().item<double>();
    EXPECT_GT(diff, 1e-6 * scale);
    EXPECT_LT(diff, 0.05 * scale);
  }
}

// A fixed little data set of smooth blobs (the loss curve needs data with structure).
ByteBatch blob_batch(int size, std::int64_t step) {
  ByteBatch batch;
  batch.step = step;
  batch.size = size;
  batch.channels = 1;
  batch.resolution = 16;
  batch.pixels.resize(static_cast<std::size_t>(size) * 256);
  for (int i = 0; i < size; ++i) {
    const int k = static_cast<int>((step * size + i) % 40);
    const double cx = 4 + k % 8, cy = 4 + (k / 8) % 8, r = 2 + k % 3;
    for (int y = 0; y < 16; ++y) {
      for (int x = 0; x < 16; ++x) {
        const double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
        batch.pixels[static_cast<std::size_t>(i) * 256 + y * 16 + x] =
            static_cast<std::uint8_t>(255.0 * std::exp(-d2 / (2 * r * r)));
      }
    }
    batch.labels.push_back(k % 10);
  }
  return batch;
}

TEST(Gpu, Bf16LossCurveFollowsFp32) {
  REQUIRE_CUDA();
  std::vector<double> tails;
  for (const char* precision : {"fp32", "bf16"}) {
    Config config = tiny("rin");
    config.train.precision = precision;
    config.train.device = "cuda";
    config.train.steps = 300;
    config.train.batch_size = 32;
    config.optim.warmup_steps = 30;
    TrainingEngine engine(resolve(config), 1, 10, kCuda);
    double tail = 0;
    for (int step = 0; step < 300; ++step) {
      const StepResult r = engine.step(blob_batch(32, step), step);
      const double loss = r.loss_value();
      ASSERT_TRUE(std::isfinite(loss)) << precision << " step " << step;
      if (step >= 200) tail += loss / 100;
    }
    tails.push_back(tail);
  }
  // The same data and random draws: the last 100 steps' mean losses within 10% of each other
  // (the weights' paths part by bfloat16's rounding, the losses stay alike).
  EXPECT_NEAR(tails[1], tails[0], 0.1 * tails[0]) << "fp32 " << tails[0] << ", bf16 " << tails[1];
}

// CUDA graphs (train.cuda_graphs): steps that replay a captured graph follow eager steps. The RIN
// with LAMB, clipping and a self-conditioning rate low enough that some batches skip the first
// pass (both graphs are captured); one step with a smaller batch in between runs eagerly.
TEST(Gpu, CudaGraphStepsFollowEagerSteps) {
  REQUIRE_CUDA();
  std::vector<std::vector<double>> losses(2);
  std::int64_t replays = 0;
  for (const char* mode : {"off", "on"}) {
    Config config = tiny("rin");
    config.train.device = "cuda";
    config.train.cuda_graphs = mode;
    config.train.steps = 40;
    config.train.batch_size = 32;
    config.optim.warmup_steps = 10;
    config.diffusion.self_cond_rate = 0.02;
    TrainingEngine engine(resolve(config), 1, 10, kCuda);
    ASSERT_EQ(engine.cuda_graphs(), std::string(mode) == "on") << engine.cuda_graphs_note();
    reset_device_memory_peaks(kCuda);
    std::vector<double>& out = losses[std::string(mode) == "on" ? 1 : 0];
    for (int step = 0; step < 20; ++step) {
      out.push_back(engine.step(blob_batch(32, step), step).loss_value());
      if (step == 8) {
        // A smaller batch than the graphs were captured with: eager, and the graphs stay usable.
        EXPECT_TRUE(std::isfinite(engine.step(blob_batch(16, 100), 100).loss_value()));
      }
    }
    if (std::string(mode) == "on") replays = engine.cuda_graph_replays();
    // The allocator's peaks (bench train prints them): measured, and consistent.
    const DeviceMemory memory = device_memory(kCuda);
    ASSERT_TRUE(memory.measured);
    EXPECT_GT(memory.peak_allocated, 0);
    EXPECT_GE(memory.peak_reserved, memory.peak_allocated);
    EXPECT_GT(memory.total, memory.peak_reserved);
  }
  // 20 steps: each branch's first 3 eager (the branch without the first pass may appear fewer
  // times).
  EXPECT_GE(replays, 14);
  EXPECT_LE(replays, 17);
  for (std::size_t i = 0; i < losses[0].size(); ++i) {
    EXPECT_NEAR(losses[1][i], losses[0][i], 2e-3 * losses[0][i]) << "step " << i;
  }
}

TEST(Gpu, TrainSampleAndEvaluateThroughTheProgram) {
  REQUIRE_CUDA();
  const auto folder = testing::fresh_folder("gpu-pipeline");
  const auto data = folder / "data";
  testing::write_idx_dataset(data, "train", 40, 8, 10, true);
  testing::write_idx_dataset(data, "t10k", 10, 8, 10, true);
  const auto config = folder / "tiny.toml";
  std::ofstream(config) << "[data]\ndataset = \"mnist\"\npath = \"" << data.string()
                        << "\"\nresolution = 8\n"
                           "[rin]\npatch_size = 2\nlatents = 4\nlatent_dim = 16\n"
                           "interface_dim = 8\nblocks = 1\nlayers_per_block = 1\nheads = 2\n"
                           "cross_heads = 2\n"
                           "[train]\nsteps = 20\nbatch_size = 8\nlog_every = 5\n"
                           "checkpoint_every = 1000\nreport = false\nsample_every = 0\n"
                           "device = \"cuda\"\nprecision = \"bf16\"\nout_dir = \""
                        << (folder / "run").string() << "\"\n";
  const std::string binary = NOISESCHED_BINARY;
  const auto run = [&](const std::string& args) {
    const testing::ShellResult r = testing::run_shell(binary + " " + args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.output;
    return r.output;
  };
  const std::string trained = run("train --config " + config.string() + " --progress lines");
  EXPECT_NE(trained.find("step 20/20"), std::string::npos) << trained;
  run("sample --checkpoint " + (folder / "run").string() + " --device cuda --sampler dpmpp_2m " +
      "--steps 10 --num 2 --out " + (folder / "samples").string());
  EXPECT_TRUE(fs::exists(folder / "samples"));
  const std::string extractor = (folder / "cnn.safetensors").string();
  run("featurizer train --dataset mnist --data-path " + data.string() +
      " --epochs 1 --batch-size 8 --out " + extractor);
  const std::string scores =
      run("eval --checkpoint " + (folder / "run").string() + " --device cuda --sampler dpmpp_2m " +
          "--steps 10 --num 20 --metrics fid --extractor " + extractor + " --cache " +
          (folder / "cache").string());
  EXPECT_NE(scores.find("FID "), std::string::npos) << scores;
}

// NCCL on the one GPU this test has: a process group of one runs every collective of the seam
// on CUDA tensors (several GPUs: docs/distributed.md).
TEST(Gpu, NcclGroupOfOneRunsEveryCollective) {
  REQUIRE_CUDA();
  if (distributed_backends().find("nccl") == std::string::npos) {
    FAIL() << "this build has no NCCL (c10d backends: " << distributed_backends()
           << "); see the configure step's c10d line";
  }
  testing::expect_a_group_of_one_works(c10::Device(c10::kCUDA, 0), "nccl");
}

// Gloo on CUDA (train.dist_backend = gloo): buckets go through the host and come back to the GPU,
// which is what lets several processes share one GPU (NCCL refuses that).
TEST(Gpu, GlooThroughTheHostRunsEveryCollectiveOnCudaTensors) {
  REQUIRE_CUDA();
  testing::expect_a_group_of_one_works(c10::Device(c10::kCUDA, 0), "gloo through the host",
                                       DistBackend::kGloo);
}

}  // namespace
}  // namespace noisesched
