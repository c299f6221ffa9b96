// LAMB and AdamW against updates computed by hand, clipping, EMA, state round trips.
#include "noisesched/optim/optimizer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <cmath>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

// A module with one matrix and one bias whose values and gradients the tests set.
struct Toy : torch::nn::Module {
  Toy() {
    w = register_parameter("w", at::tensor({1.0f, -2.0f, 0.5f, 3.0f}).view({2, 2}));
    b = register_parameter("b", at::tensor({0.25f, -0.5f}));
  }
  void set_grads(const std::vector<float>& gw, const std::vector<float>& gb) {
    w.mutable_grad() = at::tensor(gw).view({2, 2});
    b.mutable_grad() = at::tensor(gb);
  }
  at::Tensor w, b;
};

// The LAMB update written out in doubles, one parameter at a time (You et al. 2019, Alg. 2).
struct Reference {
  std::vector<double> w, m, v;
  void step(const std::vector<double>& g, int t, double lr, double wd, bool lamb, bool decay) {
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    std::vector<double> u(w.size());
    double wn = 0, un = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double mh = m[i] / (1 - std::pow(b1, t)), vh = v[i] / (1 - std::pow(b2, t));
      u[i] = mh / (std::sqrt(vh) + eps) + (decay ? wd * w[i] : 0.0);
      wn += w[i] * w[i];
      un += u[i] * u[i];
    }
    const double r = (lamb && decay && wn > 0 && un > 0) ? std::sqrt(wn) / std::sqrt(un) : 1.0;
    for (std::size_t i = 0; i < w.size(); ++i) w[i] -= lr * r * u[i];
  }
};

void expect_values(const at::Tensor& t, const std::vector<double>& expected, const char* what) {
  const auto flat = t.flatten().to(at::kDouble);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(flat[i].item<double>(), expected[i], 1e-5 * std::max(1.0, std::fabs(expected[i])))
        << what << "[" << i << "]";
  }
}

class OptimizerTest : public ::testing::TestWithParam<OptimizerKind> {};

TEST_P(OptimizerTest, MatchesAHandComputedUpdateOverThreeSteps) {
  const bool lamb = GetParam() == OptimizerKind::kLamb;
  Toy toy;
  OptimizerOptions options;
  options.kind = GetParam();
  options.weight_decay = 0.1;
  Optimizer optimizer(toy, options);
  Reference rw{{1, -2, 0.5, 3}, {0, 0, 0, 0}, {0, 0, 0, 0}};
  Reference rb{{0.25, -0.5}, {0, 0}, {0, 0}};
  const std::vector<std::vector<float>> grads_w = {
      {0.1f, -0.3f, 0.2f, 0.05f}, {-0.2f, 0.1f, 0.4f, 0.0f}, {0.3f, 0.3f, -0.1f, 0.2f}};
  const std::vector<std::vector<float>> grads_b = {{0.5f, -0.1f}, {0.2f, 0.2f}, {-0.3f, 0.05f}};
  for (int t = 1; t <= 3; ++t) {
    toy.set_grads(grads_w[t - 1], grads_b[t - 1]);
    optimizer.step(0.01 * t);
    rw.step({grads_w[t - 1].begin(), grads_w[t - 1].end()}, t, 0.01 * t, 0.1, lamb, true);
    rb.step({grads_b[t - 1].begin(), grads_b[t - 1].end()}, t, 0.01 * t, 0.1, lamb, false);
  }
  expect_values(toy.w, rw.w, "w");
  expect_values(toy.b, rb.w, "b");  // biases: no decay, trust ratio 1
  EXPECT_EQ(optimizer.steps(), 3);
}

std::string optimizer_name(const ::testing::TestParamInfo<OptimizerKind>& param) {
  return param.param == OptimizerKind::kLamb ? "Lamb" : "AdamW";
}

INSTANTIATE_TEST_SUITE_P(LambAndAdamW, OptimizerTest,
                         ::testing::Values(OptimizerKind::kLamb, OptimizerKind::kAdamW),
                         optimizer_name);

