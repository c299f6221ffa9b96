// Training end to end on a tiny data set: exact resume, crash-safe checkpoints, errors.
#include "noisesched/train/trainer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/data_test_util.h"
#include "noisesched/common/error.h"
#include "noisesched/common/folder_lock.h"
#include "noisesched/core/op_profile.h"
#include "noisesched/core/runtime.h"
#include "noisesched/eval/classifier.h"
#include "noisesched/io/checkpoint.h"
#include "noisesched/sampling/generate.h"
#include "noisesched/sampling/trained_model.h"
#include "noisesched/train/bench.h"
#include "noisesched/train/engine.h"
#include "test_util.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

Config tiny_config(const fs::path& data, const fs::path& out) {
  Config c;
  c.data.dataset = "mnist";
  c.data.path = data.string();
  c.data.resolution = 8;
  c.data.workers = 2;
  c.rin.patch_size = 2;
  c.rin.latents = 4;
  c.rin.latent_dim = 16;
  c.rin.interface_dim = 8;
  c.rin.blocks = 1;
  c.rin.layers_per_block = 1;
  c.rin.heads = 2;
  c.rin.cross_heads = 2;
  c.train.steps = 6;
  c.train.batch_size = 5;
  c.train.out_dir = out.string();
  c.train.log_every = 2;
  c.train.checkpoint_every = 100;
  c.train.sample_every = 0;
  c.train.report = false;  // WritesMetricsAndGrids checks it
  c.optim.warmup_steps = 2;
  return c;
}

