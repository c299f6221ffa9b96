// noisesched/train/engine.h: one optimizer step of Algorithm 2 and the state it works on.
//
// Shared by `noisesched train` and `noisesched bench train`, so the benchmark measures exactly the
// step that training runs.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "noisesched/config/run_spec.h"
#include "noisesched/core/communicator.h"
#include "noisesched/data/loader.h"
#include "noisesched/diffusion/process.h"
#include "noisesched/io/checkpoint.h"
#include "noisesched/models/denoiser.h"
#include "noisesched/optim/optimizer.h"

namespace noisesched {

// What a step leaves for the logs. The tensors stay on the step's device: reading one on the host
// makes the host wait for the device, so the trainer adds them up there and reads the sums once
// per log interval (StepStatistics in train/step_statistics.h).
struct StepResult {
  // This process's part of the batch's mean weighted loss (diffusion.loss_weight): its examples'
  // sum over the whole batch's size; with one process, the batch's mean. A scalar.
  at::Tensor loss;
  at::Tensor grad_norm;  // before clipping, of the summed gradients (alike on every process)
  at::Tensor losses;     // float64, per example of this process's share: weighted squared error
  double lr = 0;
  std::vector<double> logsnr;  // per example of this process's share: effective logSNR

  // Host copies, each waiting for the device: for tests and benchmarks, not for the step loop.
  double loss_value() const;
  double grad_norm_value() const;
  std::vector<double> loss_values() const;
};

// Everything one step's device work reads (TrainingEngine::prepare()), on the step's device: the
// host's share of the step (the random draws for the whole batch, the schedule's coefficients,
// the update's numbers) reaches the device in two copies, and compute() reads nothing else from
// the host. A CUDA graph of compute() (train.cuda_graphs) replays it after these tensors are
// copied into the ones it was captured with.
struct StepInputs {
  // Rows of `table` after the NoiseLevels rows (diffusion/process.h).
  enum Row : std::int64_t {
    kLossWeight = NoiseLevels::kRows,  // diffusion.loss_weight of each example (1: none)
    kSelfCondMask,                     // 1 where the example is self-conditioned, else 0
    kLabel,                            // the class the network is given (the null class if dropped)
    kRows
  };
  at::Tensor pixels;   // uint8 [B, C, H, W]: this process's share of the batch
  at::Tensor eps;      // [B, C, H, W]: its noise
  at::Tensor table;    // float64 [kRows, B]
  at::Tensor scalars;  // float32 [kUpdateScalars] (optim/optimizer.h) where the update reads its
                       // numbers on the device (CUDA); undefined: from the host
  // Host values: whether self-conditioning's first pass runs this step (the same on every
  // process), the learning rate, the step (0-based) and each example's effective logSNR.
  bool first_pass = false;
  double lr = 0;
  std::int64_t step = 0;
  std::vector<double> logsnr;
};

// What compute() leaves on the device (StepResult's tensors).
struct StepOutputs {
  at::Tensor loss, grad_norm, losses;
};

class TrainingEngine {
 public:
  // Builds the network (initialised from train.seed), its EMA copy and the optimizer.
  // `communicator` (not owned; null: one process) joins the processes that share each batch:
  // this process takes its share of every batch (loader_options() below), draws the random
  // numbers of the whole batch and uses its share, and the gradients are summed across
  // processes before clipping, so every process applies the same update as one process would
  // with the whole batch.
  TrainingEngine(const RunSpec& spec, int channels, int num_classes, const c10::Device& device,
                 Communicator* communicator = nullptr);
  ~TrainingEngine();

  // Runs optimizer step `step` (0-based) on `batch` (this process's share of the step's batch)
  // without reading any value on the host. A non-finite loss is applied like any other: the
  // trainer finds it in the step's statistics (StepStatistics) before it saves anything.
  StepResult step(const ByteBatch& batch, std::int64_t step);

