// Forward process (see process.h).
#include "noisesched/diffusion/process.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "noisesched/common/error.h"

namespace noisesched {

namespace {

// [B, 1, ..., 1] with as many dimensions as `like` (at least one).
std::vector<std::int64_t> example_shape(std::int64_t batch, const at::Tensor& like) {
  std::vector<std::int64_t> shape(std::max<std::int64_t>(like.dim(), 1), 1);
  shape[0] = batch;
  return shape;
}

}  // namespace

at::Tensor per_example(const std::vector<double>& values, const at::Tensor& like) {
  return at::tensor(values, at::TensorOptions().dtype(at::kDouble))
      .to(like.device(), like.scalar_type())
      .view(example_shape(static_cast<std::int64_t>(values.size()), like));
}

double noise_level(const Variances& v, double b) {
  const double level = std::log(v.gamma) - std::log(v.one_minus) + logsnr_shift(b);
  return std::clamp(level, -kNoiseLevelBound, kNoiseLevelBound);
}

at::Tensor normalization_factor(const at::Tensor& z, const std::vector<double>& gamma, double b,
                                Normalization mode) {
  const std::int64_t batch = z.size(0);
  switch (mode) {
    case Normalization::kNone:
      return at::ones(example_shape(batch, z), z.options());
    case Normalization::kEmpirical:
      // 1 / population std over (C, H, W) of each example (over everything but the first
      // dimension, whatever the number of dimensions).
      return z.reshape({batch, -1})
          .std(/*dim=*/1, /*unbiased=*/false, /*keepdim=*/true)
          .clamp_min(1e-8)
          .reciprocal()
          .view(example_shape(batch, z));
    case Normalization::kAnalytic: {
      if (static_cast<std::int64_t>(gamma.size()) != batch) {
        throw Error("normalize_input: " + std::to_string(gamma.size()) + " gammas for a batch of " +
                    std::to_string(batch));
      }
      std::vector<double> factor(gamma.size());
      for (std::size_t i = 0; i < gamma.size(); ++i) factor[i] = analytic_normalizer(gamma[i], b);
      return per_example(factor, z);
    }
  }
  throw Error("unknown normalization");
}

at::Tensor normalize_input(const at::Tensor& z, const std::vector<double>& gamma, double b,
                           Normalization mode) {
  return z * normalization_factor(z, gamma, b, mode);
}

NoisedBatch add_noise(const DiffusionSetup& setup, const at::Tensor& x0_scaled,
                      const std::vector<double>& t, const at::Tensor& eps) {
  const auto batch = static_cast<std::size_t>(x0_scaled.size(0));
  if (t.size() != batch || eps.sizes() != x0_scaled.sizes()) {
    throw Error("add_noise: x0 " + std::to_string(batch) + " examples, t " +
                std::to_string(t.size()) + ", eps shape differs");
  }
  std::vector<double> a(batch), s(batch), logsnr(batch);
  std::vector<Variances> variances(batch);
  for (std::size_t i = 0; i < batch; ++i) {
    const Variances v = setup.train_schedule.variances(t[i]);
    variances[i] = v;
    a[i] = std::sqrt(v.gamma);
    s[i] = std::sqrt(v.one_minus);
    logsnr[i] = std::log(v.gamma) - std::log(v.one_minus) + logsnr_shift(setup.scale);
  }
  NoisedBatch out;
  out.a = per_example(a, x0_scaled);
  out.s = per_example(s, x0_scaled);
  out.z = out.a * x0_scaled + out.s * eps;
  out.v = std::move(variances);
  out.logsnr = std::move(logsnr);
  return out;
}

}  // namespace noisesched
