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

// Two-sided p-value of Student's t statistic `t` with `dof` >= 1 degrees of freedom:
// P(|T| >= |t|). Throws when dof < 1.
double student_t_two_sided_p(double t, double dof);

struct SeedBlockFit {
  double sigma = 0;  // standard deviation of the error around the additive fit
  int dof = 0;       // (settings - 1)(seeds - 1)
  int settings = 0, seeds = 0;
  std::vector<double> seed_shifts;  // each seed's mean over settings minus the overall mean
};

// Fits the additive model to `fid[setting][seed]` (every row the same length). Throws with
// fewer than two settings or two seeds, or rows of different lengths.
SeedBlockFit fit_seed_blocks(const std::vector<std::vector<double>>& fid);

}  // namespace noisesched
