// noisesched/optim/optimizer.h: LAMB and AdamW, gradient clipping, and the EMA of the weights.
//
// LAMB (You et al. 2019, Algorithm 2): Adam moments with bias correction,
//   u = m_hat / (sqrt(v_hat) + eps) + wd w,  r = ||w|| / ||u|| (1 when either norm is 0),
//   w -= lr r u.
// Parameters with fewer than 2 dimensions (biases, normalisation gains and offsets) get no weight
// decay and r = 1. AdamW (Loshchilov & Hutter 2019): w -= lr (m_hat / (sqrt(v_hat) + eps) + wd w).
// All arithmetic stays on the parameters' device; nothing is read on the host.
//
// Multi-tensor update: the moments live in two flat buffers (matrix-like parameters first), each
// parameter's moments a view into them, so that the elementwise work is a fixed number of
// operations on whole buffers or LibTorch's `_foreach_*` operations over all parameters at once,
// the per-tensor norms of LAMB one `_foreach_norm` each, and the trust ratios are spread over the
// flat update by `repeat_interleave`. The number of operations an update dispatches is the same
// for 10 parameter tensors or 1000 (on a GPU: a fixed number of kernel launches, where one launch
// per tensor per operation made a small model launch-bound). On the CPU it computes bit for bit
// what the per-tensor loop computes (the same elementwise operations in the same order); on CUDA
// the _foreach_ kernels round a little differently (within float rounding). The loop remains for
// a step where some parameter has no gradient, and for tests (`multi_tensor = false`).
//
// Fused AdamW: where LibTorch has `at::_fused_adamw_` (2.x; its CPU kernel from 2.4; found by a
// configure check), AdamW's whole update is one kernel per group (matrices with weight decay,
// the rest without) instead of the multi-tensor operations. It computes the same update in a
// different order (decoupled decay w (1 - lr wd), then the Adam step; bias corrections in the
// kernel), so it agrees with the loop to float rounding, not bit for bit: by default it runs on
// CUDA only, and the CPU keeps the multi-tensor path (bit for bit the loop's, so resume stays
// exact there).
//
// Device scalars: step(const at::Tensor&) takes the update's per-step numbers (learning rate, bias
// corrections, step count; UpdateScalar) from a small tensor on the parameters' device instead of
// from host doubles, so the update reads nothing from the host and a CUDA graph that captured it
// once replays it with the numbers of each step (train/engine.h). The host part, next_update(),
// counts the step and writes those numbers. The arithmetic is the same; where the host form
// multiplies by lr inside an operation (`w -= lr u` as one _foreach_sub_ with alpha), the device
// form scales u first, so the two agree to float rounding (tested), not bit for bit.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <map>
#include <string>
#include <vector>

#include "noisesched/config/enums.h"
#include "noisesched/io/safetensors.h"

namespace noisesched {

// When AdamW uses LibTorch's fused kernel (above): kAuto on CUDA where LibTorch has it, kOn
// wherever LibTorch has it (an error where it has not), kOff never.
enum class FusedAdamW { kAuto, kOn, kOff };

// Positions in the device-scalar tensor of an update (float32 [kUpdateScalars]).
enum UpdateScalar : std::int64_t {
  kLr,           // learning rate
  kCorrection1,  // 1 - beta1^t
  kCorrection2,  // 1 - beta2^t
  kStepCount,    // t, the 1-based number of this update (fused AdamW's kernel reads it)
  kEmaWeight,    // 1 - the EMA decay of this step (ema_update with a tensor)
  kUpdateScalars
};

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kLamb;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
  // The multi-tensor update (above); false: one parameter at a time, the reference.
  bool multi_tensor = true;
  // AdamW's fused kernel (only with multi_tensor).
  FusedAdamW fused = FusedAdamW::kAuto;
};

class Optimizer {
 public:
  Optimizer(const torch::nn::Module& module, OptimizerOptions options);

  // One update with learning rate `lr` from the parameters' .grad().
  void step(double lr);

  // The same in two parts (device scalars, above): next_update() counts the update and writes
  // out[kLr], out[kCorrection1], out[kCorrection2] and out[kStepCount] on the host; step(scalars)
  // applies it from those numbers as a float32 tensor [kUpdateScalars] on the parameters' device.
  void next_update(double lr, double* out);
  void step(const at::Tensor& scalars);

