// One training step (see engine.h).
#include "noisesched/train/engine.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>
#include <torch/cuda.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <tuple>

#include "noisesched/common/error.h"
#include "noisesched/common/launch.h"
#include "noisesched/common/numbers.h"
#include "noisesched/common/random.h"
#include "noisesched/common/random_purpose.h"
#include "noisesched/core/cuda_graph.h"
#include "noisesched/core/generators.h"
#include "noisesched/core/op_profile.h"
#include "noisesched/diffusion/network.h"
#include "noisesched/models/weights.h"

namespace noisesched {

Denoiser seeded_model(const RunSpec& spec, int channels, int num_classes,
                      const c10::Device& device) {
  torch::manual_seed(
      hash_values({static_cast<std::uint64_t>(spec.config.train.seed), purpose::kInit}));
  Denoiser model = make_denoiser(spec, channels, num_classes);
  model->to(device);
  return model;
}

at::Tensor update_weights(DenoiserImpl& model, DenoiserImpl& ema, Optimizer& optimizer,
                          const OptimConfig& config, double lr, std::int64_t step) {
  const ProfileScope scope("noisesched::optimizer");
  at::Tensor grad_norm = clip_grad_norm(model, config.grad_clip);
  optimizer.step(lr);
  ema_update(ema, model, ema_decay_at(config.ema_decay, step, config.ema_warmup));
  return grad_norm;
}

at::Tensor update_weights(DenoiserImpl& model, DenoiserImpl& ema, Optimizer& optimizer,
                          const OptimConfig& config, const at::Tensor& scalars) {
  const ProfileScope scope("noisesched::optimizer");
  at::Tensor grad_norm = clip_grad_norm(model, config.grad_clip);
  optimizer.step(scalars);
  ema_update(ema, model, scalars.select(0, kEmaWeight));
  return grad_norm;
}

OptimizerOptions optimizer_options(const RunSpec& spec) {
  const OptimConfig& config = spec.config.optim;
  OptimizerOptions options;
  options.kind = spec.optimizer;
  options.beta1 = config.beta1;
  options.beta2 = config.beta2;
  options.eps = config.eps;
  options.weight_decay = config.weight_decay;
  return options;
}

c10::Device parse_device(const std::string& name) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw Error("device '" + name + "' is not known; valid: cpu, cuda, cuda:N");
  }
  if (!device.is_cpu() && !device.is_cuda()) {
    throw Error("device '" + name + "' is not supported; valid: cpu, cuda, cuda:N");
  }
  if (device.is_cuda() && !torch::cuda::is_available()) {
    throw Error("device '" + name +
                "': this LibTorch build has no CUDA or no GPU is visible; use cpu");
  }
  return device;
}

LoaderOptions loader_options(const Config& config) {
  LoaderOptions options;
  options.batch_size = config.train.batch_size;
  options.seed = static_cast<std::uint64_t>(config.train.seed);
  options.random_flip = config.data.random_flip;
  options.workers = config.data.workers;
  options.prefetch = config.data.prefetch;
  return options;
}

TrainingEngine::TrainingEngine(const RunSpec& spec, int channels, int num_classes,
                               const c10::Device& device, Communicator* communicator)
    : spec_(spec),
      device_(device),
      null_class_(num_classes),
      model_(seeded_model(spec, channels, num_classes, device)),
      ema_(seeded_model(spec, channels, num_classes, device)),
      optimizer_(*model_, optimizer_options(spec)),
      own_communicator_(communicator == nullptr ? single_process() : nullptr),
      communicator_(communicator == nullptr ? own_communicator_.get() : communicator) {
  copy_weights(*ema_, *model_);
  for (auto& p : ema_->parameters()) p.set_requires_grad(false);
  ema_->eval();
  model_->train();
  if (model_->precision() == Precision::kBf16 && !device_.is_cuda()) {
    throw Error("train.precision = bf16 needs a CUDA device (train.device = '" +
                spec.config.train.device +
                "'); on the CPU the passes would compute in float32 anyway: use fp32");
  }
  const int world = communicator_->world_size();
  if (spec.config.train.batch_size < world) {
    throw Error("train.batch_size = " + std::to_string(spec.config.train.batch_size) +
                " is smaller than the " + std::to_string(world) +
                " processes that share each batch; use at least one example per process");
  }
  std::tie(shard_begin_, shard_end_) =
      shard_range(spec.config.train.batch_size, communicator_->rank(), world);
  synchronize();
  // On CUDA the update always takes its numbers from the device, so that the eager steps before
  // a capture and the replays compute alike.
  device_scalars_ = device_.is_cuda();
  const std::string several =
      world > 1
          ? std::to_string(world) + " processes train (the gradient all-reduce is not recorded)"
          : "";
  if (use_cuda_graphs(spec.cuda_graphs, device_, &graphs_note_, several)) {
    graphs_ = std::make_unique<Graphs>();
  }
}

