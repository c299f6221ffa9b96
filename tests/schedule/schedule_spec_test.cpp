// Schedule spec strings: the official positional form, the named form, the canonical printed
// form, and every error case with its message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "noisesched/common/error.h"
#include "noisesched/schedule/schedule.h"
#include "test_util.h"

namespace noisesched {
namespace {

std::string error_of(const std::string& spec) {
  return testing::error_message([&] { Schedule::parse(spec); });
}

TEST(ScheduleSpec, OfficialPositionalForms) {
  const auto sigmoid = std::get<SigmoidSchedule>(Schedule::parse("sigmoid@-3,3,0.9").params());
  EXPECT_EQ(sigmoid.start, -3);
  EXPECT_EQ(sigmoid.end, 3);
  EXPECT_EQ(sigmoid.tau, 0.9);
  const auto cosine = std::get<CosineSchedule>(Schedule::parse("cosine@0.2,1,1").params());
  EXPECT_EQ(cosine.start, 0.2);
  EXPECT_EQ(cosine.end, 1);
  EXPECT_EQ(cosine.tau, 1);
  EXPECT_TRUE(
      std::holds_alternative<SimpleLinearSchedule>(Schedule::parse("simple_linear").params()));
}

TEST(ScheduleSpec, TrailingPositionalValuesTakeDefaults) {
  EXPECT_EQ(Schedule::parse("sigmoid@0"), Schedule(SigmoidSchedule{0, 3, 1}));
  EXPECT_EQ(Schedule::parse("sigmoid@0,2"), Schedule(SigmoidSchedule{0, 2, 1}));
  EXPECT_EQ(Schedule::parse("cosine@0.2"), Schedule(CosineSchedule{0.2, 1, 1}));
  EXPECT_EQ(Schedule::parse("cosine"), Schedule(CosineSchedule{0, 1, 1}));
  EXPECT_EQ(Schedule::parse("sigmoid"), Schedule(SigmoidSchedule{-3, 3, 1}));
}

TEST(ScheduleSpec, NamedFormAnySubsetAnyOrder) {
  EXPECT_EQ(Schedule::parse("sigmoid:start=-3,end=3,tau=0.9"), Schedule::parse("sigmoid@-3,3,0.9"));
  EXPECT_EQ(Schedule::parse("sigmoid:tau=0.9"), Schedule::parse("sigmoid@-3,3,0.9"));
  EXPECT_EQ(Schedule::parse("sigmoid: tau = 0.9 , start=-3"), Schedule::parse("sigmoid@-3,3,0.9"));
  EXPECT_EQ(Schedule::parse("cosine:clip_min=1e-5").clip_min(), 1e-5);
  EXPECT_EQ(Schedule::parse("shifted_cosine:res=128"),
            Schedule(ShiftedCosineSchedule{64, 128, -15, 15}));
}

TEST(ScheduleSpec, CanonicalFormIsNamedAndRoundTrips) {
  EXPECT_EQ(Schedule::parse("sigmoid@-3,3,0.9").to_string(), "sigmoid:start=-3,end=3,tau=0.9");
  EXPECT_EQ(Schedule::parse("simple_linear").to_string(), "simple_linear");
  EXPECT_EQ(Schedule::parse("simple_linear:clip_min=1e-6").to_string(),
            "simple_linear:clip_min=1e-6");
  EXPECT_EQ(Schedule::parse("ddpm_linear").to_string(),
            "ddpm_linear:beta_start=0.0001,beta_end=0.02,steps=1000");
}

TEST(ScheduleSpec, RoundTripIsBitExact) {
  const std::vector<std::string> specs = {
      "simple_linear",
      "cosine",
      "cosine@0.2,1,3",
      "cosine:start=0.1,end=0.9,tau=0.7,clip_min=1e-7",
      "sigmoid@-3,3,0.9",
      "sigmoid@0.30000000000000004,3.3,0.123456789012345678",
      "shifted_cosine@64,256",
      "shifted_cosine:ref=32,res=28,logsnr_min=-10,logsnr_max=12",
      "ddpm_linear@0.00085,0.012,1000",
      "karras",
      "karras@0.01,20,3"};
  for (const auto& spec : specs) {
    const Schedule s = Schedule::parse(spec);
    const Schedule back = Schedule::parse(s.to_string());
    EXPECT_EQ(back, s) << spec << " -> " << s.to_string();
    EXPECT_EQ(back.to_string(), s.to_string());
    for (double t : {0.0, 0.123, 0.5, 0.987, 1.0}) EXPECT_EQ(back.gamma(t), s.gamma(t));
  }
}

TEST(ScheduleSpec, UnknownNameListsTheValidNames) {
  EXPECT_EQ(error_of("linear"),
            "schedule 'linear': unknown schedule 'linear'; valid names: simple_linear, cosine, "
            "sigmoid, shifted_cosine, ddpm_linear, karras");
  EXPECT_NE(error_of("").find("valid names"), std::string::npos);
}

TEST(ScheduleSpec, UnknownKeyListsTheKeys) {
  EXPECT_EQ(error_of("sigmoid:temperature=1"),
            "schedule 'sigmoid:temperature=1': unknown key 'temperature' for sigmoid; keys: "
            "start, end, tau, clip_min");
  EXPECT_NE(error_of("sigmoid:tau").find("expected key=value"), std::string::npos);
  EXPECT_NE(error_of("sigmoid:tau=1,tau=2").find("given twice"), std::string::npos);
}

TEST(ScheduleSpec, DomainErrors) {
  EXPECT_EQ(error_of("sigmoid@-3,3,0"),
            "schedule 'sigmoid@-3,3,0': sigmoid: tau must be in [0.001, 1000] (got 0)");
  EXPECT_EQ(error_of("cosine:tau=-1"),
            "schedule 'cosine:tau=-1': cosine: tau must be in [0.001, 1000] (got -1)");
  // The ranges fuzzing showed were needed (fuzz/corpus/schedule/crash-*).
  EXPECT_EQ(
      error_of("cosine@0.2,1,4.1e-299"),
      "schedule 'cosine@0.2,1,4.1e-299': cosine: tau must be in [0.001, 1000] (got 4.1e-299)");
  EXPECT_EQ(error_of("sigmoid@-1e76,3"),
            "schedule 'sigmoid@-1e76,3': sigmoid: start must be in [-100, 100] (got -1e76)");
  EXPECT_EQ(error_of("sigmoid:end=101"),
            "schedule 'sigmoid:end=101': sigmoid: end must be in [-100, 100] (got 101)");
  EXPECT_EQ(error_of("sigmoid@3,-3"),
            "schedule 'sigmoid@3,-3': sigmoid: start must be < end (got 3)");
  EXPECT_EQ(error_of("sigmoid@3,3"),
            "schedule 'sigmoid@3,3': sigmoid: start must be < end (got 3)");
  EXPECT_EQ(error_of("cosine@0.5,0.2"),
            "schedule 'cosine@0.5,0.2': cosine: start must be < end (got 0.5)");
  EXPECT_EQ(error_of("cosine@-0.1"),
            "schedule 'cosine@-0.1': cosine: start must be in [0, 1] (got -0.1)");
  EXPECT_EQ(error_of("cosine@0,1.5"),
            "schedule 'cosine@0,1.5': cosine: end must be in [0, 1] (got 1.5)");
  EXPECT_EQ(error_of("cosine:clip_min=0"),
            "schedule 'cosine:clip_min=0': clip_min must be in (0, 1) (got 0)");
  EXPECT_EQ(error_of("cosine:clip_min=1"),
            "schedule 'cosine:clip_min=1': clip_min must be in (0, 1) (got 1)");
  EXPECT_NE(error_of("ddpm_linear@0.0001,0.02,0").find("steps must be a whole number"),
            std::string::npos);
  EXPECT_NE(error_of("karras@1,0.5").find("sigma_min must be < sigma_max"), std::string::npos);
  EXPECT_NE(error_of("shifted_cosine:res=-64").find("res must be > 0"), std::string::npos);
}

TEST(ScheduleSpec, NonNumbers) {
  EXPECT_EQ(error_of("sigmoid@-3,abc"), "schedule 'sigmoid@-3,abc': end: 'abc' is not a number");
  EXPECT_EQ(error_of("sigmoid:tau=nan"),
            "schedule 'sigmoid:tau=nan': tau: 'nan' is not a finite number");
  EXPECT_NE(error_of("sigmoid@-3,,1").find("empty value"), std::string::npos);
  EXPECT_NE(error_of("cosine@").find("empty value"), std::string::npos);
  EXPECT_NE(error_of("sigmoid@1e999").find("not a finite number"), std::string::npos);
}

TEST(ScheduleSpec, TooManyValues) {
  EXPECT_EQ(error_of("cosine@0,1,1,2"),
            "schedule 'cosine@0,1,1,2': cosine takes at most 3 positional values (start, end, "
            "tau), got 4");
  EXPECT_EQ(error_of("simple_linear@1"),
            "schedule 'simple_linear@1': simple_linear takes no positional values (got 1); "
            "its one key is clip_min, as in simple_linear:clip_min=1e-9");
}

}  // namespace
}  // namespace noisesched
