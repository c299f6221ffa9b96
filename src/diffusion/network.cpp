// The network-prediction function (see network.h).
#include "noisesched/diffusion/network.h"

#include <ATen/ATen.h>

#include <cmath>

#include "noisesched/common/error.h"
#include "noisesched/core/precision.h"

namespace noisesched {

NetworkPrediction predict(DenoiserImpl& model, const DiffusionSetup& setup, const at::Tensor& z,
                          const std::vector<Variances>& v, const at::Tensor& labels,
                          const at::Tensor& self_cond, const PredictOptions& options) {
  const std::int64_t batch = z.size(0);
  if (static_cast<std::int64_t>(v.size()) != batch || labels.size(0) != batch) {
    throw Error("predict: " + std::to_string(batch) + " images, " + std::to_string(v.size()) +
                " noise levels, " + std::to_string(labels.size(0)) + " labels");
  }
  const bool guided = options.guidance != 0.0;
  std::vector<double> gamma(v.size()), a(v.size()), s(v.size()), level(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    gamma[i] = v[i].gamma;
    a[i] = std::sqrt(v[i].gamma);
    s[i] = std::sqrt(v[i].one_minus);
    level[i] = noise_level(v[i], setup.scale);
  }
  std::vector<double> batch_gamma = gamma, batch_level = level;
  at::Tensor z_batch = z, batch_labels = labels;
  if (guided) {
    batch_gamma.insert(batch_gamma.end(), gamma.begin(), gamma.end());
    batch_level.insert(batch_level.end(), level.begin(), level.end());
    z_batch = at::cat({z, z});
    batch_labels = at::cat({labels, at::full_like(labels, model.num_classes())});
  }
  const at::Tensor factor =
      normalization_factor(z_batch, batch_gamma, setup.scale, setup.normalization);
  DenoiserInput input;
  input.x = z_batch * factor;
  input.z_per_x = factor.reciprocal();
  input.noise_level =
      at::tensor(batch_level, at::TensorOptions().dtype(at::kDouble)).to(z.device(), at::kFloat);
  input.labels = batch_labels;
  if (setup.self_condition) input.self_cond = self_cond;
  DenoiserOutput out;
  {
    const PrecisionScope precision(model.precision(), z.device());
    out = model.forward(input);
  }
  // Whatever the passes computed in, what leaves the network is float32 (the loss, the
  // samplers' arithmetic and the self-conditioning signal).
  out.prediction = out.prediction.to(at::kFloat);
  if (out.latents.defined()) out.latents = out.latents.to(at::kFloat);

  NetworkPrediction result;
  result.output = out.prediction;
  result.latents = out.latents;
  if (guided) {
    const auto halves = out.prediction.chunk(2);
    result.output = halves[0] * (1.0 + options.guidance) - halves[1] * options.guidance;
  }
  if (!options.estimate) return result;
  const at::Tensor a4 = per_example(a, z), s4 = per_example(s, z);
  result.estimate = prediction_from_output(setup.target, result.output, z, a4, s4);
  if (options.clip) {
    result.estimate.x0 = result.estimate.x0.clamp(-setup.scale, setup.scale);
    result.estimate.eps = (z - a4 * result.estimate.x0) / s4;
  }
  // Where gamma = 1 (s = 0) there is no noise and eps is not defined by x0; it multiplies s = 0
  // wherever it is used, so it is 0 rather than inf or NaN.
  result.estimate.eps = at::where(s4 > 0, result.estimate.eps, at::zeros_like(z));
  if (setup.self_condition) {
    // RIN carries each half's own latents; the U-Net the guided x0 for both halves.
    const at::Tensor x0 = result.estimate.x0.detach();
    result.self_cond = model.self_condition_signal(out, guided ? at::cat({x0, x0}) : x0);
    if (result.self_cond.defined()) result.self_cond = result.self_cond.detach();
  }
  return result;
}

}  // namespace noisesched
