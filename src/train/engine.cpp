// One training step (see engine.h).
#include "noisesched/train/engine.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "noisesched/common/error.h"
#include "noisesched/common/launch.h"
#include "noisesched/common/numbers.h"
#include "noisesched/common/random.h"
#include "noisesched/common/random_purpose.h"
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

at::Tensor batch_to_tensor(const ByteBatch& batch, const c10::Device& device, double scale) {
  return at::from_blob(const_cast<std::uint8_t*>(batch.pixels.data()),
                       {batch.size, batch.channels, batch.resolution, batch.resolution},
                       at::TensorOptions().dtype(at::kByte))
      .to(device)
      .to(at::kFloat)
      .div_(127.5)
      .sub_(1.0)
      .mul_(scale);
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

StepResult TrainingEngine::step(const ByteBatch& bytes, std::int64_t step) {
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
  const auto mine = [&](const at::Tensor& whole) { return whole.narrow(0, begin, batch); };

  const at::Tensor x0 = batch_to_tensor(bytes, device_, spec_.diffusion.scale);
  const at::Tensor t_tensor = mine(at::rand({global}, times_gen, cpu_double)).contiguous();
  const std::vector<double> t(t_tensor.data_ptr<double>(), t_tensor.data_ptr<double>() + batch);
  std::vector<std::int64_t> noise_shape = x0.sizes().vec();
  noise_shape[0] = global;
  const at::Tensor eps = mine(at::randn(noise_shape, noise_gen, x0.options()));
  at::Tensor labels = at::tensor(bytes.labels, at::TensorOptions().dtype(at::kLong));
  if (spec_.config.model.class_conditional) {
    const at::Tensor drop =
        mine(at::rand({global}, drop_gen, cpu_double) < spec_.config.diffusion.label_dropout);
    labels = at::where(drop, at::full_like(labels, null_class_), labels);
  } else {
    labels = at::full_like(labels, null_class_);
  }
  labels = labels.to(device_);
  // Whether any example of the whole batch is self-conditioned decides, on every process alike,
  // whether the first pass runs.
  const at::Tensor self_cond_all =
      at::rand({global}, self_cond_gen, cpu_double) < spec_.config.diffusion.self_cond_rate;
  const at::Tensor self_cond_mask = mine(self_cond_all);

  const NoisedBatch noised = add_noise(spec_.diffusion, x0, t, eps);
  at::Tensor self_cond;
  // Read on the host from the host tensor: no value read through LibTorch (a sync on a GPU).
  const bool* self_cond_flags = self_cond_all.data_ptr<bool>();
  if (spec_.diffusion.self_condition &&
      std::any_of(self_cond_flags, self_cond_flags + global, [](bool on) { return on; })) {
    // A first pass without gradients; its latents (RIN) or clipped x0 (U-Net) condition the
    // trained pass for the selected examples, zeros for the others.
    torch::NoGradGuard no_grad;
    const at::Tensor signal =
        predict(*model_, spec_.diffusion, noised.z, noised.v, labels, at::Tensor(), {}).self_cond;
    std::vector<std::int64_t> shape(static_cast<std::size_t>(signal.dim()), 1);
    shape[0] = batch;
    self_cond = signal * self_cond_mask.to(device_, signal.scalar_type()).view(shape);
  }
  PredictOptions trained_pass;
  trained_pass.estimate = false;
  const at::Tensor output =
      predict(*model_, spec_.diffusion, noised.z, noised.v, labels, self_cond, trained_pass).output;
  const at::Tensor target = target_value(spec_.diffusion.target, x0, eps, noised.a, noised.s);
  at::Tensor per_example = (output - target).pow(2).flatten(1).mean(1);
  if (spec_.loss_weighting.kind() != LossWeighting::Kind::kNone) {
    std::vector<double> weights(noised.logsnr.size());
    for (std::size_t i = 0; i < weights.size(); ++i) {
      weights[i] = spec_.loss_weighting.weight(spec_.diffusion.target, noised.logsnr[i],
                                               spec_.diffusion.scale);
    }
    per_example =
        per_example * at::tensor(weights, cpu_double).to(device_, per_example.scalar_type());
  }
  // The mean over the whole batch: each process's sum over its share, divided by the batch
  // size, so that the summed gradients are those of the whole batch's mean.
  const at::Tensor loss =
      distributed ? per_example.sum() / static_cast<double>(global) : per_example.mean();

  // Nothing here reads a value on the host (on a GPU the host would wait for the device): the
  // loss, the per-example losses and the gradient norm stay on the device, where the trainer
  // accumulates them and reads them once per log interval (train/step_statistics.h). A non-finite
  // loss is found there, before anything of this step is saved.
  StepResult result;
  result.loss = loss.detach();
  result.losses = per_example.detach().to(at::kDouble);
  result.logsnr = noised.logsnr;
  model_->zero_grad();
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
                                  "the gradient all-reduce of step " + std::to_string(step + 1));
  }
  result.lr =
      spec_.config.optim.lr *
      spec_.lr_schedule.factor(step, spec_.config.optim.warmup_steps, spec_.config.train.steps);
  result.grad_norm =
      update_weights(*model_, *ema_, optimizer_, spec_.config.optim, result.lr, step);
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
