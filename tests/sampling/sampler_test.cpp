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
  for (SamplerKind kind : {SamplerKind::kDdim, SamplerKind::kDdpm, SamplerKind::kDdpmSmall,
                           SamplerKind::kDpmSolver2M, SamplerKind::kHeun}) {
    at::Generator g = seeded_generator(at::kCPU, 1);
    const at::Tensor z = at::randn({20000, 1}, g, at::TensorOptions().dtype(at::kDouble));
    const at::Tensor x = run_sampler({kind, 0.0}, gaussian_denoiser(mu, sd, 10.0), z,
                                     sampling_time_grid(200), schedule, g);
    EXPECT_NEAR(x.mean().item<double>(), mu, 0.01) << to_string(kind);
    EXPECT_NEAR(x.std().item<double>(), sd, 0.02) << to_string(kind);
  }
}

TEST(Samplers, NamesRoundTrip) {
  for (SamplerKind k : {SamplerKind::kDdim, SamplerKind::kDdpm, SamplerKind::kDdpmSmall,
                        SamplerKind::kDpmSolver2M, SamplerKind::kHeun}) {
    EXPECT_EQ(parse_sampler(to_string(k)), k);
  }
  EXPECT_THROW(parse_sampler("euler"), Error);
  EXPECT_THROW(validate(SamplerSettings{SamplerKind::kDdpm, 0.5}), Error);
  EXPECT_THROW(validate(SamplerSettings{SamplerKind::kDdim, -1.0}), Error);
}

TEST(Samplers, DdimWithEtaOneIsDdpmSmall) {
  // Same starting noise, same step noise: identical trajectories (up to rounding).
  const Schedule schedule = Schedule::parse("cosine");
  const auto grid = sampling_time_grid(20);
  at::Generator g1 = seeded_generator(at::kCPU, 4), g2 = seeded_generator(at::kCPU, 4);
  const at::Tensor z = at::randn({500, 3}, g1, at::TensorOptions().dtype(at::kDouble));
  g1 = seeded_generator(at::kCPU, 9);
  g2 = seeded_generator(at::kCPU, 9);
  const auto denoise = gaussian_denoiser(0.1, 0.3, 10.0);
  const at::Tensor a = run_sampler({SamplerKind::kDdim, 1.0}, denoise, z, grid, schedule, g1);
  const at::Tensor b = run_sampler({SamplerKind::kDdpmSmall, 0.0}, denoise, z, grid, schedule, g2);
  EXPECT_TRUE(at::allclose(a, b, 1e-9, 1e-9));
}

TEST(Samplers, DeterministicSamplersIgnoreTheGenerator) {
  const Schedule schedule = Schedule::parse("cosine");
  const auto grid = sampling_time_grid(10);
  at::Generator g = seeded_generator(at::kCPU, 4);
  const at::Tensor z = at::randn({50, 2}, g, at::TensorOptions().dtype(at::kDouble));
  for (SamplerKind kind : {SamplerKind::kDdim, SamplerKind::kDpmSolver2M, SamplerKind::kHeun}) {
    at::Generator g1 = seeded_generator(at::kCPU, 1), g2 = seeded_generator(at::kCPU, 2);
    const auto denoise = gaussian_denoiser(0.0, 0.5, 10.0);
    EXPECT_TRUE(at::equal(run_sampler({kind, 0.0}, denoise, z, grid, schedule, g1),
                          run_sampler({kind, 0.0}, denoise, z, grid, schedule, g2)))
        << to_string(kind);
  }
}

TEST(Samplers, EvaluationCounts) {
  // Heun: 2 N - 1 on a bounded schedule (karras); one fewer when the grid starts at the clipped
  // end of a schedule (cosine at t = 1), whose first step is Euler only.
  const auto inner = gaussian_denoiser(0.0, 0.5, 10.0);
  for (auto [kind, spec, expected] : {std::tuple{SamplerKind::kHeun, "karras", 13},
                                      {SamplerKind::kHeun, "cosine", 12},
                                      {SamplerKind::kDpmSolver2M, "cosine", 7},
                                      {SamplerKind::kDdpm, "cosine", 7}}) {
    int calls = 0;
    const DenoiseFn counting = [&](const at::Tensor& z, const DenoiseQuery& q) {
      ++calls;
      return inner(z, q);
    };
    at::Generator g = seeded_generator(at::kCPU, 1);
    const Schedule schedule = Schedule::parse(spec);
    run_sampler({kind, 0.0}, counting, at::randn({4, 1}, g), sampling_time_grid(7), schedule, g);
    EXPECT_EQ(calls, expected) << to_string(kind) << " " << spec;
    EXPECT_EQ(model_evaluations(kind, sampling_time_grid(7), schedule), expected);
  }
}

}  // namespace
}  // namespace noisesched
