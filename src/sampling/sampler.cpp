// Samplers and the model callback (see sampler.h).
#include "noisesched/sampling/sampler.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>

#include <cmath>
#include <memory>

#include "noisesched/common/error.h"

namespace noisesched {

at::Tensor run_sampler(SamplerKind kind, const DenoiseFn& denoise, const at::Tensor& z_start,
                       const std::vector<TimeStep>& grid, const Schedule& schedule,
                       at::Generator& generator) {
  torch::NoGradGuard no_grad;
  if (grid.empty()) throw Error("run_sampler: empty time grid");
  at::Tensor z = z_start;
  at::Tensor x0;
  for (std::size_t k = 0; k < grid.size(); ++k) {
    const Variances now = schedule.variances(grid[k].t_now);
    const Variances next = schedule.variances(grid[k].t_next);
    const Prediction p = denoise(z, {grid[k].t_now, now, static_cast<int>(k)});
    x0 = p.x0;
    const bool last = k + 1 == grid.size();
    if (last) break;  // the result is the last x0 estimate
    const StepCoefficients c = sampler_step(kind, now, next, last);
    z = z * c.c_x + p.eps * c.c_eps;
    if (c.noise_std > 0) {
      z = z + at::randn(z.sizes(), generator, z.options()) * c.noise_std;
    }
  }
  return x0;
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
    input.x = normalize_input(z_batch, gammas, setup.scale, setup.normalization);
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