void TrainingEngine::synchronize() {
  if (communicator_->world_size() == 1) return;
  std::vector<at::Tensor> tensors;
  torch::NoGradGuard no_grad;
  for (const Denoiser* module : {&model_, &ema_}) {
    for (const auto& p : (*module)->parameters()) tensors.push_back(p.detach());
    for (const auto& b : (*module)->buffers()) tensors.push_back(b.detach());
  }
  communicator_->broadcast(tensors, "the broadcast of the first process's weights");
}

LoaderOptions TrainingEngine::loader_options() const {
  LoaderOptions options = noisesched::loader_options(spec_.config);
  options.shard_begin = static_cast<int>(shard_begin_);
  options.shard_size = static_cast<int>(shard_end_ - shard_begin_);
  return options;
}

namespace {

// The device tensors of a step's inputs and outputs, in one order: what a recording reads and
// writes, refilled and copied out at each replay.
template <typename Inputs>
auto step_inputs(Inputs& in) {
  return std::array{&in.pixels, &in.eps, &in.table, &in.scalars};
}
std::array<at::Tensor*, 3> step_outputs(StepOutputs& out) {
  return {&out.loss, &out.grad_norm, &out.losses};
}

}  // namespace

// The captured steps: one graph per value of the host-side branch (whether self-conditioning's
// first pass runs), both reading the same static inputs and writing the same static outputs, and
// sharing one memory pool (they never run at the same time).
struct TrainingEngine::Graphs {
  // Steps of each branch run eagerly on the side stream before its capture (LibTorch's libraries
  // make their handles and workspaces lazily; they must exist before recording).
  int warmup_left[2] = {3, 3};
  StepInputs statics;
  StepOutputs outputs;
  std::unique_ptr<CudaGraph> by_first_pass[2];
  const CudaGraph* first = nullptr;  // the first captured, whose pool the other shares
  std::int64_t replays = 0;

  // Whether a step with these inputs can replay (the shapes the graphs were captured with).
  bool fits(const StepInputs& in) const {
    return !statics.pixels.defined() ||
           (in.pixels.sizes() == statics.pixels.sizes() && in.eps.sizes() == statics.eps.sizes());
  }
};

TrainingEngine::~TrainingEngine() = default;

std::int64_t TrainingEngine::cuda_graph_replays() const {
  return graphs_ != nullptr ? graphs_->replays : 0;
}

