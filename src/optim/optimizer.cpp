// LAMB, AdamW, clipping and EMA (see optimizer.h).
#include "noisesched/optim/optimizer.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>

#include "noisesched/common/error.h"

namespace noisesched {

namespace {

std::vector<at::Tensor> defined_grads(const torch::nn::Module& module) {
  std::vector<at::Tensor> grads;
  for (const auto& p : module.parameters()) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  return grads;
}

// Every tensor of `tensors` times the 0-d tensor `scale`, in one list operation (LibTorch 2.1 added
// the form with one tensor; before it, a list of that tensor gives the same products).
void foreach_scale(std::vector<at::Tensor>& tensors, const at::Tensor& scale) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  at::_foreach_mul_(tensors, scale);
#else
  at::_foreach_mul_(tensors, std::vector<at::Tensor>(tensors.size(), scale));
#endif
}

// w -= lr u, for the update's numbers on the host (one operation with lr as its factor) or on the
// device (u scaled first; u's tensors are elements [begin, end) of the flat buffer `u_flat`).
void subtract_scaled(at::TensorList w, at::TensorList u, const at::Tensor& /*u_flat*/,
                     std::int64_t /*begin*/, std::int64_t /*end*/, double lr) {
  at::_foreach_sub_(w, u, lr);
}
void subtract_scaled(at::TensorList w, at::TensorList u, const at::Tensor& u_flat,
                     std::int64_t begin, std::int64_t end, const at::Tensor& lr) {
  u_flat.narrow(0, begin, end - begin).mul_(lr);
  at::_foreach_sub_(w, u);
}
void subtract_scaled(at::Tensor& w, const at::Tensor& u, double lr) { w.sub_(u, lr); }
void subtract_scaled(at::Tensor& w, const at::Tensor& u, const at::Tensor& lr) { w.sub_(u * lr); }

}  // namespace

Optimizer::Optimizer(const torch::nn::Module& module, OptimizerOptions options)
    : options_(options) {
  for (const auto& item : module.named_parameters()) {
    parameters_.emplace_back(item.key(), item.value());
  }
  flat_ = !parameters_.empty();
  for (const auto& [name, w] : parameters_) {
    flat_ = flat_ && w.options().device() == parameters_[0].second.options().device() &&
            w.scalar_type() == parameters_[0].second.scalar_type();
  }
  if (!flat_) {
    for (const auto& [name, w] : parameters_) {
      m_.push_back(at::zeros_like(w));
      v_.push_back(at::zeros_like(w));
    }
    return;
  }
  // Matrix-like parameters first, each group in the module's order.
  for (const bool matrix : {true, false}) {
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      if (is_matrix_like(parameters_[i].second) == matrix) order_.push_back(i);
    }
    if (matrix) matrices_ = order_.size();
  }
  std::int64_t total = 0;
  std::vector<std::int64_t> matrix_numels;
  for (std::size_t k = 0; k < order_.size(); ++k) {
    const std::int64_t numel = parameters_[order_[k]].second.numel();
    if (k < matrices_) {
      matrix_numels.push_back(numel);
      matrix_numel_ += numel;
    }
    total += numel;
  }
  const at::Tensor& first = parameters_[0].second;
  m_flat_ = at::zeros({total}, first.options());
  v_flat_ = at::zeros({total}, first.options());
  u_flat_ = at::zeros({total}, first.options());
  matrix_numels_ = at::tensor(matrix_numels, at::kLong).to(first.device());
  if (options_.kind == OptimizerKind::kAdamW && options_.multi_tensor) {
    const bool available = fused_adamw_available(first.device());
    if (options_.fused == FusedAdamW::kOn && !available) {
      throw Error("fused AdamW: this LibTorch (" TORCH_VERSION ") has no at::_fused_adamw_ for " +
                  first.device().str() + "; use the multi-tensor update");
    }
    fused_ = available && (options_.fused == FusedAdamW::kOn ||
                           (options_.fused == FusedAdamW::kAuto && first.is_cuda()));
    if (fused_) step_count_ = at::zeros({}, first.options().dtype(at::kFloat));
  }
  m_.resize(parameters_.size());
  v_.resize(parameters_.size());
  std::int64_t offset = 0;
  for (const std::size_t i : order_) {
    const at::Tensor& w = parameters_[i].second;
    m_[i] = m_flat_.narrow(0, offset, w.numel()).view(w.sizes());
    v_[i] = v_flat_.narrow(0, offset, w.numel()).view(w.sizes());
    w_list_.push_back(w);
    m_list_.push_back(m_[i]);
    v_list_.push_back(v_[i]);
    u_list_.push_back(u_flat_.narrow(0, offset, w.numel()).view(w.sizes()));
    offset += w.numel();
  }
}

bool Optimizer::fused_adamw_available(const c10::Device& device) {
  constexpr bool cpu_kernel =
      TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4);
  return NOISESCHED_HAVE_FUSED_ADAMW && (device.is_cuda() || cpu_kernel);
}

