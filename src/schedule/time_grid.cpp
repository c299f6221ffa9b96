// Sampling time grid (see time_grid.h).
#include "noisesched/schedule/time_grid.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {

std::vector<TimeStep> sampling_time_grid(int steps, double time_difference) {
  if (steps < 1) throw Error("steps must be >= 1 (got " + std::to_string(steps) + ")");
  if (!(time_difference >= 0) || !std::isfinite(time_difference)) {
    throw Error("time difference td must be >= 0 (got " + format_exact(time_difference) + ")");
  }
  std::vector<TimeStep> grid;
  grid.reserve(static_cast<std::size_t>(steps));
  const double n = steps;
  for (int k = 0; k < steps; ++k) {
    // Integer numerators keep t exact at multiples of 1 / N and t_next = 0 on the last step.
    const double t_now = (n - k) / n;
    const double t_next = std::max((n - (k + 1) - time_difference) / n, 0.0);
    grid.push_back({t_now, t_next});
  }
  return grid;
}

}  // namespace noisesched
