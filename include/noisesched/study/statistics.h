// noisesched/study/statistics.h: the study's comparison of settings with seeds as blocks
// (torch-free).
//
// Every setting of one resolution is trained with the same seeds, and a seed fixes the network's
// initialisation, the data order and the noise draws, so a seed can shift every setting's FID
// together. The additive model FID(setting, seed) = mean + setting effect + seed shift + error (a
// randomised block design, each seed a block) separates that shared shift from the error that
// remains, and two settings are compared by their mean difference at the same seeds against that
// error, with Student's t.
#pragma once

#include <vector>

namespace noisesched {

// Upper tail of the F distribution with (d1, d2) degrees of freedom: P(F >= f). Throws when a
// degree of freedom is below 1.
double f_upper_p(double f, double d1, double d2);

// Two-sided p-value of Student's t statistic `t` with `dof` >= 1 degrees of freedom:
// P(|T| >= |t|) (t^2 is F with (1, dof)). Throws when dof < 1.
double student_t_two_sided_p(double t, double dof);

struct SeedBlockFit {
  double sigma = 0;  // standard deviation of the error around the additive fit
  int dof = 0;       // (settings - 1)(seeds - 1)
  int settings = 0, seeds = 0;
  std::vector<double> seed_shifts;  // each seed's mean over settings minus the overall mean
  // The F test of "no seed shifts": the chance of shifts this large from the error alone (NaN
  // when sigma is 0).
  double seed_shift_p = 0;
};

// Fits the additive model to `fid[setting][seed]` (every row the same length). A sigma below
// 1e-9 of the largest |FID| is rounding and counts as 0. Throws with fewer than two settings or
// two seeds, or rows of different lengths.
SeedBlockFit fit_seed_blocks(const std::vector<std::vector<double>>& fid);

}  // namespace noisesched