const char* Optimizer::update_path() const {
  if (options_.multi_tensor && flat_) return fused_ ? "fused" : "multi-tensor";
  return "per-tensor";
}

bool Optimizer::layout_grads(std::vector<at::Tensor>& grads) const {
  grads.clear();
  grads.reserve(order_.size());
  for (const std::size_t i : order_) {
    const at::Tensor& g = parameters_[i].second.grad();
    if (!g.defined()) return false;
    grads.push_back(g);
  }
  return true;
}

template <typename Number>
bool Optimizer::step_fused(const Number& lr, const at::Tensor& step_count) {
#if NOISESCHED_HAVE_FUSED_ADAMW
  std::vector<at::Tensor> grads;
  if (!layout_grads(grads)) return false;
  // The kernel reads the step number for its bias corrections from a tensor (one per parameter;
  // the same tensor serves all): filled on the device, nothing read back.
  if (step_count.defined()) {
    step_count_.copy_(step_count);
  } else {
    step_count_.fill_(static_cast<double>(steps_));
  }
  const auto group = [&](std::size_t begin, std::size_t end, double decay) {
    if (begin == end) return;
    const auto part = [&](const std::vector<at::Tensor>& list) {
      return std::vector<at::Tensor>(list.begin() + begin, list.begin() + end);
    };
    at::_fused_adamw_(part(w_list_), part(grads), part(m_list_), part(v_list_),
                      /*max_exp_avg_sqs=*/{}, std::vector<at::Tensor>(end - begin, step_count_), lr,
                      options_.beta1, options_.beta2, decay, options_.eps, /*amsgrad=*/false,
                      /*maximize=*/false);
  };
  group(0, matrices_, options_.weight_decay);
  group(matrices_, order_.size(), 0.0);
  return true;
#else
  (void)lr;
  (void)step_count;
  return false;
#endif
}

void Optimizer::step(double lr) {
  torch::NoGradGuard no_grad;
  double numbers[kUpdateScalars] = {};
  next_update(lr, numbers);
  apply(numbers[kLr], numbers[kCorrection1], numbers[kCorrection2], at::Tensor());
}

void Optimizer::next_update(double lr, double* out) {
  ++steps_;
  out[kLr] = lr;
  out[kCorrection1] = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  out[kCorrection2] = 1.0 - std::pow(options_.beta2, static_cast<double>(steps_));
  out[kStepCount] = static_cast<double>(steps_);
}

void Optimizer::step(const at::Tensor& scalars) {
  torch::NoGradGuard no_grad;
  if (scalars.dim() != 1 || scalars.size(0) != kUpdateScalars ||
      scalars.scalar_type() != at::kFloat) {
    throw Error("Optimizer::step: the update's numbers must be a float32 tensor of " +
                std::to_string(kUpdateScalars) + " values");
  }
  apply(scalars.select(0, kLr), scalars.select(0, kCorrection1), scalars.select(0, kCorrection2),
        scalars.select(0, kStepCount));
}

template <typename Number>
void Optimizer::apply(const Number& lr, const Number& correction1, const Number& correction2,
                      const at::Tensor& step_count) {
  if (fused_ && step_fused(lr, step_count)) return;
  if (options_.multi_tensor && flat_ && step_multi_tensor(lr, correction1, correction2)) return;
  step_per_tensor(lr, correction1, correction2);
}

template <typename Number>
void Optimizer::step_per_tensor(const Number& lr, const Number& correction1,
                                const Number& correction2) {
  const double b1 = options_.beta1, b2 = options_.beta2;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    at::Tensor& w = parameters_[i].second;
    const at::Tensor& g = w.grad();
    if (!g.defined()) continue;
    m_[i].mul_(b1).add_(g, 1.0 - b1);
    v_[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
    // u = m_hat / (sqrt(v_hat) + eps)
    at::Tensor u = (m_[i] / correction1) / ((v_[i] / correction2).sqrt_().add_(options_.eps));
    const bool matrix = is_matrix_like(w);
    if (matrix && options_.weight_decay > 0) u.add_(w, options_.weight_decay);
    if (options_.kind == OptimizerKind::kLamb && matrix) {
      const at::Tensor w_norm = at::linalg_vector_norm(w);
      const at::Tensor u_norm = at::linalg_vector_norm(u);
      const at::Tensor trust =
          at::where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, at::ones_like(w_norm));
      w.sub_(u * (trust * lr));
    } else {
      subtract_scaled(w, u, lr);
    }
  }
}

