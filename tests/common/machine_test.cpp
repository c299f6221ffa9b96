// The machine's description and the step timer behind train's expected-time line.
#include "noisesched/common/machine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

namespace noisesched {
namespace {

TEST(StepTimer, SkipsTheFirstStepsThenGivesTheMedianOnce) {
  StepTimer timer(1, 5);
  EXPECT_FALSE(timer.add(30.0));  // the first step: set-up inside it, left out
  EXPECT_TRUE(std::isnan(timer.seconds_per_step()));
  for (double t : {0.40, 0.38, 2.0, 0.39}) EXPECT_FALSE(timer.add(t));
  EXPECT_FALSE(timer.ready());
  EXPECT_TRUE(timer.add(0.37));  // the fifth measured step: ready now, and only now
  EXPECT_TRUE(timer.ready());
  EXPECT_DOUBLE_EQ(timer.seconds_per_step(), 0.39);  // the median: the 2.0 s outlier does not count
  EXPECT_FALSE(timer.add(100.0));                    // later steps change nothing
  EXPECT_DOUBLE_EQ(timer.seconds_per_step(), 0.39);
}

TEST(StepTimer, EvenCountsAverageTheMiddlePair) {
  StepTimer timer(0, 4);
  timer.add(1);
  timer.add(4);
  timer.add(2);
  EXPECT_TRUE(timer.add(3));
  EXPECT_DOUBLE_EQ(timer.seconds_per_step(), 2.5);
}

TEST(Machine, DescribesTheCpuFromProcCpuinfo) {
  std::ifstream in("/proc/cpuinfo");
  std::string expected;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      expected = line.substr(line.find(':') + 2);
      break;
    }
  }
  if (expected.empty()) GTEST_SKIP() << "no model name in /proc/cpuinfo";
  EXPECT_EQ(cpu_model(), expected);
  const std::string description = cpu_description();
  EXPECT_EQ(description.rfind(expected, 0), 0u) << description;
  EXPECT_NE(description.find(" cores"), std::string::npos) << description;
#if defined(__x86_64__)
  // Every x86-64 machine LibTorch runs on has at least SSE4.2; the flag list says which is widest.
  std::ifstream flags_in("/proc/cpuinfo");
  std::string flags;
  for (std::string line; std::getline(flags_in, line);) {
    if (line.rfind("flags", 0) == 0) {
      flags = line + " ";
      break;
    }
  }
  const std::string isa = cpu_vector_isa();
  if (flags.find(" avx512f ") != std::string::npos) {
    EXPECT_EQ(isa, "AVX-512");
  } else if (flags.find(" avx2 ") != std::string::npos) {
    EXPECT_EQ(isa, "AVX2");
  }
  EXPECT_NE(description.find(", " + isa + ","), std::string::npos) << description;
#endif
}

}  // namespace
}  // namespace noisesched
