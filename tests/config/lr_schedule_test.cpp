// Learning-rate schedules: warm-up, cosine, the official cosine@F, linear, constant.
#include "noisesched/config/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

TEST(LrSchedule, WarmupIsLinearFromTheFirstStep) {
  const auto s = LrSchedule::parse("cosine");
  EXPECT_DOUBLE_EQ(s.factor(0, 10, 100), 0.1);
  EXPECT_DOUBLE_EQ(s.factor(4, 10, 100), 0.5);
  EXPECT_DOUBLE_EQ(s.factor(9, 10, 100), 1.0);
  EXPECT_DOUBLE_EQ(s.factor(10, 10, 100), 1.0);  // decay starts at 1
}

TEST(LrSchedule, CosineReachesZeroAtTheEnd) {
  const auto s = LrSchedule::parse("cosine");
  EXPECT_NEAR(s.factor(55, 10, 100), 0.5, 1e-12);  // halfway through the decay
  EXPECT_NEAR(s.factor(100, 10, 100), 0.0, 1e-12);
  EXPECT_NEAR(s.factor(32, 10, 100), 0.5 * (1 + std::cos(M_PI * 22 / 90.0)), 1e-12);
}

TEST(LrSchedule, CosineAtFDecaysOverALongerSpan) {
  // cosine@0.5: the decay spans (total - warmup) / 0.5 steps, so at the end the rate is halfway.
  const auto s = LrSchedule::parse("cosine@0.5");
  EXPECT_NEAR(s.factor(100, 10, 100), 0.5, 1e-12);
  EXPECT_GT(s.factor(99, 10, 100), 0.0);
  EXPECT_EQ(s.to_string(), "cosine@0.5");
  // F > 1 reaches 0 early and stays there.
  EXPECT_NEAR(LrSchedule::parse("cosine@2").factor(55, 10, 100), 0.0, 1e-12);
  EXPECT_NEAR(LrSchedule::parse("cosine@2").factor(90, 10, 100), 0.0, 1e-12);
}

TEST(LrSchedule, LinearAndConstant) {
  EXPECT_NEAR(LrSchedule::parse("linear").factor(55, 10, 100), 0.5, 1e-12);
  EXPECT_NEAR(LrSchedule::parse("linear").factor(100, 10, 100), 0.0, 1e-12);
  EXPECT_EQ(LrSchedule::parse("constant").factor(77, 10, 100), 1.0);
  EXPECT_EQ(LrSchedule::parse("constant").factor(0, 0, 100), 1.0);
}

TEST(LrSchedule, RejectsUnknownForms) {
  EXPECT_THROW(LrSchedule::parse("exp"), Error);
  EXPECT_THROW(LrSchedule::parse("cosine@0"), Error);
  EXPECT_THROW(LrSchedule::parse("cosine@x"), Error);
}

}  // namespace
}  // namespace noisesched
