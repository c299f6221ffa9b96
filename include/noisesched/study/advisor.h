// noisesched/study/advisor.h: predicting the input scale b for a resolution from the data alone.
//
// The difficulty of denoising at a given logSNR is measured by the best *linear* denoiser: with
// the images' covariance eigenvalues lambda_k (pixels scaled to [-1, 1], the mean image removed),
// the share of the signal's variance it cannot recover at logSNR l is
//     e(l) = sum_k lambda_k / (1 + e^l lambda_k) / sum_k lambda_k.
// Larger images of the same content are more redundant: their spectrum holds more small
// eigenvalues and e falls earlier. Scaling the input by b adds 2 ln b to every logSNR, so the b
// that gives resolution R the reference resolution's difficulty curve is exp(delta / 2), where
// delta minimises sum_l (e_R(l + delta) - e_ref(l))^2 over l in [-6, 6]. The eigenvalues are
// estimated by the images' mean power spectrum (treating them as stationary, the usual model of
// natural images). No LibTorch.
#pragma once

#include <cstddef>
#include <vector>

#include "noisesched/data/dataset.h"
#include "noisesched/study/plan.h"

namespace noisesched {

// Eigenvalue estimates: the mean |DFT|^2 / (H W) of the mean-removed images, per channel and
// frequency (C H W values; their mean is the mean per-pixel variance). Uses `images` examples
// spread evenly over the data set (all when 0 or more than the data set has).
std::vector<double> spectrum_eigenvalues(const Dataset& data, std::size_t images);

// e(l) above; `eigenvalues` must have a positive sum.
double linear_denoiser_error(const std::vector<double>& eigenvalues, double logsnr);

struct ScaleAdvice {
  double shift = 0;   // delta: the logSNR shift that matches the reference curve
  double b = 1;       // exp(delta / 2)
  double misfit = 0;  // root mean square difference of the matched curves, in [0, 1]
};

// The shift and b that move `eigenvalues`' curve onto `reference`'s (delta searched in [-12, 12]).
ScaleAdvice advise_input_scale(const std::vector<double>& eigenvalues,
                               const std::vector<double>& reference);

// The advisor's prediction for every resolution of a study against its first (the smallest in
// every preset): each resolution's data set as its cells configure it, `images` training images
// of each. Throws naming what is missing (a data set that cannot be read).
struct ResolutionAdvice {
  int resolution = 0;
  ScaleAdvice advice;
};
std::vector<ResolutionAdvice> advise_study(const StudyPlan& plan, std::size_t images);

}  // namespace noisesched
