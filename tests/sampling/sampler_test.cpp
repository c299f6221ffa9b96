// Samplers with the exact denoiser of a Gaussian: the samples must follow the data distribution.
#include "noisesched/sampling/sampler.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "noisesched/common/error.h"
#include "noisesched/core/generators.h"
#include "noisesched/diffusion/process.h"

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
    p.eps = (z - a * p.x0) / s;
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
    const at::Tensor x = run_sampler(plan_sampler(kind, 0.0, 200, 0.0, schedule),
                                     gaussian_denoiser(mu, sd, 10.0), z, g);
    EXPECT_NEAR(x.mean().item<double>(), mu, 0.01) << to_string(kind);
    EXPECT_NEAR(x.std().item<double>(), sd, 0.02) << to_string(kind);
  }
}

TEST(Samplers, DdimWithEtaOneIsDdpmSmall) {
  // Same starting noise, same step noise: identical trajectories (up to rounding).
  const Schedule schedule = Schedule::parse("cosine");
  at::Generator g1 = seeded_generator(at::kCPU, 4), g2 = seeded_generator(at::kCPU, 4);
  const at::Tensor z = at::randn({500, 3}, g1, at::TensorOptions().dtype(at::kDouble));
  g1 = seeded_generator(at::kCPU, 9);
  g2 = seeded_generator(at::kCPU, 9);
  const auto denoise = gaussian_denoiser(0.1, 0.3, 10.0);
  const at::Tensor a =
      run_sampler(plan_sampler(SamplerKind::kDdim, 1.0, 20, 0.0, schedule), denoise, z, g1);
  const at::Tensor b =
      run_sampler(plan_sampler(SamplerKind::kDdpmSmall, 0.0, 20, 0.0, schedule), denoise, z, g2);
  EXPECT_TRUE(at::allclose(a, b, 1e-9, 1e-9));
}

TEST(Samplers, DeterministicSamplersIgnoreTheGenerator) {
  const Schedule schedule = Schedule::parse("cosine");
  at::Generator g = seeded_generator(at::kCPU, 4);
  const at::Tensor z = at::randn({50, 2}, g, at::TensorOptions().dtype(at::kDouble));
  for (SamplerKind kind : {SamplerKind::kDdim, SamplerKind::kDpmSolver2M, SamplerKind::kHeun}) {
    at::Generator g1 = seeded_generator(at::kCPU, 1), g2 = seeded_generator(at::kCPU, 2);
    const auto denoise = gaussian_denoiser(0.0, 0.5, 10.0);
    const auto plan = plan_sampler(kind, 0.0, 10, 0.0, schedule);
    EXPECT_TRUE(at::equal(run_sampler(plan, denoise, z, g1), run_sampler(plan, denoise, z, g2)))
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
    const auto plan = plan_sampler(kind, 0.0, 7, 0.0, schedule);
    run_sampler(plan, counting, at::randn({4, 1}, g), g);
    EXPECT_EQ(calls, expected) << to_string(kind) << " " << spec;
    EXPECT_EQ(model_evaluations(plan), expected);
  }
}

// The samplers as they were written before the plan (eps-form DDPM/DDIM, DPM-Solver++ with its
// own loop), for schedules and step counts without degenerate steps: the plan must give the
// same samples up to float rounding, so results that no defect touched stay what they were.
at::Tensor reference_sampler(SamplerKind kind, const DenoiseFn& denoise, at::Tensor z, int steps,
                             const Schedule& schedule, at::Generator& g) {
  const auto grid = sampling_time_grid(steps);
  at::Tensor x0, prev;
  double prev_h = 0;
  for (std::size_t k = 0; k < grid.size(); ++k) {
    const Variances now = schedule.variances(grid[k].t_now);
    const Prediction p = denoise(z, {grid[k].t_now, now, static_cast<int>(k)});
    x0 = p.x0;
    if (k + 1 == grid.size()) break;
    const Variances next = schedule.variances(grid[k].t_next);
    const double a = std::sqrt(now.gamma), s = std::sqrt(now.one_minus);
    const double a2 = std::sqrt(next.gamma), s2 = std::sqrt(next.one_minus);
    if (kind == SamplerKind::kDdim) {
      z = z * (a2 / a) + p.eps * (s2 - a2 * s / a);
    } else if (kind == SamplerKind::kDdpm) {
      const double alpha = now.gamma / next.gamma;
      z = (z - p.eps * ((1 - alpha) / s)) / std::sqrt(alpha) +
          at::randn(z.sizes(), g, z.options()) * std::sqrt(1 - alpha);
    } else {
      const double h =
          0.5 * std::log(next.gamma / next.one_minus) - 0.5 * std::log(now.gamma / now.one_minus);
      at::Tensor d = x0;
      if (prev.defined()) {
        const double r = prev_h / h;
        d = x0 * (1 + 1 / (2 * r)) - prev * (1 / (2 * r));
      }
      z = z * (s2 / s) - d * (a2 * std::expm1(-h));
      prev = x0;
      prev_h = h;
    }
  }
  return x0;
}

