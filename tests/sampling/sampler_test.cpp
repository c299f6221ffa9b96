// Samplers with the exact denoiser of a Gaussian: the samples must follow the data distribution.
#include "noisesched/sampling/sampler.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "noisesched/common/error.h"
#include "noisesched/core/random.h"

namespace noisesched {
namespace {

// Data x0 ~ N(mu, sd^2) per coordinate, in the scaled space. The posterior mean given
// z = a x0 + s eps is mu + a sd^2 / (a^2 sd^2 + s^2) (z - a mu).
DenoiseFn gaussian_denoiser(double mu, double sd, double clip) {
  return [=](const at::Tensor& z, const DenoiseQuery& q) {
    const double a = std::sqrt(q.v.gamma), s = std::sqrt(q.v.one_minus);
    const double gain = a * sd * sd / (a * a * sd * sd + s * s);
    Prediction p;
    p.x0 = (mu + gain * (z - a * mu)).clamp(-clip, clip);
    p.eps = eps_from_x0(z, p.x0, a, s);
    return p;
  };
}

TEST(Samplers, ReproduceAGaussianWithTheExactDenoiser) {
  const double mu = 0.3, sd = 0.2;
  const Schedule schedule = Schedule::parse("cosine");
  for (SamplerKind kind : {SamplerKind::kDdim, SamplerKind::kDdpm, SamplerKind::kDdpmSmall}) {
    at::Generator g = seeded_generator(at::kCPU, 1);
    const at::Tensor z = at::randn({20000, 1}, g, at::TensorOptions().dtype(at::kDouble));
    const at::Tensor x =
        run_sampler(kind, gaussian_denoiser(mu, sd, 10.0), z, sampling_time_grid(200), schedule, g);
    EXPECT_NEAR(x.mean().item<double>(), mu, 0.01) << to_string(kind);
    EXPECT_NEAR(x.std().item<double>(), sd, kind == SamplerKind::kDdim ? 0.01 : 0.02)
        << to_string(kind);
  }
}

TEST(Samplers, NamesRoundTrip) {
  for (SamplerKind k : {SamplerKind::kDdim, SamplerKind::kDdpm, SamplerKind::kDdpmSmall}) {
    EXPECT_EQ(parse_sampler(to_string(k)), k);
  }
  EXPECT_THROW(parse_sampler("euler"), Error);
}

}  // namespace
}  // namespace noisesched