fs::path tiny_data() {
  // Per test: ctest runs the tests of this suite as parallel processes, and a shared folder
  // would be removed and rewritten under another test reading it.
  static const fs::path folder = [] {
    auto f = testing::fresh_folder(std::string("trainer-data-") +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    testing::write_idx_dataset(f, "train", 23, 8, 10, false);
    return f;
  }();
  return folder;
}

TrainRequest request_for(const Config& config) {
  TrainRequest request;
  request.spec = resolve(config);
  return request;
}

void expect_identical(const std::map<std::string, at::Tensor>& a,
                      const std::map<std::string, at::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(at::equal(t, b.at(name))) << name;
}

// A step-4 checkpoint with weights unlike `good`'s (model + 1), to save over a step-2 run.
CheckpointContent step_4_content(const LoadedCheckpoint& good) {
  CheckpointContent content;
  content.step = 4;
  content.config = good.spec.config;
  content.state = good.state;
  for (const auto& [name, t] : good.model) content.model.emplace_back(name, t + 1);
  for (const auto& [name, t] : good.ema) content.ema.emplace_back(name, t);
  for (const auto& [name, t] : good.optimizer) content.optimizer.emplace_back(name, t);
  return content;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override { configure_threads(2); }
  std::ostringstream log_;
};

TEST_F(TrainerTest, ResumeIsBitExact) {
  const auto straight = testing::fresh_folder("trainer-straight");
  const auto split = testing::fresh_folder("trainer-split");
  TrainRequest a = request_for(tiny_config(tiny_data(), straight));
  const TrainResult ra = train(a, log_);
  EXPECT_EQ(ra.last_step, 6);

  TrainRequest b1 = request_for(tiny_config(tiny_data(), split));
  b1.stop_after = 3;
  const TrainResult rb1 = train(b1, log_);
  EXPECT_EQ(rb1.last_step, 3);
  EXPECT_EQ(load_checkpoint(split.string()).step, 3);
  TrainRequest b2 = request_for(tiny_config(tiny_data(), split));
  b2.resume = true;
  const TrainResult rb2 = train(b2, log_);
  EXPECT_EQ(rb2.first_step, 3);
  EXPECT_EQ(rb2.last_step, 6);

  const auto wa = load_checkpoint(straight.string());
  const auto wb = load_checkpoint(split.string());
  expect_identical(wa.model, wb.model);
  expect_identical(wa.ema, wb.ema);
  expect_identical(wa.optimizer, wb.optimizer);
  // The metrics file of the resumed run has one line per log interval, no duplicates.
  std::ifstream metrics(split / "metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) ++lines;
  EXPECT_EQ(lines, 4);  // steps 2, 3 (stop), 4, 6
}

TEST_F(TrainerTest, ResumeRefusesAChangedModelButAllowsLoggingChanges) {
  const auto run = testing::fresh_folder("trainer-mismatch");
  TrainRequest first = request_for(tiny_config(tiny_data(), run));
  first.stop_after = 2;
  train(first, log_);
  TrainRequest changed = request_for(tiny_config(tiny_data(), run));
  changed.resume = true;
  changed.spec.config.rin.latents = 5;
  changed.spec.config.optim.lr = 1e-3;
  try {
    train(changed, log_);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("rin.latents = 5 (checkpoint: 4)"), std::string::npos) << m;
    EXPECT_NE(m.find("optim.lr"), std::string::npos) << m;
  }
  TrainRequest logging = request_for(tiny_config(tiny_data(), run));
  logging.resume = true;
  logging.spec.config.train.log_every = 1;
  EXPECT_EQ(train(logging, log_).last_step, 6);
  // A fresh run into a used folder is refused.
  TrainRequest again = request_for(tiny_config(tiny_data(), run));
  EXPECT_THROW(train(again, log_), Error);
  TrainRequest nothing =
      request_for(tiny_config(tiny_data(), testing::fresh_folder("trainer-none")));
  nothing.resume = true;
  EXPECT_THROW(train(nothing, log_), Error);
}

TEST_F(TrainerTest, InterruptedSaveAtAnyStageLeavesTheLastCheckpointLoadable) {
  const auto run = testing::fresh_folder("trainer-crash");
  TrainRequest request = request_for(tiny_config(tiny_data(), run));
  request.stop_after = 2;
  train(request, log_);
  const auto good = load_checkpoint(run.string());
  ASSERT_EQ(good.step, 2);
  const CheckpointContent content = step_4_content(good);
  for (const char* stage : {"model", "ema", "optimizer", "config", "state", "rename"}) {
    EXPECT_THROW(save_checkpoint(run.string(), content, 3,
                                 [&](const std::string& s) {
                                   if (s == stage) throw Error(std::string("crash at ") + stage);
                                 }),
                 Error)
        << stage;
    const auto loaded = load_checkpoint(run.string());
    EXPECT_EQ(loaded.step, 2) << "after a crash at " << stage;
    expect_identical(loaded.model, good.model);
  }
  // No temporary folders are left behind by the failed saves (except a renamed-but-unnamed one).
  for (const auto& entry : fs::directory_iterator(run / "checkpoints")) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
  // A save that completes moves `latest`.
  save_checkpoint(run.string(), content, 3);
  EXPECT_EQ(load_checkpoint(run.string()).step, 4);
}

TEST_F(TrainerTest, AFullDiskDuringASaveIsAClearErrorAndKeepsThePreviousCheckpoint) {
  // A file-size limit (RLIMIT_FSIZE) makes writes fail with EFBIG at a chosen size, as a full
  // disk fails them with ENOSPC: the same write path, without needing a small file system.
  const auto run = testing::fresh_folder("trainer-full-disk");
  TrainRequest request = request_for(tiny_config(tiny_data(), run));
  request.stop_after = 2;
  train(request, log_);
  const auto good = load_checkpoint(run.string());
  const CheckpointContent content = step_4_content(good);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  // 1 KiB: the first tensor file fails; larger limits fail at later files.
  int failures = 0;
  for (const rlim_t limit : {rlim_t{1} << 10, rlim_t{16} << 10, rlim_t{64} << 10}) {
    rlimit small = saved;
    small.rlim_cur = limit;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    std::string message;
    try {
      save_checkpoint(run.string(), content, 3);
    } catch (const Error& e) {
      message = e.what();
    }
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
    if (message.empty()) continue;  // everything fitted under this limit
    ++failures;
    EXPECT_NE(message.find("cannot write '" + (run / "checkpoints").string()), std::string::npos)
        << message;
    EXPECT_NE(message.find("File too large"), std::string::npos) << message;
    const auto loaded = load_checkpoint(run.string());
    EXPECT_EQ(loaded.step, 2) << "after a failed save under a " << limit << "-byte limit";
    expect_identical(loaded.model, good.model);
    for (const auto& entry : fs::directory_iterator(run / "checkpoints")) {
      EXPECT_FALSE(is_temporary_name(entry.path().filename().string())) << entry.path();
    }
  }
  std::signal(SIGXFSZ, previous_handler);
  EXPECT_GE(failures, 2) << "the limits no longer make the save fail; lower them";
  // With room again the same save succeeds.
  save_checkpoint(run.string(), content, 3);
  EXPECT_EQ(load_checkpoint(run.string()).step, 4);
}

TEST_F(TrainerTest, ASignalBetweenStepsStopsTheRunAndIsReported) {
  // SIGINT during a sample grid: the run stops after that step, with its checkpoint.
  const auto run = testing::fresh_folder("trainer-signal-grid");
  TrainRequest request = request_for(tiny_config(tiny_data(), run));
  request.spec.config.train.sample_every = 3;
  request.after_stage = [](const std::string& stage, std::int64_t step) {
    if (stage == "grid" && step == 3) std::raise(SIGINT);
  };
  TrainResult result = train(request, log_);
  EXPECT_EQ(result.signal, SIGINT);
  EXPECT_EQ(result.last_step, 3);
  EXPECT_EQ(load_checkpoint(run.string()).step, 3);
  EXPECT_NE(log_.str().find("SIGINT: stopped after step 3"), std::string::npos) << log_.str();
  // SIGINT during the last checkpoint: the run is complete, and the caller still learns of it
  // (a study must not go on to its next cell).
  const auto last = testing::fresh_folder("trainer-signal-last");
  TrainRequest complete = request_for(tiny_config(tiny_data(), last));
  complete.after_stage = [](const std::string& stage, std::int64_t step) {
    if (stage == "checkpoint" && step == 6) std::raise(SIGINT);
  };
  result = train(complete, log_);
  EXPECT_EQ(result.signal, SIGINT);
  EXPECT_EQ(result.last_step, 6);
  EXPECT_EQ(load_checkpoint(last.string()).step, 6);
}

TEST_F(TrainerTest, ResumeRemovesTheTemporariesOfAKilledSave) {
  // What a kill -9 in the middle of a save leaves: a half-written step folder and a half-written
  // `latest`, with temporary names. The resume removes them and leaves the real ones alone.
  const auto run = testing::fresh_folder("trainer-stale");
  TrainRequest request = request_for(tiny_config(tiny_data(), run));
  request.stop_after = 2;
  train(request, log_);
  fs::create_directories(run / "checkpoints" / "step_00000004.tmp-2147483646-0");
  std::ofstream(run / "checkpoints" / "step_00000004.tmp-2147483646-0" / "model.safetensors")
      << "x";
  std::ofstream(run / "checkpoints" / "latest.tmp-2147483646-1") << "step_00000004\n";
  std::ofstream(run / "config.toml.tmp-2147483646-2") << "[train]\n";
  request.resume = true;
  request.stop_after.reset();
  log_.str("");
  train(request, log_);
  EXPECT_NE(log_.str().find("removed 3 temporaries"), std::string::npos) << log_.str();
  for (const auto& folder : {run, run / "checkpoints"}) {
    for (const auto& entry : fs::directory_iterator(folder)) {
      EXPECT_FALSE(is_temporary_name(entry.path().filename().string())) << entry.path();
    }
  }
  EXPECT_EQ(load_checkpoint(run.string()).step, 6);
}

TEST_F(TrainerTest, ASecondWriterIsRefusedNamingTheHolder) {
  const auto run = testing::fresh_folder("trainer-lock");
  Config c = tiny_config(tiny_data(), run);
  TrainRequest request = request_for(c);
  request.stop_after = 2;
  train(request, log_);
  {
    FolderLock holder(run.string(), "run folder");  // another process training into the folder
    request.resume = true;
    request.stop_after.reset();
    try {
      train(request, log_);
      FAIL() << "a second writer was let in";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("is in use by another process (pid "), std::string::npos)
          << e.what();
    }
    // A fresh run into a new folder that someone else has locked is refused the same way.
    const auto other = testing::fresh_folder("trainer-lock-fresh");
    FolderLock other_holder(other.string(), "run folder");
    Config fresh = tiny_config(tiny_data(), other);
    EXPECT_THROW(train(request_for(fresh), log_), Error);
    EXPECT_FALSE(fs::exists(other / "config.toml"));
  }
  EXPECT_EQ(load_checkpoint(run.string()).step, 2);  // nothing was touched
  train(request, log_);                              // the holder is gone: the resume goes ahead
  EXPECT_EQ(load_checkpoint(run.string()).step, 6);
}