TEST(Lamb, TrustRatioScalesTheStepToTheWeightNorm) {
  // One step: m_hat / sqrt(v_hat) = sign(g), so u = sign(g) (no decay) and the LAMB step has
  // length lr ||w|| along sign(g).
  Toy toy;
  OptimizerOptions options;
  options.weight_decay = 0;
  Optimizer optimizer(toy, options);
  toy.set_grads({1, -1, 1, -1}, {0, 0});
  const double w_norm = toy.w.norm().item<double>();
  const at::Tensor before = toy.w.clone();
  optimizer.step(0.1);
  EXPECT_NEAR((before - toy.w).norm().item<double>(), 0.1 * w_norm, 1e-5);
}

TEST(Lamb, ZeroWeightsUseRatioOne) {
  Toy toy;
  {
    torch::NoGradGuard no_grad;
    toy.w.zero_();
  }
  Optimizer optimizer(toy, OptimizerOptions{});
  toy.set_grads({1, 1, 1, 1}, {0, 0});
  optimizer.step(0.1);
  expect_values(toy.w, {-0.1, -0.1, -0.1, -0.1}, "w");  // ||w|| = 0: r = 1
}

TEST(Optimizer, StateRoundTripContinuesIdentically) {
  Toy a, b;
  Optimizer oa(a, OptimizerOptions{}), ob(b, OptimizerOptions{});
  a.set_grads({0.1f, 0.2f, 0.3f, 0.4f}, {0.1f, 0.1f});
  oa.step(0.01);
  std::map<std::string, at::Tensor> state;
  for (const auto& [name, t] : oa.state()) state[name] = t.clone();
  copy_weights(b, a);
  ob.load_state(state, oa.steps());
  a.set_grads({-0.1f, 0.5f, 0.3f, 0.0f}, {0.2f, -0.1f});
  b.set_grads({-0.1f, 0.5f, 0.3f, 0.0f}, {0.2f, -0.1f});
  oa.step(0.01);
  ob.step(0.01);
  EXPECT_TRUE(at::equal(a.w, b.w));
  EXPECT_TRUE(at::equal(a.b, b.b));
  state.erase("m/w");
  EXPECT_THROW(ob.load_state(state, 1), Error);
}

TEST(Optimizer, ClipGradNormScalesToTheLimit) {
  Toy toy;
  toy.set_grads({3, 0, 0, 0}, {4, 0});  // global norm 5
  EXPECT_NEAR(clip_grad_norm(toy, 1.0).item<double>(), 5.0, 1e-6);
  EXPECT_NEAR(toy.w.grad()[0][0].item<double>(), 0.6, 1e-5);
  EXPECT_NEAR(toy.b.grad()[0].item<double>(), 0.8, 1e-5);
  toy.set_grads({0.3f, 0, 0, 0}, {0.4f, 0});  // under the limit: unchanged
  EXPECT_NEAR(clip_grad_norm(toy, 1.0).item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(toy.w.grad()[0][0].item<double>(), 0.3, 1e-6);
  EXPECT_NEAR(clip_grad_norm(toy, 0.0).item<double>(), 0.5, 1e-6);  // 0: measure only
}

TEST(Ema, DecayWarmupAndUpdate) {
  EXPECT_DOUBLE_EQ(ema_decay_at(0.9999, 0, true), 0.1);
  EXPECT_DOUBLE_EQ(ema_decay_at(0.9999, 90, true), 91.0 / 100.0);
  EXPECT_DOUBLE_EQ(ema_decay_at(0.9999, 1000000, true), 0.9999);
  EXPECT_DOUBLE_EQ(ema_decay_at(0.99, 0, false), 0.99);
  Toy ema, model;
  {
    torch::NoGradGuard no_grad;
    model.w.fill_(1.0);
    ema.w.fill_(0.0);
  }
  ema_update(ema, model, 0.75);
  expect_values(ema.w, {0.25, 0.25, 0.25, 0.25}, "ema");
}

}  // namespace
}  // namespace noisesched
