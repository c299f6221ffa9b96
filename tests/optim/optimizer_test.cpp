// LAMB and AdamW against updates computed by hand, clipping, EMA, state round trips.
#include "noisesched/optim/optimizer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <cmath>
#include <tuple>

#include "noisesched/common/error.h"
#include "noisesched/core/op_profile.h"

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

// Parameters of every kind a model has: convolution kernels (4-d), matrices, embeddings, biases
// and normalisation gains (1-d), a 0-d scale; `layers` repeats the set.
struct Mixed : torch::nn::Module {
  explicit Mixed(int layers) {
    for (int i = 0; i < layers; ++i) {
      const std::string n = std::to_string(i);
      params.push_back(register_parameter("conv" + n, at::randn({4, 3, 3, 3})));
      params.push_back(register_parameter("conv_bias" + n, at::randn({4})));
      params.push_back(register_parameter("linear" + n, at::randn({37, 19})));
      params.push_back(register_parameter("gain" + n, at::ones({19})));
      params.push_back(register_parameter("embedding" + n, at::randn({10, 8})));
      params.push_back(register_parameter("scale" + n, at::randn({})));
    }
  }
  void set_grads(int step, const std::vector<bool>& defined = {}) {
    at::manual_seed(1000 + step);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const bool keep = defined.empty() || defined[i];
      params[i].mutable_grad() = keep ? at::randn(params[i].sizes()) : at::Tensor();
    }
  }
  std::vector<at::Tensor> params;
};

// (optimizer, weight decay, clipping)
class MultiTensorTest : public ::testing::TestWithParam<std::tuple<OptimizerKind, double, double>> {
};

TEST_P(MultiTensorTest, EqualsThePerTensorLoopBitForBit) {
  const auto [kind, decay, clip] = GetParam();
  at::manual_seed(7);
  Mixed a(2), b(2);
  copy_weights(b, a);
  OptimizerOptions options;
  options.kind = kind;
  options.weight_decay = decay;
  Optimizer multi(a, options);
  options.multi_tensor = false;
  Optimizer loop(b, options);
  for (int step = 0; step < 5; ++step) {
    a.set_grads(step);
    b.set_grads(step);
    // A gradient under the clipping limit on some steps and over it on others.
    if (step % 2 == 1) {
      torch::NoGradGuard no_grad;
      for (auto& p : a.params) p.grad().mul_(1e-3);
      for (auto& p : b.params) p.grad().mul_(1e-3);
    }
    if (clip > 0) {
      EXPECT_TRUE(at::equal(clip_grad_norm(a, clip), clip_grad_norm(b, clip)));
    }
    multi.step(1e-2 * (step + 1));
    loop.step(1e-2 * (step + 1));
  }
  for (std::size_t i = 0; i < a.params.size(); ++i) {
    EXPECT_TRUE(at::equal(a.params[i], b.params[i])) << a.named_parameters().keys()[i];
    EXPECT_FALSE(at::equal(a.params[i], b.params[i].grad()));  // it moved at all
  }
  const NamedTensors sa = multi.state(), sb = loop.state();
  ASSERT_EQ(sa.size(), sb.size());
  for (std::size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_TRUE(at::equal(sa[i].second, sb[i].second)) << sa[i].first;
  }
}

std::string multi_tensor_name(
    const ::testing::TestParamInfo<std::tuple<OptimizerKind, double, double>>& param) {
  const auto [kind, decay, clip] = param.param;
  return std::string(kind == OptimizerKind::kLamb ? "Lamb" : "AdamW") +
         (decay > 0 ? "_Decay" : "_NoDecay") + (clip > 0 ? "_Clip" : "_NoClip");
}

INSTANTIATE_TEST_SUITE_P(
    EveryOptimizer, MultiTensorTest,
    ::testing::Combine(::testing::Values(OptimizerKind::kLamb, OptimizerKind::kAdamW),
                       ::testing::Values(0.0, 0.05), ::testing::Values(0.0, 1.0)),
    multi_tensor_name);

