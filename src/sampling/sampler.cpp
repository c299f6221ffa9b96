// Samplers and the model callback (see sampler.h).
#include "noisesched/sampling/sampler.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>

#include <cmath>
#include <memory>

#include "noisesched/common/error.h"

namespace noisesched {

namespace {

double half_logsnr(const Variances& v) { return 0.5 * (std::log(v.gamma) - std::log(v.one_minus)); }

// EDM's noise level sigma = s / a.
double edm_sigma(const Variances& v) { return std::sqrt(v.one_minus / v.gamma); }

at::Tensor first_order(const SamplerSettings& sampler, const DenoiseFn& denoise, at::Tensor z,
                       const std::vector<TimeStep>& grid, const Schedule& schedule,
                       at::Generator& generator) {
  at::Tensor x0;
  for (std::size_t k = 0; k < grid.size(); ++k) {
    const Variances now = schedule.variances(grid[k].t_now);
    const Prediction p = denoise(z, {grid[k].t_now, now, static_cast<int>(k)});
    x0 = p.x0;
    if (k + 1 == grid.size()) break;  // the result is the last x0 estimate
    const StepCoefficients c =
        first_order_step(sampler, now, schedule.variances(grid[k].t_next), false);
    z = z * c.c_x + p.eps * c.c_eps;
    if (c.noise_std > 0) z = z + at::randn(z.sizes(), generator, z.options()) * c.noise_std;
  }
  return x0;
}

at::Tensor dpm_solver_2m(const DenoiseFn& denoise, at::Tensor z, const std::vector<TimeStep>& grid,
                         const Schedule& schedule) {
  at::Tensor x0, previous_x0;
  double previous_h = 0;
  for (std::size_t k = 0; k < grid.size(); ++k) {
    const Variances now = schedule.variances(grid[k].t_now);
    x0 = denoise(z, {grid[k].t_now, now, static_cast<int>(k)}).x0;
    if (k + 1 == grid.size()) break;
    const Variances next = schedule.variances(grid[k].t_next);
    const double h = half_logsnr(next) - half_logsnr(now);
    at::Tensor d = x0;
    if (previous_x0.defined()) {
      const double r = previous_h / h;
      d = x0 * (1.0 + 1.0 / (2.0 * r)) - previous_x0 * (1.0 / (2.0 * r));
    }
    // x' = (s'/s) x - a' (exp(-h) - 1) D
    z = z * std::sqrt(next.one_minus / now.one_minus) -
        d * (std::sqrt(next.gamma) * std::expm1(-h));
    previous_x0 = x0;
    previous_h = h;
  }
  return x0;
}

at::Tensor heun(const DenoiseFn& denoise, const at::Tensor& z_start,
                const std::vector<TimeStep>& grid, const Schedule& schedule) {
  // The ODE variable is x = z / a, whose noise level is sigma = s / a.
  Variances now = schedule.variances(grid[0].t_now);
  at::Tensor x = z_start / std::sqrt(now.gamma);
  at::Tensor x0;
  for (std::size_t k = 0; k < grid.size(); ++k) {
    now = schedule.variances(grid[k].t_now);
    const double sigma = edm_sigma(now);
    x0 = denoise(x * std::sqrt(now.gamma), {grid[k].t_now, now, static_cast<int>(k)}).x0;
    if (k + 1 == grid.size()) break;  // Euler to sigma = 0 gives x0 itself
    const Variances next = schedule.variances(grid[k].t_next);
    const double sigma_next = edm_sigma(next);
    const at::Tensor slope = (x - x0) / sigma;
    const at::Tensor euler = x + slope * (sigma_next - sigma);
    if (!heun_corrects(now, next, schedule.clip_min())) {
      x = euler;
      continue;
    }
    const at::Tensor x0_next =
        denoise(euler * std::sqrt(next.gamma), {grid[k].t_next, next, static_cast<int>(k)}).x0;
    x = x + (slope + (euler - x0_next) / sigma_next) * (0.5 * (sigma_next - sigma));
  }
  return x0;
}

}  // namespace

at::Tensor run_sampler(const SamplerSettings& sampler, const DenoiseFn& denoise,
                       const at::Tensor& z_start, const std::vector<TimeStep>& grid,
                       const Schedule& schedule, at::Generator& generator) {
  torch::NoGradGuard no_grad;
  validate(sampler);
  if (grid.empty()) throw Error("run_sampler: empty time grid");
  switch (sampler.kind) {
    case SamplerKind::kDpmSolver2M:
      return dpm_solver_2m(denoise, z_start, grid, schedule);
    case SamplerKind::kHeun:
      return heun(denoise, z_start, grid, schedule);
    default:
      return first_order(sampler, denoise, z_start, grid, schedule, generator);
  }
}

DenoiseFn model_denoise_fn(Denoiser model, const DiffusionSetup& setup, const at::Tensor& labels,
                           double guidance) {
  auto self_cond = std::make_shared<at::Tensor>();
  const bool guided = guidance != 0.0;
  const std::int64_t null_class = model->num_classes();
  const at::Tensor batch_labels =
      guided ? at::cat({labels, at::full_like(labels, null_class)}) : labels;
  return [=](const at::Tensor& z, const DenoiseQuery& query) {
    const double a = std::sqrt(query.v.gamma), s = std::sqrt(query.v.one_minus);
    const at::Tensor z_batch = guided ? at::cat({z, z}) : z;
    const std::vector<double> gammas(static_cast<std::size_t>(z_batch.size(0)), query.v.gamma);
    DenoiserInput input;
    const at::Tensor factor =
        normalization_factor(z_batch, gammas, setup.scale, setup.normalization);
    input.x = z_batch * factor;
    input.input_scale = factor.reciprocal();
    input.noise_level = at::full({z_batch.size(0)}, noise_level(query.v, setup.scale),
                                 z.options().dtype(at::kFloat));
    input.labels = batch_labels;
    input.self_cond = *self_cond;
    const DenoiserOutput out = model->forward(input);
    at::Tensor output = out.prediction;
    if (guided) {
      const auto halves = output.chunk(2);
      output = halves[0] * (1.0 + guidance) - halves[1] * guidance;
    }
    Prediction p = prediction_from_output(setup.target, output, z, a, s);
    p.x0 = p.x0.clamp(-setup.scale, setup.scale);
    p.eps = eps_from_x0(z, p.x0, a, s);
    // Self-conditioning: RIN carries each half's own latents; the U-Net the guided x0 for both.
    *self_cond = model->self_condition_signal(out, guided ? at::cat({p.x0, p.x0}) : p.x0);
    return p;
  };
}

}  // namespace noisesched