TEST_F(TrainerTest, KeepsOnlyTheNewestCheckpoints) {
  const auto run = testing::fresh_folder("trainer-keep");
  Config c = tiny_config(tiny_data(), run);
  c.train.checkpoint_every = 1;
  c.train.keep_checkpoints = 2;
  train(request_for(c), log_);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(run / "checkpoints")) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"latest", "step_00000005", "step_00000006"}));
}

TEST_F(TrainerTest, NonFiniteLossStopsWithTheStepAndKeepsTheCheckpoint) {
  const auto run = testing::fresh_folder("trainer-nan");
  Config c = tiny_config(tiny_data(), run);
  c.train.checkpoint_every = 1;
  c.optim.optimizer = "adamw";
  c.optim.lr = 1e30;  // the weights blow up after the first update
  c.optim.warmup_steps = 0;
  c.optim.grad_clip = 0;
  try {
    train(request_for(c), log_);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    // Found where the step's numbers are read (the step itself never waits for the device).
    EXPECT_NE(m.find("the loss was not finite at step "), std::string::npos) << m;
    EXPECT_NE(m.find("stopped before saving anything of that step or later"), std::string::npos)
        << m;
    EXPECT_NE(m.find("the last good checkpoint is"), std::string::npos) << m;
  }
  // Every checkpoint written has finite weights.
  const auto last = load_checkpoint(run.string());
  for (const auto& [name, t] : last.model) EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << name;
}