TEST(MultiTensor, AStepWhereAParameterHasNoGradientSkipsItLikeTheLoop) {
  at::manual_seed(3);
  Mixed a(1), b(1);
  copy_weights(b, a);
  Optimizer multi(a, OptimizerOptions{});
  OptimizerOptions loop_options;
  loop_options.multi_tensor = false;
  Optimizer loop(b, loop_options);
  const std::vector<bool> all(a.params.size(), true);
  std::vector<bool> some = all;
  some[2] = false;  // the linear matrix
  for (int step = 0; step < 3; ++step) {
    a.set_grads(step, step == 1 ? some : all);
    b.set_grads(step, step == 1 ? some : all);
    multi.step(0.01);
    loop.step(0.01);
  }
  for (std::size_t i = 0; i < a.params.size(); ++i) {
    EXPECT_TRUE(at::equal(a.params[i], b.params[i])) << i;
  }
}

TEST(MultiTensor, AModelWithoutMatricesEqualsTheLoop) {
  // No matrix-like parameter: no decay and no trust ratio anywhere, one update of all vectors.
  struct Vectors : torch::nn::Module {
    Vectors() {
      a = register_parameter("a", at::randn({7}));
      b = register_parameter("b", at::randn({}));
    }
    at::Tensor a, b;
  };
  at::manual_seed(9);
  Vectors x, y;
  copy_weights(y, x);
  for (const OptimizerKind kind : {OptimizerKind::kLamb, OptimizerKind::kAdamW}) {
    OptimizerOptions options;
    options.kind = kind;
    Optimizer multi(x, options);
    options.multi_tensor = false;
    Optimizer loop(y, options);
    for (int step = 0; step < 3; ++step) {
      at::manual_seed(step);
      x.a.mutable_grad() = at::randn({7});
      x.b.mutable_grad() = at::randn({});
      y.a.mutable_grad() = x.a.grad().clone();
      y.b.mutable_grad() = x.b.grad().clone();
      multi.step(0.01);
      loop.step(0.01);
    }
    EXPECT_TRUE(at::equal(x.a, y.a));
    EXPECT_TRUE(at::equal(x.b, y.b));
  }
}

TEST(FusedAdamW, AgreesWithThePerTensorLoopWhereLibTorchHasIt) {
  if (!Optimizer::fused_adamw_available(at::kCPU)) {
    GTEST_SKIP() << "this LibTorch has no CPU kernel for at::_fused_adamw_ (it came in 2.4; "
                    "Debian's is 1.13): the configure check left the fused path out";
  }
  for (const double decay : {0.0, 0.05}) {
    SCOPED_TRACE(decay);
    at::manual_seed(7);
    Mixed a(2), b(2);
    copy_weights(b, a);
    OptimizerOptions options;
    options.kind = OptimizerKind::kAdamW;
    options.weight_decay = decay;
    options.fused = FusedAdamW::kOn;
    Optimizer fused(a, options);
    EXPECT_STREQ(fused.update_path(), "fused");
    options.multi_tensor = false;
    Optimizer loop(b, options);
    for (int step = 0; step < 5; ++step) {
      a.set_grads(step);
      b.set_grads(step);
      clip_grad_norm(a, 1.0);
      clip_grad_norm(b, 1.0);
      fused.step(1e-2 * (step + 1));
      loop.step(1e-2 * (step + 1));
    }
    at::manual_seed(7);
    Mixed initial(2);  // the weights before the updates, to see that they moved
    for (std::size_t i = 0; i < a.params.size(); ++i) {
      const std::string name = a.named_parameters().keys()[i];
      // Five steps of up to lr = 0.05 each: float rounding is about 1e-8 of that.
      EXPECT_LT((a.params[i] - b.params[i]).abs().max().item<double>(), 1e-6) << name;
      EXPECT_GT((a.params[i] - initial.params[i]).abs().max().item<double>(), 1e-3) << name;
    }
    const NamedTensors sa = fused.state(), sb = loop.state();
    ASSERT_EQ(sa.size(), sb.size());
    for (std::size_t i = 0; i < sa.size(); ++i) {
      EXPECT_EQ(sa[i].first, sb[i].first);
      EXPECT_TRUE(at::allclose(sa[i].second, sb[i].second, 1e-6, 1e-9)) << sa[i].first;
    }
  }
}

