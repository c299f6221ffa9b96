// Schedule maths: golden values from an independent high-precision script, endpoints,
// monotonicity, the inverse t(logSNR) and the density of logSNR.
#include "noisesched/schedule/schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Golden {
  const char* spec;
  double t, gamma, one_minus, logsnr, density;
};

const std::vector<Golden> kGolden = {
#include "golden/schedule_golden.inc"
};

// |a - b| <= rel * |b| + abs
void expect_close(double actual, double expected, double rel, double abs, const std::string& what) {
  if (std::isinf(expected)) {
    EXPECT_EQ(actual, expected) << what;
    return;
  }
  EXPECT_NEAR(actual, expected, rel * std::fabs(expected) + abs) << what;
}

std::vector<std::string> golden_specs() {
  std::vector<std::string> specs;
  for (const auto& g : kGolden) {
    if (specs.empty() || specs.back() != g.spec) specs.push_back(g.spec);
  }
  return specs;
}

TEST(ScheduleGolden, CoversEveryFamily) {
  std::vector<bool> seen(schedule_families().size(), false);
  for (const auto& spec : golden_specs()) seen[Schedule::parse(spec).params().index()] = true;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_TRUE(seen[i]) << schedule_families()[i].name << " has no golden values";
  }
}

TEST(ScheduleGolden, GammaAndOneMinusGammaToFullRelativePrecision) {
  for (const auto& g : kGolden) {
    const Schedule schedule = Schedule::parse(g.spec);
    const Variances v = schedule.variances(g.t);
    const std::string what = std::string(g.spec) + " at t=" + std::to_string(g.t);
    expect_close(v.gamma, g.gamma, 1e-12, 0, what + " gamma");
    // 1 - gamma is computed directly, so it keeps its relative precision even when tiny.
    expect_close(v.one_minus, g.one_minus, 1e-11, 0, what + " 1-gamma");
  }
}

TEST(ScheduleGolden, LogSnr) {
  for (const auto& g : kGolden) {
    const Schedule schedule = Schedule::parse(g.spec);
    expect_close(schedule.logsnr(g.t), g.logsnr, 1e-11, 1e-11,
                 std::string(g.spec) + " at t=" + std::to_string(g.t));
  }
}

TEST(ScheduleGolden, DensityOfLogSnrMatchesNumericalDerivative) {
  int checked = 0;
  for (const auto& g : kGolden) {
    if (g.density < 0) continue;
    const Schedule schedule = Schedule::parse(g.spec);
    expect_close(schedule.logsnr_density(g.logsnr), g.density, 1e-8, 1e-14,
                 std::string(g.spec) + " at t=" + std::to_string(g.t));
    ++checked;
  }
  EXPECT_GT(checked, 150);
}

TEST(ScheduleGolden, InverseRecoversT) {
  for (const auto& g : kGolden) {
    if (g.density < 0) continue;  // endpoints and the clipped part have no unique inverse
    const Schedule schedule = Schedule::parse(g.spec);
    expect_close(schedule.t_from_logsnr(g.logsnr), g.t, 1e-9, 1e-13,
                 std::string(g.spec) + " at t=" + std::to_string(g.t));
  }
}

TEST(Schedule, EndpointsOfAlgorithmOneSchedules) {
  for (const char* spec : {"simple_linear", "cosine", "cosine@0.2,1,3", "cosine@0,0.7,0.5",
                           "sigmoid", "sigmoid@0,3,0.3", "sigmoid@-3,3,0.9"}) {
    const Schedule s = Schedule::parse(spec);
    EXPECT_EQ(s.gamma(0.0), 1.0) << spec;
    EXPECT_EQ(s.logsnr(0.0), kInf) << spec;
    EXPECT_EQ(s.gamma(1.0), kDefaultClipMin) << spec;  // gamma(1) = 0, clipped
    EXPECT_NEAR(s.logsnr(1.0), std::log(1e-9 / (1 - 1e-9)), 1e-12) << spec;
  }
}

TEST(Schedule, ClipMinIsHonoured) {
  const Schedule s = Schedule::parse("cosine:clip_min=1e-4");
  EXPECT_EQ(s.gamma(1.0), 1e-4);
  EXPECT_EQ(s.gamma(0.999), 1e-4);  // unclipped gamma(0.999) = 2.5e-6
  EXPECT_NEAR(s.gamma(0.9), Schedule::parse("cosine").gamma(0.9), 1e-15);
  EXPECT_EQ(s.logsnr_density(s.logsnr(1.0)), 0.0);  // the point mass is not part of the density
}