TEST(Samplers, PlanMatchesTheEarlierFormulationsWithinRounding) {
  // karras starts at sigma 80, not at a clipped end: from gamma = clip_min the earlier eps form
  // multiplied float32 rounding by 1/sqrt(alpha_s) ~ 1e4, which the plan's z/x0 form avoids.
  const Schedule schedule = Schedule::parse("karras");
  const auto denoise = gaussian_denoiser(0.1, 0.4, 1.0);
  for (SamplerKind kind : {SamplerKind::kDdim, SamplerKind::kDdpm, SamplerKind::kDpmSolver2M}) {
    at::Generator g0 = seeded_generator(at::kCPU, 5);
    const at::Tensor z = at::randn({2000, 4}, g0);  // float32, as images are sampled
    at::Generator g1 = seeded_generator(at::kCPU, 6), g2 = seeded_generator(at::kCPU, 6);
    const at::Tensor planned =
        run_sampler(plan_sampler(kind, 0.0, 50, 0.0, schedule), denoise, z, g1);
    const at::Tensor reference = reference_sampler(kind, denoise, z, 50, schedule, g2);
    EXPECT_LT((planned - reference).abs().max().item<double>(), 1e-4) << to_string(kind);
  }
}

// A network that records whether it was given a self-conditioning signal.
class RecordingDenoiser final : public DenoiserImpl {
 public:
  RecordingDenoiser() : DenoiserImpl(1, 4, 2) {}
  DenoiserOutput forward(const DenoiserInput& input) override {
    calls.push_back(input.self_cond.defined());
    return {at::full_like(input.x, 2.0), at::Tensor()};
  }
  at::Tensor self_condition_signal(const DenoiserOutput&, const at::Tensor& x0) const override {
    return x0;  // U-Net style: the x0 estimate
  }
  double forward_flops_per_example() const override { return 0; }
  std::string describe() const override { return "recording"; }
  std::vector<bool> calls;
};

TEST(Samplers, SelfConditioningOnlyForModelsTrainedWithIt) {
  for (bool trained_with : {false, true}) {
    auto model = std::make_shared<RecordingDenoiser>();
    DiffusionSetup setup;
    setup.self_condition = trained_with;
    InferenceRecipe recipe;
    recipe.steps = 4;
    const DenoiseFn denoise = model_denoise_fn(model, setup, at::zeros({3}, at::kLong), recipe);
    at::Generator g = seeded_generator(at::kCPU, 1);
    run_sampler(recipe.plan(), denoise, at::randn({3, 1, 4, 4}, g), g);
    ASSERT_EQ(model->calls.size(), 4u);
    EXPECT_FALSE(model->calls[0]);  // nothing to feed back on the first call
    for (std::size_t i = 1; i < model->calls.size(); ++i) {
      EXPECT_EQ(model->calls[i], trained_with) << "call " << i;
    }
  }
}

TEST(Samplers, GuidanceRunsBothHalvesAndClippingIsOptional) {
  // The recording network answers x0 = 2 for both halves, so the guided output is 2 too; with
  // b = 0.5, clipping makes it 0.5 and eps follows the clipped x0.
  DiffusionSetup setup;
  setup.target = Target::kX0;
  setup.scale = 0.5;
  const at::Tensor z = at::full({2, 1, 4, 4}, 3.0);
  for (bool clip : {false, true}) {
    auto model = std::make_shared<RecordingDenoiser>();
    InferenceRecipe recipe;
    recipe.guidance = 2.0;
    recipe.clip = clip;
    const DenoiseFn denoise = model_denoise_fn(model, setup, at::zeros({2}, at::kLong), recipe);
    const Prediction p = denoise(z, {0.5, {0.36, 0.64}, 0});
    const double x0 = clip ? 0.5 : 2.0;
    EXPECT_TRUE(at::allclose(p.x0, at::full_like(z, x0))) << clip;
    EXPECT_TRUE(at::allclose(p.eps, (z - 0.6 * x0) / 0.8)) << clip;
  }
}

}  // namespace
}  // namespace noisesched