TEST(FusedAdamW, TheCpuKeepsTheExactMultiTensorPathUnlessAsked) {
  Mixed model(1);
  OptimizerOptions options;
  options.kind = OptimizerKind::kAdamW;
  EXPECT_STREQ(Optimizer(model, options).update_path(), "multi-tensor");  // kAuto on the CPU
  options.fused = FusedAdamW::kOn;
  if (Optimizer::fused_adamw_available(at::kCPU)) {
    EXPECT_STREQ(Optimizer(model, options).update_path(), "fused");
  } else {
    try {
      Optimizer optimizer(model, options);
      ADD_FAILURE() << "fused AdamW was accepted where LibTorch has no kernel for it";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("has no at::_fused_adamw_ for cpu"), std::string::npos)
          << e.what();
    }
  }
  options.kind = OptimizerKind::kLamb;  // LAMB has no fused kernel: the multi-tensor update
  EXPECT_STREQ(Optimizer(model, options).update_path(), "multi-tensor");
  options.kind = OptimizerKind::kAdamW;
  options.multi_tensor = false;
  EXPECT_STREQ(Optimizer(model, options).update_path(), "per-tensor");
}

// The operations the optimizer scope dispatches in one clipped update and EMA of `layers` sets.
std::int64_t optimizer_dispatches(OptimizerKind kind, int layers, bool multi_tensor) {
  at::manual_seed(11);
  Mixed model(layers), ema(layers);
  OptimizerOptions options;
  options.kind = kind;
  options.multi_tensor = multi_tensor;
  Optimizer optimizer(model, options);
  model.set_grads(0);
  OpProfile profile;
  {
    const ProfileScope scope("noisesched::optimizer");
    clip_grad_norm(model, 1.0);
    optimizer.step(0.01);
    ema_update(ema, model, 0.99);
  }
  for (const OpTime& op : profile.stop()) {
    if (op.name == "noisesched::optimizer") return op.dispatches;
  }
  ADD_FAILURE() << "no optimizer row in the profile";
  return -1;
}

TEST(MultiTensor, OperationCountDoesNotGrowWithTheNumberOfParameterTensors) {
  for (const OptimizerKind kind : {OptimizerKind::kLamb, OptimizerKind::kAdamW}) {
    const std::int64_t few = optimizer_dispatches(kind, 1, true);    // 6 parameter tensors
    const std::int64_t many = optimizer_dispatches(kind, 20, true);  // 120
    EXPECT_GT(few, 0);
    EXPECT_LT(few, 40);
    EXPECT_EQ(few, many) << (kind == OptimizerKind::kLamb ? "LAMB" : "AdamW");
    // The measure sees the difference: the per-tensor loop dispatches per parameter.
    EXPECT_GT(optimizer_dispatches(kind, 20, false), optimizer_dispatches(kind, 1, false) + 100);
  }
}

