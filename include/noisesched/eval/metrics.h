// noisesched/eval/metrics.h: sample-quality metrics on extracted features (SPEC section 8).
//
// All statistics are computed in float64 whatever the feature dtype. Features are [N, D] (one
// row per image), class probabilities [N, K] (rows sum to 1). These functions know nothing of
// images or networks: the extractor (eval/extractor.h) produces their inputs.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace noisesched {

// A Gaussian fitted to features: mean [D] and unbiased covariance [D, D] (float64).
struct FeatureStats {
  at::Tensor mean;
  at::Tensor covariance;
  std::int64_t count = 0;
};

// `count` (<= N) rows of x [N, D] drawn without replacement, fixed by `seed` alone (the first
// `count` entries of seeded_permutation).
at::Tensor random_rows(const at::Tensor& x, std::int64_t count, std::uint64_t seed);

// Mean and covariance (divisor N - 1) of features [N, D]; N >= 2.
FeatureStats feature_stats(const at::Tensor& features);

// Frechet distance between two Gaussians (Heusel et al. 2017, eq. 6):
//   ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)).
// Tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues of the symmetric
// positive semi-definite A = S1^(1/2) S2 S1^(1/2) (same spectrum as S1 S2), with S1^(1/2) from a
// symmetric eigendecomposition and tiny negative eigenvalues from round-off clamped to 0. Unlike
// a general matrix square root this cannot produce complex values or blow up when a covariance
// is nearly singular (fewer samples than dimensions, constant features).
double frechet_distance(const FeatureStats& a, const FeatureStats& b);

struct MeanSpread {
  double mean = 0;
  double spread = 0;  // standard deviation over splits or subsets (divisor n)
};

// Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))), p(y) the mean of p(y|x)
// within each of `splits` consecutive equal parts; mean and spread over the parts.
MeanSpread inception_score(const at::Tensor& probabilities, int splits);

// Kernel Inception Distance (Binkowski et al. 2018): the unbiased MMD^2 estimate with the cubic
// polynomial kernel k(x, y) = (x.y / D + 1)^3 on `subsets` random subsets of `subset_size`
// rows drawn without replacement from each set (seeded); mean and spread over the subsets.
// subset_size is capped at the smaller set's size (and must be >= 2 after capping).
MeanSpread kernel_inception_distance(const at::Tensor& real, const at::Tensor& fake, int subsets,
                                     int subset_size, std::uint64_t seed);

struct PrecisionRecall {
  double precision = 0;  // share of fake samples inside the real manifold
  double recall = 0;     // share of real samples inside the fake manifold
};

// Improved precision and recall (Kynkaanniemi et al. 2019): each set's manifold is the union of
// balls around its samples with radius the distance to the k-th nearest other sample.
PrecisionRecall precision_recall(const at::Tensor& real, const at::Tensor& fake, int k);

}  // namespace noisesched
