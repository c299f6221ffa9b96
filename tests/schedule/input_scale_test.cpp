// Input scaling b: the 2 ln b logSNR shift, the analytic normaliser, auto:REF and parsing.
#include "noisesched/schedule/input_scale.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "noisesched/common/error.h"
#include "noisesched/schedule/schedule.h"

namespace noisesched {
namespace {

TEST(InputScale, ShiftIdentityHoldsAtEveryT) {
  // ln(b^2 gamma / (1 - gamma)) computed from its definition equals logSNR + 2 ln b.
  for (const char* spec : {"simple_linear", "cosine@0.2,1,2", "sigmoid@-3,3,0.9"}) {
    const Schedule s = Schedule::parse(spec);
    for (double b : {0.1, 0.25, 0.5, 0.7, 1.0, 2.0}) {
      for (double t : {0.05, 0.3, 0.5, 0.8, 0.95}) {
        const double gamma = s.gamma(t);
        const double direct = std::log(b * b * gamma / (1.0 - gamma));
        EXPECT_NEAR(scaled_logsnr(s.logsnr(t), b), direct, 1e-12) << spec << " b=" << b;
      }
      EXPECT_NEAR(logsnr_shift(b), 2 * std::log(b), 0);
    }
  }
}

TEST(InputScale, AnalyticNormaliserGivesUnitVariance) {
  // x_t = sqrt(gamma) b x0 + sqrt(1 - gamma) eps with unit-variance x0: Monte Carlo variance of
  // the normalised x_t is 1 within sampling error, and exactly 1 in closed form.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  for (double b : {0.3, 1.0, 1.7}) {
    for (double gamma : {0.01, 0.5, 0.99}) {
      const double closed =
          (b * b * gamma + 1 - gamma) * std::pow(analytic_normalizer(gamma, b), 2);
      EXPECT_NEAR(closed, 1.0, 1e-14);
      const int n = 200000;
      double sum2 = 0;
      for (int i = 0; i < n; ++i) {
        const double x0 = normal(rng), eps = normal(rng);
        const double xt = std::sqrt(gamma) * b * x0 + std::sqrt(1 - gamma) * eps;
        sum2 += std::pow(xt * analytic_normalizer(gamma, b), 2);
      }
      EXPECT_NEAR(sum2 / n, 1.0, 0.015) << "b=" << b << " gamma=" << gamma;
    }
  }
  EXPECT_EQ(analytic_normalizer(0.3, 1.0), 1.0);  // b = 1: x_t already has unit variance
}

TEST(InputScale, ResolutionRule) {
  const InputScale rule = InputScale::parse("auto:64");
  EXPECT_TRUE(rule.is_automatic());
  EXPECT_EQ(rule.resolve(128.0), 0.5);
  EXPECT_EQ(rule.resolve(32.0), 2.0);
  // b = ref / res shifts logSNR exactly as simple diffusion's 2 ln(ref / res).
  const Schedule base = Schedule::parse("shifted_cosine@64,64");
  const Schedule shifted = Schedule::parse("shifted_cosine@64,256");
  EXPECT_NEAR(scaled_logsnr(base.logsnr(0.4), rule.resolve(256.0)), shifted.logsnr(0.4), 1e-12);
  EXPECT_THROW(rule.resolve(), Error);
  EXPECT_THROW(rule.resolve(0.0), Error);
}

TEST(InputScale, ParsesAndPrints) {
  EXPECT_EQ(InputScale::parse("0.5").resolve(), 0.5);
  EXPECT_EQ(InputScale::parse(" 1 ").resolve(), 1.0);
  EXPECT_EQ(InputScale::parse("0.5").to_string(), "0.5");
  EXPECT_EQ(InputScale::parse("auto:64").to_string(), "auto:64");
  EXPECT_EQ(InputScale::parse(InputScale::parse("auto:48").to_string()),
            InputScale::parse("auto:48"));
}

TEST(InputScale, RejectsBadValuesNamingThem) {
  for (const char* bad :
       {"0", "-0.5", "abc", "nan", "inf", "", "auto", "auto:", "auto:0", "auto:-64", "auto:x"}) {
    try {
      InputScale::parse(bad);
      FAIL() << "'" << bad << "' accepted";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(std::string("'") + bad + "'"), std::string::npos) << message;
      EXPECT_NE(message.find("auto:REF"), std::string::npos) << message;
    }
  }
  EXPECT_THROW(InputScale::fixed(0.0), Error);
}

TEST(Normalization, NamesRoundTripAndUnknownListsValid) {
  for (auto mode : {Normalization::kEmpirical, Normalization::kAnalytic, Normalization::kNone}) {
    EXPECT_EQ(parse_normalization(to_string(mode)), mode);
  }
  try {
    parse_normalization("batch");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "normalization 'batch' is not known; valid: empirical, analytic, none");
  }
}

}  // namespace
}  // namespace noisesched