// Device scalars (what a CUDA graph of the update replays): the update with its numbers read from
// a float32 tensor (next_update() + step(tensor)) agrees with the host numbers on every path
// (LAMB and AdamW, the multi-tensor and per-tensor updates, the fused kernel where LibTorch has
// it), with and without weight decay, and so does the EMA with its weight as a tensor.
TEST(DeviceScalars, AgreeWithTheHostNumbersOnEveryPath) {
  struct Case {
    OptimizerKind kind;
    bool multi_tensor;
    FusedAdamW fused;
  };
  std::vector<Case> cases = {{OptimizerKind::kLamb, true, FusedAdamW::kOff},
                             {OptimizerKind::kLamb, false, FusedAdamW::kOff},
                             {OptimizerKind::kAdamW, true, FusedAdamW::kOff},
                             {OptimizerKind::kAdamW, false, FusedAdamW::kOff}};
  if (Optimizer::fused_adamw_available(at::kCPU)) {
    cases.push_back({OptimizerKind::kAdamW, true, FusedAdamW::kOn});
  }
  for (const Case& k : cases) {
    for (const double decay : {0.0, 0.05}) {
      SCOPED_TRACE(std::string(k.kind == OptimizerKind::kLamb ? "lamb" : "adamw") +
                   (k.multi_tensor ? " multi-tensor" : " per-tensor") +
                   (k.fused == FusedAdamW::kOn ? " fused" : "") + " decay " +
                   std::to_string(decay));
      at::manual_seed(7);
      Mixed a(2), b(2), ema_a(2), ema_b(2);
      copy_weights(b, a);
      copy_weights(ema_a, a);
      copy_weights(ema_b, a);
      OptimizerOptions options;
      options.kind = k.kind;
      options.weight_decay = decay;
      options.multi_tensor = k.multi_tensor;
      options.fused = k.fused;
      Optimizer host(a, options), device(b, options);
      for (int step = 0; step < 5; ++step) {
        a.set_grads(step);
        b.set_grads(step);
        const double lr = 1e-2 * (step + 1), ema_decay = ema_decay_at(0.999, step, true);
        host.step(lr);
        ema_update(ema_a, a, ema_decay);
        double numbers[kUpdateScalars];
        device.next_update(lr, numbers);
        numbers[kEmaWeight] = 1.0 - ema_decay;
        const at::Tensor scalars =
            at::tensor(std::vector<double>(numbers, numbers + kUpdateScalars), at::kDouble)
                .to(at::kFloat);
        device.step(scalars);
        ema_update(ema_b, b, scalars.select(0, kEmaWeight));
      }
      EXPECT_EQ(host.steps(), device.steps());
      at::manual_seed(7);
      Mixed initial(2);
      for (std::size_t i = 0; i < a.params.size(); ++i) {
        const std::string name = a.named_parameters().keys()[i];
        // Five steps of up to lr = 0.05: float rounding of lr and of the products, ~1e-8.
        EXPECT_LT((a.params[i] - b.params[i]).abs().max().item<double>(), 1e-6) << name;
        EXPECT_GT((a.params[i] - initial.params[i]).abs().max().item<double>(), 1e-3) << name;
        EXPECT_LT((ema_a.params[i] - ema_b.params[i]).abs().max().item<double>(), 1e-6) << name;
      }
      const NamedTensors sa = host.state(), sb = device.state();
      for (std::size_t i = 0; i < sa.size(); ++i) {
        EXPECT_TRUE(at::allclose(sa[i].second, sb[i].second, 1e-6, 1e-9)) << sa[i].first;
      }
    }
  }
  Mixed model(1);
  Optimizer optimizer(model, OptimizerOptions{});
  model.set_grads(0);
  try {
    optimizer.step(at::zeros({kUpdateScalars}, at::kDouble));
    ADD_FAILURE() << "float64 numbers were taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("float32 tensor of 5 values"), std::string::npos)
        << e.what();
  }
}

TEST(Ema, EqualsLerpOnEveryParameter) {
  at::manual_seed(5);
  Mixed model(2), ema(2), reference(2);
  copy_weights(reference, ema);
  for (const double decay : {0.1, 0.75, 0.9999}) {
    ema_update(ema, model, decay);
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < reference.params.size(); ++i) {
      reference.params[i].lerp_(model.params[i], 1.0 - decay);
    }
  }
  // Equal to float rounding of the operands (values of order 1): where LibTorch has no
  // _foreach_lerp_ the update is target + w (source - target) for every weight, lerp's form for
  // weights under 1/2; over 1/2 lerp computes source - (1 - w) (source - target).
  for (std::size_t i = 0; i < ema.params.size(); ++i) {
    EXPECT_LE((ema.params[i] - reference.params[i]).abs().max().item<double>(), 1e-6) << i;
  }
}

}  // namespace
}  // namespace noisesched
