// The sampler loop and the model callback (see sampler.h).
#include "noisesched/sampling/sampler.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>

#include <memory>

#include "noisesched/common/error.h"
#include "noisesched/diffusion/network.h"

namespace noisesched {

at::Tensor run_sampler(const std::vector<SamplerStep>& plan, const DenoiseFn& denoise,
                       const at::Tensor& z_start, at::Generator& generator) {
  torch::NoGradGuard no_grad;
  if (plan.empty()) throw Error("run_sampler: empty plan");
  at::Tensor z = z_start, x0_prev;
  for (const SamplerStep& step : plan) {
    const Prediction p = denoise(z, {step.t_eval, step.eval, step.index});
    if (step.last) return p.x0;
    // z' = c_z z + c_x0 x0 + c_eps eps + c_x0_prev x0_prev + noise_std n
    at::Tensor next = step.c_z == 0.0 ? at::zeros_like(z) : z * step.c_z;
    if (step.c_x0 != 0.0) next = next + p.x0 * step.c_x0;
    if (step.c_eps != 0.0) next = next + p.eps * step.c_eps;
    if (step.c_x0_prev != 0.0) next = next + x0_prev * step.c_x0_prev;
    if (step.noise_std > 0.0) {
      next = next + at::randn(z.sizes(), generator, z.options()) * step.noise_std;
    }
    if (step.correct) {
      const Prediction corrected = denoise(next, {step.t_next, step.next, step.index});
      next = next + (corrected.eps - p.eps) * step.c_correct;
    }
    x0_prev = p.x0;
    z = next;
  }
  throw Error("run_sampler: the plan has no last step");
}

DenoiseFn model_denoise_fn(Denoiser model, const DiffusionSetup& setup, const at::Tensor& labels,
                           const InferenceRecipe& recipe, NetworkGraphs* graphs) {
  recipe.validate();
  auto self_cond = std::make_shared<at::Tensor>();
  PredictOptions options;
  options.guidance = recipe.guidance;
  options.clip = recipe.clip;
  options.graphs = graphs;
  return [=](const at::Tensor& z, const DenoiseQuery& query) {
    const std::vector<Variances> v(static_cast<std::size_t>(z.size(0)), query.v);
    NetworkPrediction p = predict(*model, setup, z, v, labels, *self_cond, options);
    *self_cond = p.self_cond;
    return p.estimate;
  };
}

}  // namespace noisesched