StepInputs TrainingEngine::prepare(const ByteBatch& bytes, std::int64_t step) {
  const std::uint64_t seed = static_cast<std::uint64_t>(spec_.config.train.seed);
  const auto step_seed = [&](std::uint64_t what) {
    return hash_values({seed, what, static_cast<std::uint64_t>(step)});
  };
  // Every draw is made for the whole batch of the step and this process keeps its share, so the
  // step is the same whatever the number of processes.
  // One process takes whatever batch it is given.
  const bool distributed = communicator_->world_size() > 1;
  const std::int64_t batch = bytes.size;
  const std::int64_t global = distributed ? spec_.config.train.batch_size : batch;
  const std::int64_t begin = distributed ? shard_begin_ : 0;
  if (distributed && batch != shard_end_ - shard_begin_) {
    throw Error("step " + std::to_string(step + 1) + ": a share of " + std::to_string(batch) +
                " examples, expected " + std::to_string(shard_end_ - shard_begin_));
  }
  const auto cpu_double = at::TensorOptions().dtype(at::kDouble);
  at::Generator times_gen = seeded_generator(at::kCPU, step_seed(purpose::kTrainTimes));
  at::Generator noise_gen = seeded_generator(device_, step_seed(purpose::kTrainNoise));
  at::Generator drop_gen = seeded_generator(at::kCPU, step_seed(purpose::kLabelDrop));
  at::Generator self_cond_gen = seeded_generator(at::kCPU, step_seed(purpose::kSelfCond));
  const auto mine = [&](const at::Tensor& whole) {
    return whole.narrow(0, begin, batch).contiguous();
  };

  StepInputs in;
  in.step = step;
  // The host side: one buffer of doubles, the table's rows then the update's numbers, copied to
  // the device at once (from pinned memory on CUDA, without waiting).
  const std::int64_t table_size = StepInputs::kRows * batch;
  const std::int64_t host_size =
      table_size + (device_scalars_ ? static_cast<std::int64_t>(kUpdateScalars) : 0);
  at::Tensor host = at::empty({host_size}, cpu_double.pinned_memory(device_.is_cuda()));
  double* rows = host.data_ptr<double>();
  const auto row = [&](std::int64_t r) { return rows + r * batch; };

  const at::Tensor t_tensor = mine(at::rand({global}, times_gen, cpu_double));
  const std::vector<double> t(t_tensor.data_ptr<double>(), t_tensor.data_ptr<double>() + batch);
  NoiseDraw draw = variances_at_times(spec_.diffusion, t);
  // The NoiseLevels rows come first in the table, in their own layout.
  write_noise_level_rows(draw.v, spec_.diffusion.scale, rows);
  for (std::int64_t i = 0; i < batch; ++i) {
    row(StepInputs::kLossWeight)[i] =
        spec_.loss_weighting.kind() == LossWeighting::Kind::kNone
            ? 1.0
            : spec_.loss_weighting.weight(spec_.diffusion.target, draw.logsnr[i],
                                          spec_.diffusion.scale);
  }
  at::Tensor drop;
  if (spec_.config.model.class_conditional) {
    drop = mine(at::rand({global}, drop_gen, cpu_double) < spec_.config.diffusion.label_dropout);
  }
  for (std::int64_t i = 0; i < batch; ++i) {
    const bool dropped = !spec_.config.model.class_conditional || drop.data_ptr<bool>()[i];
    row(StepInputs::kLabel)[i] =
        static_cast<double>(dropped ? null_class_ : bytes.labels[static_cast<std::size_t>(i)]);
  }
  // Whether any example of the whole batch is self-conditioned decides, on every process alike,
  // whether the first pass runs (read from the host tensor: nothing read through LibTorch).
  const at::Tensor self_cond_all =
      at::rand({global}, self_cond_gen, cpu_double) < spec_.config.diffusion.self_cond_rate;
  const bool* all_flags = self_cond_all.data_ptr<bool>();
  in.first_pass = spec_.diffusion.self_condition &&
                  std::any_of(all_flags, all_flags + global, [](bool on) { return on; });
  for (std::int64_t i = 0; i < batch; ++i) {
    row(StepInputs::kSelfCondMask)[i] = all_flags[begin + i] ? 1.0 : 0.0;
  }
  in.lr = spec_.config.optim.lr *
          spec_.lr_schedule.factor(step, spec_.config.optim.warmup_steps, spec_.config.train.steps);
  in.logsnr = std::move(draw.logsnr);
  if (device_scalars_) {
    double* scalars = rows + table_size;
    optimizer_.next_update(in.lr, scalars);
    scalars[kEmaWeight] =
        1.0 - ema_decay_at(spec_.config.optim.ema_decay, step, spec_.config.optim.ema_warmup);
  }
  const at::Tensor device_side = host.to(device_, /*non_blocking=*/true);
  // The bytes too go through pinned memory on CUDA: a copy from pageable memory would make the
  // host wait for the device (for the step before, still running).
  at::Tensor pixels =
      at::empty({bytes.size, bytes.channels, bytes.resolution, bytes.resolution},
                at::TensorOptions().dtype(at::kByte).pinned_memory(device_.is_cuda()));
  std::memcpy(pixels.data_ptr<std::uint8_t>(), bytes.pixels.data(), bytes.pixels.size());
  in.table = device_side.narrow(0, 0, table_size).view({StepInputs::kRows, batch});
  if (device_scalars_) {
    in.scalars = device_side.narrow(0, table_size, kUpdateScalars).to(at::kFloat);
  }
  in.pixels = pixels.to(device_, /*non_blocking=*/true);
  std::vector<std::int64_t> noise_shape = in.pixels.sizes().vec();
  noise_shape[0] = global;
  in.eps = mine(at::randn(noise_shape, noise_gen, at::TensorOptions().device(device_)));
  return in;
}

