// noisesched/train/bench.h: how fast the training step runs, against what the machine can do.
//
// Runs real training steps (the same TrainingEngine::step that `train` runs, on batches from the
// configured data loader) and reports images/s and the achieved GFLOP/s, from the model's FLOP
// count, beside the machine's measured single-precision matrix-product (sgemm) throughput, both
// measured in the same run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "noisesched/config/run_spec.h"
#include "noisesched/core/device_memory.h"
#include "noisesched/core/device_profile.h"
#include "noisesched/core/op_profile.h"

namespace noisesched {

class Communicator;

struct TrainBenchOptions {
  int warmup_steps = 2;
  int steps = 5;
  int sgemm_size = 1024;
  // After the timed steps, as many steps again under an operation profile (OpProfile): each
  // operation's self time per step, in `ops`.
  bool profile = false;
  // The processes that share each batch (not owned; null: this one alone).
  Communicator* communicator = nullptr;
};

struct TrainBenchResult {
  std::string model;
  std::string device;
  int threads = 0;
  int batch_size = 0;  // the whole batch of a step, over all processes
  int processes = 1;
  int steps = 0;
  double forward_flops_per_example = 0;
  double flops_per_step = 0;
  double step_seconds = 0;  // median
  double images_per_s = 0;  // of all processes together
  double achieved_gflops = 0;
  double sgemm_gflops = 0;  // best of several n x n x n products (0: several processes)
  double sgemm_fraction = 0;
  // train.cuda_graphs as resolved ("on", or "off (why)") and how many of the warm-up and timed
  // steps replayed a graph.
  std::string cuda_graphs;
  std::int64_t graph_replays = 0;
  int warmup_steps = 0;  // untimed steps first: the option's, and 4 more with graphs
  // On CUDA: the allocator's peaks over the warm-up and timed steps (device_memory.h).
  DeviceMemory memory;
  // With TrainBenchOptions::profile: the mean profiled step (the hooks cost a little) and each
  // operation's calls and self seconds per step, largest first.
  double profiled_step_seconds = 0;
  std::vector<OpTime> ops;
  // On a CUDA device with a LibTorch that has Kineto: the device time per step of each launching
  // operation (device_profile.h), from as many more steps; empty otherwise.
  std::vector<DeviceTime> device_ops;
  std::string device_error;  // why there is no device profile on CUDA, when it failed
  // Host synchronisations in the profiled steps (OpProfile::host_syncs), and their number.
  std::int64_t host_syncs = 0;
  int profiled_steps = 0;

  nlohmann::ordered_json to_json() const;
};

struct SampleBenchOptions {
  int batch_size = 100;
  std::string recipe = "ddim steps=50";
  int warmup_evaluations = 2;  // untimed network evaluations first (a short sampling run)
  // After the timed run, the same run again under an operation profile (OpProfile): each
  // operation's self time per network evaluation, in `ops`.
  bool profile = false;
};

struct SampleBenchResult {
  std::string model;
  std::string device;
  std::string recipe;
  int threads = 0;
  int batch_size = 0;
  std::int64_t evaluations = 0;  // network evaluations of the timed run
  double seconds = 0;
  // Images through the network per second: batch x evaluations / seconds.
  double images_per_s_per_evaluation = 0;
  // Whether the network calls replayed CUDA graphs (train.cuda_graphs: "on" or "off (why)") and
  // how many of the timed run's did.
  std::string cuda_graphs;
  std::int64_t graph_replays = 0;
  // With SampleBenchOptions::profile: the profiled run's seconds per network evaluation and each
  // operation's calls and self seconds per evaluation, largest first.
  double profiled_seconds_per_evaluation = 0;
  std::vector<OpTime> ops;
  // On CUDA with Kineto: the device time per network evaluation of each launching operation.
  std::vector<DeviceTime> device_ops;
  std::string device_error;  // why there is no device profile on CUDA, when it failed
  // Host synchronisations in the whole profiled run (OpProfile::host_syncs): on a GPU, the copy
  // of each batch's images to the host at its end; none inside the sampling steps.
  std::int64_t host_syncs = 0;

  nlohmann::ordered_json to_json() const;
};

// Times sampling a batch from the configuration's network (initialised from train.seed, no
// training: the cost of a network evaluation does not depend on the weights) under no-grad.
SampleBenchResult bench_sample(const RunSpec& spec, const SampleBenchOptions& options);

struct DataBenchResult {
  std::string data;  // the data set's description
  int batch_size = 0;
  struct Row {
    int workers = 0;
    int batches = 0;
    double seconds = 0;
    double images_per_s = 0;
  };
  std::vector<Row> rows;  // one per worker count

  nlohmann::ordered_json to_json() const;
};

// Times the batch loader on the configuration's data (decoding, cropping, resizing, flips):
// `batches` batches of train.batch_size for each worker count, after the untimed batches that
// fill and empty the prefetch queue, and after an untimed pass over the same batches (the files
// then come from the page cache in every run).
DataBenchResult bench_data(const Config& config, const std::vector<int>& workers, int batches);

struct OptimizerBenchResult {
  std::string model;
  std::string device;
  std::string optimizer;  // optim.optimizer
  int threads = 0;
  std::int64_t parameter_tensors = 0;
  std::int64_t parameters = 0;
  int updates = 0;  // per round
  int rounds = 0;
  struct Row {
    std::string path;               // "multi-tensor", "per-tensor" or "fused" (AdamW, LibTorch 2.x)
    double seconds_per_update = 0;  // median over the rounds
    std::int64_t operations = 0;    // operations dispatched per update (OpTime::dispatches)
  };
  std::vector<Row> rows;  // multi-tensor, per-tensor, then fused where it exists
  double speedup = 0;     // per-tensor seconds / multi-tensor seconds

  nlohmann::ordered_json to_json() const;
};

// Times one optimizer update of the configuration's model as training runs it (gradient
// clipping with optim.grad_clip, the optimizer step, the EMA update) on random gradients, the
// multi-tensor update and the per-tensor loop in alternating rounds of `updates` updates, and
// counts the operations each dispatches.
OptimizerBenchResult bench_optimizer(const RunSpec& spec, int updates, int rounds);

// Measures an n x n by n x n float product on `device` ("cpu", "cuda"), in GFLOP/s.
double measure_sgemm_gflops(const std::string& device, int n, int repeats = 10);

TrainBenchResult bench_train(const RunSpec& spec, const TrainBenchOptions& options);

}  // namespace noisesched