  // Whether this LibTorch has the fused AdamW kernel for `device` (the configure check; on the
  // CPU also LibTorch >= 2.4, where its CPU kernel came).
  static bool fused_adamw_available(const c10::Device& device);
  // The update step() runs when every parameter has a gradient: "fused", "multi-tensor" or
  // "per-tensor".
  const char* update_path() const;

  // Whether a parameter gets weight decay and the trust ratio (dims >= 2).
  static bool is_matrix_like(const at::Tensor& parameter) { return parameter.dim() >= 2; }

  std::int64_t steps() const { return steps_; }
  // Moments as "m/<name>" and "v/<name>" for checkpoints.
  NamedTensors state() const;
  // Restores state() output; throws naming a missing or mis-shaped moment.
  void load_state(const std::map<std::string, at::Tensor>& tensors, std::int64_t steps);

 private:
  // The update with its numbers as host doubles (Number = double) or device tensors (at::Tensor).
  template <typename Number>
  void apply(const Number& lr, const Number& correction1, const Number& correction2,
             const at::Tensor& step_count);
  template <typename Number>
  void step_per_tensor(const Number& lr, const Number& correction1, const Number& correction2);
  // False when some parameter has no gradient this step (the per-tensor loop then runs).
  template <typename Number>
  bool step_multi_tensor(const Number& lr, const Number& correction1, const Number& correction2);
  // The multi-tensor gradients in layout order; false when some parameter has none.
  bool layout_grads(std::vector<at::Tensor>& grads) const;
  // AdamW through at::_fused_adamw_; false when some parameter has no gradient. `step_count`: the
  // 1-based step number as a float32 0-d tensor on the device (undefined: steps_ from the host).
  template <typename Number>
  bool step_fused(const Number& lr, const at::Tensor& step_count);

  OptimizerOptions options_;
  std::vector<std::pair<std::string, at::Tensor>> parameters_;  // the module's order
  std::vector<at::Tensor> m_, v_;  // per parameter (views into the flat buffers when flat_)
  std::int64_t steps_ = 0;

  // The flat layout (when every parameter shares one device and dtype): position k of the
  // buffers holds parameter order_[k]; the first `matrices_` are the matrix-like ones.
  bool flat_ = false;
  at::Tensor m_flat_, v_flat_, u_flat_;
  std::vector<std::size_t> order_;
  std::size_t matrices_ = 0;
  std::int64_t matrix_numel_ = 0;
  at::Tensor matrix_numels_;  // int64, one entry per matrix-like parameter, on their device
  std::vector<at::Tensor> w_list_, m_list_, v_list_, u_list_;  // in layout order
  bool fused_ = false;                                         // step() uses step_fused
  at::Tensor step_count_;  // fused: the step number as a float32 0-d tensor on the device
};

// The number of operations one update dispatches does not depend on the number of parameter
// tensors for the three functions below either (the `_foreach_*` operations). On a LibTorch
// without `_foreach_lerp_` or a tensor-scaled `_foreach_mul_` (1.13) the same results come from
// two or three list operations.

// Scales all gradients so their global L2 norm is at most max_norm (when max_norm > 0) and returns
// the norm before clipping as a 0-d tensor on the parameters' device.
at::Tensor clip_grad_norm(const torch::nn::Module& module, double max_norm);

// EMA decay at a step: min(decay, (1 + step) / (10 + step)) with warm-up, else decay.
double ema_decay_at(double decay, std::int64_t step, bool warmup);

// target <- target + (1 - decay) (source - target), every parameter (same architecture).
void ema_update(torch::nn::Module& target, const torch::nn::Module& source, double decay);

// The same with the weight 1 - decay a 0-d float32 tensor on the parameters' device (nothing read
// on the host; the same products as the form above on LibTorch 1.13, float rounding on 2.x).
void ema_update(torch::nn::Module& target, const torch::nn::Module& source,
                const at::Tensor& weight);

// Copies every parameter and buffer of source into target (same architecture).
void copy_weights(torch::nn::Module& target, const torch::nn::Module& source);

}  // namespace noisesched