// The profile's count of host synchronisations sees a value read (the control for the tests
// below, which assert none).
TEST(HostSyncs, AValueReadIsCountedAndArithmeticIsNot) {
  OpProfile arithmetic;
  const at::Tensor x = at::ones({4}) * 3 + 1;
  arithmetic.stop();
  EXPECT_EQ(arithmetic.host_syncs(), 0);
  OpProfile read;
  const double value = x.sum().item<double>();
  const bool any = (x > 3).any().item<bool>();
  read.stop();
  EXPECT_EQ(value, 16.0);
  EXPECT_TRUE(any);
  EXPECT_EQ(read.host_syncs(), 2);
}

// No training step waits for the device (issue: a step that never waits): under a profile, a
// step reads no value to the host and copies nothing from the device, for the U-Net with AdamW
// and for the RIN with LAMB, self-conditioning, clipping and min-SNR weighting. On a GPU each
// such read would stall the host until the device caught up.
TEST_F(TrainerTest, ATrainingStepReadsNothingOnTheHost) {
  struct Case {
    const char* arch;
    const char* optimizer;
    double self_cond_rate;
    const char* loss_weight;
  };
  for (const Case& k :
       {Case{"unet", "adamw", 0.0, "none"}, Case{"rin", "lamb", 0.5, "min_snr@5"}}) {
    Config c = tiny_config(tiny_data(), testing::fresh_folder("trainer-syncs"));
    c.model.arch = k.arch;
    c.unet.channels = 8;
    c.unet.heads = 2;
    c.unet.attention_resolutions = {4};
    c.optim.optimizer = k.optimizer;
    c.optim.grad_clip = 1.0;
    c.diffusion.self_cond_rate = k.self_cond_rate;
    c.diffusion.loss_weight = k.loss_weight;
    TrainBenchOptions options;
    options.warmup_steps = 0;
    options.steps = 2;
    options.sgemm_size = 32;
    options.profile = true;
    const TrainBenchResult r = bench_train(resolve(c), options);
    EXPECT_GT(r.ops.size(), 10u) << k.arch;  // the profile saw the step's operations
    EXPECT_EQ(r.host_syncs, 0) << k.arch << ": host syncs in " << r.profiled_steps << " steps";
    // Device memory is the allocator's on CUDA: on the CPU nothing is measured or written.
    EXPECT_FALSE(r.memory.measured);
    EXPECT_FALSE(r.to_json().contains("peak_device_allocated_gib"));
  }
}

// Nor does a sampling step, with guidance and self-conditioning.
TEST_F(TrainerTest, ASamplingStepReadsNothingOnTheHost) {
  Config c = tiny_config(tiny_data(), testing::fresh_folder("sampler-syncs"));
  c.diffusion.self_cond_rate = 0.5;
  SampleBenchOptions options;
  options.batch_size = 4;
  options.recipe = "dpmpp_2m steps=4 guidance=1.5";
  options.warmup_evaluations = 1;
  options.profile = true;
  const SampleBenchResult r = bench_sample(resolve(c), options);
  EXPECT_EQ(r.evaluations, 4);  // guidance's two passes go through the network as one batch
  EXPECT_GT(r.ops.size(), 10u);
  EXPECT_EQ(r.host_syncs, 0);
}

// A batch of `size` 8x8 one-channel images and labels, different for each `variant`.
ByteBatch test_batch(int size, int variant) {
  ByteBatch batch;
  batch.size = size;
  batch.channels = 1;
  batch.resolution = 8;
  for (int i = 0; i < batch.size * 64; ++i) {
    batch.pixels.push_back(static_cast<std::uint8_t>(i * 37 + variant * 101));
  }
  for (int i = 0; i < batch.size; ++i) batch.labels.push_back((i + variant) % 10);
  return batch;
}

// The two configurations the step tests use: the U-Net with AdamW, and the RIN with LAMB,
// self-conditioning, clipping and min-SNR weighting; both with the learning-rate and EMA warm-ups
// (numbers that change at every step).
std::vector<Config> step_test_configs(const fs::path& out) {
  Config unet = tiny_config(tiny_data(), out);
  unet.model.arch = "unet";
  unet.unet.channels = 8;
  unet.unet.heads = 2;
  unet.unet.attention_resolutions = {4};
  unet.optim.optimizer = "adamw";
  unet.diffusion.self_cond_rate = 0.0;
  Config rin = tiny_config(tiny_data(), out);
  rin.optim.optimizer = "lamb";
  rin.optim.grad_clip = 1.0;
  rin.diffusion.self_cond_rate = 0.9;
  rin.diffusion.loss_weight = "min_snr@5";
  for (Config* c : {&unet, &rin}) {
    c->train.steps = 200;
    c->optim.warmup_steps = 100;
    c->optim.ema_warmup = true;
  }
  return {unet, rin};
}