TEST(Schedule, GammaDecreasesAndLogSnrStaysFinite) {
  const std::vector<std::string> specs = {"simple_linear",
                                          "cosine",
                                          "cosine@0.2,1,2",
                                          "cosine@0,0.5,4",
                                          "sigmoid",
                                          "sigmoid@0,3,0.3",
                                          "sigmoid@-20,30,0.1",
                                          "shifted_cosine@64,512",
                                          "ddpm_linear",
                                          "ddpm_linear@0.0001,0.02,7",
                                          "karras",
                                          "karras@0.02,1000,2"};
  for (const auto& spec : specs) {
    const Schedule s = Schedule::parse(spec);
    double previous_gamma = 2.0, previous_logsnr = kInf;
    for (int i = 0; i <= 4000; ++i) {
      const double t = i / 4000.0;
      const Variances v = s.variances(t);
      ASSERT_TRUE(std::isfinite(v.gamma) && std::isfinite(v.one_minus)) << spec << " t=" << t;
      ASSERT_GE(v.gamma, kDefaultClipMin) << spec << " t=" << t;
      ASSERT_LE(v.gamma, 1.0) << spec << " t=" << t;
      ASSERT_NEAR(v.gamma + v.one_minus, 1.0, 1e-13) << spec << " t=" << t;
      // Non-increasing up to rounding (a few ulps at extreme windows such as sigmoid@-20,30,0.1).
      ASSERT_LE(v.gamma, previous_gamma * (1 + 1e-13)) << spec << " t=" << t;
      const double l = s.logsnr(t);
      ASSERT_FALSE(std::isnan(l)) << spec << " t=" << t;
      if (t > 0) {
        ASSERT_TRUE(std::isfinite(l)) << spec << " t=" << t;
        ASSERT_LE(l, previous_logsnr + 1e-12 * std::fabs(l)) << spec << " t=" << t;
      }
      previous_gamma = v.gamma;
      previous_logsnr = l;
    }
  }
}

TEST(Schedule, SigmaIsTheEdmNoiseLevel) {
  const Schedule karras = Schedule::parse("karras");
  EXPECT_NEAR(karras.sigma(0.0), 0.002, 1e-15);
  EXPECT_NEAR(karras.sigma(1.0), 80.0, 1e-11);
  const Schedule cosine = Schedule::parse("cosine");
  // sigma^2 = (1 - gamma) / gamma; for cosine(0,1,1) that is tan(t pi / 2)^2.
  EXPECT_NEAR(cosine.sigma(0.3), std::tan(0.3 * M_PI / 2), 1e-14);
}

TEST(Schedule, ShiftedCosineIsTheCosineShiftedByTwoLnRefOverRes) {
  const Schedule base = Schedule::parse("shifted_cosine@64,64");
  const Schedule shifted = Schedule::parse("shifted_cosine@64,256");
  for (double t : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    EXPECT_NEAR(shifted.logsnr(t) - base.logsnr(t), 2 * std::log(64.0 / 256.0), 1e-12) << t;
  }
  // Unshifted, the logSNR range is [logsnr_min, logsnr_max].
  EXPECT_NEAR(base.logsnr(0.0), 15.0, 1e-9);
  EXPECT_NEAR(base.logsnr(1.0), -15.0, 1e-9);
}

TEST(Schedule, DdpmLinearMatchesTheDiscreteProductAtKnots) {
  const Schedule s = Schedule::parse("ddpm_linear");
  double alpha_bar = 1.0;
  for (int k = 0; k < 1000; ++k) {
    const double beta = 1e-4 + (0.02 - 1e-4) * k / 999.0;
    alpha_bar *= 1.0 - beta;
    if ((k + 1) % 100 == 0) {
      EXPECT_NEAR(s.gamma((k + 1) / 1000.0), alpha_bar, 1e-13 * alpha_bar + 1e-17) << k;
    }
  }
}