template <typename Number>
bool Optimizer::step_multi_tensor(const Number& lr, const Number& correction1,
                                  const Number& correction2) {
  std::vector<at::Tensor> grads;
  if (!layout_grads(grads)) return false;
  const double b1 = options_.beta1, b2 = options_.beta2;
  // The same elementwise operations as step_per_tensor, on all parameters at once: the operations
  // with a fused multiply-add (add and addcmul with a factor) stay per tensor through _foreach_,
  // so their rounding is the loop's; the rest are exact per element wherever they run.
  m_flat_.mul_(b1);
  at::_foreach_add_(m_list_, grads, 1.0 - b1);
  v_flat_.mul_(b2);
  at::_foreach_addcmul_(v_list_, grads, grads, 1.0 - b2);
  u_flat_.copy_(m_flat_).div_(correction1);
  u_flat_.div_(v_flat_.div(correction2).sqrt_().add_(options_.eps));
  const at::TensorList w_matrix = at::TensorList(w_list_).slice(0, matrices_);
  const at::TensorList u_matrix = at::TensorList(u_list_).slice(0, matrices_);
  const at::TensorList w_vector = at::TensorList(w_list_).slice(matrices_);
  const at::TensorList u_vector = at::TensorList(u_list_).slice(matrices_);
  if (matrices_ > 0 && options_.weight_decay > 0) {
    at::_foreach_add_(u_matrix, w_matrix, options_.weight_decay);
  }
  if (options_.kind == OptimizerKind::kLamb && matrices_ > 0) {
    const at::Tensor w_norms = at::stack(at::_foreach_norm(w_matrix));
    const at::Tensor u_norms = at::stack(at::_foreach_norm(u_matrix));
    const at::Tensor trust =
        at::where((w_norms > 0) & (u_norms > 0), w_norms / u_norms, at::ones_like(w_norms));
    // Each matrix's lr r spread over its elements; the output size is given, so nothing is read.
    const at::Tensor scale =
        at::repeat_interleave(trust * lr, matrix_numels_, /*dim=*/0, matrix_numel_);
    u_flat_.narrow(0, 0, matrix_numel_).mul_(scale);
    at::_foreach_sub_(w_matrix, u_matrix);
    if (!w_vector.empty()) {
      subtract_scaled(w_vector, u_vector, u_flat_, matrix_numel_, u_flat_.size(0), lr);
    }
  } else {
    subtract_scaled(w_list_, u_list_, u_flat_, 0, u_flat_.size(0), lr);
  }
  return true;
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    out.emplace_back("m/" + parameters_[i].first, m_[i]);
    out.emplace_back("v/" + parameters_[i].first, v_[i]);
  }
  return out;
}

void Optimizer::load_state(const std::map<std::string, at::Tensor>& tensors, std::int64_t steps) {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    for (auto* moment : {&m_[i], &v_[i]}) {
      const std::string name = (moment == &m_[i] ? "m/" : "v/") + parameters_[i].first;
      const auto it = tensors.find(name);
      if (it == tensors.end()) throw Error("optimizer state: '" + name + "' is missing");
      if (it->second.sizes() != moment->sizes()) {
        throw Error("optimizer state: '" + name + "' has the wrong shape");
      }
      moment->copy_(it->second);
    }
  }
  if (tensors.size() != 2 * parameters_.size()) {
    throw Error("optimizer state: " + std::to_string(tensors.size()) + " moments for " +
                std::to_string(parameters_.size()) + " parameters");
  }
  steps_ = steps;
}

at::Tensor clip_grad_norm(const torch::nn::Module& module, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> grads = defined_grads(module);
  if (grads.empty()) return at::zeros({});
  const at::Tensor norm = at::linalg_vector_norm(at::stack(at::_foreach_norm(grads)));
  if (max_norm > 0) foreach_scale(grads, (max_norm / (norm + 1e-6)).clamp_max(1.0));
  return norm;
}

double ema_decay_at(double decay, std::int64_t step, bool warmup) {
  if (!warmup) return decay;
  return std::min(decay, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
}

void ema_update(torch::nn::Module& target, const torch::nn::Module& source, double decay) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> to = target.parameters();
  const std::vector<at::Tensor> from = source.parameters();
  if (to.empty()) return;
#if TORCH_VERSION_MAJOR >= 2
  at::_foreach_lerp_(to, from, 1.0 - decay);
#else
  // lerp for weights under 1/2: target + w (source - target), exactly target where they agree.
  std::vector<at::Tensor> step = at::_foreach_sub(from, to);
  at::_foreach_mul_(step, 1.0 - decay);
  at::_foreach_add_(to, step);
#endif
}

void ema_update(torch::nn::Module& target, const torch::nn::Module& source,
                const at::Tensor& weight) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> to = target.parameters();
  const std::vector<at::Tensor> from = source.parameters();
  if (to.empty()) return;
  // target + w (source - target): lerp's formula for weights under 1/2.
  std::vector<at::Tensor> step = at::_foreach_sub(from, to);
  foreach_scale(step, weight);
  at::_foreach_add_(to, step);
}

void copy_weights(torch::nn::Module& target, const torch::nn::Module& source) {
  torch::NoGradGuard no_grad;
  const auto to = target.parameters();
  const auto from = source.parameters();
  for (std::size_t i = 0; i < to.size(); ++i) to[i].copy_(from[i]);
  const auto to_buffers = target.buffers();
  const auto from_buffers = source.buffers();
  for (std::size_t i = 0; i < to_buffers.size(); ++i) to_buffers[i].copy_(from_buffers[i]);
}

}  // namespace noisesched
