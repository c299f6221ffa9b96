// Sampler checks with an exact denoiser (see check.h).
#include "noisesched/sampling/check.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>

#include <cmath>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"
#include "noisesched/common/random.h"
#include "noisesched/common/random_purpose.h"
#include "noisesched/core/generators.h"
#include "noisesched/sampling/generate.h"
#include "noisesched/sampling/sampler.h"

namespace noisesched {
namespace {

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

class ExactMixtureDenoiser final : public DenoiserImpl {
 public:
  ExactMixtureDenoiser(GaussianMixture mixture, DiffusionSetup setup)
      : DenoiserImpl(mixture.channels(), mixture.side(), 0),
        mixture_(std::move(mixture)),
        setup_(std::move(setup)) {}

  DenoiserOutput forward(const DenoiserInput& input) override {
    if (!input.z_per_x.defined()) {
      throw Error(
          "the exact mixture denoiser needs z_per_x (the unnormalised input) from predict()");
    }
    const at::Tensor z = input.x * input.z_per_x;
    const auto levels = input.noise_level.to(at::kCPU, at::kDouble).contiguous();
    std::vector<double> a(static_cast<std::size_t>(z.size(0))), s(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      // Like a network, it knows its training schedule: noise level -> t -> gamma.
      const double level = levels.data_ptr<double>()[i] - logsnr_shift(setup_.scale);
      const Variances v =
          setup_.train_schedule.variances(setup_.train_schedule.t_from_logsnr(level));
      a[i] = std::sqrt(v.gamma);
      s[i] = std::sqrt(v.one_minus);
    }
    const at::Tensor at = at::tensor(a, kDouble).to(z.options()),
                     st = at::tensor(s, kDouble).to(z.options());
    const at::Tensor x0 = mixture_.posterior_mean(z, at, st, setup_.scale);
    const auto shape = std::vector<std::int64_t>{z.size(0), 1, 1, 1};
    const at::Tensor a4 = at.view(shape), s4 = st.view(shape);
    const at::Tensor output = target_value(setup_.target, x0, (z - a4 * x0) / s4, a4, s4);
    return {output, at::Tensor()};
  }
  at::Tensor self_condition_signal(const DenoiserOutput&, const at::Tensor&) const override {
    return at::Tensor();
  }
  double forward_flops_per_example() const override { return 0; }
  std::string describe() const override { return "exact denoiser of " + mixture_.describe(); }