// What a CUDA graph of the training step needs (train.cuda_graphs): the step's device work
// (TrainingEngine::compute) runs the same operations with the same arguments at every step, every
// number that changes from step to step (learning rate, bias corrections, EMA weight, the
// schedule's coefficients, the labels) coming from the step's device tensors. Traced at steps 1 and
// 57 on different batches. The control: with the update's numbers on the host (the CPU's default),
// the traces differ, so the comparison can tell.
TEST_F(TrainerTest, AStepsDeviceWorkIsTheSameAtEveryStep) {
  const c10::Device cpu(c10::kCPU);
  for (const Config& c : step_test_configs(testing::fresh_folder("trainer-trace"))) {
    SCOPED_TRACE(c.model.arch);
    for (const bool device_scalars : {true, false}) {
      TrainingEngine engine(resolve(c), 1, 10, cpu);
      engine.set_device_scalars(device_scalars);
      // A step first: what is made lazily at the first step is not a per-step difference.
      engine.compute(engine.prepare(test_batch(6, 2), 0));
      std::vector<std::string> traces[2];
      bool first_pass[2];
      const std::int64_t steps[2] = {1, 57};
      for (int k = 0; k < 2; ++k) {
        const StepInputs in = engine.prepare(test_batch(6, k), steps[k]);
        first_pass[k] = in.first_pass;
        OpTrace trace;
        engine.compute(in);
        traces[k] = trace.stop();
      }
      ASSERT_EQ(first_pass[0], first_pass[1]);
      EXPECT_EQ(first_pass[0], c.model.arch == "rin");
      ASSERT_GT(traces[0].size(), 100u);
      if (!device_scalars) {
        EXPECT_NE(traces[0], traces[1]) << "the control: host numbers differ between the steps";
        continue;
      }
      ASSERT_EQ(traces[0].size(), traces[1].size());
      for (std::size_t i = 0; i < traces[0].size(); ++i) {
        ASSERT_EQ(traces[0][i], traces[1][i]) << "operation " << i << " of " << traces[0].size();
      }
    }
  }
}

// Training with the update's numbers on the device (as on CUDA, and in a graph) follows training
// with host numbers: the same losses and gradient norm at the first step (nothing updated yet),
// weights within float rounding after it, and losses within 1e-3 over six steps. (Over several
// steps AdamW's normalised update turns rounding differences in the gradient of a parameter whose
// gradient is only noise, such as a convolution's bias before a normalisation, into steps of up
// to the learning rate, so the weights are compared after one update; under PyTorch 2.11 the
// U-Net's losses part by 3e-4 within six steps that way.)
TEST_F(TrainerTest, DeviceScalarsTrainLikeHostNumbers) {
  const c10::Device cpu(c10::kCPU);
  for (const Config& c : step_test_configs(testing::fresh_folder("trainer-scalars"))) {
    SCOPED_TRACE(c.model.arch);
    TrainingEngine host(resolve(c), 1, 10, cpu), device(resolve(c), 1, 10, cpu);
    device.set_device_scalars(true);
    const std::vector<at::Tensor> initial = host.model()->parameters();
    std::vector<at::Tensor> before;
    for (const at::Tensor& p : initial) before.push_back(p.detach().clone());
    for (int step = 0; step < 6; ++step) {
      const ByteBatch batch = test_batch(6, step);
      const StepResult a = host.step(batch, step + 30), b = device.step(batch, step + 30);
      if (step == 0) {
        EXPECT_EQ(a.loss_values(), b.loss_values());
        EXPECT_EQ(a.grad_norm_value(), b.grad_norm_value());
        const auto pa = host.model()->named_parameters();
        const auto pb = device.model()->named_parameters();
        const auto ea = host.ema()->parameters(), eb = device.ema()->parameters();
        double moved = 0;
        for (std::size_t i = 0; i < pa.size(); ++i) {
          EXPECT_LT((pa[i].value() - pb[i].value()).abs().max().item<double>(), 1e-6)
              << pa[i].key();
          EXPECT_LT((ea[i] - eb[i]).abs().max().item<double>(), 1e-6) << pa[i].key();
          moved = std::max(moved, (pa[i].value() - before[i]).abs().max().item<double>());
        }
        EXPECT_GT(moved, 1e-4);  // the update did change the weights
      }
      EXPECT_NEAR(a.loss_value(), b.loss_value(), 1e-3 * a.loss_value()) << "step " << step;
      EXPECT_EQ(a.lr, b.lr);
      EXPECT_EQ(a.logsnr, b.logsnr);
    }
  }
}

