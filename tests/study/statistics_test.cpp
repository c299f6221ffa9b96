// The study's settings x seeds comparison: Student's t p-values against SciPy's
// (2 * scipy.stats.t.sf(|t|, dof), SciPy 1.10), and the additive fit against a hand computation.
#include <gtest/gtest.h>

#include <cmath>

#include "noisesched/common/error.h"
#include "noisesched/study/statistics.h"

namespace noisesched {
namespace {

TEST(StudyStatistics, StudentTPValuesMatchSciPy) {
  const struct {
    double t, dof, p;
  } cases[] = {{2.228138851986274, 10, 0.05},    {1.0, 1, 0.5},
               {3.21, 10, 0.009332044723656759}, {-3.21, 10, 0.009332044723656759},
               {0.5, 3, 0.651447964848151},      {1.959963984540054, 100000, 0.05000277296178621},
               {12.0, 4, 0.000276428548502973},  {0.0, 10, 1.0}};
  for (const auto& c : cases) {
    EXPECT_NEAR(student_t_two_sided_p(c.t, c.dof), c.p, 1e-10 * (1 + c.p))
        << "t " << c.t << ", dof " << c.dof;
  }
  EXPECT_TRUE(std::isnan(student_t_two_sided_p(std::nan(""), 3)));
  EXPECT_THROW(student_t_two_sided_p(1, 0), Error);
}

TEST(StudyStatistics, SeedShiftsAreSeparatedFromTheError) {
  // Seed 1 is 4 above seed 0 for the first two settings and 10 for the third: a shared shift of
  // 6 (+-3 around the mean) and an error of +-1 or +-2 per cell.
  const SeedBlockFit fit = fit_seed_blocks({{10, 14}, {20, 24}, {30, 40}});
  EXPECT_EQ(fit.dof, 2);
  EXPECT_NEAR(fit.sigma, std::sqrt(6.0), 1e-12);  // (4 * 1 + 2 * 4) / 2 = 6
  ASSERT_EQ(fit.seed_shifts.size(), 2u);
  EXPECT_NEAR(fit.seed_shifts[0], -3, 1e-12);
  EXPECT_NEAR(fit.seed_shifts[1], 3, 1e-12);
  // A purely additive table leaves no error.
  EXPECT_NEAR(fit_seed_blocks({{1, 5, 2}, {11, 15, 12}}).sigma, 0, 1e-12);
  EXPECT_THROW(fit_seed_blocks({{1, 2}}), Error);
  EXPECT_THROW(fit_seed_blocks({{1}, {2}}), Error);
  EXPECT_THROW(fit_seed_blocks({{1, 2}, {3}}), Error);
}

}  // namespace
}  // namespace noisesched