 private:
  GaussianMixture mixture_;
  DiffusionSetup setup_;
};

at::Tensor covariance_of(const at::Tensor& flat) {
  const at::Tensor centred = flat - flat.mean(0, true);
  return at::matmul(centred.t(), centred) / static_cast<double>(flat.size(0));
}

}  // namespace

GaussianMixture::GaussianMixture(int channels, int side, std::vector<double> weights,
                                 std::vector<at::Tensor> means, std::vector<double> sds)
    : channels_(channels), side_(side), weights_(std::move(weights)), sds_(std::move(sds)) {
  if (weights_.empty() || weights_.size() != means.size() || weights_.size() != sds_.size()) {
    throw Error("Gaussian mixture: weights, means and standard deviations must match in number");
  }
  double total = 0;
  for (double w : weights_) total += w;
  for (auto& w : weights_) w /= total;
  for (auto& m : means) means_.push_back(m.to(at::kDouble).flatten());
}

GaussianMixture GaussianMixture::reference() {
  const int side = 4;
  const at::Tensor coords = at::arange(side, kDouble);
  const at::Tensor gradient = ((coords.unsqueeze(0) + coords.unsqueeze(1)) / 6.0 - 0.5);
  const at::Tensor checker =
      ((coords.unsqueeze(0) + coords.unsqueeze(1)).remainder(2) * 2 - 1) * 0.4;
  const at::Tensor flat = at::full({side, side}, -0.3, kDouble);
  return GaussianMixture(1, side, {0.5, 0.3, 0.2}, {gradient, checker, flat}, {0.15, 0.1, 0.2});
}

at::Tensor GaussianMixture::sample(std::int64_t n, std::uint64_t seed) const {
  at::Generator g = seeded_generator(at::kCPU, seed);
  const at::Tensor u = at::rand({n}, g, kDouble);
  at::Tensor out = at::randn({n, dims()}, g, kDouble);
  double lower = 0;
  for (std::size_t k = 0; k < weights_.size(); ++k) {
    const at::Tensor mask = ((u >= lower) & (u < lower + weights_[k])).unsqueeze(1);
    out = at::where(mask, out * sds_[k] + means_[k], out);
    lower += weights_[k];
  }
  return out.view({n, channels_, side_, side_});
}

at::Tensor GaussianMixture::mean() const {
  at::Tensor m = at::zeros({dims()}, kDouble);
  for (std::size_t k = 0; k < weights_.size(); ++k) m = m + weights_[k] * means_[k];
  return m;
}

at::Tensor GaussianMixture::covariance() const {
  // sum_k w_k (sd_k^2 I + m_k m_k^T) - m m^T
  at::Tensor c = at::zeros({dims(), dims()}, kDouble);
  for (std::size_t k = 0; k < weights_.size(); ++k) {
    c = c + weights_[k] *
                (at::eye(dims(), kDouble) * (sds_[k] * sds_[k]) + at::outer(means_[k], means_[k]));
  }
  const at::Tensor m = mean();
  return c - at::outer(m, m);
}

at::Tensor GaussianMixture::posterior_mean(const at::Tensor& z_in, const at::Tensor& a_in,
                                           const at::Tensor& s_in, double b) const {
  const at::Tensor z = z_in.to(at::kDouble).flatten(1);  // [B, D]
  const at::Tensor a = a_in.to(at::kDouble).view({-1, 1}), s = s_in.to(at::kDouble).view({-1, 1});
  std::vector<at::Tensor> log_weights, means;
  for (std::size_t k = 0; k < weights_.size(); ++k) {
    const at::Tensor m = means_[k] * b;
    const double v = b * b * sds_[k] * sds_[k];
    const at::Tensor var_z = a * a * v + s * s;  // z | k ~ N(a m, var_z I)
    const at::Tensor r = z - a * m;
    log_weights.push_back((std::log(weights_[k]) - 0.5 * dims() * at::log(var_z) -
                           r.pow(2).sum(1, true) / (2 * var_z))
                              .squeeze(1));
    means.push_back(m + r * (a * v / var_z));
  }
  const at::Tensor w = at::softmax(at::stack(log_weights, 1), 1);  // [B, K]
  const at::Tensor x0 = (at::stack(means, 1) * w.unsqueeze(2)).sum(1);
  return x0.view(z_in.sizes()).to(z_in.scalar_type());
}

std::string GaussianMixture::describe() const {
  return "a Gaussian mixture of " + std::to_string(weights_.size()) + " components on " +
         std::to_string(channels_) + "x" + std::to_string(side_) + "x" + std::to_string(side_) +
         " images (" + std::to_string(dims()) + " dimensions)";
}

Denoiser exact_mixture_denoiser(const GaussianMixture& mixture, const DiffusionSetup& setup) {
  return std::make_shared<ExactMixtureDenoiser>(mixture, setup);
}

SampleDistances sample_distances(const at::Tensor& samples, const at::Tensor& reference,
                                 const GaussianMixture& mixture, std::uint64_t seed) {
  const at::Tensor x = samples.to(at::kDouble).flatten(1);
  const at::Tensor y = reference.to(at::kDouble).flatten(1);
  SampleDistances d;
  d.mean_error = (x.mean(0) - mixture.mean()).norm().item<double>();
  d.covariance_error = (covariance_of(x) - mixture.covariance()).norm().item<double>();
  at::Generator g = seeded_generator(at::kCPU, hash_values({seed, purpose::kSlicedDirections}));
  at::Tensor directions = at::randn({x.size(1), 128}, g, kDouble);
  directions = directions / directions.norm(2, 0, true);
  const at::Tensor px = std::get<0>(at::sort(at::matmul(x, directions), 0));
  const at::Tensor py = std::get<0>(at::sort(at::matmul(y, directions), 0));
  d.sliced_wasserstein = (px - py).pow(2).mean().sqrt().item<double>();
  return d;
}

CheckSamplerResult check_sampler(const CheckSamplerOptions& options) {
  torch::NoGradGuard no_grad;
  const std::vector<SamplerStep> plan = options.recipe.plan();
  if (options.recipe.guidance != 0) {
    throw Error("check-sampler: guidance needs classes; the Gaussian mixture has none");
  }
  if (options.samples < 10) {
    throw Error("--samples must be >= 10 (got " + std::to_string(options.samples) + ")");
  }
  const GaussianMixture mixture = GaussianMixture::reference();
  const Denoiser model = exact_mixture_denoiser(mixture, options.setup);
  const std::int64_t n = options.samples;
  at::Generator g = seeded_generator(at::kCPU, hash_values({options.seed, purpose::kCheckNoise}));
  const at::Tensor z =
      at::randn({n, mixture.channels(), mixture.side(), mixture.side()}, g, kDouble);
  const DenoiseFn denoise =
      model_denoise_fn(model, options.setup, at::zeros({n}, at::kLong), options.recipe);
  const at::Tensor x0 = run_sampler(plan, denoise, z, g);
  // The result, as for images: the last x0 estimate divided by b, clipped to [-1, 1].
  const at::Tensor samples = (x0 / options.setup.scale).clamp(-1.0, 1.0);
  const at::Tensor exact1 = mixture.sample(n, hash_values({options.seed, purpose::kExactSampleA}));
  const at::Tensor exact2 = mixture.sample(n, hash_values({options.seed, purpose::kExactSampleB}));

  CheckSamplerResult result;
  result.options = options;
  result.dims = mixture.dims();
  result.data = mixture.describe();
  result.sampler = sample_distances(samples, exact2, mixture, options.seed);
  result.floor = sample_distances(exact1, exact2, mixture, options.seed);
  return result;
}

nlohmann::ordered_json CheckSamplerResult::to_json() const {
  auto distances = [](const SampleDistances& d) {
    return nlohmann::ordered_json{{"mean_error", d.mean_error},
                                  {"covariance_error", d.covariance_error},
                                  {"sliced_wasserstein", d.sliced_wasserstein}};
  };
  nlohmann::ordered_json out = recipe_json(options.recipe);
  out.update(nlohmann::ordered_json{{"train_schedule", options.setup.train_schedule.to_string()},
                                    {"scale", options.setup.scale},
                                    {"normalization", to_string(options.setup.normalization)},
                                    {"target", to_string(options.setup.target)},
                                    {"data", data},
                                    {"samples", options.samples},
                                    {"seed", options.seed},
                                    {"distance", distances(sampler)},
                                    {"noise_floor", distances(floor)}});
  return out;
}

std::string CheckSamplerResult::to_text() const {
  std::ostringstream out;
  out << "recipe: " << options.recipe.to_string() << "\nexact denoiser trained on "
      << options.setup.train_schedule.to_string() << ", b = " << format_exact(options.setup.scale)
      << ", normalization " << to_string(options.setup.normalization) << ", target "
      << to_string(options.setup.target) << "\ndata: " << data << ", " << options.samples
      << " samples\n";
  char line[128];
  std::snprintf(line, sizeof(line), "%-22s %12s %16s\n", "", "sampler", "noise floor");
  out << line;
  const struct {
    const char* name;
    double a, b;
  } rows[] = {{"mean error", sampler.mean_error, floor.mean_error},
              {"covariance error", sampler.covariance_error, floor.covariance_error},
              {"sliced Wasserstein-2", sampler.sliced_wasserstein, floor.sliced_wasserstein}};
  for (const auto& r : rows) {
    std::snprintf(line, sizeof(line), "%-22s %12.5f %16.5f\n", r.name, r.a, r.b);
    out << line;
  }
  out << "(noise floor: the same distances for two independent exact samples of this size)\n";
  return out.str();
}

}  // namespace noisesched