StepOutputs TrainingEngine::compute(const StepInputs& in) {
  const bool distributed = communicator_->world_size() > 1;
  const std::int64_t batch = in.pixels.size(0);
  const std::int64_t global = distributed ? spec_.config.train.batch_size : batch;
  const at::Tensor x0 = in.pixels.to(at::kFloat).div_(127.5).sub_(1.0).mul_(spec_.diffusion.scale);
  const NoiseLevels levels{in.table.narrow(0, 0, NoiseLevels::kRows)};
  const NoisedBatch noised = add_noise(levels, x0, in.eps);
  const at::Tensor labels = in.table.select(0, StepInputs::kLabel).to(at::kLong);
  at::Tensor self_cond;
  if (in.first_pass) {
    // A first pass without gradients; its latents (RIN) or clipped x0 (U-Net) condition the
    // trained pass for the selected examples, zeros for the others.
    torch::NoGradGuard no_grad;
    const at::Tensor signal =
        predict(*model_, spec_.diffusion, noised.z, levels, labels, at::Tensor(), {}).self_cond;
    std::vector<std::int64_t> shape(static_cast<std::size_t>(signal.dim()), 1);
    shape[0] = batch;
    self_cond =
        signal * in.table.select(0, StepInputs::kSelfCondMask).to(signal.scalar_type()).view(shape);
  }
  PredictOptions trained_pass;
  trained_pass.estimate = false;
  const at::Tensor output =
      predict(*model_, spec_.diffusion, noised.z, levels, labels, self_cond, trained_pass).output;
  const at::Tensor target = target_value(spec_.diffusion.target, x0, in.eps, noised.a, noised.s);
  at::Tensor per_example = (output - target).pow(2).flatten(1).mean(1);
  if (spec_.loss_weighting.kind() != LossWeighting::Kind::kNone) {
    per_example =
        per_example * in.table.select(0, StepInputs::kLossWeight).to(per_example.scalar_type());
  }
  // The mean over the whole batch: each process's sum over its share, divided by the batch
  // size, so that the summed gradients are those of the whole batch's mean.
  const at::Tensor loss =
      distributed ? per_example.sum() / static_cast<double>(global) : per_example.mean();

  // Nothing here reads a value on the host (on a GPU the host would wait for the device): the
  // loss, the per-example losses and the gradient norm stay on the device, where the trainer
  // accumulates them and reads them once per log interval (train/step_statistics.h). A non-finite
  // loss is found there, before anything of this step is saved.
  StepOutputs out;
  out.loss = loss.detach();
  out.losses = per_example.detach().to(at::kDouble);
  // Gradients set to none, not zeroed (LibTorch 2.x's default, 1.13's zeroes them): the backward
  // pass makes them afresh, inside a recording in the graph's pool.
  model_->zero_grad(/*set_to_none=*/true);
  loss.backward();
  if (distributed) {
    std::vector<at::Tensor> grads;
    for (auto& p : model_->parameters()) {
      if (!p.requires_grad()) continue;
      // A parameter this pass did not reach still takes part, as zeros, so that every process
      // reduces the same list.
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.grad());
    }
    communicator_->all_reduce_sum(grads,
                                  "the gradient all-reduce of step " + std::to_string(in.step + 1));
  }
  out.grad_norm =
      in.scalars.defined()
          ? update_weights(*model_, *ema_, optimizer_, spec_.config.optim, in.scalars)
          : update_weights(*model_, *ema_, optimizer_, spec_.config.optim, in.lr, in.step);
  return out;
}