  // step() in its two parts. prepare() makes the step's random draws and host-side numbers and
  // copies them to the device; it also counts the optimizer's update. compute() is the device
  // work: noising, the passes, the loss, backward, the gradient all-reduce and the update; it
  // reads the step's numbers only from `inputs`' tensors (where device_scalars()), so the same
  // operations with the same arguments run at every step, which a CUDA graph needs.
  StepInputs prepare(const ByteBatch& batch, std::int64_t step);
  StepOutputs compute(const StepInputs& inputs);

  // Whether the update reads its numbers (learning rate, bias corrections, EMA weight) from the
  // device: on CUDA always; on the CPU for tests (set before the first step).
  bool device_scalars() const { return device_scalars_; }
  void set_device_scalars(bool on);  // off is refused while steps replay graphs
  // Whether steps replay CUDA graphs (train.cuda_graphs resolved here), and if not, why.
  bool cuda_graphs() const { return graphs_ != nullptr; }
  const std::string& cuda_graphs_note() const { return graphs_note_; }
  // How many steps so far replayed a graph (each branch's first 3 run eagerly before its capture).
  std::int64_t cuda_graph_replays() const;

  // Restores weights, EMA and optimizer state from a checkpoint.
  void load(const LoadedCheckpoint& checkpoint);
  // Makes every process's weights and EMA those of the first process (after init or load).
  void synchronize();
  // The loader settings for this process: the configuration's, limited to this process's share.
  LoaderOptions loader_options() const;
  Communicator& communicator() const { return *communicator_; }
  // What a checkpoint of this state at `step` holds, with `state` as its state.json.
  CheckpointContent checkpoint_content(std::int64_t step, const CheckpointState& state) const;

  // FLOPs of one step: forward passes (two with self-conditioning) and a backward pass of twice
  // the forward cost, for the whole batch.
  double flops_per_step() const;

  const Denoiser& model() const { return model_; }
  const Denoiser& ema() const { return ema_; }
  const DiffusionSetup& setup() const { return spec_.diffusion; }
  const RunSpec& spec() const { return spec_; }
  const c10::Device& device() const { return device_; }

 private:
  RunSpec spec_;
  c10::Device device_;
  std::int64_t null_class_;
  Denoiser model_, ema_;
  Optimizer optimizer_;
  std::unique_ptr<Communicator> own_communicator_;
  Communicator* communicator_;
  std::int64_t shard_begin_ = 0, shard_end_ = 0;  // this process's examples of each batch
  bool device_scalars_ = false;
  struct Graphs;  // the captured steps (engine.cpp)
  // Copies the step's inputs into the graphs' tensors and replays (capturing first where this
  // branch has no graph yet). False when the capture failed under auto: graphs are then off.
  bool replay_step(const StepInputs& in, StepOutputs& out);
  std::unique_ptr<Graphs> graphs_;
  std::string graphs_note_;
};

// The network a run specifies, initialised from train.seed (what training starts from) and moved
// to `device`.
Denoiser seeded_model(const RunSpec& spec, int channels, int num_classes,
                      const c10::Device& device);

// The optimizer settings of a run ([optim]).
OptimizerOptions optimizer_options(const RunSpec& spec);

// One update of the weights as a training step makes it, under the profile scope
// "noisesched::optimizer" (a row of `bench --profile`): global-norm clipping (optim.grad_clip), the
// optimizer's step at learning rate `lr`, and the EMA update of step `step` (0-based). Returns
// the gradient norm before clipping, a 0-d tensor on the device.
at::Tensor update_weights(DenoiserImpl& model, DenoiserImpl& ema, Optimizer& optimizer,
                          const OptimConfig& config, double lr, std::int64_t step);

// The same with the step's numbers on the device (`scalars`, float32 [kUpdateScalars]: the
// learning rate, bias corrections, step count and EMA weight): nothing read on the host.
at::Tensor update_weights(DenoiserImpl& model, DenoiserImpl& ema, Optimizer& optimizer,
                          const OptimConfig& config, const at::Tensor& scalars);

// The loader settings a configuration implies (batch size, seed, flips, workers, prefetch).
LoaderOptions loader_options(const Config& config);

// "cpu", "cuda", "cuda:N" -> a device this build can use; throws naming the value otherwise.
c10::Device parse_device(const std::string& name);

}  // namespace noisesched
