// The forward process and the eps/x0/v conversions against SPEC sections 4 and 5.
#include "noisesched/diffusion/process.h"
#include "noisesched/diffusion/network.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

DiffusionSetup setup_with(const std::string& schedule, double b, Normalization n, Target target) {
  DiffusionSetup s;
  s.train_schedule = Schedule::parse(schedule);
  s.scale = b;
  s.normalization = n;
  s.target = target;
  return s;
}

// What the network sees for a noised batch: predict() with a network that records its input.
class InputCapture final : public DenoiserImpl {
 public:
  InputCapture() : DenoiserImpl(1, 4, 2) {}
  DenoiserOutput forward(const DenoiserInput& input) override {
    seen = input;
    return {at::zeros_like(input.x), at::Tensor()};
  }
  at::Tensor self_condition_signal(const DenoiserOutput&, const at::Tensor& x0) const override {
    return x0;
  }
  double forward_flops_per_example() const override { return 0; }
  std::string describe() const override { return "capture"; }
  DenoiserInput seen;
};

DenoiserInput network_input(const DiffusionSetup& setup, const NoisedBatch& n) {
  InputCapture capture;
  predict(capture, setup, n.z, n.v, at::zeros({n.z.size(0)}, at::kLong), at::Tensor(), {});
  return capture.seen;
}

TEST(Process, NoisingMatchesTheFormulaPerExample) {
  at::manual_seed(0);
  const double b = 0.5;
  const auto setup = setup_with("sigmoid@-3,3,0.9", b, Normalization::kNone, Target::kEps);
  const at::Tensor x0 = at::rand({3, 1, 4, 4}) * 2 - 1;
  const at::Tensor eps = at::randn({3, 1, 4, 4});
  const std::vector<double> t = {0.1, 0.5, 0.93};
  const NoisedBatch n = add_noise(setup, x0 * b, t, eps);
  const DenoiserInput in = network_input(setup, n);
  for (int i = 0; i < 3; ++i) {
    const double gamma = setup.train_schedule.gamma(t[i]);
    const at::Tensor expected = std::sqrt(gamma) * b * x0[i] + std::sqrt(1 - gamma) * eps[i];
    EXPECT_TRUE(at::allclose(n.z[i], expected, 1e-6, 1e-6)) << i;
    EXPECT_TRUE(at::equal(in.x[i], n.z[i])) << "normalization none";
    // The noise level is the effective logSNR ln(b^2 gamma / (1 - gamma)).
    EXPECT_NEAR(in.noise_level[i].item<float>(), std::log(b * b * gamma / (1 - gamma)), 1e-5);
    EXPECT_NEAR(n.logsnr[i], std::log(b * b * gamma / (1 - gamma)), 1e-12);
  }
}

TEST(Process, EmpiricalNormalisationGivesUnitStdPerExample) {
  at::manual_seed(1);
  const auto setup = setup_with("cosine", 0.3, Normalization::kEmpirical, Target::kEps);
  const at::Tensor x0 = (at::rand({4, 3, 8, 8}) * 2 - 1) * 0.3;
  const NoisedBatch n = add_noise(setup, x0, {0.05, 0.3, 0.6, 0.99}, at::randn({4, 3, 8, 8}));
  const at::Tensor x_in = network_input(setup, n).x;
  const at::Tensor stds = x_in.flatten(1).std(1, /*unbiased=*/false);
  EXPECT_TRUE(at::allclose(stds, at::ones({4}), 1e-5, 1e-5)) << stds;
  // The same as dividing z by its own std: the direction of z is unchanged.
  EXPECT_TRUE(at::allclose(x_in[0] * n.z[0].std(false), n.z[0], 1e-5, 1e-5));
}

TEST(Process, AnalyticNormalisationUsesTheClosedFormFactor) {
  const double b = 0.25;
  const auto setup = setup_with("simple_linear", b, Normalization::kAnalytic, Target::kEps);
  const at::Tensor x0 = at::rand({2, 1, 4, 4}) * b;
  const NoisedBatch n = add_noise(setup, x0, {0.2, 0.7}, at::randn({2, 1, 4, 4}));
  const at::Tensor x_in = network_input(setup, n).x;
  for (int i = 0; i < 2; ++i) {
    const double gamma = i == 0 ? 0.8 : 0.3;
    const double factor = 1 / std::sqrt((b * b - 1) * gamma + 1);
    EXPECT_TRUE(at::allclose(x_in[i], n.z[i] * factor, 1e-6, 1e-6)) << i;
  }
  EXPECT_THROW(normalize_input(n.z, {0.5}, b, Normalization::kAnalytic), Error);
}

TEST(Process, ConversionsRecoverX0AndEpsForEveryTarget) {
  at::manual_seed(2);
  const at::Tensor x0 = at::randn({5, 2, 3, 3});
  const at::Tensor eps = at::randn({5, 2, 3, 3});
  const at::Tensor gamma = at::rand({5, 1, 1, 1}).clamp(0.01, 0.99).to(at::kDouble).to(at::kFloat);
  const at::Tensor a = gamma.sqrt(), s = (1 - gamma).sqrt();
  const at::Tensor z = a * x0 + s * eps;
  for (Target target : {Target::kEps, Target::kX0, Target::kV}) {
    const at::Tensor output = target_value(target, x0, eps, a, s);
    const Prediction p = prediction_from_output(target, output, z, a, s);
    EXPECT_TRUE(at::allclose(p.x0, x0, 1e-4, 1e-4)) << to_string(target);
    EXPECT_TRUE(at::allclose(p.eps, eps, 1e-4, 1e-4)) << to_string(target);
  }
  // v = a eps - s x0 (Salimans & Ho 2022).
  EXPECT_TRUE(at::allclose(target_value(Target::kV, x0, eps, a, s), a * eps - s * x0));
  // The scalar form used by samplers agrees with the per-example form.
  const Prediction scalar =
      prediction_from_output(Target::kV, at::ones({1, 1, 2, 2}), at::zeros({1, 1, 2, 2}), 0.6, 0.8);
  EXPECT_TRUE(at::allclose(scalar.x0, at::full({1, 1, 2, 2}, -0.8)));
  EXPECT_TRUE(at::allclose(scalar.eps, at::full({1, 1, 2, 2}, 0.6)));
}

TEST(Process, TargetNamesRoundTrip) {
  for (Target t : {Target::kEps, Target::kX0, Target::kV}) EXPECT_EQ(parse_target(to_string(t)), t);
  EXPECT_THROW(parse_target("score"), Error);
}

}  // namespace
}  // namespace noisesched