bool TrainingEngine::replay_step(const StepInputs& in, StepOutputs& out) {
  Graphs& g = *graphs_;
  if (!g.statics.pixels.defined()) {
    // The tensors every graph reads and writes, made once, outside any recording.
    g.statics = in;
    for (at::Tensor* t : step_inputs(g.statics)) *t = t->clone();
    const auto options = at::TensorOptions().device(device_);
    g.outputs.loss = at::zeros({}, options);
    g.outputs.grad_norm = at::zeros({}, options);
    g.outputs.losses = at::zeros({in.pixels.size(0)}, options.dtype(at::kDouble));
  }
  std::unique_ptr<CudaGraph>& graph = g.by_first_pass[in.first_pass ? 1 : 0];
  if (graph == nullptr) {
    // The gradients are made by the recorded backward pass, in the graph's pool, so that no
    // eager step's gradients are added into.
    for (auto& p : model_->parameters()) p.mutable_grad() = at::Tensor();
    StepInputs recorded = g.statics;
    recorded.first_pass = in.first_pass;
    auto captured = std::make_unique<CudaGraph>(device_);
    try {
      captured->capture(
          [&] {
            StepOutputs o = compute(recorded);
            const auto computed = step_outputs(o), kept = step_outputs(g.outputs);
            for (std::size_t i = 0; i < kept.size(); ++i) kept[i]->copy_(*computed[i]);
          },
          g.first);
    } catch (const std::exception& e) {
      if (spec_.cuda_graphs == CudaGraphs::kOn) throw;
      // auto: train on without graphs, and say so where the run reports its settings.
      graphs_note_ = std::string("off (the capture failed: ") + e.what() + ")";
      graphs_.reset();
      return false;
    }
    graph = std::move(captured);
    if (g.first == nullptr) g.first = graph.get();
  }
  const auto given = step_inputs(in);
  const auto statics = step_inputs(g.statics);
  for (std::size_t i = 0; i < given.size(); ++i) {
    statics[i]->copy_(*given[i], /*non_blocking=*/true);
  }
  graph->replay();
  ++g.replays;
  // The next replay overwrites the outputs: the step's result keeps copies.
  const auto kept = step_outputs(g.outputs), result = step_outputs(out);
  for (std::size_t i = 0; i < kept.size(); ++i) *result[i] = kept[i]->clone();
  return true;
}

void TrainingEngine::set_device_scalars(bool on) {
  if (!on && graphs_ != nullptr) {
    throw Error("the update's numbers must come from the device while steps replay CUDA graphs");
  }
  device_scalars_ = on;
}

StepResult TrainingEngine::step(const ByteBatch& bytes, std::int64_t step) {
  const StepInputs in = prepare(bytes, step);
  StepOutputs out;
  const int branch = in.first_pass ? 1 : 0;
  if (graphs_ == nullptr || !graphs_->fits(in)) {
    out = compute(in);
  } else if (graphs_->warmup_left[branch] > 0) {
    --graphs_->warmup_left[branch];
    CudaGraph::run_beside(device_, [&] { out = compute(in); });
  } else if (!replay_step(in, out)) {
    out = compute(in);  // the capture failed and graphs are off from now on (graphs_note_)
  }
  StepResult result;
  result.loss = out.loss;
  result.losses = out.losses;
  result.grad_norm = out.grad_norm;
  result.lr = in.lr;
  result.logsnr = in.logsnr;
  return result;
}

double StepResult::loss_value() const { return loss.item<double>(); }

double StepResult::grad_norm_value() const { return grad_norm.item<double>(); }

std::vector<double> StepResult::loss_values() const {
  const at::Tensor host = losses.to(at::kCPU, at::kDouble).contiguous();
  return {host.data_ptr<double>(), host.data_ptr<double>() + host.numel()};
}

void TrainingEngine::load(const LoadedCheckpoint& checkpoint) {
  load_module_tensors(*model_, checkpoint.model, checkpoint.path + "/model.safetensors");
  load_module_tensors(*ema_, checkpoint.ema, checkpoint.path + "/ema.safetensors");
  optimizer_.load_state(checkpoint.optimizer, checkpoint.step);
}

CheckpointContent TrainingEngine::checkpoint_content(std::int64_t step,
                                                     const CheckpointState& state) const {
  CheckpointContent content;
  content.step = step;
  content.config = spec_.config;
  content.state = state;
  content.model = module_tensors(*model_);
  content.ema = module_tensors(*ema_);
  content.optimizer = optimizer_.state();
  return content;
}

double TrainingEngine::flops_per_step() const {
  const double passes = spec_.config.diffusion.self_cond_rate > 0 ? 4.0 : 3.0;
  return passes * model_->forward_flops_per_example() * spec_.config.train.batch_size;
}

}  // namespace noisesched
