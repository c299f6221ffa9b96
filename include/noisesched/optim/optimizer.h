// noisesched/optim/optimizer.h: LAMB and AdamW, gradient clipping, and the EMA of the weights.
//
// LAMB (You et al. 2019, Algorithm 2): Adam moments with bias correction,
//   u = m_hat / (sqrt(v_hat) + eps) + wd w,  r = ||w|| / ||u|| (1 when either norm is 0),
//   w -= lr r u.
// Parameters with fewer than 2 dimensions (biases, normalisation gains and offsets) get no weight
// decay and r = 1. AdamW (Loshchilov & Hutter 2019): w -= lr (m_hat / (sqrt(v_hat) + eps) + wd w).
// All arithmetic stays on the parameters' device (no host synchronisation per parameter).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <map>
#include <string>
#include <vector>

#include "noisesched/config/enums.h"
#include "noisesched/io/safetensors.h"

namespace noisesched {

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kLamb;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

class Optimizer {
 public:
  Optimizer(const torch::nn::Module& module, OptimizerOptions options);

  // One update with learning rate `lr` from the parameters' .grad().
  void step(double lr);

  // Whether a parameter gets weight decay and the trust ratio (dims >= 2).
  static bool is_matrix_like(const at::Tensor& parameter) { return parameter.dim() >= 2; }

  std::int64_t steps() const { return steps_; }
  // Moments as "m/<name>" and "v/<name>" for checkpoints.
  NamedTensors state() const;
  // Restores state() output; throws naming a missing or mis-shaped moment.
  void load_state(const std::map<std::string, at::Tensor>& tensors, std::int64_t steps);

 private:
  OptimizerOptions options_;
  std::vector<std::pair<std::string, at::Tensor>> parameters_;
  std::vector<at::Tensor> m_, v_;
  std::int64_t steps_ = 0;
};

// Scales all gradients so their global L2 norm is at most max_norm (when max_norm > 0) and returns
// the norm before clipping as a 0-d tensor on the parameters' device.
at::Tensor clip_grad_norm(const torch::nn::Module& module, double max_norm);

// EMA decay at a step: min(decay, (1 + step) / (10 + step)) with warm-up, else decay.
double ema_decay_at(double decay, std::int64_t step, bool warmup);

// target <- decay target + (1 - decay) source, parameter by parameter (same architecture).
void ema_update(torch::nn::Module& target, const torch::nn::Module& source, double decay);

// Copies every parameter and buffer of source into target (same architecture).
void copy_weights(torch::nn::Module& target, const torch::nn::Module& source);

// Parameters and buffers by name, for checkpoints.
NamedTensors module_tensors(const torch::nn::Module& module);

// Loads named tensors into a module; names and shapes must match exactly (the error lists the
// first missing, unexpected or mis-shaped names).
void load_module_tensors(torch::nn::Module& module,
                         const std::map<std::string, at::Tensor>& tensors,
                         const std::string& source);

}  // namespace noisesched
