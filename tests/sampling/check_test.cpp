// Every sampler against the exact denoiser of a Gaussian mixture: the distance to the truth falls
// as steps grow and reaches the two-sample noise floor at the step count the docs give.
#include "noisesched/sampling/check.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

CheckSamplerOptions options_for(SamplerKind kind, int steps) {
  CheckSamplerOptions o;
  o.recipe.sampler = kind;
  o.recipe.steps = steps;
  o.setup.train_schedule = Schedule::parse("simple_linear");
  o.setup.scale = 1.0;
  o.setup.normalization = Normalization::kEmpirical;
  o.setup.target = Target::kEps;
  return o;
}

// docs/sampling.md: steps at which each sampler is within 1.75x of the noise floor.
struct Documented {
  SamplerKind kind;
  int steps;
};
const Documented kDocumented[] = {{SamplerKind::kDdpm, 100},
                                  {SamplerKind::kDdpmSmall, 100},
                                  {SamplerKind::kDdim, 100},
                                  {SamplerKind::kDpmSolver2M, 50},
                                  {SamplerKind::kHeun, 50}};

TEST(CheckSampler, DistanceFallsAndReachesTheNoiseFloor) {
  for (const auto& doc : kDocumented) {
    const auto coarse = check_sampler(options_for(doc.kind, 5));
    const auto middle = check_sampler(options_for(doc.kind, 20));
    const auto fine = check_sampler(options_for(doc.kind, doc.steps));
    const std::string name = to_string(doc.kind);
    EXPECT_GT(coarse.sampler.sliced_wasserstein, 3 * coarse.floor.sliced_wasserstein) << name;
    EXPECT_GT(coarse.sampler.sliced_wasserstein, middle.sampler.sliced_wasserstein) << name;
    EXPECT_GT(middle.sampler.sliced_wasserstein, fine.sampler.sliced_wasserstein) << name;
    EXPECT_LE(fine.sampler.sliced_wasserstein, 1.75 * fine.floor.sliced_wasserstein) << name;
    EXPECT_LE(fine.sampler.covariance_error, 1.75 * fine.floor.covariance_error) << name;
  }
}

TEST(CheckSampler, ScalingNormalisationAndTargetsGoThroughTheSamePath) {
  // A b = 0.5 model with the analytic normaliser and each target: with enough steps the samples
  // match the data (b undone at the end), so b, normalisation and conversions are consistent.
  for (Target target : {Target::kEps, Target::kX0, Target::kV}) {
    for (Normalization n :
         {Normalization::kAnalytic, Normalization::kEmpirical, Normalization::kNone}) {
      auto o = options_for(SamplerKind::kDpmSolver2M, 100);
      o.setup.scale = 0.5;
      o.setup.normalization = n;
      o.setup.target = target;
      o.setup.train_schedule = Schedule::parse("sigmoid@-3,3,0.9");
      const auto r = check_sampler(o);
      EXPECT_LE(r.sampler.sliced_wasserstein, 1.5 * r.floor.sliced_wasserstein)
          << to_string(target) << " " << to_string(n);
    }
  }
}

TEST(CheckSampler, TheExactDenoiserIsExact) {
  // Its x0 estimate is the posterior mean: averaging x0 over many z from one noise level gives
  // the data mean (the tower rule), here at gamma = 0.3.
  const GaussianMixture mixture = GaussianMixture::reference();
  const at::Tensor x0 = mixture.sample(20000, 7);
  const double a = std::sqrt(0.3), s = std::sqrt(0.7);
  const at::Tensor z = a * x0 + s * at::randn(x0.sizes(), at::kDouble);
  const at::Tensor n = at::full({20000}, 1, at::kDouble);
  const at::Tensor estimate = mixture.posterior_mean(z, n * a, n * s, 1.0);
  EXPECT_LT((estimate.flatten(1).mean(0) - mixture.mean()).abs().max().item<double>(), 0.01);
  // and it beats the prior mean as a predictor of x0.
  EXPECT_LT((estimate - x0).pow(2).mean().item<double>(),
            (mixture.mean().view({1, 1, 4, 4}) - x0).pow(2).mean().item<double>());
}

TEST(CheckSampler, JsonAndErrors) {
  auto o = options_for(SamplerKind::kDdim, 3);
  o.samples = 200;
  const auto json = check_sampler(o).to_json();
  EXPECT_EQ(json["sampler"], "ddim");
  EXPECT_TRUE(json["distance"].contains("sliced_wasserstein"));
  EXPECT_TRUE(json["noise_floor"].contains("covariance_error"));
  o.recipe.steps = 0;
  EXPECT_THROW(check_sampler(o), Error);
  o.recipe.steps = 3;
  o.recipe.sampler = SamplerKind::kHeun;
  o.recipe.eta = 0.5;
  EXPECT_THROW(check_sampler(o), Error);
  o.recipe.eta = 0;
  o.recipe.guidance = 1;
  EXPECT_THROW(check_sampler(o), Error);
}

}  // namespace
}  // namespace noisesched
