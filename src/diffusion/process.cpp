// Forward process (see process.h).
#include "noisesched/diffusion/process.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <optional>

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

at::Tensor NoiseLevels::per_example(Row row, const at::Tensor& like) const {
  return rows.select(0, row).to(like.scalar_type()).view(example_shape(size(), like));
}

NoiseLevels NoiseLevels::twice() const { return {at::cat({rows, rows}, 1)}; }

void write_noise_level_rows(const std::vector<Variances>& v, double b, double* out) {
  const std::size_t n = v.size();
  for (std::size_t i = 0; i < n; ++i) {
    out[NoiseLevels::kA * n + i] = std::sqrt(v[i].gamma);
    out[NoiseLevels::kS * n + i] = std::sqrt(v[i].one_minus);
    out[NoiseLevels::kLevel * n + i] = noise_level(v[i], b);
    out[NoiseLevels::kAnalytic * n + i] = analytic_normalizer(v[i].gamma, b);
  }
}

NoiseLevels noise_levels(const std::vector<Variances>& v, double b, const c10::Device& device) {
  // Pinned on CUDA, so the copy does not make the host wait for the device.
  at::Tensor host =
      at::empty({NoiseLevels::kRows, static_cast<std::int64_t>(v.size())},
                at::TensorOptions().dtype(at::kDouble).pinned_memory(device.is_cuda()));
  write_noise_level_rows(v, b, host.data_ptr<double>());
  return {host.to(device, /*non_blocking=*/true)};
}

namespace {

// 1 / population std over (C, H, W) of each example (over everything but the first dimension,
// whatever the number of dimensions), or ones; nullopt for the analytic mode.
std::optional<at::Tensor> factor_from_z(const at::Tensor& z, Normalization mode) {
  const std::int64_t batch = z.size(0);
  switch (mode) {
    case Normalization::kNone:
      return at::ones(example_shape(batch, z), z.options());
    case Normalization::kEmpirical:
      return z.reshape({batch, -1})
          .std(/*dim=*/1, /*unbiased=*/false, /*keepdim=*/true)
          .clamp_min(1e-8)
          .reciprocal()
          .view(example_shape(batch, z));
    case Normalization::kAnalytic:
      return std::nullopt;
  }
  throw Error("unknown normalization");
}

}  // namespace

at::Tensor normalization_factor(const at::Tensor& z, const NoiseLevels& levels,
                                Normalization mode) {
  if (auto factor = factor_from_z(z, mode)) return *factor;
  if (levels.size() != z.size(0)) {
    throw Error("normalize_input: " + std::to_string(levels.size()) +
                " noise levels for a batch of " + std::to_string(z.size(0)));
  }
  return levels.per_example(NoiseLevels::kAnalytic, z);
}

at::Tensor normalization_factor(const at::Tensor& z, const std::vector<double>& gamma, double b,
                                Normalization mode) {
  const std::int64_t batch = z.size(0);
  if (auto factor = factor_from_z(z, mode)) return *factor;
  if (static_cast<std::int64_t>(gamma.size()) != batch) {
    throw Error("normalize_input: " + std::to_string(gamma.size()) + " gammas for a batch of " +
                std::to_string(batch));
  }
  std::vector<double> factor(gamma.size());
  for (std::size_t i = 0; i < gamma.size(); ++i) factor[i] = analytic_normalizer(gamma[i], b);
  return per_example(factor, z);
}

at::Tensor normalize_input(const at::Tensor& z, const std::vector<double>& gamma, double b,
                           Normalization mode) {
  return z * normalization_factor(z, gamma, b, mode);
}

NoiseDraw variances_at_times(const DiffusionSetup& setup, const std::vector<double>& t) {
  NoiseDraw out;
  out.v.resize(t.size());
  out.logsnr.resize(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    const Variances v = setup.train_schedule.variances(t[i]);
    out.v[i] = v;
    out.logsnr[i] = std::log(v.gamma) - std::log(v.one_minus) + logsnr_shift(setup.scale);
  }
  return out;
}

NoisedBatch add_noise(const NoiseLevels& levels, const at::Tensor& x0_scaled,
                      const at::Tensor& eps) {
  if (levels.size() != x0_scaled.size(0) || eps.sizes() != x0_scaled.sizes()) {
    throw Error("add_noise: x0 " + std::to_string(x0_scaled.size(0)) + " examples, " +
                std::to_string(levels.size()) + " noise levels, eps shape differs");
  }
  NoisedBatch out;
  out.levels = levels;
  out.a = levels.per_example(NoiseLevels::kA, x0_scaled);
  out.s = levels.per_example(NoiseLevels::kS, x0_scaled);
  out.z = out.a * x0_scaled + out.s * eps;
  return out;
}

NoisedBatch add_noise(const DiffusionSetup& setup, const at::Tensor& x0_scaled,
                      const std::vector<double>& t, const at::Tensor& eps) {
  const auto batch = static_cast<std::size_t>(x0_scaled.size(0));
  if (t.size() != batch || eps.sizes() != x0_scaled.sizes()) {
    throw Error("add_noise: x0 " + std::to_string(batch) + " examples, t " +
                std::to_string(t.size()) + ", eps shape differs");
  }
  NoiseDraw draw = variances_at_times(setup, t);
  NoisedBatch out =
      add_noise(noise_levels(draw.v, setup.scale, x0_scaled.device()), x0_scaled, eps);
  out.v = std::move(draw.v);
  out.logsnr = std::move(draw.logsnr);
  return out;
}

}  // namespace noisesched