// train.cuda_graphs: auto trains without graphs where they cannot be used and says why; on is an
// error there, naming the key and the reason; off needs no reason.
TEST_F(TrainerTest, CudaGraphsOnWhereTheyCannotBeUsedIsAnError) {
  const c10::Device cpu(c10::kCPU);
  Config c = tiny_config(tiny_data(), testing::fresh_folder("trainer-graphs"));
  TrainingEngine automatic(resolve(c), 1, 10, cpu);
  EXPECT_FALSE(automatic.cuda_graphs());
  EXPECT_NE(automatic.cuda_graphs_note().find("off (the device is cpu, not CUDA"),
            std::string::npos)
      << automatic.cuda_graphs_note();
  c.train.cuda_graphs = "off";
  EXPECT_EQ(TrainingEngine(resolve(c), 1, 10, cpu).cuda_graphs_note(),
            "off (train.cuda_graphs = off)");
  c.train.cuda_graphs = "on";
  try {
    TrainingEngine engine(resolve(c), 1, 10, cpu);
    ADD_FAILURE() << "train.cuda_graphs = on trained on the CPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.cuda_graphs = on, but the device is cpu, not CUDA"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("use auto or off"), std::string::npos) << e.what();
  }
  // The sampler's graphs (sample, eval, bench sample) decide alike.
  std::string note;
  EXPECT_EQ(sampling_graphs(CudaGraphs::kAuto, cpu, &note), nullptr);
  EXPECT_NE(note.find("off (the device is cpu, not CUDA"), std::string::npos) << note;
  EXPECT_EQ(sampling_graphs(CudaGraphs::kOff, cpu, &note), nullptr);
  EXPECT_EQ(note, "off (train.cuda_graphs = off)");
  EXPECT_THROW(sampling_graphs(CudaGraphs::kOn, cpu, &note), Error);
  c.train.cuda_graphs = "sometimes";
  try {
    resolve(c);
    ADD_FAILURE() << "train.cuda_graphs = sometimes was taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.cuda_graphs"), std::string::npos) << e.what();
  }
}

// state.json is trusted: a checkpoint whose state.json and config.toml disagree on anything
// resolved (the architecture, the resolution, the schedule, b, the normalisation, the target, the
// loss weighting, the self-conditioning rate) is refused, naming both values, by sampling and by
// --resume alike.
TEST_F(TrainerTest, ACheckpointWhoseStateAndConfigDisagreeIsRefused) {
  const auto run = testing::fresh_folder("trainer-disagree");
  Config c = tiny_config(tiny_data(), run);
  c.train.steps = 2;
  c.diffusion.input_scale = "auto:4";  // b = 4 / 8 px = 0.5
  train(request_for(c), log_);
  const fs::path state = fs::path(load_checkpoint(run.string(), false).path) / "state.json";
  std::ifstream in(state);
  const nlohmann::json original = nlohmann::json::parse(in);
  in.close();
  EXPECT_EQ(original["diffusion"]["input_scale"].get<double>(), 0.5);
  EXPECT_NO_THROW(load_trained_model(run.string(), "ema", c10::Device(c10::kCPU)));
  struct Edit {
    const char* pointer;  // into state.json
    nlohmann::json value;
    const char* expected;
  };
  for (const Edit& edit :
       {Edit{"/diffusion/input_scale", 1.0,
             "disagree on b (diffusion.input_scale = 'auto:4' at 8 px): config.toml gives 0.5, "
             "state.json says 1"},
        Edit{"/diffusion/target", "v",
             "disagree on the target: config.toml gives eps, state.json says v"},
        Edit{"/diffusion/schedule", "cosine:start=0,end=1,tau=1",
             "disagree on the training schedule"},
        Edit{"/diffusion/normalization", "analytic",
             "disagree on the normalisation: config.toml gives empirical, state.json says "
             "analytic"},
        Edit{"/diffusion/loss_weight", "min_snr@2",
             "disagree on the loss weighting: config.toml gives none, state.json says min_snr@2"},
        Edit{"/diffusion/self_cond_rate", 0.25,
             "disagree on the self-conditioning rate: config.toml gives 0.9, state.json says "
             "0.25"},
        Edit{"/arch", "unet",
             "disagree on the architecture: config.toml gives rin, state.json "
             "says unet"},
        Edit{"/resolution", 16,
             "disagree on the resolution: config.toml gives 8, state.json says 16"}}) {
    nlohmann::json edited = original;
    edited[nlohmann::json::json_pointer(edit.pointer)] = edit.value;
    std::ofstream(state) << edited.dump(2);
    for (const bool resume : {false, true}) {
      try {
        if (resume) {
          TrainRequest request = request_for(c);
          request.resume = true;
          train(request, log_);
        } else {
          load_trained_model(run.string(), "ema", c10::Device(c10::kCPU));
        }
        ADD_FAILURE() << edit.pointer << (resume ? " (resume)" : "") << ": no error";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(edit.expected), std::string::npos) << e.what();
      }
    }
  }
  std::ofstream(state) << original.dump(2);
  EXPECT_NO_THROW(load_trained_model(run.string(), "ema", c10::Device(c10::kCPU)));
}

