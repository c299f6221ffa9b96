// LAMB, AdamW, clipping and EMA (see optimizer.h).
#include "noisesched/optim/optimizer.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>

#include "noisesched/common/error.h"

namespace noisesched {

Optimizer::Optimizer(const torch::nn::Module& module, OptimizerOptions options)
    : options_(options) {
  for (const auto& item : module.named_parameters()) {
    parameters_.emplace_back(item.key(), item.value());
    m_.push_back(at::zeros_like(item.value()));
    v_.push_back(at::zeros_like(item.value()));
  }
}

void Optimizer::step(double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double correction1 = 1.0 - std::pow(b1, static_cast<double>(steps_));
  const double correction2 = 1.0 - std::pow(b2, static_cast<double>(steps_));
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
      const at::Tensor w_norm = w.norm();
      const at::Tensor u_norm = u.norm();
      const at::Tensor trust =
          at::where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, at::ones_like(w_norm));
      w.sub_(u * (trust * lr));
    } else {
      w.sub_(u, lr);
    }
  }
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
  std::vector<at::Tensor> squares;
  for (const auto& p : module.parameters()) {
    if (p.grad().defined()) squares.push_back(p.grad().pow(2).sum());
  }
  if (squares.empty()) return at::zeros({});
  const at::Tensor norm = at::stack(squares).sum().sqrt();
  if (max_norm > 0) {
    const at::Tensor scale = (max_norm / (norm + 1e-6)).clamp_max(1.0);
    for (const auto& p : module.parameters()) {
      if (p.grad().defined()) p.grad().mul_(scale);
    }
  }
  return norm;
}

double ema_decay_at(double decay, std::int64_t step, bool warmup) {
  if (!warmup) return decay;
  return std::min(decay, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
}

void ema_update(torch::nn::Module& target, const torch::nn::Module& source, double decay) {
  torch::NoGradGuard no_grad;
  const auto to = target.parameters();
  const auto from = source.parameters();
  for (std::size_t i = 0; i < to.size(); ++i) to[i].lerp_(from[i], 1.0 - decay);
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

NamedTensors module_tensors(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) out.emplace_back(item.key(), item.value());
  return out;
}

void load_module_tensors(torch::nn::Module& module,
                         const std::map<std::string, at::Tensor>& tensors,
                         const std::string& source) {
  torch::NoGradGuard no_grad;
  const NamedTensors expected = module_tensors(module);
  for (const auto& [name, tensor] : expected) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) {
      throw Error(source + ": tensor '" + name + "' is missing (a different model?)");
    }
    if (it->second.sizes() != tensor.sizes()) {
      throw Error(source + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                  ", the model expects " + c10::str(tensor.sizes()));
    }
  }
  if (tensors.size() != expected.size()) {
    for (const auto& [name, tensor] : tensors) {
      const bool known = std::any_of(expected.begin(), expected.end(),
                                     [&](const auto& e) { return e.first == name; });
      if (!known) throw Error(source + ": unexpected tensor '" + name + "' (a different model?)");
    }
  }
  for (const auto& [name, tensor] : expected) {
    tensor.copy_(tensors.at(name));
  }
}

}  // namespace noisesched