TEST(Schedule, DensityIntegratesToTheUnclippedMass) {
  // Integral of the density over logSNR = P(t not clipped); checked by the trapezoid rule on a
  // fine grid, and against a histogram of logSNR(t) for evenly spaced t.
  for (const char* spec : {"simple_linear", "cosine@0.2,1,3", "sigmoid@0,3,0.3", "karras",
                           "shifted_cosine@64,128", "ddpm_linear"}) {
    const Schedule s = Schedule::parse(spec);
    const double lo = std::max(s.logsnr(1.0), -40.0), hi = std::min(s.logsnr(1e-9), 40.0);
    const int n = 400000;
    double integral = 0.0;
    for (int i = 0; i <= n; ++i) {
      const double l = lo + (hi - lo) * i / n;
      integral += (i == 0 || i == n ? 0.5 : 1.0) * s.logsnr_density(l);
    }
    integral *= (hi - lo) / n;
    // Mass inside (lo, hi): t runs from t(hi) to t(lo), less what is clipped.
    const double expected = s.t_from_logsnr(lo) - s.t_from_logsnr(hi);
    EXPECT_NEAR(integral, expected, 2e-4) << spec;
  }
}

TEST(Schedule, DensityMatchesHistogramOfUniformT) {
  const Schedule s = Schedule::parse("sigmoid@-3,3,0.9");
  const int samples = 1000000;
  const double lo = -6, hi = 6;
  const int bins = 24;
  std::vector<double> count(bins, 0.0);
  for (int i = 0; i < samples; ++i) {
    const double l = s.logsnr((i + 0.5) / samples);
    if (l >= lo && l < hi) count[static_cast<int>((l - lo) / (hi - lo) * bins)] += 1;
  }
  const double width = (hi - lo) / bins;
  for (int b = 0; b < bins; ++b) {
    const double centre = lo + (b + 0.5) * width;
    // Midpoint density vs bin frequency: curvature error is O(width^2), well under 2%.
    EXPECT_NEAR(count[b] / samples / width, s.logsnr_density(centre),
                0.02 * s.logsnr_density(centre) + 1e-4)
        << "bin " << b;
  }
}

TEST(Schedule, InverseClampsOutsideTheRange) {
  const Schedule s = Schedule::parse("karras");
  EXPECT_EQ(s.t_from_logsnr(100.0), 0.0);
  EXPECT_EQ(s.t_from_logsnr(kInf), 0.0);
  EXPECT_EQ(s.t_from_logsnr(-100.0), 1.0);
  EXPECT_EQ(s.logsnr_density(100.0), 0.0);
  EXPECT_EQ(s.logsnr_density(-100.0), 0.0);
  EXPECT_THROW(s.t_from_logsnr(std::nan("")), Error);
}

TEST(Schedule, RejectsTimesOutsideTheUnitInterval) {
  const Schedule s;
  for (double t : {-0.001, 1.001, std::nan(""), kInf}) {
    EXPECT_THROW(s.gamma(t), Error) << t;
  }
}

TEST(Schedule, ConstructorValidatesParameters) {
  EXPECT_THROW(Schedule(CosineSchedule{0.5, 0.5, 1}), Error);
  EXPECT_THROW(Schedule(CosineSchedule{-0.1, 1, 1}), Error);
  EXPECT_THROW(Schedule(CosineSchedule{0, 1.5, 1}), Error);
  EXPECT_THROW(Schedule(SigmoidSchedule{-3, 3, 0}), Error);
  EXPECT_THROW(Schedule(SigmoidSchedule{3, -3, 1}), Error);
  EXPECT_THROW(Schedule(ShiftedCosineSchedule{0, 64, -15, 15}), Error);
  EXPECT_THROW(Schedule(DdpmLinearSchedule{0.02, 0.0001, 1000}), Error);
  EXPECT_THROW(Schedule(DdpmLinearSchedule{1e-4, 0.02, 10.5}), Error);
  EXPECT_THROW(Schedule(KarrasSchedule{80, 0.002, 7}), Error);
  EXPECT_THROW(Schedule(SimpleLinearSchedule{}, 0.0), Error);
  EXPECT_THROW(Schedule(SimpleLinearSchedule{}, 1.0), Error);
  EXPECT_NO_THROW(Schedule(CosineSchedule{0, 1, 0.01}));
}

}  // namespace
}  // namespace noisesched