TEST_F(TrainerTest, CheckpointRecordsTheSelfConditioningRate) {
  // A model trained without self-conditioning must be sampled without it (its self-conditioning
  // inputs only ever saw zeros): the checkpoint records the rate and the restored setup says so.
  for (double rate : {0.0, 0.9}) {
    const auto run = testing::fresh_folder("trainer-self-cond");
    Config c = tiny_config(tiny_data(), run);
    c.train.steps = 2;
    c.diffusion.self_cond_rate = rate;
    train(request_for(c), log_);
    const TrainedModel trained = load_trained_model(run.string(), "ema", c10::Device(c10::kCPU));
    EXPECT_EQ(trained.spec.diffusion.self_condition, rate > 0) << rate;
    const auto checkpoint = load_checkpoint(run.string(), false);
    EXPECT_EQ(checkpoint.state.json["diffusion"]["self_cond_rate"].get<double>(), rate);
    EXPECT_GT(checkpoint.state.train_seconds, 0.0);
  }
}

TEST_F(TrainerTest, LossWeightingScalesEachExampleByItsMinSnrWeight) {
  // Same seed, same batch, same initial weights: the weighted per-example losses are the plain
  // ones times min(snr, G) / (snr + 1) (v target) at each example's logSNR.
  Config plain = tiny_config(tiny_data(), testing::fresh_folder("trainer-weight"));
  plain.diffusion.target = "v";
  Config weighted = plain;
  weighted.diffusion.loss_weight = "min_snr@2";
  ByteBatch batch;
  batch.size = 7;
  batch.channels = 1;
  batch.resolution = 8;
  for (int i = 0; i < batch.size * 64; ++i)
    batch.pixels.push_back(static_cast<std::uint8_t>(i * 37));
  for (int i = 0; i < batch.size; ++i) batch.labels.push_back(i % 10);
  const c10::Device cpu(c10::kCPU);
  TrainingEngine a(resolve(plain), 1, 10, cpu), b(resolve(weighted), 1, 10, cpu);
  const StepResult ra = a.step(batch, 0), rb = b.step(batch, 0);
  const std::vector<double> la = ra.loss_values(), lb = rb.loss_values();
  ASSERT_EQ(la.size(), lb.size());
  ASSERT_EQ(la.size(), 7u);
  double mean = 0;
  int below = 0;
  for (std::size_t i = 0; i < la.size(); ++i) {
    ASSERT_EQ(ra.logsnr[i], rb.logsnr[i]);
    const double snr = std::exp(ra.logsnr[i]);
    const double w = std::min(snr, 2.0) / (snr + 1);
    EXPECT_NEAR(lb[i], la[i] * w, 1e-6 * la[i]) << i;
    below += w < 0.99;
    mean += lb[i] / static_cast<double>(la.size());
  }
  EXPECT_GT(below, 0);  // the weights did change something
  EXPECT_NEAR(rb.loss_value(), mean, 1e-6 * mean);
}

