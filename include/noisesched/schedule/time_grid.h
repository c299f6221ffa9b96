// noisesched/schedule/time_grid.h: the sampling time grid (SPEC section 6).
//
// N steps visit t_k = 1 - k / N for k = 0..N-1; step k goes to max(1 - (k + 1 + td) / N, 0), where
// td >= 0 is the "time difference" of the official code (td = 0: consecutive grid points). The
// noise levels come from the inference schedule, evaluated at these times.
#pragma once

#include <vector>

namespace noisesched {

struct TimeStep {
  double t_now;
  double t_next;
};

// Throws when steps < 1 or td is negative or not finite.
std::vector<TimeStep> sampling_time_grid(int steps, double time_difference = 0.0);

}  // namespace noisesched
