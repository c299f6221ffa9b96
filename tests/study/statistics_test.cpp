// The study's settings x seeds comparison: Student's t and F p-values against SciPy's
// (2 * scipy.stats.t.sf(|t|, dof), scipy.stats.f.sf; SciPy 1.10), and the additive fit against a
// hand computation and numpy.
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
               {12.0, 4, 0.000276428548502973},  {0.0, 10, 1.0},
               {50.0, 1, 0.012730698201945594},  {50.0, 30, 1.8715417659222844e-30},
               {1.7, 2.5, 0.20561221715988381}};
  for (const auto& c : cases) {
    EXPECT_NEAR(student_t_two_sided_p(c.t, c.dof), c.p, 1e-10 * (1 + c.p))
        << "t " << c.t << ", dof " << c.dof;
  }
  EXPECT_TRUE(std::isnan(student_t_two_sided_p(std::nan(""), 3)));
  EXPECT_THROW(student_t_two_sided_p(1, 0), Error);
  // scipy.stats.f.sf(3.2, 2, 7)
  EXPECT_NEAR(f_upper_p(3.2, 2, 7), 0.10303300010931185, 1e-12);
  EXPECT_EQ(f_upper_p(0, 2, 7), 1);
  EXPECT_THROW(f_upper_p(1, 2, 0.5), Error);
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
  // A purely additive table leaves no error, also when its decimals leave rounding behind.
  EXPECT_NEAR(fit_seed_blocks({{1, 5, 2}, {11, 15, 12}}).sigma, 0, 1e-12);
  const SeedBlockFit additive = fit_seed_blocks({{90.3, 110.1}, {80.9, 100.7}});
  EXPECT_EQ(additive.sigma, 0);
  EXPECT_TRUE(std::isnan(additive.seed_shift_p));
  // Three seeds (numpy and SciPy: the residuals' sum of squares over (3 - 1)(3 - 1) degrees of
  // freedom; the F test of the seeds' shifts with (2, 4)).
  const SeedBlockFit three = fit_seed_blocks({{10, 14, 13}, {20, 24, 29}, {30, 40, 32}});
  EXPECT_EQ(three.dof, 4);
  EXPECT_EQ(three.settings, 3);
  EXPECT_EQ(three.seeds, 3);
  EXPECT_NEAR(three.sigma, 3.3829638550307397, 1e-12);
  ASSERT_EQ(three.seed_shifts.size(), 3u);
  EXPECT_NEAR(three.seed_shifts[0], -32.0 / 9, 1e-12);
  EXPECT_NEAR(three.seed_shifts[1], 22.0 / 9, 1e-12);
  EXPECT_NEAR(three.seed_shifts[2], 10.0 / 9, 1e-12);
  EXPECT_NEAR(three.seed_shift_p, 0.1888764264986024, 1e-10);
  EXPECT_THROW(fit_seed_blocks({{1, 2}}), Error);
  EXPECT_THROW(fit_seed_blocks({{1}, {2}}), Error);
  EXPECT_THROW(fit_seed_blocks({{1, 2}, {3}}), Error);
}

}  // namespace
}  // namespace noisesched