TEST_F(TrainerTest, WritesMetricsAndGrids) {
  const auto run = testing::fresh_folder("trainer-outputs");
  Config c = tiny_config(tiny_data(), run);
  c.train.sample_every = 3;
  c.train.sample_recipe = "ddpm steps=3";
  c.train.report = true;
  const TrainResult result = train(request_for(c), log_);
  EXPECT_EQ(result.report, (run / "report.html").string());
  EXPECT_GT(fs::file_size(run / "report.html"), 10000u);
  // A finished run resumed trains nothing but still (re)writes its report.
  fs::remove(run / "report.html");
  TrainRequest again = request_for(c);
  again.resume = true;
  EXPECT_EQ(train(again, log_).report, (run / "report.html").string());
  EXPECT_TRUE(fs::exists(run / "report.html"));
  EXPECT_TRUE(fs::exists(run / "samples" / "step_00000003.png"));
  EXPECT_TRUE(fs::exists(run / "samples" / "step_00000006.png"));
  EXPECT_TRUE(fs::exists(run / "config.toml"));
  std::ifstream metrics(run / "metrics.jsonl");
  std::string line;
  std::getline(metrics, line);
  const auto first = nlohmann::ordered_json::parse(line);
  EXPECT_EQ(first["step"], 2);
  for (const char* key : {"loss", "loss_by_logsnr", "lr", "grad_norm", "images_per_s", "epoch"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
  EXPECT_GT(first["loss"].get<double>(), 0);
  EXPECT_EQ(first["loss_by_logsnr"].size(), 8u);
  EXPECT_EQ(first["loss_by_logsnr"].begin().key(), "[-inf,-10)");  // buckets in logSNR order
}

TEST_F(TrainerTest, EvaluatesDuringTrainingIntoTheMetricsFile) {
  const auto data = testing::fresh_folder("trainer-eval-data");
  testing::write_idx_dataset(data, "train", 23, 8, 10, false);
  testing::write_idx_dataset(data, "t10k", 10, 8, 10, false);
  const auto run = testing::fresh_folder("trainer-eval");
  ClassifierTrainOptions classifier;
  classifier.dataset = "mnist";
  classifier.data_path = data.string();
  classifier.epochs = 1;
  classifier.batch_size = 8;
  const std::string extractor = (run / "cnn.safetensors").string();
  train_classifier(classifier, extractor, c10::Device(c10::kCPU), nullptr);

  // A tiny run evaluated with 10 images of a 2-step sampler and the classifier above.
  const auto evaluated = [&](const std::string& name, const std::string& metrics_list) {
    Config config = tiny_config(data, run / name);
    config.eval.num = 10;
    config.eval.recipe = "dpmpp_2m steps=2";
    config.eval.metrics = metrics_list;
    config.eval.extractor = extractor;
    config.eval.cache = (run / "cache").string();
    return config;
  };
  Config c = evaluated("run", "fid,is");
  c.eval.every = 3;
  train(request_for(c), log_);
  std::ifstream metrics(run / "run" / "metrics.jsonl");
  std::vector<std::int64_t> eval_steps;
  for (std::string line; std::getline(metrics, line);) {
    const auto doc = nlohmann::ordered_json::parse(line);
    if (!doc.contains("eval")) continue;
    eval_steps.push_back(doc["step"]);
    const auto& e = doc["eval"];
    EXPECT_EQ(e["num_images"], 10);
    EXPECT_GE(e["fid"].get<double>(), 0.0);
    EXPECT_TRUE(std::isfinite(e["fid"].get<double>()));
    EXPECT_GE(e["is"]["mean"].get<double>(), 1.0);
    EXPECT_FALSE(e.contains("kid"));
  }
  EXPECT_EQ(eval_steps, (std::vector<std::int64_t>{3, 6}));
  EXPECT_TRUE(fs::exists(run / "cache" / "reference"));

  // By training time: eval.every_seconds below one step's time evaluates after every step, each
  // line with the training seconds so far (increasing; evaluation time not counted), and the
  // class accuracy and grey-background metrics of the time-to-quality harness.
  Config timed = evaluated("timed", "fid,cacc,bg");
  timed.eval.every_seconds = 1e-6;
  train(request_for(timed), log_);
  std::ifstream timed_metrics(run / "timed" / "metrics.jsonl");
  std::vector<double> seconds;
  for (std::string line; std::getline(timed_metrics, line);) {
    const auto doc = nlohmann::ordered_json::parse(line);
    if (!doc.contains("eval")) continue;
    seconds.push_back(doc["train_s"].get<double>());
    const auto& e = doc["eval"];
    EXPECT_GE(e["cacc"]["accuracy"].get<double>(), 0.0);
    EXPECT_LE(e["cacc"]["accuracy"].get<double>(), 1.0);
    EXPECT_EQ(e["cacc"]["num_labelled"], 10);
    EXPECT_GE(e["bg"]["share"].get<double>(), 0.0);
    EXPECT_EQ(e["recipe"], InferenceRecipe::parse("dpmpp_2m steps=2").to_string());
  }
  ASSERT_EQ(seconds.size(), 6u);
  for (std::size_t i = 1; i < seconds.size(); ++i) EXPECT_GT(seconds[i], seconds[i - 1]);

  // A missing extractor stops the run before its first step, naming the file.
  Config missing = tiny_config(data, run / "missing");
  missing.eval.every = 3;
  missing.eval.extractor = (run / "nowhere.safetensors").string();
  const std::string message = testing::error_message([&] { train(request_for(missing), log_); });
  EXPECT_NE(message.find("nowhere.safetensors"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(run / "missing" / "checkpoints"));
}

}  // namespace
}  // namespace noisesched
