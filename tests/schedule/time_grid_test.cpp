// The sampling time grid of SPEC section 6, and the Karras sigmas it visits.
#include "noisesched/schedule/time_grid.h"

#include <gtest/gtest.h>

#include <cmath>

#include "noisesched/common/error.h"
#include "noisesched/schedule/schedule.h"

namespace noisesched {
namespace {

TEST(TimeGrid, ConsecutivePointsWithoutTimeDifference) {
  const auto grid = sampling_time_grid(4);
  ASSERT_EQ(grid.size(), 4u);
  const double now[] = {1.0, 0.75, 0.5, 0.25};
  const double next[] = {0.75, 0.5, 0.25, 0.0};
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(grid[k].t_now, now[k]) << k;
    EXPECT_EQ(grid[k].t_next, next[k]) << k;
  }
}

TEST(TimeGrid, TimeDifferenceLooksAheadAndStopsAtZero) {
  const auto grid = sampling_time_grid(10, 1.5);
  EXPECT_EQ(grid[0].t_now, 1.0);
  EXPECT_DOUBLE_EQ(grid[0].t_next, 1.0 - 2.5 / 10);
  EXPECT_DOUBLE_EQ(grid[5].t_next, 1.0 - 7.5 / 10);
  EXPECT_EQ(grid[8].t_next, 0.0);  // 1 - 10.5/10 < 0
  EXPECT_EQ(grid[9].t_next, 0.0);
  EXPECT_EQ(grid[9].t_now, 0.1);
}

TEST(TimeGrid, SingleStep) {
  const auto grid = sampling_time_grid(1);
  ASSERT_EQ(grid.size(), 1u);
  EXPECT_EQ(grid[0].t_now, 1.0);
  EXPECT_EQ(grid[0].t_next, 0.0);
}

TEST(TimeGrid, RejectsBadArguments) {
  EXPECT_THROW(sampling_time_grid(0), Error);
  EXPECT_THROW(sampling_time_grid(-3), Error);
  EXPECT_THROW(sampling_time_grid(10, -1.0), Error);
  EXPECT_THROW(sampling_time_grid(10, std::nan("")), Error);
}

TEST(TimeGrid, KarrasScheduleVisitsTheKarrasSigmas) {
  // Karras et al. 2022, eq. 5 with N + 1 points: sigma_i = (smax^(1/rho) + i/N (smin^(1/rho) -
  // smax^(1/rho)))^rho, i = 0..N.
  const int n = 18;
  const Schedule karras = Schedule::parse("karras");
  const auto grid = sampling_time_grid(n);
  const double a = std::pow(80.0, 1 / 7.0), b = std::pow(0.002, 1 / 7.0);
  for (int i = 0; i <= n; ++i) {
    const double t = i < n ? grid[i].t_now : grid[n - 1].t_next;
    const double expected = std::pow(a + (double)i / n * (b - a), 7.0);
    EXPECT_NEAR(karras.sigma(t), expected, 1e-12 * expected) << i;
  }
}

}  // namespace
}  // namespace noisesched
