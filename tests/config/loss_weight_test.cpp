// Loss weightings: min-SNR-G turns each target's weighting into min(snr, G) on the x0 error.
#include "noisesched/config/loss_weight.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

// The weight each target puts on the error of the data x0 (before the input scale b), derived
// from z = a b x0 + s eps with snr = a^2 b^2 / s^2: the eps error is (a b / s) times it, the
// scaled x0 error b times it, and the v error (1 / s) times the scaled x0 error.
double target_x0_weight(Target target, double snr, double b) {
  switch (target) {
    case Target::kEps:
      return snr;
    case Target::kX0:
      return b * b;
    case Target::kV:
      return snr + b * b;
  }
  return 0.0;
}

TEST(LossWeighting, NoneIsOne) {
  const auto w = LossWeighting::parse("none");
  for (Target t : {Target::kEps, Target::kX0, Target::kV}) {
    for (double l : {-20.0, -1.0, 0.0, 3.0, 20.0}) EXPECT_EQ(w.weight(t, l), 1.0);
  }
  EXPECT_EQ(w.to_string(), "none");
}

TEST(LossWeighting, MinSnrMakesEveryTargetWeighTheX0ErrorByMinSnrG) {
  for (const char* text : {"min_snr", "min_snr@5", "min_snr@1", "min_snr@20"}) {
    const auto w = LossWeighting::parse(text);
    for (Target t : {Target::kEps, Target::kX0, Target::kV}) {
      for (double b : {1.0, 0.25, 0.5, 2.0}) {
        for (double l : {-12.0, -3.0, -0.5, 0.0, 0.7, std::log(w.gamma()), 2.5, 9.0, 15.0}) {
          const double snr = std::exp(l);
          const double expected = std::min(snr, w.gamma());
          EXPECT_NEAR(w.weight(t, l, b) * target_x0_weight(t, snr, b), expected,
                      1e-12 * (1 + expected))
              << text << " target " << to_string(t) << " b " << b << " logSNR " << l;
        }
      }
    }
  }
  EXPECT_EQ(LossWeighting::parse("min_snr").gamma(), 5.0);
  EXPECT_EQ(LossWeighting::parse("min_snr").to_string(), "min_snr@5");
  EXPECT_EQ(LossWeighting::parse(" min_snr@2.5 ").to_string(), "min_snr@2.5");
}

TEST(LossWeighting, FiniteAtInfiniteLogSnr) {
  const double inf = std::numeric_limits<double>::infinity();
  const auto w = LossWeighting::parse("min_snr@5");
  EXPECT_EQ(w.weight(Target::kEps, -inf), 1.0);  // pure noise: eps is already min(snr, 5)/snr
  EXPECT_EQ(w.weight(Target::kEps, inf), 0.0);
  EXPECT_EQ(w.weight(Target::kV, -inf), 0.0);
  EXPECT_EQ(w.weight(Target::kV, inf), 0.0);
  EXPECT_EQ(w.weight(Target::kX0, -inf), 0.0);
  EXPECT_EQ(w.weight(Target::kX0, inf), 5.0);
  // Large finite logSNR does not overflow into NaN.
  for (Target t : {Target::kEps, Target::kX0, Target::kV}) {
    EXPECT_TRUE(std::isfinite(w.weight(t, 800.0)));
    EXPECT_TRUE(std::isfinite(w.weight(t, -800.0)));
  }
}

TEST(LossWeighting, RejectsUnknownFormsNamingThem) {
  for (const char* bad : {"minsnr", "min_snr@0", "min_snr@-1", "min_snr@x", "min_snr@inf", ""}) {
    try {
      LossWeighting::parse(bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("loss weighting"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace noisesched
